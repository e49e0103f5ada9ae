"""The SSH side of a simulated router: fake-switches' realm and shell behind a Twisted
conch factory whose host key is parsed once per process.

Parsing a private key costs about 35 ms (cryptography checks it), which made starting
50 devices take about 2 s when fake-switches' stock ``hook_to_reactor`` parsed its key
per device. Logins: the router's users by password (fake-switches' in-memory checker),
and by public key for the keys listed for a user (a lab's routers take the lab's key, as
`ip ssh pubkey-chain` does on a real router).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fake_switches.transports.ssh_service import SSHDemoRealm, getRSAKeys
from twisted.conch.checkers import InMemorySSHKeyDB, SSHPublicKeyChecker
from twisted.conch.ssh import factory, keys
from twisted.cred import checkers, portal

_HOST_KEYS: dict[str | None, tuple[Any, Any]] = {}


def host_keys(path: str | None = None) -> tuple[Any, Any]:
    """(public, private) ``twisted.conch.ssh.keys.Key`` of the host key in `path` (an
    OpenSSH private key file), or of fake-switches' fixed RSA key when `path` is None."""
    if path not in _HOST_KEYS:
        if path is None:
            public_text, private_text = getRSAKeys()
            public = keys.Key.fromString(data=public_text.encode())  # type: ignore[no-untyped-call]
            private = keys.Key.fromString(data=private_text.encode())  # type: ignore[no-untyped-call]
        else:
            private = keys.Key.fromFile(path)  # type: ignore[no-untyped-call]
            public = private.public()
        _HOST_KEYS[path] = (public, private)
    return _HOST_KEYS[path]


def ssh_factory(
    core: Any,
    users: Mapping[str, str],
    authorized_keys: Mapping[str, Sequence[str]],
    host_key: str | None = None,
) -> Any:
    """An SSH server factory for one router: its CLI behind the users' passwords and
    public keys (OpenSSH ``authorized_keys`` lines per user)."""
    public, private = host_keys(host_key)
    ssh: Any = factory.SSHFactory()
    ssh.portal = portal.Portal(SSHDemoRealm(core))
    passwords = {user: password.encode() for user, password in users.items()}
    ssh.portal.registerChecker(checkers.InMemoryUsernamePasswordDatabaseDontUse(**passwords))
    if any(authorized_keys.values()):
        db = {
            user.encode(): [keys.Key.fromString(line.encode()) for line in lines]  # type: ignore[no-untyped-call]
            for user, lines in authorized_keys.items()
        }
        key_db: Any = InMemorySSHKeyDB(db)  # provides IAuthorizedKeysDB (zope)
        ssh.portal.registerChecker(SSHPublicKeyChecker(key_db))
    kind = public.sshType()
    ssh.publicKeys = {kind: public}
    ssh.privateKeys = {kind: private}
    return ssh
