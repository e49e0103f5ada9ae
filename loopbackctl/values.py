"""What loopbackctl asks of a plain value read from a user's file, answered in one place.

- `CONTROL`: characters that must never reach a device or a terminal: C0 and C1 controls,
  DEL, and Unicode line/paragraph separators — anything that could end a line (and so
  inject a command) or drive a terminal. The inventory refuses them in any value, and
  render.py fences every output with the same set.
- `oneline`: text made safe to print on one line.
- `number`: a YAML number (int or float), never a boolean.
"""

from __future__ import annotations

import re
from typing import Any

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def oneline(text: str) -> str:
    """`text` with control characters and line breaks escaped, safe to print on one line."""
    if not CONTROL.search(text):
        return text
    return CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def number(value: Any) -> int | float | None:
    """`value` when it is an int or float (booleans are not numbers here), else None."""
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None
