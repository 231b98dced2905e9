"""The command line: rules are validated before anything touches Kafka; a dead reference view
crashes the worker (it is restarted) and turns it unready."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast

import pytest

from chassis.kafka.view import ViewFailedError
from processor.main import _ready, crash_on_view_failure, main

pytestmark = pytest.mark.unit

EXAMPLE = Path(__file__).resolve().parents[3] / "services" / "processor" / "rules.example.yaml"


def test_check_accepts_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--rules", str(EXAMPLE), "--check"]) == 0
    assert "2 rules OK" in capsys.readouterr().out


def test_bad_rules_exit_2_with_line_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text(EXAMPLE.read_text().replace("DKK: 8000", "DKK: eight"))
    assert main(["--rules", str(bad)]) == 2
    assert "rules.yaml line 23: rules[1].when.min_amount.DKK" in capsys.readouterr().err


def test_help_lists_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "--rules FILE" in out
    assert "KAFKA_BOOTSTRAP_SERVERS" in out


class _DeadView:
    failure: ViewFailedError | None = None


class _Consumer:
    def assignment(self) -> set[str]:
        return {"visma.supplierInvoice.v1/0"}


class _CrashingApp:
    def __init__(self) -> None:
        self.crashed: list[BaseException] = []
        self.consumer = _Consumer()

    async def crash(self, reason: BaseException) -> None:
        self.crashed.append(reason)


def test_a_dead_reference_view_crashes_the_worker_and_turns_it_unready() -> None:
    view, app = _DeadView(), _CrashingApp()
    check = crash_on_view_failure(cast(Any, app), cast(Any, view))

    asyncio.run(check())
    assert app.crashed == []
    assert _ready(cast(Any, app), cast(Any, view)) is True

    view.failure = ViewFailedError("view reference stopped: StateLoadError: cannot read")
    asyncio.run(check())
    assert app.crashed == [view.failure]
    assert _ready(cast(Any, app), cast(Any, view)) is False
