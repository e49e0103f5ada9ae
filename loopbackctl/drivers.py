"""Platform name → runtime Driver, imported lazily so `validate` never loads netmiko."""

from __future__ import annotations

import importlib
import threading
from typing import cast

from loopbackctl.driver import Driver
from loopbackctl.errors import UsageError

#: netmiko device_type name → "module:Class" of the platform's runtime Driver.
REGISTRY: dict[str, str] = {
    "linux": "loopbackctl.platforms.linux_runtime:LinuxDriver",
    "cisco_ios": "loopbackctl.platforms.cisco_ios_runtime:IosDriver",
}

_cache: dict[str, Driver] = {}
_lock = threading.Lock()


def get_driver(platform: str) -> Driver:
    """The (shared, stateless) Driver for `platform`; UsageError if none is registered."""
    with _lock:
        driver = _cache.get(platform)
        if driver is not None:
            return driver
        target = REGISTRY.get(platform)
        if target is None:
            raise UsageError(
                f"no runtime for platform {platform!r}; known: {', '.join(sorted(REGISTRY))}"
            )
        module_name, _, class_name = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                raise UsageError(f"the {platform} runtime is not installed ({target})") from None
            raise
        driver = cast(Driver, getattr(module, class_name)())
        _cache[platform] = driver
        return driver
