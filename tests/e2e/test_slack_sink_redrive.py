"""`mlc dlq redrive` into the Slack sink as a process: commands to a channel that did not
exist are dead-lettered; once the channel exists, a redrive posts each of them exactly once,
and a second redrive posts nothing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import httpx
import pytest

from mlc.cli import main as mlc
from mlc.stack import FlowStack, command_ids
from tests.e2e.conftest import settle, wait_for_posts
from tests.e2e.test_slack_sink import command, dead_letters, produce

pytestmark = pytest.mark.e2e


def test_a_redrive_after_the_fix_posts_each_dead_letter_once(
    make_stack: Callable[..., FlowStack],
    kafka_bootstrap: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)  # for `mlc dlq`
    stack = make_stack(invoices=0)
    stack.start_sandbox()
    good = [command("ap-approvals", n) for n in range(3)]
    missing = [command("ap-new-team", n) for n in range(3)]
    produce(kafka_bootstrap, stack.topics.commands, [*good, *missing])
    stack.start("slack-sink")
    group = f"run-{stack.run_id}-sink"

    wait_for_posts(stack, {c.command_id for c in good}, timeout=60)
    assert len(dead_letters(kafka_bootstrap, f"dlq.{group}.v1", want=3)) == 3
    httpx.post(
        f"{stack.base_url}/slack/_sandbox/channels", json={"name": "ap-new-team"}, timeout=10
    ).raise_for_status()

    assert mlc(["dlq", "redrive", "--group", group, "--class", "permanent"]) == 0
    assert "3 redriven, 0 already redriven" in capsys.readouterr().out
    wait_for_posts(stack, {c.command_id for c in missing}, timeout=60)
    assert mlc(["dlq", "redrive", "--group", group]) == 0
    assert "0 redriven, 3 already redriven" in capsys.readouterr().out

    posted = settle(stack, 3.0)
    assert Counter(command_ids(posted)) == Counter(c.command_id for c in [*good, *missing])
    texts = [m["text"] for m in posted if m["channel_name"] == "ap-new-team"]
    assert texts == [c.text for c in missing]  # in the order they were first written
