"""Reading each integration's template files (`<integration>/templates/*.json`) into a catalog.

Each file is one template of the folder's integration. A file that does not validate, or that
names another integration, stops the service at start-up with the file's name and every problem
found: a broken template is a bug to fix, not something to serve.
"""

from __future__ import annotations

from importlib.resources.abc import Traversable

from pydantic import ValidationError

from integration_manifests import Integrations
from template_service.domain.template import Template, TemplateCatalog


class InvalidTemplate(ValueError):
    """A template file that is not a valid template."""


def load_catalog(integrations: Integrations) -> TemplateCatalog:
    templates = []
    for spec in integrations:
        for path in spec.template_files():
            template = load_template(path)
            if template.integration != spec.name:
                raise InvalidTemplate(
                    f"{spec.name}/templates/{path.name}: integration must be {spec.name!r}"
                )
            templates.append(template)
    return TemplateCatalog(templates)


def load_template(path: Traversable) -> Template:
    try:
        return Template.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'template'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        )
        raise InvalidTemplate(f"{path.name}: {problems}") from None
