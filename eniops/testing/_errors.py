"""EC2's error answers, each code defined once next to its meaning (as moto's exceptions do).

These are written for the strict layer from EC2's documentation, independently of eniops'
own error table: a misspelt code here cannot hide a mistake in eniops.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Ec2Error:
    """An error answer: EC2's code, message and HTTP status."""

    code: str
    message: str
    status: int = 400

    def answer(self) -> tuple[Any, dict[str, Any]]:
        """The (http response, parsed) pair a `before-call` handler returns to answer a call."""
        from botocore.awsrequest import AWSResponse, HTTPHeaders  # noqa: PLC0415

        http = AWSResponse("https://ec2.strict.invalid/", self.status, HTTPHeaders(), None)
        parsed = {
            "Error": {"Code": self.code, "Message": self.message},
            "ResponseMetadata": {"HTTPStatusCode": self.status, "RequestId": "strict-ec2"},
        }
        return http, parsed


#: Codes answered with HTTP 503 (throttling and server trouble); others are 400s.
SERVER_SIDE = frozenset(
    {"RequestLimitExceeded", "InternalError", "ServiceUnavailable", "Unavailable"}
)


def error(code: str, message: str = "injected by StrictEc2") -> Ec2Error:
    """An arbitrary EC2 error (fault injection), with the status EC2 gives that code."""
    return Ec2Error(code, message, 503 if code in SERVER_SIDE else 400)


def dry_run_passed() -> Ec2Error:
    """DryRunOperation: the call would have succeeded; nothing was done."""
    return Ec2Error("DryRunOperation", "Request would have succeeded, but DryRun flag is set.", 412)


def interface_in_use(eni_id: str) -> Ec2Error:
    """InvalidNetworkInterface.InUse: the ENI is attached (or still attaching or detaching)."""
    return Ec2Error("InvalidNetworkInterface.InUse", f"Interface: [{eni_id}] in use.")


def incorrect_instance_state(instance_id: str) -> Ec2Error:
    """IncorrectInstanceState: the instance is not running or stopped."""
    return Ec2Error(
        "IncorrectInstanceState",
        f"The instance '{instance_id}' is not in a valid state for this operation.",
    )


def invalid_parameter(message: str) -> Ec2Error:
    """InvalidParameterValue: what EC2 answers for a cross-zone attach, a taken index, ..."""
    return Ec2Error("InvalidParameterValue", message)


def attachment_limit(count: int, instance_type: str) -> Ec2Error:
    """AttachmentLimitExceeded: the instance type takes no more interfaces."""
    return Ec2Error(
        "AttachmentLimitExceeded",
        f"Interface count {count} exceeds the limit for {instance_type}",
    )


def primary_not_detachable() -> Ec2Error:
    """OperationNotPermitted: the interface at device index 0 on card 0 stays."""
    return Ec2Error(
        "OperationNotPermitted",
        "The network interface at device index 0 and network card index 0 cannot be detached.",
    )


def multiple_interfaces(instance_id: str) -> Ec2Error:
    """InvalidInstanceID: AssociateAddress by InstanceId on an instance with several ENIs."""
    return Ec2Error(
        "InvalidInstanceID",
        f"There are multiple interfaces attached to instance '{instance_id}'. Please specify "
        "an interface ID for the operation instead.",
    )


def ip_limit(eni_id: str) -> Ec2Error:
    """PrivateIpAddressLimitExceeded: the instance type's IPv4-per-interface limit."""
    return Ec2Error(
        "PrivateIpAddressLimitExceeded",
        f"Number of private addresses will exceed limit for {eni_id}",
    )


def route_exists(cidr: str) -> Ec2Error:
    """RouteAlreadyExists: CreateRoute for a destination the table routes already."""
    return Ec2Error("RouteAlreadyExists", f"The route identified by {cidr} already exists.")


def no_route(cidr: str, table: str) -> Ec2Error:
    """InvalidParameterValue: ReplaceRoute for a destination the table does not route."""
    return Ec2Error(
        "InvalidParameterValue",
        f"There is no route defined for '{cidr}' in the route table {table}. "
        "Use CreateRoute instead.",
    )


def ok() -> Any:
    """A success's HTTP response, for a handler that answers a call itself."""
    from botocore.awsrequest import AWSResponse, HTTPHeaders  # noqa: PLC0415

    return AWSResponse("https://ec2.strict.invalid/", 200, HTTPHeaders(), None)
