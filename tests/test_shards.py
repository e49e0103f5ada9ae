"""Shards without a device: which shard a host is in, `--shard` parsing, the run digest,
and `report merge` (the merge of shard reports into the one run's report, and every way
a set of reports can fail to be one run)."""

from __future__ import annotations

import copy
import hashlib
import ipaddress
import json
from pathlib import Path
from typing import Any

import pytest

from loopbackctl import report, routing, shards
from loopbackctl.cli import main
from loopbackctl.errors import UsageError
from loopbackctl.model import Host, Loopback
from loopbackctl.result import Check, HostResult, LiveRouterId
from loopbackctl.runner import check_router_ids


def test_shard_of_is_the_first_8_bytes_of_sha256_modulo_n() -> None:
    for name in ("r1", "h1", "core-router-17.example.net", "zürich-1"):
        for n in (1, 2, 3, 7, 64):
            digest = hashlib.sha256(name.encode()).digest()
            assert shards.shard_of(name, n) == int.from_bytes(digest[:8], "big") % n + 1
    # Pinned: the README documents this scheme; shards made by two versions must agree.
    assert [shards.shard_of(f"h{i}", 4) for i in range(1, 9)] == [4, 3, 1, 4, 1, 3, 1, 1]


def test_every_host_is_in_exactly_one_shard_and_shards_are_balanced() -> None:
    names = [f"edge-{i:04d}" for i in range(1000)]
    parts = [shards.split(names, (k, 4)) for k in range(1, 5)]
    flat = sorted(p for part in parts for p in part)
    assert flat == list(range(1000))
    assert all(200 <= len(p) <= 300 for p in parts), [len(p) for p in parts]
    for part in parts:
        assert part == sorted(part)  # each shard keeps the selection's order


def test_adding_or_removing_a_host_moves_no_other_host() -> None:
    names = [f"edge-{i:04d}" for i in range(500)]
    before = {n: shards.shard_of(n, 5) for n in names}
    grown = [*names[:250], "new-router", *names[250:]]
    after = {grown[p]: k for k in range(1, 6) for p in shards.split(grown, (k, 5))}
    assert {n: after[n] for n in names} == before
    shrunk = [n for n in names if n != "edge-0007"]
    again = {shrunk[p]: k for k in range(1, 6) for p in shards.split(shrunk, (k, 5))}
    assert again == {n: k for n, k in before.items() if n != "edge-0007"}


@pytest.mark.parametrize(
    ("spec", "env", "want"),
    [
        ("2/4", {}, (2, 4)),
        (" 1/1 ", {}, (1, 1)),
        ("4/4", {"JOB_COMPLETION_INDEX": "0"}, (4, 4)),  # explicit K wins over the env
        ("job/4", {"JOB_COMPLETION_INDEX": "0"}, (1, 4)),
        ("job/4", {"JOB_COMPLETION_INDEX": "3"}, (4, 4)),
        ("job", {"JOB_COMPLETION_INDEX": "2", "JOB_COMPLETIONS": "3"}, (3, 3)),
    ],
)
def test_parse_spec(spec: str, env: dict[str, str], want: tuple[int, int]) -> None:
    assert shards.parse_spec(spec, env) == want


@pytest.mark.parametrize(
    ("spec", "env", "message"),
    [
        ("0/4", {}, "between 1 and N"),
        ("5/4", {}, "between 1 and N"),
        ("1/0", {}, "between 1 and N"),
        ("2", {}, "write K/N, e.g. 2/4"),
        ("a/b", {}, "write K/N"),
        ("-1/4", {}, "write K/N"),
        ("job/4", {}, "$JOB_COMPLETION_INDEX is not set"),
        ("job/4", {"JOB_COMPLETION_INDEX": "x"}, "$JOB_COMPLETION_INDEX is 'x'"),
        ("job/4", {"JOB_COMPLETION_INDEX": "4"}, "between 1 and N"),
        ("job", {"JOB_COMPLETION_INDEX": "0"}, "how many shards"),
    ],
)
def test_parse_spec_errors(spec: str, env: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("$", r"\$").replace("(", r"\(")):
        shards.parse_spec(spec, env)


def _host(name: str, *addrs: str, **kw: Any) -> Host:
    lb = Loopback("Loopback0", tuple(ipaddress.ip_interface(a) for a in addrs))
    fields: dict[str, Any] = {"hostname": "198.18.0.1", "port": 22, "loopbacks": (lb,)}
    fields.update(kw)
    return Host(name, "cisco_ios", **fields)


def test_run_digest_covers_intent_and_order_but_no_secret() -> None:
    opts = {"mode": "verify", "check": False}
    hosts = [_host("r1", "10.255.0.1/32"), _host("r2", "10.255.0.2/32")]
    base = shards.run_digest(opts, hosts)
    assert base.startswith("sha256:") and base == shards.run_digest(dict(opts), list(hosts))
    secretless = [
        _host(
            "r1",
            "10.255.0.1/32",
            password="hunter2",
            data={"snmp_community": "s3cret"},
            connection_options={"netmiko": {"extras": {"secret": "enable!"}}},
        ),
        hosts[1],
    ]
    assert shards.run_digest(opts, secretless) == base
    assert shards.run_digest(opts, hosts[::-1]) != base
    assert shards.run_digest(opts, hosts[:1]) != base
    assert shards.run_digest({**opts, "mode": "apply"}, hosts) != base
    assert shards.run_digest(opts, [_host("r1", "10.255.0.9/32"), hosts[1]]) != base
    assert shards.run_digest(opts, [_host("r1", "10.255.0.1/32", port=2222), hosts[1]]) != base
    persisted = [_host("r1", "10.255.0.1/32", settings={"persist": "netplan"}), hosts[1]]
    assert shards.run_digest(opts, persisted) != base
    skipping = shards.run_digest(opts, hosts, [("sw1", "junos", "not driven")])
    assert skipping != base
    assert skipping != shards.run_digest(opts, hosts, [("sw2", "junos", "not driven")])


# -- merge ---------------------------------------------------------------------------


def _results() -> list[HostResult]:
    """Six routers as one run found them: r2 and r5 would share router-id 10.255.99.99;
    the live OSPF processes of r1 and r4 (verify --routing) do share 10.255.7.7."""
    rid = {"r1": "10.255.0.1", "r2": "10.255.99.99", "r3": None, "r4": "10.255.0.4"}
    rid |= {"r5": "10.255.99.99", "r6": "10.255.0.6"}
    out = []
    for name, router_id in rid.items():
        r = HostResult(name, "cisco_ios", "ok", router_id=router_id, duration=0.25)
        r.checks = [Check("Loopback0 10.255.0.1/32", True, "present")]
        out.append(r)
    out[2].status, out[2].error = "unreachable", "r3: connection refused"
    out[3].status, out[3].changes = "drift", ["Loopback0: add 10.255.1.4/32"]
    out[3].checks.append(Check("Loopback0 10.255.1.4/32", False, "missing"))
    out[0].router_ids = [LiveRouterId("ospf", "default", "10.255.7.7")]
    out[3].router_ids = [LiveRouterId("ospf", "default", "10.255.7.7")]
    out[5].router_ids = [LiveRouterId("ospf", "default", "10.255.0.6")]
    return out


NAMES = ["r1", "r2", "r3", "r4", "r5", "r6"]
RUN = "sha256:" + "ab" * 32


def _shard_docs(n: int, results: list[HostResult] | None = None) -> list[dict[str, Any]]:
    """The JSON reports N shards of `_results()` would write."""
    results = results or _results()
    docs = []
    for k in range(1, n + 1):
        positions = shards.split(NAMES, (k, n))
        part = [copy.deepcopy(results[p]) for p in positions]
        shards.defer_fleet_checks(part)
        shard = shards.Shard(k, n, RUN, len(NAMES), tuple(positions))
        docs.append(json.loads(report.to_json(part, shard.section(False))))
    return docs


def _one_run(results: list[HostResult] | None = None) -> dict[str, Any]:
    results = results or _results()
    check_router_ids(results)
    routing.collision_checks(results)
    return dict(json.loads(report.to_json(results)))


def _merge(docs: list[dict[str, Any]]) -> shards.Merged:
    return shards.merge([(f"s{i}.json", d) for i, d in enumerate(docs, 1)])


def test_shards_split_the_router_id_clashes() -> None:
    for a, b in (("r2", "r5"), ("r1", "r4")):  # what the next tests need
        assert shards.shard_of(a, 2) != shards.shard_of(b, 2)
        assert shards.shard_of(a, 3) != shards.shard_of(b, 3)


@pytest.mark.parametrize("n", [1, 2, 3, 6, 9])
def test_merge_is_the_one_run_report(n: int) -> None:
    docs = _shard_docs(n)
    for doc in docs:  # in a shard, router-id is decided later and fails nobody
        for h in doc["hosts"]:
            rid = [c for c in h["checks"] if c["name"] == "router-id"]
            assert rid == ([] if h["router_id"] is None else [
                {"name": "router-id", "ok": True, "detail": shards.DEFERRED, "severity": "info"}
            ])  # fmt: skip
            live = [c for c in h["checks"] if c["name"] == "router-ids in use"]
            assert live == ([] if not h["router_ids"] else [
                {"name": "router-ids in use", "ok": True, "detail": shards.DEFERRED,
                 "severity": "info"}
            ])  # fmt: skip
            assert h["status"] != "drift" or h["name"] == "r4"
    merged = _merge(list(reversed(docs)))  # the order of the files does not matter
    assert not merged.interrupted
    assert json.loads(report.to_json(merged.results)) == _one_run()
    by_name = {r.name: r for r in merged.results}
    for name, other in (("r2", "r5"), ("r5", "r2")):
        assert by_name[name].status == "drift"
        (rid,) = [c for c in by_name[name].checks if c.name == "router-id"]
        assert not rid.ok and other in rid.detail
    for name, other in (("r1", "r4"), ("r4", "r1")):
        (live,) = [c for c in by_name[name].checks if c.name == "router-id collision"]
        assert not live.ok and f"ospf router-id 10.255.7.7 is also used by {other}" in live.detail
    assert by_name["r1"].status == "drift"
    assert [c.name for c in by_name["r6"].checks][-1] == "router-ids in use"


def test_merge_renders_every_format_as_the_one_run() -> None:
    merged = _merge(_shard_docs(3))
    one = _results()
    check_router_ids(one)
    routing.collision_checks(one)
    for fmt in ("table", "json", "junit"):
        assert report.render(merged.results, fmt) == report.render(one, fmt)


def test_an_interrupted_shard_makes_the_merge_interrupted() -> None:
    docs = _shard_docs(2)
    docs[1]["shard"]["interrupted"] = True
    assert _merge(docs).interrupted


def test_an_empty_shard_merges() -> None:
    docs = _shard_docs(9)
    assert any(not d["hosts"] for d in docs)
    assert json.loads(report.to_json(_merge(docs).results)) == _one_run()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: d.pop(), r"shard 3/3 missing"),
        (lambda d: d.pop(0), r"shard 1/3 missing"),
        (lambda d: d.append(copy.deepcopy(d[1])), r"s2.json and s4.json are both shard 2/3"),
        (lambda d: d[1]["shard"].update(run="sha256:" + "cd" * 32), r"not shards of one run"),
        (lambda d: d[2]["shard"].update(selected=7), r"not shards of one run"),
        (lambda d: d[1]["shard"].update(count=4), r"s1.json is shard 1/3 but s2.json is shard"),
        (lambda d: d[0].pop("shard"), r"s1.json: not a shard report"),
        (lambda d: d[0]["shard"].update(index="1"), r"s1.json: its shard section is damaged"),
        (lambda d: d[0]["shard"]["positions"].pop(), r"s1.json: \d host\(s\) but \d position"),
        (lambda d: d[0]["hosts"][0].update(status="fine"), r"s1.json: host r\d: status not"),
        (lambda d: d[0]["hosts"][0].update(checks=[{"ok": 1}]), r"s1.json: host r\d: a check"),
        (lambda d: d[0]["hosts"][0].pop("name"), r"s1.json: a host entry has no name"),
        (
            lambda d: d[0]["hosts"][0].update(router_ids=[{"protocol": "ospf"}]),
            r"s1.json: host r\d: router_ids not as",
        ),
    ],
)
def test_merge_refuses_what_is_not_one_run(damage: Any, message: str) -> None:
    docs = _shard_docs(3)
    damage(docs)
    with pytest.raises(UsageError, match=message):
        _merge(docs)


def test_merge_refuses_a_host_in_two_shards_and_a_missing_host() -> None:
    docs = _shard_docs(2)
    a, b = docs
    moved = a["hosts"][0]
    b["hosts"].append(copy.deepcopy(moved))
    b["shard"]["positions"].append(a["shard"]["positions"][0])
    with pytest.raises(UsageError, match=f"host {moved['name']} is in two shard reports"):
        _merge(docs)
    b["hosts"].pop()
    b["shard"]["positions"].pop()
    a["hosts"].pop(0)
    a["shard"]["positions"].pop(0)
    with pytest.raises(UsageError, match="hold 5 of the run's 6 hosts"):
        _merge(docs)


def _write(tmp: Path, docs: list[dict[str, Any]]) -> list[str]:
    files = []
    for i, d in enumerate(docs, 1):
        f = tmp / f"s{i}.json"
        f.write_text(json.dumps(d))
        files.append(str(f))
    return files


def test_report_merge_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = _write(tmp_path, _shard_docs(3))
    assert main(["report", "merge", *files, "--format", "json"]) == 1  # r2, r4, r5 drift
    assert json.loads(capsys.readouterr().out) == _one_run()
    assert main(["report", "merge", *files]) == 1
    table = capsys.readouterr().out
    assert table.splitlines()[-1] == "6 host(s): 1 ok, 4 drift, 1 unreachable"
    one = _results()
    check_router_ids(one)
    routing.collision_checks(one)
    assert table == report.to_table(one)

    clean = _results()
    clean[2].status = clean[3].status = "ok"
    clean[4].router_id = "10.255.0.5"
    clean[3].router_ids = [LiveRouterId("ospf", "default", "10.255.0.4")]
    clean_files = _write(tmp_path, _shard_docs(2, clean))
    assert main(["report", "merge", *clean_files, "--format", "junit"]) == 0
    assert "<testsuites" in capsys.readouterr().out

    interrupted = _shard_docs(2, clean)
    interrupted[0]["shard"]["interrupted"] = True
    assert main(["report", "merge", *_write(tmp_path, interrupted)]) == 130


def test_report_merge_reads_stdin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    docs = _shard_docs(2)
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(docs[0])))
    files = _write(tmp_path, docs[1:])
    assert main(["report", "merge", "-", *files, "--format", "json"]) == 1
    assert json.loads(capsys.readouterr().out) == _one_run()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read it: No such file or directory"),
        ("{not json", ":1:2: not JSON"),
        ('{"hosts": [], "summary": {}}', "not a shard report"),
        ("[1, 2]", "not a shard report"),
    ],
)
def test_report_merge_errors_exit_2_in_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    good = _write(tmp_path, _shard_docs(2))
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    assert main(["report", "merge", str(bad), *good]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"loopbackctl: error: {bad}") and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_report_merge_needs_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "merge"]) == 2
    assert "FILE" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--shard", "1/2"], ["--processes", "2"]])
def test_local_mode_refuses_fleet_splitting(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", "--local", *argv]) == 2
    assert "--local checks this machine" in capsys.readouterr().err
