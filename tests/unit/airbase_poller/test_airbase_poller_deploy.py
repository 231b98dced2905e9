"""The Kubernetes manifest of the airbase-poller starts it with options it takes, on the file
its ConfigMap carries, which names the token only by its vault name; the file's mistakes are
refused with where they are."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from airbase_poller.config import AirbasePollerConfigError, load_config
from airbase_poller.main import parser, profile_of

pytestmark = pytest.mark.unit

K8S = Path(__file__).resolve().parents[3] / "deploy/k8s"


def _documents(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((K8S / name).read_text()) if isinstance(d, dict)]


def test_the_manifest_runs_the_poller_on_the_configmaps_file(tmp_path: Path) -> None:
    (deployment,) = _documents("airbase-poller.yaml")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["args"][:2] == ["run", "airbase-poller"]
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"]["type"] == "Recreate"  # never two producers at once
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert "airbase-poller.yaml" in kustomization["resources"]
    config = next(d for d in _documents("config.yaml") if d["metadata"]["name"] == "mlc-config")
    path = tmp_path / "airbase-poller.yaml"
    path.write_text(config["data"]["airbase-poller.yaml"])
    args = [str(path) if a == "/etc/mlc/airbase-poller.yaml" else a for a in container["args"][2:]]
    parsed = parser().parse_args(args)
    (tenant,) = load_config(parsed.config).tenants
    assert tenant.credential.startswith("airbase/")
    assert profile_of(tenant).auth_scheme == "Token"


def test_a_profile_is_read_next_to_the_file_and_the_scheme_can_be_bearer(tmp_path: Path) -> None:
    (tmp_path / "profile.yaml").write_text(
        "auth_scheme: Token\npaths: {ledger_entries: /v2/ledger/}\n"
        "fields: {erp_reference_id: external_id}\n"
    )
    path = tmp_path / "poller.yaml"
    path.write_text(
        "tenants:\n"
        "  - {tenant_id: t1, company_id: '1', credential: airbase/t1/token,\n"
        "     profile: profile.yaml, auth_scheme: Bearer}\n"
    )
    (tenant,) = load_config(path).tenants
    profile = profile_of(tenant)
    assert (profile.auth_scheme, profile.path("ledger_entries")) == ("Bearer", "/v2/ledger/")
    assert profile.api_name("erp_reference_id") == "external_id"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("tenants: []\n", "tenants"),
        ("tenants:\n  - {tenant_id: t1, company_id: '1'}\n", "credential"),
        ("tenants:\n  - {tenant_id: t1, company_id: '1', credential: c, token: x}\n", "token"),
        (
            "tenants:\n  - {tenant_id: t1, company_id: '1', credential: c}\n"
            "  - {tenant_id: t1, company_id: '2', credential: d}\n",
            "tenant t1 is configured twice",
        ),
    ],
    ids=["no-tenant", "no-credential", "a-token-in-the-file", "twice"],
)
def test_a_bad_file_is_refused_naming_the_problem(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "poller.yaml"
    path.write_text(text)
    with pytest.raises(AirbasePollerConfigError, match=says):
        load_config(path)


def test_the_airbase_sinks_tenants_file_is_taken_as_it_is(tmp_path: Path) -> None:
    config = next(d for d in _documents("config.yaml") if d["metadata"]["name"] == "mlc-config")
    path = tmp_path / "airbase-sink.yaml"
    path.write_text(config["data"]["airbase-sink.yaml"]
                    + "    cost_center_dimensions: [SUBACCOUNT]\n")  # fmt: skip
    (tenant,) = load_config(path).tenants
    assert (tenant.tenant_id, tenant.credential) == ("1234567", "airbase/1234567")
    assert tenant.cost_center_dimensions == ("SUBACCOUNT",)  # the sink's, ignored here
