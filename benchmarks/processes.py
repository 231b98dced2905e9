"""Child processes of a benchmark run, stopped on every exit path.

Each child writes to its own log file (never a pipe that could fill up and stall it) and runs
in its own session, so a Ctrl-C at the terminal reaches only the benchmark, which then stops
its children in order: SIGTERM, a grace period, SIGKILL as the last resort.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType


class ChildError(Exception):
    """A child process exited early or never became ready; the message quotes its log."""


class Child:
    """One `python -m MODULE ...` process with its output in `log_path`."""

    def __init__(
        self,
        module: str,
        args: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = module
        self.log_path = log_path
        self._command = [sys.executable, "-m", module, *args]
        self._env = {**os.environ, **(env or {})}
        self._cwd = cwd
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Child:
        with self.log_path.open("wb") as log:
            # The command is this interpreter and a fixed module: no untrusted input.
            self._process = subprocess.Popen(  # noqa: S603
                self._command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._env,
                cwd=self._cwd,
                start_new_session=True,
            )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def process(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            raise ChildError(f"{self.name} was not started")
        return self._process

    def check_alive(self) -> None:
        code = self.process.poll()
        if code is not None:
            raise ChildError(f"{self.name} exited with code {code}\n{self.log_tail()}")

    def wait_for_line(self, pattern: str, *, timeout: float) -> re.Match[str]:
        """Waits until the log has a line matching `pattern` and returns the match."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = regex.search(self.log_path.read_text(errors="replace"))
            if match:
                return match
            self.check_alive()
            time.sleep(0.05)
        raise ChildError(f"{self.name}: no line like {pattern!r} after {timeout:.0f}s")

    def stop(self, *, grace: float = 30.0) -> int | None:
        """SIGTERM, then SIGKILL after `grace` seconds; returns the exit code."""
        if self._process is None or self._process.poll() is not None:
            return None if self._process is None else self._process.returncode
        self._process.send_signal(signal.SIGTERM)
        try:
            return self._process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self._process.kill()
            return self._process.wait()

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(f"  | {line}" for line in text.splitlines()[-lines:])
