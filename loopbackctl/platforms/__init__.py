"""Platforms by netmiko device_type name. Each module keeps its device's rules as data.

Only the rules are imported here; what a platform needs at runtime (commands, parsers)
lives in the platform module and is imported by the runner on the paths that need it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Rules:
    """What a platform's devices accept on a loopback, checked before anything is sent."""

    name: str
    interface_pattern: re.Pattern[str]
    interface_hint: str
    router: bool
    max_description: int | None
    forbidden_description_chars: str = ""
    max_interface_number: int | None = None
    # What `render` shows: artifact name → template path under the templates directory.
    templates: tuple[tuple[str, str], ...] = ()


def _rules() -> dict[str, Rules]:
    from loopbackctl.platforms import cisco_ios, linux

    return {r.name: r for r in (cisco_ios.RULES, linux.RULES)}


RULES: dict[str, Rules] = _rules()
