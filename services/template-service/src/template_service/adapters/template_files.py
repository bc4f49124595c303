"""Reading the template files shipped in `template_service/templates/` into a catalog.

Each `<integration>/<name>.json` file is one template. A file that does not validate stops the
service at start-up with the file's name and every problem found: a broken template is a bug to
fix, not something to serve.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable

from pydantic import ValidationError

from template_service.domain.template import Template, TemplateCatalog

TEMPLATES_PACKAGE = "template_service.templates"


class InvalidTemplate(ValueError):
    """A template file that is not a valid template."""


def load_catalog(root: Traversable | None = None) -> TemplateCatalog:
    folder = root if root is not None else resources.files(TEMPLATES_PACKAGE)
    return TemplateCatalog(load_template(path) for path in template_files(folder))


def template_files(folder: Traversable) -> list[Traversable]:
    found = [
        path
        for integration in folder.iterdir()
        if integration.is_dir()
        for path in integration.iterdir()
        if path.name.endswith(".json")
    ]
    return sorted(found, key=lambda path: str(path))


def load_template(path: Traversable) -> Template:
    try:
        return Template.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'template'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        )
        raise InvalidTemplate(f"{path.name}: {problems}") from None
