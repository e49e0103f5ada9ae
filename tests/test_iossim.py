"""The IOS simulator prints what real IOS prints and behaves like IOS through netmiko.

Two halves: (1) formats: every show command the simulator implements is parsed with
ntc-templates and compared with the real IOS samples in tests/data/ios-samples (same
parsed keys, same line layout for a Loopback interface); (2) netmiko ``cisco_ios`` end to
end against a running bed: enable, configuration push, show + TextFSM, save, refusals,
injected faults, session cuts, and the 50-device start-up figures.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest
from netmiko import ConnectHandler
from netmiko.base_connection import BaseConnection
from netmiko.exceptions import ConfigInvalidException, ReadTimeout
from ntc_templates.parse import parse_output
from textfsm import TextFSMError

from loopbackctl.lab.iossim.core import IosRouterCore, RouterSpec, make_router
from tests.iossim import DeviceSpec, IosSimBed, SimDevice

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "tests" / "data" / "ios-samples" / "ntc-templates" / "cisco_ios"

LOOPBACK_STARTUP = [
    "interface Loopback0",
    " description Loopback Interface",
    " ip address 192.20.0.144 255.255.255.255",
    " ip address 192.20.0.145 255.255.255.255 secondary",
    " ipv6 address 2001:db8::144/128",
    "interface Loopback7",
    " ip address 198.18.7.1 255.255.255.255",
    " shutdown",
]


# --------------------------------------------------------------------------- helpers


def parse(command: str, text: str) -> list[dict[str, Any]]:
    """ntc-templates parse for IOS."""
    records: list[dict[str, Any]] = parse_output(platform="cisco_ios", command=command, data=text)
    return records


def raw_samples(folder: str) -> list[str]:
    """Every real IOS raw output of one command."""
    paths = sorted((SAMPLES / folder).glob("*.raw"))
    assert paths, f"no samples in {SAMPLES / folder}"
    return [p.read_text() for p in paths]


def real_keys(folder: str, command: str) -> set[str]:
    """Keys ntc-templates produces for the real samples (all records, all files)."""
    keys: set[str] = set()
    for text in raw_samples(folder):
        for record in parse(command, text):
            keys |= set(record)
    assert keys
    return keys


def shape(line: str) -> str:
    """A line with addresses, numbers, names and free text replaced by placeholders."""
    line = re.sub(r"Description: .*", "Description: <text>", line)
    line = re.sub(r"^( description ).*", r"\1<text>", line)
    line = re.sub(r"[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}", "<mac>", line)
    line = re.sub(r"[0-9A-Fa-f]*:[0-9A-Fa-f:]*:[0-9A-Fa-f]*", "<v6>", line)
    line = re.sub(r"\d+\.\d+\.\d+\.\d+", "<ip>", line)
    line = re.sub(r"^(interface )\S+", r"\1<if>", line)
    line = re.sub(r"^(Loopback|GigabitEthernet|TenGigabitEthernet|Ethernet)[\d/.]+", "<if>", line)
    return re.sub(r"\d+", "<n>", line)


def block(text: str, first: str) -> list[str]:
    """Lines from the one matching regex ``first`` to the next unindented line."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(first, line))
    end = start + 1
    while end < len(lines) and lines[end][:1] in (" ", ""):
        if not lines[end]:
            break
        end += 1
    return lines[start:end]


@pytest.fixture(scope="module")
def router() -> IosRouterCore:
    """An in-process router (no SSH) with two loopbacks loaded from startup config."""
    return make_router(
        RouterSpec(
            name="r1", secret="enable", users={"admin": "admin"}, startup_config=LOOPBACK_STARTUP
        )
    )


# ------------------------------------------------------------ formats vs real IOS


def test_show_ip_interface_parses_like_real_ios(router: IosRouterCore) -> None:
    out = router.run("show ip interface")
    records = {r["interface"]: r for r in parse("show ip interface", out)}
    assert list(records) == ["GigabitEthernet0/0", "GigabitEthernet0/1", "Loopback0", "Loopback7"]
    lo0 = records["Loopback0"]
    assert lo0["ip_address"] == ["192.20.0.144", "192.20.0.145"]
    assert lo0["prefix_length"] == ["32", "32"]
    assert (lo0["link_status"], lo0["protocol_status"], lo0["mtu"]) == ("up", "up", "1514")
    assert records["Loopback7"]["link_status"] == "administratively down"
    assert records["GigabitEthernet0/0"]["ip_address"] == ["10.1.0.1"]
    assert records["GigabitEthernet0/0"]["prefix_length"] == ["24"]
    assert records["GigabitEthernet0/1"]["ip_address"] == []
    assert set(lo0) == real_keys("show_ip_interface", "show ip interface")
    single = parse("show ip interface Loopback7", router.run("show ip interface Loopback7"))
    assert [r["interface"] for r in single] == ["Loopback7"]
    assert single[0]["ip_address"] == ["198.18.7.1"]


def test_show_ip_interface_loopback_layout_is_real(router: IosRouterCore) -> None:
    real = block(
        (SAMPLES / "show_ip_interface/cisco_ios_show_ip_interface.raw").read_text(), r"Loopback0 is"
    )
    sim = block(router.run("show ip interface Loopback7"), r"Loopback7 is")
    # Loopback7 is shut down: only its status words differ from the real (up) block.
    sim = [
        s.replace("administratively down", "up")
        .replace("is down", "is up")
        .replace("state is DOWN", "state is UP")
        for s in sim
    ]
    sim = [s.replace("setup command", "non-volatile memory") for s in sim]
    assert [shape(s) for s in sim] == [shape(r) for r in real]
    # A secondary address sits right after "Directed broadcast", as in the real sample.
    real2 = (SAMPLES / "show_ip_interface/cisco_ios_show_ip_interface2.raw").read_text()
    lines2 = real2.splitlines()
    i = next(i for i, line in enumerate(lines2) if line.startswith("  Secondary address"))
    assert lines2[i - 1] == "  Directed broadcast forwarding is disabled"
    sim0 = block(router.run("show ip interface Loopback0"), r"Loopback0 is")
    j = next(i for i, line in enumerate(sim0) if line.startswith("  Secondary address"))
    assert sim0[j - 1] == "  Directed broadcast forwarding is disabled"
    assert shape(sim0[j]) == shape(lines2[i]).replace("<n>", "<n>")


def test_show_ip_interface_brief_parses_like_real_ios(router: IosRouterCore) -> None:
    out = router.run("show ip interface brief")
    records = parse("show ip interface brief", out)
    assert records == [
        {
            "interface": "GigabitEthernet0/0",
            "ip_address": "10.1.0.1",
            "status": "up",
            "proto": "up",
        },
        {
            "interface": "GigabitEthernet0/1",
            "ip_address": "unassigned",
            "status": "administratively down",
            "proto": "down",
        },
        {"interface": "Loopback0", "ip_address": "192.20.0.144", "status": "up", "proto": "up"},
        {
            "interface": "Loopback7",
            "ip_address": "198.18.7.1",
            "status": "administratively down",
            "proto": "down",
        },
    ]
    assert set(records[0]) == real_keys("show_ip_interface_brief", "show ip interface brief")
    # Same header and same column starts as the real sample.
    real = raw_samples("show_ip_interface_brief")[0].splitlines()
    sim = out.splitlines()
    assert sim[0] == real[0]
    header = real[0]
    columns = [header.index(h) for h in ("IP-Address", "OK?", "Method", "Status", "Protocol")]

    def starts(row: str) -> list[int]:
        return [i for i in range(1, len(row)) if row[i] != " " and row[i - 1] == " "]

    for row in real[1:] + sim[1:]:
        expected = set(columns)
        if "administratively down" in row:
            expected.add(columns[3] + len("administratively "))
        assert set(starts(row)) == expected, row


def test_show_ipv6_interface_brief_parses_like_real_ios(router: IosRouterCore) -> None:
    out = router.run("show ipv6 interface brief")
    records = {r["interface"]: r for r in parse("show ipv6 interface brief", out)}
    lo0 = records["Loopback0"]
    assert lo0["ipv6_address"][0].startswith("FE80::")
    assert lo0["ipv6_address"][1:] == ["2001:DB8::144"]
    assert (lo0["admin"], lo0["protocol"]) == ("up", "up")
    assert records["Loopback7"]["ipv6_address"] == ["unassigned"]
    assert records["Loopback7"]["admin"] == "administratively down"
    assert set(lo0) == real_keys("show_ipv6_interface_brief", "show ipv6 interface brief")
    real = raw_samples("show_ipv6_interface_brief")[0]
    assert [shape(s) for s in block(out, "Loopback0 ")] == [
        shape(r) for r in block(real, "Loopback0 ")
    ]
    assert out.splitlines()[0].index("[") == real.splitlines()[0].index("[")


def test_show_interfaces_parses_like_real_ios(router: IosRouterCore) -> None:
    out = router.run("show interfaces Loopback0")
    (record,) = parse("show interfaces Loopback0", out)
    assert record["interface"] == "Loopback0"
    assert record["description"] == "Loopback Interface"
    assert (record["ip_address"], record["prefix_length"]) == ("192.20.0.144", "32")
    assert (record["hardware_type"], record["encapsulation"]) == ("Loopback", "LOOPBACK")
    assert (record["link_status"], record["protocol_status"]) == ("up", "up")
    keys = real_keys("show_interfaces", "show interfaces")
    assert set(record) == keys
    every = parse("show interfaces", router.run("show interfaces"))
    assert [r["interface"] for r in every] == [
        "GigabitEthernet0/0",
        "GigabitEthernet0/1",
        "Loopback0",
        "Loopback7",
    ]
    assert every[0]["ip_address"] == "10.1.0.1"
    assert every[0]["mac_address"] == every[0]["bia"] != ""
    assert all(set(r) == keys for r in every)
    # Line for line the layout of the real Loopback0 (trailing blanks included).
    real = block(
        (SAMPLES / "show_interfaces/cisco_ios_show_interfaces3.raw").read_text(), r"Loopback0 is"
    )
    assert [shape(s) for s in block(out, r"Loopback0 is")] == [shape(r) for r in real]


def test_show_running_config_interface_like_real_ios(router: IosRouterCore) -> None:
    out = router.run("show running-config interface Loopback0")
    lines = out.splitlines()
    assert lines[:2] == ["Building configuration...", ""]
    assert re.fullmatch(r"Current configuration : \d+ bytes", lines[2])
    assert lines[3:] == [
        "!",
        "interface Loopback0",
        " description Loopback Interface",
        " ip address 192.20.0.145 255.255.255.255 secondary",
        " ip address 192.20.0.144 255.255.255.255",
        " ipv6 address 2001:DB8::144/128",
        "end",
        "",
    ]
    # Real IOS ends with "end", which ntc-templates rejects; so does the simulator's.
    with pytest.raises(TextFSMError):
        parse("show running-config interface Loopback0", out)
    (record,) = parse("show running-config interface Loopback0", out.replace("\nend\n", "\n!\n"))
    assert record["interface"] == "Loopback0"
    assert record["description"] == "Loopback Interface"
    assert (record["ip_address"], record["netmask"]) == ("192.20.0.144", "255.255.255.255")
    assert (record["ipv6_address"], record["prefixv6_length"]) == ("2001:DB8::144", "128")
    folder = "show_running-config_interface"
    assert set(record) == real_keys(folder, "show running-config interface")
    real = raw_samples(folder)[0].splitlines()
    assert [shape(s) for s in lines[:4]] == [shape(r) for r in real[:4]]
    real_shapes = {shape(r) for r in real}
    for line in (lines[4], lines[5], lines[7], lines[8]):
        assert shape(line) in real_shapes, line


def test_running_config_section_filter(router: IosRouterCore) -> None:
    out = router.run("show running-config | section interface Loopback")
    assert out.splitlines() == [
        "interface Loopback0",
        " description Loopback Interface",
        " ip address 192.20.0.145 255.255.255.255 secondary",
        " ip address 192.20.0.144 255.255.255.255",
        " ipv6 address 2001:DB8::144/128",
        "interface Loopback7",
        " ip address 198.18.7.1 255.255.255.255",
        " shutdown",
    ]


def test_invalid_show_targets_print_the_caret(router: IosRouterCore) -> None:
    out = router.run("show ip interface Loopback99")
    assert out.splitlines() == [
        " " * len("r1#show ip interface ") + "^",
        "% Invalid input detected at '^' marker.",
        "",
    ]
    assert "% Invalid input" in router.run("show running-config interface Loopback99")
    assert router.run("sh ip int br").startswith("Interface ")
    assert router.run("e").strip() == '% Ambiguous command:  "e"'


# ------------------------------------------------------------------- netmiko e2e


@pytest.fixture(scope="module")
def bed() -> Iterator[IosSimBed]:
    specs = [
        DeviceSpec(
            "r1", startup_config=["interface Loopback1", " ip address 10.0.0.1 255.255.255.255"]
        ),
        DeviceSpec("r2", username="ops", password="pw-2", secret="s3cret-2"),
    ]
    with IosSimBed(devices=specs) as running:
        yield running


@pytest.fixture
def r1(bed: IosSimBed) -> SimDevice:
    bed.reset("r1")
    return bed["r1"]


@pytest.fixture
def conn(r1: SimDevice) -> Iterator[BaseConnection]:
    connection = ConnectHandler(**r1.netmiko_params())
    connection.enable()
    yield connection
    with contextlib.suppress(Exception):
        connection.disconnect()


def records(conn: BaseConnection, command: str) -> list[dict[str, Any]]:
    """``send_command`` with TextFSM, failing when the output does not parse."""
    result = conn.send_command(command, use_textfsm=True, raise_parsing_error=True)
    assert isinstance(result, list)
    return result


def text(conn: BaseConnection, command: str) -> str:
    """``send_command`` returning text."""
    result = conn.send_command(command)
    assert isinstance(result, str)
    return result


def physical(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in state["interfaces"] if i["kind"] == "physical"]


def wait_for(condition: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())


def test_connection_fields_and_enable(bed: IosSimBed) -> None:
    r2 = bed["r2"]
    assert bed.lab is not None
    assert (r2.host, r2.port, r2.username, r2.password, r2.secret) == (
        bed.lab["r2"].ip4,
        22,
        "ops",
        "pw-2",
        "s3cret-2",
    )
    assert r2.host != bed["r1"].host  # each router on its own address, in its own netns
    assert bed.simulator.listening("r2") == [(bed.lab["r2"].ip4, 22), (bed.lab["r2"].ip6, 22)]
    connection = ConnectHandler(**r2.netmiko_params())
    try:
        assert connection.find_prompt() == "r2>"
        connection.enable()
        assert connection.find_prompt() == "r2#"
    finally:
        connection.disconnect()
    log = bed.state("r2")["command_log"]
    lines = [entry["line"] for entry in log]
    assert "terminal width 511" in lines and "terminal length 0" in lines
    assert "<secret>" in lines and "s3cret-2" not in json.dumps(log)


def test_wrong_secret_is_refused(bed: IosSimBed) -> None:
    r2 = bed["r2"]
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(
        r2.host,
        port=r2.port,
        username=r2.username,
        password=r2.password,
        look_for_keys=False,
        allow_agent=False,
    )
    try:
        shell = client.invoke_shell()
        text = ""

        def read_until(pattern: str) -> None:
            nonlocal text
            deadline = time.monotonic() + 5
            while not re.search(pattern, text) and time.monotonic() < deadline:
                if shell.recv_ready():
                    text += shell.recv(65536).decode()
                else:
                    time.sleep(0.02)
            assert re.search(pattern, text), text

        read_until(r"r2>$")
        shell.send(b"enable\n")
        for _ in range(3):
            read_until(r"Password: $")
            text = ""
            shell.send(b"wrong\n")
        read_until(r"r2>$")
        assert "% Bad secrets" in text
    finally:
        client.close()


def test_configure_loopback_and_show(bed: IosSimBed, conn: BaseConnection) -> None:
    before = physical(bed.state("r1"))
    out = conn.send_config_set(
        [
            "interface Loopback0",
            "description managed by loopbackctl",
            "ip address 198.18.0.1 255.255.255.255",
            "ip address 198.18.0.2 255.255.255.255 secondary",
            "ipv6 address 2001:db8::1/128",
        ]
    )
    assert "%" not in out and "Invalid" not in out
    assert conn.find_prompt() == "r1#"
    ip = records(conn, "show ip interface Loopback0")
    assert ip[0]["ip_address"] == ["198.18.0.1", "198.18.0.2"]
    assert ip[0]["prefix_length"] == ["32", "32"]
    brief = records(conn, "show ip interface brief")
    assert {
        "interface": "Loopback0",
        "ip_address": "198.18.0.1",
        "status": "up",
        "proto": "up",
    } in brief
    v6 = records(conn, "show ipv6 interface brief")
    lo0 = next(r for r in v6 if r["interface"] == "Loopback0")
    assert lo0["ipv6_address"][1:] == ["2001:DB8::1"]
    intf = records(conn, "show interfaces Loopback0")
    assert intf[0]["description"] == "managed by loopbackctl"
    every = records(conn, "show ip interface")
    assert [r["interface"] for r in every] == [
        "GigabitEthernet0/0",
        "GigabitEthernet0/1",
        "Loopback0",
        "Loopback1",
    ]
    run = text(conn, "show running-config interface Loopback0")
    assert run.splitlines()[-1] == "end"
    assert " ip address 198.18.0.2 255.255.255.255 secondary" in run.splitlines()
    state = bed.state("r1")
    lo = next(i for i in state["interfaces"] if i["name"] == "Loopback0")
    assert lo["description"] == "managed by loopbackctl"
    assert [(a["address"], a["secondary"]) for a in lo["ipv4"]] == [
        ("198.18.0.1", False),
        ("198.18.0.2", True),
    ]
    assert lo["ipv6"] == ["2001:DB8::1/128"]
    assert physical(state) == before
    assert not state["saved"]


def test_same_ip_twice_is_harmless(bed: IosSimBed, conn: BaseConnection) -> None:
    lines = [
        "interface Loopback3",
        "ip address 198.18.3.1 255.255.255.255",
        "ip address 198.18.3.2 255.255.255.255 secondary",
        "ipv6 address 2001:db8::3/128",
    ]
    conn.send_config_set(lines)
    first = bed.interface("r1", "Loopback3")
    out = conn.send_config_set(lines + lines[1:])
    assert "%" not in out
    assert bed.interface("r1", "Loopback3") == first
    assert text(conn, "show ip interface brief").count("Loopback3") == 1


def test_refusals_are_printed_like_ios(bed: IosSimBed, conn: BaseConnection) -> None:
    out = conn.send_config_set(
        [
            "interface Loopback0",
            "ip address 127.0.0.2 255.0.0.0",
            "ip address 10.0.0.1 255.255.255.255",
            "ip adress 198.18.0.1 255.255.255.255",
            "ip address",
            "ip address 172.16.2.78 255.255.255.255",
        ]
    )
    lines = out.splitlines()
    assert "Not a valid host address - 127.0.0.2" in lines
    assert "% 10.0.0.1 overlaps with Loopback1" in lines
    assert "% Incomplete command." in lines
    i = lines.index("% Invalid input detected at '^' marker.")
    echoed, caret = lines[i - 2], lines[i - 1]
    assert echoed.endswith("ip adress 198.18.0.1 255.255.255.255")
    assert caret.rstrip() == " " * echoed.index("adress") + "^"
    assert not any(line.startswith(("Bad mask", "%")) and "172.16.2.78" in line for line in lines)
    lo0 = bed.interface("r1", "Loopback0")
    assert lo0 is not None
    assert [a["address"] for a in lo0["ipv4"]] == ["172.16.2.78"]
    # /32 is refused on a physical port; the port is unchanged.
    out = bed.apply(
        "r1", ["interface GigabitEthernet0/1", "ip address 172.16.2.78 255.255.255.255"]
    )
    assert "Bad mask /32 for address 172.16.2.78" in out.splitlines()
    out = bed.apply(
        "r1",
        [
            "interface Loopback0",
            "ip address 198.18.0.1 255.0.255.0",
            "ip address 198.18.0.0 255.255.255.0",
            "ip address 224.0.0.5 255.255.255.255",
        ],
    )
    assert "Bad mask 0xFF00FF00 for address 198.18.0.1" in out.splitlines()
    assert "Bad mask /24 for address 198.18.0.0" in out.splitlines()
    assert "Not a valid host address - 224.0.0.5" in out.splitlines()
    assert bed.interface("r1", "GigabitEthernet0/1")["ipv4"] == []  # type: ignore[index]
    with pytest.raises(ConfigInvalidException):
        conn.send_config_set(
            ["interface Loopback0", "ip address 127.0.0.2 255.0.0.0"],
            error_pattern=r"(?m)^(%|Not a valid|Bad mask)",
        )


def test_removals_and_shutdown(bed: IosSimBed, conn: BaseConnection) -> None:
    conn.send_config_set(
        [
            "interface Loopback0",
            "description x",
            "ip address 198.18.0.1 255.255.255.255",
            "ip address 198.18.0.2 255.255.255.255 secondary",
            "ip address 198.18.0.3 255.255.255.255 secondary",
            "ipv6 address 2001:db8::1/128",
            "ipv6 address 2001:db8::2/128",
            "shutdown",
        ]
    )
    lo0 = bed.interface("r1", "Loopback0")
    assert lo0 is not None and lo0["shutdown"]
    out = conn.send_config_set(["interface Loopback0", "no ip address 198.18.0.1 255.255.255.255"])
    assert "% Must delete secondary before deleting primary" in out
    conn.send_config_set(
        [
            "interface Loopback0",
            "no ip address 198.18.0.2 255.255.255.255 secondary",
            "no ipv6 address 2001:db8::1/128",
            "no description",
            "no shutdown",
            "exit",
            "exit",
        ]
    )
    assert conn.find_prompt() == "r1#"
    lo0 = bed.interface("r1", "Loopback0")
    assert lo0 is not None
    assert [a["address"] for a in lo0["ipv4"]] == ["198.18.0.1", "198.18.0.3"]
    assert lo0["ipv6"] == ["2001:DB8::2/128"]
    assert (lo0["description"], lo0["shutdown"]) == (None, False)
    conn.send_config_set(["interface Loopback0", "no ip address"])
    assert bed.interface("r1", "Loopback0")["ipv4"] == []  # type: ignore[index]
    out = conn.send_config_set(["no interface Loopback0"])
    assert "%" not in out
    assert bed.interface("r1", "Loopback0") is None
    assert "Loopback0" not in conn.send_command("show ip interface brief")
    out = conn.send_config_set(["no interface GigabitEthernet0/0"])
    assert "% Invalid input detected at '^' marker." in out
    assert bed.interface("r1", "GigabitEthernet0/0") is not None


def test_global_command_in_interface_mode(bed: IosSimBed, conn: BaseConnection) -> None:
    conn.send_config_set(["interface Loopback0", "description old"])
    started = time.monotonic()
    out = conn.send_config_set(
        [
            "interface Loopback5",
            "description five",
            "no interface Loopback0",
            "interface Loopback6",
            "do show ip interface brief | include Loopback5",
            "description six",
        ]
    )
    assert time.monotonic() - started < 3
    lines = out.splitlines()
    # IOS leaves interface mode for a global command and prints the config prompt.
    assert "r1(config)#interface Loopback6" in lines
    i = lines.index("r1(config-if)#do show ip interface brief | include Loopback5")
    assert lines[i + 1].startswith("Loopback5 ")
    assert lines[i + 2] == "r1(config-if)#description six"
    assert bed.interface("r1", "Loopback0") is None
    assert bed.interface("r1", "Loopback5")["description"] == "five"  # type: ignore[index]
    assert bed.interface("r1", "Loopback6")["description"] == "six"  # type: ignore[index]


def test_loopback_numbers(bed: IosSimBed, conn: BaseConnection) -> None:
    out = conn.send_config_set(
        [
            "interface Loopback2147483647",
            "exit",
            "interface Loopback2147483648",
            "interface loopback 12",
            "end",
        ]
    )
    assert out.count("% Invalid input detected at '^' marker.") == 1
    names = [i["name"] for i in bed.state("r1")["interfaces"]]
    assert "Loopback2147483647" in names and "Loopback12" in names
    assert "Loopback2147483648" not in names


def test_save_config(bed: IosSimBed, conn: BaseConnection) -> None:
    conn.send_config_set(["interface Loopback4", "ip address 198.18.4.1 255.255.255.255"])
    assert not bed.state("r1")["saved"]
    out = conn.save_config()
    assert out.splitlines()[-2:] == ["[OK]", "r1#"]
    state = bed.state("r1")
    assert state["saved"] and state["save_count"] == 1
    assert "interface Loopback4" in state["startup_config"]
    out = conn.save_config(cmd="copy running-config startup-config", confirm=True)
    assert "Destination filename [startup-config]?" in out and "[OK]" in out
    assert bed.state("r1")["save_count"] == 2
    assert "interface Loopback4" in conn.send_command("show startup-config")


def test_injected_refusal_of_second_of_three(bed: IosSimBed, conn: BaseConnection) -> None:
    bed.add_fault("r1", match="ip address 198.18.0.2 255.255.255.255 secondary")
    out = conn.send_config_set(
        [
            "interface Loopback0",
            "ip address 198.18.0.1 255.255.255.255",
            "ip address 198.18.0.2 255.255.255.255 secondary",
            "ipv6 address 2001:db8::1/128",
        ]
    )
    lines = out.splitlines()
    i = lines.index("% Invalid input detected at '^' marker.")
    assert lines[i - 2].endswith("ip address 198.18.0.2 255.255.255.255 secondary")
    lo0 = bed.interface("r1", "Loopback0")
    assert lo0 is not None
    assert [a["address"] for a in lo0["ipv4"]] == ["198.18.0.1"]
    assert lo0["ipv6"] == ["2001:DB8::1/128"]
    (fault,) = bed.state("r1")["faults"]
    assert fault["fired"] == 1
    bed.clear_faults("r1")
    bed.add_fault("r1", regex=r"description .*", message="% Description refused")
    assert "% Description refused" in conn.send_config_set(
        ["interface Loopback0", "description nope"]
    )
    assert bed.interface("r1", "Loopback0")["description"] is None  # type: ignore[index]


def test_session_cut_at_config_line(bed: IosSimBed, r1: SimDevice) -> None:
    bed.add_fault("r1", action="cut", at_config_line=2)
    connection = ConnectHandler(**r1.netmiko_params())
    connection.enable()
    with pytest.raises((OSError, EOFError, ReadTimeout)):
        connection.send_config_set(
            ["interface Loopback0", "description first", "ip address 198.18.0.1 255.255.255.255"],
            read_timeout=2,
        )
    assert not connection.is_alive()
    connection.disconnect()
    lo0 = bed.interface("r1", "Loopback0")
    assert lo0 is not None and lo0["description"] is None and lo0["ipv4"] == []
    assert wait_for(lambda: bed.state("r1")["sessions_open"] == 0)
    again = ConnectHandler(**r1.netmiko_params())
    try:
        again.enable()
        assert "%" not in again.send_config_set(["interface Loopback0", "description second"])
    finally:
        again.disconnect()
    assert bed.interface("r1", "Loopback0")["description"] == "second"  # type: ignore[index]


def test_hang_and_drop(bed: IosSimBed, r1: SimDevice, conn: BaseConnection) -> None:
    bed.add_fault("r1", action="hang", match="show ip interface brief", times=1)
    with pytest.raises(ReadTimeout):
        conn.send_command("show ip interface brief", read_timeout=1.5)
    other = ConnectHandler(**r1.netmiko_params())
    try:
        assert "Loopback1" in other.send_command("show ip interface brief")
        assert bed.drop_sessions("r1") == 2
        with pytest.raises((OSError, EOFError, ReadTimeout)):
            other.send_command("show ip interface brief", read_timeout=3)
    finally:
        with contextlib.suppress(Exception):
            other.disconnect()


def test_abbreviations_and_command_log(bed: IosSimBed, conn: BaseConnection) -> None:
    conn.send_config_set(
        ["int lo 9", "ip add 198.18.9.1 255.255.255.255", "desc short form"],
        config_mode_command="conf t",
    )
    assert bed.interface("r1", "Loopback9")["description"] == "short form"  # type: ignore[index]
    assert "198.18.9.1" in conn.send_command("sh ip int br | i Loopback9")
    log = bed.state("r1")["command_log"]
    config_lines = [e["line"] for e in log if e["mode"].startswith("config") and e["line"]]
    assert config_lines[:3] == ["int lo 9", "ip add 198.18.9.1 255.255.255.255", "desc short form"]


# ------------------------------------------------------------ runner and beds


def test_kill_bed_drops_every_device() -> None:
    with IosSimBed(count=2) as small:
        device = small["r2"]
        connection = ConnectHandler(**device.netmiko_params())
        pid = small.pid
        small.kill()
        assert not small.alive
        with pytest.raises((OSError, EOFError, ReadTimeout)):
            connection.send_command("show ip interface brief", read_timeout=3)
        with pytest.raises(OSError):
            socket.create_connection((device.host, device.port), timeout=2).close()
    assert not Path(f"/proc/{pid}").exists()


@pytest.mark.parametrize(
    ("device", "refusal"),
    [
        ({"addresses": ["0.0.0.0"]}, "outside a namespace listens on 127.0.0.1 only"),
        ({"addresses": ["::1"]}, "outside a namespace listens on 127.0.0.1 only"),
        ({"netns": "x", "addresses": ["10.0.0.1"]}, "outside 198.18.0.0/15 and 2001:db8::/32"),
        ({"netns": "x", "addresses": ["::"]}, "outside 198.18.0.0/15 and 2001:db8::/32"),
        ({"netns": "../x", "addresses": ["198.19.0.1"]}, "bad namespace name"),
        ({"netns": "x"}, "addresses must be a list of strings"),
    ],
)
def test_runner_refuses_to_listen_anywhere_else(
    tmp_path: Path, device: dict[str, Any], refusal: str
) -> None:
    """Outside a namespace only 127.0.0.1; inside one only the lab's ranges."""
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"devices": [{"name": "r1", **device}]}))
    done = subprocess.run(
        [sys.executable, "-m", "loopbackctl.lab.iossim", "--spec", str(spec)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert refusal in done.stderr


def test_runner_stops_when_parent_is_gone(tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"devices": [{"name": "r1"}]}))
    # Parent PID 1 is not our PID: the runner must notice and stop by itself.
    done = subprocess.run(
        [sys.executable, "-m", "loopbackctl.lab.iossim", "--spec", str(spec), "--parent-pid", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0
    assert done.stdout.startswith("IOSSIM-READY ")


def listening_addresses(pid: int, netns: str | None = None) -> list[tuple[str, int]]:
    """(ip, port) of every IPv4/IPv6 listening socket the process holds, as seen from the
    network namespace `netns` (None: this process's)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if netns is None:
            text = Path(table).read_text()
        else:
            argv = ["ip", "netns", "exec", netns, "cat", table]
            text = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
        for row in text.splitlines()[1:]:
            fields = row.split()
            if fields[3] == "0A" and fields[9] in inodes:
                address, port = fields[1].split(":")
                family = socket.AF_INET if len(address) == 8 else socket.AF_INET6
                raw = b"".join(
                    bytes.fromhex(address[i : i + 8])[::-1] for i in range(0, len(address), 8)
                )
                found.append((socket.inet_ntop(family, raw), int(port, 16)))
    return found


def test_fifty_devices() -> None:
    """50 devices in one process: start time and memory (figures in the simulator's doc);
    each listens on its own addresses in its own namespace, nothing in this one."""
    started = time.monotonic()
    with IosSimBed(count=50) as fifty:
        ready = time.monotonic() - started
        rss = fifty.rss_bytes()
        devices = list(fifty)
        assert len(devices) == 50 and len({d.host for d in devices}) == 50
        assert fifty.lab is not None
        assert listening_addresses(fifty.pid) == []
        for name in ("r1", "r25", "r50"):
            node = fifty.lab[name]
            found = listening_addresses(fifty.pid, node.netns)
            assert sorted(found) == sorted([(node.ip4, 22), (node.ip6, 22)])
        for device in (devices[0], devices[-1]):
            connection = ConnectHandler(**device.netmiko_params())
            try:
                connection.enable()
                assert connection.find_prompt() == f"{device.name}#"
            finally:
                connection.disconnect()
    print(f"\n50 devices: ready in {ready:.2f} s, RSS {rss / 2**20:.1f} MiB")
    assert ready < 20
    assert rss < 300 * 2**20


def test_a_bed_whose_router_cannot_boot_fails_with_its_words_and_leaves_nothing() -> None:
    from loopbackctl.lab import netns, state
    from loopbackctl.lab.errors import LabError

    def mine() -> tuple[set[str], set[Path]]:
        spaces = set(netns.netns_names(re.compile(r"lb[0-9a-f]{6}i[0-9]+")))
        me = state.Owner.current()
        return spaces, {d for d in state.state_dirs(state.BASE_DIR) if state.Owner.read(d) == me}

    spaces, dirs = mine()
    bad = DeviceSpec(
        "r1", startup_config=["interface Loopback0", " ip address 127.0.0.2 255.0.0.0"]
    )
    with pytest.raises(LabError, match=r"startup configuration refused.*127\.0\.0\.2"):
        IosSimBed(devices=[bad]).start()
    spaces_after, dirs_after = mine()
    assert spaces_after <= spaces and dirs_after == dirs
