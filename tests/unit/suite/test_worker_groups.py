"""The suite's own scheduling under pytest-xdist (tests/worker_groups.py): `make test` runs
`--dist loadgroup`, which must keep an `xdist_group` module on one worker and hand out every
other test on its own (so a module's slow tests run side by side)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from tests.worker_groups import GroupScheduling

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]

GROUPED = """
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("shared-fixture")


@pytest.mark.parametrize("n", range(6))
def test_grouped(n):
    with Path(os.environ["RECORD"]).open("a") as record:
        record.write(f"grouped {os.environ['PYTEST_XDIST_WORKER']}\\n")
"""

FREE = """
import os
from pathlib import Path

import pytest


@pytest.mark.parametrize("n", range(6))
def test_free(n):
    with Path(os.environ["RECORD"]).open("a") as record:
        record.write(f"free {os.environ['PYTEST_XDIST_WORKER']}\\n")
"""


def test_a_group_runs_on_one_worker_and_other_tests_spread(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_grouped.py").write_text(GROUPED)
    (suite / "test_free.py").write_text(FREE)
    record = tmp_path / "record.txt"
    env = os.environ | {"RECORD": str(record), "PYTHONPATH": str(ROOT)}
    env.pop("PYTEST_XDIST_WORKER", None)  # this run may itself be on a worker
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest", "-p", "no:cacheprovider",
         "-n", "2", "--dist", "loadgroup", "--rootdir", str(suite), "-c", os.devnull, str(suite)],
        cwd=suite, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    workers: dict[str, set[str]] = defaultdict(set)
    lines = record.read_text().splitlines()
    for line in lines:
        kind, worker = line.split()
        workers[kind].add(worker)
    assert len(lines) == 12
    assert len(workers["grouped"]) == 1, "the group's module fixture would be set up twice"


def test_every_ungrouped_test_is_a_unit_of_its_own() -> None:
    """Not one per module (--dist loadfile): a module's slow tests run side by side."""
    scheduling = GroupScheduling.__new__(GroupScheduling)
    scheduling._groups = {"t/test_b.py::test_1": "broker", "t/test_b.py::test_2": "broker"}
    scopes = [scheduling._split_scope(f"t/test_{m}.py::test_{n}") for m in "ab" for n in (1, 2)]
    assert len(set(scopes[:2])) == 2
    assert scopes[2] == scopes[3]
