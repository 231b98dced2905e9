"""The demo writes only under MLC_STATE_DIR and takes a free sandbox port, so runs coexist."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlc.cli import parser
from mlc.demo import demo_stack
from processor.app import _faust_app
from processor.config import ProcessorSettings

pytestmark = pytest.mark.unit


def test_the_sandbox_port_defaults_to_a_free_one() -> None:
    assert parser("demo").parse_args(["demo"]).port == 0


def test_the_run_folder_is_under_mlc_state_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLC_STATE_DIR", str(tmp_path))
    stack = demo_stack(parser("demo").parse_args(["demo"]))
    assert stack.state_dir == tmp_path / "demo" / stack.run_id


def test_fausts_data_directory_is_in_the_run_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The processor child's environment puts faust's datadir under the run folder."""
    monkeypatch.setenv("MLC_STATE_DIR", str(tmp_path))
    stack = demo_stack(parser("demo").parse_args(["demo"]))
    child = stack._child("processor")
    for name, value in child.env.items():
        monkeypatch.setenv(name, value)
    datadir = Path(_faust_app(ProcessorSettings()).conf.datadir)
    assert datadir.is_relative_to(stack.state_dir), datadir
