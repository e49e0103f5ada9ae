"""Rendering: golden files per platform, --limit, --templates, template errors, --format.

Golden files live in tests/golden/: `<platform>/<host>.<artifact>` per host and artifact,
and `render.txt` / `render.json` for the whole command. After an intended template change,
regenerate them with LOOPBACKCTL_UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from loopbackctl import inventory, render
from loopbackctl.cli import main
from loopbackctl.errors import TemplateError

HERE = Path(__file__).resolve().parent
FIXTURE = HERE / "data" / "render"
GOLDEN = HERE / "golden"
UPDATE = os.environ.get("LOOPBACKCTL_UPDATE_GOLDEN") == "1"
INV, _ = inventory.load(str(FIXTURE))


def golden(path: Path, text: str) -> None:
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"no golden file {path}; run with LOOPBACKCTL_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


def cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize("host", list(INV.hosts))
def test_golden_per_host_and_artifact(host: str) -> None:
    h = INV.hosts[host]
    arts = render.render_host(render.environment(), h)
    assert list(arts) == [a for a, _ in render.platforms.PLATFORMS[h.platform].templates]
    for artifact, text in arts.items():
        golden(GOLDEN / h.platform / f"{host}.{artifact}", text)


def test_every_platform_is_covered() -> None:
    assert {h.platform for h in INV.hosts.values()} == set(render.platforms.PLATFORMS)


def test_golden_whole_command_text_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = cli(["render", "-i", str(FIXTURE)], capsys)
    assert (rc, err) == (0, "")
    golden(GOLDEN / "render.txt", out)
    rc, out, err = cli(["render", "-i", str(FIXTURE), "--format", "json"], capsys)
    assert (rc, err) == (0, "")
    golden(GOLDEN / "render.json", out)
    doc = json.loads(out)
    assert [h["name"] for h in doc["hosts"]] == list(INV.hosts)


def test_ios_golden_says_what_ios_needs() -> None:
    text = (GOLDEN / "cisco_ios" / "r1.config").read_text()
    assert " ip address 10.255.0.1 255.255.255.255\n" in text
    assert " ip address 10.255.2.1 255.255.255.255 secondary\n" in text
    assert "no interface Loopback99\n" in text
    assert " ipv6 address 2001:db8:ff:10::1/128\n" in text


def test_frr_golden_says_what_vtysh_takes() -> None:
    text = (GOLDEN / "frr" / "f1.config").read_text()
    # vtysh takes the prefix form, never IOS's mask form; the block ends with FRR's exit.
    assert text == (
        "interface lo\n"
        " ip address 10.255.0.31/32\n"
        " ip address 10.255.1.31/32\n"
        " ipv6 address 2001:db8:ff::31/128\n"
        "exit\n"
    )


# ---------------------------------------------------------------- --limit


@pytest.mark.parametrize(
    ("pattern", "hosts"),
    [
        ("r1", ["r1"]),  # a host
        ("web2,r2", ["r2", "web2"]),  # comma-separated, inventory order
        ("web1:web3", ["web1", "web3"]),  # Ansible's colon form
        ("core", ["r1", "r2"]),  # a group, with its child group's members (edge → core)
        ("edge", ["r1"]),
        ("servers", ["web1", "web2"]),
        ("web*", ["web1", "web2", "web3"]),  # a glob over host names
        ("r?", ["r1", "r2"]),
        ("d*", ["web2", "web3"]),  # a glob over group names
        ("~^web[12]$", ["web1", "web2"]),  # a regular expression
        ("!core", ["c1", "web1", "web2", "web3", "f1"]),  # exclusion alone: everything else
        ("web*,!web2", ["web1", "web3"]),  # exclude a host
        ("all,!servers", ["r1", "r2", "c1", "web3", "f1"]),  # exclude a group
        ("*,!r*,!dmz", ["c1", "web1", "f1"]),
        ("servers,&dmz", ["web2"]),  # intersection
        (" r1 , r2 ", ["r1", "r2"]),
    ],
)
def test_limit(pattern: str, hosts: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = cli(
        ["render", "-i", str(FIXTURE), "--limit", pattern, "--format", "json"], capsys
    )
    assert (rc, err) == (0, "")
    assert [h["name"] for h in json.loads(out)["hosts"]] == hosts


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("r3", "--limit: 'r3' is neither a host nor a group\n"),
        ("sevrers", "--limit: 'sevrers' is neither a host nor a group; did you mean 'servers'?"),
        ("r1,!web9", "--limit: 'web9' is neither a host nor a group; did you mean 'web3'?"),
        ("x*", "--limit 'x*' matches no host; use host names, group names or globs"),
        ("core,&servers", "--limit 'core,&servers' matches no host"),
        ("!", "--limit: '!' needs a host, group or glob after it"),
        ("", "--limit '' names no host; leave --limit out for all hosts"),
        ("~[", "--limit: bad regular expression '~['"),
    ],
)
def test_limit_errors(pattern: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = cli(["render", "-i", str(FIXTURE), "--limit", pattern], capsys)
    assert rc == 2 and out == ""
    assert err.startswith(f"loopbackctl: error: {message}")
    assert err.count("\n") == 1


def test_render_text_format_for_a_limit(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = cli(["render", "-i", str(FIXTURE), "--limit", "web2"], capsys)
    assert rc == 0
    headers = [line for line in out.splitlines() if line.startswith("### ")]
    assert headers == ["### web2 (linux) iproute2", "### web2 (linux) netplan"]


# ---------------------------------------------------------------- --templates


def test_user_templates_override_shipped_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "cisco_ios").mkdir()
    (tmp_path / "cisco_ios" / "loopbacks.j2").write_text(
        "! {{ host }} by site policy\n"
        "{% for lb in loopbacks %}interface {{ lb.name }}\n{% endfor %}"
    )
    rc, out, err = cli(
        ["render", "-i", str(FIXTURE), "--templates", str(tmp_path), "--limit", "r2,web2"], capsys
    )
    assert (rc, err) == (0, "")
    assert "### r2 (cisco_ios) config\n! r2 by site policy\ninterface Loopback0\n" in out
    # Templates the user did not override still come from the shipped set.
    assert "ip address replace 198.18.200.2/32 dev lo\n" in out


def test_missing_templates_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = cli(["render", "-i", str(FIXTURE), "--templates", str(tmp_path / "no")], capsys)
    assert rc == 2
    assert f"{tmp_path / 'no'}: templates directory not found; check --templates" in err


def user_template(tmp: Path, text: str) -> Path:
    (tmp / "cisco_ios").mkdir(exist_ok=True)
    path = tmp / "cisco_ios" / "loopbacks.j2"
    path.write_text(text, encoding="utf-8")
    return path


def test_template_syntax_error_names_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = user_template(
        tmp_path, "{% for lb in loopbacks %}\ninterface {{ lb.name }\n{% endfor %}\n"
    )
    rc, out, err = cli(["render", "-i", str(FIXTURE), "--templates", str(tmp_path)], capsys)
    assert rc == 2 and out == ""
    assert (
        err == f"loopbackctl: error: {path}:2: template error: unexpected '}}'; fix the template\n"
    )


def test_undefined_variable_names_file_line_and_host(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = user_template(
        tmp_path,
        "{% for lb in loopbacks %}\ninterface {{ lb.name }}\n mtu {{ lb.mtu }}\n{% endfor %}\n",
    )
    rc, out, err = cli(["render", "-i", str(FIXTURE), "--templates", str(tmp_path)], capsys)
    assert rc == 2 and out == ""
    assert err.startswith(
        f"loopbackctl: error: {path}:3: template error: 'dict object' has no attribute 'mtu'"
        " (host r1); the variables a template may use are: host, hostname, platform,"
    )


def test_undefined_top_level_variable(tmp_path: Path) -> None:
    path = user_template(tmp_path, "snmp-server location {{ site }}\n")
    with pytest.raises(TemplateError, match=rf"^{path}:1: template error: 'site' is undefined"):
        render.render_host(render.environment(str(tmp_path)), INV.hosts["r2"])


def test_a_failing_filter_is_a_template_error_not_a_traceback(tmp_path: Path) -> None:
    path = user_template(tmp_path, "line one\n{{ loopbacks | map(attribute='name') | sum }}\n")
    with pytest.raises(TemplateError, match=rf"^{path}:2: template error: TypeError: "):
        render.render_host(render.environment(str(tmp_path)), INV.hosts["r2"])


def test_included_template_error_names_the_included_file(tmp_path: Path) -> None:
    user_template(tmp_path, "{% include 'cisco_ios/part.j2' %}\n")
    (tmp_path / "cisco_ios" / "part.j2").write_text("ok\n{{ nope }}\n")
    with pytest.raises(TemplateError, match=r"cisco_ios/part\.j2:2: template error: 'nope'"):
        render.render_host(render.environment(str(tmp_path)), INV.hosts["r2"])
