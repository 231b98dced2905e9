"""The Kubernetes manifest of the bill-mapping starts it with options it takes, on the file
its ConfigMap carries; one replica, never two writing decisions at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bill_mapping.config import VendorPolicy, load_config
from bill_mapping.main import parser

pytestmark = pytest.mark.unit

K8S = Path(__file__).resolve().parents[3] / "deploy/k8s"


def _documents(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((K8S / name).read_text()) if isinstance(d, dict)]


def test_the_manifest_runs_the_mapping_on_the_configmaps_file(tmp_path: Path) -> None:
    (deployment,) = _documents("bill-mapping.yaml")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["args"][:2] == ["run", "bill-mapping"]
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"]["type"] == "Recreate"
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert "bill-mapping.yaml" in kustomization["resources"]
    config = next(d for d in _documents("config.yaml") if d["metadata"]["name"] == "mlc-config")
    path = tmp_path / "bill-mapping.yaml"
    path.write_text(config["data"]["bill-mapping.yaml"])
    args = [str(path) if a == "/etc/mlc/bill-mapping.yaml" else a for a in container["args"][2:]]
    org = load_config(parser().parse_args(args).config).organization(
        "1234567", "00801EXAMPLE00000001"
    )
    assert org is not None
    assert (org.company, org.vendor_policy, org.accounts) == (
        "1234567", VendorPolicy.MATCH, {"0ca01EXAMPLERENT": "6100"},
    )  # fmt: skip
