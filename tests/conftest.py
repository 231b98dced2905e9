"""One real Kafka broker per test session, shared by every integration and end-to-end test.

Order of preference: a broker named by KAFKA_BOOTSTRAP_SERVERS; testcontainers' Kafka when a
Docker engine answers; else the project's own KRaft broker on the JDK (deploy/kafka/kafka.sh),
started here if it is not running. Tests isolate themselves by topic and group names.

`make test` runs the suite on several pytest-xdist workers (processes), each with its own
session: they share the broker, so starting it is done under a file lock that every worker of
the run takes (the first starts it, the others find it answering). With Docker each worker has
a container of its own.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]

pytest_plugins = ["tests.worker_groups"]

# Property tests check what code does, not how fast: on a loaded 2-core machine an example can
# take longer than Hypothesis's default 200 ms deadline, which would fail a correct test.
settings.register_profile("mlc", deadline=None)
settings.load_profile("mlc")


def _docker_engine_available() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    result = subprocess.run(
        [docker, "info", "--format", "{{.ServerVersion}}"], capture_output=True, timeout=20
    )
    return result.returncode == 0


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        yield configured
        return
    if _docker_engine_available():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer("apache/kafka:4.1.1").with_kraft() as container:
            bootstrap = container.get_bootstrap_server()
            os.environ["KAFKA_BOOTSTRAP_SERVERS"] = bootstrap
            yield bootstrap
        return
    bootstrap = f"127.0.0.1:{os.environ.get('KAFKA_PORT', '19092')}"
    # The run's base temporary directory (its parent under xdist) is shared by its workers.
    with _run_wide_lock(tmp_path_factory.getbasetemp().parent / "kafka-start.lock"):
        if not _broker_answers(bootstrap):
            subprocess.run([str(ROOT / "deploy/kafka/kafka.sh"), "start"], check=True, timeout=300)
    os.environ["KAFKA_BOOTSTRAP_SERVERS"] = bootstrap
    yield bootstrap


def _broker_answers(bootstrap: str) -> bool:
    """A broker already running there (another checkout's, say) is used as it is."""
    from confluent_kafka.admin import AdminClient

    try:
        AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=3)
    except Exception:  # noqa: BLE001 - any failure means "no broker to use"
        return False
    return True


@contextmanager
def _run_wide_lock(path: Path) -> Iterator[None]:
    """Held by one worker process of the run at a time."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture
def unique() -> str:
    """A suffix for topic and group names that no other test uses."""
    return uuid.uuid4().hex[:10]
