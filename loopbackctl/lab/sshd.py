"""One OpenSSH sshd per device, inside the device's network namespace.

Each sshd starts under ``ip netns exec NS unshare --uts --mount --propagation private``:
its own hostname, and its own mount namespace in which — and only there — files are
bind-mounted over the machine's: ``/etc/shadow`` by a generated one (root unlocked for
keys, or a password hash); ``/var/log`` by an empty directory (sshd then writes no login
records) and ``/run/utmp`` by a scratch file; with a lean shell ``/root`` by the device's
own home, whose dot files are empty (a session then does not pay for ``pyenv init``, and
what sessions write there stays in the lab); with a sudo user ``/etc/passwd``,
``/etc/group`` and ``/etc/sudoers`` by copies that add that user; ``/etc/netplan`` by a
private directory, and so is ``/run/loopbackctl-host`` (where loopbackctl keeps its state
on a managed host: confirm-or-revert's job); and for a router ``/etc/frr`` and
``/var/run/frr`` by the router's own. The real files under /etc are never written. Each
bind costs a `mount` process, the largest part of a device's start: whole directories are
bound where files would do.
The namespaces' mounts of /run/netns are dropped there too, so no sshd keeps another
lab's namespaces alive.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from loopbackctl.lab import netns
from loopbackctl.lab.errors import LabError
from loopbackctl.lab.node import Node

SSHD = "/usr/sbin/sshd"
SSH_KEYGEN = "/usr/bin/ssh-keygen"
OPENSSL = "/usr/bin/openssl"
SUDO = "/usr/bin/sudo"
NETPLAN_DIR = "/etc/netplan"
# loopbackctl's own directory on a managed host (platforms.linux.revert.HOST_DIR): each
# device has its own, as each real host has its own /run.
HOST_DIR = "/run/loopbackctl-host"

# Root's dot files, empty in a lean host's home (those that exist on this machine).
DOTFILES = (".bashrc", ".profile", ".bash_profile", ".bash_login")
ROOT_HOME = "/root"
RUN_LOCK = "/run/lock"
LOG_DIR = "/var/log"  # wtmp, btmp, lastlog: sshd (without PAM) writes them when they exist
UTMP = "/run/utmp"

USER_RE = re.compile(r"[a-z_][a-z0-9_-]{0,30}")
SUDO_UIDS = range(64000, 65000)  # first uid (and gid) free in the real passwd/group

# Runs inside the device's new UTS + mount namespaces, then becomes sshd.
# $1 hostname, $2 number of "MODE SOURCE TARGET" bind triples (MODE ro or rw), the
# triples; then optionally "frr DAEMONS" (start those FRR daemons, wait for their vty
# sockets, load /etc/frr/frr.conf with vtysh -b); then sshd's argv. Each daemon starts
# once the one before it answers: ospfd started before zebra listens would wait for its
# reconnect timer and miss the interfaces.
LAUNCH = """set -e
hostname "$1"
n=$2
shift 2
while [ "$n" -gt 0 ]; do
  if [ "$1" = rw ]; then mount --bind "$2" "$3"; else mount -o bind,ro "$2" "$3"; fi
  shift 3
  n=$((n - 1))
done
umount -l /run/netns 2>/dev/null || true
if [ "$1" = frr ]; then
  for d in $2; do
    /usr/lib/frr/"$d" -u frr -g frr -A 127.0.0.1 -i /var/run/frr/"$d".pid \\
      --log file:/var/run/frr/"$d".log &
    t=0
    until [ -S /var/run/frr/"$d".vty ]; do
      t=$((t + 1))
      if [ "$t" -gt 1000 ]; then echo "$d did not start" >&2; exit 1; fi
      sleep 0.02
    done
  done
  vtysh -b
  shift 2
fi
exec "$@"
"""


@dataclass(frozen=True)
class Login:
    """Who may log in: root with the lab's key (always), root with `password`, and a
    non-root `sudo_user` (key or `sudo_password`) who may run anything through sudo after
    giving that password."""

    password: str | None = None
    sudo_user: str | None = None
    sudo_password: str | None = None

    def check(self) -> None:
        if (self.sudo_user is None) != (self.sudo_password is None):
            raise ValueError("sudo_user and sudo_password go together")
        user = self.sudo_user
        if user is not None and (not USER_RE.fullmatch(user) or user == "root"):
            raise ValueError(f"not a usable user name for the sudo user: {user!r}")


@dataclass(frozen=True)
class Files:
    """The files every device of one lab shares, in its state directory."""

    state_dir: Path

    @property
    def host_key(self) -> Path:
        return self.state_dir / "ssh_host_ed25519_key"

    @property
    def client_key(self) -> Path:
        return self.state_dir / "id_ed25519"

    @property
    def authorized_keys(self) -> Path:
        return self.state_dir / "authorized_keys"

    @property
    def known_hosts(self) -> Path:
        return self.state_dir / "known_hosts"

    def sudo_home(self, user: str) -> Path:
        return self.state_dir / f"home-{user}"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "log"

    @property
    def utmp(self) -> Path:
        return self.state_dir / "utmp"


def make_keys(files: Files, prefix: str) -> None:
    """The host key every device presents and the client key root accepts."""
    procs = [
        subprocess.Popen(
            [SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", f"{comment}@{prefix}",
             "-f", str(path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for comment, path in (("host", files.host_key), ("client", files.client_key))
    ]  # fmt: skip
    for proc in procs:
        _, err = proc.communicate(timeout=30)
        if proc.returncode != 0:
            raise LabError(f"ssh-keygen failed: {err.decode(errors='replace').strip()}")
    files.authorized_keys.write_text(files.client_key.with_suffix(".pub").read_text())
    files.known_hosts.write_text("")


def make_login_files(files: Files, prefix: str, login: Login) -> int:
    """shadow (and passwd, group, sudoers for a sudo user), scratch login records and the
    privilege-separation directory; returns the sudo user's uid (-1 without one)."""
    days = int(time.time() // 86400)
    hashed = _password_hash(login.password) if login.password is not None else "*"
    shadow = files.state_dir / "shadow"
    shadow.touch(mode=0o600)
    shadow.write_text(f"root:{hashed}:{days}:0:99999:7:::\n")
    uid = -1
    if login.sudo_user is not None:
        uid = _make_sudo_user(files, prefix, login, days)
    files.log_dir.mkdir(mode=0o755)
    if os.path.isfile(UTMP):
        files.utmp.write_text("")
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    Path(HOST_DIR).mkdir(mode=0o700, exist_ok=True)  # the mount point of each device's own
    return uid


def _password_hash(password: str) -> str:
    if "\n" in password or ":" in password:
        raise LabError("lab passwords must not contain ':' or a newline")
    if not os.access(OPENSSL, os.X_OK):
        raise LabError(f"password logins need {OPENSSL} (Debian package openssl)")
    return netns.run([OPENSSL, "passwd", "-6", "-stdin"], input=password).stdout.strip()


def _free_uid(passwd: str, group: str) -> int:
    ids = {
        int(f[2])
        for line in passwd.splitlines() + group.splitlines()
        if len(f := line.split(":")) > 2 and f[2].isdigit()
    }
    uid = next((i for i in SUDO_UIDS if i not in ids), -1)
    if uid < 0:
        raise LabError(f"no free uid/gid in {SUDO_UIDS} for the sudo user")
    return uid


def _make_sudo_user(files: Files, prefix: str, login: Login, days: int) -> int:
    """passwd, group, shadow line and sudoers for the sudo user (bind-mounted in the
    devices' mount namespaces only); its home; the state directory traversable (not
    listable) so that user reaches authorized_keys and home."""
    user, sd = login.sudo_user, files.state_dir
    assert user is not None and login.sudo_password is not None
    passwd = Path("/etc/passwd").read_text()
    group = Path("/etc/group").read_text()
    taken = {line.split(":", 1)[0] for line in passwd.splitlines() + group.splitlines()}
    if user in taken:
        raise LabError(f"sudo user {user!r} exists on this machine; pick another name")
    uid = _free_uid(passwd, group)
    home = files.sudo_home(user)
    home.mkdir(mode=0o700)
    os.chown(home, uid, uid)
    os.chmod(sd, 0o711)
    os.chmod(files.authorized_keys, 0o644)
    (sd / "passwd").write_text(
        passwd.rstrip("\n") + f"\n{user}:x:{uid}:{uid}:loopbackctl lab:{home}:/bin/sh\n"
    )
    (sd / "group").write_text(group.rstrip("\n") + f"\n{user}:x:{uid}:\n")
    with open(sd / "shadow", "a") as shadow:
        shadow.write(f"{user}:{_password_hash(login.sudo_password)}:{days}:0:99999:7:::\n")
    _write_sudoers(sd, prefix, user)
    return uid


def _write_sudoers(sd: Path, prefix: str, user: str) -> None:
    # sudo insists on root:root 0440. No fqdn (no DNS lookup of the hostname), no syslog,
    # no lecture; timestamps in the state directory, not /run/sudo.
    sudoers = sd / "sudoers"
    sudoers.touch(mode=0o440)
    lines = [
        f"# loopbackctl lab {prefix}",
        "Defaults env_reset",
        "Defaults !requiretty",
        "Defaults !fqdn",
        "Defaults !syslog",
        "Defaults lecture=never",
        f"Defaults timestampdir={sd / 'sudo-ts'}",
        'Defaults secure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"',
        "root ALL=(ALL:ALL) ALL",
        f"{user} ALL=(ALL:ALL) ALL",
        "",
    ]
    sudoers.write_text("\n".join(lines))
    os.chmod(sudoers, 0o440)


def config_text(node: Node, files: Files, prefix: str, login: Login) -> str:
    """The device's sshd_config: its own addresses only, keys (and passwords if set)."""
    pw = login.password is not None
    return "\n".join(
        [
            f"# loopbackctl lab {prefix}, {node.kind} {node.name} (netns {node.netns})",
            f"Port {node.port}",
            f"ListenAddress {node.ip4}",
            f"ListenAddress [{node.ip6}]",
            "AddressFamily any",
            f"HostKey {files.host_key}",
            f"PidFile {node.pid_file}",
            f"AuthorizedKeysFile {files.authorized_keys}",
            "UsePAM no",
            "StrictModes no",
            "UseDNS no",
            "MaxStartups 200:30:400",
            "MaxSessions 50",
            "LoginGraceTime 30",
            f"PermitRootLogin {'yes' if pw else 'prohibit-password'}",
            "PubkeyAuthentication yes",
            f"PasswordAuthentication {'yes' if pw or login.sudo_password else 'no'}",
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


def binds(files: Files, login: Login) -> list[tuple[str, Path, str]]:
    """(mode, source, target) bind mounts every device of the lab gets."""
    out: list[tuple[str, Path, str]] = [("ro", files.state_dir / "shadow", "/etc/shadow")]
    if login.sudo_user is not None:
        out += [("ro", files.state_dir / n, f"/etc/{n}") for n in ("passwd", "group", "sudoers")]
    out.append(("ro", files.log_dir, LOG_DIR))
    if files.utmp.exists():
        out.append(("rw", files.utmp, UTMP))
    return out


def make_home(node: Node) -> None:
    """A lean device's /root: the machine's dot files, empty."""
    home = node.dir / "home"
    home.mkdir(mode=0o700)
    for name in DOTFILES:
        if os.path.isfile(os.path.join(ROOT_HOME, name)):
            (home / name).write_text("")


def node_binds(node: Node, *, lean: bool) -> list[tuple[str, Path, str]]:
    """The device's own: a lean /root, loopbackctl's directory on a host, /etc/netplan
    where the machine has one, and /run/lock (so devices on one machine do not share
    apply's lock file)."""
    out: list[tuple[str, Path, str]] = [("rw", node.host_dir, HOST_DIR)]
    if lean:
        out.append(("rw", node.dir / "home", ROOT_HOME))
    if os.path.isdir(NETPLAN_DIR):
        out.append(("rw", node.netplan_dir, NETPLAN_DIR))
    if os.path.isdir(RUN_LOCK):
        out.append(("rw", node.lock_dir, RUN_LOCK))
    return out


def check_config(node: Node) -> None:
    """`sshd -T` the device's config (it implies -t): it must listen on exactly the
    device's own addresses."""
    res = netns.run([SSHD, "-T", "-f", str(node.config_file)], check=False)
    if res.returncode != 0:
        raise LabError(f"sshd -T -f {node.config_file} failed: {res.stderr.strip()}")
    listen = {
        line.split(None, 1)[1]
        for line in res.stdout.splitlines()
        if line.startswith("listenaddress ")
    }
    want = {f"{node.ip4}:{node.port}", f"[{node.ip6}]:{node.port}"}
    if listen != want:
        raise LabError(f"{node.config_file} listens on {sorted(listen)}, not {sorted(want)}")


def launch(node: Node, mounts: Sequence[tuple[str, Path, str]], pre: Sequence[str] = ()) -> None:
    """Start the device's sshd (after `pre`, e.g. ``("frr", "zebra ospfd")``); sets
    `node.proc` and `node.sshd_pid`. Returns at once: see `wait_listening`."""
    node.pid_file.unlink(missing_ok=True)
    triples = [str(x) for m in mounts for x in m]
    argv = [
        netns.IP, "netns", "exec", node.netns,
        netns.UNSHARE, "--uts", "--mount", "--propagation", "private",
        "/bin/sh", "-c", LAUNCH, "lab-launch", node.hostname, str(len(mounts)), *triples,
        *pre,
        SSHD, "-D", "-f", str(node.config_file), "-E", str(node.log_file),
        "-o", f"PidFile={node.pid_file}",
    ]  # fmt: skip
    with open(node.start_log, "ab") as out:
        node.proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True
        )
    node.sshd_pid = node.proc.pid


def wait_listening(nodes: Sequence[Node], timeout: float) -> None:
    """Wait until every node's sshd wrote its PidFile (it does once it listens)."""
    deadline = time.monotonic() + timeout
    pending = list(nodes)
    delay = 0.002
    while pending:
        pending = [n for n in pending if not _listening(n)]
        if not pending:
            return
        if time.monotonic() > deadline:
            names = ", ".join(n.name for n in pending[:20])
            raise LabError(f"sshd did not start within {timeout:g}s: {names}")
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def _listening(node: Node) -> bool:
    assert node.proc is not None
    if node.proc.poll() is not None:
        raise LabError(
            f"sshd of {node.name} exited with {node.proc.returncode} before listening:\n"
            + logs(node)
        )
    try:
        pid = int(node.pid_file.read_text().strip())
    except (OSError, ValueError):
        return False
    if pid != node.proc.pid:
        raise LabError(f"{node.name}: PidFile says {pid}, started {node.proc.pid}")
    return True


def logs(node: Node) -> str:
    """The tail of the device's start log and sshd log (for error messages)."""
    out = []
    for path in (node.start_log, node.log_file):
        try:
            out.append(f"--- {path}\n{path.read_text(errors='replace')[-4000:]}")
        except OSError:
            continue
    return "\n".join(out)
