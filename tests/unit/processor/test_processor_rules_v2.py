"""Rules file v2: targets and conditions load exactly; mistakes name line, field and rule;
the watcher reloads a changed file and keeps the old rules when the new one is invalid."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest

from events import ChangeType
from processor.rules import RulesFileError, RulesWatcher, load_rules, parse_rules

pytestmark = pytest.mark.unit

EXAMPLE_V2 = (
    Path(__file__).resolve().parents[3] / "services" / "processor" / "examples" / "rules.yaml"
)

V2 = """\
rules:
  - name: big
    when:
      entity_type: [supplierInvoice, purchaseOrder]
      change_type: CREATED
      amount_in_base: {base_currency: SEK, rates: {EUR: 11.25}, min: 50000.50}
      due: {within_days: 3}
    targets:
      - slack: {channel: ap}
      - sms: {to: ["+46701234567", "+4798765432"]}
        template: "{{ vendor }}"
      - email: {to: [ap@example.com]}
      - monday: {board: 123}
      - airbase: {}
      - visma_writer: {action: comment}
"""


def test_v2_file_loads_with_decimals_and_every_target_kind() -> None:
    [rule] = parse_rules(V2).rules
    assert rule.when.entity_types == {"supplierInvoice", "purchaseOrder"}
    assert rule.when.change_types == {ChangeType.CREATED}
    assert rule.when.amount_in_base is not None
    assert rule.when.amount_in_base.min == Decimal("50000.50")
    assert rule.when.amount_in_base.rates["EUR"] == Decimal("11.25")
    assert [t.kind for t in rule.targets] == [
        "slack", "sms", "email", "monday", "airbase", "visma_writer"
    ]  # fmt: skip
    assert rule.slack is None


def test_the_shipped_v2_example_loads() -> None:
    assert len(load_rules(EXAMPLE_V2).rules) == 6


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param("[supplierInvoice, purchaseOrder]", "supplierinvoice",
                     "line 4: rules[0].when.entity_type: Value error, unknown entity type",
                     id="unknown-entity-type"),
        pytest.param("+4798765432", "004798765432",
                     "line 10: rules[0].targets[1].sms.to[1]: String should match", id="phone"),
        pytest.param("ap@example.com", "ap-at-example",
                     "line 12: rules[0].targets[2].email.to[0]: String should match",
                     id="email"),
        pytest.param("{board: 123}", "{board: main}",
                     "line 13: rules[0].targets[3].monday.board: String should match",
                     id="monday-board"),
        pytest.param('"{{ vendor }}"', '"{{ vendor }"',
                     "line 11: rules[0].targets[1].template: Value error, template line 1",
                     id="template-syntax"),
        pytest.param('"{{ vendor }}"', '"{{ vendr }}"',
                     "line 11: rules[0].targets[1].template: Value error, unknown template name "
                     "'vendr'", id="template-name"),
        pytest.param("min: 50000.50}", "min: 50000.50, max: 100}",
                     "line 6: rules[0].when.amount_in_base: Value error, min must be below max",
                     id="min-above-max"),
        pytest.param("{within_days: 3}", "{within_days: 3, overdue: true}",
                     "line 7: rules[0].when.due: Value error, give exactly one", id="due-both"),
        pytest.param("      - airbase: {}\n", (
                     "      - airbase: {}\n        sms: {to: ['+46701']}\n"),
                     "line 14: rules[0].targets[4]: Value error, give exactly one of",
                     id="two-kinds"),
        pytest.param("{board: 123}", "{board: 123, colour: red}",
                     "line 13: rules[0].targets[3].monday.colour: Extra inputs", id="unknown-key"),
        pytest.param("rates: {EUR: 11.25}", "rates: {EUR: 0}",
                     "line 6: rules[0].when.amount_in_base.rates.EUR: Input should be greater",
                     id="zero-rate"),
        pytest.param("      - email:", "      - slack: {channel: ap}\n      - email:",
                     "line 2: rules[0]: Value error, target 'default/ap' is listed twice",
                     id="duplicate-target"),
        pytest.param("    targets:\n", "    slack: {channel: x}\n    targets:\n",
                     "line 2: rules[0]: Value error, give either targets", id="slack-and-targets"),
    ],
)  # fmt: skip
def test_v2_mistakes_name_line_field_and_rule(old: str, new: str, expected: str) -> None:
    assert old in V2
    with pytest.raises(RulesFileError) as raised:
        parse_rules(V2.replace(old, new, 1))
    message = str(raised.value)
    assert message.startswith(f"rules.yaml {expected}"), message
    assert message.endswith("(rule 'big')"), message


def test_a_rule_level_template_needs_the_v1_slack_target() -> None:
    text = V2.replace("    targets:\n", "    template: '{vendor}'\n    targets:\n")
    with pytest.raises(RulesFileError, match="rule-level template belongs to v1 slack"):
        parse_rules(text)


def test_anchors_in_definitions_are_shared_and_otherwise_ignored() -> None:
    text = "definitions:\n  r: &r {EUR: 11}\n" + V2.replace("{EUR: 11.25}", "*r")
    [rule] = parse_rules(text).rules
    assert rule.when.amount_in_base is not None
    assert rule.when.amount_in_base.rates == {"EUR": Decimal(11)}


def _rewrite(path: Path, text: str) -> None:
    before = path.stat().st_mtime_ns
    path.write_text(text)
    os.utime(path, ns=(before + 1_000_000_000, before + 1_000_000_000))


def test_watcher_reloads_a_changed_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(V2)
    watcher = RulesWatcher(path)
    assert watcher.check() is False  # nothing changed
    _rewrite(path, V2.replace("name: big", "name: bigger"))
    assert watcher.check() is True
    assert [r.name for r in watcher.current.rules] == ["bigger"]
    assert watcher.error is None


def test_watcher_keeps_the_previous_rules_when_the_new_file_is_invalid(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(V2)
    watcher = RulesWatcher(path)
    previous = watcher.current
    _rewrite(path, V2.replace("{board: 123}", "{board: main}"))
    assert watcher.check() is False
    assert watcher.current is previous
    assert watcher.error is not None
    assert "rules.yaml line 13: rules[0].targets[3].monday.board" in str(watcher.error)
    path.unlink()
    assert watcher.check() is False
    assert watcher.current is previous
    _rewrite(path, V2) if path.exists() else path.write_text(V2.replace("big", "back"))
    assert watcher.check() is True
    assert (watcher.current.rules[0].name, watcher.error) == ("back", None)


def test_watcher_ignores_a_touch_without_a_change(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(V2)
    watcher = RulesWatcher(path)
    _rewrite(path, V2)
    assert watcher.check() is False


def test_watcher_refuses_to_start_on_an_invalid_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules: [\n")
    with pytest.raises(RulesFileError, match="line 2"):
        RulesWatcher(path)
