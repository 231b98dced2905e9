"""The processor logs like every other service: JSON lines only, faust's own included, at the
level MLC_LOG_LEVEL asks for; at start it names the rules whose target has no deployed sink."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.processor_run import Run, processor_run, stop

pytestmark = pytest.mark.integration

RULES = """\
rules:
  - name: large
    when: {min_amount: {SEK: 50000}}
    slack: {channel: ap-large}
  - name: boarded
    when: {min_amount: {SEK: 90000}}
    targets:
      - monday: {board: 1234567890}
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run_until_ready(run: Run, level: str) -> list[dict[str, object]]:
    """Starts a worker at `level`, waits until it owns partitions, stops it; its log lines."""
    port = _free_port()
    run.env = {"MLC_LOG_LEVEL": level, "MLC_HEALTH_PORT": str(port)}
    process = run.start()
    deadline = time.monotonic() + 90
    while True:
        assert process.poll() is None, run.log_path.read_text(errors="replace")[-3000:]
        assert time.monotonic() < deadline, "the worker did not get its partitions in 90 s"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass  # not listening yet
        time.sleep(0.2)
    stop(process)
    lines = run.log_path.read_text(errors="replace").splitlines()
    run.log_path.unlink()
    not_json = [line for line in lines if not _is_json_object(line)]
    assert not not_json, f"{len(not_json)} of {len(lines)} lines are not JSON: {not_json[:5]}"
    return [json.loads(line) for line in lines]


def _is_json_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def test_every_line_is_json_at_the_level_mlc_log_level_asks_for(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    (tmp_path / "rules.yaml").write_text(RULES)
    with processor_run(kafka_bootstrap, tmp_path, name="logging") as run:
        quiet = _run_until_ready(run, "WARNING")
        assert [e for e in quiet if e["level"] in ("debug", "info")] == []
        # No Monday sink in the default MLC_DEPLOYED_SINKS: said at start, once.
        [undeployed] = [e for e in quiet if "no such sink is deployed" in str(e["msg"])]
        assert "'boarded' targets monday" in str(undeployed["msg"])

        verbose = _run_until_ready(run, "DEBUG")
    assert {e["service"] for e in verbose} == {"processor"}
    faust_lines = [e for e in verbose if str(e["logger"]).split(".")[0] in ("faust", "mode")]
    assert faust_lines, "faust's own lines are missing"
    assert any(e["level"] == "info" for e in verbose)
