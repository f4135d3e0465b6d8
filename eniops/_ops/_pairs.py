"""Which instance fails over to which: the pairs, as every surface reads them.

A caller may name them (`pairs=`, `--pairs FILE`); else `ENIOPS_STANDBY` (a JSON object,
instance id to standby id) names every pair and no tag is read; else each instance's tag
`eniops:standby` names its standby. The Lambda, `evacuate` and `check --zone` all read them
here.
"""

from __future__ import annotations

import json
import os

from .._core import _inputs
from .._core._errors import InvalidInput
from .._gateway import Gateway
from .._state._tags import tag_dict

#: JSON object, instance id -> its standby's id. When set (and not empty) it names every pair:
#: no tag is read.
STANDBY_ENV = "ENIOPS_STANDBY"
#: The instance's tag naming its standby.
STANDBY_TAG = "eniops:standby"


def from_env(text: str | None = None) -> dict[str, str] | None:
    """`ENIOPS_STANDBY`'s pairs (`text`: its value; None: read it from the environment);
    None when it is not set or empty (each instance's tag says then)."""
    text = os.environ.get(STANDBY_ENV) if text is None else text
    if not text or not text.strip():
        return None
    try:
        mapping = json.loads(text)
    except ValueError as err:
        raise InvalidInput(f"{STANDBY_ENV} is not JSON: {err}") from err
    if not isinstance(mapping, dict):
        raise InvalidInput(f"{STANDBY_ENV} is not a JSON object of instance id to standby id")
    return _inputs.pairs(mapping, STANDBY_ENV) or None


def tagged(
    gateway: Gateway, *, terminated: bool = False
) -> tuple[list[tuple[str, str]], list[str]]:
    """Every instance tagged with its standby (one read), terminated ones only when
    `terminated` (an evacuation fails them over too: their failover finds what they held by
    eniops' holder tags; a readiness check has nothing to check of them); and a warning for
    each tag whose value is not an instance id."""
    found = gateway.call(
        "DescribeInstances", {"Filters": [{"Name": "tag-key", "Values": [STANDBY_TAG]}]}
    )
    pairs, warnings = [], []
    for reservation in found.get("Reservations") or []:
        for raw in reservation.get("Instances") or []:
            if not terminated and (raw.get("State") or {}).get("Name") == "terminated":
                continue
            standby = tag_dict(raw.get("Tags")).get(STANDBY_TAG, "")
            try:
                pairs.append((raw["InstanceId"], _inputs.instance_id(standby, STANDBY_TAG)))
            except InvalidInput as err:
                warnings.append(str(err))
    return sorted(pairs), warnings
