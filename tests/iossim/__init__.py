"""Simulated Cisco IOS routers for tests (fake-switches 1.5.0, extended by subclassing).

Start N routers in one subprocess (one Twisted reactor, 127.0.0.1 only)::

    from tests.iossim import DeviceSpec, IosSimBed

    with IosSimBed(count=2) as bed:                        # r1, r2; or devices=[DeviceSpec]
        ConnectHandler(**bed["r1"].netmiko_params())       # cisco_ios, host, port, user...
        bed.add_fault("r1", match="ip address 198.18.0.2 255.255.255.255")  # refuse a line
        bed.add_fault("r2", action="cut", at_config_line=2)  # drop TCP on 2nd config line
        bed.state("r1")                                    # read-back without SSH
        bed.apply("r1", [...]); bed.run("r1", "show ...")  # CLI without SSH
        bed.drop_sessions("r1"); bed.reset("r1"); bed.kill()

``DeviceSpec(name, username, password, secret, port=0, startup_config=[IOS lines],
faults=[...])``. Every router boots with GigabitEthernet0/0 10.1.0.1/24 (up) and
GigabitEthernet0/1 (unassigned, shutdown), then its ``startup_config`` (NVRAM content).

CLI (IOS abbreviations accepted, ambiguous ones refused): user EXEC ``enable`` (secret
compared as text; 3 wrong tries print ``% Bad secrets``), ``terminal length|width N``,
``show``, ``exit``; privileged EXEC ``configure terminal``, ``write [memory]``,
``copy running-config startup-config`` (``Destination filename [startup-config]?``, then
``Building configuration...`` / ``[OK]``), ``disable``; config ``[no] interface LoopbackN``
(0..2147483647), ``end``, ``exit``, ``do show ...``, ``default interface X``; interface
``[no] description``, ``ip address A M [secondary]``, ``no ip address [A M [secondary]]``,
``[no] ipv6 address X/LEN``, ``[no] shutdown``, ``exit``, ``end``.

Show commands (layouts from real IOS samples, see :mod:`tests.iossim.render`):
``show ip interface [X]``, ``show ip interface brief [X]``, ``show ipv6 interface brief
[X]``, ``show interfaces [X]``, ``show running-config [interface X]``,
``show startup-config``, ``show version``; pipes ``| include|exclude|begin|section RE``.

Refusals as IOS prints them: ``% Invalid input detected at '^' marker.`` (caret under
the word), ``% Incomplete command.``, ``% Ambiguous command:  "..."``,
``Not a valid host address - A``, ``Bad mask /N for address A`` (network/broadcast
address; /32 off a loopback), ``Bad mask 0x... for address A`` (non-contiguous),
``% <network> overlaps with <interface>``, ``% Must delete secondary before deleting
primary``. Re-sending an address an interface already has changes nothing.

Not verified against a real router (chosen plausibly): ``% Secondary address not allowed
without primary address``; ``% X/N is overlapping with X/N on <if>`` for IPv6;
``no interface LoopbackN`` of an absent loopback is silent; ``no interface`` of a
physical port prints the invalid-input caret; an unknown one-word EXEC command prints the
invalid-input caret (real IOS tries to resolve it as a host name). Not implemented:
``show ipv6 interface`` (detail), VRFs, ``ip address dhcp``, ``eui-64``/``link-local``.
All devices share fake-switches' fixed RSA host key.

Measured (2-core test machine, Python 3.11.7, Twisted 26.10, netmiko 4.8; see
``test_fifty_devices``): 50 devices in one process ready in 0.3-0.4 s from ``start()``
(interpreter start and imports included; binding all 50 ports takes 0.04 s) with
54.6 MiB RSS; one device 53.9 MiB, 200 devices 56.6 MiB (about 15 KiB per device, the
rest is the interpreter with Twisted and fake-switches). Parsing the host key once per
process (:mod:`tests.iossim.ssh`) is what makes this fast: fake-switches' stock
``hook_to_reactor`` parses it per device, 35 ms each, 1.8 s for 50. Per device through
netmiko (median of 10): connect + enable 0.27 s, 4-line ``send_config_set`` 0.11 s,
``show ip interface`` + TextFSM 0.08 s, ``write memory`` 0.09 s. A fleet pass over 50
devices (connect, enable, 3 shows with TextFSM, a push, save) took 4.0 s with 10
threads, 3.0 s with 20; RSS then 57.5 MiB.
"""

from .bed import BedError, ControlError, DeviceSpec, IosSimBed, SimDevice

__all__ = ["BedError", "ControlError", "DeviceSpec", "IosSimBed", "SimDevice"]
