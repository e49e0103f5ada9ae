"""Real fleets on this machine: Linux hosts, FRR routers and simulated Cisco IOS routers,
for `loopbackctl lab` and for the test suite's beds alike (one implementation).

A lab is made of network namespaces, each with its own sshd (and, for an FRR router,
FRR's zebra, ospfd and staticd; IOS routers are served by one simulator process instead),
joined to this machine by veths on one bridge per management /24; FRR routers are joined
to each other by veth pairs in an OSPF ring.

Modules, from the bottom up:

- `netns`: commands, namespaces and processes (iproute2, /proc, signals);
- `addresses`: the address plan (management slots in 198.19.0.0/16 and
  2001:db8:ff00::/40, lab loopbacks in 198.18.0.0/16 and 2001:db8:fe00::/40);
- `state`: prefixes, state directories, owners, the lock, and the exact name patterns;
- `teardown`: the one teardown (close, `lab down`, reaping of labs whose owner died);
- `kinds`, `linux`, `frr`, `ios`: the kinds of device, as data (`DeviceKind`);
- `node`, `sshd`: devices, their sshd (lean shells, private /etc files);
- `iossim`: the IOS simulator (fake-switches, extended; the `lab` extra), run as its own
  process, ``python -m loopbackctl.lab.iossim``;
- `build`: `Lab` and `LabSpec`, the build and the per-device controls tests use;
- `inventory`, `twin`, `workspace`: the lab's inventory, the rehearsal twin, its DIR;
- `health`, `service`, `keeper`: `lab status`, `lab up`/`down`, the keeper process.

Importing this package imports nothing else: the keeper process stays small.
"""
