"""Validation rules beyond the corpus: fleet-wide clashes, YAML safety and speed, marks."""

from __future__ import annotations

import datetime
import time
from pathlib import Path

import pytest

from loopbackctl import inventory
from loopbackctl.cli import main
from loopbackctl.errors import Diagnostic, InventoryError
from loopbackctl.inventory import yamlsrc

ROOT = Path(__file__).resolve().parent.parent


def write(tmp: Path, **files: str) -> Path:
    for name, text in files.items():
        (tmp / name).write_text(text, encoding="utf-8")
    return tmp


def errors_of(location: Path) -> list[Diagnostic]:
    with pytest.raises(InventoryError) as info:
        inventory.load(str(location))
    return [d for d in info.value.diagnostics if d.severity == "error"]


def where(d: Diagnostic) -> tuple[str, int, int]:
    return Path(d.mark.file).name, d.mark.line, d.mark.col


# ---------------------------------------------------------------- fleet-wide rules


def test_same_address_on_two_devices_names_both_hosts_and_lines(tmp_path: Path) -> None:
    inv = write(
        tmp_path,
        **{
            "hosts.yaml": (
                "r1:\n"
                "  platform: cisco_ios\n"
                "  data:\n"
                "    loopbacks:\n"
                "      - name: Loopback0\n"
                "        addresses: [10.255.0.1/32]\n"
                "r2:\n"
                "  platform: cisco_ios\n"
                "  data:\n"
                "    loopbacks:\n"
                "      - name: Loopback5\n"
                "        addresses: [10.255.0.2/32, 10.255.0.1/32]\n"
            )
        },
    )
    (err,) = errors_of(inv)
    assert where(err) == ("hosts.yaml", 12, 36)  # the second copy
    assert err.host == "r2"
    assert "address 10.255.0.1 is also on host r1" in err.message
    assert f"({inv / 'hosts.yaml'}:6:21, Loopback0)" in err.message  # the first copy
    assert "anycast: true" in err.message  # how to fix it


def test_anycast_addresses_may_repeat_but_only_when_every_copy_says_so(tmp_path: Path) -> None:
    host = (
        "{n}:\n  platform: linux\n  data:\n    loopbacks:\n      - name: lo\n"
        "        addresses: [198.18.250.1/32]\n{extra}"
    )
    anycast = "        anycast: true\n"
    write(
        tmp_path,
        **{"hosts.yaml": host.format(n="a", extra=anycast) + host.format(n="b", extra=anycast)},
    )
    inventory.load(str(tmp_path))
    write(
        tmp_path, **{"hosts.yaml": host.format(n="a", extra=anycast) + host.format(n="b", extra="")}
    )
    (err,) = errors_of(tmp_path)
    assert err.host == "b" and "also on host a" in err.message


@pytest.mark.parametrize(
    ("first", "second", "message"),
    [
        ("10.255.0.0/24", "10.255.0.77/32", "10.255.0.77/32 on Loopback1 overlaps 10.255.0.0/24"),
        ("10.255.0.1/24", "10.255.0.2/25", "10.255.0.2/25 on Loopback1 overlaps 10.255.0.1/24"),
        (
            "2001:db8::1/64",
            "2001:db8::9/128",
            "2001:db8::9/128 on Loopback1 overlaps 2001:db8::1/64",
        ),
        ("10.255.0.1/32", "10.255.0.1/32", "10.255.0.1 is also on Loopback0 of this host"),
    ],
)
def test_overlapping_prefixes_on_one_device(
    tmp_path: Path, first: str, second: str, message: str
) -> None:
    if first == "10.255.0.0/24":
        first = "10.255.0.5/24"
        message = message.replace("10.255.0.0/24", "10.255.0.5/24")
    write(
        tmp_path,
        **{
            "hosts.yaml": (
                "r1:\n"
                "  platform: cisco_ios\n"
                "  data:\n"
                "    allow_subnet_loopbacks: true\n"
                "    loopbacks:\n"
                "      - name: Loopback0\n"
                f'        addresses: ["{first}"]\n'
                "      - name: Loopback1\n"
                f'        addresses: ["{second}"]\n'
            )
        },
    )
    (err,) = errors_of(tmp_path)
    assert where(err) == ("hosts.yaml", 9, 21)
    assert message in err.message
    assert ":7:21)" in err.message  # the other one
    assert err.host == "r1" and err.key == "data.loopbacks"


def test_disjoint_prefixes_and_other_devices_do_not_overlap(tmp_path: Path) -> None:
    lb = '      - name: Loopback{i}\n        addresses: ["{a}"]\n'
    body = "".join(
        lb.format(i=i, a=a)
        for i, a in enumerate(
            [
                "10.255.0.1/25",
                "10.255.0.129/25",
                "10.255.1.1/32",
                "2001:db8::1/64",
                "2001:db8:1::1/64",
            ]
        )
    )
    head = "  platform: cisco_ios\n  data:\n    allow_subnet_loopbacks: true\n    loopbacks:\n"
    text = f"r1:\n{head}{body}"
    text += (
        "r2:\n  platform: cisco_ios\n  data:\n    allow_subnet_loopbacks: true\n    loopbacks:\n"
    )
    text += lb.format(i=0, a="10.255.0.2/24")  # overlaps r1's subnets, but on another device
    write(tmp_path, **{"hosts.yaml": text})
    inv, _ = inventory.load(str(tmp_path))
    assert len(inv.hosts["r1"].loopbacks) == 5


def test_predicted_router_id_shared_by_two_devices(tmp_path: Path) -> None:
    write(
        tmp_path,
        **{
            "hosts.yaml": (
                "r1:\n"
                "  platform: cisco_ios\n"
                "  data:\n"
                "    loopbacks:\n"
                "      - {name: Loopback0, addresses: [10.255.0.1/32]}\n"
                "      - {name: Loopback1, addresses: [10.255.200.1/32], anycast: true}\n"
                "r2:\n"
                "  platform: cisco_ios\n"
                "  data:\n"
                "    loopbacks:\n"
                "      - {name: Loopback0, addresses: [10.255.0.2/32]}\n"
                "      - {name: Loopback1, addresses: [10.255.200.1/32], anycast: true}\n"
                "r3:\n"  # explicit router_id: the anycast address is not its router-id
                "  platform: cisco_ios\n"
                "  data:\n"
                "    router_id: 10.255.0.3\n"
                "    loopbacks:\n"
                "      - {name: Loopback0, addresses: [10.255.0.3/32]}\n"
                "      - {name: Loopback1, addresses: [10.255.200.1/32], anycast: true}\n"
            )
        },
    )
    (err,) = errors_of(tmp_path)
    assert where(err) == ("hosts.yaml", 12, 39)  # r2's highest IPv4, which becomes its id
    assert err.host == "r2" and err.key == "data.router_id"
    assert "router-id 10.255.200.1 (predicted: highest loopback IPv4)" in err.message
    assert "is also the router-id of r1" in err.message and ":6:39)" in err.message
    assert "set data.router_id" in err.message


def test_explicit_router_id_clash_and_linux_hosts_ignored(tmp_path: Path) -> None:
    write(
        tmp_path,
        **{
            "hosts.yaml": (
                "r1: {platform: cisco_ios, data: {router_id: 10.0.0.1}}\n"
                "r2: {platform: cisco_ios, data: {router_id: 10.0.0.1}}\n"
                "w1: {platform: linux, data: {loopbacks: [{name: lo, addresses: [10.9.9.1/32]}]}}\n"
                "w2: {platform: linux, data: {loopbacks: [{name: lo, addresses: [10.9.9.2/32]}]}}\n"
            )
        },
    )
    (err,) = errors_of(tmp_path)
    assert err.host == "r2" and "router-id 10.0.0.1 (set)" in err.message
    assert where(err) == ("hosts.yaml", 2, 45)


def _fleet(tmp: Path, n: int) -> Path:
    lines = [
        f"h{i}: {{platform: cisco_ios, data: {{loopbacks: [{{name: Loopback0,"
        f" addresses: [10.{i // 65536}.{i // 256 % 256}.{i % 256}/32]}}]}}}}"
        for i in range(n)
    ]
    lines.append(
        "dup: {platform: cisco_ios, data: {loopbacks: [{name: Loopback0,"
        " addresses: [10.0.0.7/32]}]}}"
    )
    tmp.mkdir()
    return write(tmp, **{"hosts.yaml": "\n".join(lines) + "\n"})


def test_fleet_checks_are_not_quadratic(tmp_path: Path) -> None:
    # Pairwise over the fleet, four times the hosts would cost sixteen times the CPU;
    # linear checks cost about four times. CPU time, not wall time: a loaded machine
    # slows both runs alike.
    cost = {}
    for n in (2000, 8000):
        where = _fleet(tmp_path / str(n), n)
        start = time.process_time()
        errs = errors_of(where)
        cost[n] = time.process_time() - start
        assert {e.host for e in errs} == {"dup"}  # the address, and so the router-id, clash
    assert cost[8000] < 8 * cost[2000], cost


# ---------------------------------------------------------------- YAML safety and speed


def test_alias_bomb_is_refused_fast_without_expanding(tmp_path: Path) -> None:
    levels = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    levels += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 40)]
    write(
        tmp_path, **{"hosts.yaml": "\n".join(levels) + "\nr1: {platform: linux, data: {x: *l39}}\n"}
    )
    start = time.perf_counter()
    (err,) = errors_of(tmp_path)
    # A generous bound, not a speed target: expanding 10**40 values would never finish.
    assert time.perf_counter() - start < 5.0
    assert "alias bomb" in err.message
    assert where(err)[1] == 5  # l4: the first level past the limit


def test_aliases_and_merge_keys_that_are_fine_still_work(tmp_path: Path) -> None:
    write(
        tmp_path,
        **{
            "hosts.yaml": (
                "base: &ios\n"
                "  platform: cisco_ios\n"
                "  port: 22\n"
                "r1:\n"
                "  <<: *ios\n"
                "  port: 2222\n"
                "  data:\n"
                "    loopbacks: &lbs\n"
                "      - {name: Loopback0, addresses: [10.255.0.1/32]}\n"
                "r2:\n"
                "  port: 2223\n"
                "  <<: *ios\n"
                "  data: {loopbacks: [{name: Loopback0, addresses: [10.255.0.2/32]}]}\n"
            )
        },
    )
    inv, _ = inventory.load(str(tmp_path))
    assert inv.hosts["r1"].port == 2222 and inv.hosts["r2"].port == 2223
    assert inv.hosts["r1"].platform == inv.hosts["r2"].platform == "cisco_ios"


def test_deep_nesting_is_refused_without_crashing(tmp_path: Path) -> None:
    depth = 200_000  # deep enough to overflow a recursive composer's C stack
    write(
        tmp_path,
        **{
            "hosts.yaml": "r1:\n  platform: linux\n  data: {x: " + "[" * depth + "]" * depth + "}\n"
        },
    )
    (err,) = errors_of(tmp_path)
    # PyYAML >= 6.0.4 refuses deep flow nesting itself; older ones reach our own limit.
    assert "nest" in err.message and where(err)[1] == 3


def test_object_constructing_tags_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    write(
        tmp_path,
        **{
            "hosts.yaml": (
                f"r1:\n  platform: linux\n  hostname: !!python/object/apply:os.system"
                f' ["touch {marker}"]\n'
            )
        },
    )
    (err,) = errors_of(tmp_path)
    assert "is not allowed" in err.message and where(err) == ("hosts.yaml", 3, 13)
    assert not marker.exists()


def test_every_line_break_variant_in_a_value_is_escaped_in_the_message(tmp_path: Path) -> None:
    write(
        tmp_path,
        **{
            "hosts.yaml": (
                "r1:\n  platform: linux\n  data:\n    loopbacks:\n      - name: lo\n"
                '        addresses: ["10.0.0.1\\u2028/32", "\\e[31m"]\n'
            )
        },
    )
    errs = errors_of(tmp_path)
    assert len(errs) == 2
    for e in errs:
        assert "\u2028" not in str(e) and "\x1b" not in str(e)
        assert "\\u2028" in str(e) or "\\x1b" in str(e)


def test_yamlsrc_marks_point_at_values_and_keys() -> None:
    diags: list[Diagnostic] = []
    doc = yamlsrc.load("f.yaml", b"a:\n  b: [1, {c: x}]\n  'd': |\n    text\n", diags)
    assert doc is not None and not diags
    assert doc.data == {"a": {"b": [1, {"c": "x"}], "d": "text\n"}}
    value, key = doc.mark(("a", "b", 1, "c")), doc.mark(("a", "b", 1, "c"), key=True)
    assert (value.line, value.col, key.line, key.col) == (2, 14, 2, 11)
    assert (doc.mark(("a", "d"), key=True).col, doc.mark(("a", "d")).col) == (3, 8)
    assert doc.mark(("a", "missing", 7)).line == 2  # the nearest ancestor written


def test_scalars_are_read_as_yaml_1_2_like_nornir() -> None:
    diags: list[Diagnostic] = []
    text = b"a: yes\nb: 0x10\nc: 1.5\nd: ~\ne: 2001-02-03\nf: '5'\ng: 010\nh: 1:30\n"
    doc = yamlsrc.load("f.yaml", text, diags)
    assert doc is not None and not diags
    assert doc.data == {
        "a": "yes",
        "b": 16,
        "c": 1.5,
        "d": None,
        "e": datetime.date(2001, 2, 3),
        "f": "5",
        "g": 10,
        "h": "1:30",
    }
    # What YAML 1.1 (PyYAML, Ansible) would have read where it differs.
    assert doc.yaml11 == {("a",): True, ("g",): 8, ("h",): 90}


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "hosts.yaml").write_bytes(b"\xef\xbb\xbfr1:\n  platform: linux\n")
    inv, _ = inventory.load(str(tmp_path))
    assert list(inv.hosts) == ["r1"]


# ---------------------------------------------------------------- command line


def test_warnings_keep_exit_0_and_go_to_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, **{"hosts.yaml": "r1:\n  platform: cisco_ios\n  password: hunter2\n"})
    assert main(["validate", "-i", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert err == (
        f"{tmp_path}/hosts.yaml:3:13: warning: plaintext password in the inventory; remove it"
        " and set LOOPBACKCTL_PASSWORD or use an SSH key (host r1, key password)\n"
    )
    assert "hunter2" not in out + err
    assert "1 host(s)" in out


def test_the_shipped_example_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "-i", str(ROOT / "inventory")]) == 0
    out, err = capsys.readouterr()
    assert err == "" and "4 host(s), 2 group(s): no errors" in out


def test_single_file_and_directory_layouts_load_the_same(tmp_path: Path) -> None:
    parts = []
    for key in ("hosts", "groups", "defaults"):
        text = (ROOT / "inventory" / f"{key}.yaml").read_text(encoding="utf-8")
        parts.append(
            f"{key}:\n" + "".join(f"  {line}\n" if line else "\n" for line in text.splitlines())
        )
    single = tmp_path / "inventory.yaml"
    single.write_text("".join(parts), encoding="utf-8")
    a, _ = inventory.load(str(ROOT / "inventory"))
    b, _ = inventory.load(str(single))
    assert a.hosts == b.hosts and a.group_members == b.group_members


def test_missing_inventory_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "-i", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'nope'}:1:1: error: no such inventory file or directory" in err


def test_unreadable_file_is_an_error_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "hosts.yaml").mkdir()  # exists, but cannot be read as a file
    assert main(["validate", "-i", str(tmp_path)]) == 2
    assert "cannot read the file" in capsys.readouterr().err


@pytest.mark.parametrize(
    "text",
    [
        "10.0.0.1/32",
        "198.18.0.1",
        "1.2.3",
        "1.2",
        "1e3",
        "1.0e+3",
        "0x1F",
        "0o17",
        "017",
        "1_000",
        "1:20",
        "+1",
        "-1.5",
        ".inf",
        "-.Inf",
        ".nan",
        "..",
        "1/2",
        "yes",
        "No",
        "on",
        "OFF",
        "true",
        "~",
        "null",
        "Null",
        "<<x",
        "2001:db8::1",
        "+",
        "0",
        "Loopback0",
        "lo",
        "0.0.0.0",
        "2001-02-03t04:05:06Z",
    ],
)
def test_plain_scalars_resolve_like_nornirs_loader(text: str) -> None:
    """The composer (fast path and general path) agrees with ruamel.yaml's safe loader,
    which Nornir's SimpleInventory reads with (YAML 1.2)."""
    import ruamel.yaml

    diags: list[Diagnostic] = []
    doc = yamlsrc.load("f.yaml", f"a: {text}\nb: [{text}]\n".encode(), diags)
    assert doc is not None and not diags, diags
    want = ruamel.yaml.YAML(typ="safe").load(f"a: {text}\n")["a"]
    got = doc.data["a"]
    if isinstance(want, float) and want != want:  # nan
        assert got != got
    else:
        assert (type(got), got) == (type(want), want)
        assert doc.data["b"] == [want]


def test_secrets_are_never_printed(capsys: pytest.CaptureFixture[str]) -> None:
    case = Path(__file__).parent / "data" / "bad" / "secrets_never_printed"
    assert main(["validate", "-i", str(case)]) == 2
    out, err = capsys.readouterr()
    for secret in ("123456", "hunter", "98765"):
        assert secret in (case / "hosts.yaml").read_text()
        assert secret not in out + err
