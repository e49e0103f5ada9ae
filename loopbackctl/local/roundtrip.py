"""Round trips over lo: HTTP, a refused TCP connect, another 127/8 address, `localhost`.

Each function returns one Check and never raises for a network failure. The HTTP server
and client are written on plain sockets: http.server alone costs ~50 ms of imports, a
sixth of the time budget of `verify --local`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import threading
import time

from loopbackctl.result import Check

MAX_RESPONSE = 65536


def explain_errno(err: int | None, address: str) -> str:
    """Why a packet to a loopback address could not go, in words."""
    if err == errno.ENETUNREACH:
        return f"network unreachable: no route to {address} (lo is DOWN or has no address for it)"
    if err == errno.EADDRNOTAVAIL:
        return f"{address} is not assigned to lo (cannot send from or bind to it)"
    if err == errno.EHOSTUNREACH:
        return f"host unreachable: {address} (a route or firewall rule rejects it)"
    if err == errno.EACCES or err == errno.EPERM:
        return f"not permitted: a firewall rule or policy forbids packets to {address}"
    if err == errno.ECONNREFUSED:
        return f"connection refused by {address}"
    if err == errno.EAFNOSUPPORT:
        return "the kernel does not support this address family"
    return os.strerror(err) if err else "unknown error"


def family_of(address: str) -> int:
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def hostport(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _serve_once(listener: socket.socket, body: bytes, timeout: float) -> None:
    """Answer one HTTP request on `listener`: 200 and `body` for GET /, else 404."""
    listener.settimeout(timeout)
    try:
        conn, _ = listener.accept()
    except OSError:
        return
    with conn:
        conn.settimeout(timeout)
        data = b""
        try:
            while b"\r\n\r\n" not in data and len(data) < MAX_RESPONSE:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                data += chunk
            ok = data.split(b"\r\n", 1)[0].split(b" ")[:2] == [b"GET", b"/"]
            status, payload = (b"200 OK", body) if ok else (b"404 Not Found", b"not found\n")
            conn.sendall(
                b"HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                b"Connection: close\r\n\r\n%s" % (status, len(payload), payload)
            )
        except OSError:
            return


def parse_response(data: bytes) -> tuple[int, bytes]:
    """(status, body) of an HTTP/1.x response read to EOF; ValueError when malformed."""
    head, sep, rest = data.partition(b"\r\n\r\n")
    if not sep:
        raise ValueError("the response has no end of headers")
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise ValueError(f"bad status line {lines[0][:60]!r}")
    length = None
    for line in lines[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == b"content-length":
            length = int(value.strip())
    body = rest if length is None else rest[:length]
    if length is not None and len(body) < length:
        raise ValueError(f"body cut short: {len(body)} of {length} bytes")
    return int(parts[1]), body


def http_check(name: str, address: str, timeout: float) -> Check:
    """Serve a known body on address:<free port>, fetch it, compare status and body."""
    family = family_of(address)
    body = b"loopbackctl round trip " + os.urandom(8).hex().encode() + b"\n"
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        try:
            listener.bind((address, 0))
            listener.listen(1)
        except OSError as exc:
            return Check(
                name, False, f"cannot start an HTTP server on {address}: {_why(exc, address)}"
            )
        port = listener.getsockname()[1]
        url = f"http://{hostport(address, port)}/"
        server = threading.Thread(target=_serve_once, args=(listener, body, timeout), daemon=True)
        server.start()
        start = time.perf_counter()
        try:
            with socket.socket(family, socket.SOCK_STREAM) as client:
                client.settimeout(timeout)
                client.connect((address, port))
                client.sendall(
                    f"GET / HTTP/1.1\r\nHost: {hostport(address, port)}\r\n"
                    "Connection: close\r\n\r\n".encode()
                )
                data = b""
                while len(data) < MAX_RESPONSE:
                    chunk = client.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            elapsed = (time.perf_counter() - start) * 1000.0
        except TimeoutError:
            return Check(name, False, f"GET {url}: no answer within {timeout:g} s")
        except OSError as exc:
            return Check(name, False, f"GET {url}: {_why(exc, address)}")
        finally:
            # Wakes a server still waiting in accept() (Linux: accept fails with EINVAL).
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            server.join(timeout)
    finally:
        listener.close()
    try:
        status, got = parse_response(data)
    except ValueError as exc:
        return Check(name, False, f"GET {url}: unreadable response: {exc}")
    if status != 200:
        return Check(name, False, f"GET {url} → {status}, expected 200")
    if got != body:
        return Check(name, False, f"GET {url} → 200 but the body differs ({len(got)} bytes)")
    return Check(name, True, f"GET {url} → 200, body matches ({len(got)} bytes), {elapsed:.2f} ms")


def _why(exc: OSError, address: str) -> str:
    return explain_errno(exc.errno, address) if exc.errno else str(exc)


def _reserved_port(address: str) -> socket.socket:
    """A socket bound to address:<free port> and not listening: connects to it are refused,
    and no other program can take the port while it is held."""
    sock = socket.socket(family_of(address), socket.SOCK_STREAM)
    try:
        sock.bind((address, 0))
    except OSError:
        sock.close()
        raise
    return sock


def connect_outcome(address: str, port: int, timeout: float) -> tuple[str, float, OSError | None]:
    """("connected" | "refused" | "timeout" | "error", milliseconds, the error)."""
    start = time.perf_counter()
    outcome = "connected"
    error: OSError | None = None
    with socket.socket(family_of(address), socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect((address, port))
        except ConnectionRefusedError as exc:
            outcome, error = "refused", exc
        except TimeoutError as exc:
            outcome, error = "timeout", exc
        except OSError as exc:
            outcome, error = "error", exc
    return outcome, (time.perf_counter() - start) * 1000.0, error


def refused_check(name: str, address: str, timeout: float) -> Check:
    """A connect to a port where nothing listens must be refused at once (RST)."""
    try:
        held = _reserved_port(address)
    except OSError as exc:
        return Check(name, False, f"cannot use {address}: {_why(exc, address)}")
    with held:
        port = held.getsockname()[1]
        outcome, ms, error = connect_outcome(address, port, timeout)
    target = hostport(address, port)
    if outcome == "refused":
        return Check(name, True, f"connect to {target} (nothing listening) refused in {ms:.2f} ms")
    if outcome == "timeout":
        return Check(
            name,
            False,
            f"connect to {target} got no answer within {timeout:g} s instead of a refusal:"
            " packets on lo are dropped (lo DOWN with its address kept, or a firewall rule)",
        )
    if outcome == "connected":
        return Check(name, False, f"connect to {target} succeeded where nothing should listen")
    assert error is not None
    return Check(name, False, f"connect to {target}: {_why(error, address)}")


def answers_check(name: str, address: str, timeout: float) -> Check:
    """`address` (another 127/8 address) answers: a TCP connect gets a refusal or a session.

    The port is reserved on `address` itself and not listened on, so nothing can accept.
    """
    try:
        held = _reserved_port(address)
    except OSError as exc:
        return Check(name, False, f"{address} does not answer: {_why(exc, address)}")
    with held:
        port = held.getsockname()[1]
        outcome, ms, error = connect_outcome(address, port, timeout)
    target = hostport(address, port)
    if outcome in ("refused", "connected"):
        how = "refused the connect" if outcome == "refused" else "accepted the connect"
        return Check(name, True, f"{address} answers: {target} {how} in {ms:.2f} ms")
    if outcome == "timeout":
        return Check(name, False, f"{address} does not answer: no reply within {timeout:g} s")
    assert error is not None
    return Check(name, False, f"{address} does not answer: {_why(error, address)}")


def resolve_check(name: str, hostname: str, ipv6_enabled: bool) -> Check:
    """`hostname` (localhost) must resolve to 127.0.0.1, and to ::1 where IPv6 is on."""
    try:
        # bytes, not str: a str host makes the socket module import the idna codec (~4 ms).
        infos = socket.getaddrinfo(hostname.encode(), None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        return Check(name, False, f"{hostname} does not resolve: {exc.strerror}")
    found: list[str] = []
    for info in infos:
        addr = str(info[4][0])
        if addr not in found:
            found.append(addr)
    return judge_resolution(name, hostname, found, ipv6_enabled)


def judge_resolution(name: str, hostname: str, found: list[str], ipv6_enabled: bool) -> Check:
    """127.0.0.1 missing fails; ::1 missing (IPv6 on) is a warning: lo itself is fine."""
    said = f"resolver returns {', '.join(found) or 'nothing'}"
    if "127.0.0.1" not in found:
        return Check(name, False, f"{said}; 127.0.0.1 is missing: check /etc/hosts")
    if "::1" not in found and ipv6_enabled:
        return Check(
            name,
            False,
            f"{said}; ::1 is missing: add `::1 localhost ip6-localhost ip6-loopback` to /etc/hosts",
            "warning",
        )
    return Check(name, True, said)
