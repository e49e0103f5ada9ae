"""Confirm-or-revert on a POSIX host (Linux, FRR): a detached revert job on the host.

`arm` runs, as root, `setsid -w sh REVERT_DIR/revert.sh`: in a session of its own, it
starts the job in the background (SIGHUP ignored), so that it outlives the SSH session and
loopbackctl, records it in `REVERT_DIR/armed` ("PID PGID ARMED_AT FIRES_AT", epoch
seconds) and returns. The job sleeps for the timeout and then, unless `armed` is gone,
renames it to `firing`, runs the revert lines one by
one (a line that fails is logged and the next still runs: each undoes one step, and a
step the change never reached fails harmlessly), and renames `firing` to `reverted`.
`confirm` renames `armed` to `confirmed` — the rename is atomic, so exactly one of
confirm and the job wins — then kills the job's process group and proves it is gone.
Arming is one round trip and confirming another, with few processes forked on the host
(the bench's hosts share the controller's two cores).

The directory is /run: a reboot empties it (and the runtime change is gone with the
reboot anyway). `REVERT_DIR/log` keeps what each revert did. Nothing here holds a
secret: the job runs in the root shell the session already has.
"""

from __future__ import annotations

import base64
import shlex
import time
from collections.abc import Sequence

from loopbackctl.errors import DeviceError, ParseError
from loopbackctl.platforms.base import REVERT_PENDING
from loopbackctl.result import Check
from loopbackctl.transport.framing import Result, Shell

# loopbackctl's state on a managed host (the lab binds a private directory here).
HOST_DIR = "/run/loopbackctl-host"
REVERT_DIR = f"{HOST_DIR}/revert"
SCRIPT = f"{REVERT_DIR}/revert.sh"
ENCODED = f"{REVERT_DIR}/revert.sh.b64"
ARMED = f"{REVERT_DIR}/armed"
# Keep each command line short (see transport.shell.MAX_LINE).
CHUNK = 2400

# A PID that still runs: its /proc/PID/stat names a state other than Z (a zombie is not
# running: nothing may reap it where init does not). Builtins only: no process forked.
ALIVE = (
    'alive() { case "$1" in ""|*[!0-9]*) return 1;; esac; [ -r "/proc/$1/stat" ] || return 1;'
    ' read -r s 2>/dev/null < "/proc/$1/stat" || return 1;'
    ' case "${s##*) }" in Z*) return 1;; esac; }'
)

# Read with the device (any user may: `armed` is world-readable): "none", "reverting" (a
# job is putting the state back now), or "pending PID FIRES_AT" (a job still waits).
READ_PENDING = (
    f"( {ALIVE}; if [ -e {REVERT_DIR}/firing ]; then echo reverting; exit 0; fi; pid=;"
    f" if [ -r {ARMED} ]; then read pid group at until < {ARMED}; fi;"
    ' if [ -n "$pid" ] && alive "$pid"; then echo "pending $pid $until"; else echo none; fi )'
)

# Exit statuses of arm's and confirm's shell code.
PENDING, NOT_ROOT, STILL_RUNNING, REVERTED, NONE = 9, 77, 4, 5, 6


def script(lines: Sequence[str], timeout: float) -> str:
    """The revert job's launcher, run by `setsid -w sh` (a session of its own): it starts
    the job in the background — sleep `timeout` seconds and, unless confirmed by then, run
    `lines` (shell commands, each on its own) — and records it in `armed` ("PID PGID
    ARMED_AT FIRES_AT") before it returns."""
    d = shlex.quote(REVERT_DIR)
    body = "\n".join(f"run {line}" for line in lines)
    return f"""#!/bin/sh
# loopbackctl confirm-or-revert: puts back the state an apply read before its change,
# unless loopbackctl confirms the change first. Started by `loopbackctl apply`.
d={d}
(
trap '' HUP
sleep {timeout:.3f}
mv "$d/armed" "$d/firing" 2>/dev/null || exit 0
exec >>"$d/log" 2>&1
echo "$(date -u '+%Y-%m-%dT%H:%M:%SZ') not confirmed in time: reverting (pid $$)"
run() {{ "$@" || echo "failed (exit $?): $*"; }}
{body}
mv -f "$d/firing" "$d/reverted"
echo "$(date -u '+%Y-%m-%dT%H:%M:%SZ') reverted"
) </dev/null >/dev/null 2>&1 &
now=$(date +%s)
umask 022
echo "$! $$ $now $((now + {int(timeout + 0.999)}))" > "$d/armed"
"""


def _when(epoch: str) -> str:
    try:
        return time.strftime("%H:%M:%S UTC", time.gmtime(int(epoch)))
    except ValueError:
        return "an unknown time"


def _said(res: Result) -> str:
    return " ".join(res.output.split())[-200:] or f"exit {res.status}"


def arm(sh: Shell, lines: Sequence[str], timeout: float) -> None:
    """Start the revert job (as root) and return once it has recorded itself, in one
    round trip (a second for a login that turns out not to be root: sudo). DeviceError
    when it cannot (nothing changed), or when an earlier job is still pending."""
    if sh.uid not in (None, 0):
        sh.become_root()
    d, host = shlex.quote(REVERT_DIR), shlex.quote(HOST_DIR)
    enc, armed, job = shlex.quote(ENCODED), shlex.quote(ARMED), shlex.quote(SCRIPT)
    text = script(lines, timeout)
    b64 = base64.b64encode(text.encode()).decode()
    parts = [b64[i : i + CHUNK] for i in range(0, len(b64), CHUNK)]
    guard = f'[ "$(id -u)" = 0 ] || exit {NOT_ROOT}; ' if sh.uid is None else ""
    # A pending job: refuse. Then the directory, world-readable for READ_PENDING, and
    # what an earlier job left; the job's own files stay root's.
    prepare = (
        f"{guard}{ALIVE}; if [ -e {d}/firing ]; then echo reverting; exit {PENDING}; fi;"
        f" if [ -r {armed} ]; then read pid group at until < {armed};"
        f' if alive "$pid"; then echo "$pid $until"; exit {PENDING}; fi; fi;'
        f" [ -d {d} ] || {{ mkdir -p {d} && chmod 755 {host} {d}; }} || exit 1;"
        f" for f in {armed} {d}/confirmed {d}/reverted {enc}; do"
        f' if [ -e "$f" ]; then rm -f "$f" || exit 1; fi; done; umask 077'
    )
    start = f"setsid -w sh {job} </dev/null >/dev/null 2>&1 && [ -e {armed} ]"
    # Each `exit` runs in a subshell: the session's own shell must live on.
    if max(len(line) for line in text.splitlines()) <= CHUNK and len(text) <= 4 * CHUNK:
        # The usual case: the script as a quoted literal, written by the shell's own
        # printf (no process forked for it); its lines are as short as any command's.
        commands = [f"( {prepare}; printf '%s' {shlex.quote(text)} > {job} && {start} )"]
    else:
        commands = [f"( {prepare}; printf '%s' '{parts[0]}' > {enc} )"]
        commands += [f"[ -e {enc} ] && printf '%s' '{p}' >> {enc}" for p in parts[1:]]
        commands.append(f"( [ -e {enc} ] && base64 -d {enc} > {job} && rm -f {enc} && {start} )")
    results = sh.exec_many(commands)
    head = results[0]
    if head.status == NOT_ROOT:
        sh.become_root()
        return arm(sh, lines, timeout)
    if head.status == PENDING:
        seen = head.output.split()
        if seen == ["reverting"]:
            raise DeviceError(
                f"{sh.where}: a revert armed by an earlier loopbackctl run is putting back"
                " the state read before it now: apply again in a moment"
            )
        pid, until = (seen[0], seen[1]) if len(seen) == 2 else ("?", "")
        raise DeviceError(
            f"{sh.where}: a revert armed by an earlier loopbackctl run is still pending"
            f" (pid {pid}, fires at {_when(until)}): apply again once it has fired, or"
            f" cancel it by hand (kill -TERM -$(cut -d' ' -f2 {ARMED}); rm {ARMED})"
        )
    if sh.uid is None:
        sh.uid = 0  # the guard held
    for res in results:
        if not res.ok:
            sh.exec(f"rm -f {enc}")
            raise DeviceError(f"{sh.where}: cannot arm the revert job: {_said(res)}")


def pending(res: Result, where: str) -> Check | None:
    """The check READ_PENDING's answer makes: None when no revert is pending; ParseError
    for an answer it cannot read (never guess "none")."""
    words = res.output.split()
    if res.ok and words == ["none"]:
        return None
    if res.ok and words == ["reverting"]:
        why = "a revert armed by a loopbackctl run is putting back the state read before it now"
        return Check(REVERT_PENDING, False, f"{why}; look again in a moment")
    if res.ok and len(words) == 3 and words[0] == "pending" and all(w.isdigit() for w in words[1:]):
        return Check(
            REVERT_PENDING,
            False,
            f"a revert armed by a loopbackctl run that did not confirm (pid {words[1]}) puts"
            f" back the state read before it at {_when(words[2])}; apply again after that",
        )
    said = " ".join(res.output.split())[:120] or "nothing"
    raise ParseError(f"{where}: reading a pending revert answered {said!r} (exit {res.status})")


def confirm(sh: Shell) -> None:
    """Cancel the revert job and prove it is gone; DeviceError when it already fired (the
    confirm came too late) or cannot be stopped."""
    if sh.uid != 0:
        sh.become_root()
    d, armed = shlex.quote(REVERT_DIR), shlex.quote(ARMED)
    res = sh.exec(
        f"( {ALIVE}; if mv {armed} {d}/confirmed 2>/dev/null; then"
        f" read pid group at until < {d}/confirmed;"
        # The job's session leads one process group with its `sleep`. dash's kill takes
        # no `--`: `-PGID` names the group.
        # It dies as soon as it is scheduled: look a few times before sleeping between
        # looks (`sleep` is a process of its own).
        f' kill -TERM "-$group" 2>/dev/null; i=0;'
        f' while alive "$pid"; do i=$((i + 1)); if [ $i -gt 600 ]; then'
        f' echo "revert job $pid still runs"; exit {STILL_RUNNING}; fi;'
        f" if [ $i -gt 100 ]; then sleep 0.01; fi; done;"
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
