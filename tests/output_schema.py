"""The JSON Schema of what eniops prints with `--output json` (shipped with the package),
and a check of one document against one of its kinds."""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any


@functools.cache
def schema() -> dict[str, Any]:
    """The schema as the installed package ships it."""
    text = (resources.files("eniops") / "schemas" / "output.schema.json").read_text()
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@functools.cache
def _validator(kind: str) -> Any:
    from jsonschema import Draft202012Validator

    whole = schema()
    Draft202012Validator.check_schema(whole)
    return Draft202012Validator({**whole, "anyOf": [{"$ref": f"#/$defs/{kind}"}]})


def problems(kind: str, document: Any) -> list[str]:
    """What makes `document` not a `kind` (result, readiness, evacuation, error) by the
    schema."""
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in _validator(kind).iter_errors(document)
    ]


def fits(kind: str, document: Any) -> None:
    """Raise AssertionError when `document` is not a `kind`."""
    found = problems(kind, document)
    assert not found, f"not a {kind} by the schema: {found[:5]}"
