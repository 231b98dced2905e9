"""The credential-check manifest runs the service with options it takes, on a check file in
the mlc-config ConfigMap that names credentials by their vault names only; kustomize
deploys it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from credential_check.config import load_check_config
from credential_check.main import parser
from mlc.cli import SERVICES

pytestmark = pytest.mark.unit

K8S = Path(__file__).resolve().parents[3] / "deploy/k8s"


def _documents(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((K8S / name).read_text()) if isinstance(d, dict)]


def test_the_manifest_runs_the_service_every_5_minutes_on_the_configmaps_file(
    tmp_path: Path,
) -> None:
    (deployment,) = _documents("credential-check.yaml")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["args"][:2] == ["run", "credential-check"]
    assert SERVICES["credential-check"] == "credential_check.main"
    assert (
        "credential-check.yaml"
        in yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    )
    config_map = next(d for d in _documents("config.yaml") if d["metadata"]["name"] == "mlc-config")
    check_file = tmp_path / "check.yaml"
    check_file.write_text(config_map["data"]["check.yaml"])
    args = [str(check_file) if a == "/etc/mlc/check.yaml" else a for a in container["args"][2:]]

    options = parser().parse_args(args)
    config = load_check_config(options.config)

    assert options.every_minutes == 5
    assert [(e.system, e.credential) for e in config.entries()] == [
        ("visma", "visma/1234567"),
        ("slack", "slack/default"),
        ("monday", "monday/api-token"),
        ("airbase", "airbase/1234567"),
    ]
