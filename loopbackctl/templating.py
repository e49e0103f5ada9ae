"""A run's templates as the runner and drivers hold them, without importing jinja2.

`Templates` is the run's one Environment (render.environment: `--templates` first, then
the shipped templates): the one `render` uses, so what a driver renders at apply time comes
from the same files. It is made on first use, so a run that renders nothing (local verify,
a converged lo) never imports jinja2. `Rendered` is one host's view of it, handed to the
driver: the texts `render` shows, and the host's templates rendered anew with values of
the driver's (a state-driven platform lays out its plan's changes so).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from loopbackctl.errors import TemplateError
from loopbackctl.model import Host

if TYPE_CHECKING:
    import jinja2


def check_dir(user_dir: str | None) -> None:
    """TemplateError when `--templates` names no directory (before anything is contacted)."""
    if user_dir is not None and not Path(user_dir).is_dir():
        raise TemplateError(f"{user_dir}: templates directory not found; check --templates")


class Templates:
    """The run's templates; one instance serves a whole fleet (thread-safe).

    `env`: the Environment that rendered the run's artifacts (fleet runs pass it); else
    one is made on first use from `user_dir` and the shipped templates."""

    def __init__(self, user_dir: str | None = None, env: jinja2.Environment | None = None) -> None:
        check_dir(user_dir)
        self._user_dir = user_dir
        self._env = env
        self._lock = threading.Lock()

    def environment(self) -> jinja2.Environment:
        with self._lock:
            if self._env is None:
                from loopbackctl import render

                self._env = render.environment(self._user_dir)
            return self._env

    def render(self, host: Host, artifact: str, values: Mapping[str, object]) -> str:
        """`host`'s template for `artifact` with `values` over its context (render.context);
        TemplateError naming the template's file and line, as `render` does."""
        from loopbackctl import render

        return render.render_artifact(self.environment(), host, artifact, values)

    def filename(self, host: Host, artifact: str) -> str:
        """The file `host`'s template for `artifact` is loaded from (the user's or the
        shipped one), for messages."""
        from loopbackctl import render

        return render.template_file(self.environment(), host, artifact)

    def for_host(self, host: Host, texts: Mapping[str, str] | None = None) -> Rendered:
        """`host`'s view: `texts` (its rendered artifacts, render.render_host), and its
        templates rendered anew through this Environment."""
        return Rendered(texts or {}, self, host)


class Rendered(Mapping[str, str]):
    """One host's templates as a driver receives them.

    As a mapping: artifact → the text `render` shows for the host (what apply makes true:
    IOS's blocks, Linux's netplan file). `render(artifact, values)`: that artifact's
    template rendered anew for the host with `values` over its context (Linux lays out
    its plan's changes so); raises TemplateError. `filename(artifact)`: where that
    template was loaded from."""

    def __init__(self, texts: Mapping[str, str], templates: Templates, host: Host) -> None:
        self._texts = dict(texts)
        self._templates = templates
        self._host = host

    def __getitem__(self, artifact: str) -> str:
        return self._texts[artifact]

    def __iter__(self) -> Iterator[str]:
        return iter(self._texts)

    def __len__(self) -> int:
        return len(self._texts)

    def render(self, artifact: str, values: Mapping[str, object]) -> str:
        return self._templates.render(self._host, artifact, values)

    def filename(self, artifact: str) -> str:
        return self._templates.filename(self._host, artifact)
