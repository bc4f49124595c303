"""What a command prints: its JSON for `--json`, otherwise plain-text tables and field lists.

Tables are aligned columns separated by two spaces under an upper-case header, with no trailing
blanks, so they read well and still cut with `awk`. Every value a service sent is shown on one
line with control characters replaced: a name or a description cannot move the cursor or
recolour the terminal of whoever lists it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from integrations_client.models import (
    AppSubject,
    CustomProfileRef,
    ProfileRef,
    Subject,
    SystemProfileRef,
    UserSubject,
)
from platform_core.contract_types import rfc3339

__all__ = ["EMPTY", "Shown", "cell", "dump", "fields", "page_json", "table", "to_json"]

EMPTY = "-"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Shown:
    """A command's result: `data` for `--json` (None prints nothing), `text` for people, and
    `note`, a hint printed to stderr in the readable mode only."""

    data: Any
    text: str
    note: str | None = None


def dump(model: BaseModel) -> Any:
    """The body as the service sent it (aliases and added fields included, secrets hidden)."""
    return model.model_dump(mode="json", by_alias=True)


def page_json(items: Iterable[BaseModel], next_cursor: str | None) -> dict[str, Any]:
    return {"items": [dump(item) for item in items], "next_cursor": next_cursor}


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)


def subject_text(subject: Subject | None) -> str:
    if isinstance(subject, UserSubject):
        return f"user:{subject.user_id}"
    if isinstance(subject, AppSubject):
        return "app"
    return EMPTY


def profile_text(profile: ProfileRef | None) -> str:
    if isinstance(profile, CustomProfileRef):
        return f"custom:{profile.profile_id}"
    if isinstance(profile, SystemProfileRef):
        return "system"
    return EMPTY


def cell(value: object) -> str:
    """One value on one line."""
    if value is None:
        return EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, str):
        text = value
    elif isinstance(value, (list, tuple, set, frozenset)):
        text = ", ".join(cell(item) for item in value) if value else EMPTY
    elif isinstance(value, (Mapping, BaseModel)):
        raw = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
        text = json.dumps(raw, ensure_ascii=False, separators=(",", ":"))
    else:
        text = str(value)
    text = _CONTROL.sub("?", text)
    return text if text else EMPTY


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Aligned columns: the header, then one line per row."""
    lines = [[header.upper() for header in headers]]
    lines.extend([cell(value) for value in row] for row in rows)
    widths = [max(len(line[index]) for line in lines) for index in range(len(headers))]
    return "\n".join(
        "  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def fields(pairs: Iterable[tuple[str, object]]) -> str:
    """`name  value` lines, the values aligned."""
    listed = [(name, cell(value)) for name, value in pairs]
    width = max((len(name) for name, _ in listed), default=0)
    return "\n".join(f"{name.ljust(width)}  {value}".rstrip() for name, value in listed)
