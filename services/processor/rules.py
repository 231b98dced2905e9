"""The routing rules file: which changes go to which Slack channel, validated at load time.

Finance teams edit this YAML by hand, so a mistake must point at the exact spot:
`rules.yaml line 7: rules[1].when.min_amount.SEK: Input should be a valid decimal`. The file
is composed into YAML nodes (which remember their line) and built into plain data ourselves,
so every pydantic error location can be walked back to its node. Numbers are kept as their
source text: an amount threshold becomes an exact `Decimal`, never a float.
"""

from __future__ import annotations

import string
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from events import ChangeType

Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]

TEMPLATE_FIELDS = {
    "vendor": "Acme AB",
    "amount": "SEK 125,000.00",
    "currency": "SEK",
    "invoice_number": "10042",
    "po_reference": "PO-7",
    "due_date": date(2026, 1, 31).isoformat(),
    "status": "Open",
    "description": "",
    "company_id": "1234567",
    "entity_id": "Invoice:10042",
    "rule": "large-invoices",
}
"""The names a message template may use, with sample values used to check a template."""


class RulesFileError(Exception):
    """The rules file cannot be used; the message names the file, the line and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class When(_Strict):
    """Conditions a change must meet; all of them must hold for the rule to match."""

    entity_type: str = "supplierInvoice"
    change_types: frozenset[ChangeType] = frozenset({ChangeType.CREATED, ChangeType.UPDATED})
    min_amount: dict[Currency, Annotated[Decimal, Field(ge=0)]] | None = Field(
        default=None,
        description="amount >= threshold in that currency; unlisted currencies never match; "
        "absent means any amount in any currency",
    )


class SlackTarget(_Strict):
    workspace: str = Field(default="default", min_length=1)
    channel: str = Field(min_length=1)

    @property
    def key(self) -> str:
        return f"{self.workspace}/{self.channel}"


class Rule(_Strict):
    name: str = Field(min_length=1)
    when: When = When()
    slack: SlackTarget
    template: str | None = Field(
        default=None, description="str.format template over TEMPLATE_FIELDS"
    )

    @field_validator("template")
    @classmethod
    def _template_uses_known_fields(cls, value: str | None) -> str | None:
        if value is None:
            return value
        for _, field, _, _ in string.Formatter().parse(value):
            if field is not None and field not in TEMPLATE_FIELDS:
                known = ", ".join(sorted(TEMPLATE_FIELDS))
                raise ValueError(f"unknown template field {{{field}}}; known: {known}")
        try:
            value.format_map(TEMPLATE_FIELDS)
        except (ValueError, IndexError, KeyError) as exc:
            raise ValueError(f"invalid template: {exc}") from exc
        return value


class RuleSet(_Strict):
    rules: list[Rule]

    @field_validator("rules")
    @classmethod
    def _names_are_unique(cls, rules: list[Rule]) -> list[Rule]:
        seen: set[str] = set()
        for rule in rules:
            if rule.name in seen:
                raise ValueError(f"rule name {rule.name!r} is used twice")
            seen.add(rule.name)
        return rules


def load_rules(path: Path | str) -> RuleSet:
    """Reads and validates a rules file; raises RulesFileError naming file, line and field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesFileError(f"{path}: cannot read: {exc.strerror}") from exc
    return parse_rules(text, source=path.name)


def parse_rules(text: str, *, source: str = "rules.yaml") -> RuleSet:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else "?"
        raise RulesFileError(f"{source} line {line}: not valid YAML: {exc.problem}") from exc
    if root is None:
        raise RulesFileError(f"{source}: the file is empty; expected a mapping with 'rules'")
    try:
        return RuleSet.model_validate(_to_data(root))
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(error["loc"])
        line = _line_of(root, loc)
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        where = _dotted(loc) or "top level"
        raise RulesFileError(f"{source} line {line}: {where}: {error['msg']}{more}") from exc


def _to_data(node: yaml.Node) -> Any:
    """Plain data from a node; numbers stay as their text so amounts become exact Decimals."""
    if isinstance(node, yaml.MappingNode):
        return {_to_data(k): _to_data(v) for k, v in node.value}
    if isinstance(node, yaml.SequenceNode):
        return [_to_data(item) for item in node.value]
    tag = node.tag.rsplit(":", 1)[-1]
    if tag == "null":
        return None
    if tag == "bool":
        return node.value.lower() in {"true", "yes", "on"}
    return node.value


def _line_of(root: yaml.Node, loc: tuple[Any, ...]) -> int:
    """The 1-based line of the deepest node on the error's path that exists in the file."""
    node, line = root, root.start_mark.line + 1
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == str(part):
                    child, line = value, key.start_mark.line + 1
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and (0 <= part < len(node.value))
        ):
            child = node.value[part]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
