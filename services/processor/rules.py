"""The routing rules file: which Visma changes go to which targets, validated at load time.

Finance teams edit this YAML by hand, so a mistake must point at the exact spot:
`rules.yaml line 7: rules[1].when.min_amount.SEK: Input should be a valid decimal`. The file
is composed into YAML nodes (which remember their line) and built into plain data ourselves,
so every pydantic error location can be walked back to its node. Numbers are kept as their
source text: an amount threshold becomes an exact `Decimal`, never a float. The models live
in `processor.rules_schema`; `RulesWatcher` reloads a changed file without a restart.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

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
        named = _rule_name(root, loc)
        raise RulesFileError(f"{source} line {line}: {where}: {error['msg']}{more}{named}") from exc


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


def _rule_name(root: yaml.Node, loc: tuple[Any, ...]) -> str:
    """` (rule 'large-invoices')` when the error sits inside a named rule, else empty."""
    if len(loc) < 2 or loc[0] != "rules" or not isinstance(loc[1], int):
        return ""
    data = _to_data(root)
    try:
        name = data["rules"][loc[1]]["name"]
    except (KeyError, IndexError, TypeError):
        return ""
    return f" (rule {name!r})" if isinstance(name, str) else ""


class RulesWatcher:
    """Reloads a rules file when it changes; an invalid new version leaves the old in force.

    Pure and thread-free: the processor calls `check()` from its own loop (say once per
    batch). The file is re-read only when its mtime or size moved, and re-parsed only when
    its bytes differ, so touching the file costs nothing.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._stamp = self._stat()
        try:
            content = self.path.read_bytes()
        except OSError as exc:
            raise RulesFileError(f"{self.path.name}: cannot read: {exc.strerror}") from exc
        self.current: RuleSet = parse_rules(content.decode("utf-8"), source=self.path.name)
        self.error: RulesFileError | None = None
        self._digest = self._hash(content)

    def check(self) -> bool:
        """True when new rules were loaded; on an invalid file keeps `current`, sets `error`."""
        stamp = self._stat()
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        try:
            content = self.path.read_bytes()
        except OSError as exc:
            self.error = RulesFileError(f"{self.path.name}: cannot read: {exc.strerror}")
            # The reason goes in the message: faust's log format drops `extra` fields.
            log.error("rules file unreadable, keeping previous rules: %s", self.error)
            return False
        digest = self._hash(content)
        if digest == self._digest:
            return False
        self._digest = digest
        try:
            rules = parse_rules(content.decode("utf-8", errors="replace"), source=self.path.name)
        except RulesFileError as exc:
            self.error = exc
            log.error("rules file invalid, keeping previous rules: %s", exc)
            return False
        self.current, self.error = rules, None
        log.info("rules reloaded: %d rules from %s", len(rules.rules), self.path.name)
        return True

    def _stat(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    @staticmethod
    def _hash(content: bytes) -> str:
        return hashlib.sha256(content).hexdigest()
