"""`mlc demo --broker-outage SECONDS`: the demo on a broker of its own, SIGKILLed mid-run.

What an operator sees when Kafka disappears: the demo must still end OK, every service must
recover without a restart, and its log must stay readable (JSON, and not thousands of lines).
Only a broker this demo started is ever killed: it runs on free ports with its data under the
run's folder, and its pid comes from that broker's own pid file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mlc.processes import Child, ProcessError
from mlc.stack import ROOT, free_port

KAFKA_SH = ROOT / "deploy/kafka/kafka.sh"


@dataclass
class OwnBroker:
    """A single-node broker started by `kafka.sh` on free ports, under `state_dir`."""

    state_dir: Path
    port: int = field(default_factory=free_port)
    controller_port: int = field(default_factory=free_port)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.state_dir / "kafka/broker.pid"

    def start(self) -> None:
        self._kafka_sh("start")

    def stop(self) -> None:
        self._kafka_sh("stop")

    def kill(self) -> None:
        """SIGKILL, as a crashed broker: no controlled shutdown, no leader hand-over."""
        pid = int(self.pid_file.read_text().strip())
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while _alive(pid):
            if time.monotonic() > deadline:
                raise ProcessError(f"the demo's broker (pid {pid}) survived SIGKILL for 30 s")
            time.sleep(0.1)

    def _kafka_sh(self, action: str) -> None:
        env = os.environ | {
            "MLC_STATE_DIR": str(self.state_dir),
            "KAFKA_PORT": str(self.port),
            "KAFKA_CONTROLLER_PORT": str(self.controller_port),
        }
        self.state_dir.mkdir(parents=True, exist_ok=True)
        log = (self.state_dir / "kafka.sh.log").open("a")
        with log:
            done = subprocess.run(  # noqa: S603 - the project's own script
                [str(KAFKA_SH), action], env=env, stdout=log, stderr=log, timeout=240,
                check=False,
            )  # fmt: skip
        if done.returncode != 0:
            raise ProcessError(f"kafka.sh {action} failed; see {self.state_dir / 'kafka.sh.log'}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A SIGKILLed child of ours stays a zombie until reaped; kafka.sh started it, not us.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


@dataclass(frozen=True)
class LogLines:
    total: int
    not_json: int


def lines_between(path: Path, start: int, end: int) -> LogLines:
    """The lines a log file got between two of its sizes (byte offsets)."""
    with path.open("rb") as log:
        log.seek(start)
        written = log.read(max(0, end - start)).decode(errors="replace").splitlines()
    not_json = 0
    for line in written:
        try:
            ok = isinstance(json.loads(line), dict)
        except ValueError:
            ok = False
        not_json += not ok
    return LogLines(len(written), not_json)


@dataclass
class Outage:
    """Kills the broker once, waits `seconds`, starts it again; counts each service's lines."""

    broker: OwnBroker
    seconds: float
    counts: dict[str, LogLines] = field(default_factory=dict)
    took: float = 0.0

    def run(self, children: dict[str, Child], check_alive: Callable[[], None]) -> None:
        services = {n: c for n, c in children.items() if n != "sandbox"}
        before = {n: _size(c.log_path) for n, c in services.items()}
        pids = {n: c.pid for n, c in services.items()}
        started = time.monotonic()
        self.broker.kill()
        print(f"broker SIGKILLed; it stays down for {self.seconds:g} s", flush=True)
        down_until = started + self.seconds
        while time.monotonic() < down_until:  # the outage itself: the wall clock is the point
            check_alive()
            time.sleep(min(1.0, max(0.0, down_until - time.monotonic())))
        self.broker.start()
        self.took = time.monotonic() - started
        for name, child in services.items():
            self.counts[name] = lines_between(child.log_path, before[name], _size(child.log_path))
            if child.pid != pids[name]:
                raise ProcessError(f"{name} was restarted during the outage")
        print(f"broker back after {self.took:.1f} s; log lines written meanwhile:", flush=True)
        for name, lines in sorted(self.counts.items()):
            print(f"  {name:13} {lines.total:5} lines, {lines.not_json} not JSON", flush=True)

    def verdict(self, *, most: int = 100) -> tuple[bool, str]:
        """OK when it happened and each service wrote fewer than `most` lines, all JSON."""
        if not self.counts:
            return False, "FAILED (the flow ended before the outage was due)"
        ok = all(c.total < most and c.not_json == 0 for c in self.counts.values())
        most_lines = max(c.total for c in self.counts.values())
        return ok, ("OK" if ok else "FAILED") + (
            f" (down {self.seconds:g} s, back after {self.took:.1f} s, no service restarted; "
            f"at most {most_lines} log lines per service meanwhile, wanted < {most}, all JSON)"
        )


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0
