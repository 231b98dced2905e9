"""The outage report counts exactly the lines a log got while the broker was down."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlc.demo_outage import LogLines, lines_between

pytestmark = pytest.mark.unit


def test_lines_between_counts_only_the_window_and_the_plain_text_ones(tmp_path: Path) -> None:
    log = tmp_path / "svc.log"
    log.write_text(json.dumps({"msg": "before"}) + "\n")
    start = log.stat().st_size
    with log.open("a") as out:
        out.write(json.dumps({"msg": "down", "n": 1}) + "\n")
        out.write("%3|1764|FAIL|rdkafka#producer-1| Connect to ipv4#127.0.0.1:1 failed\n")
        out.write(json.dumps(["not", "an", "object"]) + "\n")
    end = log.stat().st_size
    with log.open("a") as out:
        out.write(json.dumps({"msg": "after"}) + "\n")
    assert lines_between(log, start, end) == LogLines(total=3, not_json=2)
