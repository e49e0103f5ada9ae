"""The remediation engine and IOS's normalisations, on blocks as the simulator prints them
(its formats are copied from real IOS samples): each normalisation is what makes a
converged router yield no line. No device."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopbackctl.platforms.cisco_ios.quirks import CONFIG_SYNTAX, NORMALISATIONS
from loopbackctl.platforms.cisco_ios.running import read_blocks
from loopbackctl.remediation import ConfigTextError, normalise, remediation, split_blocks

ROUTER1 = Path(__file__).parent / "data" / "ios" / "router1"


def printed() -> dict[str, tuple[str, ...]]:
    """router1's loopback blocks as IOS prints them (children only)."""
    text = (ROUTER1 / "show_running-config_section_Loopback.raw").read_text()
    return {n: tuple(b.splitlines()[1:]) for n, b in read_blocks(text).items()}


# Each normalisation: a line IOS prints (or a template writes) and what both become.
CASES = {
    "implicit no shutdown": (" no shutdown", None),
    "no ip address": (" no ip address", None),
    "IPv6 upper case": (" ipv6 address 2001:DB8:FF::1/128", " ipv6 address 2001:db8:ff::1/128"),
    "prefix length as mask": (
        " ip address 10.0.0.1/32 secondary",
        " ip address 10.0.0.1 255.255.255.255 secondary",
    ),
}


def test_every_normalisation_has_a_case() -> None:
    assert sorted(n.name for n in NORMALISATIONS) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_normalisation(name: str) -> None:
    line, want = CASES[name]
    assert normalise([line], CONFIG_SYNTAX) == (() if want is None else (want,))


def test_template_text_against_the_printed_block_is_converged() -> None:
    # What the shipped template writes for router1's loopbacks, and what IOS prints for
    # them: lower- vs upper-case IPv6, `no shutdown` vs nothing, primary before vs after
    # the secondary, nothing vs `no ip address`.
    rendered = split_blocks(
        "interface Loopback0\n description router-id\n"
        " ip address 198.18.255.1 255.255.255.255\n"
        " ip address 198.18.254.1 255.255.255.255 secondary\n"
        " ipv6 address 2001:db8:ff::1/128\n ipv6 address 2001:db8:1:1::1/64\n no shutdown\n"
        "interface Loopback10\n description anycast dns\n"
        " ip address 198.18.253.53 255.255.255.255\n shutdown\n"
        "interface Loopback20\n no shutdown\n",
        CONFIG_SYNTAX,
    )
    assert remediation(printed(), rendered, CONFIG_SYNTAX) == []


def test_scope_is_only_the_named_blocks() -> None:
    # Loopback10 and Loopback20 differ wildly from nothing, but are not in scope.
    assert remediation(printed(), {"Loopback99": ()}, CONFIG_SYNTAX) == ["interface Loopback99"]


def test_primary_first_when_adding_last_when_removing() -> None:
    add = remediation(
        {},
        {
            "Loopback1": (
                " ip address 10.0.0.2 255.255.255.255 secondary",
                " ip address 10.0.0.1 255.255.255.255",
            )
        },
        CONFIG_SYNTAX,
    )
    assert add == [
        "interface Loopback1",
        " ip address 10.0.0.1 255.255.255.255",
        " ip address 10.0.0.2 255.255.255.255 secondary",
    ]
    gone = remediation(
        {
            "Loopback1": (
                " ip address 10.0.0.1 255.255.255.255",
                " ip address 10.0.0.2 255.255.255.255 secondary",
            )
        },
        {"Loopback1": (" description x",)},
        CONFIG_SYNTAX,
    )
    assert gone == [
        "interface Loopback1",
        " no ip address 10.0.0.2 255.255.255.255 secondary",
        " description x",
        " no ip address 10.0.0.1 255.255.255.255",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "interface GigabitEthernet0/0\n ip address 10.0.0.1 255.255.255.0\n",
        " ip address 10.0.0.1 255.255.255.255\n",
        "router ospf 1\n",
        "interface Loopback0\ninterface Loopback0\n",
    ],
)
def test_config_text_outside_managed_blocks_is_refused(text: str) -> None:
    with pytest.raises(ConfigTextError):
        split_blocks(text, CONFIG_SYNTAX)
