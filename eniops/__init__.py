"""eniops: safe Elastic IP, ENI, secondary-IP and overlay-route moves on EC2.

Every operation validates its preconditions first, calls EC2 with deliberate retries,
verifies the result and returns a `Result` saying what it did.
"""

from typing import Any

from ._errors import (
    REASONS,
    AwsError,
    Conflict,
    EniopsError,
    InvalidInput,
    NotFound,
    OperationTimeout,
    PartialFailure,
    PermissionDenied,
    PreconditionFailed,
)
from ._inputs import UNASSOCIATED
from ._ops.describe import describe
from ._ops.eni import attach_eni, detach_eni, move_eni
from ._ops.failover import failover_instance
from ._ops.ips import add_secondary_ips, remove_secondary_ips
from ._ops.remap import remap_eip
from ._ops.route import move_route
from ._result import Result, Step

__all__ = [
    "REASONS",
    "UNASSOCIATED",
    "AwsError",
    "Conflict",
    "EniopsError",
    "InvalidInput",
    "NotFound",
    "OperationTimeout",
    "PartialFailure",
    "PermissionDenied",
    "PreconditionFailed",
    "Result",
    "Step",
    "__version__",
    "add_secondary_ips",
    "attach_eni",
    "describe",
    "detach_eni",
    "failover_instance",
    "move_eni",
    "move_route",
    "remap_eip",
    "remove_secondary_ips",
]


def __getattr__(name: str) -> Any:
    # `__version__` is read from the package metadata only when asked for: cold starts.
    if name == "__version__":
        from ._version import version  # noqa: PLC0415

        return version()
    raise AttributeError(f"module 'eniops' has no attribute {name!r}")
