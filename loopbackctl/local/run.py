"""Local verify and apply: the fleet's per-host pipeline (runner.run_host) on this
machine's lo over the local transport, plus local mode's own checks.

Call `run` after entering the target network namespace: the `ip` processes and the
threads started here inherit the caller's namespace. Outcomes are data (a HostResult);
nothing here prints.
"""

from __future__ import annotations

from loopbackctl import platforms, runner
from loopbackctl.local import system
from loopbackctl.local.checks import RoundTrips, inventory_check, unmanaged_check
from loopbackctl.local.target import Target
from loopbackctl.result import HostResult
from loopbackctl.templating import Templates
from loopbackctl.transport.options import ConnectOptions

LOCAL = ConnectOptions(transport="local")


def check_templates(target: Target, templates: Templates) -> None:
    """The driver's check of the templates it renders at apply time (TemplateError: exit
    2, nothing touched), as a fleet run makes when its jobs are built. Call it when the
    user gives --templates: the shipped ones pass it, and without it a run that finds lo
    as intended never imports jinja2."""
    from loopbackctl import render
    from loopbackctl.platforms.base import ChecksTemplates

    driver = platforms.driver(target.host.platform)
    if isinstance(driver, ChecksTemplates):
        texts = render.render_host(templates.environment(), target.host)
        driver.check_templates(target.host, templates.for_host(target.host, texts))


def run(
    target: Target,
    mode: runner.Mode,
    check: bool,
    probes: int,
    templates: Templates | None = None,
) -> HostResult:
    """verify, apply or apply --check of `target`, with the packet checks: during the read
    for verify and --check, after the change for apply (they test the result). The `ip`
    commands are the iproute2 template of `templates` (default: the shipped ones),
    rendered only when lo differs."""
    job = runner.Job(
        host=target.host,
        mode=mode,
        options=LOCAL,
        check=check,
        templates=templates or Templates(),
    )
    changing = mode == "apply" and not check
    trips = None if changing else RoundTrips(system.read_ipv6_status(), probes).start()
    result = runner.run_host(job)
    if trips is None:
        trips = RoundTrips(system.read_ipv6_status(), probes).start()
    result.checks += [
        inventory_check(target.inventory_host, target.how, target.extra),
        unmanaged_check(result.unmanaged),
        *trips.checks(),
    ]
    _judge(result, mode, check)
    return result


def _judge(result: HostResult, mode: runner.Mode, check: bool) -> None:
    """A local check failing turns an ok/changed verdict into drift (verify, --check) or
    failed (apply: lo still does not work after the change)."""
    failing = [c.name for c in result.failed_checks]
    if not failing or result.status not in ("ok", "changed"):
        return
    if mode == "verify" or check:
        result.status = "drift"
        return
    result.status = "failed"
    result.error = f"lo still fails after apply: {', '.join(failing)}"
