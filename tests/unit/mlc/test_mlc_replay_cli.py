"""`mlc replay`'s command line: --help with examples, and one clear line (exit 2) for an
unknown sink or a bad time or offset, before anything is read from Kafka."""

from __future__ import annotations

import pytest

from mlc.cli import main

pytestmark = pytest.mark.unit


def test_replay_help_shows_an_example_and_the_stopped_group_rule(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "2000")
    with pytest.raises(SystemExit) as exited:
        main(["replay", "--help"])
    assert exited.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert out.startswith("usage: mlc replay SINK (--from TIME | --from-offset [P:]OFFSET)")
    assert "mlc replay slack-sink --from 2h --mode dry-run" in out
    assert "kubectl scale deployment/SINK --replicas=0" in out


@pytest.mark.parametrize(
    ("words", "said"),
    [
        (
            ["replay", "fax-sink", "--from", "2h"],
            "mlc replay: unknown sink 'fax-sink' (replay knows: airbase-sink, monday-sink, "
            "slack-sink, twilio-sink, visma-writer)",
        ),
        (
            ["replay", "slack-sink", "--from", "2999-01-01T00:00:00Z"],
            "mlc replay: --from 2999-01-01T00:00:00Z is in the future",
        ),
        (
            ["replay", "slack-sink", "--from", "last tuesday"],
            "mlc replay: --from 'last tuesday' is not a time",
        ),
        (
            ["replay", "slack-sink", "--from-offset", "3-12"],
            "mlc replay: --from-offset '3-12' is not OFFSET or PARTITION:OFFSET",
        ),
        (
            ["replay", "slack-sink", "--from", "2h", "--to", "3h"],
            "mlc replay: --to 3h is not after --from 2h",
        ),
        (
            ["replay", "slack-sink", "--from", "2h", "--key", "abc"],
            "mlc replay: --key chooses what --mode force repeats",
        ),
    ],
)
def test_a_bad_sink_time_or_offset_is_one_line_and_exit_2(
    words: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(words) == 2
    err = capsys.readouterr().err
    assert err.startswith(said)
    assert len(err.strip().splitlines()) == 1
