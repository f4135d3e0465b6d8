"""eniops: safe Elastic IP, ENI, secondary-IP and overlay-route moves on EC2.

Every operation validates its preconditions first, calls EC2 with deliberate retries,
verifies the result and returns a `Result` saying what it did.

The operations are loaded when first used, so that `import eniops` stays cheap (a Lambda's
cold start); type checkers see them as they are.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ._core import _version
from ._core._errors import (
    READINESS_REASONS,
    REASONS,
    AwsError,
    Conflict,
    EniopsError,
    ImdsError,
    Interrupted,
    InvalidInput,
    NotFound,
    OperationTimeout,
    PartialFailure,
    PermissionDenied,
    PreconditionFailed,
)
from ._core._inputs import UNASSOCIATED
from ._core._keywords import CheckKeywords, CommonKeywords, ReadKeywords
from ._core._result import Evacuation, Problem, Readiness, Result, Step

if TYPE_CHECKING:
    from ._ops.describe import describe
    from ._ops.eni import attach_eni, detach_eni, move_eni
    from ._ops.evacuate import evacuate
    from ._ops.failover import failover_instance
    from ._ops.ips import add_secondary_ips, remove_secondary_ips
    from ._ops.readiness import check_failover
    from ._ops.release import release_eip
    from ._ops.remap import remap_eip
    from ._ops.route import move_route
    from ._state._descriptions import (
        AddressDescription,
        Description,
        EniDescription,
        EniLine,
        InstanceDescription,
    )

#: Where each operation (and `describe`'s types) lives; it is imported on first use.
_OPERATIONS = {
    "AddressDescription": "._state._descriptions",
    "Description": "._state._descriptions",
    "EniDescription": "._state._descriptions",
    "EniLine": "._state._descriptions",
    "InstanceDescription": "._state._descriptions",
    "remap_eip": "._ops.remap",
    "move_eni": "._ops.eni",
    "attach_eni": "._ops.eni",
    "detach_eni": "._ops.eni",
    "add_secondary_ips": "._ops.ips",
    "remove_secondary_ips": "._ops.ips",
    "failover_instance": "._ops.failover",
    "move_route": "._ops.route",
    "describe": "._ops.describe",
    "release_eip": "._ops.release",
    "check_failover": "._ops.readiness",
    "evacuate": "._ops.evacuate",
}

__all__ = [
    "READINESS_REASONS",
    "REASONS",
    "UNASSOCIATED",
    "AddressDescription",
    "AwsError",
    "CheckKeywords",
    "CommonKeywords",
    "Conflict",
    "Description",
    "EniDescription",
    "EniLine",
    "EniopsError",
    "Evacuation",
    "ImdsError",
    "InstanceDescription",
    "Interrupted",
    "InvalidInput",
    "NotFound",
    "OperationTimeout",
    "PartialFailure",
    "PermissionDenied",
    "PreconditionFailed",
    "Problem",
    "ReadKeywords",
    "Readiness",
    "Result",
    "Step",
    "__version__",
    "add_secondary_ips",
    "attach_eni",
    "check_failover",
    "describe",
    "detach_eni",
    "evacuate",
    "failover_instance",
    "move_eni",
    "move_route",
    "release_eip",
    "remap_eip",
    "remove_secondary_ips",
]


def __getattr__(name: str) -> object:
    # The version is read from the package metadata, an operation or `describe`'s types
    # imported, when first asked.
    if name == "__version__":
        return _version.version()
    module = _OPERATIONS.get(name)
    if module is None:
        raise AttributeError(f"module 'eniops' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
