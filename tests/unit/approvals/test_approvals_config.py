"""The approvals file: defaults, per-tenant overrides, and mistakes named by file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from approvals.config import ApprovalsConfigError, load_config
from events.approvals import Decision

pytestmark = pytest.mark.unit

EXAMPLE = Path(__file__).resolve().parents[3] / "services/approvals/approvals.example.yaml"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "approvals.yaml"
    path.write_text(text)
    return path


def test_the_example_file_loads() -> None:
    config = load_config(EXAMPLE)
    policy = config.policy_for(tenant_id="tenant-se-1", company_id="tenant-se-1",
                               workspace="default")  # fmt: skip
    assert policy is not None
    assert policy.action_for("supplierInvoice", Decision.APPROVE) is not None


def test_tenant_entries_match_by_company_and_workspace_first_match_wins(tmp_path: Path) -> None:
    config = load_config(
        _write(
            tmp_path,
            """
tenants:
  - {tenant_id: t1, company_id: c1, approvers: [a@x.se],
     gestures: {approve_reactions: [thumbsup]}}
  - {tenant_id: t1, workspace: finance, approvers: [b@x.se]}
""",
        )
    )
    c1 = config.policy_for(tenant_id="t1", company_id="c1", workspace="default")
    assert c1 is not None
    assert c1.approvers == ("a@x.se",)
    assert c1.gestures.reaction("thumbsup") is Decision.APPROVE
    assert c1.gestures.reaction("white_check_mark") is None
    other = config.policy_for(tenant_id="t1", company_id="c2", workspace="finance")
    assert other is not None
    assert other.approvers == ("b@x.se",)
    assert other.gestures.reaction("white_check_mark") is Decision.APPROVE
    assert config.policy_for(tenant_id="t1", company_id="c2", workspace="default") is None
    assert config.may_be_decision(reaction="thumbsup", word=None)
    assert not config.may_be_decision(reaction="eyes", word="hello")


def test_defaults_map_supplier_invoice_approve_to_release_and_reject_to_a_note(
    tmp_path: Path,
) -> None:
    config = load_config(_write(tmp_path, "tenants: [{tenant_id: t1, approvers: [E1]}]"))
    policy = config.policy_for(tenant_id="t1", company_id="t1", workspace="default")
    assert policy is not None
    approve = policy.action_for("supplierInvoice", Decision.APPROVE)
    reject = policy.action_for("supplierInvoice", Decision.REJECT)
    assert approve is not None
    assert approve.action == "release"
    assert reject is not None
    assert reject.action == "note"
    assert policy.action_for("purchaseOrder", Decision.APPROVE) is None


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("tenants: []", "tenants"),
        ("tenants: [{tenant_id: t1, approvers: []}]", "tenants.0.approvers"),
        ("tenants: [{tenant_id: t1, approvers: [a@b], emoji: [x]}]", "tenants.0.emoji"),
        (
            "actions: {supplierInvoice: {approve: {action: ''}}}\ntenants: []",
            "actions.supplierInvoice.approve.action",
        ),
        (
            "actions: {supplierInvoice: {maybe: {action: x}}}\ntenants: [{tenant_id: t, "
            "approvers: [a@b]}]",
            "actions.supplierInvoice.maybe",
        ),
        ("tenants: [", "approvals.yaml"),
    ],
)
def test_mistakes_name_the_file_and_the_field(tmp_path: Path, text: str, named: str) -> None:
    with pytest.raises(ApprovalsConfigError) as error:
        load_config(_write(tmp_path, text))
    assert "approvals.yaml" in str(error.value)
    assert named in str(error.value)
