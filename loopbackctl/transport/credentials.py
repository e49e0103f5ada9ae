"""Who to log in as, and with what: the inventory first, then the environment.

Nornir's fields: `hostname` (default: the host's name), `port` (22), `username` (default:
the local user, as OpenSSH), `password`; `connection_options.netmiko` may override any of
them, and its `extras` carry netmiko options. Light: no netmiko or paramiko import.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from loopbackctl.model import Host

ENV_PASSWORD = "LOOPBACKCTL_PASSWORD"
ENV_SSH_KEY = "LOOPBACKCTL_SSH_KEY"
ENV_SECRET = "LOOPBACKCTL_SECRET"
REDACTED = "********"

#: netmiko options an inventory may pass in `extras`; everything else is ignored, in
#: particular session_log (it would record secrets) and the host-key options (ours).
PASSTHROUGH_EXTRAS = frozenset(
    {"ssh_config_file", "disabled_algorithms", "disable_sha2_fix", "keepalive", "encoding"}
)


@dataclass(frozen=True)
class Credentials:
    """Everything needed to open one SSH session; secrets are never in repr."""

    hostname: str
    port: int
    username: str
    password: str | None = field(default=None, repr=False)
    key_file: str | None = None
    passphrase: str | None = field(default=None, repr=False)
    secret: str | None = field(default=None, repr=False)
    allow_agent: bool = False
    extras: Mapping[str, Any] = field(default_factory=dict)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in any output."""
        return tuple(s for s in (self.password, self.passphrase, self.secret) if s)

    @property
    def where(self) -> str:
        host = f"[{self.hostname}]" if ":" in self.hostname else self.hostname
        return f"{self.username}@{host}:{self.port}"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def resolve(
    host: Host, env: Mapping[str, str] | None = None, connection: str = "netmiko"
) -> Credentials:
    """The host's credentials: inventory values, else LOOPBACKCTL_* variables, else
    OpenSSH-like defaults. A running ssh-agent (SSH_AUTH_SOCK) is used when present."""
    env = os.environ if env is None else env
    opts: Mapping[str, Any] = host.connection_options.get(connection) or {}
    extras: Mapping[str, Any] = opts.get("extras") or {}
    password = _text(opts.get("password")) or _text(host.password) or _text(env.get(ENV_PASSWORD))
    key_file = _text(extras.get("key_file")) or _text(env.get(ENV_SSH_KEY))
    secret = _text(extras.get("secret")) or _text(env.get(ENV_SECRET)) or password
    port = opts.get("port") or host.port or 22
    agent = extras.get("allow_agent")
    return Credentials(
        hostname=_text(opts.get("hostname")) or host.hostname or host.name,
        port=int(port),
        username=_text(opts.get("username")) or host.username or getpass.getuser(),
        password=password,
        key_file=os.path.expanduser(key_file) if key_file else None,
        passphrase=_text(extras.get("passphrase")) or _text(extras.get("key_passphrase")),
        secret=secret,
        allow_agent=bool(env.get("SSH_AUTH_SOCK")) if agent is None else bool(agent),
        extras={k: v for k, v in extras.items() if k in PASSTHROUGH_EXTRAS},
    )


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret replaced (longest first, so no fragment survives)."""
    for s in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(s, REDACTED)
    return text
