"""The contract every registered platform keeps, run over each of them: its templates
render, its driver parses a recorded device into the expected loopbacks, refuses every
answer it cannot read (never "ok"), and turns a plan into commands.

A new platform adds tests/data/contract/<name>.yaml (recorded answers and the loopbacks
they hold); this test fails for a registered platform without one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from loopbackctl import platforms, render
from loopbackctl.errors import DeviceError
from loopbackctl.model import Host, Loopback
from loopbackctl.plan import plan_host
from loopbackctl.platforms.base import Observed, Platform
from loopbackctl.templating import Templates
from loopbackctl.transport.credentials import Credentials
from loopbackctl.transport.framing import Result

DATA = Path(__file__).parent / "data" / "contract"
NAMES = sorted(platforms.PLATFORMS)
# Answers a device may give instead of what was asked: none may read as a state.
BAD_ANSWERS = [
    (0, ""),
    (0, "% Invalid input detected at '^' marker."),
    (0, "garbage\n\x00\n"),
    (1, "error: not permitted"),
]


class Recorded:
    """A session answering from recordings; run() and the Shell calls alike."""

    def __init__(self, answers: dict[str, tuple[int, str]]) -> None:
        self.answers = answers
        self.creds = Credentials("198.18.0.1", 22, "admin")
        self.where = self.creds.where
        self.uid: int | None = 0
        self.sent: list[str] = []

    def exec_many(self, commands: Sequence[str], timeout: float | None = None) -> list[Result]:
        return [Result(c, *self.answers[c]) for c in commands]

    def exec(self, command: str, timeout: float | None = None) -> Result:
        return self.exec_many([command])[0]

    def run(self, command: str) -> str:
        res = self.exec(command)
        if not res.ok:
            raise DeviceError(self.refusal(res))
        return res.output

    def refusal(self, res: Result) -> str:
        return f"`{res.command}` failed (exit {res.status})"

    def close(self) -> None:
        pass


def contract(name: str) -> tuple[Host, dict[str, tuple[int, str]], tuple[Loopback, ...]]:
    path = DATA / f"{name}.yaml"
    assert path.is_file(), f"platform {name} is registered but has no contract data at {path}"
    doc: dict[str, Any] = yaml.safe_load(path.read_text())
    answers = {
        cmd: (a["status"], (path.parent / a["file"]).read_text())
        for cmd, a in doc["answers"].items()
    }
    expect = tuple(
        Loopback(
            lb["name"],
            tuple(ipaddress.ip_interface(a) for a in lb["addresses"]),
            lb.get("description"),
            lb["shutdown"],
        )
        for lb in doc["expect"]
    )
    return Host(**doc["host"]), answers, expect


def sample_loopback(p: Platform, *addresses: str) -> Loopback:
    name = p.interface_example.format(n=7)
    assert p.interface_pattern.fullmatch(name), name
    return Loopback(name, tuple(ipaddress.ip_interface(a) for a in addresses))


@pytest.mark.parametrize("name", NAMES)
def test_templates_render_the_loopback(name: str) -> None:
    p = platforms.PLATFORMS[name]
    host = Host("h1", name, loopbacks=(sample_loopback(p, "198.18.7.7/32", "2001:db8::7/128"),))
    arts = render.render_host(render.environment(), host)
    assert list(arts) == [artifact for artifact, _ in p.templates]
    for text in arts.values():
        assert "198.18.7.7" in text and "2001:db8::7" in text


@pytest.mark.parametrize("name", NAMES)
def test_driver_reads_the_recorded_device(name: str) -> None:
    host, answers, expect = contract(name)
    observed = platforms.driver(name).read(Recorded(answers), host)  # type: ignore[arg-type]
    got = {lb.name: lb for lb in observed.loopbacks}
    assert set(got) == {lb.name for lb in expect}
    for lb in expect:
        assert set(got[lb.name].addresses) == set(lb.addresses), lb.name
        assert (got[lb.name].description, got[lb.name].shutdown) == (lb.description, lb.shutdown)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("bad", BAD_ANSWERS, ids=["empty", "refused", "garbage", "exit1"])
def test_driver_refuses_each_answer_it_cannot_read(name: str, bad: tuple[int, str]) -> None:
    host, answers, _ = contract(name)
    for command in answers:
        spoiled = {**answers, command: bad}
        with pytest.raises(DeviceError):
            platforms.driver(name).read(Recorded(spoiled), host)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", NAMES)
def test_a_plan_becomes_commands_naming_what_changes(name: str) -> None:
    p = platforms.PLATFORMS[name]
    host, answers, _ = contract(name)
    driver = platforms.driver(name)
    observed: Observed = driver.read(Recorded(answers), host)  # type: ignore[arg-type]
    first = observed.loopbacks[0]
    want = Loopback(
        first.name,
        (*first.addresses, ipaddress.ip_interface("198.18.99.9/32")),
        first.description,
        first.shutdown,
    )
    host = Host(host.name, name, loopbacks=(want,))
    wanted = driver.wanted(host, observed, purge=False)
    plan = plan_host(wanted, observed.loopbacks, p.policy)
    assert [str(c) for c in plan.changes] == [f"{first.name}: add 198.18.99.9/32"]
    artifacts = Templates().for_host(host, render.render_host(render.environment(), host))
    commands = driver.commands(host, observed, plan, artifacts)
    assert commands and any("198.18.99.9" in c for c in commands), commands
    converged = plan_host(driver.wanted(host, observed, purge=False), (want,), p.policy)
    assert converged.empty


def test_every_platform_name_and_alias_names_one_platform() -> None:
    """Names are looked up by name or alias (NAPALM's `ios`): an alias must name exactly
    one platform, and never another platform's name."""
    seen: dict[str, str] = {}
    for p in platforms.PLATFORMS.values():
        for name in (p.name, *p.aliases):
            assert name not in seen, f"{name!r} names both {seen[name]} and {p.name}"
            seen[name] = p.name
    assert {n: platforms.lookup(n).name for n in seen} == seen  # type: ignore[union-attr]
    assert platforms.lookup("ios") is platforms.PLATFORMS["cisco_ios"]
    assert platforms.lookup("junos") is None
