"""The plain data eniops hands out: results, errors' details, views and the policies it
writes are JSON values, typed as such so that mypy follows what each one holds.

`Json` is what a value may be once it is built; code that reads one back narrows it first
(`isinstance`), since a JSON value says nothing of its shape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeAlias

#: A JSON value: a scalar, a list of values or an object of values keyed by strings.
Json: TypeAlias = "bool | int | float | str | Sequence[Json] | Mapping[str, Json] | None"
#: A JSON object.
JsonObject: TypeAlias = "Mapping[str, Json]"
#: A JSON object being built.
JsonDict: TypeAlias = "dict[str, Json]"
