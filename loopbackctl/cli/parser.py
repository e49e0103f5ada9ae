"""The command line's grammar: argparse only, no side effects."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from loopbackctl import __version__
from loopbackctl.errors import UsageError
from loopbackctl.transport.options import (
    DEFAULT_CONFIRM_TIMEOUT,
    DEFAULT_LOCK_DIR,
    LOCK_DIR_ENV,
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse's own exits use 2 as well
        self.print_usage(sys.stderr)
        raise UsageError(f"{self.prog}: {message}")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be 1 or more")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} must be 0 or more")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} must be more than 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument(
        "-i",
        "--inventory",
        default=argparse.SUPPRESS,
        help="inventory directory or file (default ./inventory or $LOOPBACKCTL_INVENTORY)",
    )
    common.add_argument(
        "--templates", default=argparse.SUPPRESS, help="directory of templates overriding shipped"
    )
    common.add_argument(
        "-v", "--verbose", action="count", default=argparse.SUPPRESS, help="more detail"
    )

    parser = _Parser(
        prog="loopbackctl",
        description="Keep the loopback interfaces of a fleet as the inventory says, and prove it.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"loopbackctl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    common_parents = [common]
    sub.required = True

    sub.add_parser("validate", parents=common_parents, help="lint the inventory")

    inv = sub.add_parser(
        "inventory",
        parents=common_parents,
        help="show each host as resolved, every value with where it comes from",
    )
    inv.add_argument("--limit", help="hosts, groups or globs; ! excludes (as Ansible)")
    inv.add_argument("--host", default=None, help="only this host (its object alone in JSON)")
    inv.add_argument("--format", choices=("table", "json", "yaml"), default="table")

    render = sub.add_parser(
        "render", parents=common_parents, help="show each device's configuration"
    )
    render.add_argument("--limit", help="hosts, groups or globs; ! excludes (as Ansible)")
    render.add_argument("--format", choices=("text", "json"), default="text")

    for name, helptext in (
        ("apply", "make devices carry the inventory's loopbacks"),
        ("verify", "report drift between inventory and devices"),
    ):
        p = sub.add_parser(name, parents=common_parents, help=helptext)
        p.add_argument("--limit", help="hosts, groups or globs; ! excludes (as Ansible)")
        p.add_argument("--workers", type=_positive_int, default=None)
        p.add_argument(
            "--shard",
            metavar="K/N",
            default=None,
            help="only shard K of N of the selected hosts (job[/N]: K from a Kubernetes"
            " Indexed Job's $JOB_COMPLETION_INDEX); merge with `report merge`",
        )
        p.add_argument(
            "--processes",
            type=_positive_int,
            default=None,
            help="spread the workers over this many processes (one core each); default: one"
            " per core for runs of several IOS routers, else 1",
        )
        p.add_argument("--format", choices=("table", "json", "junit"), default=None)
        p.add_argument("--local", action="store_true", help="this machine's lo, no SSH")
        p.add_argument("--netns", help="with --local: run inside this network namespace")
        p.add_argument("--host-keys", choices=("strict", "accept-new", "off"), default="accept-new")
        p.add_argument("--known-hosts", default=None, help="default ~/.ssh/known_hosts")
        p.add_argument("--connect-timeout", type=_positive_float, default=None)
        p.add_argument("--command-timeout", type=_positive_float, default=None)
        p.add_argument(
            "--probes", type=_positive_int, default=3, help="with --local: ICMP echoes per address"
        )
        p.add_argument(
            "--local-host",
            default=None,
            help="with --local: the inventory host that is this machine",
        )
        if name == "apply":
            p.add_argument("--check", action="store_true", help="plan only, change nothing")
            p.add_argument("--diff", action="store_true", help="show the planned change")
            p.add_argument(
                "--purge",
                action="store_true",
                help="also remove addresses the inventory does not name",
            )
            p.add_argument(
                "--no-save",
                action="store_true",
                help="IOS: do not write memory after a verified change",
            )
            p.add_argument(
                "--lock-dir",
                metavar="DIR",
                default=None,
                help="where routers without a lock of their own (IOS) are locked while"
                " apply changes them: a directory the operators share (default"
                f" ${LOCK_DIR_ENV}, else {DEFAULT_LOCK_DIR})",
            )
            p.add_argument(
                "--allow-management-change",
                action="store_true",
                help="change a loopback address the session connects through (else that"
                " host is refused): under confirm-or-revert, then reconnect through"
                " data.management_address (else the hostname), verify and confirm",
            )
            confirm = p.add_mutually_exclusive_group()
            confirm.add_argument(
                "--confirm-timeout",
                metavar="S",
                type=_positive_float,
                default=DEFAULT_CONFIRM_TIMEOUT,
                help="confirm-or-revert: each changed device puts back what it had by itself"
                " S seconds after the change began unless loopbackctl confirms the verified"
                f" change (default {DEFAULT_CONFIRM_TIMEOUT:g}; IOS rounds up to whole minutes)",
            )
            confirm.add_argument(
                "--no-confirm",
                action="store_true",
                help="change devices without confirm-or-revert (a controller that dies"
                " mid-apply may leave a device half-changed)",
            )
        else:
            p.add_argument(
                "--reachability",
                action="store_true",
                help="also ping each host's loopback addresses",
            )
            p.add_argument(
                "--routing",
                action="store_true",
                help="also ask routers' routing daemons: router-ids, collisions, and routes"
                " and pings from every router to every other router's loopbacks",
            )
            p.add_argument(
                "--ping-allow",
                metavar="CIDR,...",
                default=None,
                help="with --reachability: where this machine may send pings (default"
                " $LOOPBACKCTL_PING_ALLOW, else 127.0.0.0/8,::1/128)",
            )

    _add_lab(sub)
    _add_report(sub, common_parents)

    probe = sub.add_parser(
        "probe", parents=common_parents, help="is anything listening on ADDR:PORT?"
    )
    probe.add_argument("target", metavar="ADDRESS:PORT")
    probe.add_argument("--netns", help="run inside this network namespace")
    probe.add_argument("--timeout", type=_positive_float, default=1.0)
    return parser


def _add_report(sub: Any, parents: Sequence[argparse.ArgumentParser]) -> None:
    report = sub.add_parser("report", parents=parents, help="work with JSON reports")
    actions = report.add_subparsers(dest="report_command", metavar="ACTION", parser_class=_Parser)
    actions.required = True
    merge = actions.add_parser(
        "merge",
        parents=parents,
        help="merge the JSON reports of --shard runs into the report of the one run",
    )
    merge.add_argument("files", nargs="+", metavar="FILE", help="shard reports (- for stdin)")
    merge.add_argument("--format", choices=("table", "json", "junit"), default="table")


def _add_lab(sub: Any) -> None:
    lab = sub.add_parser("lab", help="a real small fleet on this machine (root)")
    actions = lab.add_subparsers(dest="lab_command", metavar="ACTION", parser_class=_Parser)
    actions.required = True
    dir_help = "the lab's directory: inventory, key, known_hosts (default ./lab)"
    up = actions.add_parser("up", help="build Linux hosts, FRR and IOS routers, write DIR")
    up.add_argument("--hosts", type=_count, default=None, help="Linux hosts (default 3)")
    up.add_argument("--routers", type=_count, default=None, help="FRR routers (default 3)")
    up.add_argument(
        "--ios", type=_count, default=None, help="simulated IOS routers (default 0; needs [lab])"
    )
    up.add_argument("--dir", default="lab", help=dir_help)
    up.add_argument(
        "--from",
        dest="source",
        metavar="INVENTORY",
        help="rehearsal twin: the devices of this inventory, on lab addresses",
    )
    status = actions.add_parser("status", help="what runs, where, healthy or not")
    status.add_argument("--dir", default="lab", help=dir_help)
    status.add_argument("--all", action="store_true", help="every lab and test bed here")
    down = actions.add_parser("down", help="remove everything lab up made")
    down.add_argument("--dir", default="lab", help=dir_help)
