"""librdkafka's own logs are JSON lines of the service's logger, and few: a consumer pointed
at a closed port for three seconds, reconnecting every few milliseconds, must not flood the
output the way a broker outage did (about 3,100 plain-text "Connection refused" lines in 25 s).

Runs in a child process: librdkafka's default logger writes to file descriptor 2 from C, and
the service's JSON handler is installed on the root logger, as `configure_logging` does.
No broker is needed: the port is held bound but never listened on, so it refuses.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.integration

SECONDS = 3.0
# One line per distinct message shape is what the limiter lets through in the interval.
MOST_LINES = 10

CHILD = textwrap.dedent(
    """
    import sys, time
    from confluent_kafka import Consumer
    from chassis.jsonlog import configure_logging
    from chassis.settings import KafkaSettings

    configure_logging("client-log-test")
    settings = KafkaSettings(bootstrap_servers=sys.argv[1])
    consumer = Consumer(settings.client_config("refused") | {
        "group.id": "client-log-test",
        "reconnect.backoff.ms": 10,
        "reconnect.backoff.max.ms": 50,
    })
    consumer.subscribe(["client-log-test"])
    deadline = time.monotonic() + float(sys.argv[2])
    while time.monotonic() < deadline:
        consumer.poll(0.1)
    consumer.close()
    """
)


def test_a_refused_client_logs_few_json_lines() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, not listening: every connect is refused
        port = closed.getsockname()[1]
        child = subprocess.run(
            [sys.executable, "-c", CHILD, f"127.0.0.1:{port}", str(SECONDS)],
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert child.returncode == 0, child.stderr
    lines = [line for line in (child.stdout + child.stderr).splitlines() if line.strip()]
    not_json = [line for line in lines if not _is_json(line)]
    assert not_json == [], f"{len(not_json)} lines not JSON, e.g. {not_json[:3]}"
    entries = [json.loads(line) for line in lines]
    refused = [e for e in entries if "Connection refused" in e["msg"]]
    assert refused, "the refusal itself must be reported"
    assert all(e["logger"] == "librdkafka.mlc-refused" for e in refused)
    assert all(e["service"] == "client-log-test" for e in entries)
    assert len(lines) <= MOST_LINES, f"{len(lines)} lines in {SECONDS} s"


def _is_json(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False
