"""An installation: one template installed in one app, and the dialog task it created."""

from __future__ import annotations

from platform_core.contract_types import UtcDateTime
from template_service.domain.nodes import Frozen


class Installation(Frozen):
    installation_id: str
    app_id: str
    template_id: str
    template_version: str
    dialog_task_id: str
    installed_at: UtcDateTime
