"""A clone of the repository alone, in an empty directory, passes the recorded-output,
fail-closed and simulator-fidelity tests: every sample they read is committed, nothing
beside the checkout is needed."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
TESTS = [
    "tests/test_ios_parse.py",
    "tests/test_ios_samples.py",
    "tests/test_linux_samples.py",
    "tests/test_parse_fail_closed.py",
    "tests/test_iossim.py",
]


def git(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    # safe.directory: CI may run as another user than the one that checked the tree out.
    return subprocess.run(
        ["git", "-c", "safe.directory=*", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_clone_alone_passes_the_recorded_output_tests(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.fail("git is not installed: this test clones the repository", pytrace=False)
    top = git("-C", str(HERE), "rev-parse", "--show-toplevel")
    said = top.stderr.strip() or f"git's top is {top.stdout.strip()}"
    if top.returncode != 0 or Path(top.stdout.strip()).resolve() != HERE.parent:
        pytest.fail(
            f"{HERE.parent} is not the top of a git checkout ({said}): this test clones the"
            " repository to prove a clone alone passes; run the suite from a git clone",
            pytrace=False,
        )
    clone = tmp_path / "empty" / "loopbackctl"
    clone.parent.mkdir()
    done = git("clone", "--quiet", "--no-hardlinks", str(HERE.parent), str(clone))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in clone.parent.iterdir()) == ["loopbackctl"]

    # The clone's own package and tests, not the ones of the tree under test.
    where = subprocess.run(
        [
            sys.executable,
            "-c",
            "import loopbackctl, tests; print(loopbackctl.__file__, tests.__file__)",
        ],
        cwd=clone,
        capture_output=True,
        text=True,
        check=True,
    )
    assert all(Path(p).is_relative_to(clone) for p in where.stdout.split()), where.stdout

    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *TESTS],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    said = run.stdout[-4000:] + run.stderr[-2000:]
    assert run.returncode == 0, said
    assert "no tests ran" not in run.stdout, said
    passed = re.search(r"(\d+) passed", run.stdout)
    assert passed and int(passed.group(1)) > 0, said
