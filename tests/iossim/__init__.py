"""The test suite's IOS bed: simulated IOS routers built by `loopbackctl.lab` (a `Lab` of
kind "cisco_ios" routers, served by `loopbackctl.lab.iossim`), the same code as `lab up
--ios K`. This layer only keeps the tests' names::

    from tests.iossim import DeviceSpec, IosSimBed

    with IosSimBed(count=2) as bed:                        # r1, r2; or devices=[DeviceSpec]
        ConnectHandler(**bed["r1"].netmiko_params())       # cisco_ios, host, port, user...
        bed.add_fault("r1", match="ip address 198.18.0.2 255.255.255.255")  # refuse a line
        bed.add_fault("r2", action="cut", at_config_line=2)  # drop TCP on 2nd config line
        bed.state("r1")                                    # read-back without SSH
        bed.apply("r1", [...]); bed.run("r1", "show ...")  # CLI without SSH
        bed.drop_sessions("r1"); bed.reset("r1"); bed.kill()

Every router listens on port 22 of its own management addresses (198.19.X.N and
2001:db8:ffXX::N) inside its own network namespace; building the bed needs root, as
every lab does. ``DeviceSpec(name, username, password, secret, startup_config=[IOS
lines], base_config, ports, faults, save_prompts, ipv6, archive)``: every router boots
with GigabitEthernet0/0 10.1.0.1/24 (up) and GigabitEthernet0/1 (unassigned, shutdown)
unless ``base_config`` says otherwise, the lab's configuration archive (``archive`` /
`` path flash:archive``) unless ``archive=False``, then its ``startup_config`` (NVRAM
content). The CLI the routers speak is described in `loopbackctl.lab.iossim`; set
``$IOSSIM_MINUTE_SECONDS`` before starting a bed to shorten IOS's revert-timer minutes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

from loopbackctl.lab import netns, prereq
from loopbackctl.lab.build import Lab, LabSpec
from loopbackctl.lab.ios import ControlError, IosOptions, Simulator
from loopbackctl.lab.iossim import DEFAULT_BASE_CONFIG

__all__ = ["ControlError", "DeviceSpec", "IosSimBed", "SimDevice", "require_ios_bed"]


def require_ios_bed() -> None:
    """pytest.fail (never skip) when this machine cannot build simulated IOS routers."""
    problems = [str(p) for p in prereq.missing(["cisco_ios"])]
    from loopbackctl.lab.ios import unavailable

    why = unavailable()
    if why:
        problems.append(why)
    if problems:
        pytest.fail("IOS test bed unavailable: " + "; ".join(problems), pytrace=False)


@dataclass(frozen=True)
class DeviceSpec:
    """One simulated router of a bed (see the module's docstring)."""

    name: str
    username: str = "admin"
    password: str = "admin"
    secret: str = "enable"
    startup_config: Sequence[str] = ()
    base_config: Sequence[str] | None = None
    ports: Sequence[str] | None = None
    faults: Sequence[Mapping[str, Any]] = ()
    save_prompts: bool = False
    ipv6: bool = True
    archive: bool = True
    mirror_loopback: bool = False

    def options(self) -> IosOptions:
        base = DEFAULT_BASE_CONFIG if self.base_config is None else tuple(self.base_config)
        return IosOptions(
            username=self.username,
            password=self.password,
            secret=self.secret,
            startup_config=tuple(self.startup_config),
            base_config=tuple(base),
            ports=None if self.ports is None else tuple(self.ports),
            faults=tuple(self.faults),
            save_prompts=self.save_prompts,
            ipv6=self.ipv6,
            archive=self.archive,
            mirror_loopback=self.mirror_loopback,
        )


@dataclass(frozen=True)
class SimDevice:
    """Connection fields of a running simulated router."""

    name: str
    host: str
    port: int
    username: str
    password: str
    secret: str

    def netmiko_params(self, **extra: Any) -> dict[str, Any]:
        """Keyword arguments for ``netmiko.ConnectHandler``."""
        return {
            "device_type": "cisco_ios",
            "host": self.host,
            "port": self.port,
            "username": self.username,
            "password": self.password,
            "secret": self.secret,
            **extra,
        }


@dataclass
class IosSimBed:
    """Simulated routers in a lab of their own. Give ``devices`` or ``count`` (names
    ``{prefix}1``..``{prefix}N``, default specs)."""

    devices: Sequence[DeviceSpec] = ()
    count: int = 0
    prefix: str = "r"
    startup_timeout: float = 60.0
    lab: Lab | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        specs = list(self.devices)
        specs += [DeviceSpec(f"{self.prefix}{i}") for i in range(1, self.count + 1)]
        if not specs:
            raise ValueError("a bed needs devices or count")
        self.devices = specs

    # -- lifecycle ----------------------------------------------------------------

    def start(self) -> IosSimBed:
        """Build the lab and wait until every router listens."""
        require_ios_bed()
        netns.sigterm_to_keyboard_interrupt()
        spec = LabSpec.of(ios=[d.name for d in self.devices],
                          ios_options={d.name: d.options() for d in self.devices})  # fmt: skip
        self.lab = Lab(spec, start_timeout=self.startup_timeout).start()
        return self

    def __enter__(self) -> IosSimBed:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """Tear the bed down: the simulator, namespaces, links and files."""
        if self.lab is not None:
            self.lab.close()

    @property
    def simulator(self) -> Simulator:
        if self.lab is None:
            raise RuntimeError("not started")
        return self.lab.simulator

    @property
    def pid(self) -> int:
        """PID of the simulator process."""
        return self.simulator.pid

    @property
    def alive(self) -> bool:
        return self.simulator.alive

    def kill(self) -> None:
        """SIGKILL the simulator now (every router vanishes at once, like a crash)."""
        self.simulator.kill()

    def log_text(self) -> str:
        return self.simulator.log_text()

    def rss_bytes(self) -> int:
        """Resident memory of the simulator process."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    # -- devices ------------------------------------------------------------------

    @property
    def sim_devices(self) -> list[SimDevice]:
        """Connection fields of every router, in spec order."""
        assert self.lab is not None
        return [
            SimDevice(d.name, self.lab[d.name].ip4, self.lab[d.name].port, d.username,
                      d.password, d.secret)
            for d in self.devices
        ]  # fmt: skip

    def __getitem__(self, name: str) -> SimDevice:
        for device in self.sim_devices:
            if device.name == name:
                return device
        raise KeyError(name)

    def __iter__(self) -> Iterator[SimDevice]:
        return iter(self.sim_devices)

    def __len__(self) -> int:
        return len(self.devices)

    # -- control channel ----------------------------------------------------------

    def control(self, op: str, timeout: float = 10.0, **fields: Any) -> Any:
        return self.simulator.control(op, timeout, **fields)

    def state(self, name: str) -> dict[str, Any]:
        return self.simulator.state(name)

    def interface(self, name: str, interface: str) -> dict[str, Any] | None:
        return self.simulator.interface(name, interface)

    def add_fault(
        self,
        name: str,
        *,
        action: str = "refuse",
        match: str | None = None,
        regex: str | None = None,
        at_config_line: int | None = None,
        message: str | None = None,
        times: int | None = None,
    ) -> int:
        """See `loopbackctl.lab.iossim.core.Fault`."""
        return self.simulator.add_fault(name, action=action, match=match, regex=regex,
                                        at_config_line=at_config_line, message=message,
                                        times=times)  # fmt: skip

    def clear_faults(self, name: str) -> None:
        self.simulator.clear_faults(name)

    def apply(self, name: str, lines: Sequence[str]) -> str:
        return self.simulator.apply(name, lines)

    def run(self, name: str, command: str) -> str:
        return self.simulator.run(name, command)

    def switch(
        self, name: str, *, save_prompts: bool | None = None, ipv6: bool | None = None
    ) -> dict[str, bool]:
        fields = {k: v for k, v in (("save_prompts", save_prompts), ("ipv6", ipv6))
                  if v is not None}  # fmt: skip
        return self.simulator.switch(name, **fields)

    def drop_sessions(self, name: str) -> int:
        return self.simulator.drop_sessions(name)

    def reset(self, name: str) -> None:
        self.simulator.reset(name)
