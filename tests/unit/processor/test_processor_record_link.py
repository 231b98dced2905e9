"""The Slack command carries the link back to the record, the company and who to mention."""

from __future__ import annotations

import json

import pytest
from tests.unit.processor.conftest import MakeEvent

from processor.routing import route
from processor.rules import parse_rules

pytestmark = pytest.mark.unit

RULES = """\
record_links:
  "*": "https://erp.example/{company_id}/{entity_type}/{invoice_number}"
  "t1/c1": "https://erp.visma.net/?companyId={company_id}&ScreenId=AP301000&RefNbr={invoice_number}"
rules:
  - name: all
    when: {}
    targets:
      - slack: {channel: ap, mention: [lead@example.com, cfo@example.com]}
  - name: legacy
    when: {}
    slack: {channel: legacy}
"""


def _links(blocks_json: str | None) -> list[str]:
    blocks = json.loads(blocks_json or "[]")
    return [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]]


def test_the_company_template_wins_and_values_are_url_quoted(make: MakeEvent) -> None:
    rules = parse_rules(RULES)
    new, legacy = route(make(reference_number="10 42/A"), rules)
    link = "https://erp.visma.net/?companyId=c1&ScreenId=AP301000&RefNbr=10%2042%2FA"
    assert _links(new.blocks_json) == [f"<{link}|Open Supplier invoice 10 42/A in Visma.net>"]
    assert _links(legacy.blocks_json) == _links(new.blocks_json)


def test_the_fallback_template_and_no_link_without_one(make: MakeEvent) -> None:
    event = make().model_copy(update={"company_id": "c9"})
    [new, _] = route(event, parse_rules(RULES))
    assert _links(new.blocks_json) == [
        "<https://erp.example/c9/supplierInvoice/10042|Open Supplier invoice 10042 in Visma.net>"
    ]
    without_links = "rules:" + RULES.split("\nrules:", 1)[1]
    for command in route(make(), parse_rules(without_links)):
        assert _links(command.blocks_json) == []


def test_company_and_mentions_are_carried(make: MakeEvent) -> None:
    new, legacy = route(make(), parse_rules(RULES))
    assert (new.company_id, legacy.company_id) == ("c1", "c1")
    assert new.mention_emails == ["lead@example.com", "cfo@example.com"]
    assert legacy.mention_emails == []
