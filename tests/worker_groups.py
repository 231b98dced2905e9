"""`--dist loadgroup` that works: tests marked `xdist_group(name)` run on one xdist worker.

`make test` spreads the suite over pytest-xdist workers test by test, but a module whose tests
share an expensive module-wide fixture (a private broker, a child process) should set it up
once, on one worker: it says so with `pytestmark = pytest.mark.xdist_group("name")`.

pytest-xdist 3.8 implements loadgroup by appending "@name" to each test's node id on the
workers, which pytest 9.2's structured node ids no longer allow: the marks are silently
ignored (pytest-dev/pytest-xdist#1386). So the workers write each grouped test's group to a
file, and the controller's scheduler reads it once every worker has collected (each worker
writes its file before it reports its collection), then schedules like loadgroup: a group is
one unit of work, every other test is a unit of its own.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling

GROUPS_DIR = "MLC_XDIST_GROUPS_DIR"
"""Where workers write {node id: group}; set by the controller, inherited by its workers."""


def _loadgroup(config: pytest.Config) -> bool:
    return bool(config.pluginmanager.has_plugin("xdist")) and (
        config.getoption("dist", default="no") == "loadgroup"
    )


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if _loadgroup(config) and not hasattr(config, "workerinput"):
        os.environ[GROUPS_DIR] = tempfile.mkdtemp(prefix="mlc-xdist-groups-")


def pytest_unconfigure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput") and GROUPS_DIR in os.environ:
        shutil.rmtree(os.environ.pop(GROUPS_DIR), ignore_errors=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    worker: dict[str, Any] | None = getattr(config, "workerinput", None)
    directory = os.environ.get(GROUPS_DIR)
    if worker is None or directory is None:
        return
    groups = {}
    for item in items:
        names = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                        for m in item.iter_markers("xdist_group")})  # fmt: skip
        if names:
            groups[item.nodeid] = "_".join(names)
    target = Path(directory) / f"{worker['workerid']}.json"
    partial = target.with_suffix(".partial")
    partial.write_text(json.dumps(groups))
    partial.replace(target)


class GroupScheduling(LoadScopeScheduling):
    """One unit of work per group, one per ungrouped test; in collection order."""

    _groups: dict[str, str] | None = None

    def _split_scope(self, nodeid: str) -> str:
        if self._groups is None:
            found = sorted(Path(os.environ[GROUPS_DIR]).glob("*.json"))
            self._groups = json.loads(found[0].read_text()) if found else {}
        group = self._groups.get(nodeid)
        return f"group:{group}" if group is not None else nodeid


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> LoadScopeScheduling | None:
    if not _loadgroup(config) or GROUPS_DIR not in os.environ:
        return None
    return GroupScheduling(config, log)
