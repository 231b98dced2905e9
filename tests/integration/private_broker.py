"""A private Kafka broker a test may stop and start: deploy/kafka/kafka.sh on its own ports
and state directory, so the shared session broker is never touched."""

from __future__ import annotations

import os
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class PrivateBroker:
    state_dir: Path
    port: int
    controller_port: int

    @classmethod
    def under(cls, state_dir: Path) -> PrivateBroker:
        return cls(state_dir, free_port(), free_port())

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _kafka_sh(self, action: str) -> None:
        env = os.environ | {
            "MLC_STATE_DIR": str(self.state_dir),
            "KAFKA_PORT": str(self.port),
            "KAFKA_CONTROLLER_PORT": str(self.controller_port),
        }
        subprocess.run(
            [str(ROOT / "deploy/kafka/kafka.sh"), action], env=env, check=True, timeout=180
        )

    def start(self) -> None:
        self._kafka_sh("start")

    def stop(self) -> None:
        self._kafka_sh("stop")
