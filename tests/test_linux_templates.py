"""What the Linux templates render is what apply makes true, on real hosts: the namespace
bed (sshd per host, tests/bed) and local mode on a fresh namespace.

A user's linux/iproute2.j2 reaches the host's lo, linux/netplan.yaml.j2 is the netplan
file byte for byte, a second apply sends and writes nothing, a template that lays out
anything but `ip` commands on lo is refused before anything is sent, and a rollback goes
through the same template. Never skipped: without root, sshd or netplan the test fails
with the reason. Addresses come from 198.18.0.0/15 and 2001:db8::/32 only.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest

from loopbackctl.cli import main
from loopbackctl.lab.netns import ip_json
from loopbackctl.platforms.linux.driver import NETPLAN_FILE
from tests.clirun import Run, run_cli
from tests.linux_helpers import Fleet, fleet, ip_lo, lo, watch
from tests.localns import ip

SHIPPED = Path(__file__).parent.parent / "loopbackctl/platforms/linux/templates"
V4 = "198.18.200.{}/32"
V6 = "2001:db8:200::{}/128"
SITE = "# site: lab-11, loopbacks managed by loopbackctl\n"


def _lbs(*names: str) -> dict[str, list[dict[str, object]]]:
    return {
        n: [{"name": "lo", "addresses": [V4.format(i), V6.format(i)]}]
        for i, n in enumerate(names, start=1)
    }


def _templates(tmp_path: Path, iproute2: str | None = None, netplan: str | None = None) -> Path:
    """A --templates directory overriding the shipped Linux templates given."""
    d = tmp_path / "templates"
    (d / "linux").mkdir(parents=True, exist_ok=True)
    if iproute2 is not None:
        (d / "linux" / "iproute2.j2").write_text(iproute2)
    if netplan is not None:
        (d / "linux" / "netplan.yaml.j2").write_text(netplan)
    return d


def _shipped(name: str) -> str:
    return (SHIPPED / name).read_text()


# The site's override: every address it adds is deprecated at once (preferred_lft 0, so
# the kernel never picks it as a source address), and a comment of the site's own.
ADD = "ip address replace {{ address }} dev lo"
PREFERRED_0 = SITE + _shipped("iproute2.j2").replace(f"{ADD}\n", f"{ADD} preferred_lft 0\n")
NETPLAN_SITE = SITE + _shipped("netplan.yaml.j2")


def _run(f: Fleet, templates: Path | None, *argv: str) -> Run:
    extra = ("--templates", str(templates)) if templates is not None else ()
    return run_cli(f.inventory, f.known_hosts, argv, global_args=extra)


def _render(f: Fleet, templates: Path) -> dict[str, dict[str, str]]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = main(
            ["-i", str(f.inventory), "--templates", str(templates), "render", "--format", "json"]
        )
    assert rc == 0
    return {h["name"]: h["artifacts"] for h in json.loads(out.getvalue())["hosts"]}


def _deprecated(addr_info: list[dict[str, Any]]) -> dict[str, bool]:
    """Address → whether the kernel marks it deprecated (preferred lifetime over)."""
    return {f"{a['local']}/{a['prefixlen']}": bool(a.get("deprecated")) for a in addr_info}


def _ip_commands(host: dict[str, Any]) -> list[str]:
    return [c for c in host["commands"] if c.startswith("ip ")]


def _require_etc_netplan() -> None:
    if not os.path.isdir("/etc/netplan"):
        pytest.fail(
            "/etc/netplan is missing: install netplan.io (tests/run-all does); each bed host"
            " gets its own /etc/netplan only where the machine has one",
            pytrace=False,
        )


def test_user_templates_reach_the_host_and_a_second_apply_sends_nothing(
    linux_bed, tmp_path: Path
) -> None:
    _require_etc_netplan()
    bed = linux_bed(2, lo_up=False)
    names = ["h1", "h2"]
    data = {n: {"persist": "netplan"} for n in names}  # each host's own /etc/netplan
    f = fleet(bed, tmp_path, _lbs(*names), host_data=data)
    templates = _templates(tmp_path, PREFERRED_0, NETPLAN_SITE)
    rendered = _render(f, templates)
    assert "ip address replace 198.18.200.1/32 dev lo preferred_lft 0" in rendered["h1"]["iproute2"]

    r = _run(f, templates, "apply", "--format", "json")
    assert r.rc == 0, r.out + r.err
    assert [h["status"] for h in r.doc["hosts"]] == ["changed", "changed"]
    # Only what differs, laid out by the user's template: lo up, the kernel's own
    # addresses (a fresh namespace's lo has none) and the inventory's, each deprecated.
    assert _ip_commands(r.host("h1")) == [
        "ip link set dev lo up",
        "ip address replace 127.0.0.1/8 dev lo preferred_lft 0",
        "ip address replace ::1/128 dev lo preferred_lft 0",
        "ip address replace 198.18.200.1/32 dev lo preferred_lft 0",
        "ip address replace 2001:db8:200::1/128 dev lo preferred_lft 0",
    ]
    for i, n in enumerate(names, start=1):
        doc = ip_json(["-n", bed[n].netns, "addr", "show", "dev", "lo"])
        assert _deprecated(doc[0]["addr_info"]) == dict.fromkeys(
            ["127.0.0.1/8", "::1/128", V4.format(i), V6.format(i)], True
        )
        # The netplan file is the template's output, byte for byte, site comment included.
        path = bed[n].netplan_dir / NETPLAN_FILE
        assert path.read_bytes() == rendered[n]["netplan"].encode()
        assert path.read_text().startswith(SITE)
    path = bed["h1"].netplan_dir / NETPLAN_FILE
    written = path.stat().st_mtime_ns

    # Converged: nothing is sent, nothing is written, nothing changes on lo.
    with watch(bed, names) as events:
        r = _run(f, templates, "apply", "--format", "json")
    assert r.rc == 0, r.out + r.err
    assert [(h["status"], h["commands"], h["changes"]) for h in r.doc["hosts"]] == [
        ("ok", [], []),
        ("ok", [], []),
    ]
    assert events == {"h1": "", "h2": ""}
    assert path.stat().st_mtime_ns == written
    assert sorted(p.name for p in bed["h1"].netplan_dir.iterdir()) == [NETPLAN_FILE]
    assert _run(f, templates, "verify").rc == 0

    # The file is compared with what the templates render: without the site's netplan
    # template it differs, and apply writes the shipped one (addresses stay as they are).
    r = _run(f, None, "verify", "--format", "json")
    assert r.rc == 1
    saved = next(c for c in r.host("h1")["checks"] if c["name"] == "saved file")
    assert not saved["ok"] and "differs" in saved["detail"]
    r = _run(f, None, "apply", "--format", "json")
    assert r.rc == 0 and _ip_commands(r.host("h1")) == []
    assert path.read_text() == _shipped_netplan(f, "h1")
    assert (bed["h1"].netplan_dir / f"{NETPLAN_FILE}.bak").read_bytes() == rendered["h1"][
        "netplan"
    ].encode()


def _shipped_netplan(f: Fleet, host: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["-i", str(f.inventory), "render", "--format", "json", "--limit", host]) == 0
    return str(json.loads(out.getvalue())["hosts"][0]["artifacts"]["netplan"])


BAD = {
    "another command": _shipped("iproute2.j2") + "ip address flush dev lo\n",
    "a shell character": _shipped("iproute2.j2").replace("dev lo up", "dev lo up; reboot"),
    "a control character": _shipped("iproute2.j2").replace("lo\n{% endfor", "lo\x0b{% endfor", 1),
    "down, never asked for": _shipped("iproute2.j2") + "ip link set dev lo down\n",
}  # fmt: skip


def test_a_template_laying_out_anything_else_is_refused_before_any_host_is_contacted(
    linux_bed, tmp_path: Path
) -> None:
    bed = linux_bed(1, lo_up=False)
    f = fleet(bed, tmp_path, _lbs("h1"))
    before = lo(bed, "h1")
    for what, template in BAD.items():
        templates = _templates(tmp_path / what.replace(" ", "-"), template)
        with watch(bed, ["h1"]) as events:
            r = _run(f, templates, "apply")
        assert r.rc == 2, (what, r.out, r.err)
        assert f"{templates}/linux/iproute2.j2: for host h1, rendered line" in r.err, r.err
        assert events == {"h1": ""} and lo(bed, "h1") == before
        # Not even connected: a first connection would have recorded the host's key.
        assert f.known_hosts.read_text() == ""


def test_a_line_refused_at_apply_time_fails_that_host_without_sending_anything(
    linux_bed, tmp_path: Path
) -> None:
    """A template that branches on the plan can hide a line from the check made when the
    job is built (which renders every step at once); at apply time it is refused for that
    host, before anything is sent, and the other hosts go on."""
    bed = linux_bed(2)
    f = fleet(bed, tmp_path, _lbs("h1", "h2"))
    for n in ("h1", "h2"):  # converged, so only what the template adds for h1 is at stake
        for a in (V4, V6):
            ip_lo(bed, n, "addr", "add", a.format(1 if n == "h1" else 2), "dev", "lo")
    ip_lo(bed, "h1", "addr", "add", "198.18.209.7/32", "dev", "lo")  # unmanaged: purged
    ip_lo(bed, "h2", "addr", "del", V4.format(2), "dev", "lo")
    sneaky = _shipped("iproute2.j2") + (
        "{% if remove and not down %}\nip address flush dev lo\n{% endif %}\n"
    )
    templates = _templates(tmp_path, sneaky)
    before = lo(bed, "h1")
    with watch(bed, ["h1"]) as events:
        r = _run(f, templates, "apply", "--purge", "--format", "json")
    assert r.rc == 1, r.out + r.err
    h1 = r.host("h1")
    assert h1["status"] == "failed" and h1["commands"] == []
    assert "rendered line 3 `ip address flush dev lo`" in h1["error"]
    assert h1["error"].endswith("none of it was sent")
    assert events == {"h1": ""} and lo(bed, "h1") == before
    assert r.host("h2")["status"] == "changed"
    assert _ip_commands(r.host("h2")) == [f"ip address replace {V4.format(2)} dev lo"]


def test_rollback_goes_through_the_users_template(linux_bed, tmp_path: Path) -> None:
    """IPv6 disabled on h1's lo: its IPv4 address goes on, the read-back fails (lo cannot
    hold the IPv6 one), and the undo is the user's template with the restore plan."""
    bed = linux_bed(1)
    f = fleet(bed, tmp_path, _lbs("h1"))
    bed.exec("h1", ["sysctl", "-qw", "net.ipv6.conf.lo.disable_ipv6=1"], check=True)
    before = lo(bed, "h1")
    undo = _shipped("iproute2.j2").replace("address del {{", "address delete {{")
    r = _run(f, _templates(tmp_path, undo), "apply", "--format", "json")
    assert r.rc == 1, r.out + r.err
    h1 = r.host("h1")
    assert (h1["status"], h1["rollback"]) == ("failed", "restored"), h1
    assert _ip_commands(h1) == [
        f"ip address replace {V4.format(1)} dev lo",
        f"ip address delete {V4.format(1)} dev lo",
    ]
    assert lo(bed, "h1") == before


# -- local mode: the same driver on a namespace's lo -------------------------------------


def _local(tmp_path: Path, netns: str, *argv: str) -> tuple[int, dict[str, Any], str]:
    inv = tmp_path / "inv"
    inv.mkdir(exist_ok=True)
    (inv / "hosts.yaml").write_text(
        "self:\n  platform: linux\n  data:\n    local: true\n    loopbacks:\n"
        f'      - name: lo\n        addresses: ["{V4.format(1)}", "{V6.format(1)}"]\n'
    )
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(["-i", str(inv), *argv, "--local", "--netns", netns, "--format", "json"])
    doc = json.loads(out.getvalue())["hosts"][0] if out.getvalue() else {}
    return rc, doc, err.getvalue()


def _ns_lo(netns: str) -> dict[str, Any]:
    doc: list[dict[str, Any]] = json.loads(ip("-n", netns, "-j", "addr", "show", "dev", "lo"))
    return doc[0]


def test_local_mode_applies_the_users_template_and_then_sends_nothing(
    netns: str, tmp_path: Path
) -> None:
    templates = _templates(tmp_path, PREFERRED_0)
    rc, doc, err = _local(tmp_path, netns, "--templates", str(templates), "apply")
    assert rc == 0, (doc, err)
    assert doc["status"] == "changed"
    assert doc["commands"] == [
        "ip link set dev lo up",
        "ip address replace 127.0.0.1/8 dev lo preferred_lft 0",
        "ip address replace ::1/128 dev lo preferred_lft 0",
        f"ip address replace {V4.format(1)} dev lo preferred_lft 0",
        f"ip address replace {V6.format(1)} dev lo preferred_lft 0",
    ]
    assert _deprecated(_ns_lo(netns)["addr_info"]) == dict.fromkeys(
        ["127.0.0.1/8", "::1/128", V4.format(1), V6.format(1)], True
    )
    rc, doc, err = _local(tmp_path, netns, "--templates", str(templates), "apply")
    assert (rc, doc["status"], doc["commands"], doc["changes"]) == (0, "ok", [], []), err


def test_local_mode_refuses_a_bad_template_before_touching_lo(netns: str, tmp_path: Path) -> None:
    before = _ns_lo(netns)
    for what, template in BAD.items():
        templates = _templates(tmp_path / what.replace(" ", "-"), template)
        rc, doc, err = _local(tmp_path, netns, "--templates", str(templates), "apply")
        assert (rc, doc) == (2, {}), (what, err)
        assert f"{templates}/linux/iproute2.j2: for host {netns}, rendered line" in err
        assert _ns_lo(netns) == before
    # A template that lays out nothing at all passes that check (it has no bad line), but
    # apply finds it would not carry the plan out and sends nothing.
    empty = _templates(tmp_path / "empty", "# nothing here\n")
    rc, doc, err = _local(tmp_path, netns, "--templates", str(empty), "apply")
    assert (rc, doc["status"], doc["commands"]) == (1, "failed", []), err
    assert doc["error"].startswith("the rendered configuration does not carry out: lo: add")
    assert "lo: bring up" in doc["error"]
    assert _ns_lo(netns) == before
