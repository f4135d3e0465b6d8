"""eniops' loggers, the only way a module of eniops gets one, and how a record is written.

A library logs; the application decides where to. The `eniops` logger gets a NullHandler
when the first module that logs is loaded, so that no record of eniops is ever printed by
logging's last resort, and `import eniops` does not load `logging` for code that never logs
(the command line's `--help`, a Lambda's cold start before its first record).

What eniops logs: each EC2 call at DEBUG (its action, the resources it names, the attempt,
its round trip and request id), each retry at INFO (what was answered, the wait), each change
once verified at INFO, each warning of a result at WARNING. A record's fields (`fields`,
passed as `extra`) are ids, codes and times: never a credential, a token or an external id.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime, timezone

from ._json import JsonDict

logging.getLogger("eniops").addHandler(logging.NullHandler())


def logger(name: str) -> logging.Logger:
    """The logger `name`: `eniops` or a child of it, which the NullHandler covers."""
    if name != "eniops" and not name.startswith("eniops."):
        raise ValueError(f"not one of eniops' loggers: {name!r}")
    return logging.getLogger(name)


class JsonLines(logging.Formatter):
    """One JSON object per record: `timestamp`, `level`, `logger`, `message` and the record's
    fields (`operation`, `correlation_id`, a call's `action`, `round_trip_ms` ...): the keys
    the Lambda's lines and `--log-format json` share."""

    def format(self, record: logging.LogRecord) -> str:
        data: JsonDict = {
            "timestamp": datetime.fromtimestamp(record.created, timezone.utc).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update(getattr(record, "fields", {}))
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str, sort_keys=True)


#: Parameters that name what a call acts on, in the order a line says them.
_NAMING = (
    "AllocationId",
    "AssociationId",
    "AttachmentId",
    "NetworkInterfaceId",
    "InstanceId",
    "InstanceIds",
    "NetworkInterfaceIds",
    "AllocationIds",
    "DeviceIndex",
    "PrivateIpAddress",
    "PrivateIpAddresses",
    "Ipv6Addresses",
    "RouteTableId",
    "RouteTableIds",
    "DestinationCidrBlock",
    "DestinationIpv6CidrBlock",
    "Resources",
)


def said(action: str, params: Mapping[str, object]) -> str:
    """A call in words: its action and what it names (``AssociateAddress
    AllocationId=eipalloc-… NetworkInterfaceId=eni-… PrivateIpAddress=10.0.1.5``)."""
    parts = [action]
    for key in _NAMING:
        value = params.get(key)
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            value = ",".join(map(str, value))
        parts.append(f"{key}={value}")
    tags = params.get("Tags")
    if isinstance(tags, list):
        parts.append("Tags=" + ",".join(str(t.get("Key")) for t in tags if isinstance(t, Mapping)))
    filters = params.get("Filters")
    if isinstance(filters, (list, tuple)) and filters:
        parts.append(
            "Filters=" + ",".join(str(f.get("Name")) for f in filters if isinstance(f, Mapping))
        )
    return " ".join(parts)


def named(params: Mapping[str, object]) -> list[str]:
    """The resource ids a call's parameters name (for a record's fields)."""
    found: list[str] = []
    for key in _NAMING:
        value = params.get(key)
        values = value if isinstance(value, (list, tuple)) else [value]
        found.extend(str(v) for v in values if isinstance(v, str) and "-" in v)
    return found
