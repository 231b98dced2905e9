"""argparse's own errors are one line on stderr with exit 2, for every sub-command's parser."""

from __future__ import annotations

import pytest

from mlc.cli import main


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["check", "--config", "c.yaml", "--system", "bogus"], "mlc check: argument --system"),
        (["replay"], "mlc replay: the following arguments are required"),
        (["dlq", "frobnicate"], "mlc dlq: argument"),
        (["audit"], "mlc audit: the following arguments are required"),
        (["status", "--interval", "soon"], "mlc status: argument --interval"),
        (["run", "no-such-service"], "mlc run: argument service"),
        (["no-such-command"], "mlc: argument COMMAND"),
    ],
)
def test_an_argument_error_is_one_line_naming_the_command_and_its_help(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)

    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert err.count("\n") == 1, err
    assert err.startswith(expected), err
    assert err.rstrip().endswith("--help)"), err
