"""Linux test bed: one network namespace per host, each with its own OpenSSH sshd.

A `LinuxBed` brings up N "hosts" on this machine (see TESTBED.md, "Linux hosts"):

- a run prefix ``lb`` + 6 hex digits; namespaces ``<prefix>h<N>``, root-side veths
  ``<prefix>v<N>``, one bridge ``<prefix>br`` in the root namespace;
- the bridge holds ``198.19.X.254/24`` and ``2001:db8:ffXX::fe/64`` (X is a free /24, chosen
  under a lock); host N holds ``198.19.X.N/24`` and ``2001:db8:ffXX::N/64`` on its ``eth0``
  and a default route via the bridge. 198.19.0.0/16 and 2001:db8:ff00::/40 are kept for
  beds, so tests can put loopback addresses anywhere else in 198.18.0.0/15 and
  2001:db8::/32 (e.g. 198.18.200.1/32, 2001:db8:200::1/128) without clashing with a bed;
- per host one sshd (``ip netns exec`` + ``unshare --uts --mount --propagation private``)
  with its own hostname, listening on the host's own addresses only. In that private mount
  namespace, and only there: ``/etc/shadow`` is replaced by a generated one-line file
  (root unlocked for keys, or a password hash), the login records (wtmp, btmp, lastlog)
  by scratch files, and with ``lean=True`` root's dot files by an empty file, so a
  session does not pay for ``pyenv init``. With ``sudo_user=`` (and ``sudo_password=``)
  ``/etc/passwd``, ``/etc/group`` and ``/etc/sudoers`` are replaced there too, by copies
  that add a non-root login user (home in the state directory, the bed's key accepted)
  who may run anything through sudo after giving the password. The real files under
  ``/etc`` are never written.

Everything created is recorded under ``/tmp/loopbackctl-bed/<prefix>/`` (``owner.pid``,
``state.json``) before it is created; `reap_stale_beds` removes beds whose owner died.
Packets only ever go to addresses inside the bed's own namespaces.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Literal

import yaml

BASE_DIR = Path("/tmp/loopbackctl-bed")
PREFIX_RE = re.compile(r"lb[0-9a-f]{6}")
SSHD = "/usr/sbin/sshd"
IP = "/usr/sbin/ip"
UNSHARE = "/usr/bin/unshare"
SSH_KEYGEN = "/usr/bin/ssh-keygen"
OPENSSL = "/usr/bin/openssl"
SUDO = "/usr/bin/sudo"
MAX_HOSTS = 253

ALLOWED4 = ipaddress.IPv4Network("198.18.0.0/15")
ALLOWED6 = ipaddress.IPv6Network("2001:db8::/32")
BED_SPACE4 = ipaddress.IPv4Network("198.19.0.0/16")
BED_SPACE6 = ipaddress.IPv6Network("2001:db8:ff00::/40")

# Root's dot files blanked in a lean host; only those that exist are covered.
DOTFILES = ("/root/.bashrc", "/root/.profile", "/root/.bash_profile", "/root/.bash_login")
# Login records sshd writes without PAM; each one that exists gets its own scratch file.
LOGFILES = ("/var/log/wtmp", "/var/log/btmp", "/var/log/lastlog", "/run/utmp")

# Runs inside the host's new UTS + mount namespaces, then becomes sshd.
# $1 hostname, $2 number of "SOURCE TARGET" bind pairs, the pairs, then sshd's argv.
# Sources named *.rw (login-record scratch files) are mounted read-write, others read-only.
_LAUNCH = """set -e
hostname "$1"
n=$2
shift 2
while [ "$n" -gt 0 ]; do
  case "$1" in
    *.rw) mount --bind "$1" "$2" ;;
    *) mount -o bind,ro "$1" "$2" ;;
  esac
  shift 2
  n=$((n - 1))
done
exec "$@"
"""

IPNet = ipaddress.IPv4Network | ipaddress.IPv6Network

USER_RE = re.compile(r"[a-z_][a-z0-9_-]{0,30}")
SUDO_UIDS = range(64000, 65000)  # first uid (and gid) free in the real passwd/group


class BedError(RuntimeError):
    """The bed could not be built, or not fully torn down."""


@dataclass
class BedHost:
    """One namespace host; all paths are inside the bed's state directory."""

    index: int
    name: str
    netns: str
    veth: str
    ip4: str
    ip6: str
    key_file: Path
    known_hosts: Path
    config_file: Path
    pid_file: Path
    log_file: Path
    port: int = 22
    username: str = "root"
    password: str | None = None
    sshd_pid: int | None = None
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def hostname(self) -> str:
        """The UTS hostname seen inside the host's sessions (the prompt shows it)."""
        return self.name

    def netmiko_params(self, *, ipv6: bool = False) -> dict[str, Any]:
        """Keyword arguments for `netmiko.ConnectHandler` (key auth as root)."""
        return {
            "device_type": "linux",
            "host": self.ip6 if ipv6 else self.ip4,
            "port": self.port,
            "username": self.username,
            "key_file": str(self.key_file),
            "use_keys": True,
            "allow_agent": False,
        }


# ----------------------------------------------------------------------------- helpers


def _run(
    argv: Sequence[str],
    *,
    input: str | None = None,
    check: bool = True,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(
        list(argv), input=input, capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and res.returncode != 0:
        raise BedError(
            f"command failed (rc={res.returncode}): {' '.join(argv)}\n"
            f"{res.stderr.strip() or res.stdout.strip()}"
        )
    return res


def _ip_batch(lines: Iterable[str], *, netns: str | None = None, force: bool = False) -> None:
    """Run iproute2 commands in one process (`ip [-n NS] [-force] -batch -`)."""
    text = "".join(line + "\n" for line in lines)
    if not text:
        return
    argv = [IP]
    if netns is not None:
        argv += ["-n", netns]
    if force:
        argv.append("-force")
    argv += ["-batch", "-"]
    _run(argv, input=text, check=not force)


def _ip_json(argv: Sequence[str]) -> list[dict[str, Any]]:
    out = _run([IP, "-j", *argv]).stdout.strip()
    data = json.loads(out) if out else []
    return data if isinstance(data, list) else []


def _proc_start_time(pid: int) -> int | None:
    """Start time (clock ticks since boot) of a live, non-zombie process, else None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def _alive(pid: int) -> bool:
    return _proc_start_time(pid) is not None


def _exe(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None


def _is_bed_sshd(pid: int, state_dir: Path) -> bool:
    """True if PID is an sshd (listener or session) started for this state directory."""
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return False
    return exe == SSHD and str(state_dir).encode() in cmdline


def _pids_in_netns(netns_names: Iterable[str]) -> dict[str, list[int]]:
    """Processes whose network namespace is one of the named ones (by nsfs inode)."""
    inodes: dict[tuple[int, int], str] = {}
    for name in netns_names:
        with contextlib.suppress(OSError):
            st = os.stat(f"/run/netns/{name}")
            inodes[(st.st_dev, st.st_ino)] = name
    found: dict[str, list[int]] = {}
    if not inodes:
        return found
    me = os.getpid()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            st = os.stat(f"/proc/{entry.name}/ns/net")
        except OSError:
            continue
        owner = inodes.get((st.st_dev, st.st_ino))
        if owner is not None:
            found.setdefault(owner, []).append(int(entry.name))
    return found


def _signal_and_wait(
    pids: Iterable[int], procs: Iterable[subprocess.Popen[bytes]] = (), timeout: float = 3.0
) -> list[int]:
    """SIGTERM, wait until gone, then SIGKILL what is left. Returns PIDs that survived."""
    pending = set(pids)
    children = {p.pid: p for p in procs}
    pending |= set(children)

    def gone(pid: int) -> bool:
        child = children.get(pid)
        if child is not None:
            return child.poll() is not None
        return not _alive(pid)

    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in sorted(pending):
            if not gone(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        delay = 0.002
        while pending and time.monotonic() < deadline:
            pending = {pid for pid in pending if not gone(pid)}
            if pending:
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
        pending = {pid for pid in pending if not gone(pid)}
        if not pending:
            break
    for child in children.values():
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=1)
    return sorted(pending)


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM while tearing down (main thread only), deliver them after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    sigs = {signal.SIGINT, signal.SIGTERM}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def sigterm_to_keyboard_interrupt() -> bool:
    """Make SIGTERM raise KeyboardInterrupt (so pytest still tears beds down).

    Call it from the main thread, e.g. in conftest's ``pytest_configure``. Installs the
    handler only where SIGTERM still has its default action; returns True if installed
    now or earlier.
    """
    if threading.current_thread() is not threading.main_thread():
        return False
    current = signal.getsignal(signal.SIGTERM)
    if current is _raise_keyboard_interrupt:
        return True
    if current not in (signal.SIG_DFL, None):
        return False
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    return True


def _yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)


def _read_owner(state_dir: Path) -> tuple[int, int | None] | None:
    try:
        parts = (state_dir / "owner.pid").read_text().split()
        return int(parts[0]), (int(parts[1]) if len(parts) > 1 else None)
    except (OSError, ValueError, IndexError):
        return None


def _owner_alive(owner: tuple[int, int | None]) -> bool:
    pid, start = owner
    now = _proc_start_time(pid)
    return now is not None and (start is None or now == start)


@contextlib.contextmanager
def _locked(base_dir: Path) -> Iterator[None]:
    base_dir.mkdir(mode=0o755, parents=True, exist_ok=True)
    fd = os.open(base_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def check_prerequisites(*, sudo: bool = False) -> list[str]:
    """What stops a bed from being built here (empty list: nothing); `sudo`: a bed with
    a sudo user (needs sudo and openssl too)."""
    problems = []
    if os.geteuid() != 0:
        problems.append(
            "the Linux bed needs root (network namespaces, veths, and sshd, which cannot "
            "run rootless: setgroups fails under a user namespace); run the tests as root"
        )
    for tool, pkg in (
        (SSHD, "openssh-server"),
        (SSH_KEYGEN, "openssh-client"),
        (IP, "iproute2"),
        (UNSHARE, "util-linux"),
    ):
        if not os.access(tool, os.X_OK):
            problems.append(f"{tool} is missing (Debian package {pkg})")
    if sudo:
        for path, pkg in ((SUDO, "sudo"), ("/etc/sudoers", "sudo"), (OPENSSL, "openssl")):
            if not os.path.exists(path):
                problems.append(f"{path} is missing (Debian package {pkg})")
    return problems


# ----------------------------------------------------------------------------- reaping


def _link_names(prefix: str) -> list[str]:
    pat = re.compile(re.escape(prefix) + r"(v\d{1,3}|br)")
    return [
        str(link["ifname"])
        for link in _ip_json(["link", "show"])
        if pat.fullmatch(str(link.get("ifname", "")))
    ]


def _netns_names(prefix: str) -> list[str]:
    pat = re.compile(re.escape(prefix) + r"h\d{1,3}")
    try:
        return sorted(n for n in os.listdir("/run/netns") if pat.fullmatch(n))
    except FileNotFoundError:
        return []


def _reap_dir(state_dir: Path) -> None:
    prefix = state_dir.name
    assert PREFIX_RE.fullmatch(prefix)
    try:
        state = json.loads((state_dir / "state.json").read_text())
    except (OSError, ValueError):
        state = {}
    netns = _netns_names(prefix)
    # sshd PIDs: recorded ones, and sshd processes inside the bed's namespaces (sessions),
    # but only if they are still sshd and their command line names this state directory.
    pids = {int(p) for p in state.get("sshd_pids", {}).values() if isinstance(p, int)}
    victims = [p for p in pids if _is_bed_sshd(p, state_dir)]
    # Session processes retitle themselves ("sshd: root@notty"): inside the bed's own
    # namespaces, being sshd is enough.
    for members in _pids_in_netns(netns).values():
        victims += [p for p in members if _exe(p) == SSHD]
    _signal_and_wait(sorted(set(victims)))
    links = _link_names(prefix)
    veths = [name for name in links if not name.endswith("br")]
    bridges = [name for name in links if name.endswith("br")]
    _ip_batch([f"link del {name}" for name in veths], force=True)
    _ip_batch([f"link del {name}" for name in bridges], force=True)
    _ip_batch([f"netns del {name}" for name in netns], force=True)
    shutil.rmtree(state_dir, ignore_errors=True)


def reap_stale_beds(base_dir: Path = BASE_DIR) -> list[str]:
    """Tear down beds under base_dir whose owner process is dead; returns their prefixes.

    Only directories named exactly ``lb`` + 6 hex digits are considered. Takes the bed lock.
    """
    if not base_dir.is_dir():
        return []
    with _locked(base_dir):
        return _reap_unlocked(base_dir)


def _reap_unlocked(base_dir: Path) -> list[str]:
    reaped = []
    for entry in sorted(base_dir.iterdir()):
        if entry.is_symlink() or not entry.is_dir() or not PREFIX_RE.fullmatch(entry.name):
            continue
        owner = _read_owner(entry)
        if owner is not None and _owner_alive(owner):
            continue
        if owner is None and time.time() - entry.stat().st_mtime < 60:
            continue  # no owner file yet: never happens with the rename dance, but be safe
        _reap_dir(entry)
        reaped.append(entry.name)
    return reaped


# ----------------------------------------------------------------------------- the bed


class LinuxBed:
    """N Linux hosts in network namespaces, each with its own sshd.

    Use as a context manager (``with LinuxBed(3) as bed:``) or call `start` and `close`.
    `close` runs on exceptions too and is idempotent; a failed `start` cleans up itself.
    """

    def __init__(
        self,
        n: int = 3,
        *,
        lean: bool = True,
        lo_up: bool = True,
        password: str | None = None,
        sudo_user: str | None = None,
        sudo_password: str | None = None,
        no_sshd: Collection[str | int] = (),
        base_dir: Path = BASE_DIR,
        start_timeout: float = 20.0,
    ) -> None:
        if not 1 <= n <= MAX_HOSTS:
            raise ValueError(f"a bed holds 1..{MAX_HOSTS} hosts, not {n}")
        if (sudo_user is None) != (sudo_password is None):
            raise ValueError("sudo_user and sudo_password go together")
        if sudo_user is not None and (not USER_RE.fullmatch(sudo_user) or sudo_user == "root"):
            raise ValueError(f"not a usable user name for the sudo user: {sudo_user!r}")
        self.n = n
        self.lean = lean
        self.lo_up = lo_up
        self.password = password
        self.sudo_user = sudo_user
        self.sudo_password = sudo_password
        self.sudo_uid = -1
        self._no_sshd = {f"h{x}" if isinstance(x, int) else x for x in no_sshd}
        unknown = self._no_sshd - {f"h{i}" for i in range(1, n + 1)}
        if unknown:
            raise ValueError(f"no_sshd names unknown hosts: {sorted(unknown)}")
        self.base_dir = base_dir
        self.start_timeout = start_timeout
        self.prefix = ""
        self.state_dir = Path()
        self.subnet_index = -1
        self.hosts: list[BedHost] = []
        self._by_name: dict[str, BedHost] = {}
        self._routes: list[tuple[str, str]] = []
        self._started = False
        self._closed = False
        self.timings: dict[str, float] = {}

    # -- public read-only views --------------------------------------------------------

    @property
    def bridge(self) -> str:
        return f"{self.prefix}br"

    @property
    def link_group(self) -> int:
        """Link group of the bed's root-side veths (unique per live prefix)."""
        return 0x4C000000 | int(self.prefix[2:], 16)

    @property
    def net4(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(f"198.19.{self.subnet_index}.0/24")

    @property
    def net6(self) -> ipaddress.IPv6Network:
        return ipaddress.IPv6Network(f"2001:db8:ff{self.subnet_index:02x}::/64")

    @property
    def gw4(self) -> str:
        return str(self.net4[254])

    @property
    def gw6(self) -> str:
        return str(self.net6[0xFE])

    @property
    def key_file(self) -> Path:
        """Client private key (ed25519) accepted for root on every host."""
        return self.state_dir / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        """An empty known_hosts file for the bed (tests fill it or check it stays empty)."""
        return self.state_dir / "known_hosts"

    @property
    def sudo_home(self) -> Path:
        """Home directory of the sudo user (in the state directory, owned by that user)."""
        return self.state_dir / f"home-{self.sudo_user}"

    @property
    def host_key_pub(self) -> Path:
        return self.state_dir / "ssh_host_ed25519_key.pub"

    def __getitem__(self, name: str) -> BedHost:
        return self._by_name[name]

    def __iter__(self) -> Iterator[BedHost]:
        return iter(self.hosts)

    def __len__(self) -> int:
        return len(self.hosts)

    def _host(self, host: str | BedHost) -> BedHost:
        if isinstance(host, BedHost):
            host = host.name
        try:
            return self._by_name[host]
        except KeyError:
            raise KeyError(f"no host {host!r} in bed {self.prefix}") from None

    # -- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> LinuxBed:
        if not self._started:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> LinuxBed:
        """Build the bed; on any failure (or KeyboardInterrupt) tear down what exists."""
        if self._started:
            raise BedError("bed already started")
        problems = check_prerequisites(sudo=self.sudo_user is not None)
        if problems:
            raise BedError("; ".join(problems))
        self._started = True
        t0 = time.monotonic()
        try:
            self._start()
        except BaseException:
            with contextlib.suppress(Exception):
                self.close()
            raise
        self.timings["up"] = time.monotonic() - t0
        return self

    def _start(self) -> None:
        t = time.monotonic()
        with _locked(self.base_dir):
            self.timings["reaped"] = float(len(_reap_unlocked(self.base_dir)))
            self._claim_state_dir()
            self.subnet_index = self._pick_subnet()
            self._make_hosts()
            self._save_state()
            # Bridge and its addresses exist before the lock is released, so a parallel
            # run sees the /24 as taken.
            _ip_batch(
                [
                    f"link add {self.bridge} type bridge forward_delay 0 stp_state 0",
                    f"link set {self.bridge} addrgenmode none",
                    f"addr add {self.gw4}/24 dev {self.bridge}",
                    f"addr add {self.gw6}/64 dev {self.bridge} nodad",
                    f"link set {self.bridge} up",
                ]
            )
        self.timings["lock+bridge"] = time.monotonic() - t
        t = time.monotonic()
        self._make_files()
        self.timings["keys+files"] = time.monotonic() - t
        t = time.monotonic()
        self._make_namespaces()
        self.timings["namespaces"] = time.monotonic() - t
        t = time.monotonic()
        self._check_configs()
        self.timings["sshd -T"] = time.monotonic() - t
        t = time.monotonic()
        hosts = [h for h in self.hosts if h.name not in self._no_sshd]
        self._launch_sshd(hosts)
        self.timings["sshd"] = time.monotonic() - t

    def _claim_state_dir(self) -> None:
        existing = set(os.listdir(self.base_dir))
        links = {str(link.get("ifname", "")) for link in _ip_json(["link", "show"])}
        for _ in range(100):
            prefix = "lb" + secrets.token_hex(3)
            taken = (
                prefix in existing
                or _netns_names(prefix)
                or any(name.startswith(prefix) for name in links)
            )
            if not taken:
                break
        else:
            raise BedError("could not find a free run prefix")
        tmp = self.base_dir / f".{prefix}.tmp"
        tmp.mkdir(mode=0o700)
        start = _proc_start_time(os.getpid())
        (tmp / "owner.pid").write_text(f"{os.getpid()} {start}\n")
        os.rename(tmp, self.base_dir / prefix)
        self.prefix = prefix
        self.state_dir = self.base_dir / prefix

    def _pick_subnet(self) -> int:
        used: set[int] = set()
        for entry in self.base_dir.iterdir():
            if entry.name == self.prefix or not PREFIX_RE.fullmatch(entry.name):
                continue
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
                used.add(int(json.loads((entry / "state.json").read_text())["subnet"]))
        nets: list[IPNet] = []
        for link in _ip_json(["addr", "show"]):
            for a in link.get("addr_info", []):
                with contextlib.suppress(ValueError, KeyError):
                    nets.append(ipaddress.ip_network(f"{a['local']}/{a['prefixlen']}", False))
        for family in ("-4", "-6"):
            for r in _ip_json([family, "route", "show", "table", "all"]):
                dst = str(r.get("dst", ""))
                if dst and dst != "default":
                    with contextlib.suppress(ValueError):
                        nets.append(ipaddress.ip_network(dst, strict=False))
        start = int(self.prefix[2:], 16) % 256
        for k in range(256):
            x = (start + k) % 256
            if x in used:
                continue
            mine4 = ipaddress.IPv4Network(f"198.19.{x}.0/24")
            mine6 = ipaddress.IPv6Network(f"2001:db8:ff{x:02x}::/64")
            if any(n.overlaps(mine4) if n.version == 4 else n.overlaps(mine6) for n in nets):
                continue
            return x
        raise BedError("no free /24 left in 198.19.0.0/16 for a bed")

    def _make_hosts(self) -> None:
        sd = self.state_dir
        for i in range(1, self.n + 1):
            name = f"h{i}"
            host = BedHost(
                index=i,
                name=name,
                netns=f"{self.prefix}h{i}",
                veth=f"{self.prefix}v{i}",
                ip4=str(self.net4[i]),
                ip6=str(self.net6[i]),
                key_file=self.key_file,
                known_hosts=self.known_hosts,
                config_file=sd / f"{name}.sshd_config",
                pid_file=sd / f"{name}.pid",
                log_file=sd / f"{name}.log",
                password=self.password,
            )
            self.hosts.append(host)
            self._by_name[name] = host

    def _save_state(self) -> None:
        _write_json(
            self.state_dir / "state.json",
            {
                "prefix": self.prefix,
                "subnet": self.subnet_index,
                "bridge": self.bridge,
                "netns": [h.netns for h in self.hosts],
                "veths": [h.veth for h in self.hosts],
                "sshd_pids": {h.name: h.sshd_pid for h in self.hosts if h.sshd_pid},
                "routes": self._routes,
            },
        )

    def _make_files(self) -> None:
        sd = self.state_dir
        keygens = [
            subprocess.Popen(
                [
                    SSH_KEYGEN,
                    "-q",
                    "-t",
                    "ed25519",
                    "-N",
                    "",
                    "-C",
                    f"{comment}@{self.prefix}",
                    "-f",
                    str(path),
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            for comment, path in (
                ("host", sd / "ssh_host_ed25519_key"),
                ("client", self.key_file),
            )
        ]
        for proc in keygens:
            _, err = proc.communicate(timeout=30)
            if proc.returncode != 0:
                raise BedError(f"ssh-keygen failed: {err.decode(errors='replace')}")
        pub = (sd / "id_ed25519.pub").read_text()
        (sd / "authorized_keys").write_text(pub)
        self.known_hosts.write_text("")
        (sd / "empty").write_text("")
        days = int(time.time() // 86400)
        hashed = self._password_hash(self.password) if self.password is not None else "*"
        shadow = sd / "shadow"
        shadow.touch(mode=0o600)
        shadow.write_text(f"root:{hashed}:{days}:0:99999:7:::\n")
        if self.sudo_user is not None:
            self._make_sudo_user_files(days)
        for logfile in LOGFILES:
            if os.path.isfile(logfile):
                (sd / ("log-" + os.path.basename(logfile) + ".rw")).write_text("")
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        for host in self.hosts:
            host.config_file.write_text(self._sshd_config(host))

    def _password_hash(self, password: str) -> str:
        if "\n" in password or ":" in password:
            raise BedError("bed passwords must not contain ':' or a newline")
        if not os.access(OPENSSL, os.X_OK):
            raise BedError(f"password hosts need {OPENSSL} to hash the password")
        return _run([OPENSSL, "passwd", "-6", "-stdin"], input=password).stdout.strip()

    def _make_sudo_user_files(self, days: int) -> None:
        """passwd, group, shadow line and sudoers for the sudo user, to be bind-mounted
        in the hosts' mount namespaces only; its home; the state directory traversable
        (not listable) so that user reaches authorized_keys and home."""
        user, sd = self.sudo_user, self.state_dir
        assert user is not None and self.sudo_password is not None
        passwd = Path("/etc/passwd").read_text()
        group = Path("/etc/group").read_text()
        taken = {line.split(":", 1)[0] for line in passwd.splitlines() + group.splitlines()}
        if user in taken:
            raise BedError(f"sudo user {user!r} exists on this machine; pick another name")
        ids = {
            int(f[2])
            for line in passwd.splitlines() + group.splitlines()
            if len(f := line.split(":")) > 2 and f[2].isdigit()
        }
        self.sudo_uid = next((i for i in SUDO_UIDS if i not in ids), -1)
        if self.sudo_uid < 0:
            raise BedError(f"no free uid/gid in {SUDO_UIDS} for the sudo user")
        uid = self.sudo_uid
        home = self.sudo_home
        home.mkdir(mode=0o700)
        os.chown(home, uid, uid)
        os.chmod(sd, 0o711)
        os.chmod(sd / "authorized_keys", 0o644)
        (sd / "passwd").write_text(
            passwd.rstrip("\n") + f"\n{user}:x:{uid}:{uid}:loopbackctl bed:{home}:/bin/sh\n"
        )
        (sd / "group").write_text(group.rstrip("\n") + f"\n{user}:x:{uid}:\n")
        hashed = self._password_hash(self.sudo_password)
        with open(sd / "shadow", "a") as shadow:
            shadow.write(f"{user}:{hashed}:{days}:0:99999:7:::\n")
        # sudo insists on root:root 0440. No fqdn (no DNS lookup of the hostname), no
        # syslog, no lecture; timestamps in the state directory, not /run/sudo.
        sudoers = sd / "sudoers"
        sudoers.touch(mode=0o440)
        sudoers.write_text(
            "\n".join(
                [
                    f"# loopbackctl test bed {self.prefix}",
                    "Defaults env_reset",
                    "Defaults !requiretty",
                    "Defaults !fqdn",
                    "Defaults !syslog",
                    "Defaults lecture=never",
                    f"Defaults timestampdir={sd / 'sudo-ts'}",
                    'Defaults secure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:'
                    '/sbin:/bin"',
                    "root ALL=(ALL:ALL) ALL",
                    f"{user} ALL=(ALL:ALL) ALL",
                    "",
                ]
            )
        )
        os.chmod(sudoers, 0o440)

    def _sshd_config(self, host: BedHost) -> str:
        sd = self.state_dir
        pw = self.password is not None
        return "\n".join(
            [
                f"# loopbackctl test bed {self.prefix}, host {host.name} (netns {host.netns})",
                f"Port {host.port}",
                f"ListenAddress {host.ip4}",
                f"ListenAddress [{host.ip6}]",
                "AddressFamily any",
                f"HostKey {sd / 'ssh_host_ed25519_key'}",
                f"PidFile {host.pid_file}",
                f"AuthorizedKeysFile {sd / 'authorized_keys'}",
                "UsePAM no",
                "StrictModes no",
                "UseDNS no",
                "MaxStartups 200:30:400",
                "MaxSessions 50",
                "LoginGraceTime 30",
                f"PermitRootLogin {'yes' if pw else 'prohibit-password'}",
                "PubkeyAuthentication yes",
                f"PasswordAuthentication {'yes' if pw or self.sudo_password else 'no'}",
                "KbdInteractiveAuthentication no",
                "PermitEmptyPasswords no",
                "X11Forwarding no",
                "PrintMotd no",
                "PrintLastLog no",
                "Banner none",
                "Subsystem sftp internal-sftp",
                "LogLevel INFO",
                "",
            ]
        )

    def _make_namespaces(self) -> None:
        root: list[str] = [f"netns add {h.netns}" for h in self.hosts]
        for h in self.hosts:
            root.append(f"link add {h.veth} type veth peer name eth0 netns {h.netns}")
            group = self.link_group
            root.append(f"link set {h.veth} addrgenmode none master {self.bridge} group {group} up")
        _ip_batch(root)
        procs = []
        for h in self.hosts:
            lines = ["link set lo up"] if self.lo_up else []
            lines += [
                "link set eth0 up",
                f"addr add {h.ip4}/24 dev eth0",
                f"addr add {h.ip6}/64 dev eth0 nodad",
                f"route add default via {self.gw4}",
                f"route add default via {self.gw6}",
            ]
            proc = subprocess.Popen(
                [IP, "-n", h.netns, "-batch", "-"],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            assert proc.stdin is not None
            proc.stdin.write("".join(line + "\n" for line in lines))
            proc.stdin.close()
            procs.append((h, proc))
        errors = []
        for h, proc in procs:
            assert proc.stderr is not None
            err = proc.stderr.read()
            if proc.wait(timeout=60) != 0:
                errors.append(f"{h.netns}: {err.strip()}")
        if errors:
            raise BedError("configuring namespaces failed:\n" + "\n".join(errors))

    def _check_configs(self) -> None:
        """`sshd -T` every config (it implies -t) and check it listens where it should."""
        procs = [
            (
                h,
                subprocess.Popen(
                    [SSHD, "-T", "-f", str(h.config_file)],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                ),
            )
            for h in self.hosts
        ]
        for h, proc in procs:
            out, err = proc.communicate(timeout=60)
            if proc.returncode != 0:
                raise BedError(f"sshd -T -f {h.config_file} failed: {err.strip()}")
            listen = {
                line.split(None, 1)[1]
                for line in out.splitlines()
                if line.startswith("listenaddress ")
            }
            want = {f"{h.ip4}:{h.port}", f"[{h.ip6}]:{h.port}"}
            if listen != want:
                raise BedError(f"{h.config_file} listens on {sorted(listen)}, not {sorted(want)}")

    def _binds(self) -> list[str]:
        sd = self.state_dir
        pairs: list[str] = []
        if self.lean:
            for dotfile in DOTFILES:
                if os.path.isfile(dotfile):
                    pairs += [str(sd / "empty"), dotfile]
        pairs += [str(sd / "shadow"), "/etc/shadow"]
        if self.sudo_user is not None:
            for name in ("passwd", "group", "sudoers"):
                pairs += [str(sd / name), f"/etc/{name}"]
        for logfile in LOGFILES:
            scratch = sd / ("log-" + os.path.basename(logfile) + ".rw")
            if scratch.exists():
                pairs += [str(scratch), logfile]
        return pairs

    def _launch_sshd(self, hosts: Sequence[BedHost]) -> None:
        binds = self._binds()
        for h in hosts:
            with contextlib.suppress(FileNotFoundError):
                h.pid_file.unlink()
            argv = [
                IP, "netns", "exec", h.netns,
                UNSHARE, "--uts", "--mount", "--propagation", "private",
                "/bin/sh", "-c", _LAUNCH, "bed-launch", h.hostname, str(len(binds) // 2), *binds,
                SSHD, "-D", "-f", str(h.config_file), "-E", str(h.log_file),
                "-o", f"PidFile={h.pid_file}",
            ]  # fmt: skip
            with open(self.state_dir / f"{h.name}.start.log", "ab") as out:
                h._proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=out,
                    start_new_session=True,
                )
            h.sshd_pid = h._proc.pid
        self._save_state()
        deadline = time.monotonic() + self.start_timeout
        pending = list(hosts)
        delay = 0.002
        while pending:
            still = []
            for h in pending:
                assert h._proc is not None
                if h._proc.poll() is not None:
                    raise BedError(
                        f"sshd of {h.name} exited with {h._proc.returncode} before listening:\n"
                        + self._logs(h)
                    )
                try:
                    pid = int(h.pid_file.read_text().strip())
                except (OSError, ValueError):
                    still.append(h)
                    continue
                if pid != h._proc.pid:
                    raise BedError(f"{h.name}: PidFile says {pid}, started {h._proc.pid}")
            pending = still
            if pending:
                if time.monotonic() > deadline:
                    names = ", ".join(h.name for h in pending)
                    raise BedError(f"sshd did not start within {self.start_timeout}s: {names}")
                time.sleep(delay)
                delay = min(delay * 2, 0.05)

    def _logs(self, h: BedHost) -> str:
        out = []
        for path in (self.state_dir / f"{h.name}.start.log", h.log_file):
            with contextlib.suppress(OSError):
                out.append(f"--- {path}\n{path.read_text(errors='replace')[-4000:]}")
        return "\n".join(out)

    def close(self) -> None:
        """Tear down: sshd PIDs (and sessions), root-side veths, bridge, namespaces, files."""
        if self._closed or not self._started:
            self._closed = True
            return
        self._closed = True
        t0 = time.monotonic()
        errors: list[str] = []
        with _signals_deferred():
            steps = (
                ("routes", self._del_routes),
                ("processes", self._kill_all),
                ("veths", self._del_veths),
                ("bridge", self._del_bridge),
                ("netns", self._del_netns),
            )
            for what, step in steps:
                t = time.monotonic()
                try:
                    step()
                except Exception as exc:
                    errors.append(f"{what}: {exc}")
                self.timings[f"down:{what}"] = time.monotonic() - t
            left = self._leftovers()
            if left:
                errors.append("left behind: " + ", ".join(left))
            elif self.state_dir.name == self.prefix and self.prefix:
                shutil.rmtree(self.state_dir, ignore_errors=True)
        self.timings["down"] = time.monotonic() - t0
        if errors:
            raise BedError(f"teardown of bed {self.prefix} incomplete: " + "; ".join(errors))

    def _del_routes(self) -> None:
        _ip_batch([f"route del {dst} via {via}" for dst, via in self._routes], force=True)
        self._routes.clear()

    def _kill_all(self) -> None:
        members = _pids_in_netns(h.netns for h in self.hosts)
        pids = [p for ps in members.values() for p in ps]
        procs = [h._proc for h in self.hosts if h._proc is not None]
        left = _signal_and_wait(pids, procs)
        for h in self.hosts:
            h.sshd_pid = None
            h._proc = None
        if left:
            raise BedError(f"processes would not die: {left}")

    def _del_veths(self) -> None:
        # One `link del group G` unregisters all veths in one kernel batch (one RCU grace
        # period instead of one per link); only if every link in G is one of ours.
        # (iproute2 6.1 prints an empty JSON object for each link the group filter drops.)
        group = [
            str(link["ifname"])
            for link in _ip_json(["link", "show", "group", str(self.link_group)])
            if "ifname" in link
        ]
        ours = {h.veth for h in self.hosts}
        if group and set(group) <= ours:
            _ip_batch([f"link del group {self.link_group}"], force=True)
        existing = set(_link_names(self.prefix))
        _ip_batch([f"link del {h.veth}" for h in self.hosts if h.veth in existing], force=True)

    def _del_bridge(self) -> None:
        if self.prefix and self.bridge in _link_names(self.prefix):
            _ip_batch([f"link del {self.bridge}"], force=True)

    def _del_netns(self) -> None:
        _ip_batch([f"netns del {name}" for name in _netns_names(self.prefix)], force=True)

    def _leftovers(self) -> list[str]:
        if not self.prefix:
            return []
        left = _link_names(self.prefix) + _netns_names(self.prefix)
        left += [str(p) for h in self.hosts for p in ([h.sshd_pid] if h.sshd_pid else [])]
        return left

    # -- per-host controls --------------------------------------------------------------

    def exec(
        self,
        host: str | BedHost,
        argv: Sequence[str],
        *,
        check: bool = False,
        timeout: float = 30,
        input: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run argv inside the host's network namespace (``ip netns exec``); no shell."""
        h = self._host(host)
        if isinstance(argv, str):
            raise TypeError("argv must be a sequence of strings, not a string")
        res = subprocess.run(
            [IP, "netns", "exec", h.netns, *argv],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and res.returncode != 0:
            raise BedError(f"{h.name}: {' '.join(argv)} failed ({res.returncode}): {res.stderr}")
        return res

    def lo_addresses(self, host: str | BedHost) -> set[tuple[str, str]]:
        """Addresses on the host's lo as {(family, "addr/prefixlen")}; order-free."""
        h = self._host(host)
        data = _ip_json(["-n", h.netns, "addr", "show", "dev", "lo"])
        return {
            (str(a["family"]), f"{a['local']}/{a['prefixlen']}")
            for link in data
            for a in link.get("addr_info", [])
        }

    def lo_is_up(self, host: str | BedHost) -> bool:
        h = self._host(host)
        data = _ip_json(["-n", h.netns, "link", "show", "dev", "lo"])
        return bool(data) and "UP" in data[0].get("flags", [])

    def stop_sshd(self, host: str | BedHost, *, sessions: bool = True) -> None:
        """Kill the host's sshd by PID; with sessions=True also every process in its
        namespace (open SSH sessions), so a connection in progress is cut."""
        h = self._host(host)
        pids: list[int] = []
        if sessions:
            pids = _pids_in_netns([h.netns]).get(h.netns, [])
        procs = [h._proc] if h._proc is not None else []
        if h.sshd_pid is not None and h._proc is None:
            pids.append(h.sshd_pid)
        left = _signal_and_wait(pids, procs)
        h.sshd_pid = None
        h._proc = None
        self._save_state()
        if left:
            raise BedError(f"{h.name}: processes would not die: {left}")

    def start_sshd(self, host: str | BedHost) -> None:
        """(Re)start the host's sshd and wait until it listens."""
        h = self._host(host)
        if h._proc is not None and h._proc.poll() is None:
            return
        self._launch_sshd([h])
        self._save_state()

    def set_link(self, host: str | BedHost, up: bool) -> None:
        """Set the root-side veth of the host down (unreachable) or up again."""
        h = self._host(host)
        _run([IP, "link", "set", "dev", h.veth, "up" if up else "down"])

    def take_down(self, host: str | BedHost) -> None:
        self.set_link(host, False)

    def add_route_to_loopbacks(self, host: str | BedHost, prefixes: Iterable[str]) -> None:
        """Route loopback prefixes, in the ROOT namespace, via the host's eth0 address.

        Prefixes must lie in 198.18.0.0/15 or 2001:db8::/32 and outside the beds' own
        198.19.0.0/16 / 2001:db8:ff00::/40. Routes are removed at teardown (and vanish with
        the bridge anyway). Another bed routing the same prefix makes this fail: pick
        prefixes per test.
        """
        h = self._host(host)
        todo: list[tuple[str, str]] = []
        for text in prefixes:
            net = ipaddress.ip_network(text, strict=True)
            if isinstance(net, ipaddress.IPv4Network):
                if not net.subnet_of(ALLOWED4) or net.overlaps(BED_SPACE4):
                    raise ValueError(
                        f"{net}: loopback routes must be in {ALLOWED4} outside {BED_SPACE4}"
                    )
                via = h.ip4
            else:
                if not net.subnet_of(ALLOWED6) or net.overlaps(BED_SPACE6):
                    raise ValueError(
                        f"{net}: loopback routes must be in {ALLOWED6} outside {BED_SPACE6}"
                    )
                via = h.ip6
            todo.append((str(net), via))
        for dst, via in todo:
            self._routes.append((dst, via))
            self._save_state()
            _run([IP, "route", "add", dst, "via", via])

    # -- inventory -----------------------------------------------------------------------

    def known_hosts_lines(self) -> list[str]:
        """known_hosts lines for every host address (all hosts share the bed's host key)."""
        key = " ".join(self.host_key_pub.read_text().split()[:2])
        return [f"{addr} {key}" for h in self.hosts for addr in (h.ip4, h.ip6)]

    def write_inventory(
        self,
        path: Path,
        loopbacks: Mapping[str, list[dict[str, Any]]] | None = None,
        extra_data: Mapping[str, Any] | None = None,
        *,
        host_data: Mapping[str, Mapping[str, Any]] | None = None,
        hosts: Iterable[str] | None = None,
        defaults: Mapping[str, Any] | None = None,
        ipv6: bool = False,
        auth: Literal["key", "password"] = "key",
        username: str | None = None,
    ) -> Path:
        """Write a Nornir SimpleInventory (hosts.yaml, groups.yaml[, defaults.yaml]).

        hosts.yaml has one entry per bed host (or per name in `hosts`)::

            h1:
              hostname: 198.19.X.1
              port: 22
              username: root
              platform: linux
              groups: [bed]
              data:
                loopbacks: [...]   # loopbacks[name], only if `loopbacks` names the host

        `extra_data` is merged into every host's data, `host_data[name]` into that host's.
        groups.yaml: ``bed: {connection_options: {netmiko: {extras: {key_file: KEY}}}}``;
        with auth="password" the bed group also carries ``password``. `username` logs in
        as someone else than root: the bed's ``sudo_user`` (its password with
        auth="password"), or any name (to test refusals).
        """
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        names = list(hosts) if hosts is not None else [h.name for h in self.hosts]
        unknown = set(names) | set(loopbacks or {}) | set(host_data or {})
        unknown -= set(self._by_name)
        if unknown:
            raise KeyError(f"not hosts of this bed: {sorted(unknown)}")
        doc: dict[str, Any] = {}
        for name in names:
            h = self._by_name[name]
            data: dict[str, Any] = {}
            if loopbacks is not None and name in loopbacks:
                data["loopbacks"] = loopbacks[name]
            data.update(extra_data or {})
            data.update((host_data or {}).get(name, {}))
            entry: dict[str, Any] = {
                "hostname": h.ip6 if ipv6 else h.ip4,
                "port": h.port,
                "username": username or h.username,
                "platform": "linux",
                "groups": ["bed"],
            }
            if data:
                entry["data"] = data
            doc[name] = entry
        group: dict[str, Any] = {
            "connection_options": {"netmiko": {"extras": {"key_file": str(self.key_file)}}}
        }
        if auth == "password":
            as_sudo_user = username is not None and username == self.sudo_user
            password = self.sudo_password if as_sudo_user else self.password
            if password is None:
                raise BedError("auth='password' needs a bed started with password=...")
            group["password"] = password
        (path / "hosts.yaml").write_text(_yaml(doc))
        (path / "groups.yaml").write_text(_yaml({"bed": group}))
        if defaults is not None:
            (path / "defaults.yaml").write_text(_yaml(dict(defaults)))
        return path
