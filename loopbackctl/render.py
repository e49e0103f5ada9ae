"""Jinja2 rendering: one Environment, StrictUndefined, user templates before shipped ones.

Templates only lay out text; every value they print is computed here. A value that
carries a line break or control character is refused at output time, a second fence
behind the inventory validation, so no value can add a line to a device's configuration.
"""

from __future__ import annotations

import re
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from loopbackctl.errors import TemplateError
from loopbackctl.model import Host, Loopback
from loopbackctl.platforms import RULES

_UNSAFE = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]")


def shipped_templates() -> Path:
    """The templates inside the installed package, or the checkout's top-level ones."""
    inside = Path(__file__).parent / "templates"
    return inside if inside.is_dir() else Path(__file__).parent.parent / "templates"


def _fence(value: Any) -> Any:
    if isinstance(value, str) and _UNSAFE.search(value):
        raise TemplateError(
            f"refusing to render {value!r}: it holds a line break or control character"
        )
    return value


def environment(user_dir: str | None = None) -> jinja2.Environment:
    """The one Environment; `user_dir` templates override shipped ones of the same name."""
    paths = [str(shipped_templates())]
    if user_dir is not None:
        if not Path(user_dir).is_dir():
            raise TemplateError(f"{user_dir}: templates directory not found; check --templates")
        paths.insert(0, user_dir)
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(paths),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        finalize=_fence,
    )


@dataclass(frozen=True)
class _V4:
    ip: str
    netmask: str


def _loopback_context(lb: Loopback) -> dict[str, Any]:
    v4 = [_V4(str(a.ip), str(a.netmask)) for a in lb.ipv4]
    return {
        "name": lb.name,
        "absent": lb.state == "absent",
        "description": lb.description,
        "shutdown": lb.shutdown,
        "primary": v4[0] if v4 else None,
        "secondaries": v4[1:],
        "ipv6": [a.with_prefixlen for a in lb.ipv6],
        "addresses": [a.with_prefixlen for a in lb.addresses],
    }


def context(host: Host) -> dict[str, Any]:
    """Everything a template may print for `host`, already computed."""
    present = [lb for lb in host.loopbacks if lb.state == "present"]
    return {
        "host": host.name,
        "platform": host.platform,
        "loopbacks": [_loopback_context(lb) for lb in host.loopbacks],
        "addresses": [a.with_prefixlen for lb in present for a in lb.addresses],
        "router_id": str(host.predicted_router_id) if host.predicted_router_id else None,
    }


def _where(exc: BaseException, env: jinja2.Environment, name: str) -> str:
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename and frame.filename.endswith(".j2"):
            return f"{frame.filename}:{frame.lineno}"
    try:
        source = env.loader.get_source(env, name)[1] if env.loader else None
    except jinja2.TemplateNotFound:
        source = None
    return source or name


def render_host(env: jinja2.Environment, host: Host) -> dict[str, str]:
    """Artifact name → rendered text for one host, or TemplateError naming file and line."""
    out: dict[str, str] = {}
    ctx = context(host)
    for artifact, name in RULES[host.platform].templates:
        try:
            out[artifact] = env.get_template(name).render(ctx)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(
                f"{exc.filename or name}:{exc.lineno}: template error: {exc.message}"
            ) from None
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(
                f"template {exc.name} not found in the templates directories"
            ) from None
        except TemplateError as exc:
            raise TemplateError(f"{_where(exc, env, name)}: {exc} (host {host.name})") from None
        except (jinja2.TemplateError, TypeError, ValueError, AttributeError) as exc:
            raise TemplateError(
                f"{_where(exc, env, name)}: template error: {exc} (host {host.name})"
            ) from None
    return out
