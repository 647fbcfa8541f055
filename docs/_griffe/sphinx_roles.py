"""
A Griffe extension for the docs site: the package's docstrings use Sphinx's cross-reference roles
(:class:`~pkg.Name`, :meth:`name`...), which Markdown would show as they are. Each becomes a link to the object
where the site documents it, or its name in code where it does not.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:class|meth|func|data|attr|exc|mod|obj):`(?P<tilde>~?)(?P<target>[\w.]+)`")


class SphinxRoles(griffe.Extension):
    """Turn Sphinx roles into optional cross-references (no warning where the target is not on the site)."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        for obj in _walk(pkg):
            if obj.docstring is not None:
                obj.docstring.value = ROLE.sub(lambda match, obj=obj: _reference(obj, match), obj.docstring.value)


def _walk(obj: griffe.Object) -> Any:
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from _walk(member)


def _reference(obj: griffe.Object, match: re.Match[str]) -> str:
    target = match["target"].lstrip(".")
    shown = target.rsplit(".", 1)[-1] if match["tilde"] else target
    try:
        identifier = (
            target if "." in target and target.split(".")[0] == "airflow_provider_kling" else obj.resolve(target)
        )
    except griffe.NameResolutionError:
        identifier = target
    return f'<autoref identifier="{identifier}" optional><code>{shown}</code></autoref>'
