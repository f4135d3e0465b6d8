"""EC2 error codes, each defined once, and how eniops treats each of them.

A misspelt code in a string literal makes a handler dead code without anyone noticing,
so every code eniops looks at is a constant here and the tables below are tested.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from ._errors import AwsError, Interrupted, OperationTimeout

# Throttling and server-side trouble: retried with capped exponential backoff.
REQUEST_LIMIT_EXCEEDED: Final = "RequestLimitExceeded"
INTERNAL_ERROR: Final = "InternalError"
SERVICE_UNAVAILABLE: Final = "ServiceUnavailable"
UNAVAILABLE: Final = "Unavailable"

# Throttling as the other services the Lambda calls answer it (CloudWatch, Auto Scaling,
# DynamoDB).
THROTTLING: Final = "Throttling"
THROTTLING_EXCEPTION: Final = "ThrottlingException"
PROVISIONED_THROUGHPUT_EXCEEDED: Final = "ProvisionedThroughputExceededException"

# Permissions.
UNAUTHORIZED_OPERATION: Final = "UnauthorizedOperation"
AUTH_FAILURE: Final = "AuthFailure"
ACCESS_DENIED: Final = "AccessDenied"
ACCESS_DENIED_EXCEPTION: Final = "AccessDeniedException"

# DryRun=True succeeded.
DRY_RUN_OPERATION: Final = "DryRunOperation"
# eniops' own code: a DryRun=True call was carried out (the endpoint ignored DryRun).
DRY_RUN_IGNORED: Final = "DryRunIgnored"

# Not found (may also be eventual consistency right after a change).
INVALID_ADDRESS_NOT_FOUND: Final = "InvalidAddress.NotFound"
INVALID_ALLOCATION_ID_NOT_FOUND: Final = "InvalidAllocationID.NotFound"
INVALID_ASSOCIATION_ID_NOT_FOUND: Final = "InvalidAssociationID.NotFound"
INVALID_INSTANCE_ID_NOT_FOUND: Final = "InvalidInstanceID.NotFound"
INVALID_NETWORK_INTERFACE_ID_NOT_FOUND: Final = "InvalidNetworkInterfaceID.NotFound"
INVALID_ATTACHMENT_ID_NOT_FOUND: Final = "InvalidAttachmentID.NotFound"
INVALID_SUBNET_ID_NOT_FOUND: Final = "InvalidSubnetID.NotFound"

# Malformed ids (eniops parses ids first, so these mean an id shape EC2 knows and we do not).
INVALID_INSTANCE_ID_MALFORMED: Final = "InvalidInstanceID.Malformed"
INVALID_NETWORK_INTERFACE_ID_MALFORMED: Final = "InvalidNetworkInterfaceId.Malformed"

# Refusals that retrying cannot help.
INVALID_INSTANCE_ID: Final = "InvalidInstanceID"
INVALID_NETWORK_INTERFACE_IN_USE: Final = "InvalidNetworkInterface.InUse"
RESOURCE_ALREADY_ASSOCIATED: Final = "Resource.AlreadyAssociated"
RESOURCE_ALREADY_ASSIGNED: Final = "Resource.AlreadyAssigned"
#: An IPv6 address another ENI holds (EC2 cannot reassign IPv6).
INVALID_IP_ADDRESS_IN_USE: Final = "InvalidIPAddress.InUse"
INCORRECT_INSTANCE_STATE: Final = "IncorrectInstanceState"
INCORRECT_STATE: Final = "IncorrectState"
ATTACHMENT_LIMIT_EXCEEDED: Final = "AttachmentLimitExceeded"
PRIVATE_IP_ADDRESS_LIMIT_EXCEEDED: Final = "PrivateIpAddressLimitExceeded"
INSUFFICIENT_FREE_ADDRESSES_IN_SUBNET: Final = "InsufficientFreeAddressesInSubnet"
OPERATION_NOT_PERMITTED: Final = "OperationNotPermitted"
GATEWAY_NOT_ATTACHED: Final = "Gateway.NotAttached"
INVALID_PARAMETER_VALUE: Final = "InvalidParameterValue"
INVALID_PARAMETER_COMBINATION: Final = "InvalidParameterCombination"

# DynamoDB: a conditional write that did not hold (the Lambda's lease is someone else's).
CONDITIONAL_CHECK_FAILED: Final = "ConditionalCheckFailedException"

# eniops' own codes for what the lower layer raised without an answer from EC2.
NO_CREDENTIALS: Final = "NoCredentials"
#: An answer that is not the service's (an HTML page from a proxy or a misconfigured
#: endpoint): its endpoint and HTTP status are named.
UNREADABLE_ANSWER: Final = "UnreadableAnswer"

#: botocore exceptions (by class name) that mean the network failed before EC2 answered: the
#: call may or may not have been carried out.
TRANSIENT: Final = frozenset(
    {
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ConnectionClosedError",
        "ProxyConnectionError",
    }
)

THROTTLING_CODES: Final = frozenset(
    {REQUEST_LIMIT_EXCEEDED, THROTTLING, THROTTLING_EXCEPTION, PROVISIONED_THROUGHPUT_EXCEEDED}
)
SERVER_CODES: Final = frozenset({INTERNAL_ERROR, SERVICE_UNAVAILABLE, UNAVAILABLE})
PERMISSION_CODES: Final = frozenset(
    {UNAUTHORIZED_OPERATION, AUTH_FAILURE, ACCESS_DENIED, ACCESS_DENIED_EXCEPTION}
)
NOT_FOUND_CODES: Final = frozenset(
    {
        INVALID_ADDRESS_NOT_FOUND,
        INVALID_ALLOCATION_ID_NOT_FOUND,
        INVALID_ASSOCIATION_ID_NOT_FOUND,
        INVALID_INSTANCE_ID_NOT_FOUND,
        INVALID_NETWORK_INTERFACE_ID_NOT_FOUND,
        INVALID_ATTACHMENT_ID_NOT_FOUND,
        INVALID_SUBNET_ID_NOT_FOUND,
    }
)

Translation = Literal[
    "retry",  # throttling or a server fault: back off and try again
    "permission",  # PermissionDenied, never retried
    "dry-run-passed",  # DryRun=True would have succeeded
    "not-found",  # NotFound (reads may retry briefly first: eventual consistency)
    "conflict",  # Conflict with the reason in `REASON_FOR_CODE`
    "precondition",  # PreconditionFailed with the reason in `REASON_FOR_CODE`
    "aws",  # AwsError, never retried
]


@dataclass(frozen=True)
class CodeRule:
    """How one EC2 error code is treated."""

    translation: Translation
    reason: str | None = None


#: EC2 refusals that correspond to an eniops precondition: EC2 enforced the rule itself.
REASON_FOR_CODE: Final[dict[str, CodeRule]] = {
    RESOURCE_ALREADY_ASSOCIATED: CodeRule("conflict", "expect-mismatch"),
    INVALID_NETWORK_INTERFACE_IN_USE: CodeRule("conflict", "in-use"),
    RESOURCE_ALREADY_ASSIGNED: CodeRule("conflict", "ip-in-use"),
    INVALID_IP_ADDRESS_IN_USE: CodeRule("conflict", "ip-in-use"),
    ATTACHMENT_LIMIT_EXCEEDED: CodeRule("precondition", "attachment-limit"),
    PRIVATE_IP_ADDRESS_LIMIT_EXCEEDED: CodeRule("precondition", "ip-limit"),
    INCORRECT_INSTANCE_STATE: CodeRule("precondition", "instance-state"),
}


def rule_for(code: str, http_status: int | None = None) -> CodeRule:
    """How eniops treats EC2 error `code` (and its HTTP status, for unknown 5xx codes)."""
    if code in THROTTLING_CODES or code in SERVER_CODES:
        return CodeRule("retry")
    if code in PERMISSION_CODES:
        return CodeRule("permission")
    if code == DRY_RUN_OPERATION:
        return CodeRule("dry-run-passed")
    if code in NOT_FOUND_CODES:
        return CodeRule("not-found", "not-found")
    if code in REASON_FOR_CODE:
        return REASON_FOR_CODE[code]
    if http_status is not None and http_status >= 500:
        return CodeRule("retry")
    return CodeRule("aws")


def resendable(code: str) -> bool:
    """True for a call refused for its rate, answered with a server fault, or lost on the
    network: sending it again may succeed."""
    return code in TRANSIENT or rule_for(code).translation == "retry"


def is_refusal(error: object) -> bool:
    """True when EC2 clearly refused a call (so it had no effect), as opposed to an error
    that leaves open whether it was carried out (5xx, throttling, network, no answer)."""

    if isinstance(error, (OperationTimeout, Interrupted)):
        return False
    if isinstance(error, AwsError):
        return not resendable(error.code)
    return True


def index_taken(error: object) -> bool:
    """True when EC2 refused an attach because its device index is taken (by an attach that
    landed since eniops read the instance): `InvalidParameterValue`, "already has an
    interface attached at device index"."""

    return (
        isinstance(error, AwsError)
        and error.code == INVALID_PARAMETER_VALUE
        and "device index" in error.message.lower()
    )
