"""The lab's errors: a build or teardown that failed, and a machine that cannot run a lab."""

from __future__ import annotations

from loopbackctl.errors import LoopbackctlError, UsageError


class LabError(LoopbackctlError):
    """A lab (or test bed) could not be built, reached or fully torn down (exit 1)."""


class LabUnavailable(UsageError):
    """This machine cannot run a lab: no root, or a missing package (exit 2, one sentence
    naming the privilege or the Debian package)."""
