"""The `{{...}}` placeholders of dialog task nodes: finding them, and rendering a node's call.

A placeholder names a dotted path: `connection.api_base_url`, `connection.cloud_id`,
`connection.site_url`, `provider.api_base_url`, `context.entities.NAME`,
`context.NODE.response.body.PATH` (a service node's result) or `context.OUTPUT.value` (a script
node's output). The renderers here are what a runtime calls to turn a service node into a
request and a message node into text; each takes `values`, the mapping the paths start in:
`{"connection": {...}, "provider": {...}, "context": <the run context>}`.

- `render_url`: the root placeholder is substituted as is; every other placeholder is
  percent-encoded as (part of) one path segment, so an entity such as `123/../../spaces` can
  never change which endpoint is called, and a segment that would come out empty, `.` or `..`
  is refused.
- `render_query` and `render_body`: a string that is one placeholder alone takes the value
  itself (a number stays a number, the string "123456" stays a string); a placeholder inside
  text becomes text. An optional input left out is left out of the call: a lone placeholder
  naming an entity the run did not receive drops its query parameter, object member or list
  element.
- `render_text`: a message's text.

Any other path the values do not hold raises `UnknownPlaceholder`; every failure to render is a
`RenderError`. The service itself renders
nothing at install time: it has no tokens.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}")
PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$")
ENTITIES = ("context", "entities")
URL_ROOTS = ("connection.api_base_url", "provider.api_base_url")
# Path segments a client or server would resolve away, so that the call reached another path.
DOT_SEGMENTS = frozenset({"", ".", ".."})


class RenderError(ValueError):
    """A node that cannot be rendered from the values given: the step fails with this message."""


class UnknownPlaceholder(RenderError, KeyError):
    """A placeholder whose path the values do not hold."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path

    def __str__(self) -> str:
        return f"{{{{{self.path}}}}} names nothing the run holds"


class UnsafeUrl(RenderError):
    """A url that cannot be rendered safely: no root placeholder, or a path segment that would
    come out empty, `.` or `..`."""


class _Omitted:
    """What a lone placeholder naming a missing entity renders to: its place is left out."""


OMITTED = _Omitted()


# --- finding -------------------------------------------------------------------------------


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


def find_lone(value: Any) -> Iterator[str]:
    """The paths of the strings of a JSON value that are one placeholder alone: the places
    `render_body` and `render_query` may leave out."""
    if isinstance(value, str):
        alone = PLACEHOLDER.fullmatch(value)
        if alone is not None:
            yield alone.group(1)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from find_lone(item)
    elif isinstance(value, list):
        for item in value:
            yield from find_lone(item)


def is_well_formed(path: str) -> bool:
    return PATH.fullmatch(path) is not None


def is_entity(path: str) -> bool:
    """Whether `path` is `context.entities.NAME`."""
    parts = path.split(".")
    return len(parts) == 3 and tuple(parts[:2]) == ENTITIES


def lookup(values: Mapping[str, Any], path: str) -> Any:
    """The value at the dotted `path` (a list is indexed by a number); `UnknownPlaceholder`
    when there is none."""
    current: Any = values
    for part in path.split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            raise UnknownPlaceholder(path)
    return current


# --- rendering -----------------------------------------------------------------------------


def render_url(url: str, values: Mapping[str, Any]) -> str:
    """The url of a service node, ready to call (already percent-encoded)."""
    root = PLACEHOLDER.match(url)
    if root is None or root.group(1) not in URL_ROOTS:
        raise UnsafeUrl("a url starts with a root placeholder: " + " or ".join(URL_ROOTS))
    base = _text(lookup(values, root.group(1))).rstrip("/")
    rest = url[root.end() :]
    segments = []
    for segment in rest.split("/"):
        rendered = PLACEHOLDER.sub(lambda m: _segment_text(values, m.group(1)), segment)
        if segment != rendered and rendered in DOT_SEGMENTS:
            raise UnsafeUrl(f"a path segment {segment!r} would render as {rendered!r}")
        segments.append(rendered)
    return base + "/".join(segments)


def render_query(query: Mapping[str, str], values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The query parameters of a service node as (name, value) pairs, not yet encoded.

    A lone placeholder naming a missing entity drops its parameter; one whose value is a list
    gives one pair per item (`keys=A&keys=B`)."""
    pairs: list[tuple[str, str]] = []
    for name, template in query.items():
        value = _render_string(template, values)
        if value is OMITTED:
            continue
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, Mapping | list):
                raise RenderError(f"query parameter {name!r} must be text, not a JSON structure")
            pairs.append((name, _text(item)))
    return pairs


def render_body(body: Any, values: Mapping[str, Any]) -> Any:
    """A service node's JSON body with its placeholders substituted (see the module docstring)."""
    rendered = _render(body, values)
    return None if rendered is OMITTED else rendered


def render_text(text: str, values: Mapping[str, Any]) -> str:
    """A message node's text (or a header value): every placeholder replaced by its text."""
    return PLACEHOLDER.sub(lambda m: _text(lookup(values, m.group(1))), text)


def _render(value: Any, values: Mapping[str, Any]) -> Any:
    if isinstance(value, Mapping):
        members = ((key, _render(item, values)) for key, item in value.items())
        return {key: item for key, item in members if item is not OMITTED}
    if isinstance(value, list):
        elements = (_render(item, values) for item in value)
        return [item for item in elements if item is not OMITTED]
    if isinstance(value, str):
        return _render_string(value, values)
    return value


def _render_string(text: str, values: Mapping[str, Any]) -> Any:
    alone = PLACEHOLDER.fullmatch(text)
    if alone is None:
        return render_text(text, values)
    path = alone.group(1)
    try:
        return lookup(values, path)
    except UnknownPlaceholder:
        if is_entity(path):
            return OMITTED
        raise


def _segment_text(values: Mapping[str, Any], path: str) -> str:
    value = lookup(values, path)
    if isinstance(value, Mapping | list):
        raise RenderError(f"{{{{{path}}}}} in a url must be text, not a JSON structure")
    return quote(_text(value), safe="")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, Mapping | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)
