"""A network device's CLI over netmiko: lean login, privileged mode, configuration pushes
that stop at the first refused line. A platform configures it with data (`CliQuirks`:
its refusal strings, prompts and setup commands), as scrapli configures its drivers.

netmiko's session_log is never enabled: it would record what is typed, secrets included.
"""

from __future__ import annotations

import codecs
import contextlib
import functools
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from loopbackctl.errors import DeviceError
from loopbackctl.model import Host
from loopbackctl.transport.credentials import Credentials
from loopbackctl.transport.options import ConnectOptions


@dataclass(frozen=True)
class CliQuirks:
    """How one CLI family talks, as data (`label` names it in messages: "IOS").

    - `failure_strings`: an output line starting with one of these means the command
      before it was refused; `failure_patterns` the same as regexes; `error_prefix` any
      other line starting with it is a refusal too (fail closed);
    - `config_echo`: an echoed configuration line, group `command`;
    - `enable` / `enable_answer`: the command entering privileged mode and the regex for
      what it answers (a secret prompt, a prompt, or a refusal);
    - `prompt_end`: any prompt at the end of output; `terminal_setup`: sent at login;
    - `base_prompt_chars`: how much of the hostname configuration prompts keep;
    - `notices`: lines that `error_prefix` would take for refusals but that only inform
      (the platform's driver decides whether each was expected).
    """

    device_type: str
    label: str
    failure_strings: tuple[str, ...]
    failure_patterns: tuple[re.Pattern[str], ...]
    error_prefix: str
    config_echo: re.Pattern[str]
    enable: str
    enable_answer: str
    prompt_end: str
    terminal_setup: tuple[str, ...]
    base_prompt_chars: int
    notices: tuple[re.Pattern[str], ...] = ()

    def refusal(self, line: str) -> bool:
        """Does this output line mean the device refused the command before it?"""
        text = line.strip()
        if any(p.match(text) for p in self.notices):
            return False
        return (
            text.startswith(self.failure_strings)
            or any(p.match(text) for p in self.failure_patterns)
            or text.startswith(self.error_prefix)
        )

    @property
    def error_pattern(self) -> str:
        """The refusals as one regex for netmiko's `error_pattern`, so netmiko stops at
        the first refused line (the device itself would go on with the lines after it)."""
        spared = "".join(
            "(?!" + re.sub(r"\(\?P<\w+>", "(?:", p.pattern.lstrip("^")) + ")" for p in self.notices
        )
        return "|".join(
            [f"^{re.escape(s)}.*$" for s in self.failure_strings]
            + [p.pattern + ".*$" for p in self.failure_patterns]
            + [f"^{spared}{re.escape(self.error_prefix)}.*$"]
        )

    def find_refusal(self, output: str, commands: Sequence[str]) -> tuple[str | None, str] | None:
        """(refused command, device message) for the first refusal in `output`, else None.

        The command is the last one echoed before the message (None if none was echoed).
        """
        pending = [c.strip() for c in commands]
        last: str | None = None
        for line in output.splitlines():
            echo = self.config_echo.search(line)
            if echo is not None:
                typed = echo.group("command")
                if typed in pending:
                    # Devices run commands in order: everything before the echoed one is done.
                    del pending[: pending.index(typed) + 1]
                    last = typed
                continue
            if self.refusal(line):
                return last, line.strip()
        return None


# What netmiko's ConfigInvalidException says (netmiko 4.x base_connection.send_config_set).
NETMIKO_REFUSAL = re.compile(
    r"Invalid input detected at command: (?P<command>.*), matched error: (?P<message>.*)$",
    re.S,
)


class CliSession:
    """A Session on a netmiko connection in privileged mode.

    `run` waits for the exact privileged prompt at the end of the output (found once at
    connect), so neither a prompt lookup per command nor a hostname inside a description
    can end a read early. `configure` stops at the first refused line, leaves
    configuration mode, and raises DeviceError naming that line. `sent` lists every line
    that may have changed the device (configuration lines as far as the device got, and
    EXEC commands other than `show`), for the report.
    """

    def __init__(
        self, conn: Any, creds: Credentials, options: ConnectOptions, quirks: CliQuirks, prompt: str
    ) -> None:
        self.conn, self.creds, self.options, self.quirks = conn, creds, options, quirks
        self.prompt = prompt
        self._expect = rf"(?:^|\n){re.escape(prompt)}\s*$"
        self.sent: list[str] = []

    @property
    def where(self) -> str:
        return self.creds.where

    def lost(self, exc: Exception, command: str) -> DeviceError:
        from loopbackctl.transport.ssh import run_error

        self.drop()
        return run_error(exc, self.creds, command, self.options.command_timeout)

    def run(self, command: str) -> str:
        """The command's output without its echo and the prompt after it."""
        if not command.startswith("show "):
            self.sent.append(command)
        try:
            self.conn.write_channel(self.conn.normalize_cmd(command))
            text = str(
                self.conn.read_until_pattern(
                    self._expect, read_timeout=self.options.command_timeout
                )
            )
        except Exception as exc:
            raise self.lost(exc, command) from None
        # The device may print a notice of its own before the echo (IOS: its revert
        # timer's one-minute warning, whenever it comes): the output starts after the echo.
        at = text.find(command.strip())
        if at < 0:
            raise self.lost(EOFError(f"no echo of {command!r}"), command)
        out = text[at:].partition("\n")[2]
        return out[: re.search(self._expect, out).start()]  # type: ignore[union-attr]

    def dialogue(
        self, command: str, answers: Sequence[tuple[re.Pattern[str], str]], record: bool = True
    ) -> str:
        """Run an EXEC command that may ask questions: each question matching a pattern of
        `answers` gets its answer (then Enter), until the prompt comes back. Its output
        (echo and everything the device printed before the prompt, in any order). `record`
        False: not listed in `sent` (a command that changes no configuration)."""
        if record:
            self.sent.append(command)
        questions = "|".join(f"(?:{p.pattern})" for p, _ in answers)
        pattern = f"{self._expect}|{questions}" if questions else self._expect
        conn = self.conn
        out = ""
        try:
            conn.write_channel(conn.normalize_cmd(command))
            for _ in range(len(answers) + 1):
                chunk = str(
                    conn.read_until_pattern(
                        pattern=pattern, read_timeout=self.options.command_timeout
                    )
                )
                out += chunk
                asked = next((a for p, a in answers if p.search(chunk)), None)
                if asked is None:
                    return out
                conn.write_channel(asked + conn.RETURN)
        except Exception as exc:
            raise self.lost(exc, command) from None
        raise DeviceError(f"{self.where}: {command!r} kept asking questions: {out[-200:]!r}")

    def configure(self, commands: Sequence[str]) -> str:
        from netmiko.exceptions import ConfigInvalidException

        try:
            out = self.conn.send_config_set(
                list(commands),
                read_timeout=self.options.command_timeout,
                error_pattern=self.quirks.error_pattern,
            )
        except ConfigInvalidException as exc:
            m = NETMIKO_REFUSAL.search(str(exc))
            command, message = (m["command"].strip(), m["message"].strip()) if m else (None, "")
            stripped = [c.strip() for c in commands]
            upto = stripped.index(command) + 1 if command in stripped else len(commands)
            self.sent += commands[:upto]
            try:
                self.conn.exit_config_mode()
            except Exception as exc2:
                raise self.lost(exc2, "end") from None
            what = f"refused {command!r}" if command else "refused a command"
            raise DeviceError(
                f"{self.where}: {self.quirks.label} {what}: {message or exc}"
            ) from None
        except Exception as exc:
            self.sent += commands
            raise self.lost(exc, "configure terminal") from None
        self.sent += commands
        return str(out)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.disconnect()

    def drop(self) -> None:
        """Close without a goodbye: for a session that is lost, hung or mid-dialogue
        (netmiko's own cleanup would wait out its timeouts there)."""
        with contextlib.suppress(Exception):
            self.conn.paramiko_cleanup()
        self.conn.remote_conn = self.conn.remote_conn_pre = None


def open_cli(host: Host, options: ConnectOptions, quirks: CliQuirks) -> CliSession:
    """Log in and enter privileged mode with the secret (connection_options.netmiko.extras
    .secret, $LOOPBACKCTL_SECRET, else the password). Raises UnreachableError/DeviceError."""
    from loopbackctl.transport.ssh import open_connection

    conn, creds = open_connection(host, options, quirks.device_type, _lean_class(quirks))
    session = CliSession(conn, creds, options, quirks, "")
    try:
        prompt = _enable(conn, quirks, creds.secret or "", options.command_timeout)
    except Exception as exc:
        raise session.lost(exc, quirks.enable) from None
    if prompt is None:
        session.drop()
        raise DeviceError(
            f"{creds.where}: {quirks.enable} mode refused the secret; set the enable secret in"
            " connection_options.netmiko.extras.secret or $LOOPBACKCTL_SECRET"
        )
    return CliSession(conn, creds, options, quirks, prompt)


def _enable(conn: Any, quirks: CliQuirks, secret: str, timeout: float) -> str | None:
    """Enter privileged mode; the exact `#` prompt, or None when the secret is refused.

    One round trip when no secret is asked (already privileged), two otherwise; a wrong
    secret is known at the device's second `Password:` instead of after netmiko's timeouts.
    """
    conn.write_channel(conn.normalize_cmd(quirks.enable))
    out = str(conn.read_until_pattern(pattern=quirks.enable_answer, read_timeout=timeout))
    if "assword" in out.splitlines()[-1]:
        conn.write_channel(conn.normalize_cmd(secret))
        out = str(conn.read_until_pattern(pattern=quirks.enable_answer, read_timeout=timeout))
    last = out.strip().splitlines()[-1].strip() if out.strip() else ""
    return last if last.endswith("#") else None


# A match found in new data starts at most this far before it (our patterns are prompts,
# echoes and questions, all far shorter): each read searches only the tail, so a long
# output arriving in many small packets is not searched again from its start per packet.
_LOOKBACK = 4096


def _read_until(conn: Any, rx: re.Pattern[str], timeout: float) -> str:
    """What the device sends up to and including the first match of `rx` (linefeeds
    normalised, as netmiko's reads); what came after it stays in netmiko's read buffer.
    EOFError when the device closes the channel, netmiko's ReadTimeout after `timeout`."""
    from netmiko.exceptions import ReadTimeout

    chan = conn.remote_conn
    decoder = conn.__dict__.setdefault(
        "_lbc_decoder", codecs.getincrementaldecoder("utf-8")("replace")
    )
    text, held = conn._read_buffer, ""
    conn._read_buffer = ""
    deadline = time.monotonic() + timeout
    start = 0
    while True:
        m = rx.search(text, start)
        if m is not None:
            conn._read_buffer = text[m.end() :] + held
            return str(text[: m.end()])
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            conn._read_buffer = text + held
            raise ReadTimeout(f"pattern not detected: {rx.pattern!r}")
        if chan is None:
            raise EOFError("the SSH channel is closed")
        chan.settimeout(remaining)
        try:
            data = chan.recv(65536)
        except TimeoutError:
            continue
        if not data:
            raise EOFError("the device closed the SSH channel")
        raw = held + decoder.decode(data)
        # A CR at the end may be half of a CR LF: normalise it with what follows.
        held = "\r" if raw.endswith("\r") else ""
        start = max(0, len(text) - _LOOKBACK)
        text += conn.normalize_linefeeds(raw[: len(raw) - len(held)])


@functools.cache
def _lean_class(quirks: CliQuirks) -> type[Any]:
    """netmiko's class for `quirks.device_type` with a lean login and quick failure
    detection.

    - Session preparation reads the prompt the device prints at login once, instead of
      netmiko's fixed 0.1 s sleep plus prompt probing (about 0.17 s of a 0.25 s login).
    - A connection the device dropped fails at once (a closed paramiko channel reads as
      no data, so netmiko would wait out read_timeout).
    """
    from netmiko.ssh_dispatcher import CLASS_MAPPER

    base: type[Any] = CLASS_MAPPER[quirks.device_type]

    class LeanCli(base):  # type: ignore[misc]
        def _try_session_preparation(self, force_data: bool = True) -> None:
            try:
                self.session_preparation()
            except Exception:
                self.disconnect()
                raise

        def session_preparation(self) -> None:
            self.write_channel(self.RETURN)
            end = quirks.prompt_end
            out = str(self.read_until_pattern(pattern=end, read_timeout=self.timeout))
            for command in quirks.terminal_setup:
                self.write_channel(self.normalize_cmd(command))
                self.read_until_pattern(pattern=re.escape(command), read_timeout=self.timeout)
                out = str(self.read_until_pattern(pattern=end, read_timeout=self.timeout))
            prompt = out.strip().splitlines()[-1].strip()
            self.base_prompt = prompt[:-1][: quirks.base_prompt_chars]
            self.clear_buffer()

        def cleanup(self, command: str = "exit") -> None:
            # CliSession leaves configuration mode itself: skip netmiko's extra probe.
            self.write_channel(command + self.RETURN)

        def read_until_pattern(
            self,
            pattern: str = "",
            read_timeout: float = 10.0,
            re_flags: int = 0,
            max_loops: int | None = None,
        ) -> str:
            # netmiko polls every 10 ms (25 ms in send_command); on a nearby device that
            # sleep is most of a command's time. Block on the channel instead.
            return _read_until(self, re.compile(pattern, re_flags), read_timeout)

        def read_channel(self) -> str:
            out = str(super().read_channel())
            chan = getattr(self, "remote_conn", None)
            if not out and chan is not None and getattr(chan, "closed", False):
                raise EOFError("the device closed the SSH channel")
            return out

    return LeanCli
