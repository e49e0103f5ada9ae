"""Simulated Cisco IOS routers: fake-switches 1.5.0, extended by subclassing.

Many routers are served by one process, ``python -m loopbackctl.lab.iossim`` (one
Twisted reactor; see :mod:`.server` for its spec and its control protocol). In a lab each
router listens on its own management addresses inside its own network namespace; the
runner enters a namespace only to open that router's listening sockets (see
``loopbackctl.lab.ios``, the lab's device kind, and the test suite's ``tests/iossim``, a
thin layer over it).

CLI (IOS abbreviations accepted, ambiguous ones refused): user EXEC ``enable`` (secret
compared as text; 3 wrong tries print ``% Bad secrets``), ``terminal length|width N``,
``show``, ``exit``; privileged EXEC ``configure terminal``, ``write [memory]``,
``copy running-config startup-config`` (``Destination filename [startup-config]?``, then
``Building configuration...`` / ``[OK]``), ``disable``, Configuration Rollback Confirmed
Change (``configure terminal revert timer {M | idle M}``, ``configure confirm``,
``configure revert {now | timer ...}``: see :mod:`.archive`); config ``[no] interface
LoopbackN`` (0..2147483647), ``vrf definition NAME`` (``address-family ipv4|ipv6``),
``[no] archive`` (`` [no] path URL``, `` [no] maximum N``), ``end``, ``exit``, ``do show
...``, ``default interface X``; interface ``[no] description``,
``ip address A M [secondary]``, ``no ip address [A M [secondary]]``, ``[no] ipv6 address
X/LEN``, ``[no] vrf forwarding NAME``, ``[no] ip ospf PID area A``, ``[no] ip pim MODE``,
``[no] shutdown``, ``exit``, ``end``; ``[no] router ospf PID [vrf NAME]`` (``[no]
router-id A``, ``network A W area X``, ``passive-interface X``) and ``[no] router bgp ASN``
(``[no] bgp router-id A``, ``neighbor ...``) with IOS's router-id selection (see
:mod:`.routing`); privileged EXEC ``clear ip ospf process`` (``Reset ALL OSPF processes?
[no]:``) and ``clear ip bgp *``.

Show commands (layouts from real IOS samples, see :mod:`.render`): ``show ip interface
[X]``, ``show ip interface brief [X]``, ``show ipv6 interface brief [X]``, ``show
interfaces [X]``, ``show running-config [interface X]``, ``show startup-config``, ``show
version``, ``show archive``, ``show archive config rollback timer``, ``show ip ospf``,
``show ip protocols``, ``show [ip] bgp summary`` (layouts from real samples, see
:mod:`.routing`); pipes ``| include|exclude|begin|section RE``.

Refusals as IOS prints them: ``% Invalid input detected at '^' marker.`` (caret under
the word), ``% Incomplete command.``, ``% Ambiguous command:  "..."``,
``Not a valid host address - A``, ``Bad mask /N for address A`` (network/broadcast
address; /32 off a loopback), ``Bad mask 0x... for address A`` (non-contiguous),
``% <network> overlaps with <interface>``, ``% Must delete secondary before deleting
primary``, ``% VRF X not configured.``, and the notice of a VRF change removing an
interface's addresses. Re-sending an address an interface already has changes nothing.
Switches per router: ``write memory`` asks ``[confirm]``; a router without IPv6 (every
IPv6 command is invalid input).

Not verified against a real router (chosen plausibly): ``% Secondary address not allowed
without primary address``; ``% X/N is overlapping with X/N on <if>`` for IPv6;
``no interface LoopbackN`` of an absent loopback is silent; ``no interface`` of a
physical port prints the invalid-input caret; an unknown one-word EXEC command prints the
invalid-input caret (real IOS tries to resolve it as a host name). Not implemented:
``show ipv6 interface`` (detail), ``ip address dhcp``, ``eui-64``/``link-local``.

Logins: password, or a public key listed for the user (a lab's routers take the lab's
key). Host key: the lab's (so its known_hosts holds them), else fake-switches' fixed RSA
key.

Importing this package imports nothing else (the lab's builder checks what the runner
needs without loading it); the modules below it import fake-switches and Twisted.

Measured (2-core test machine, Python 3.11.7, Twisted 26.10, netmiko 4.8): 50 routers
in a lab (namespaces, veths and the simulator; ``test_fifty_devices``) ready in about 0.5 s
with the simulator at 57 MiB RSS; 1,000 routers up in 8.3 s, the simulator's PSS 68 MiB
(``bench/bench_lab.py --ios``; about 15 KiB per router, the rest is the interpreter with
Twisted and fake-switches). Parsing the host key once per process (:mod:`.ssh`) is what
makes this fast: fake-switches' stock ``hook_to_reactor`` parses it per device, 35 ms
each. Per device through netmiko (median of 10, when the routers listened on 127.0.0.1):
connect + enable 0.27 s, 4-line ``send_config_set`` 0.11 s, ``show ip interface`` +
TextFSM 0.08 s, ``write memory`` 0.09 s. One process serves every router on one core:
``loopbackctl verify`` over 100 routers took 2.8 s, over 1,000 27 s.
"""

#: The physical ports a router has unless its spec says otherwise.
DEFAULT_PORTS = ("GigabitEthernet0/0", "GigabitEthernet0/1")
#: Applied at boot before a device's own startup lines, unless its spec gives its own:
#: one addressed, one unused port.
DEFAULT_BASE_CONFIG = (
    "interface GigabitEthernet0/0",
    " ip address 10.1.0.1 255.255.255.0",
    " no shutdown",
    "interface GigabitEthernet0/1",
    " no ip address",
    " shutdown",
)
#: The module the runner is started as.
RUNNER = "loopbackctl.lab.iossim"
