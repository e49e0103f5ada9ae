"""Rendered netplan YAML goes through netplan's own parser (Debian netplan.io, libnetplan).

netplan's Python bindings live in Debian's /usr/share/netplan and load libnetplan with
ctypes, so they run under Debian's /usr/bin/python3 in a subprocess. These tests fail,
never skip, when netplan.io is missing: tests/run-all installs it.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from loopbackctl import inventory, render

HERE = Path(__file__).resolve().parent
DEBIAN_PYTHON = "/usr/bin/python3"
NETPLAN_SHARE = "/usr/share/netplan"

# Parse each file alone with netplan's parser, as `netplan generate` would, and report
# either netplan's error or the addresses of lo as netplan understood them.
CHECK = r"""
import json, sys, tempfile
sys.path.insert(0, sys.argv[1])
from netplan.libnetplan import LibNetplanException, Parser, State
import yaml
for path in sys.argv[2:]:
    try:
        parser = Parser()
        parser.load_yaml(path)
        state = State()
        state.import_parser_results(parser)
        with tempfile.TemporaryFile() as out:
            state.dump_yaml(out)
            out.seek(0)
            merged = yaml.safe_load(out.read())
        lo = merged["network"]["ethernets"]["lo"]
        result = {"ok": True, "addresses": lo.get("addresses", []), "match": lo.get("match")}
    except LibNetplanException as exc:
        result = {"ok": False, "error": str(exc)}
    print(json.dumps({"path": path, **result}))
"""


def netplan_parse(paths: list[Path]) -> dict[str, dict[str, object]]:
    """netplan's verdict on each file (written 0600, as netplan wants its files)."""
    for p in paths:
        p.chmod(0o600)
    probe = subprocess.run(
        [DEBIAN_PYTHON, "-c", f"import sys; sys.path.insert(0, {NETPLAN_SHARE!r}); import netplan"],
        capture_output=True,
        text=True,
    )
    assert probe.returncode == 0, (
        "netplan's parser is not available (Debian package netplan.io, module netplan in"
        f" {NETPLAN_SHARE} for {DEBIAN_PYTHON}); install it: apt-get install netplan.io\n"
        + probe.stderr
    )
    run = subprocess.run(
        [DEBIAN_PYTHON, "-c", CHECK, NETPLAN_SHARE, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    results = [json.loads(line) for line in run.stdout.splitlines()]
    return {r["path"]: r for r in results}


def rendered_netplan(location: Path, out: Path) -> dict[Path, set[str]]:
    """Render every Linux host's netplan file into `out`; file → addresses it must hold."""
    inv, _ = inventory.load(str(location))
    env = render.environment()
    files: dict[Path, set[str]] = {}
    for host in inv.hosts.values():
        if host.platform != "linux":
            continue
        path = out / f"90-loopbackctl-{host.name}.yaml"
        path.write_text(render.render_host(env, host)["netplan"], encoding="utf-8")
        want = {"127.0.0.1/8", "::1/128"}
        want |= {a.with_prefixlen for lb in host.loopbacks for a in lb.addresses}
        files[path] = want
    return files


@pytest.mark.parametrize("location", [HERE.parent / "inventory", HERE / "data" / "render"])
def test_netplan_accepts_what_we_render(location: Path, tmp_path: Path) -> None:
    files = rendered_netplan(location, tmp_path)
    assert len(files) >= 2
    verdicts = netplan_parse(list(files))
    for path, want in files.items():
        v = verdicts[str(path)]
        assert v["ok"], v
        assert v["match"] == {"name": "lo"}
        assert isinstance(v["addresses"], list)
        assert set(v["addresses"]) == want


def test_netplan_rejects_a_broken_file_so_the_check_can_fail(tmp_path: Path) -> None:
    files = rendered_netplan(HERE / "data" / "render", tmp_path)
    good = next(p for p, want in files.items() if "198.18.200.1/32" in want)
    text = good.read_text()
    no_prefix = tmp_path / "no-prefix.yaml"
    no_prefix.write_text(text.replace('"198.18.200.1/32"', '"198.18.200.1"'))
    unknown_key = tmp_path / "unknown-key.yaml"
    unknown_key.write_text(text.replace("      match:\n", "      matchh:\n"))
    bad_indent = tmp_path / "bad-indent.yaml"
    bad_indent.write_text(text.replace("\n      addresses:", "\n     addresses:"))
    verdicts = netplan_parse([good, no_prefix, unknown_key, bad_indent])
    assert verdicts[str(good)]["ok"]
    v = verdicts[str(no_prefix)]
    assert not v["ok"] and "missing /prefixlength" in str(v["error"])
    assert str(v["error"]).startswith(f"{no_prefix}:")  # netplan reports file:line:col
    v = verdicts[str(unknown_key)]
    assert not v["ok"] and "unknown key 'matchh'" in str(v["error"])
    assert not verdicts[str(bad_indent)]["ok"]
