"""The routing rules file: which Visma changes go to which targets, validated at load time.

Finance teams edit this YAML by hand, so a mistake must point at the exact spot:
`rules.yaml line 7: rules[1].when.min_amount.SEK: Input should be a valid decimal`. The file
is composed into YAML nodes (which remember their line) and built into plain data ourselves,
so every pydantic error location can be walked back to its node. Numbers are kept as their
source text: an amount threshold becomes an exact `Decimal`, never a float. The models live
in `processor.rules_schema`; `RulesWatcher` reloads a changed file without a restart.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from chassis.watched_file import WatchedFile
from chassis.yaml_source import YamlSourceError, compose, located_message, plain_data
from processor.rules_schema import (
    TEMPLATE_FIELDS,
    Rule,
    RuleSet,
    SlackTarget,
    Target,
    When,
)

__all__ = [
    "TEMPLATE_FIELDS",
    "Rule",
    "RuleSet",
    "RulesFileError",
    "RulesWatcher",
    "SlackTarget",
    "Target",
    "When",
    "load_rules",
    "parse_rules",
]

log = logging.getLogger(__name__)


class RulesFileError(Exception):
    """The rules file cannot be used; the message names the file, the line and the field."""


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
        root = compose(text, source=source, expected="a mapping with 'rules'")
    except YamlSourceError as exc:
        raise RulesFileError(str(exc)) from exc
    try:
        return RuleSet.model_validate(plain_data(root))
    except ValidationError as exc:
        named = _rule_name(root, tuple(exc.errors()[0]["loc"]))
        raise RulesFileError(located_message(exc, root, source=source) + named) from exc


def _rule_name(root: yaml.Node, loc: tuple[Any, ...]) -> str:
    """` (rule 'large-invoices')` when the error sits inside a named rule, else empty."""
    if len(loc) < 2 or loc[0] != "rules" or not isinstance(loc[1], int):
        return ""
    data = plain_data(root)
    try:
        name = data["rules"][loc[1]]["name"]
    except (KeyError, IndexError, TypeError):
        return ""
    return f" (rule {name!r})" if isinstance(name, str) else ""


class RulesWatcher(WatchedFile[RuleSet]):
    """Reloads a rules file when it changes; an invalid new version leaves the old in force
    (`chassis.watched_file`). The processor calls `check()` from its own loop (say once per
    batch)."""

    def __init__(self, path: Path | str) -> None:
        name = Path(path).name

        def parse(content: bytes) -> RuleSet:
            return parse_rules(content.decode("utf-8", errors="replace"), source=name)

        super().__init__(path, parse=parse, invalid=RulesFileError, what="rules")
