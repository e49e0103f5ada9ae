"""Report rendering that does not need a device: the table's -v detail lines."""

from __future__ import annotations

from loopbackctl import report
from loopbackctl.result import Check, HostResult


def test_verbose_table_lists_every_change_and_check_before_the_table() -> None:
    results = [
        HostResult(
            "h1",
            "linux",
            "drift",
            changes=["lo: add 198.18.200.1/32"],
            checks=[
                Check("lo up", True, "lo UP"),
                Check("lo 198.18.200.1/32", False, "198.18.200.1/32 missing"),
                Check("lo mtu", False, "mtu 1500", "warning"),
                Check("icmp ::1", False, "not applicable: IPv6 is disabled", "info"),
            ],
        )
    ]
    plain = report.render(results, "table", verbose=0)
    verbose = report.render(results, "table", verbose=1)
    assert "198.18.200.1/32 missing" in plain  # the failing check is the row's detail
    assert "lo UP" not in plain
    lines = verbose.splitlines()
    assert lines[:5] == [
        "h1: change: lo: add 198.18.200.1/32",
        "h1: ok: lo up: lo UP",
        "h1: FAIL: lo 198.18.200.1/32: 198.18.200.1/32 missing",
        "h1: warning: lo mtu: mtu 1500",
        "h1: n/a: icmp ::1: not applicable: IPv6 is disabled",
    ]
    assert verbose.endswith(plain)
