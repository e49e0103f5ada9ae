"""pytest fixtures for the Linux namespace bed.

Use from conftest.py with ``pytest_plugins = ["tests.bed.fixtures"]`` (or import the
fixtures). ``linux_bed`` is a factory::

    def test_x(linux_bed):
        bed = linux_bed(n=3, lean=True, lo_up=True)
        # more: password=, sudo_user= with sudo_password=, no_sshd=
        ...

Every bed made through the factory is torn down when the test ends (session end for
``linux_bed_session``). Without root, or without sshd/ip/unshare, the fixture FAILS the
test with the reason: these tests are never skipped silently.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from pathlib import Path

import pytest

from tests.bed.netns import (
    BASE_DIR,
    LinuxBed,
    check_prerequisites,
    sigterm_to_keyboard_interrupt,
)

BedFactory = Callable[..., LinuxBed]


def require_linux_bed(*, sudo: bool = False) -> None:
    """pytest.fail (never skip) when this machine cannot run the bed (with a sudo user)."""
    problems = check_prerequisites(sudo=sudo)
    if problems:
        pytest.fail("Linux test bed unavailable: " + "; ".join(problems), pytrace=False)


def _factory() -> Iterator[BedFactory]:
    beds: list[LinuxBed] = []

    def make(
        n: int = 3,
        *,
        lean: bool = True,
        lo_up: bool = True,
        password: str | None = None,
        sudo_user: str | None = None,
        sudo_password: str | None = None,
        no_sshd: Collection[str | int] = (),
        base_dir: Path = BASE_DIR,
    ) -> LinuxBed:
        require_linux_bed(sudo=sudo_user is not None)
        sigterm_to_keyboard_interrupt()
        bed = LinuxBed(
            n,
            lean=lean,
            lo_up=lo_up,
            password=password,
            sudo_user=sudo_user,
            sudo_password=sudo_password,
            no_sshd=no_sshd,
            base_dir=base_dir,
        )
        beds.append(bed)
        bed.start()
        return bed

    try:
        yield make
    finally:
        errors = []
        for bed in reversed(beds):
            try:
                bed.close()
            except Exception as exc:
                errors.append(str(exc))
        if errors:
            pytest.fail("; ".join(errors), pytrace=False)


@pytest.fixture
def linux_bed() -> Iterator[BedFactory]:
    """Factory: ``linux_bed(n=3, lean=True, lo_up=True, password=None, sudo_user=None,
    sudo_password=None, no_sshd=())``."""
    yield from _factory()


@pytest.fixture(scope="session")
def linux_bed_session() -> Iterator[BedFactory]:
    """Same factory, beds live until the end of the session (share one big bed)."""
    yield from _factory()
