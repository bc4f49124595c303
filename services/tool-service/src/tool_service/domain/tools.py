"""An app's tools as tool-service serves them over MCP (contract §3 "Tools"), pure.

template-service lists them (`GET /v1/apps/{app_id}/tools?format=mcp`) as MCP `Tool` objects,
each with `_meta: {"dialog_task_id", "integration"}`: which dialog task a call runs and for
which integration. tool-service keeps that routing to itself and hands agents the rest
unchanged: name, title, description, input schema and annotations, as installed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class MalformedTool(ValueError):
    """A listed tool without the fields or routing tool-service needs (it is left out)."""


class _Routing(BaseModel):
    model_config = ConfigDict(extra="ignore")

    dialog_task_id: str = Field(min_length=1, max_length=128)
    integration: str = Field(min_length=1, max_length=64)


class _Listed(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    name: str = Field(min_length=1, max_length=128)
    title: str | None = None
    description: str | None = None
    input_schema: dict[str, Any] = Field(alias="inputSchema")
    annotations: dict[str, Any] | None = None
    meta: _Routing = Field(alias="_meta")


class ToolDefinition(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    title: str | None
    description: str | None
    input_schema: dict[str, Any]
    annotations: dict[str, Any] | None
    dialog_task_id: str
    integration: str

    @classmethod
    def from_listing(cls, item: Mapping[str, Any]) -> ToolDefinition:
        try:
            listed = _Listed.model_validate(item)
        except ValidationError:
            raise MalformedTool("a listed tool lacks its name, schema or routing") from None
        return cls(
            name=listed.name,
            title=listed.title,
            description=listed.description,
            input_schema=listed.input_schema,
            annotations=listed.annotations,
            dialog_task_id=listed.meta.dialog_task_id,
            integration=listed.meta.integration,
        )

    @property
    def display_name(self) -> str:
        return self.title or self.name

    @property
    def integration_name(self) -> str:
        """How a person would name the integration (`confluence` → `Confluence`)."""
        return self.integration.replace("_", " ").title()

    def wire(self) -> dict[str, Any]:
        """The MCP `Tool` object an agent sees: everything but tool-service's routing."""
        tool: dict[str, Any] = {"name": self.name, "inputSchema": self.input_schema}
        if self.title is not None:
            tool["title"] = self.title
        if self.description is not None:
            tool["description"] = self.description
        if self.annotations is not None:
            tool["annotations"] = self.annotations
        return tool
