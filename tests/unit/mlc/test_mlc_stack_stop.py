"""FlowStack.stop tells every service to stop before it waits for the first, then stops the
sandbox: a service still shutting down when the one before it is waited for is not held up
(one by one, the demo's twenty services took over a minute to end on a loaded machine)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from mlc.processes import Child
from mlc.stack import FlowStack

pytestmark = pytest.mark.unit

ON_SIGTERM = """
import pathlib, signal, sys, time
here = pathlib.Path(sys.argv[1])
name, awaited, patience = sys.argv[2], here / sys.argv[3], float(sys.argv[4])

def stop(*_):
    (here / f"{name}.stopping").write_text("")
    deadline = time.monotonic() + patience
    while not awaited.exists():
        if time.monotonic() > deadline:
            sys.exit(3)
        time.sleep(0.05)
    (here / f"{name}.ended").write_text("")
    sys.exit(0)

signal.signal(signal.SIGTERM, stop)
(here / f"{name}.ready").write_text("")
while True:
    time.sleep(0.05)
"""


def _child(tmp_path: Path, name: str, *, awaits: str, patience: float) -> Child:
    argv = [sys.executable, "-c", ON_SIGTERM, str(tmp_path), name, awaits, str(patience)]
    return Child(name, argv, tmp_path / f"{name}.log")


def test_every_service_is_told_to_stop_before_any_is_waited_for_and_the_sandbox_last(
    tmp_path: Path,
) -> None:
    stack = FlowStack(run_id="stop", state_dir=tmp_path)
    # Each service ends well (0) only once the other was told to stop too: waited for one by
    # one, the first waited for gives up with 3. The sandbox ends well only if both services
    # had ended when it was told to stop.
    stack.children = {
        "sandbox": _child(tmp_path, "sandbox", awaits="visma-poller.ended", patience=0),
        "visma-poller": _child(tmp_path, "visma-poller", awaits="processor.stopping", patience=10),
        "processor": _child(tmp_path, "processor", awaits="visma-poller.stopping", patience=10),
    }
    deadline = time.monotonic() + 30
    for child in stack.children.values():
        child.start()
    for child in stack.children.values():
        while not (tmp_path / f"{child.name}.ready").exists() and time.monotonic() < deadline:
            child.check()
            time.sleep(0.05)

    stack.stop()

    codes = {name: c.process.returncode for name, c in stack.children.items() if c.process}
    assert codes == {"sandbox": 0, "visma-poller": 0, "processor": 0}
