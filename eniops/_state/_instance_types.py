"""Every instance type's network limits, shipped with eniops (`instance_types.json`, made
from DescribeInstanceTypes by `scripts/instance_types.py`, as the VPC CNI ships its own), so
that an operation knows its target's limits without waiting for a read of them: a move reads
its ENI and its instance in one round trip. A type the table does not have (one newer than
this release) is read from EC2 and cached, as before.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from .._core._json import JsonDict
from ._model import Limits

if TYPE_CHECKING:
    from mypy_boto3_ec2.type_defs import InstanceTypeInfoTypeDef

TABLE = Path(__file__).with_name("instance_types.json")

_loaded: list[dict[str, Limits]] = []
_lock = threading.Lock()


def shipped(instance_type: str) -> Limits | None:
    """`instance_type`'s limits as the table has them (None: not in it)."""
    if not _loaded:
        with _lock:
            if not _loaded:
                _loaded.append(_read(TABLE))
    return _loaded[0].get(instance_type)


def _read(path: Path) -> dict[str, Limits]:
    """The table, each row back as `Limits` (a missing file: an empty table)."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))["types"]
    except FileNotFoundError:
        return {}
    return {
        name: Limits(name, enis, {int(c): n for c, n in cards.items()}, ipv4, ipv6)
        for name, (enis, ipv4, ipv6, cards) in rows.items()
    }


def table_of(instance_types: Iterable[InstanceTypeInfoTypeDef], source: str) -> JsonDict:
    """The table for DescribeInstanceTypes' `InstanceTypes` entries, each parsed as eniops
    parses a read of one (`Limits.from_api`), by type name; `source` says where they came
    from."""
    rows: JsonDict = {}
    for raw in instance_types:
        limits = Limits.from_api(raw)
        cards = {str(c): n for c, n in sorted(limits.max_enis_per_card.items())}
        rows[limits.instance_type] = [
            limits.max_enis,
            limits.ipv4_per_eni,
            limits.ipv6_per_eni,
            cards,
        ]
    return {"source": source, "types": dict(sorted(rows.items()))}


def forget() -> None:
    """Read the table again when next asked (tests that swap it)."""
    with _lock:
        _loaded.clear()
