"""Hand-edited YAML files whose mistakes point at the exact spot: file, line and key.

Finance teams edit rules and mapping files by hand. A file is composed into YAML nodes
(which remember their line) and built into plain data here, so every pydantic error location
can be walked back to its node: `rules.yaml line 7: rules[1].when.min_amount.SEK: ...`.
Scalars stay as their source text (an amount becomes an exact `Decimal`, never a float; a
board id stays a string); only null and booleans are interpreted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from chassis.errors import PermanentError

__all__ = [
    "YamlSourceError",
    "compose",
    "dotted",
    "line_of",
    "load_model",
    "located_message",
    "parse_model",
    "plain_data",
]

ModelT = TypeVar("ModelT", bound=BaseModel)


class YamlSourceError(PermanentError):
    """The text is not YAML, or is empty; the message names the source and the line."""


def compose(text: str, *, source: str, expected: str) -> yaml.Node:
    """The file's root node; `expected` says what an empty file should have held."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else "?"
        raise YamlSourceError(f"{source} line {line}: not valid YAML: {exc.problem}") from exc
    if root is None:
        raise YamlSourceError(f"{source}: the file is empty; expected {expected}")
    return root


def load_model(path: Path, model: type[ModelT], *, expected: str) -> ModelT:
    """A whole file validated as `model`; an unreadable file, bad YAML or a wrong field is a
    `YamlSourceError` naming the file, the line and the field."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise YamlSourceError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
    return parse_model(text, model, source=str(path), expected=expected)


def parse_model(text: str, model: type[ModelT], *, source: str, expected: str) -> ModelT:
    """`text` (the content of `source`) validated as `model`; bad YAML or a wrong field is a
    `YamlSourceError` naming the source, the line and the field."""
    root = compose(text, source=source, expected=expected)
    try:
        return model.model_validate(plain_data(root))
    except ValidationError as exc:
        raise YamlSourceError(located_message(exc, root, source=source)) from exc


def located_message(exc: ValidationError, root: yaml.Node, *, source: str) -> str:
    """The first validation error at its place: `rules.yaml line 7: rules[1].name: ...`."""
    error = exc.errors()[0]
    loc = tuple(error["loc"])
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    where = dotted(loc) or "top level"
    return f"{source} line {line_of(root, loc)}: {where}: {error['msg']}{more}"


def plain_data(node: yaml.Node) -> Any:
    """Plain data from a node; numbers stay as their text so amounts become exact Decimals."""
    if isinstance(node, yaml.MappingNode):
        return {plain_data(k): plain_data(v) for k, v in node.value}
    if isinstance(node, yaml.SequenceNode):
        return [plain_data(item) for item in node.value]
    tag = node.tag.rsplit(":", 1)[-1]
    if tag == "null":
        return None
    if tag == "bool":
        return node.value.lower() in {"true", "yes", "on"}
    return node.value


def line_of(root: yaml.Node, loc: tuple[Any, ...]) -> int:
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


def dotted(loc: tuple[Any, ...]) -> str:
    """A pydantic error location as a person reads it: `rules[1].when.min_amount`."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
