"""Shards: one fleet run split over N runs (machines, CI jobs, the pods of a Kubernetes
Indexed Job) whose JSON reports merge into exactly the report of the one run. Pure: no
I/O; the CLI reads the files and prints.

Which shard a host is in depends on its name alone: shard K of N (1-based) holds the
hosts whose name's SHA-256, first 8 bytes read as a big-endian integer, is K-1 modulo N.
Adding or removing a host moves no other host; changing N moves most of them.

A shard's JSON report carries a `shard` section that lets the merge prove it has every
part of one run and nothing else:

    "shard": {"index": K, "count": N, "run": "sha256:...", "selected": M,
              "positions": [...], "interrupted": false}

`run` is a digest of what the whole run is: the mode and the options that change results,
and every selected host in order (name, platform, address, user, intended loopbacks,
router-id and loopbackctl's own persistence settings; never a password, secret or other
tool's data; for a host loopbackctl skips, its name, platform and why). `selected` is how
many hosts the whole run reports on (skipped ones too); `positions` gives each of the
shard's hosts its place among them, so the merge restores the one run's order and knows
a host is missing.

Router-id uniqueness (and, with --routing, router-id collisions among the routers'
live routing processes) are fleet-wide checks: a shard cannot know the other shards'
router-ids, so each of its hosts with a router-id gets a passing, informational check of
the same name saying it is decided at the merge, and the merge replaces it with the real
check over all shards (the `router_id` and `router_ids` fields carry what that needs).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from loopbackctl import routing
from loopbackctl.errors import UsageError
from loopbackctl.model import Host
from loopbackctl.report import STATUSES
from loopbackctl.result import Check, HostResult, LiveRouterId
from loopbackctl.runner import check_router_ids

DEFERRED = "unique across all shards? decided by `loopbackctl report merge`"
# The fleet-wide checks a shard defers: check name -> the result field it needs.
_DEFERRED_CHECKS = {"router-id": "router_id", "router-ids in use": "router_ids"}
# loopbackctl's settings that change what a run finds beyond the loopbacks; everything
# under `data` may belong to other tools (and may be secret): it never enters the digest.
_SETTINGS_IN_DIGEST = ("persist", "netplan_dir", "allow_subnet_loopbacks")
_SPEC = re.compile(r"(?P<k>\d+|job)(?:/(?P<n>\d+))?")


def shard_of(name: str, count: int) -> int:
    """The shard (1..count) that host `name` belongs to."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def parse_spec(spec: str, env: Mapping[str, str]) -> tuple[int, int]:
    """`--shard` as (K, N): `K/N` (1 <= K <= N), or `job[/N]`: K from a Kubernetes Indexed
    Job's $JOB_COMPLETION_INDEX (0-based, so K is it plus 1), N given or from
    $JOB_COMPLETIONS. UsageError with the fix when it cannot be read."""
    m = _SPEC.fullmatch(spec.strip())
    if m is None:
        raise UsageError(
            f"--shard {spec!r}: write K/N (shard K of N, e.g. 2/4) or job/N"
            " (K from $JOB_COMPLETION_INDEX)"
        )
    count_text = m["n"]
    if m["k"] == "job":
        index = env.get("JOB_COMPLETION_INDEX", "").strip()
        if not index.isdigit():
            state = repr(index) if index else "not set"
            raise UsageError(
                f"--shard {spec}: $JOB_COMPLETION_INDEX is {state}; it is set in the pods of"
                " a Kubernetes Indexed Job; elsewhere write --shard K/N"
            )
        k = int(index) + 1
        if count_text is None:
            count_text = env.get("JOB_COMPLETIONS", "").strip() or None
            if count_text is None or not count_text.isdigit():
                raise UsageError(
                    f"--shard {spec}: how many shards? write --shard job/N or set"
                    " $JOB_COMPLETIONS to the Job's completions"
                )
    else:
        if count_text is None:
            raise UsageError(f"--shard {spec}: write K/N, e.g. {spec}/4 for shard {spec} of 4")
        k = int(m["k"])
    n = int(count_text)
    if n < 1 or not 1 <= k <= n:
        raise UsageError(f"--shard {k}/{n}: K must be between 1 and N, and N at least 1")
    return k, n


def split(names: Sequence[str], shard: tuple[int, int]) -> list[int]:
    """Positions in `names` of the hosts in `shard` (K, N), in order."""
    k, n = shard
    return [i for i, name in enumerate(names) if shard_of(name, n) == k]


def run_digest(
    options: Mapping[str, object],
    hosts: Iterable[Host],
    skipped: Iterable[tuple[str, str | None, str]] = (),
) -> str:
    """What makes shard reports parts of one run (see the module docstring): the options,
    every managed host selected, in order, and the (name, platform, reason) of every
    selected host loopbackctl skips."""
    h = hashlib.sha256(repr(sorted(options.items())).encode())
    for host in hosts:
        settings = {k: host.settings[k] for k in _SETTINGS_IN_DIGEST if k in host.settings}
        fields = (host.name, host.platform, host.hostname, host.port, host.username)
        h.update(repr((fields, host.loopbacks, host.router_id, host.purge, settings)).encode())
        h.update(b"\n")
    h.update(repr(sorted(skipped)).encode())
    return "sha256:" + h.hexdigest()


@dataclass(frozen=True)
class Shard:
    """One shard of a run: (K, N), the run digest, and where its hosts sit in the run."""

    index: int
    count: int
    run: str
    selected: int
    positions: tuple[int, ...]
    members: frozenset[str] = frozenset()

    @classmethod
    def of(cls, names: Sequence[str], shard: tuple[int, int], run: str) -> Shard:
        """Shard (K, N) of the run whose hosts are `names`, in the order it reports them."""
        positions = tuple(split(names, shard))
        return cls(*shard, run, len(names), positions, frozenset(names[i] for i in positions))

    def section(self, interrupted: bool) -> dict[str, Any]:
        """The report's `shard` section."""
        return {
            "index": self.index,
            "count": self.count,
            "run": self.run,
            "selected": self.selected,
            "positions": list(self.positions),
            "interrupted": interrupted,
        }


def defer_fleet_checks(results: Sequence[HostResult]) -> None:
    """A shard's stand-ins for the fleet-wide checks (see the module docstring)."""
    for r in results:
        for name, needs in _DEFERRED_CHECKS.items():
            if getattr(r, needs):
                r.checks.append(Check(name, True, DEFERRED, "info"))


# -- merging --------------------------------------------------------------------------


@dataclass(frozen=True)
class Merged:
    results: list[HostResult]
    interrupted: bool


def _fail(where: str, what: str) -> UsageError:
    return UsageError(f"{where}: {what}")


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _strs(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _opt_str(v: Any) -> bool:
    return v is None or isinstance(v, str)


def _check(where: str, d: Any) -> Check:
    ok = (
        isinstance(d, dict)
        and isinstance(d.get("name"), str)
        and isinstance(d.get("ok"), bool)
        and isinstance(d.get("detail"), str)
        and d.get("severity", "error") in ("error", "warning", "info")
    )
    if not ok:
        raise _fail(where, f"a check is not {{name, ok, detail, severity}}: {str(d)[:80]}")
    return Check(d["name"], d["ok"], d["detail"], d.get("severity", "error"))


def _router_ids(v: Any) -> list[LiveRouterId] | None:
    """`router_ids` as the JSON report writes it; None when it is not that."""
    keys = ("protocol", "vrf", "router_id")
    if not isinstance(v, list):
        return None
    if not all(isinstance(x, dict) and all(isinstance(x.get(k), str) for k in keys) for x in v):
        return None
    return [LiveRouterId(*(x[k] for k in keys)) for x in v]


def _host(where: str, d: Any) -> HostResult:
    if not isinstance(d, dict) or not isinstance(d.get("name"), str):
        raise _fail(where, "a host entry has no name")
    where = f"{where}: host {d['name']}"
    shapes = {
        "platform": isinstance(d.get("platform"), str),
        "status": d.get("status") in STATUSES,
        "changes": _strs(d.get("changes", [])),
        "commands": _strs(d.get("commands", [])),
        "unmanaged": _strs(d.get("unmanaged", [])),
        "checks": isinstance(d.get("checks", []), list),
        "duration": isinstance(d.get("duration", 0), int | float),
        **{k: _opt_str(d.get(k)) for k in ("error", "diff", "rollback", "router_id")},
        "router_ids": _router_ids(d.get("router_ids", [])) is not None,
    }
    bad = [k for k, ok in shapes.items() if not ok]
    if bad:
        raise _fail(where, f"{', '.join(bad)} not as a loopbackctl JSON report writes it")
    return HostResult(
        name=d["name"],
        platform=d["platform"],
        status=d["status"],
        changes=list(d.get("changes", [])),
        checks=[_check(where, c) for c in d.get("checks", [])],
        error=d.get("error"),
        commands=list(d.get("commands", [])),
        diff=d.get("diff"),
        unmanaged=list(d.get("unmanaged", [])),
        rollback=d.get("rollback"),
        router_id=d.get("router_id"),
        router_ids=_router_ids(d.get("router_ids", [])) or [],
        duration=float(d.get("duration", 0)),
    )


_NOT_A_SHARD = (
    "not a shard report: make each one with `apply` or `verify` --shard K/N --format json"
)


def _shard(where: str, doc: Any) -> tuple[Shard, bool, list[HostResult]]:
    sec = doc.get("shard") if isinstance(doc, dict) else None
    if not isinstance(sec, dict) or not isinstance(doc.get("hosts"), list):
        raise _fail(where, _NOT_A_SHARD)
    ints = all(_int(sec.get(k)) for k in ("index", "count", "selected"))
    positions = sec.get("positions")
    if not (
        ints
        and isinstance(sec.get("run"), str)
        and isinstance(sec.get("interrupted"), bool)
        and isinstance(positions, list)
        and all(_int(p) for p in positions)
    ):
        raise _fail(where, f"its shard section is damaged; {_NOT_A_SHARD}")
    hosts = [_host(where, h) for h in doc["hosts"]]
    if len(positions) != len(hosts):
        raise _fail(where, f"{len(hosts)} host(s) but {len(positions)} position(s): damaged")
    shard = Shard(sec["index"], sec["count"], sec["run"], sec["selected"], tuple(positions))
    return shard, sec["interrupted"], hosts


def _same_run(parts: Sequence[tuple[str, Shard]]) -> None:
    first_file, first = parts[0]
    for file, s in parts[1:]:
        if s.count != first.count:
            raise UsageError(
                f"{first_file} is shard {first.index}/{first.count} but {file} is shard"
                f" {s.index}/{s.count}: merge the shards of one run"
            )
        if s.run != first.run or s.selected != first.selected:
            raise UsageError(
                f"{first_file} and {file} are not shards of one run: the inventory, the"
                " selection (--limit) or the options differ"
            )
    seen: dict[int, str] = {}
    for file, s in parts:
        if s.index in seen:
            raise UsageError(f"{seen[s.index]} and {file} are both shard {s.index}/{s.count}")
        seen[s.index] = file
    missing = [k for k in range(1, first.count + 1) if k not in seen]
    if missing:
        names = ", ".join(f"{k}/{first.count}" for k in missing)
        raise UsageError(f"shard {names} missing: merge all {first.count} shards of the run")


def _stand_in(c: Check) -> bool:
    return c.name in _DEFERRED_CHECKS and c.detail == DEFERRED and c.severity == "info"


def merge(documents: Sequence[tuple[str, Any]]) -> Merged:
    """(file name, parsed JSON) of every shard of one run → that run's results, in its
    order, with the fleet-wide checks made over all of them. UsageError (naming the
    file) for a report that is not a shard report, shards of different runs, a shard
    missing or given twice, a host in two shards, or a host missing."""
    if not documents:
        raise UsageError("report merge: name the shard reports (JSON files) to merge")
    parts = []
    for where, doc in documents:
        parts.append((where, *_shard(where, doc)))
    _same_run([(where, s) for where, s, _, _ in parts])
    selected = parts[0][1].selected
    placed: dict[int, tuple[str, HostResult]] = {}
    owner: dict[str, str] = {}
    for where, s, _, hosts in parts:
        for pos, r in zip(s.positions, hosts, strict=True):
            if r.name in owner:
                two = f"{owner[r.name]} and {where}"
                raise UsageError(f"host {r.name} is in two shard reports: {two}")
            if not 0 <= pos < selected or pos in placed:
                raise _fail(where, f"host {r.name} has a position no run gave it: damaged")
            owner[r.name] = where
            placed[pos] = (where, r)
    if len(placed) != selected:
        raise UsageError(
            f"the shard reports hold {len(placed)} of the run's {selected} hosts: a report"
            " was cut short or edited"
        )
    results = [placed[i][1] for i in range(selected)]
    for r in results:
        r.checks = [
            c for c in r.checks if not (c.name in _DEFERRED_CHECKS and c.detail == DEFERRED)
        ]
    check_router_ids(results)
    routing.collision_checks(results)  # nobody has live router-ids unless --routing ran
    return Merged(results, any(interrupted for _, _, interrupted, _ in parts))
