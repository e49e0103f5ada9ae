"""The runner's pipeline and pool with a fake in-memory device (no SSH): statuses,
rollback, interrupts, containment of bugs, secret scrubbing, options, credentials,
host-key policies, and that validate/--version never import netmiko or paramiko."""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import paramiko
import pytest

from loopbackctl import fleet, platforms
from loopbackctl.errors import ConnectionLostError, DeviceError, UnreachableError, UsageError
from loopbackctl.model import Host, Loopback
from loopbackctl.plan import Change, Plan, plan_restore
from loopbackctl.platforms.base import Observed, SavedFile, Session
from loopbackctl.result import Check
from loopbackctl.runner import Job, run_fleet, run_host
from loopbackctl.transport import credentials, hostkeys
from loopbackctl.transport.options import ConnectOptions

A = ipaddress.ip_interface
SECRET = "hunter2-Secret!"


@dataclass
class Device:
    addrs: set[str] = field(default_factory=lambda: {"127.0.0.1/8", "::1/128"})
    up: bool = True
    file: str | None = None
    refuse: str | None = None  # a command containing this is refused
    cut_after: int | None = None  # the connection drops after this many commands
    ignore: str | None = None  # a command containing this "succeeds" but does nothing
    unreachable: bool = False
    misread: str | None = None  # the saved file reads back wrong while it holds this
    reconnect_fails: bool = False
    refusal_closes: bool = False  # a refusal also closes the session (as sudo's does)
    no_carrier: bool = False  # the driver's health: a fault no change fixes
    connects: int = 0
    log: list[str] = field(default_factory=list)


class FakeSession:
    def __init__(self, dev: Device) -> None:
        self.dev = dev
        self.sent: list[str] = []
        self.open = True

    def run(self, command: str) -> str:
        return ""

    def configure(self, commands: Sequence[str]) -> str:
        for c in commands:
            if not self.open:
                raise ConnectionLostError("fake: connection lost")
            if self.dev.cut_after is not None and len(self.dev.log) >= self.dev.cut_after:
                self.open = False
                self.dev.cut_after = None
                raise ConnectionLostError(f"fake: connection lost while running {c!r}")
            if self.dev.refuse and self.dev.refuse in c:
                self.open = not self.dev.refusal_closes
                raise DeviceError(f"fake: `{c}` failed: refused")
            self.sent.append(c)
            self.dev.log.append(c)
            if self.dev.ignore and self.dev.ignore in c:
                continue
            verb, _, arg = c.partition(" ")
            if verb == "add":
                self.dev.addrs.add(arg)
            elif verb == "del":
                self.dev.addrs.discard(arg)
            elif verb == "up":
                self.dev.up = True
            elif verb == "down":
                self.dev.up = False
            elif verb == "file":
                self.dev.file = arg or None
        return ""

    def close(self) -> None:
        self.open = False


class FakeDriver:
    def __init__(self, devices: Mapping[str, Device]) -> None:
        self.devices = devices

    def connect(self, host: Host, options: ConnectOptions) -> Session:
        dev = self.devices[host.name]
        dev.connects += 1
        if dev.unreachable:
            raise UnreachableError(f"{host.name}: connection refused")
        if dev.reconnect_fails and dev.connects > 1:
            raise UnreachableError(f"{host.name}: connection refused")
        if host.password == "bad":
            raise DeviceError(f"{host.name}: authentication failed with {host.password}")
        return FakeSession(dev)

    def read(self, session: Session, host: Host) -> Observed:
        dev = self.devices[host.name]
        if isinstance(session, FakeSession) and not session.open:
            raise ConnectionLostError("fake: the session is closed")
        if dev.addrs == {"garbage"}:
            raise DeviceError(f"{host.name}: could not parse lo's state")
        if dev.addrs == {"bug"}:
            raise RuntimeError("a bug")
        return Observed(
            (Loopback("lo", tuple(A(a) for a in sorted(dev.addrs)), shutdown=not dev.up),),
            health=(
                Check("lo carrier", not dev.no_carrier, "no carrier" if dev.no_carrier else "ok"),
                Check("lo up", dev.up, "flags UP,LOWER_UP" if dev.up else "DOWN, say why"),
            ),
        )

    def wanted(self, host: Host, observed: Observed, *, purge: bool) -> tuple[Loopback, ...]:
        return host.loopbacks

    def commands(
        self, host: Host, observed: Observed, plan: Plan, artifacts: Mapping[str, str]
    ) -> list[str]:
        return self._lines(plan.changes)

    def restore(
        self,
        host: Host,
        before: Observed,
        now: Observed,
        scope: Sequence[str],
        artifacts: Mapping[str, str],
    ) -> list[str]:
        policy = platforms.PLATFORMS["linux"].policy
        return self._lines(plan_restore(before.loopbacks, now.loopbacks, scope, policy).changes)

    @staticmethod
    def _lines(changes: Sequence[Change]) -> list[str]:
        words = {"add_address": "add", "remove_address": "del", "enable": "up", "disable": "down"}
        return [f"{words[c.kind]} {c.address or ''}".strip() for c in changes]

    def push(self, session: Session, host: Host, commands: Sequence[str]) -> None:
        session.configure(commands)

    def save(self, session: Session, host: Host) -> None:
        return None

    # Persisting
    def read_saved(
        self, session: Session, host: Host, artifacts: Mapping[str, str]
    ) -> tuple[SavedFile, SavedFile] | None:
        if "netplan" not in artifacts:
            return None
        dev = self.devices[host.name]
        seen = dev.file + "?" if dev.file is not None and dev.file == dev.misread else dev.file
        return SavedFile("/f", seen), SavedFile("/f", artifacts["netplan"])

    def write_saved(self, session: Session, host: Host, want: SavedFile) -> list[str]:
        session.configure([f"file {want.content}"])
        return [f"file {want.content}"]

    def restore_saved(self, session: Session, host: Host, old: SavedFile) -> list[str]:
        session.configure([f"file {old.content or ''}"])
        return []


def host(name: str = "h1", *addrs: str, password: str | None = SECRET, **kw: object) -> Host:
    want = addrs or ("198.18.1.1/32", "2001:db8:1::1/128")
    return Host(
        name=name,
        platform="linux",
        hostname="198.18.0.1",
        password=password,
        loopbacks=(Loopback("lo", tuple(A(a) for a in want)),),
        **kw,  # type: ignore[arg-type]
    )


def run(h: Host, dev: Device, **job: object) -> tuple[str, str | None, list[str]]:
    mode = job.pop("mode", "apply")
    r = run_host(Job(h, mode, **job), driver=FakeDriver({h.name: dev}))  # type: ignore[arg-type]
    return r.status, r.error, r.commands


def test_apply_then_nothing_to_do() -> None:
    dev = Device(up=False)
    status, error, cmds = run(host(), dev)
    assert (status, error) == ("changed", None)
    assert cmds == ["add 198.18.1.1/32", "add 2001:db8:1::1/128", "up"]
    assert dev.up and "198.18.1.1/32" in dev.addrs
    assert run(host(), dev) == ("ok", None, [])


def test_purge_acts_only_where_the_inventory_declares_the_loopbacks() -> None:
    """The rule holds in the runner, for every platform: a host whose inventory does not
    declare its loopbacks keeps every address, and the result says why."""
    stray = "198.18.9.9/32"
    extra = {"198.18.1.1/32", "2001:db8:1::1/128", stray}
    for declares, job_purge, host_purge in ((False, True, False), (False, False, True)):
        dev = Device(addrs={"127.0.0.1/8", "::1/128", *extra})
        h = host(declares_loopbacks=declares, purge=host_purge)
        r = run_host(Job(h, "apply", purge=job_purge), driver=FakeDriver({"h1": dev}))
        assert (r.status, r.commands, stray in dev.addrs) == ("ok", [], True)
        (check,) = [c for c in r.checks if c.name == "purge"]
        assert (check.ok, check.severity) == (False, "warning")
        assert "does not declare this host's loopbacks" in check.detail
    dev = Device(addrs={"127.0.0.1/8", "::1/128", *extra})
    r = run_host(
        Job(host(declares_loopbacks=True), "apply", purge=True), driver=FakeDriver({"h1": dev})
    )
    assert (r.status, r.commands, stray in dev.addrs) == ("changed", [f"del {stray}"], False)
    assert not [c for c in r.checks if c.name == "purge"]


def test_check_mode_and_verify_change_nothing() -> None:
    dev = Device()
    assert run(host(), dev, check=True)[0] == "drift"
    r = run_host(Job(host(), "verify"), driver=FakeDriver({"h1": dev}))
    assert r.status == "drift"
    assert {c.name: c.ok for c in r.checks} == {
        "lo carrier": True,
        "lo up": True,
        "lo 198.18.1.1/32": False,
        "lo 2001:db8:1::1/128": False,
    }
    assert dev.log == []


def test_health_takes_the_place_of_the_common_check_of_its_name() -> None:
    r = run_host(Job(host(), "verify"), driver=FakeDriver({"h1": Device(up=False)}))
    assert [c.name for c in r.checks] == [
        "lo carrier",  # the driver's own come first...
        "lo up",  # ...one named like a common check says why, in its place
        "lo 198.18.1.1/32",
        "lo 2001:db8:1::1/128",
    ]
    assert r.checks[1] == Check("lo up", False, "DOWN, say why")


def test_failing_health_with_nothing_to_change_fails_apply_without_a_change() -> None:
    dev = Device(addrs={"127.0.0.1/8", "::1/128", "198.18.1.1/32"}, no_carrier=True)
    h = host("h1", "198.18.1.1/32")
    assert run(h, dev, mode="verify")[0] == "drift"
    assert run(h, dev, check=True)[0] == "drift"
    status, error, cmds = run(h, dev)
    assert (status, cmds, dev.log) == ("failed", [], [])
    assert error == "not as intended, and no change would fix it: lo carrier: no carrier"


def test_failing_health_after_a_change_rolls_it_back() -> None:
    dev = Device(no_carrier=True)
    status, error, cmds = run(host("h1", "198.18.1.1/32"), dev)
    assert status == "failed" and error is not None
    assert error.startswith("after the change the host still fails: lo carrier: no carrier")
    assert error.endswith("rolled back: restored")
    assert cmds == ["add 198.18.1.1/32", "del 198.18.1.1/32"]
    assert dev.addrs == {"127.0.0.1/8", "::1/128"}


def test_refused_command_rolls_back_what_was_done() -> None:
    dev = Device(refuse="2001:db8")
    status, error, cmds = run(host(), dev)
    assert status == "failed"
    assert error is not None and "refused" in error and "rolled back: restored" in error
    assert dev.addrs == {"127.0.0.1/8", "::1/128"}
    assert cmds == ["add 198.18.1.1/32", "del 198.18.1.1/32"]


def test_connection_lost_mid_push_restores_over_a_new_session() -> None:
    dev = Device(cut_after=1)
    status, error, _ = run(host(), dev)
    assert status == "failed" and dev.connects == 2
    assert error is not None and "connection lost" in error and "restored" in error
    assert dev.addrs == {"127.0.0.1/8", "::1/128"}


def test_rollback_that_cannot_reconnect_says_so() -> None:
    dev = Device(cut_after=1, reconnect_fails=True)
    status, error, _ = run(host(), dev)
    assert status == "failed"
    assert error is not None and "ROLLBACK FAILED" in error and "by hand" in error


def test_refused_before_anything_was_sent_needs_no_rollback() -> None:
    """E.g. sudo refused the secret and closed the session: nothing to undo, and no
    reconnect to find that out (it used to report ROLLBACK FAILED on the closed session)."""
    dev = Device(refuse="198.18.1.1", refusal_closes=True)
    status, error, _ = run(host(), dev)
    assert status == "failed" and dev.connects == 1 and dev.log == []
    assert error is not None and error.endswith("refused; rolled back: nothing to undo")


def test_a_change_that_does_not_read_back_is_rolled_back() -> None:
    dev = Device(ignore="2001:db8")
    status, error, _ = run(host(), dev)
    assert status == "failed"
    assert error is not None and "still differs" in error and "restored" in error
    assert dev.addrs == {"127.0.0.1/8", "::1/128"}


def test_saved_file_is_written_compared_and_restored() -> None:
    dev = Device(file="old")
    arts = {"netplan": "new"}
    assert run(host(), dev, artifacts=arts)[0] == "changed"
    assert dev.file == "new"
    assert run(host(), dev, artifacts=arts) == ("ok", None, [])
    dev.file = "hand-edited"
    assert run(host(), dev, artifacts=arts)[0] == "changed"  # the file alone is a change
    dev2 = Device(file="old", misread="new")  # written, but reads back different
    status, error, cmds = run(host(), dev2, artifacts=arts)
    assert status == "failed" and error is not None and "does not read back" in error
    assert "rolled back: restored" in error
    assert dev2.file == "old" and dev2.addrs == {"127.0.0.1/8", "::1/128"}
    assert cmds[-1] == "file old"


def test_unreachable_failed_and_unparsable() -> None:
    assert run(host(), Device(unreachable=True))[0] == "unreachable"
    status, error, _ = run(host(password="bad"), Device())
    assert status == "failed" and error is not None and "authentication" in error
    status, error, _ = run(host(), Device(addrs={"garbage"}))
    assert status == "failed" and error is not None and "parse" in error


def test_secrets_never_reach_a_result() -> None:
    r = run_host(Job(host(password="bad"), "apply"), driver=FakeDriver({"h1": Device()}))
    assert "bad" not in (r.error or "")
    assert "********" in (r.error or "")


def test_interrupt_before_a_host_starts_and_before_its_push() -> None:
    cancel = threading.Event()
    cancel.set()
    r = run_host(Job(host(), "apply"), cancel, FakeDriver({"h1": Device()}))
    assert r.status == "failed" and "not contacted" in (r.error or "")

    class CancelOnRead(FakeDriver):
        def read(self, session: Session, host: Host) -> Observed:
            cancel.set()
            return super().read(session, host)

    cancel.clear()
    dev = Device()
    r = run_host(Job(host(), "apply"), cancel, CancelOnRead({"h1": dev}))
    assert r.status == "failed" and "nothing was changed" in (r.error or "")
    assert dev.log == []


def test_pool_contains_bugs_keeps_order_and_reports_each_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hosts = [host(f"h{i}") for i in range(8)]
    devices = {h.name: Device() for h in hosts}
    devices["h3"].addrs = {"bug"}
    seen: list[str] = []
    jobs = [Job(h, "apply") for h in hosts]
    import loopbackctl.runner as runner_mod

    def with_fake(job: Job, cancel: threading.Event | None = None) -> object:
        return run_host(job, cancel, FakeDriver(devices))

    monkeypatch.setattr(runner_mod, "run_host", with_fake)
    results = run_fleet(jobs, 3, on_result=lambda r: seen.append(r.name))
    assert [r.name for r in results] == [h.name for h in hosts]
    assert sorted(seen) == sorted(h.name for h in hosts)
    assert results[3].status == "failed" and "internal error: RuntimeError" in (
        results[3].error or ""
    )
    assert [r.status for i, r in enumerate(results) if i != 3] == ["changed"] * 7


def test_connect_options_precedence() -> None:
    h = Host("h", "linux", settings={"connect_timeout": 3, "command_timeout": 7.5})
    opts = fleet.FleetOptions("verify", host_keys="strict")
    o = fleet.connect_options(opts, h)
    assert (o.host_keys, o.connect_timeout, o.command_timeout) == ("strict", 3.0, 7.5)
    assert o.known_hosts == "~/.ssh/known_hosts"
    opts = fleet.FleetOptions("verify", connect_timeout=1.5, known_hosts="/x")
    o = fleet.connect_options(opts, h)
    assert (o.connect_timeout, o.known_hosts) == (1.5, "/x")
    o = fleet.connect_options(fleet.FleetOptions("verify"), Host("h", "linux"))
    assert (o.connect_timeout, o.command_timeout, o.host_keys) == (10.0, 30.0, "accept-new")


def test_driver_registry() -> None:
    assert type(platforms.driver("linux")).__name__ == "LinuxDriver"
    assert platforms.driver("linux") is platforms.driver("linux")
    with pytest.raises(UsageError, match="no runtime for platform 'junos'"):
        platforms.driver("junos")


def test_credentials_inventory_first_then_environment() -> None:
    env = {
        credentials.ENV_PASSWORD: "env-pw",
        credentials.ENV_SSH_KEY: "~/k",
        credentials.ENV_SECRET: "env-secret",
        "SSH_AUTH_SOCK": "/agent",
    }
    h = Host("r1", "linux", hostname="198.18.0.1", username="ops")
    c = credentials.resolve(h, env)
    assert (c.password, c.secret, c.allow_agent) == ("env-pw", "env-secret", True)
    assert c.key_file == os.path.expanduser("~/k")
    assert c.where == "ops@198.18.0.1:22"
    h = Host(
        "r1", "linux", hostname="198.18.0.1", username="ops", password="inv-pw", port=2222,
        connection_options={"netmiko": {"username": "other", "extras": {
            "key_file": "/kf", "secret": "x-secret", "session_log": "/tmp/log", "keepalive": 5,
        }}},
    )  # fmt: skip
    c = credentials.resolve(h, {})
    assert (c.username, c.password, c.secret, c.key_file, c.port) == (
        "other", "inv-pw", "x-secret", "/kf", 2222
    )  # fmt: skip
    assert dict(c.extras) == {"keepalive": 5}  # no session_log, ever
    assert c.allow_agent is False
    assert credentials.resolve(Host("n", "linux", password="p"), {}).secret == "p"
    assert credentials.resolve(Host("n", "linux"), {}).hostname == "n"
    assert "inv-pw" not in repr(c)
    assert credentials.redact("a inv-pw b inv-pw-long", ["inv-pw", "inv-pw-long"]) == (
        "a ******** b ********"
    )


def test_accept_new_records_each_host_once_across_threads(tmp_path: Path) -> None:
    kh = str(tmp_path / "ssh" / "known_hosts")
    policy = hostkeys.AcceptNewPolicy(hostkeys.KnownHosts(kh))
    keys = {f"198.18.0.{i}": paramiko.ECDSAKey.generate() for i in range(1, 21)}

    def add(name: str) -> None:
        policy.missing_host_key(paramiko.SSHClient(), name, keys[name])

    threads = [threading.Thread(target=add, args=(n,)) for n in keys for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = Path(kh).read_text().splitlines()
    assert sorted(line.split()[0] for line in lines) == sorted(keys)
    assert oct(Path(kh).stat().st_mode & 0o777) == "0o600"
    # A different key for a host recorded meanwhile is refused.
    with pytest.raises(paramiko.BadHostKeyException):
        policy.missing_host_key(paramiko.SSHClient(), "198.18.0.1", paramiko.ECDSAKey.generate())
    with pytest.raises(hostkeys.UnknownHostKeyError):
        hostkeys.StrictPolicy(hostkeys.KnownHosts(kh)).missing_host_key(
            paramiko.SSHClient(), "x", keys["198.18.0.1"]
        )


@pytest.mark.parametrize("argv", [["--version"], ["-i", "INV", "validate"]])
def test_validate_and_version_never_import_ssh_libraries(argv: list[str], tmp_path: Path) -> None:
    (tmp_path / "hosts.yaml").write_text(
        "h1:\n  hostname: 198.18.0.1\n  platform: linux\n"
        "  data:\n    loopbacks: [{name: lo, addresses: [198.18.1.1/32]}]\n"
    )
    argv = [str(tmp_path) if a == "INV" else a for a in argv]
    code = (
        "import sys; from loopbackctl.cli import main; rc = main(sys.argv[1:]);"
        "heavy = [m for m in ('netmiko', 'paramiko', 'loopbackctl.transport.ssh')"
        " if m in sys.modules];"
        "print('HEAVY', heavy); sys.exit(rc)"
    )
    res = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "HEAVY []" in res.stdout
