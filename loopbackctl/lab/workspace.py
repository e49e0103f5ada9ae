"""A lab's directory (``--dir``): the files `lab up` writes there and `lab down` removes.

DIR/inventory/ (hosts.yaml, groups.yaml[, defaults.yaml]), DIR/id_ed25519 (+ .pub),
DIR/known_hosts, DIR/README.md and DIR/lab.json (which lab this is, and the list of these
files). `lab up` writes into a directory that does not exist or is empty, and never
overwrites; `lab down` removes exactly the files it listed, then the directory if `lab
up` created it and nothing else is left in it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loopbackctl.errors import UsageError
from loopbackctl.lab import state

LAB_JSON = "lab.json"


@dataclass
class Workspace:
    """The directory of one lab and the files written into it so far."""

    dir: Path
    created: bool = False
    files: list[str] = field(default_factory=list)

    def path(self, name: str) -> Path:
        return self.dir / name

    def record(self, *paths: Path) -> None:
        for p in paths:
            rel = str(p.relative_to(self.dir))
            if rel not in self.files:
                self.files.append(rel)

    def write_text(self, name: str, text: str, mode: int = 0o644) -> Path:
        path = self.dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        self.record(path)
        return path

    def to_json(self) -> dict[str, Any]:
        return {"dir": str(self.dir), "created": self.created, "files": list(self.files)}


def check_free(directory: Path) -> None:
    """UsageError unless `lab up` may write into `directory` (missing or empty)."""
    if (directory / LAB_JSON).exists():
        raise UsageError(
            f"a lab already uses {directory}: run 'loopbackctl lab down --dir {directory}' "
            "first, or choose another --dir"
        )
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{directory} exists and is not a directory: choose another --dir")
    if directory.is_dir() and any(directory.iterdir()):
        raise UsageError(
            f"{directory} is not empty: lab up writes a fresh directory; "
            "choose another --dir or empty it"
        )


def create(directory: Path) -> Workspace:
    """The workspace, creating the directory (and its parents) when missing."""
    check_free(directory)
    created = not directory.exists()
    directory.mkdir(mode=0o755, parents=True, exist_ok=True)
    return Workspace(directory.resolve(), created)


def write_pointer(ws: Workspace, prefix: str, state_dir: Path) -> None:
    """DIR/lab.json, listing every file of the workspace (itself included)."""
    ws.record(ws.dir / LAB_JSON)
    doc = {"prefix": prefix, "state_dir": str(state_dir), **ws.to_json()}
    (ws.dir / LAB_JSON).write_text(json.dumps(doc, indent=1) + "\n")


def remove(record: dict[str, Any]) -> list[str]:
    """Remove the recorded files (and the directory if lab up created it and it is now
    empty); returns what was kept because it is not ours."""
    directory = Path(str(record.get("dir", "")))
    if not directory.is_absolute():
        return []
    for rel in record.get("files", []):
        path = (directory / str(rel)).resolve()
        if path.is_relative_to(directory) and path != directory:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    for sub in sorted({(directory / str(r)).parent for r in record.get("files", [])}, reverse=True):
        if sub != directory and sub.is_relative_to(directory):
            with contextlib.suppress(OSError):
                sub.rmdir()  # only when empty
    kept = contents(directory)
    if record.get("created") and directory.is_dir() and not kept:
        with contextlib.suppress(OSError):
            directory.rmdir()
    return kept


def contents(directory: Path) -> list[str]:
    """Every path left under `directory`, relative to it (empty when it is gone)."""
    if not directory.is_dir():
        return []
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


def read_pointer(directory: Path) -> dict[str, Any] | None:
    """DIR/lab.json, or None."""
    try:
        data = json.loads((directory / LAB_JSON).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def find(directory: Path, base_dir: Path = state.BASE_DIR) -> Path | None:
    """The state directory of the lab whose files are in `directory` (also when DIR or its
    lab.json was deleted: every lab records its DIR)."""
    target = str(directory.resolve())
    pointer = read_pointer(directory)
    if pointer is not None:
        candidate = base_dir / str(pointer.get("prefix", ""))
        if state.PREFIX_RE.fullmatch(candidate.name) and candidate.is_dir():
            return candidate
    for entry in state.state_dirs(base_dir):
        if state.read_state(entry).get("dir") == target:
            return entry
    return None


def discard(ws: Workspace) -> None:
    """Undo a workspace whose lab failed to build."""
    remove(ws.to_json())
    if ws.created and ws.dir.is_dir() and not any(ws.dir.iterdir()):
        shutil.rmtree(ws.dir, ignore_errors=True)
