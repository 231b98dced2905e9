"""Child processes of the demo (and the end-to-end tests): start, wait for, stop, kill.

Each child writes its log to a file; a child that dies early is reported with the tail of
its log instead of a hang.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path


class ProcessError(Exception):
    """A child process failed to start or died."""


@dataclass
class Child:
    name: str
    argv: list[str]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    signalled: bool = False
    """SIGTERM sent to this life of it (`terminate`): `stop` only waits."""

    def start(self) -> Child:
        self.signalled = False
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - argv is built by this package
            self.argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=os.environ | self.env,
            start_new_session=True,
        )
        log.close()
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def check(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise ProcessError(
                f"{self.name} exited with {self.process.returncode}; last log lines:\n"
                + self.tail()
            )

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def wait_for_log(self, text: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check()
            if self.log_path.exists() and text in self.log_path.read_text(errors="replace"):
                return
            time.sleep(0.1)
        raise ProcessError(f"{self.name} did not say {text!r} within {timeout}s:\n{self.tail()}")

    def terminate(self) -> None:
        """SIGTERM without waiting, so that several children shut down side by side."""
        if self.alive() and not self.signalled:
            assert self.process is not None
            self.process.send_signal(signal.SIGTERM)
            self.signalled = True

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM (unless `terminate` sent it), then SIGKILL if it has not ended in time."""
        if not self.alive():
            return
        assert self.process is not None
        self.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL: no clean-up at all, as a crashed pod."""
        if self.alive():
            assert self.process is not None
            self.process.kill()
            self.process.wait(10)


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]
