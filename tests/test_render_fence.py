"""No inventory value can add a line to a device's configuration.

Two fences: validation rejects line breaks and control characters in every field (where
it is written: file, line, column, host, key), and rendering refuses them again (Jinja's
finalize) for a model built without the inventory.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from pathlib import Path

import pytest

from loopbackctl import inventory, render
from loopbackctl.errors import InventoryError, TemplateError
from loopbackctl.model import Host, Loopback
from loopbackctl.values import CONTROL, oneline

# YAML double-quoted escapes for: LF, CR, NUL, ESC, TAB, DEL, NEL (C1), U+2028, CSI (C1).
BAD = {
    "LF": "\\n",
    "CR": "\\r",
    "NUL": "\\0",
    "ESC": "\\e",
    "TAB": "\\t",
    "DEL": "\\x7f",
    "NEL": "\\N",
    "LS": "\\L",
    "CSI": "\\x9b",
}

# (file, text with {v} for the bad value, host, key, line of the value)
R1 = "r1:\n  platform: cisco_ios\n  data:\n    loopbacks:\n      - name: Loopback0\n"
FIELDS = [
    ("hosts.yaml", 'r1:\n  platform: linux\n  hostname: "198.18.0.1{v}"\n', "r1", "hostname", 3),
    ("hosts.yaml", 'r1:\n  platform: linux\n  username: "ops{v}"\n', "r1", "username", 3),
    ("hosts.yaml", 'r1:\n  platform: "linux{v}"\n', "r1", "platform", 2),
    (
        "hosts.yaml",
        'r1:\n  platform: linux\n  port: 22\n  groups: ["g{v}"]\n',
        "r1",
        "groups[0]",
        4,
    ),
    (
        "hosts.yaml",
        'r1:\n  platform: cisco_ios\n  data:\n    router_id: "10.0.0.1{v}"\n',
        "r1",
        "data.router_id",
        4,
    ),
    (
        "hosts.yaml",
        'r1:\n  platform: linux\n  data:\n    netplan_dir: "/etc/netplan{v}"\n',
        "r1",
        "data.netplan_dir",
        4,
    ),
    (
        "hosts.yaml",
        'r1:\n  platform: linux\n  data:\n    persist: "netplan{v}"\n',
        "r1",
        "data.persist",
        4,
    ),
    (
        "hosts.yaml",
        'r1:\n  platform: cisco_ios\n  data:\n    loopbacks:\n      - name: "Loopback0{v}"\n',
        "r1",
        "data.loopbacks[0].name",
        5,
    ),
    (
        "hosts.yaml",
        R1 + '        description: "rid{v}"\n',
        "r1",
        "data.loopbacks[0].description",
        6,
    ),
    (
        "hosts.yaml",
        R1 + '        addresses: ["10.0.0.1/32{v}"]\n',
        "r1",
        "data.loopbacks[0].addresses[0]",
        6,
    ),
    (
        "hosts.yaml",
        R1 + '        absent_addresses: ["10.0.0.9/32{v}"]\n',
        "r1",
        "data.loopbacks[0].absent_addresses[0]",
        6,
    ),
    ("hosts.yaml", R1 + '        state: "absent{v}"\n', "r1", "data.loopbacks[0].state", 6),
    (
        "hosts.yaml",
        'r1:\n  platform: linux\n  connection_options:\n    netmiko:\n      hostname: "h{v}"\n',
        "r1",
        "connection_options.netmiko.hostname",
        5,
    ),
    (
        "hosts.yaml",
        "r1:\n  platform: linux\n  connection_options:\n    netmiko:\n"
        '      extras: {{key_file: "/k{v}"}}\n',
        "r1",
        "connection_options.netmiko.extras.key_file",
        5,
    ),
    (
        "groups.yaml",
        'g:\n  data:\n    loopbacks: [{{name: Loopback0, description: "x{v}"}}]\n',
        None,
        "groups.g.data.loopbacks[0].description",
        3,
    ),
    (
        "defaults.yaml",
        'data:\n  netplan_dir: "/etc/netplan{v}"\n',
        None,
        "defaults.data.netplan_dir",
        2,
    ),
]


@pytest.mark.parametrize("char", BAD.values(), ids=BAD.keys())
@pytest.mark.parametrize(
    ("file", "text", "host", "key", "line"), FIELDS, ids=[f[3] for f in FIELDS]
)
def test_validation_rejects_control_characters_in_every_field(
    tmp_path: Path, file: str, text: str, host: str | None, key: str, line: int, char: str
) -> None:
    files = {"hosts.yaml": "r1:\n  platform: linux\n", "groups.yaml": "g: {}\n"}
    files[file] = text.format(v=char)
    for name, body in files.items():
        (tmp_path / name).write_text(body, encoding="utf-8")
    with pytest.raises(InventoryError) as info:
        inventory.load(str(tmp_path))
    errors = [d for d in info.value.diagnostics if d.severity == "error"]
    fence = [d for d in errors if "control character" in d.message]
    assert len(fence) == 1, [str(d) for d in errors]
    d = fence[0]
    assert (Path(d.mark.file).name, d.mark.line) == (file, line)
    assert d.host == host
    expected_key = key.replace("{v}", oneline(_decoded(char)))
    assert d.key == expected_key
    assert "\n" not in str(d) and "\x1b" not in str(d) and "\u2028" not in str(d)
    # No other error at the same place: the one message says what to do.
    assert [e for e in errors if e.mark == d.mark] == [d]


@pytest.mark.parametrize("char", BAD.values(), ids=BAD.keys())
def test_other_tools_data_may_hold_anything_but_a_template_cannot_print_it(
    tmp_path: Path, char: str
) -> None:
    """Other tools' keys under data are theirs (a multi-line banner is fine there); a
    user template that prints one meets the render fence instead."""
    text = f'r1:\n  platform: linux\n  data:\n    site: "lab{char}"\n    "k{char}": 1\n'
    (tmp_path / "hosts.yaml").write_text(text, encoding="utf-8")
    inv, _ = inventory.load(str(tmp_path))
    assert inv.hosts["r1"].data["site"] == "lab" + _decoded(char)
    templates = tmp_path / "templates" / "linux"
    templates.mkdir(parents=True)
    (templates / "iproute2.j2").write_text("# {{ data.site }}\n")
    with pytest.raises(TemplateError, match="control character"):
        render.render_host(render.environment(str(tmp_path / "templates")), inv.hosts["r1"])


def _decoded(escape: str) -> str:
    import yaml

    value: str = yaml.safe_load(f'"{escape}"')
    return value


@pytest.mark.parametrize("char", BAD.values(), ids=BAD.keys())
def test_validation_rejects_control_characters_in_names(tmp_path: Path, char: str) -> None:
    (tmp_path / "hosts.yaml").write_text(
        f'"r1{char}":\n  platform: linux\nr2:\n  platform: linux\n'
    )
    (tmp_path / "groups.yaml").write_text(f'"g{char}": {{}}\n')
    with pytest.raises(InventoryError) as info:
        inventory.load(str(tmp_path))
    got = [(Path(d.mark.file).name, d.mark.line, d.message) for d in info.value.diagnostics]
    assert [g[:2] for g in got] == [("groups.yaml", 1), ("hosts.yaml", 1)]
    raw = _decoded(char)
    assert got[0][2].startswith(f"group name {'g' + raw!r} must be non-empty text without")
    assert got[1][2].startswith(f"host name {'r1' + raw!r} must be non-empty text without")


# ---------------------------------------------------------------- the render fence

BAD_CHARS = ["\n", "\r", "\x00", "\x1b", "\t", "\x7f", "\x85", "\u2028", "\x9b"]
LB = Loopback("Loopback0", (ipaddress.ip_interface("10.0.0.1/32"),), description="rid")


def ios(**kw: object) -> Host:
    fields: dict[str, object] = {"name": "r1", "platform": "cisco_ios", "loopbacks": (LB,)}
    fields.update(kw)
    return Host(**fields)  # type: ignore[arg-type]


def linux(**kw: object) -> Host:
    lo = Loopback("lo", (ipaddress.ip_interface("198.18.0.1/32"),))
    fields: dict[str, object] = {"name": "web1", "platform": "linux", "loopbacks": (lo,)}
    fields.update(kw)
    return Host(**fields)  # type: ignore[arg-type]


def user_templates(tmp: Path) -> str:
    """Templates that print every field a template can reach."""
    (tmp / "cisco_ios").mkdir()
    (tmp / "cisco_ios" / "loopbacks.j2").write_text(
        "! {{ host }} {{ hostname }} {{ router_id }}\n"
        "{% for lb in loopbacks %}interface {{ lb.name }}\n"
        " description {{ lb.description }}\n"
        "{% for a in lb.addresses %} ! {{ a }}\n{% endfor %}{% endfor %}"
        "! {{ data.netplan_dir }} {{ data.site }}\n"
    )
    return str(tmp)


@pytest.mark.parametrize("char", BAD_CHARS, ids=[repr(c) for c in BAD_CHARS])
@pytest.mark.parametrize(
    ("field", "make"),
    [
        ("host name", lambda c: linux(name=f"web1{c}")),
        ("loopback name", lambda c: ios(loopbacks=(Loopback(f"Loopback0{c}"),))),
        ("description", lambda c: ios(loopbacks=(Loopback("Loopback0", description=f"x{c}y"),))),
    ],
)
def test_shipped_templates_refuse_what_validation_would(
    field: str, make: Callable[[str], Host], char: str
) -> None:
    with pytest.raises(TemplateError, match=r"refusing to render .* control character"):
        render.render_host(render.environment(), make(char))


@pytest.mark.parametrize("char", BAD_CHARS, ids=[repr(c) for c in BAD_CHARS])
@pytest.mark.parametrize(
    ("field", "kw"),
    [
        ("host name", {"name": "r1{c}"}),
        ("hostname", {"hostname": "198.18.0.1{c}"}),
        ("netplan_dir", {"data": {"netplan_dir": "/etc/netplan{c}"}}),
        ("other data", {"data": {"site": "lab{c}", "netplan_dir": "/etc/netplan"}}),
        ("loopback name", {"loopbacks": (Loopback("Loopback0{c}"),)}),
        ("description", {"loopbacks": (Loopback("Loopback0", description="{c}"),)}),
    ],
)
def test_every_field_a_template_can_reach_is_fenced(
    tmp_path: Path, field: str, kw: dict[str, object], char: str
) -> None:
    def fill(v: object) -> object:
        if isinstance(v, str):
            return v.replace("{c}", char)
        if isinstance(v, dict):
            return {k: fill(x) for k, x in v.items()}
        if isinstance(v, tuple):
            return tuple(
                Loopback(fill(lb.name), description=fill(lb.description))
                if isinstance(lb, Loopback)
                else lb  # type: ignore[arg-type]
                for lb in v
            )
        return v

    args = {k: fill(v) for k, v in kw.items()}
    args.setdefault("data", {"netplan_dir": "/etc/netplan", "site": "lab"})
    args.setdefault("hostname", "198.18.0.1")
    host = ios(**args)
    env = render.environment(user_templates(tmp_path))
    with pytest.raises(TemplateError) as info:
        render.render_host(env, host)
    message = str(info.value)
    assert "cisco_ios/loopbacks.j2:" in message and "refusing to render" in message
    assert "\n" not in message and "\r" not in message and "\x1b" not in message


def test_the_same_host_renders_when_clean(tmp_path: Path) -> None:
    host = ios(hostname="198.18.0.1", data={"netplan_dir": "/etc/netplan", "site": "lab"})
    text = render.render_host(render.environment(user_templates(tmp_path)), host)["config"]
    assert text.startswith("! r1 198.18.0.1 10.0.0.1\ninterface Loopback0\n description rid\n")


def test_fence_message_names_file_line_and_host() -> None:
    host = ios(loopbacks=(Loopback("Loopback0", description="ok\nno router ospf 1"),))
    with pytest.raises(TemplateError) as info:
        render.render_host(render.environment(), host)
    shipped = render.shipped_templates()["cisco_ios"] / "loopbacks.j2"
    assert str(info.value).startswith(f"{shipped}:7: refusing to render 'ok\\nno router ospf 1'")
    assert str(info.value).endswith("(host r1)")


def test_fence_and_validation_use_the_same_characters() -> None:
    for c in BAD_CHARS:
        assert CONTROL.search(c)
    for c in " -_./:!?#\"'`$;|&<>(){}[]~éüß":
        assert not CONTROL.search(c)
