"""Open netmiko SSH connections with our credentials and host-key policy, and turn every
netmiko/paramiko/socket error into a DeviceError that names the host and what to do next.

Platforms call `open_connection` (any netmiko class) and may wrap the connection in
`NetmikoSession`, a generic Session built on netmiko's send_command/send_config_set.
netmiko's session_log is never enabled: it would record what is typed, secrets included.
"""

from __future__ import annotations

import errno
import logging
import socket
from collections.abc import Iterator
from typing import Any

import paramiko
from netmiko import BaseConnection
from netmiko.exceptions import ReadException, ReadTimeout
from netmiko.ssh_dispatcher import CLASS_MAPPER

from loopbackctl.errors import ConnectionLostError, DeviceError, UnreachableError
from loopbackctl.model import Host
from loopbackctl.transport import credentials, hostkeys
from loopbackctl.transport.credentials import Credentials
from loopbackctl.transport.options import ConnectOptions

# Without a handler, Python's last-resort handler would print paramiko's and netmiko's
# own error records to stderr; our errors say it once, per host, in the report.
for _name in ("paramiko", "netmiko"):
    logging.getLogger(_name).addHandler(logging.NullHandler())
    logging.getLogger(_name).propagate = False


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        yield cur
        # paramiko's NoValidConnectionsError keeps the socket error per address tried.
        per_address = getattr(cur, "errors", None)
        if isinstance(per_address, dict):
            yield from (e for e in per_address.values() if isinstance(e, BaseException))
        cur = cur.__cause__ or cur.__context__


def _first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200] or type(exc).__name__


def connect_error(exc: BaseException, creds: Credentials, options: ConnectOptions) -> DeviceError:
    """The DeviceError for a failed connection attempt (never carries a secret)."""
    where = creds.where
    kh = hostkeys.known_hosts_path(options.known_hosts)
    t = f"{options.connect_timeout:g}s"
    for e in _chain(exc):
        if isinstance(e, hostkeys.UnknownHostKeyError):
            return DeviceError(
                f"{where}: host key {e.key.get_name()} {e.key.fingerprint} is not in {kh}"
                " (--host-keys strict); check the fingerprint and add it to that file, or"
                " run once with --host-keys accept-new"
            )
        if isinstance(e, paramiko.BadHostKeyException):
            name = f"[{creds.hostname}]:{creds.port}" if creds.port != 22 else creds.hostname
            return DeviceError(
                f"{where}: HOST KEY CHANGED (now {e.key.get_name()} {e.key.fingerprint}),"
                f" not as recorded in {kh}; possible impersonation. If the host was"
                f" reinstalled, remove the old key: ssh-keygen -R '{name}' -f {kh}"
            )
        if isinstance(e, paramiko.AuthenticationException):
            how = [
                m
                for m, on in (
                    ("key " + (creds.key_file or ""), creds.key_file),
                    ("agent", creds.allow_agent),
                    ("password", creds.password),
                )
                if on
            ]
            return DeviceError(
                f"{where}: authentication failed (tried: {', '.join(how) or 'nothing'}); check"
                f" username, the key (key_file or ${credentials.ENV_SSH_KEY}), the password"
                f" (${credentials.ENV_PASSWORD}) or the ssh-agent"
            )
        if isinstance(e, ConnectionRefusedError):
            return UnreachableError(
                f"{where}: connection refused; is sshd running there and listening on port"
                f" {creds.port}?"
            )
        if isinstance(e, socket.gaierror):
            return UnreachableError(f"{where}: cannot resolve {creds.hostname}; check hostname")
        if isinstance(e, TimeoutError):
            return UnreachableError(
                f"{where}: no answer within {t}; host down or port filtered (or raise"
                " --connect-timeout)"
            )
        if isinstance(e, OSError) and e.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return UnreachableError(f"{where}: no route to host; is it down?")
        if isinstance(e, paramiko.SSHException) and (
            "banner" in str(e).lower() or "No existing session" in str(e)
        ):
            return UnreachableError(
                f"{where}: no SSH banner within {t}; is an SSH server listening there, or is it"
                " overloaded?"
            )
        if isinstance(e, EOFError | ConnectionResetError):
            return UnreachableError(
                f"{where}: the server closed the connection during the SSH handshake (sshd"
                " MaxStartups?); retry with fewer --workers"
            )
        if isinstance(e, paramiko.SSHException) and "No authentication methods" in str(e):
            key = f"a key (key_file or ${credentials.ENV_SSH_KEY})"
            if creds.allow_agent:
                return DeviceError(
                    f"{where}: no credentials to try: the ssh-agent holds no keys; add one"
                    f" (ssh-add), set {key}, or set ${credentials.ENV_PASSWORD}"
                )
            return DeviceError(
                f"{where}: no credentials to try; set {key}, start an ssh-agent, or set"
                f" ${credentials.ENV_PASSWORD}"
            )
        if isinstance(e, ValueError) and "key_file" in str(e):
            return DeviceError(f"{where}: key file {creds.key_file} does not exist; check key_file")
    return DeviceError(f"{where}: could not open an SSH session: {_first_line(exc)}")


def netmiko_params(creds: Credentials, options: ConnectOptions, device_type: str) -> dict[str, Any]:
    """ConnectHandler keyword arguments for `creds` (no session_log, no host-key options)."""
    return {
        "device_type": device_type,
        "host": creds.hostname,
        "port": creds.port,
        "username": creds.username,
        "password": creds.password,
        "secret": creds.secret or "",
        "key_file": creds.key_file,
        "use_keys": creds.key_file is not None,
        "passphrase": creds.passphrase,
        "allow_agent": creds.allow_agent,
        "conn_timeout": options.connect_timeout,
        "banner_timeout": options.connect_timeout,
        "auth_timeout": options.connect_timeout,
        "blocking_timeout": options.command_timeout,
        "fast_cli": True,
        "auto_connect": False,
        **creds.extras,
    }


def open_connection(
    host: Host,
    options: ConnectOptions,
    device_type: str,
    cls: type[BaseConnection] | None = None,
) -> tuple[BaseConnection, Credentials]:
    """A logged-in netmiko connection to `host` (session prepared by `cls`), checked
    against known_hosts per `options.host_keys`. Raises UnreachableError or DeviceError."""
    creds = credentials.resolve(host)
    factory = cls or CLASS_MAPPER[device_type]
    try:
        conn = factory(**netmiko_params(creds, options, device_type))
    except (ValueError, TypeError) as exc:
        raise connect_error(exc, creds, options) from None
    known_hosts = hostkeys.known_hosts_path(options.known_hosts)
    name = creds.hostname if creds.port == 22 else f"[{creds.hostname}]:{creds.port}"
    try:
        client, policy = hostkeys.client_for(options.host_keys, known_hosts, name)
    except OSError as exc:
        conn.disconnect()
        raise DeviceError(
            f"{creds.where}: cannot read {known_hosts} ({exc.strerror}); fix it or pass"
            " --known-hosts"
        ) from None
    # netmiko's hook for the SSHClient it connects with: ours holds this host's recorded
    # keys and our policy; netmiko's own host-key loading stays off.
    conn._get_ssh_client_instance = lambda: client
    conn.key_policy = policy
    conn.system_host_keys = False
    conn.alt_host_keys = False
    try:
        conn._open()
    except Exception as exc:
        conn.disconnect()
        raise connect_error(exc, creds, options) from None
    return conn, creds


def run_error(exc: BaseException, creds: Credentials, command: str, timeout: float) -> DeviceError:
    """The DeviceError for a command that could not complete on an open session."""
    where = creds.where
    if isinstance(exc, ReadTimeout):
        return ConnectionLostError(
            f"{where}: no answer to {command!r} within {timeout:g}s; the session was closed"
            " (raise --command-timeout if the device is slow)"
        )
    if isinstance(exc, OSError | EOFError | ReadException | paramiko.SSHException):
        return ConnectionLostError(f"{where}: connection lost while running {command!r}")
    return DeviceError(f"{where}: {command!r} failed: {_first_line(exc)}")
