"""fake-switches' SSH transport with the host key parsed once per process.

Parsing the RSA private key costs about 35 ms (cryptography checks the key), which made
starting 50 devices take about 2 s; the listening factory is otherwise the stock one
(same realm, same in-memory password checker, same host key).
"""

from __future__ import annotations

from typing import Any

from fake_switches.transports.ssh_service import SSHDemoRealm, SwitchSshService, getRSAKeys
from twisted.conch.ssh import factory, keys
from twisted.cred import checkers, portal

_KEYS: dict[bytes, tuple[Any, Any]] = {}


def host_keys() -> tuple[Any, Any]:
    """(public, private) ``twisted.conch.ssh.keys.Key`` of fake-switches' host key."""
    if b"ssh-rsa" not in _KEYS:
        public, private = getRSAKeys()
        _KEYS[b"ssh-rsa"] = (
            keys.Key.fromString(data=public.encode()),  # type: ignore[no-untyped-call]
            keys.Key.fromString(data=private.encode()),  # type: ignore[no-untyped-call]
        )
    return _KEYS[b"ssh-rsa"]


class CachedKeySshService(SwitchSshService):  # type: ignore[misc]
    """``SwitchSshService`` whose ``hook_to_reactor`` reuses the parsed host key."""

    def hook_to_reactor(self, reactor: Any) -> Any:
        """Listen on ``self.ip:self.port``; returns the listening port."""
        public, private = host_keys()
        ssh_factory: Any = factory.SSHFactory()
        ssh_factory.portal = portal.Portal(SSHDemoRealm(self.switch_core))
        ssh_factory.portal.registerChecker(
            checkers.InMemoryUsernamePasswordDatabaseDontUse(**self.users)
        )
        ssh_factory.publicKeys = {b"ssh-rsa": public}
        ssh_factory.privateKeys = {b"ssh-rsa": private}
        return reactor.listenTCP(port=self.port, factory=ssh_factory, interface=self.ip)
