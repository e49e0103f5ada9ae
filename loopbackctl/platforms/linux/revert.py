"""Confirm-or-revert on a POSIX host (Linux, FRR): a detached revert job on the host.

`arm` starts, as root, `sh REVERT_DIR/revert.sh` in a session of its own (`setsid`, with
SIGHUP ignored), so it outlives the SSH session and loopbackctl; it records itself in
`REVERT_DIR/armed` ("PID ARMED_AT DEADLINE", epoch seconds), sleeps for the timeout,
and then, unless `armed` is gone, renames it to `firing`, runs the revert lines one by
one (a line that fails is logged and the next still runs: each undoes one step, and a
step the change never reached fails harmlessly), and renames `firing` to `reverted`.
`confirm` renames `armed` to `confirmed` — the rename is atomic, so exactly one of
confirm and the job wins — then kills the job's process group and proves it is gone.

The directory is /run: a reboot empties it (and the runtime change is gone with the
reboot anyway). `REVERT_DIR/log` keeps what each revert did. Nothing here holds a
secret: the job runs in the root shell the session already has.
"""

from __future__ import annotations

import base64
import shlex
import time
from collections.abc import Sequence

from loopbackctl.errors import DeviceError
from loopbackctl.transport.framing import Result, Shell

# loopbackctl's state on a managed host (the lab binds a private directory here).
HOST_DIR = "/run/loopbackctl-host"
REVERT_DIR = f"{HOST_DIR}/revert"
SCRIPT = f"{REVERT_DIR}/revert.sh"
ENCODED = f"{REVERT_DIR}/revert.sh.b64"
ARMED = f"{REVERT_DIR}/armed"
# Keep each command line short (see transport.shell.MAX_LINE).
CHUNK = 2400

# A PID that still runs (a zombie does not: nothing may reap it where init does not).
ALIVE = (
    'alive() { [ -d "/proc/$1" ] && ! grep -q "^State:[[:space:]]*Z" "/proc/$1/status"'
    " 2>/dev/null; }"
)

# Exit statuses of arm's and confirm's shell code.
PENDING, NOT_STARTED, STILL_RUNNING, REVERTED, NONE = 9, 7, 4, 5, 6


def script(lines: Sequence[str], timeout: float) -> str:
    """The revert job: record itself, sleep `timeout` seconds, and unless confirmed by
    then, run `lines` (shell commands, each on its own)."""
    d = shlex.quote(REVERT_DIR)
    body = "\n".join(f"run {line}" for line in lines)
    return f"""#!/bin/sh
# loopbackctl confirm-or-revert: puts back the state an apply read before its change,
# unless loopbackctl confirms the change first. Started by `loopbackctl apply`.
trap '' HUP
d={d}
now=$(date +%s)
echo "$$ $now $((now + {int(timeout + 0.999)}))" > "$d/armed.tmp" && mv -f "$d/armed.tmp" "$d/armed"
sleep {timeout:.3f}
mv "$d/armed" "$d/firing" 2>/dev/null || exit 0
exec >>"$d/log" 2>&1
echo "$(date -u '+%Y-%m-%dT%H:%M:%SZ') not confirmed in time: reverting (pid $$)"
run() {{ "$@" || echo "failed (exit $?): $*"; }}
{body}
mv -f "$d/firing" "$d/reverted"
echo "$(date -u '+%Y-%m-%dT%H:%M:%SZ') reverted"
"""


def _when(epoch: str) -> str:
    try:
        return time.strftime("%H:%M:%S UTC", time.gmtime(int(epoch)))
    except ValueError:
        return "an unknown time"


def _said(res: Result) -> str:
    return " ".join(res.output.split())[-200:] or f"exit {res.status}"


def arm(sh: Shell, lines: Sequence[str], timeout: float) -> None:
    """Start the revert job (as root) and return once it has recorded itself. DeviceError
    when it cannot (nothing changed), or when an earlier job is still pending."""
    sh.become_root()
    d = shlex.quote(REVERT_DIR)
    enc, armed = shlex.quote(ENCODED), shlex.quote(ARMED)
    b64 = base64.b64encode(script(lines, timeout).encode()).decode()
    parts = [b64[i : i + CHUNK] for i in range(0, len(b64), CHUNK)]
    pending = (
        f"{ALIVE}; if [ -e {d}/firing ] || {{ [ -e {armed} ] && alive \"$(cut -d' ' -f1"
        f' {armed})"; }}; then cat {armed} {d}/firing 2>/dev/null; exit {PENDING}; fi'
    )
    first = (
        f"umask 077 && mkdir -p {d} && rm -f {enc} {armed} {d}/confirmed {d}/reverted"
        f" && printf '%s' '{parts[0]}' > {enc}"
    )
    commands = [f"( {pending} )", first]
    commands += [f"[ -e {enc} ] && printf '%s' '{p}' >> {enc}" for p in parts[1:]]
    # Each `exit` runs in a subshell: the session's own shell must live on.
    commands.append(
        f"[ -e {enc} ] && base64 -d {enc} > {shlex.quote(SCRIPT)} && rm -f {enc}"
        f" && ( setsid sh {shlex.quote(SCRIPT)} </dev/null >/dev/null 2>&1 & )"
        f" && ( i=0; while [ ! -e {armed} ]; do i=$((i + 1));"
        f" if [ $i -gt 500 ]; then exit {NOT_STARTED}; fi; sleep 0.01; done ) && cat {armed}"
    )
    head = sh.exec(commands[0])
    if head.status == PENDING:
        seen = head.output.split()
        pid, until = (seen[0], seen[2]) if len(seen) >= 3 else ("?", "")
        raise DeviceError(
            f"{sh.where}: a revert armed by an earlier loopbackctl run is still pending"
            f" (pid {pid}, fires at {_when(until)}): apply again once it has fired, or"
            f" cancel it by hand (kill -- -{pid}; rm {ARMED})"
        )
    if not head.ok:
        raise DeviceError(f"{sh.where}: cannot arm the revert job: {_said(head)}")
    for res in sh.exec_many(commands[1:]):
        if res.status == NOT_STARTED:
            raise DeviceError(f"{sh.where}: the revert job did not start")
        if not res.ok:
            sh.exec(f"rm -f {enc}")
            raise DeviceError(f"{sh.where}: cannot arm the revert job: {_said(res)}")


def confirm(sh: Shell) -> None:
    """Cancel the revert job and prove it is gone; DeviceError when it already fired (the
    confirm came too late) or cannot be stopped."""
    sh.become_root()
    d, armed = shlex.quote(REVERT_DIR), shlex.quote(ARMED)
    res = sh.exec(
        f"( {ALIVE}; if mv {armed} {d}/confirmed 2>/dev/null; then"
        # The job leads its own process group (setsid): its `sleep` goes with it. dash's
        # kill takes no `--`: `-PID` names the group.
        f" pid=$(cut -d' ' -f1 {d}/confirmed); kill -TERM \"-$pid\" 2>/dev/null; i=0;"
        f' while alive "$pid"; do i=$((i + 1)); if [ $i -gt 500 ]; then'
        f' echo "revert job $pid still runs"; exit {STILL_RUNNING}; fi; sleep 0.01; done;'
        f" rm -f {d}/confirmed {shlex.quote(SCRIPT)};"
        f" elif [ -e {d}/firing ] || [ -e {d}/reverted ]; then exit {REVERTED};"
        f" else exit {NONE}; fi )"
    )
    if res.ok:
        return
    if res.status == REVERTED:
        raise DeviceError(
            f"{sh.where}: too late to confirm: the revert job already put back the state"
            f" read before (see {REVERT_DIR}/log)"
        )
    if res.status == NONE:
        raise DeviceError(f"{sh.where}: no revert job was armed to confirm")
    raise DeviceError(f"{sh.where}: could not cancel the revert job: {_said(res)}")
