"""The wheel carries the templates: installed outside the checkout, it still renders."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from tests.conftest import ROOT


def test_wheel_installs_and_renders_outside_the_checkout(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(ROOT)],
        check=True,
    )
    wheel = next(dist.glob("loopbackctl-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True)
    # Dependencies come from the test environment; a directory named in a .pth file is not
    # a site directory, so the editable install of the checkout found there stays invisible.
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    work = tmp_path / "work"
    shutil.copytree(ROOT / "inventory", work / "inventory")
    where = subprocess.run(
        [
            str(py),
            "-c",
            "import loopbackctl.render as r; print(r.shipped_templates()['cisco_ios'])",
        ],
        cwd=work,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert where.startswith(str(venv)), where
    assert Path(where, "loopbacks.j2").is_file()

    out = subprocess.run(
        [str(venv / "bin" / "loopbackctl"), "render", "--limit", "r1,web2"],
        cwd=work,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert "interface Loopback0\n ip address" not in out.stdout  # description comes first
    assert " ip address 10.255.0.1 255.255.255.255\n" in out.stdout
    assert "ip address replace 198.18.200.2/32 dev lo\n" in out.stdout
    assert "name: lo" in out.stdout

    # The IOS simulator ships in the wheel and runs from it (its dependencies are the
    # [lab] extra, here the test environment's): a spec it refuses proves it started.
    spec = tmp_path / "spec.json"
    spec.write_text('{"devices": [{"name": "r1", "addresses": ["0.0.0.0"]}]}')
    sim = subprocess.run(
        [str(py), "-m", "loopbackctl.lab.iossim", "--spec", str(spec)],
        cwd=work,
        capture_output=True,
        text=True,
    )
    assert sim.returncode == 2, sim.stderr
    assert "listens on 127.0.0.1 only" in sim.stderr
    found = subprocess.run(
        [str(py), "-c", "import loopbackctl.lab.iossim.server as s; print(s.__file__)"],
        cwd=work, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert found.startswith(str(venv)), found
