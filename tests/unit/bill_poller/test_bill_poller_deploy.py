"""The Kubernetes manifest of the bill-poller starts it with options it takes, on the file
its ConfigMap carries, which names secrets only by their vault names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bill_poller.config import load_config
from bill_poller.main import parser

pytestmark = pytest.mark.unit

K8S = Path(__file__).resolve().parents[3] / "deploy/k8s"


def _documents(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((K8S / name).read_text()) if isinstance(d, dict)]


def test_the_manifest_runs_the_poller_on_the_configmaps_file(tmp_path: Path) -> None:
    (deployment,) = _documents("bill-poller.yaml")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["args"][:2] == ["run", "bill-poller"]
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"]["type"] == "Recreate"  # never two producers at once
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert "bill-poller.yaml" in kustomization["resources"]
    config = next(d for d in _documents("config.yaml") if d["metadata"]["name"] == "mlc-config")
    path = tmp_path / "bill-poller.yaml"
    path.write_text(config["data"]["bill-poller.yaml"])
    args = [str(path) if a == "/etc/mlc/bill-poller.yaml" else a for a in container["args"][2:]]
    parsed = parser().parse_args(args)
    ((tenant, organization),) = load_config(parsed.config).organizations()
    assert tenant == "1234567"
    assert organization.password_credential.startswith("bill/")
