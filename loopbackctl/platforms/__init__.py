"""The platform registry: each platform is a package here that exports `PLATFORM`.

Adding a platform is one package and one line in `_PACKAGES`. Only the `Platform` data is
imported here; a platform's driver (netmiko, parsers) is imported by `driver()` when a
device of that platform is contacted, so `validate` and `render` stay light.
"""

from __future__ import annotations

import importlib
import threading
from typing import cast

from loopbackctl.errors import UsageError
from loopbackctl.platforms.base import Driver, Platform

_PACKAGES = ("linux", "cisco_ios", "cisco_xe", "frr")


def _load() -> dict[str, Platform]:
    found: dict[str, Platform] = {}
    for package in _PACKAGES:
        platform = importlib.import_module(f"{__name__}.{package}").PLATFORM
        found[platform.name] = platform
    return found


PLATFORMS: dict[str, Platform] = _load()
_drivers: dict[str, Driver] = {}
_lock = threading.Lock()


def lookup(name: str) -> Platform | None:
    """The platform registered as `name` or with `name` among its aliases."""
    found = PLATFORMS.get(name)
    if found is not None:
        return found
    return next((p for p in PLATFORMS.values() if name in p.aliases), None)


def names() -> list[str]:
    """Every name a platform may be written as, sorted."""
    return sorted({n for p in PLATFORMS.values() for n in (p.name, *p.aliases)})


def supported() -> str:
    """The platforms loopbackctl drives, for a message: "cisco_ios (or ios), linux"."""
    return ", ".join(
        f"{p.name} (or {', '.join(p.aliases)})" if p.aliases else p.name
        for p in sorted(PLATFORMS.values(), key=lambda p: p.name)
    )


def driver(name: str) -> Driver:
    """The shared, stateless Driver of platform `name`; UsageError if there is none."""
    platform = lookup(name)
    if platform is None:
        raise UsageError(f"no runtime for platform {name!r}; known: {', '.join(names())}")
    with _lock:
        found = _drivers.get(platform.name)
        if found is not None:
            return found
        module_name, _, class_name = platform.driver.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and not exc.name.startswith("loopbackctl"):
                raise UsageError(
                    f"the {platform.name} runtime needs {exc.name}, which is not installed"
                ) from None
            raise
        found = cast(Driver, getattr(module, class_name)())
        _drivers[platform.name] = found
        return found
