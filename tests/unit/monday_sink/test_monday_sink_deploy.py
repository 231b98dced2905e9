"""The Kubernetes manifest of the monday-sink starts it with options it takes, and the mapping
file its ConfigMap carries binds to the seed's procurement board (odd titles and all)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.unit.monday_sink.monday_sink_kit import Board, Column

from chassis.settings import ServiceSettings
from monday_sink.inject import check_options
from monday_sink.main import options_from, parser
from monday_sink.mapping import bind
from sandbox.monday.state import PROCUREMENT_COLUMNS

pytestmark = pytest.mark.unit

K8S = Path(__file__).resolve().parents[3] / "deploy/k8s"


def _documents(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((K8S / name).read_text()) if isinstance(d, dict)]


def test_the_manifest_runs_the_sink_on_the_configmaps_mapping(tmp_path: Path) -> None:
    (deployment,) = _documents("monday-sink.yaml")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["args"][:2] == ["run", "monday-sink"]
    assert (
        "monday-sink.yaml" in yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    )
    config = next(d for d in _documents("config.yaml") if d["metadata"]["name"] == "mlc-config")
    mapping = tmp_path / "monday-mapping.yaml"
    mapping.write_text(config["data"]["monday-mapping.yaml"])
    args = [
        str(mapping) if a == "/etc/mlc/monday-mapping.yaml" else a for a in container["args"][2:]
    ]
    options = options_from(parser().parse_args(args), ServiceSettings())
    ((tenant, parsed),) = check_options(options)[1]
    assert tenant in options.vault_credentials

    columns = tuple(
        Column(
            cid, title, kind, json.dumps({"labels": dict(enumerate(labels))}) if labels else None
        )
        for cid, title, kind, labels in PROCUREMENT_COLUMNS
    )
    (spec,) = parsed.boards
    bound = bind(Board(spec.board, "Procurement", columns), spec)
    assert bound.visma_id_column == "text_visma_id"
    assert {"text_invoice", "numbers_amount"} <= {c.id for c in bound.columns}
