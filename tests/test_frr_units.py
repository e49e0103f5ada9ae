"""FRR without a router: recorded FRR 8.4 answers (tests/data/frr) read exactly or refused,
the remediation of `interface lo` (what is owned, what is kept), vtysh calls and refusals."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from pathlib import Path

import pytest

from loopbackctl import platforms, render
from loopbackctl.errors import DeviceError, ParseError
from loopbackctl.model import Host, Loopback
from loopbackctl.plan import plan_host
from loopbackctl.platforms.base import Observed
from loopbackctl.platforms.frr import parse
from loopbackctl.platforms.frr.driver import FrrDriver, _calls, vtysh
from loopbackctl.platforms.linux.revert import READ_PENDING
from loopbackctl.transport.credentials import Credentials
from loopbackctl.transport.framing import Result

DATA = Path(__file__).parent / "data" / "frr"
IP = ipaddress.ip_interface
READ = "vtysh -c 'show interface lo json' -c 'show running-config'"
KERNEL = "ip -j addr show dev lo"
POLICY = platforms.PLATFORMS["frr"].policy


def text(name: str) -> str:
    return (DATA / name).read_text()


class Shell:
    """A shell answering from a table; records what it ran."""

    def __init__(self, answers: dict[str, tuple[int, str]]) -> None:
        self.answers = answers
        self.where = Credentials("198.18.0.1", 22, "root").where
        self.uid: int | None = 0
        self.sent: list[str] = []
        self.ran: list[str] = []

    def exec_many(self, commands: Sequence[str], timeout: float | None = None) -> list[Result]:
        self.ran += commands
        return [Result(c, *self.answers[c]) for c in commands]

    def exec(self, command: str, timeout: float | None = None) -> Result:
        return self.exec_many([command])[0]

    def run(self, command: str) -> str:
        return self.exec(command).output

    def refusal(self, res: Result) -> str:
        return f"`{res.command}` failed (exit {res.status}): {res.output[:80]}"

    def close(self) -> None:
        pass


def recorded(router: str = "r1") -> Shell:
    return Shell(
        {
            READ: (0, text(f"{router}_read.txt")),
            KERNEL: (0, text(f"{router}_ip_lo.json")),
            READ_PENDING: (0, "none"),
        }
    )


def host(*addresses: str, **kw: object) -> Host:
    lb = Loopback("lo", tuple(IP(a) for a in addresses), **kw)  # type: ignore[arg-type]
    return Host("r1", "frr", loopbacks=(lb,))


def read(shell: Shell, h: Host | None = None) -> Observed:
    return FrrDriver().read(shell, h or host())  # type: ignore[arg-type]


# -- reading ---------------------------------------------------------------------------


def test_read_running_configuration_and_zebra() -> None:
    r = parse.parse_read(text("r1_read.txt"))
    assert r.zebra == {IP("198.18.118.1/32"), IP("198.18.200.7/32"), IP("2001:db8:fe76::1/128")}
    assert r.running.lo == (
        "interface lo\n description my lo x\n ip address 198.18.118.1/32\n"
        " ip address 198.18.200.7/32\n ip ospf area 0\n ipv6 address 2001:db8:fe76::1/128"
    )
    assert r.running.router_ids == {
        ("bgp", "default"): None,
        ("bgp", "red"): ipaddress.IPv4Address("198.18.9.9"),
        ("ospf", "default"): ipaddress.IPv4Address("198.18.118.1"),
        ("ospf6", "default"): None,
    }
    r3 = parse.parse_read(text("r3_read.txt"))
    assert r3.zebra == frozenset()
    assert r3.running.lo == "interface lo\n ip ospf area 0"


def test_observed_lo_is_what_zebra_and_the_kernel_agree_on() -> None:
    obs = read(recorded())
    (lo,) = obs.loopbacks
    assert set(lo.addresses) == {
        IP(a)
        for a in ("127.0.0.1/8", "198.18.118.1/32", "198.18.200.7/32", "2001:db8:fe76::1/128",
                  "::1/128")
    }  # fmt: skip
    assert obs.router_id == ipaddress.IPv4Address("198.18.200.7")
    assert obs.running["lo"].startswith("interface lo\n description my lo x")
    # The kernel holds an address zebra does not show (zebra behind): not agreed, missing.
    shell = recorded()
    doc = text("r1_read.txt").replace('"address":"198.18.200.7/32"', '"address":"198.18.9.7/32"')
    shell.answers[READ] = (0, doc)
    (lo,) = read(shell).loopbacks
    assert IP("198.18.200.7/32") not in lo.addresses
    assert IP("198.18.9.7/32") not in lo.addresses  # zebra's alone does not count either


@pytest.mark.parametrize(
    "spoil",
    [
        lambda t: t.replace("\nend", "\n"),  # cut short
        lambda t: t.replace("Building configuration...\n\nCurrent configuration:\n", ""),
        lambda t: t.replace("interface eth1", "interface lo"),  # lo twice
        lambda t: t.replace(' "lo":{', ' "lo":{}, "eth0":{'),  # another interface
        lambda t: t.replace('"address":"198.18.118.1/32"', '"address":"198.18.118.1/33"'),
        lambda t: t.replace('"address":"198.18.118.1/32"', '"adress":"198.18.118.1/32"'),
        lambda t: t.replace(" ospf router-id 198.18.118.1", " ospf router-id x.y"),
        lambda t: "{}" + t,  # two JSON documents
    ],
)
def test_each_unreadable_read_is_refused(spoil: object) -> None:
    shell = recorded()
    shell.answers[READ] = (0, spoil(text("r1_read.txt")))  # type: ignore[operator]
    with pytest.raises(ParseError):
        read(shell)


def test_an_unexpected_line_in_the_lo_block_is_kept_not_misread() -> None:
    shell = recorded()
    doc = text("r1_read.txt").replace(" ip ospf area 0\n ipv6", " ip ospf area 0\n frob 1\n ipv6")
    shell.answers[READ] = (0, doc)
    obs = read(shell)
    assert " frob 1" in obs.running["lo"].splitlines()
    assert obs.loopbacks == read(recorded()).loopbacks


# -- the remediation of `interface lo` ---------------------------------------------------


def plan_and_commands(h: Host, obs: Observed, *, purge: bool = False) -> list[str]:
    d = FrrDriver()
    plan = plan_host(d.wanted(h, obs, purge=purge), obs.loopbacks, POLICY, purge=purge)
    arts = render.render_host(render.environment(), h)
    return d.commands(h, obs, plan, arts)


def test_commands_touch_addresses_only_and_keep_the_rest() -> None:
    obs = read(recorded())
    h = host("198.18.118.1/32", "2001:db8:fe76::1/128", "198.18.118.9/32")
    # 198.18.200.7 is not named: unmanaged, kept; description and ospf lines kept.
    assert plan_and_commands(h, obs) == ["interface lo", " ip address 198.18.118.9/32"]
    assert plan_and_commands(h, obs, purge=True) == [
        "interface lo",
        " no ip address 198.18.200.7/32",
        " ip address 198.18.118.9/32",
    ]
    # Converged: nothing at all.
    same = host("198.18.118.1/32", "198.18.200.7/32", "2001:db8:fe76::1/128")
    assert plan_and_commands(same, obs) == []


def test_a_named_address_zebra_has_but_the_kernel_lost_is_configured_again() -> None:
    shell = recorded()
    kernel = text("r1_ip_lo.json").replace('"local":"198.18.200.7"', '"local":"198.18.9.9"')
    shell.answers[KERNEL] = (0, kernel)
    h = host("198.18.118.1/32", "198.18.200.7/32", "2001:db8:fe76::1/128")
    obs = read(shell, h)
    assert plan_and_commands(h, obs) == ["interface lo", " ip address 198.18.200.7/32"]
    assert [(c.name, c.ok, c.detail) for c in obs.health] == [
        (
            "lo 198.18.200.7/32",
            False,
            "198.18.200.7/32 missing: zebra has it configured, the kernel's lo lacks it;"
            " apply configures it again",
        )
    ]
    assert read(recorded(), h).health == ()


def test_an_address_on_lo_outside_zebras_configuration_is_drift() -> None:
    # Added with `ip address add` behind zebra: zebra shows it, frr.conf would not keep it.
    shell = recorded()
    both = text("r1_read.txt").replace(" ip address 198.18.200.7/32\n", "")
    shell.answers[READ] = (0, both)
    h = host("198.18.118.1/32", "198.18.200.7/32", "2001:db8:fe76::1/128")
    obs = read(shell, h)
    assert [c.detail for c in obs.health] == [
        "198.18.200.7/32 on lo, but not configured in zebra (write memory would not keep it);"
        " apply configures it"
    ]
    assert plan_and_commands(h, obs) == ["interface lo", " ip address 198.18.200.7/32"]


def test_lo_down_is_brought_up_by_zebra() -> None:
    shell = recorded()
    shell.answers[KERNEL] = (
        0,
        text("r1_ip_lo.json").replace('"LOOPBACK","UP","LOWER_UP"', '"LOOPBACK"'),
    )
    h = host("198.18.118.1/32", "198.18.200.7/32", "2001:db8:fe76::1/128")
    assert plan_and_commands(h, read(shell, h)) == ["interface lo", " no shutdown"]


def test_a_router_that_declares_no_lo_is_left_alone() -> None:
    obs = read(recorded())
    bare = Host("r1", "frr")
    assert plan_and_commands(bare, obs) == []
    assert plan_and_commands(bare, obs, purge=True) == []
    d = FrrDriver()
    plan = plan_host(d.wanted(bare, obs, purge=False), obs.loopbacks, POLICY)
    assert d.block_diff(bare, obs, plan, render.render_host(render.environment(), bare)) == []


def test_removing_a_named_address_and_absent_addresses() -> None:
    obs = read(recorded())
    h = host("198.18.118.1/32", absent_addresses=(IP("198.18.200.7/32"),))
    # The IPv6 address is not named: kept (unmanaged); the absent one goes.
    assert plan_and_commands(h, obs) == ["interface lo", " no ip address 198.18.200.7/32"]


def test_restore_puts_the_block_back_exactly() -> None:
    before = read(recorded())
    now = Observed(
        before.loopbacks,
        None,
        {"lo": "interface lo\n ip address 198.18.118.1/32\n ip address 198.18.1.1/32"},
    )
    lines = FrrDriver().restore(host(), before, now, ["lo"], {})
    assert lines[0] == "interface lo"
    assert set(lines[1:]) == {
        " no ip address 198.18.1.1/32",
        " description my lo x",
        " ip address 198.18.200.7/32",
        " ip ospf area 0",
        " ipv6 address 2001:db8:fe76::1/128",
    }


def test_a_template_rendering_other_blocks_or_no_lo_is_refused() -> None:
    from loopbackctl.errors import TemplateError

    d, obs, h = FrrDriver(), read(recorded()), host("198.18.118.1/32")
    plan = plan_host(h.loopbacks, obs.loopbacks, POLICY)
    for bad in ("interface eth0\n ip address 198.18.0.1/31\n", "router ospf\n", ""):
        with pytest.raises(TemplateError):
            d.commands(h, obs, plan, {"config": bad})
    # Checked when the jobs are built: exit 2 before any router is contacted.
    with pytest.raises(TemplateError, match="may lay out only the `interface lo` block"):
        d.check_templates(h, {"config": "interface lo\n ip address 198.18.0.1/32\nrouter ospf\n"})
    d.check_templates(h, render.render_host(render.environment(), h))
    d.check_templates(Host("r9", "frr"), {"config": ""})  # declares no lo: nothing to check
    # FRR's own form (exit after the block, IPv6 upper case) is read as the device prints.
    arts = {"config": "interface lo\n ip address 198.18.118.1/32\n ip address 198.18.200.7/32\n"
            " ipv6 address 2001:DB8:FE76:0::1/128\nexit\n"}  # fmt: skip
    same = host("198.18.118.1/32", "198.18.200.7/32", "2001:db8:fe76::1/128")
    assert d.commands(same, obs, plan_host(same.loopbacks, obs.loopbacks, POLICY), arts) == []


# -- vtysh calls -------------------------------------------------------------------------


def test_push_is_one_vtysh_call_and_refusals_are_caught() -> None:
    lines = ["interface lo", " ip address 198.18.1.1/32", " description it's mine"]
    call = vtysh("configure terminal", "interface lo", "ip address 198.18.1.1/32",
                 "description it's mine", "end")  # fmt: skip
    assert call == (
        "vtysh -c 'configure terminal' -c 'interface lo' -c 'ip address 198.18.1.1/32'"
        " -c 'description it'\"'\"'s mine' -c end"
    )
    for status, said in [(1, "% Unknown command: ip adress"), (0, "% Invalid address")]:
        shell = Shell({call: (status, said + "\n")})
        with pytest.raises(DeviceError, match="FRR refused the change"):
            FrrDriver().push(shell, host(), lines)  # type: ignore[arg-type]
        assert shell.sent == [call]
    shell = Shell({call: (0, "")})
    FrrDriver().push(shell, host(), lines)  # type: ignore[arg-type]
    assert shell.sent == [call]


def test_a_long_change_is_split_and_each_call_reopens_the_block() -> None:
    lines = ["interface lo"] + [
        f" ip address 198.18.{i // 250}.{i % 250 + 1}/32" for i in range(300)
    ]
    calls = _calls([c.strip() for c in lines])
    assert len(calls) > 1
    assert all(c[0] == "interface lo" for c in calls)
    assert sum(len(c) - 1 for c in calls) == 300
    assert all(len(vtysh("configure terminal", *c, "end")) < 3000 for c in calls)


def test_save_needs_ok() -> None:
    write = vtysh("write memory")
    ok = "Note: this version of vtysh never writes vtysh.conf\nBuilding Configuration...\n[OK]\n"
    FrrDriver().save(Shell({write: (0, ok)}), host())  # type: ignore[arg-type]
    with pytest.raises(DeviceError, match="not saved"):
        FrrDriver().save(Shell({write: (1, "% Can't open configuration file")}), host())  # type: ignore[arg-type]


# -- routing answers -----------------------------------------------------------------------


def test_router_ids_from_each_protocol() -> None:
    from loopbackctl.platforms.frr.quirks import SHOW_BGP, SHOW_OSPF, SHOW_OSPF6, SHOW_RUNNING

    both = text("r1_read.txt")
    shell = Shell({
        vtysh(SHOW_RUNNING): (0, both[both.index("Building configuration"):]),
        vtysh(SHOW_OSPF): (0, text("r1_ospf.json")),
        vtysh(SHOW_OSPF6): (0, text("r1_ospf6.json")),
        vtysh(SHOW_BGP): (0, text("r1_bgp_vrfs.json")),
    })  # fmt: skip
    facts = FrrDriver().routing_facts(shell, host())  # type: ignore[arg-type]
    got = {(f.protocol, f.vrf): (str(f.live), f.configured, f.clear) for f in facts}
    v4 = ipaddress.IPv4Address
    assert got == {
        ("ospf", "default"): ("198.18.118.1", v4("198.18.118.1"), "clear ip ospf process"),
        ("ospf6", "default"): ("198.18.200.7", None, "clear ipv6 ospf6 process"),
        ("bgp", "default"): ("198.18.200.7", None, None),
        ("bgp", "red"): ("198.18.9.9", v4("198.18.9.9"), None),
    }
    # Daemons that do not run have no instances; ospf6d without one prints nothing.
    shell.answers[vtysh(SHOW_BGP)] = (1, "bgpd is not running")
    shell.answers[vtysh(SHOW_OSPF6)] = (0, "")
    assert [f.protocol for f in FrrDriver().routing_facts(shell, host())] == ["ospf"]  # type: ignore[arg-type]
    # Anything else is not "no routing".
    shell.answers[vtysh(SHOW_OSPF)] = (1, "% Unknown command: show ip ospf vrf all json")
    with pytest.raises(ParseError):
        FrrDriver().routing_facts(shell, host())  # type: ignore[arg-type]


def test_routes_one_document_per_prefix() -> None:
    prefixes = [IP("198.18.118.2/32"), IP("198.18.1.1/32"), IP("2001:db8:fe76::2/128"),
                IP("198.18.118.1/32")]  # fmt: skip
    found = parse.routes(text("r1_routes.txt"), prefixes)
    assert found[0] == parse.Route("ospf", True, ("via 198.19.119.1 dev eth1",))
    assert found[1] is None and found[2] is None
    assert found[3] == parse.Route("connected", True, ("dev lo",))
    with pytest.raises(ParseError):
        parse.routes(text("r1_routes.txt"), prefixes[:3])
    with pytest.raises(ParseError):
        parse.routes(text("r1_routes.txt").replace("198.18.118.2/32", "198.18.118.3/32"), prefixes)
