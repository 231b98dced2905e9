"""The `mlc` command line: help that says what each command does, cheap to ask for."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import Future
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest

from events.command_topics import COMMAND_TOPICS
from events.topics import ALL
from events.visma_entities import VISMA_EVENTS
from mlc.cli import main

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]


def _help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 0
    return " ".join(capsys.readouterr().out.split())  # unwrapped


def test_run_processor_help_names_every_entity_and_target_under_its_real_name(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "2000")  # argparse wraps at hyphens otherwise
    out = _help(["run", "processor", "--help"], capsys)
    assert out.startswith("usage: mlc run processor ")
    for entity in VISMA_EVENTS:
        assert entity in out
    for spec in COMMAND_TOPICS.values():
        assert spec.name in out
    assert "MLC_LOG_LEVEL" in out


def test_mlc_help_imports_no_sub_command_module() -> None:
    """In a fresh interpreter: after `mlc --help`, only `mlc` and `mlc.cli` of the project's
    own packages are loaded (no faust, no processor, no sandbox to start up for a help line)."""
    script = (
        "import sys, json\n"
        "from mlc.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert "usage: mlc" in done.stdout
    loaded = set(json.loads(done.stderr.strip().splitlines()[-1]))
    ours = {m for m in loaded if m.split(".")[0] in _project_packages()}
    assert ours == {"mlc", "mlc.cli"}
    assert not {"faust", "confluent_kafka", "fastapi"} & loaded


def _project_packages() -> set[str]:
    return {
        path.parent.name
        for top in ("services", "libs")
        for path in (ROOT / top).glob("*/__init__.py")
    }


class FakeAdmin:
    """A cluster with no topics to begin with; each created topic has its partitions led."""

    created: ClassVar[list[str]] = []

    def __init__(self, config: dict[str, Any]) -> None:
        FakeAdmin.created = []
        self._topics: dict[str, Any] = {}

    def list_topics(self, timeout: float) -> Any:
        return SimpleNamespace(topics=dict(self._topics))

    def create_topics(self, topics: list[Any], **kwargs: Any) -> dict[str, Future[None]]:
        futures: dict[str, Future[None]] = {}
        for topic in topics:
            FakeAdmin.created.append(topic.topic)
            led = {i: SimpleNamespace(leader=1) for i in range(topic.num_partitions)}
            self._topics[topic.topic] = SimpleNamespace(partitions=led)
            futures[topic.topic] = Future()
            futures[topic.topic].set_result(None)
        return futures


def test_mlc_topics_creates_every_declared_topic_the_sink_commands_included(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import mlc.topics

    monkeypatch.setattr(mlc.topics, "AdminClient", FakeAdmin)
    assert main(["topics"]) == 0
    wanted = {spec.name for spec in (*ALL, *COMMAND_TOPICS.values())}
    assert set(FakeAdmin.created) == wanted
    assert len(FakeAdmin.created) == len(wanted)
    out = capsys.readouterr().out
    for name in wanted:
        assert name in out


def test_twilio_resend_help_shows_its_arguments_and_an_example(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "2000")
    out = _help(["twilio", "resend", "--help"], capsys)
    assert out.startswith("usage: mlc twilio resend [-h] [--to NUMBER] [--force] COMMAND_ID")
    assert "mlc twilio resend 5f1c...e9 --to +46701234567" in out
    assert "--force sends it in every case" in out
    assert "-topic" not in out  # the tests' topic overrides stay out of the operator's help
