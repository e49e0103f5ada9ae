"""Local mode's commands: `verify --local`, `apply --local`, `probe`.

Order matters: usage errors (unknown netns, missing privilege, a bad inventory) are found
before anything is sent or changed, and the namespace is entered before any socket,
thread or `ip` process exists, so all of them run inside it. The calling thread returns
to its own namespace afterwards, so `main()` can be called again in-process.
"""

from __future__ import annotations

import argparse
import sys

from loopbackctl.errors import UsageError
from loopbackctl.local import system
from loopbackctl.result import exit_code

NO_PRIVILEGE = (
    "apply --local needs CAP_NET_ADMIN to change lo, and this process does not have it;"
    " run it as root (for example with sudo)"
)


def run(args: argparse.Namespace) -> int:
    """verify/apply --local; 0 as intended, 1 failing checks or a failed repair. The
    report is the fleet's (report.render), with every check listed in a table."""
    from loopbackctl import report
    from loopbackctl.local import run as local_run
    from loopbackctl.local import target
    from loopbackctl.templating import Templates

    applying = args.command == "apply"
    check = applying and bool(args.check)
    if getattr(args, "limit", None):
        raise UsageError("--limit selects inventory hosts; --local checks this machine only")
    if applying and getattr(args, "purge", False):
        raise UsageError("apply --local never removes addresses the inventory does not name")
    if args.netns is not None:
        system.netns_path(args.netns)
    if applying and not check and not system.has_cap(system.CAP_NET_ADMIN):
        raise UsageError(NO_PRIVILEGE)
    # The iproute2 template is rendered only when lo differs: no jinja2 before that,
    # unless the user's templates are to be checked first.
    user_dir = getattr(args, "templates", None)
    templates = Templates(user_dir)
    name = args.netns or target.short_hostname()
    chosen = target.resolve(getattr(args, "inventory", None), args.local_host, name)
    if user_dir is not None:
        local_run.check_templates(chosen, templates)
    with system.inside_netns(args.netns):
        result = local_run.run(
            chosen, "apply" if applying else "verify", check, args.probes, templates
        )
    out = sys.stdout
    fmt = args.format or "table"
    if applying and args.diff and fmt == "table":
        out.write(report.diffs([result], check))
    out.write(report.render([result], fmt, out, verbose=1))
    out.flush()
    return exit_code([result])


def probe(args: argparse.Namespace) -> int:
    """0 when something listens on the loopback ADDRESS:PORT, else 1 with the reason."""
    from loopbackctl.local import probe as probing
    from loopbackctl.local import roundtrip

    address, port = probing.parse_target(args.target)
    lo_up: bool | None = None
    with system.inside_netns(args.netns):
        outcome, ms, error = roundtrip.connect_outcome(address, port, args.timeout)
        if outcome == "timeout":
            lo_up = system.lo_up()
    listening, sentence = probing.explain(
        address, port, outcome, ms, error.errno if error else None, args.timeout, lo_up
    )
    print(sentence)
    return 0 if listening else 1
