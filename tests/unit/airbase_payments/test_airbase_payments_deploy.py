"""The Kubernetes manifest of the airbase-payments starts it with options it takes, on the
file its ConfigMap carries; one replica, never two writing decisions at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from airbase_payments.config import load_config
from airbase_payments.main import parser

pytestmark = pytest.mark.unit

K8S = Path(__file__).resolve().parents[3] / "deploy/k8s"


def test_the_manifest_runs_the_payments_on_the_configmaps_file(tmp_path: Path) -> None:
    documents: list[dict[str, Any]] = list(
        yaml.safe_load_all((K8S / "airbase-payments.yaml").read_text())
    )
    (deployment,) = documents
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["args"][:2] == ["run", "airbase-payments"]
    assert (deployment["spec"]["replicas"], deployment["spec"]["strategy"]["type"]) == (
        1, "Recreate",
    )  # fmt: skip
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert "airbase-payments.yaml" in kustomization["resources"]
    configmaps = yaml.safe_load_all((K8S / "config.yaml").read_text())
    config = next(d for d in configmaps if d["metadata"]["name"] == "mlc-config")
    path = tmp_path / "airbase-payments.yaml"
    path.write_text(config["data"]["airbase-payments.yaml"])
    args = [str(path) if a.startswith("/etc/mlc/") else a for a in container["args"][2:]]
    tenant = load_config(parser().parse_args(args).config).tenant("1234567")
    assert tenant is not None
    assert (tenant.company, tenant.accounts["4010"], tenant.cost_centers["CC-200"]) == (
        "1234567", "4010", "200",
    )  # fmt: skip


def test_a_mistake_in_the_file_names_the_line_and_field(tmp_path: Path) -> None:
    from airbase_payments.config import PaymentsConfigError

    path = tmp_path / "airbase-payments.yaml"
    path.write_text('tenants:\n  t1:\n    company: "1"\n    acounts: {"4010": "4010"}\n')
    with pytest.raises(PaymentsConfigError, match=r"line 4.*acounts"):
        load_config(path)
