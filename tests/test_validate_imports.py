"""`--version`, `validate` and `render` start fast: no SSH stack (netmiko, paramiko) and
no device parsers (ntc-templates, textfsm) are imported on those paths."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("netmiko", "paramiko", "ntc_templates", "textfsm", "cryptography")

PROBE = """
import json, sys
from loopbackctl.cli import main
try:
    rc = main(json.loads(sys.argv[1]))
except SystemExit as exc:
    rc = exc.code
heavy = json.loads(sys.argv[2])
print(json.dumps({"rc": rc, "loaded": sorted({m.split(".")[0] for m in sys.modules} & set(heavy))}))
"""


def imported(argv: list[str]) -> tuple[int, list[str]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(argv), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.splitlines()[-1])
    return result["rc"], result["loaded"]


@pytest.mark.parametrize(
    "argv",
    [
        ["--version"],
        ["validate", "-i", "inventory"],
        ["validate", "-i", "tests/data/bad/many_errors_three_files"],
        ["render", "-i", "inventory"],
        ["render", "-i", "inventory", "--format", "json", "--limit", "core"],
    ],
    ids=lambda a: " ".join(a),
)
def test_no_heavy_imports(argv: list[str]) -> None:
    rc, loaded = imported(argv)
    assert rc in (0, 2)
    assert loaded == [], f"{' '.join(argv)} imported {loaded}"


def test_the_probe_would_see_an_import() -> None:
    """The check is real: a path that does import netmiko is reported."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    code = PROBE.replace(
        "from loopbackctl.cli import main", "import netmiko\nfrom loopbackctl.cli import main"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, json.dumps(["--version"]), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert "netmiko" in json.loads(run.stdout.splitlines()[-1])["loaded"]
