"""The runner's confirm-or-revert order with the in-memory device of test_runner_unit:
arm before the first command, confirm only after the change (or its rollback) read back,
save only after confirming, and a failed rollback leaves the revert armed. The real
devices' arming and reverting are tested on the beds (test_confirm_linux)."""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Sequence

import pytest

from loopbackctl.errors import ConnectionLostError, DeviceError, ParseError
from loopbackctl.model import Host, Loopback
from loopbackctl.plan import Change, Plan
from loopbackctl.platforms.base import Confirming, Observed, SavedFile, Session, Undo
from loopbackctl.platforms.frr.driver import revert_lines as frr_revert_lines
from loopbackctl.platforms.linux.driver import revert_lines as linux_revert_lines
from loopbackctl.platforms.linux.revert import READ_PENDING
from loopbackctl.platforms.linux.revert import pending as revert_pending
from loopbackctl.platforms.linux.revert import script as revert_script
from loopbackctl.result import Check
from loopbackctl.runner import Job, run_host
from loopbackctl.transport.framing import Result
from loopbackctl.transport.options import DEFAULT_CONFIRM_TIMEOUT
from tests.test_runner_unit import Device, FakeDriver, FakeSession, host


class ConfirmingDriver(FakeDriver):
    """The fake device, armed: `fire()` does what the device's revert would."""

    def __init__(
        self,
        dev: Device,
        *,
        arm_fails: bool = False,
        late: bool = False,
        window: float | None = None,
    ) -> None:
        super().__init__({"h1": dev})
        self.dev, self.arm_fails, self.late, self.window = dev, arm_fails, late, window
        self.undo: Undo | None = None
        self.armed: list[Undo] = []
        self.timeout: float | None = None

    def arm(self, session: Session, host: Host, undo: Undo, timeout: float) -> float:
        assert isinstance(session, FakeSession)
        if not session.open:
            raise ConnectionLostError("fake: the session is closed")
        if self.arm_fails:
            raise DeviceError("h1: cannot arm: /run is read-only")
        self.dev.log.append("ARM")
        self.undo, self.timeout = undo, timeout
        self.armed.append(undo)
        return timeout if self.window is None else self.window

    def confirm(self, session: Session, host: Host) -> None:
        assert isinstance(session, FakeSession)
        if not session.open:
            raise ConnectionLostError("fake: the session is closed")
        if self.late:
            self.fire()
            raise DeviceError("h1: too late: the revert already ran")
        assert self.undo is not None, "confirm without arm"
        self.dev.log.append("CONFIRM")
        self.undo = None

    def save(self, session: Session, host: Host) -> None:
        self.dev.log.append("SAVE")

    def fire(self) -> None:
        assert self.undo is not None
        lo = self.undo.before.loopbacks[0]
        self.dev.addrs = {a.with_prefixlen for a in lo.addresses}
        self.dev.up = not lo.shutdown
        if self.undo.saved is not None:
            self.dev.file = self.undo.saved.content
        self.undo = None


def run(drv: ConfirmingDriver, h: Host | None = None, **job: object) -> tuple[str, str | None]:
    job.setdefault("confirm_timeout", 30.0)
    job.setdefault("mode", "apply")
    r = run_host(Job(h or host(), **job), driver=drv)  # type: ignore[arg-type]
    return r.status, r.error


def test_the_fake_keeps_the_contract() -> None:
    assert isinstance(ConfirmingDriver(Device()), Confirming)


def test_arm_push_write_confirm_then_save() -> None:
    dev = Device(up=False, file="old")
    drv = ConfirmingDriver(dev)
    assert run(drv, artifacts={"netplan": "new"}) == ("changed", None)
    assert dev.log == [
        "ARM",
        "add 198.18.1.1/32",
        "add 2001:db8:1::1/128",
        "up",
        "file new",
        "CONFIRM",
        "SAVE",
    ]
    assert drv.timeout == 30.0 and drv.undo is None
    # What the revert would have put back: the state read before, and the old file.
    (undo,) = drv.armed
    assert undo.before.loopbacks[0].shutdown and undo.saved is not None
    assert undo.saved.content == "old" and undo.commands[0] == "add 198.18.1.1/32"
    assert len(undo.plan.changes) == 3
    dev.log.clear()
    assert run(drv, artifacts={"netplan": "new"}) == ("ok", None)  # converged: no arm
    assert dev.log == []


def test_a_confirm_too_late_is_a_failure_and_nothing_is_saved() -> None:
    dev = Device(up=False, file="old")
    drv = ConfirmingDriver(dev, late=True)  # confirm comes too late: the device reverts
    status, error = run(drv, artifacts={"netplan": "new"})
    assert status == "failed" and error is not None
    assert "read back as intended but was not confirmed" in error
    assert "by itself at" in error and "too late" in error
    assert "SAVE" not in dev.log  # never saved what was reverted
    assert dev.addrs == {"127.0.0.1/8", "::1/128"} and not dev.up and dev.file == "old"


def test_check_no_confirm_and_other_modes_never_arm() -> None:
    dev = Device(up=False)
    drv = ConfirmingDriver(dev)
    assert run(drv, check=True)[0] == "drift"
    assert run(drv, mode="verify")[0] == "drift"
    assert dev.log == []
    assert run(drv, confirm_timeout=None) == ("changed", None)
    assert "ARM" not in dev.log and "CONFIRM" not in dev.log


def test_arm_failure_changes_nothing() -> None:
    dev = Device(up=False)
    status, error = run(ConfirmingDriver(dev, arm_fails=True))
    assert status == "failed"
    assert error == "h1: cannot arm: /run is read-only; rolled back: nothing to undo"
    assert dev.log == [] and not dev.up


def test_failed_proof_rolls_back_then_cancels_the_revert() -> None:
    dev = Device(ignore="2001:db8")
    drv = ConfirmingDriver(dev)
    status, error = run(drv)
    assert status == "failed" and error is not None and error.endswith("rolled back: restored")
    assert dev.log[0] == "ARM" and dev.log[-1] == "CONFIRM"
    assert dev.addrs == {"127.0.0.1/8", "::1/128"} and drv.undo is None


def test_lost_connection_rolls_back_and_confirms_over_a_new_session() -> None:
    dev = Device(cut_after=2)  # ARM is the first entry of the log
    drv = ConfirmingDriver(dev)
    status, error = run(drv)
    assert status == "failed" and error is not None and "restored" in error
    assert dev.connects == 2 and dev.log[-1] == "CONFIRM" and drv.undo is None


def test_failed_rollback_leaves_the_revert_armed_and_says_when() -> None:
    dev = Device(cut_after=2, reconnect_fails=True)
    drv = ConfirmingDriver(dev)
    status, error = run(drv)
    assert status == "failed" and error is not None
    assert "ROLLBACK FAILED" in error and "by itself at" in error and "by hand" not in error
    assert drv.undo is not None and "CONFIRM" not in dev.log
    drv.fire()  # the device does it
    assert dev.addrs == {"127.0.0.1/8", "::1/128"}


def test_the_time_said_is_the_window_the_device_armed() -> None:
    """A device that rounds the timeout up (IOS counts minutes) reverts later than asked:
    the report gives the device's time, not the option's."""
    dev = Device(cut_after=2, reconnect_fails=True)
    drv = ConfirmingDriver(dev, window=7200.0)
    t0 = time.time()
    _, error = run(drv)
    assert error is not None
    said = re.search(r"by itself at (\d\d:\d\d:\d\d) UTC", error)
    assert said is not None, error
    expected = {time.strftime("%H:%M:%S", time.gmtime(t0 + 7200 + d)) for d in range(0, 30)}
    assert said.group(1) in expected, (said.group(1), drv.timeout)


def test_refused_before_anything_went_out_still_cancels_the_revert() -> None:
    dev = Device(refuse="198.18.1.1", refusal_closes=True)
    drv = ConfirmingDriver(dev)
    status, error = run(drv)
    assert status == "failed" and error is not None
    assert error.endswith("refused; rolled back: nothing to undo")
    assert dev.log == ["ARM", "CONFIRM"] and dev.connects == 2  # confirmed over a new one


def test_command_line_default_timeout_and_opt_out() -> None:
    from loopbackctl.cli import fleet as cli_fleet
    from loopbackctl.cli.parser import build_parser

    def opts(*argv: str) -> float | None:
        args = build_parser().parse_args(["apply", "-i", "x", *argv])
        return cli_fleet.options(args).confirm_timeout

    assert opts() == DEFAULT_CONFIRM_TIMEOUT == 120.0
    assert opts("--confirm-timeout", "7.5") == 7.5
    assert opts("--no-confirm") is None
    args = build_parser().parse_args(["verify", "-i", "x"])
    assert cli_fleet.options(args).confirm_timeout is None


A = ipaddress.ip_interface


def _undo(before: Observed, changes: list[Change], commands: Sequence[str] = ()) -> Undo:
    return Undo(before, Plan(tuple(changes), (), ("lo",)), tuple(commands))


def test_linux_revert_lines_undo_the_plan_and_never_touch_the_kernels_addresses() -> None:
    before = Observed((Loopback("lo", (A("198.18.9.9/32"),), shutdown=True),))
    changes = [
        Change("enable", "lo"),
        Change("add_address", "lo", A("127.0.0.1/8")),
        Change("add_address", "lo", A("198.18.1.1/32")),
        Change("remove_address", "lo", A("198.18.9.9/32")),
    ]
    undo = _undo(before, changes)
    assert linux_revert_lines(undo) == [
        "ip address del 198.18.1.1/32 dev lo",
        "ip address replace 198.18.9.9/32 dev lo",
        "ip link set dev lo down",
    ]
    with_file = Undo(before, undo.plan, (), SavedFile("/etc/netplan/x.yaml", None))
    assert linux_revert_lines(with_file)[-2:] == [
        "rm -f /etc/netplan/.x.yaml.loopbackctl-tmp /etc/netplan/.x.yaml.loopbackctl-tmp.b64",
        "rm -f /etc/netplan/x.yaml",
    ]
    back = Undo(before, undo.plan, (), SavedFile("/etc/netplan/x.yaml", "old\n"))
    assert "base64 -d" in linux_revert_lines(back)[-1]


def test_frr_revert_lines_undo_each_line_on_its_own() -> None:
    running = "\n".join(
        [
            "interface lo",
            " ip address 198.18.9.9/32",
            " ip ospf area 0",
            " ipv6 address 2001:db8::1/128",
        ]
    )
    before = Observed((Loopback("lo", ()),), running={"lo": running})
    commands = [
        "interface lo",
        " no ip address 198.18.9.9/32",
        " ip address 198.18.1.1/32",
        " ipv6 address 2001:db8::1/128",  # configured again: the router had it
        "exit",
    ]
    lines = frr_revert_lines(_undo(before, [], commands))
    assert lines == [
        "vtysh -c 'configure terminal' -c 'interface lo' -c 'no ip address 198.18.1.1/32'",
        "vtysh -c 'configure terminal' -c 'interface lo' -c 'ip address 198.18.9.9/32'",
    ]


def test_the_revert_script_sleeps_then_runs_each_line_unless_confirmed() -> None:
    text = revert_script(["ip address del 198.18.1.1/32 dev lo"], 7.5)
    assert "sleep 7.500\n" in text and "trap '' HUP" in text
    assert "run ip address del 198.18.1.1/32 dev lo\n" in text
    # It fires only if it can take `armed` away from a confirm (atomic rename).
    assert text.index('mv "$d/armed" "$d/firing" 2>/dev/null || exit 0') < text.index("run ip")


def test_a_pending_revert_is_read_strictly() -> None:
    def said(status: int, output: str) -> object:
        return revert_pending(Result(READ_PENDING, status, output), "root@h1:22")

    assert said(0, "none\n") is None
    check = said(0, "pending 4242 1800000000\n")
    assert isinstance(check, Check) and not check.ok and check.name == "revert pending"
    assert "pid 4242" in check.detail and "08:00:00 UTC" in check.detail
    reverting = said(0, "reverting")
    assert isinstance(reverting, Check) and "now" in reverting.detail
    for status, output in [(0, ""), (1, "none"), (0, "pending x y"), (0, "garbage")]:
        with pytest.raises(ParseError):
            said(status, output)
