"""The processor with the full rules language, on the real broker (issue 4's measures).

- 10,000 mixed events of every Visma entity through 50 rules give exactly the commands the
  rules call for, on every sink's topic, each once.
- An invalid rules file is rejected with its line and field, the running rules stay.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from benchmarks.mixed_events import fifty_rules, mixed_events, sandbox_events

from events import PostSlackMessage
from processor.routing import route_all
from processor.rules import parse_rules
from tests.integration.processor_run import Run, processor_run
from visma_client.entities import VISMA_ENTITIES

pytestmark = pytest.mark.integration


@pytest.fixture
def run(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Run]:
    with processor_run(kafka_bootstrap, tmp_path, name="rules") as r:
        yield r


def test_ten_thousand_mixed_events_through_fifty_rules_give_exactly_the_commands(run: Run) -> None:
    events = mixed_events(10_000)
    run.rules_path.write_text(fifty_rules())
    rules = parse_rules(run.rules_path.read_text())
    expected = Counter(c.command_id for e in events for c in route_all(e, rules))
    kinds = Counter(type(c).__name__ for e in events for c in route_all(e, rules))
    assert len({e.entity_type for e in events}) == len(VISMA_ENTITIES)
    assert len(kinds) >= 4, kinds
    run.produce(events)
    started = time.monotonic()
    run.start()
    found = run.commands(sum(expected.values()))
    elapsed = time.monotonic() - started
    print(f"\n10,000 events, 50 rules: {sum(expected.values())} commands ({dict(kinds)}) "
          f"in {elapsed:.0f} s including start-up")  # fmt: skip
    assert Counter(command_id for _, command_id in found) == expected


def test_an_invalid_rules_file_is_rejected_and_the_running_rules_stay(run: Run) -> None:
    base = [e for e in sandbox_events(records=3) if e.entity_type == "supplierInvoice"]
    good = "rules:\n  - name: all\n    slack: {channel: ap-00}\n    when: {}\n"
    run.rules_path.write_text(good)
    run.start()
    run.produce(base[:1])
    [(topic, _)] = run.commands(1)
    assert topic == run.settings.command_topic(PostSlackMessage)
    bad = good.replace("when: {}", "when:\n      min_amount: {SEK: lots}")
    run.rules_path.write_text(bad)
    deadline = time.monotonic() + 30
    while "rules file invalid" not in run.log_path.read_text():
        assert time.monotonic() < deadline, "the invalid file was not reported"
        time.sleep(0.2)
    report = next(line for line in run.log_path.read_text().splitlines()
                  if "rules file invalid" in line)  # fmt: skip
    assert "line 5" in report
    assert "min_amount.SEK" in report
    run.produce(base[1:2])  # still routed by the rules in force: no threshold
    assert len(run.commands(2)) == 2
    # A valid new file takes over without a restart.
    newer = good.replace("ap-00", "ap-01")
    run.rules_path.write_text(newer)
    deadline = time.monotonic() + 30
    while "rules reloaded" not in run.log_path.read_text():
        assert time.monotonic() < deadline, "the new rules were not loaded"
        time.sleep(0.2)
    run.produce(base[2:3])
    [wanted] = route_all(base[2], parse_rules(newer))
    assert wanted.channel == "ap-01"
    assert wanted.command_id in {command_id for _, command_id in run.commands(3)}
