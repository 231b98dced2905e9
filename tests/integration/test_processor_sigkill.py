"""SIGKILL the processor mid-run, again and again, restart it: the same commands, each once.

10,000 mixed events through the 50 rules of the rules test, on the real broker. Each worker
is killed (no commit, no flush, no goodbye) once a further share of the commands is out,
and the last one is left to finish. Read as a sink reads (read_committed), the command
topics must then hold exactly the commands the rules call for: none lost, none extra, and
no command id twice. Each batch's commands and processed markers share one transaction, a
restarted worker aborts its predecessor's open one, and skips the events whose markers are
committed (services/processor/app.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from benchmarks.mixed_events import fifty_rules, mixed_events

from processor.routing import route_all
from processor.rules import parse_rules
from tests.integration.processor_run import Found, Run, processor_run

pytestmark = pytest.mark.integration

KILL_AT = (0.15, 0.45, 0.75)
"""Share of the expected commands out when each successive worker is killed."""


@pytest.fixture
def run(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Run]:
    with processor_run(kafka_bootstrap, tmp_path, name="sigkill") as r:
        # A killed member leaves the group after its session timeout: keep that short.
        r.env["MLC_PROCESSOR_SESSION_TIMEOUT_S"] = "6"
        yield r


def test_sigkill_mid_run_and_restart_give_the_same_commands_each_once(run: Run) -> None:
    events = mixed_events(10_000)
    run.rules_path.write_text(fifty_rules())
    rules = parse_rules(run.rules_path.read_text())
    commands = [c for e in events for c in route_all(e, rules)]
    expected = {(run.settings.command_topic(type(c)), c.command_id) for c in commands}
    assert len(expected) == len(commands)  # ids are distinct to begin with
    run.produce(events)

    for share in KILL_AT:
        worker = run.start()
        run.read_commands(lambda found, share=share: _distinct(found) >= share * len(expected),
                          settle=0)  # fmt: skip
        worker.kill()
        assert worker.wait(30) == -9
    run.start()
    found = run.read_commands(lambda found: set(found) >= expected, timeout=300)

    twice = {command: n for command, n in Counter(found).items() if n > 1}
    assert set(found) == expected
    assert not twice, f"{len(twice)} of {len(expected)} command ids repeated"


def _distinct(found: Found) -> int:
    return len(set(found))
