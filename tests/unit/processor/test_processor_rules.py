"""The rules file: a good file loads exactly; each mistake names its file, line and field."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from events import ChangeType
from processor.rules import RulesFileError, load_rules, parse_rules

pytestmark = pytest.mark.unit

EXAMPLE = Path(__file__).resolve().parents[3] / "services" / "processor" / "rules.example.yaml"

GOOD = """\
rules:
  - name: large-invoices
    when:
      min_amount: {SEK: 50000, NOK: 50000.10, DKK: 40000, EUR: 5000}
    slack: {workspace: default, channel: ap-large}
  - name: everything
    slack: {channel: ap-all}
"""


def test_example_file_loads_with_two_channels() -> None:
    ruleset = load_rules(EXAMPLE)
    assert [r.name for r in ruleset.rules] == ["large-invoices", "all-invoices-nordic"]
    assert [r.slack.channel for r in ruleset.rules] == ["ap-large", "ap-approvals"]
    assert ruleset.rules[1].when.min_amount == {
        "SEK": Decimal(10000), "NOK": Decimal(10000), "DKK": Decimal(8000), "EUR": Decimal(1000)
    }  # fmt: skip


def test_amounts_are_exact_decimals_and_defaults_apply() -> None:
    ruleset = parse_rules(GOOD)
    large, everything = ruleset.rules
    assert large.when.min_amount is not None
    assert large.when.min_amount["NOK"] == Decimal("50000.10")
    assert isinstance(large.when.min_amount["SEK"], Decimal)
    assert everything.when.entity_type == "supplierInvoice"
    assert everything.when.min_amount is None
    assert everything.when.change_types == {ChangeType.CREATED, ChangeType.UPDATED}
    assert everything.slack.workspace == "default"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            GOOD.replace("NOK: 50000.10", "NOK: lots"),
            "rules.yaml line 4: rules[0].when.min_amount.NOK: Input should be a valid decimal",
            id="bad-amount",
        ),
        pytest.param(
            GOOD.replace("{channel: ap-all}", "{workspace: w}"),
            "rules.yaml line 7: rules[1].slack.channel: Field required",
            id="missing-channel",
        ),
        pytest.param(
            GOOD.replace("    when:\n", "    wen:\n"),
            "rules.yaml line 3: rules[0].wen: Extra inputs are not permitted",
            id="unknown-key",
        ),
        pytest.param(
            GOOD.replace("SEK: 50000,", "sek: 50000,"),
            "rules.yaml line 4: rules[0].when.min_amount.sek.[key]: String should match",
            id="lowercase-currency",
        ),
        pytest.param(
            GOOD.replace("name: everything", "name: large-invoices"),
            "rules.yaml line 1: rules: Value error, rule name 'large-invoices' is used twice",
            id="duplicate-name",
        ),
        pytest.param(
            GOOD + "    template: 'Hi {vendr}'\n",
            "rules.yaml line 8: rules[1].template: Value error, unknown template field {vendr}",
            id="template-field",
        ),
        pytest.param(
            GOOD.replace("EUR: 5000}", "EUR: -1}"),
            "rules.yaml line 4: rules[0].when.min_amount.EUR: Input should be greater than",
            id="negative-amount",
        ),
        pytest.param("- just a list\n", "rules.yaml line 1: top level: Input should be", id="list"),
        pytest.param("rules: [\n", "rules.yaml line 2: not valid YAML", id="yaml-syntax"),
    ],
)
def test_mistakes_name_line_and_field(text: str, expected: str) -> None:
    with pytest.raises(RulesFileError) as raised:
        parse_rules(text)
    assert str(raised.value).startswith(expected), str(raised.value)


def test_load_rules_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "team-rules.yaml"
    path.write_text(GOOD.replace("NOK: 50000.10", "NOK: [1]"))
    with pytest.raises(RulesFileError, match=r"^team-rules\.yaml line 4: rules\[0\]\.when"):
        load_rules(path)


def test_missing_and_empty_files_are_clear(tmp_path: Path) -> None:
    with pytest.raises(RulesFileError, match="cannot read"):
        load_rules(tmp_path / "absent.yaml")
    (tmp_path / "empty.yaml").write_text("")
    with pytest.raises(RulesFileError, match="empty"):
        load_rules(tmp_path / "empty.yaml")
