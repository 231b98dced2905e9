"""Static group membership only where a pod's name survives its restart (a StatefulSet).

A Deployment's pod gets a new name on every restart; used as group.instance.id, the new pod
joins as a new static member while the old one holds its partitions until its session ends.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from approvals.main import options_from, parser
from chassis.settings import ServiceSettings

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]


def _workloads() -> list[dict[str, Any]]:
    found = []
    for path in sorted((ROOT / "deploy/k8s").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and doc.get("kind") in ("Deployment", "StatefulSet"):
                found.append(doc)
    return found


def _env(workload: dict[str, Any]) -> dict[str, Any]:
    containers = workload["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e for c in containers for e in (c.get("env") or [])}


def test_no_deployment_names_its_pod_as_a_group_member() -> None:
    deployments = [w for w in _workloads() if w["kind"] == "Deployment"]
    assert deployments
    for workload in deployments:
        env = _env(workload)
        assert "MLC_GROUP_INSTANCE_ID" not in env, workload["metadata"]["name"]
        assert "POD_NAME" not in env, workload["metadata"]["name"]


def test_a_pod_name_alone_does_not_make_a_static_member(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POD_NAME", "slack-sink-7d9f8c6b5-x2x4q")
    monkeypatch.delenv("MLC_GROUP_INSTANCE_ID", raising=False)
    assert ServiceSettings().group_instance_id is None
    monkeypatch.setenv("MLC_GROUP_INSTANCE_ID", "slack-sink-0")
    assert ServiceSettings().group_instance_id == "slack-sink-0"


def test_approvals_takes_its_instance_id_only_from_mlc_group_instance_id(tmp_path: Path) -> None:
    args = parser().parse_args(["--config", str(tmp_path / "a.yaml")])
    deployment_pod = {"POD_NAME": "approvals-5f6d-abcde", "SLACK_BOT_TOKEN": "xoxb-1"}
    assert options_from(args, deployment_pod).instance_id is None
    stateful_pod = deployment_pod | {"MLC_GROUP_INSTANCE_ID": "approvals-1"}
    assert options_from(args, stateful_pod).instance_id == "approvals-1"


def test_no_service_reads_pod_name() -> None:
    readers = [
        str(path.relative_to(ROOT))
        for top in ("services", "libs")
        for path in (ROOT / top).rglob("*.py")
        if "POD_NAME" in path.read_text()
    ]
    assert readers == []
