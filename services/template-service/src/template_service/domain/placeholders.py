"""The `{{...}}` placeholders of dialog task nodes: finding them, and what substituting means.

A placeholder names a dotted path: `connection.api_base_url`, `connection.cloud_id`,
`provider.api_base_url`, `context.entities.NAME`, `context.NODE.response.body.PATH` (a service
node's result) or `context.VAR.PATH` (a variable a script node sets). `render` is the reference
semantics a dialog runtime follows: a string that is one placeholder alone becomes the value it
stands for, keeping its type (a version number stays a number); a placeholder inside longer text
is replaced by the value's text. The service itself never renders a request: it has no tokens.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}")
PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$")


class UnknownPlaceholder(KeyError):
    """A placeholder whose path the context does not hold."""


def find(value: Any) -> Iterator[str]:
    """Every placeholder path in a string or in the strings of a JSON value, in order."""
    if isinstance(value, str):
        for match in PLACEHOLDER.finditer(value):
            yield match.group(1)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from find(item)
    elif isinstance(value, list):
        for item in value:
            yield from find(item)


def is_well_formed(path: str) -> bool:
    return PATH.fullmatch(path) is not None


def render(value: Any, context: Mapping[str, Any]) -> Any:
    """Substitute placeholders in a JSON value from `context` (a nested mapping)."""
    if isinstance(value, Mapping):
        return {key: render(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, context) for item in value]
    if not isinstance(value, str):
        return value
    alone = PLACEHOLDER.fullmatch(value)
    if alone is not None:
        return lookup(context, alone.group(1))
    return PLACEHOLDER.sub(lambda m: _text(lookup(context, m.group(1))), value)


def lookup(context: Mapping[str, Any], path: str) -> Any:
    current: Any = context
    for part in path.split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            raise UnknownPlaceholder(path)
    return current


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)
