"""IOS lines: the remediation of recorded running blocks against the rendered template
(IOS's orderings, normalisations, VRF changes, template extras, rollback), refusal
detection in recorded CLI output. No device."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from pathlib import Path

import pytest

from loopbackctl import render
from loopbackctl.errors import DeviceError, TemplateError
from loopbackctl.model import Host, Loopback
from loopbackctl.plan import plan_host
from loopbackctl.platforms.base import Observed
from loopbackctl.platforms.cisco_ios import PLATFORM
from loopbackctl.platforms.cisco_ios import driver as rt
from loopbackctl.platforms.cisco_ios.running import SHOW_RUNNING_LOOPBACKS
from loopbackctl.templating import Templates

DATA = Path(__file__).resolve().parent / "data" / "ios"


def lb(name: str, *addrs: str, **kw: object) -> Loopback:
    return Loopback(name, tuple(ipaddress.ip_interface(a) for a in addrs), **kw)  # type: ignore[arg-type]


class FakeSession:
    """Answers show commands from recorded files; records what is configured."""

    def __init__(self, answers: dict[str, str], config_output: str = "") -> None:
        self.answers = answers
        self.config_output = config_output
        self.sent: list[list[str]] = []
        self.ran: list[str] = []

    def run(self, command: str) -> str:
        self.ran.append(command)
        return self.answers[command]

    def configure(self, commands: Sequence[str]) -> str:
        self.sent.append(list(commands))
        return self.config_output

    def close(self) -> None:
        pass


def router1_session() -> FakeSession:
    d = DATA / "router1"
    return FakeSession(
        {
            "show ip interface": (d / "show_ip_interface.raw").read_text(),
            "show interfaces": (d / "show_interfaces.raw").read_text(),
            "show ipv6 interface brief": (d / "show_ipv6_interface_brief.raw").read_text(),
            SHOW_RUNNING_LOOPBACKS: (d / "show_running-config_section_Loopback.raw").read_text(),
        }
    )


HOST = Host("core1", "cisco_ios")


def plan_lines(
    want: Sequence[Loopback], *, purge: bool = False, templates: str | None = None
) -> list[str]:
    """What apply would send to router1 for `want`: the remediation of its running blocks
    against the rendered template."""
    driver = rt.IosDriver()
    have = driver.read(router1_session(), HOST)
    host = Host("core1", "cisco_ios", loopbacks=tuple(want))
    p = plan_host(driver.wanted(host, have, purge=purge), have.loopbacks, PLATFORM.policy)
    artifacts = render.render_host(render.environment(templates), host)
    return driver.commands(host, have, p, artifacts)


def test_read_uses_four_show_commands_and_finds_router_id() -> None:
    driver = rt.IosDriver()
    session = router1_session()
    found = driver.read(session, HOST)
    assert [x.name for x in found.loopbacks] == ["Loopback0", "Loopback10", "Loopback20"]
    assert session.ran == [
        "show ip interface",
        "show interfaces",
        "show ipv6 interface brief",
        SHOW_RUNNING_LOOPBACKS,
    ]
    assert str(found.router_id) == "198.18.255.1"
    assert found.running["Loopback20"] == "interface Loopback20\n no ip address"


ROUTER1_LO0 = (
    "Loopback0",
    "198.18.255.1/32",
    "198.18.254.1/32",
    "2001:db8:ff::1/128",
    "2001:db8:1:1::1/64",
)


def test_converged_inventory_plans_nothing() -> None:
    # IOS prints the IPv6 addresses upper-case and no `no shutdown`: still converged.
    assert plan_lines([lb(*ROUTER1_LO0, description="router-id")]) == []


def test_create_loopback() -> None:
    want = lb("Loopback1", "198.18.1.1/32", "198.18.1.2/32", "2001:db8::1/128", description="x")
    assert plan_lines([want]) == [
        "interface Loopback1",
        " description x",
        " ip address 198.18.1.1 255.255.255.255",
        " ip address 198.18.1.2 255.255.255.255 secondary",
        " ipv6 address 2001:db8::1/128",
    ]


def test_owned_loopback_loses_unnamed_addresses_secondary_first() -> None:
    # Inventory names Loopback0 with no IPv4: the secondary goes before the primary.
    want = lb("Loopback0", "2001:db8:ff::1/128", "2001:db8:1:1::1/64", description="router-id")
    assert plan_lines([want]) == [
        "interface Loopback0",
        " no ip address 198.18.254.1 255.255.255.255 secondary",
        " no ip address 198.18.255.1 255.255.255.255",
    ]


def test_remove_ipv6_and_shut() -> None:
    want = lb(*ROUTER1_LO0[:4], description="router-id", shutdown=True)
    assert plan_lines([want]) == [
        "interface Loopback0",
        " no ipv6 address 2001:db8:1:1::1/64",
        " shutdown",
    ]


def test_secondary_promoted_to_primary() -> None:
    # IOS refuses `ip address P M` while P is a secondary, and replacing the primary drops
    # the old one: remove P as secondary, set it primary, add the old primary back.
    want = lb(
        "Loopback0",
        "198.18.254.1/32",
        "198.18.255.1/32",
        "2001:db8:ff::1/128",
        "2001:db8:1:1::1/64",
        description="router-id",
    )
    assert plan_lines([want]) == [
        "interface Loopback0",
        " no ip address 198.18.254.1 255.255.255.255 secondary",
        " ip address 198.18.254.1 255.255.255.255",
        " ip address 198.18.255.1 255.255.255.255 secondary",
    ]


def test_new_primary_replaces_old_in_place() -> None:
    want = lb("Loopback10", "198.18.253.54/32", description="anycast dns", shutdown=True)
    assert plan_lines([want]) == [
        "interface Loopback10",
        " ip address 198.18.253.54 255.255.255.255",
    ]


def test_changed_secondary_is_removed_not_replaced() -> None:
    # hier_config's own IOS rule treats every `ip address` as one line that replaces the
    # other: a secondary swapped for another would leave the old one behind.
    want = lb(*ROUTER1_LO0[:2], "198.18.254.9/32", *ROUTER1_LO0[3:], description="router-id")
    assert plan_lines([want]) == [
        "interface Loopback0",
        " no ip address 198.18.254.1 255.255.255.255 secondary",
        " ip address 198.18.254.9 255.255.255.255 secondary",
    ]


def test_absent_loopback_is_removed_and_others_untouched() -> None:
    assert plan_lines([Loopback("Loopback10", state="absent")]) == ["no interface Loopback10"]
    assert plan_lines([Loopback("Loopback99", state="absent")]) == []


def test_purge_removes_only_unnamed_loopbacks() -> None:
    want = lb(*ROUTER1_LO0, description="router-id")
    assert plan_lines([want], purge=True) == ["no interface Loopback10", "no interface Loopback20"]
    assert plan_lines([want]) == []


def test_vrf_change_re_adds_the_addresses_after_the_vrf_line() -> None:
    want = lb(*ROUTER1_LO0, description="router-id", vrf="RED")
    assert plan_lines([want]) == [
        "interface Loopback0",
        " vrf forwarding RED",
        " ip address 198.18.255.1 255.255.255.255",
        " ip address 198.18.254.1 255.255.255.255 secondary",
        " ipv6 address 2001:db8:ff::1/128",
        " ipv6 address 2001:db8:1:1::1/64",
    ]


def test_template_extras_are_sent_and_removed(tmp_path: Path) -> None:
    (tmp_path / "cisco_ios").mkdir()
    shipped = (Path(render.shipped_templates()["cisco_ios"]) / "loopbacks.j2").read_text()
    extra = shipped.replace(
        ' {{ "shutdown" if', ' ip ospf 1 area 0\n ip pim sparse-mode\n {{ "shutdown" if'
    )
    (tmp_path / "cisco_ios" / "loopbacks.j2").write_text(extra)
    want = lb(*ROUTER1_LO0, description="router-id")
    assert plan_lines([want], templates=str(tmp_path)) == [
        "interface Loopback0",
        " ip ospf 1 area 0",
        " ip pim sparse-mode",
    ]


def test_template_outside_the_loopbacks_is_refused(tmp_path: Path) -> None:
    (tmp_path / "cisco_ios").mkdir()
    (tmp_path / "cisco_ios" / "loopbacks.j2").write_text("interface GigabitEthernet0/0\n")
    with pytest.raises(TemplateError, match="GigabitEthernet0/0"):
        plan_lines([lb("Loopback0")], templates=str(tmp_path))


def test_restore_puts_the_blocks_back_as_read() -> None:
    driver = rt.IosDriver()
    before = driver.read(router1_session(), HOST)
    # As if a push had half-happened: primary replaced, secondary gone, IPv6 added, a new
    # loopback created.
    now = Observed(
        (),
        running={
            "Loopback0": "\n".join(
                [
                    "interface Loopback0",
                    " description changed",
                    " ip address 198.18.9.9 255.255.255.255",
                    " ipv6 address 2001:DB8:FF::1/128",
                    " ipv6 address 2001:DB8:1:1::1/64",
                    " ipv6 address 2001:DB8:9::9/128",
                ]
            ),
            "Loopback10": before.running["Loopback10"],
            "Loopback30": "interface Loopback30\n ip address 198.18.30.1 255.255.255.255",
        },
    )
    scope = ["Loopback0", "Loopback10", "Loopback30"]
    assert driver.restore(HOST, before, now, scope, Templates().for_host(HOST)) == [
        "no interface Loopback30",
        "interface Loopback0",
        " no ipv6 address 2001:db8:9::9/128",
        " description router-id",
        " ip address 198.18.255.1 255.255.255.255",
        " ip address 198.18.254.1 255.255.255.255 secondary",
    ]


# -- push: refusal detection on IOS's own words --------------------------------------

COMMANDS = [
    "interface Loopback1",
    " ip address 198.18.1.1 255.255.255.255",
    " ip address 127.0.0.2 255.255.255.255 secondary",
    " description after",
]


def _transcript(refused_at: int, message: list[str]) -> str:
    lines = ["configure terminal", "Enter configuration commands, one per line.  End with CNTL/Z."]
    prompt = "r1(config)#"
    for i, cmd in enumerate(COMMANDS):
        lines.append(prompt + cmd)
        if i == refused_at:
            lines += message
        prompt = "r1(config-if)#"
    lines += [prompt + "end", "r1#"]
    return "\n".join(lines) + "\n"


REFUSALS = {
    "invalid input": ["                       ^", "% Invalid input detected at '^' marker.", ""],
    "incomplete": ["% Incomplete command.", ""],
    "ambiguous": ['% Ambiguous command:  "ip add"'],
    "no percent: host address": ["Not a valid host address - 127.0.0.2"],
    "no percent: bad mask": ["Bad mask /32 for address 172.16.2.78"],
    "overlap": ["% 198.18.1.1 overlaps with Loopback0"],
    "ipv6 overlap": ["% 2001:DB8::/64 is overlapping with 2001:DB8::/64 on Loopback0"],
    "other % error": ["% Cannot remove the primary address while secondaries exist"],
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_every_ios_refusal_names_the_refused_line(case: str) -> None:
    session = FakeSession({}, _transcript(2, REFUSALS[case]))
    with pytest.raises(DeviceError) as err:
        rt.IosDriver().push(session, HOST, COMMANDS)
    text = str(err.value)
    assert "ip address 127.0.0.2 255.255.255.255 secondary" in text
    assert REFUSALS[case][-1].strip() in text or REFUSALS[case][-2].strip() in text


def test_clean_transcript_and_syslog_lines_are_not_refusals() -> None:
    out = _transcript(
        1,
        [
            "*Mar  1 00:00:01.123: %LINEPROTO-5-UPDOWN: Line protocol on "
            "Interface Loopback1, changed state to up"
        ],
    )
    session = FakeSession({}, out)
    rt.IosDriver().push(session, HOST, COMMANDS)
    assert session.sent == [COMMANDS]


def test_description_quoting_a_refusal_is_not_a_refusal() -> None:
    cmds = ["interface Loopback1", " description % Invalid input detected"]
    out = "r1(config)#interface Loopback1\nr1(config-if)# description % Invalid input detected\n"
    rt.IosDriver().push(FakeSession({}, out), HOST, cmds)


def test_nothing_to_push_opens_no_config_session() -> None:
    session = FakeSession({})
    rt.IosDriver().push(session, HOST, [])
    assert session.sent == []


def test_save_requires_ok() -> None:
    driver = rt.IosDriver()
    driver.save(FakeSession({"write memory": "Building configuration...\n[OK]\n"}), HOST)
    with pytest.raises(DeviceError, match="not saved"):
        driver.save(FakeSession({"write memory": "Building configuration...\n"}), HOST)


def test_vrf_notice_is_expected_only_where_the_vrf_line_changed() -> None:
    notice = "% Interface Loopback1 IPv4 disabled and address(es) removed due to enabling VRF RED"
    cmds = ["interface Loopback1", " vrf forwarding RED", " ip address 198.18.1.1 255.255.255.255"]
    out = (
        "r1(config)#interface Loopback1\nr1(config-if)# vrf forwarding RED\n"
        f"{notice}\nr1(config-if)# ip address 198.18.1.1 255.255.255.255\n"
    )
    rt.IosDriver().push(FakeSession({}, out), HOST, cmds)
    other = ["interface Loopback1", " description x"]
    with pytest.raises(DeviceError, match="unasked"):
        rt.IosDriver().push(FakeSession({}, out), HOST, other)


def test_save_answers_the_questions_through_a_cli_session() -> None:
    from loopbackctl.platforms.cisco_ios.quirks import SAVE_PROMPTS

    asked = "Overwrite the previous NVRAM configuration?[confirm]"
    assert any(p.search(asked) for p, _ in SAVE_PROMPTS)
    assert any(p.search("Destination filename [startup-config]? ") for p, _ in SAVE_PROMPTS)
