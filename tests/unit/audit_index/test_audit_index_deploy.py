"""The Kubernetes manifest runs the audit indexer as `mlc run` knows it, one replica on a
volume of its own that holds the index file the pod's `mlc audit` reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from audit_index.config import PATH_VARIABLE
from audit_index.main import parser
from mlc.cli import SERVICES

pytestmark = pytest.mark.unit

K8S = Path(__file__).resolve().parents[3] / "deploy/k8s"


def test_the_manifest_keeps_the_index_on_the_pods_own_volume() -> None:
    (statefulset,) = [d for d in yaml.safe_load_all((K8S / "audit-index.yaml").read_text()) if d]
    assert statefulset["kind"] == "StatefulSet"
    assert statefulset["spec"]["replicas"] == 1  # SQLite has one writer
    pod: dict[str, Any] = statefulset["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"][:2] == ["run", "audit-index"]
    assert SERVICES["audit-index"] == "audit_index.main"
    parser().parse_args(container["args"][2:])
    env = {e["name"]: e for e in container["env"]}
    index_dir = Path(env[PATH_VARIABLE]["value"]).parent
    (claim,) = statefulset["spec"]["volumeClaimTemplates"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert Path(mounts[claim["metadata"]["name"]]) == index_dir
    assert env["MLC_GROUP_INSTANCE_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert "audit-index.yaml" in kustomization["resources"]
