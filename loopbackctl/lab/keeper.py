"""The lab's builder and keeper process (``python -m loopbackctl.lab.keeper``).

``build``: read an UpRequest (JSON) on stdin, build the lab and its directory, write one
JSON line on stdout (``{"ok": true, "result": ...}`` or ``{"ok": false, "code": 1|2|130,
"error": ...}``), then become the keeper: the same process (same PID and start time, so
it stays the lab's owner) re-executes itself as ``keep STATE_DIR``.

``keep``: a child subreaper that reaps the lab's sshd, FRR and IOS simulator processes as
they end and otherwise sleeps, until SIGTERM (sent by `lab down`). SIGKILL it and the
lab's owner is dead: the next `lab up` (or test bed) reaps the lab (the simulator stops
by itself once its parent is gone).
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
import traceback
from pathlib import Path
from types import FrameType
from typing import Any

PR_SET_CHILD_SUBREAPER = 36
MODULE = "loopbackctl.lab.keeper"


def _report(msg: dict[str, Any]) -> bool:
    """Write the one report line; False when nobody reads it any more."""
    try:
        sys.stdout.write(json.dumps(msg) + "\n")
        sys.stdout.flush()
    except (BrokenPipeError, OSError):
        return False
    return True


def _failure(exc: BaseException) -> dict[str, Any]:
    from loopbackctl.errors import InventoryError, LoopbackctlError

    if isinstance(exc, KeyboardInterrupt):
        return {"ok": False, "code": 130, "error": "interrupted"}
    if isinstance(exc, InventoryError):
        text = "\n".join(str(d) for d in exc.diagnostics)
        return {"ok": False, "code": exc.exit_code, "error": text}
    if isinstance(exc, LoopbackctlError):
        return {"ok": False, "code": exc.exit_code, "error": str(exc)}
    traceback.print_exc()
    return {"ok": False, "code": 1, "error": f"lab builder failed: {type(exc).__name__}: {exc}"}


def build() -> int:
    from loopbackctl.lab import netns, service

    netns.sigterm_to_keyboard_interrupt()
    try:
        req = service.UpRequest.from_json(json.loads(sys.stdin.read()))
        lab, result = service.build(req)
    except BaseException as exc:
        msg = _failure(exc)
        _report(msg)
        return int(msg["code"])
    if not _report({"ok": True, "result": result.to_json()}):
        lab.close()  # nobody knows about this lab: do not leave it behind
        return 1
    _detach()
    state_dir = str(lab.state_dir)
    os.execv(sys.executable, [sys.executable, "-m", MODULE, "keep", state_dir])


def _detach() -> None:
    """Let go of the `lab up` terminal and directory."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    os.chdir("/")


def _stop(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def _wake(signum: int, frame: FrameType | None) -> None:
    pass


def keep(state_dir: Path) -> int:
    """Reap children until SIGTERM."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGCHLD, _wake)
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            signal.pause()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["build"]:
        return build()
    if len(args) == 2 and args[0] == "keep":
        return keep(Path(args[1]))
    print("usage: python -m loopbackctl.lab.keeper build | keep STATE_DIR", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
