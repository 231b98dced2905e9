"""An impossible mapping stops the monday-sink at start (exit status 1), with the mapping's
message naming board, column and field in its log."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import yaml

from mlc.processes import ProcessError
from mlc.stack import FlowStack
from tests.e2e.monday_boards import TENANT, add_boards, sandbox_config

pytestmark = pytest.mark.e2e


def test_a_mapping_naming_a_missing_column_stops_the_start(
    make_stack: Callable[..., FlowStack],
) -> None:
    stack = make_stack(invoices=1)
    stack.sandbox_args = sandbox_config(
        stack.state_dir / "sandbox.yaml", per_entity=1, budget=10_000_000, clock_speed=1.0
    )
    stack.start_sandbox()
    boards = add_boards(stack, run=stack.run_id)
    board = boards.ids["supplierInvoice"]
    wrong = stack.state_dir / "wrong-mapping.yaml"
    wrong.write_text(
        yaml.safe_dump(
            {"tenant": TENANT,
             "boards": [{"board": board, "match": "table",
                         "columns": {"visma_id": "text_visma_id", "amount": "Net amount"}}]}
        )
    )  # fmt: skip
    stack.monday_mappings = (wrong,)
    sink = stack.start("monday-sink")
    assert sink.process is not None
    exit_code = sink.process.wait(60)
    log = sink.log_path.read_text()
    assert exit_code == 1, log
    assert "service failed" in log
    assert board in log
    assert "'Net amount'" in log
    assert "'amount'" in log
    with pytest.raises(ProcessError):
        stack.check_alive()
    stack.children.pop("monday-sink")  # its failure is what this test wanted
