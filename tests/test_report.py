"""Report rendering that does not need a device: the table's -v detail lines."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from loopbackctl import report
from loopbackctl.result import Check, HostResult, exit_code


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


def test_skipped_hosts_count_in_every_format_but_never_fail() -> None:
    results = [
        HostResult("r1", "cisco_ios", "ok"),
        HostResult("mx1", "junos", "skipped", error="not managed: platform 'junos' is not ..."),
    ]
    assert exit_code(results) == 0
    assert exit_code([*results, HostResult("r2", "cisco_ios", "drift")]) == 1
    table = report.render(results, "table")
    assert "mx1   junos      skipped" in table and "2 host(s): 1 ok, 1 skipped" in table
    doc = json.loads(report.render(results, "json"))
    assert doc["hosts"][1]["status"] == "skipped" and doc["summary"]["skipped"] == 1
    root = ET.fromstring(report.render(results, "junit"))
    assert (root.get("tests"), root.get("skipped"), root.get("failures")) == ("2", "1", "0")
    (case,) = [c for c in root.iter("testcase") if c.get("classname") == "loopbackctl.mx1"]
    skipped = case.find("skipped")
    assert skipped is not None and "junos" in (skipped.get("message") or "")


def test_a_warning_check_is_the_rows_detail_when_nothing_failed() -> None:
    r = HostResult("r6", "cisco_ios", "ok", checks=[Check("purge", False, "purge not applied")])
    r.checks[0] = Check("purge", False, "purge not applied", "warning")
    assert "purge not applied" in report.render([r], "table")
