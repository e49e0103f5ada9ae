"""Jinja2 rendering: one Environment, StrictUndefined, user templates before shipped ones.

Templates only lay out text; every value they print is computed here. A value that
carries a line break or control character is refused at output time, a second fence
behind the inventory validation, so no value can add a line to a device's configuration.
"""

from __future__ import annotations

import gc
import ipaddress
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from loopbackctl import platforms
from loopbackctl.errors import TemplateError
from loopbackctl.model import Host, IPInterface, Loopback
from loopbackctl.templating import check_dir
from loopbackctl.values import CONTROL, oneline


def shipped_templates() -> dict[str, Path]:
    """Each platform's template directory inside the package, by platform name (a
    template is named `<platform>/<file>`, as users name their overrides)."""
    root = Path(platforms.__file__).parent
    return {name: root / name / "templates" for name in platforms.PLATFORMS}


def _fence(value: Any) -> Any:
    """Jinja's finalize: every `{{ ... }}` output passes here; one with a line break or
    control character (values.CONTROL, the set the inventory refuses) is refused instead
    of printed."""
    text = value if isinstance(value, str) else str(value)
    m = CONTROL.search(text)
    if m:
        raise TemplateError(
            f"refusing to render {text!r}: it holds the control character {m.group()!r},"
            " which could add a line to a device's configuration; fix the value (or a"
            " template printing several lines from one {{ }}: loop over them instead)"
        )
    return value


def environment(user_dir: str | None = None) -> jinja2.Environment:
    """The one Environment; `user_dir` templates override shipped ones of the same name."""
    shipped = jinja2.PrefixLoader(
        {name: jinja2.FileSystemLoader(str(path)) for name, path in shipped_templates().items()}
    )
    loaders: list[jinja2.BaseLoader] = [shipped]
    if user_dir is not None:
        check_dir(user_dir)
        loaders.insert(0, jinja2.FileSystemLoader(user_dir))
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # one run, templates do not change: no stat() per host
        autoescape=False,
        finalize=_fence,
    )


@dataclass(frozen=True)
class _V4:
    ip: str
    netmask: str


_NETMASK = {n: str(ipaddress.IPv4Network(f"0.0.0.0/{n}").netmask) for n in range(33)}


def _loopback_context(lb: Loopback, text: dict[IPInterface, str]) -> dict[str, Any]:
    v4 = [_V4(text[a].partition("/")[0], _NETMASK[a.network.prefixlen]) for a in lb.ipv4]
    return {
        "name": lb.name,
        "absent": lb.state == "absent",
        "description": lb.description,
        "shutdown": lb.shutdown,
        "vrf": lb.vrf,
        "primary": v4[0] if v4 else None,
        "secondaries": v4[1:],
        "ipv4": [text[a] for a in lb.ipv4],
        "ipv6": [text[a] for a in lb.ipv6],
        "addresses": [text[a] for a in lb.addresses],
    }


def context(host: Host) -> dict[str, Any]:
    """Everything a template may print for `host`, already computed.

    `data` is the host's resolved `data` mapping as written (for user templates that lay
    out their own keys); every value printed from it passes the same fence.

    `up`, `add`, `remove`, `down` say what to do (bring the loopback up, the addresses to
    add, the addresses to remove, take it down). Here they are the whole intended state
    (up, every address added, nothing removed): what `render` shows. At apply time a
    state-driven platform (Linux) renders its command template again with its plan's
    changes in their place (templating.Rendered.render), so only what differs is sent.
    """
    # Each address is formatted once (IPv6 formatting is slow in ipaddress).
    text = {a: a.with_prefixlen for lb in host.loopbacks for a in lb.addresses}
    rid = host.predicted_router_id
    addresses = [text[a] for lb in host.loopbacks if lb.state == "present" for a in lb.addresses]
    return {
        "host": host.name,
        "hostname": host.hostname,
        "platform": host.platform,
        "loopbacks": [_loopback_context(lb, text) for lb in host.loopbacks],
        "addresses": addresses,
        "router_id": str(rid) if rid is not None else None,
        "data": dict(host.data),
        "up": True,
        "add": addresses,
        "remove": [],
        "down": False,
    }


def _search_paths(loader: jinja2.BaseLoader | None) -> list[str]:
    if isinstance(loader, jinja2.ChoiceLoader):
        return [p for sub in loader.loaders for p in _search_paths(sub)]
    if isinstance(loader, jinja2.PrefixLoader):
        return [p for sub in loader.mapping.values() for p in _search_paths(sub)]
    return [str(p) for p in getattr(loader, "searchpath", [])]


def _where(exc: BaseException, env: jinja2.Environment, name: str) -> str:
    """FILE:LINE of the innermost template frame of `exc`, else the template's file."""
    roots = [str(Path(p).resolve()) for p in _search_paths(env.loader)]
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        filename = frame.filename or ""
        if any(str(Path(filename).resolve()).startswith(r + "/") for r in roots if filename):
            return f"{filename}:{frame.lineno}"
    try:
        source = env.loader.get_source(env, name)[1] if env.loader else None
    except jinja2.TemplateNotFound:
        source = None
    return source or name


def render_host(env: jinja2.Environment, host: Host) -> dict[str, str]:
    """Artifact name → rendered text for one host, or TemplateError naming file and line.

    Any failure inside a template (syntax, undefined variable, a filter raising, the
    control-character fence) becomes a one-line TemplateError; nothing else escapes.
    """
    ctx = context(host)
    platform = platforms.lookup(host.platform)
    templates = platform.templates if platform is not None else ()
    return {artifact: _render(env, name, host, ctx) for artifact, name in templates}


def render_artifact(
    env: jinja2.Environment, host: Host, artifact: str, values: Mapping[str, object]
) -> str:
    """`host`'s template for `artifact`, rendered with `values` over its context; errors
    as `render_host`'s."""
    return _render(env, _template_name(host, artifact), host, {**context(host), **values})


def template_file(env: jinja2.Environment, host: Host, artifact: str) -> str:
    """The file `host`'s template for `artifact` loads from (its name when not a file)."""
    name = _template_name(host, artifact)
    try:
        return env.get_template(name).filename or name
    except Exception:  # a template that does not load is reported when it is rendered
        return name


def _template_name(host: Host, artifact: str) -> str:
    platform = platforms.lookup(host.platform)
    name = dict(platform.templates if platform is not None else ()).get(artifact)
    if name is None:
        raise TemplateError(f"platform {host.platform} has no {artifact} template")
    return name


def _render(env: jinja2.Environment, name: str, host: Host, ctx: dict[str, Any]) -> str:
    try:
        return env.get_template(name).render(ctx)
    except Exception as exc:  # a template is user input: nothing may escape as a traceback
        raise TemplateError(oneline(_explain(exc, env, name, host, ctx))) from None


def render_all(env: jinja2.Environment, hosts: Iterable[Host]) -> list[tuple[Host, dict[str, str]]]:
    """`render_host` for each host, in order. The cyclic garbage collector is paused
    meanwhile: rendering allocates a lot next to a large inventory, and collections that
    rescan it cost more than the rendering itself (10,000 hosts)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return [(host, render_host(env, host)) for host in hosts]
    finally:
        if enabled:
            gc.enable()


def _explain(
    exc: Exception, env: jinja2.Environment, name: str, host: Host, ctx: dict[str, Any]
) -> str:
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return (
            f"{exc.filename or name}:{exc.lineno}: template error: {exc.message}; fix the template"
        )
    where = _where(exc, env, name)
    if isinstance(exc, jinja2.TemplateNotFound):
        return (
            f"{where}: template {exc.name} not found in the templates directories"
            " (--templates, then the shipped ones)"
        )
    if isinstance(exc, TemplateError):
        return f"{where}: {exc} (host {host.name})"
    if isinstance(exc, jinja2.UndefinedError):
        return (
            f"{where}: template error: {exc.message} (host {host.name}); the variables a"
            f" template may use are: {', '.join(ctx)}"
        )
    return f"{where}: template error: {type(exc).__name__}: {exc} (host {host.name})"
