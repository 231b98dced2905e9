"""The Kubernetes manifest of the airbase-sink starts it with options it takes, on the tenants
file its ConfigMap carries, which names the token by its vault name only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from airbase_sink.inject import check_options
from airbase_sink.main import options_from, parser
from chassis.settings import ServiceSettings

pytestmark = pytest.mark.unit

K8S = Path(__file__).resolve().parents[3] / "deploy/k8s"


def _documents(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((K8S / name).read_text()) if isinstance(d, dict)]


def test_the_manifest_runs_the_sink_on_the_configmaps_tenants(tmp_path: Path) -> None:
    (deployment,) = _documents("airbase-sink.yaml")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["args"][:2] == ["run", "airbase-sink"]
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert "airbase-sink.yaml" in kustomization["resources"]
    config = next(d for d in _documents("config.yaml") if d["metadata"]["name"] == "mlc-config")
    tenants = tmp_path / "airbase-sink.yaml"
    tenants.write_text(config["data"]["airbase-sink.yaml"])
    args = [str(tenants) if a == "/etc/mlc/airbase-sink.yaml" else a for a in container["args"][2:]]
    options = options_from(parser().parse_args(args), ServiceSettings())
    _, accounts = check_options(options)
    assert [(t.tenant_id, t.credential) for t in accounts.values()] == [
        ("1234567", "airbase/1234567")
    ]
