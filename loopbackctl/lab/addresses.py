"""The address plan of labs and test beds: where management, links and loopbacks live.

Every address is inside 198.18.0.0/15 (the benchmarking range) or 2001:db8::/32 (the
documentation range), split in two parts that never overlap:

- **Management** — 198.19.0.0/16 and 2001:db8:ff00::/40. A *slot* is one /24 and one /64:
  slot X is 198.19.X.0/24 and 2001:db8:ffXX::/64 (X = 0..255). A lab or bed takes one slot
  per 253 devices (each slot gets its own bridge holding .254 and ::fe; device N of the slot
  holds .N and ::N), and one more slot for the point-to-point links between its routers
  (/31s). Slots are chosen under the lock of the state directory: never one another live
  lab or bed holds, never one that overlaps an address or a route of this machine.
- **Loopbacks** — 198.18.0.0/16 and 2001:db8:fe00::/40. The device at 198.19.X.N gets
  198.18.X.N/32 and 2001:db8:feXX::N/128 as its lab loopback addresses (the ones written
  into a lab's inventory): unique across live labs because slots are. A slot is skipped
  when its loopback /24 or /64 overlaps an address or route of this machine, too.
  Tests put addresses of their own elsewhere in 198.18.0.0/16 and 2001:db8::/32.

Neighbour entries between this machine and each device's management address are pinned
(permanent, with MAC addresses chosen per slot): the kernel's neighbour tables are shared
by every namespace and hold 1,024 learned entries by default, which a lab of 1,000
devices (one entry each way, per address family) would overflow; permanent entries do
not count against that limit, and no ARP or neighbour discovery is ever needed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from loopbackctl.lab.errors import LabError

ALLOWED4 = ipaddress.IPv4Network("198.18.0.0/15")
ALLOWED6 = ipaddress.IPv6Network("2001:db8::/32")
MGMT4 = ipaddress.IPv4Network("198.19.0.0/16")
MGMT6 = ipaddress.IPv6Network("2001:db8:ff00::/40")
LOOP4 = ipaddress.IPv4Network("198.18.0.0/16")
LOOP6 = ipaddress.IPv6Network("2001:db8:fe00::/40")
SLOTS = 256
PER_SLOT = 253  # .1 .. .253; .254 is the bridge
LINKS_PER_SLOT = 128  # /31s in a /24

IPNet = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Slot:
    """One /24 + /64 of the management part (and its twin /24 + /64 of loopbacks)."""

    index: int

    @property
    def net4(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network((int(MGMT4.network_address) + (self.index << 8), 24))

    @property
    def net6(self) -> ipaddress.IPv6Network:
        return ipaddress.IPv6Network((int(MGMT6.network_address) + (self.index << 80), 64))

    @property
    def loop4(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network((int(LOOP4.network_address) + (self.index << 8), 24))

    @property
    def loop6(self) -> ipaddress.IPv6Network:
        return ipaddress.IPv6Network((int(LOOP6.network_address) + (self.index << 80), 64))

    @property
    def gw4(self) -> ipaddress.IPv4Address:
        return self.net4[254]

    @property
    def gw6(self) -> ipaddress.IPv6Address:
        return self.net6[0xFE]

    @property
    def gw_mac(self) -> str:
        """The bridge's MAC address (set, not left to the kernel: hosts pin it)."""
        return self.mac(0xFE)

    def mac(self, n: int) -> str:
        """Device n's eth0 MAC: locally administered, 02:6c:62 ("lb"), slot, n."""
        return f"02:6c:62:{self.index:02x}:00:{n:02x}"

    def host4(self, n: int) -> ipaddress.IPv4Address:
        return self.net4[n]

    def host6(self, n: int) -> ipaddress.IPv6Address:
        return self.net6[n]

    def loopback4(self, n: int) -> ipaddress.IPv4Interface:
        return ipaddress.IPv4Interface((self.loop4[n], 32))

    def loopback6(self, n: int) -> ipaddress.IPv6Interface:
        return ipaddress.IPv6Interface((self.loop6[n], 128))

    def link4(self, k: int) -> tuple[ipaddress.IPv4Interface, ipaddress.IPv4Interface]:
        """The two ends of point-to-point link k (0..127) of a links slot, as /31s."""
        base = self.net4[2 * k]
        return ipaddress.IPv4Interface((base, 31)), ipaddress.IPv4Interface((base + 1, 31))

    def networks(self) -> tuple[IPNet, ...]:
        return (self.net4, self.net6, self.loop4, self.loop6)


def slots_needed(devices: int, routers: int) -> int:
    """Management slots for `devices` (one per 253), plus one for router links."""
    return -(-devices // PER_SLOT) + (1 if routers >= 2 else 0)


def pick_slots(
    count: int, taken: Collection[int], machine: Sequence[IPNet], start: int = 0
) -> list[Slot]:
    """`count` free slots, searched from `start` round the 256; LabError when too few."""
    found: list[Slot] = []
    for k in range(SLOTS):
        slot = Slot((start + k) % SLOTS)
        if slot.index in taken or _clashes(slot, machine):
            continue
        found.append(slot)
        if len(found) == count:
            return found
    raise LabError(
        f"no {count} free /24 left in {MGMT4} for a lab: "
        f"{len(found)} free; tear down other labs (loopbackctl lab status --all)"
    )


def _clashes(slot: Slot, machine: Sequence[IPNet]) -> bool:
    for n in machine:
        for m in slot.networks():
            if isinstance(n, ipaddress.IPv4Network) and isinstance(m, ipaddress.IPv4Network):
                if n.overlaps(m):
                    return True
            elif (
                isinstance(n, ipaddress.IPv6Network)
                and isinstance(m, ipaddress.IPv6Network)
                and n.overlaps(m)
            ):
                return True
    return False


def in_lab_space(net: IPNet) -> bool:
    """True when `net` lies inside 198.18.0.0/15 or 2001:db8::/32."""
    if isinstance(net, ipaddress.IPv4Network):
        return net.subnet_of(ALLOWED4)
    return net.subnet_of(ALLOWED6)


def in_management(net: IPNet) -> bool:
    """True when `net` overlaps the management part (beds' and labs' own subnets)."""
    if isinstance(net, ipaddress.IPv4Network):
        return net.overlaps(MGMT4)
    return net.overlaps(MGMT6)
