"""eniops: safe Elastic IP, ENI and secondary-IP moves on EC2.

Every operation validates its preconditions first, calls EC2 with deliberate retries,
verifies the result and returns a `Result` saying what it did.
"""

from ._describe import describe
from ._eip import remap_eip
from ._eni import attach_eni, detach_eni, move_eni
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
from ._failover import failover_instance
from ._inputs import UNASSOCIATED
from ._ips import add_secondary_ips, remove_secondary_ips
from ._result import Result, Step

__version__ = "0.1.0"

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
    "remap_eip",
    "remove_secondary_ips",
]
