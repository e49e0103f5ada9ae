"""What `apply --local` does to lo: state + expectation → `ip` commands. Pure.

Only additions, plus removals the inventory names in absent_addresses; never 127.0.0.1/8
or ::1/128, never an address nobody named. Bringing lo up is planned apart from the
addresses because the kernel itself adds 127.0.0.1/8 and ::1/128 when lo comes up: the
runner re-reads lo after that step and plans the addresses from what is really there.
"""

from __future__ import annotations

from dataclasses import dataclass

from loopbackctl.local.checks import Expected
from loopbackctl.local.state import LOOPBACK4, LOOPBACK6, IPInterface, Ipv6Status, LoState


@dataclass(frozen=True)
class Step:
    """One `ip` command and why it is needed."""

    args: tuple[str, ...]
    why: str

    @property
    def command(self) -> str:
        return "ip " + " ".join(self.args)


@dataclass(frozen=True)
class Plan:
    """Steps in order, and what cannot be done at all (`blocked`, one sentence each)."""

    steps: tuple[Step, ...]
    blocked: tuple[str, ...] = ()


LINK_UP = Step(
    ("link", "set", "dev", "lo", "up"),
    "lo is DOWN; coming up, it gets 127.0.0.1/8 and ::1/128 back from the kernel",
)


def plan_link(state: LoState) -> tuple[Step, ...]:
    return () if state.up else (LINK_UP,)


def kernel_adds_on_up(ipv6: Ipv6Status) -> frozenset[IPInterface]:
    """What Linux puts on lo by itself when it comes up."""
    return frozenset({LOOPBACK4, LOOPBACK6} if ipv6.enabled else {LOOPBACK4})


def plan_addresses(have: frozenset[IPInterface], ipv6: Ipv6Status, expected: Expected) -> Plan:
    steps: list[Step] = []
    blocked: list[str] = []
    if LOOPBACK4 not in have:
        steps.append(Step(("addr", "add", str(LOOPBACK4), "dev", "lo"), f"{LOOPBACK4} is missing"))
    if ipv6.enabled and LOOPBACK6 not in have:
        steps.append(Step(("addr", "add", str(LOOPBACK6), "dev", "lo"), f"{LOOPBACK6} is missing"))
    for addr in expected.addresses:
        if addr in have:
            continue
        if addr.version == 6 and not ipv6.enabled:
            blocked.append(f"cannot add {addr}: IPv6 is disabled on lo ({ipv6.reason})")
            continue
        steps.append(
            Step(
                ("addr", "replace", str(addr), "dev", "lo"),
                f"inventory host {expected.host} declares it",
            )
        )
    for addr in expected.absent:
        if addr in have and addr not in (LOOPBACK4, LOOPBACK6):
            steps.append(
                Step(
                    ("addr", "del", str(addr), "dev", "lo"),
                    f"inventory host {expected.host} lists it in absent_addresses",
                )
            )
    return Plan(tuple(steps), tuple(blocked))


def plan(state: LoState, ipv6: Ipv6Status, expected: Expected) -> Plan:
    """The whole plan as `--check` shows it, predicting what bringing lo up restores."""
    link = plan_link(state)
    have = state.addresses | kernel_adds_on_up(ipv6) if link else state.addresses
    rest = plan_addresses(have, ipv6, expected)
    return Plan(link + rest.steps, rest.blocked)
