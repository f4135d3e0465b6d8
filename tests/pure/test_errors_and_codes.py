"""The error tree, reason codes, exit codes and the EC2 error-code table."""

from __future__ import annotations

import json

import pytest

import eniops
from eniops._core import _codes
from eniops._core._errors import exit_code_for
from eniops._gateway import translate


def test_reason_codes_are_the_contracts():
    """REASONS holds the contract's reason codes; the docs test checks their order and table."""
    assert len(eniops.REASONS) == len(set(eniops.REASONS)) == 22
    assert {"target-has-eip", "source-dest-check", "tag-guard"} <= set(eniops.REASONS)


def test_hierarchy():
    """The families are as the contract draws them."""
    assert issubclass(eniops.InvalidInput, ValueError)
    assert issubclass(eniops.NotFound, eniops.PreconditionFailed)
    assert issubclass(eniops.Conflict, eniops.PreconditionFailed)
    assert issubclass(eniops.PermissionDenied, eniops.AwsError)
    for cls in (
        eniops.InvalidInput,
        eniops.PreconditionFailed,
        eniops.AwsError,
        eniops.OperationTimeout,
        eniops.PartialFailure,
    ):
        assert issubclass(cls, eniops.EniopsError)


def test_unknown_reason_is_a_bug():
    """A reason code outside the contract cannot be raised."""
    with pytest.raises(ValueError, match="'bogus' is not a reason code of PreconditionFailed"):
        eniops.PreconditionFailed("bogus", "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'az-mismatch' is not a reason code of Conflict"):
        eniops.Conflict("az-mismatch", "x")
    assert eniops.Conflict("ip-in-use", "x").reason == "ip-in-use"
    assert eniops.NotFound("x").reason == "not-found"


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (eniops.InvalidInput("x"), 2),
        (eniops.PreconditionFailed("az-mismatch", "x"), 3),
        (eniops.NotFound("x"), 3),
        (eniops.Conflict("in-use", "x"), 4),
        (eniops.Conflict("ip-in-use", "x"), 4),
        (eniops.Conflict("expect-mismatch", "x"), 4),
        (eniops.AwsError("x", code="InternalError", operation="AttachNetworkInterface"), 5),
        (eniops.PermissionDenied("x", code="UnauthorizedOperation", operation="Op"), 5),
        (eniops.OperationTimeout("x"), 6),
        (eniops.PartialFailure("x", rolled_back=True), 7),
        (eniops.PartialFailure("x", rolled_back=False), 8),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v),
)
def test_exit_codes(error, code):
    """Each error maps to the contract's exit code."""
    assert exit_code_for(error) == code


def test_errors_serialise():
    """to_dict() is plain JSON with type, reason, message and details."""
    err = eniops.PartialFailure("half", rolled_back=False, details={"eni": "eni-0123abcd"})
    data = json.loads(json.dumps(err.to_dict()))
    assert data == {
        "type": "PartialFailure",
        "reason": None,
        "message": "half",
        "details": {"eni": "eni-0123abcd", "rolled_back": False},
    }


BEHAVIOUR_CODES = [
    "RequestLimitExceeded",
    "InternalError",
    "ServiceUnavailable",
    "Unavailable",
    "UnauthorizedOperation",
    "AuthFailure",
    "DryRunOperation",
    "InvalidAddress.NotFound",
    "InvalidAllocationID.NotFound",
    "InvalidAssociationID.NotFound",
    "InvalidInstanceID.NotFound",
    "InvalidInstanceID.Malformed",
    "InvalidInstanceID",
    "InvalidNetworkInterfaceID.NotFound",
    "InvalidNetworkInterfaceId.Malformed",
    "InvalidNetworkInterface.InUse",
    "InvalidAttachmentID.NotFound",
    "Resource.AlreadyAssociated",
    "Resource.AlreadyAssigned",
    "IncorrectInstanceState",
    "IncorrectState",
    "AttachmentLimitExceeded",
    "PrivateIpAddressLimitExceeded",
    "InsufficientFreeAddressesInSubnet",
    "OperationNotPermitted",
    "Gateway.NotAttached",
    "InvalidParameterValue",
    "InvalidParameterCombination",
]


def test_every_documented_code_is_a_constant_defined_once():
    """Each EC2 code of ec2-behaviour.md is spelt exactly once among the constants."""
    values = [v for k, v in vars(_codes).items() if k.isupper() and isinstance(v, str)]
    for code in BEHAVIOUR_CODES:
        assert values.count(code) == 1, code


def _client_error(code, status=400):
    from botocore.exceptions import ClientError

    return ClientError(
        {
            "Error": {"Code": code, "Message": "m"},
            "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": "req-1"},
        },
        "AnyOperation",
    )


CODE_TABLE = [
    (_codes.REQUEST_LIMIT_EXCEEDED, "retry", None),
    (_codes.INTERNAL_ERROR, "retry", None),
    (_codes.SERVICE_UNAVAILABLE, "retry", None),
    (_codes.UNAVAILABLE, "retry", None),
    (_codes.UNAUTHORIZED_OPERATION, "permission", eniops.PermissionDenied),
    (_codes.AUTH_FAILURE, "permission", eniops.PermissionDenied),
    (_codes.ACCESS_DENIED, "permission", eniops.PermissionDenied),
    (_codes.DRY_RUN_OPERATION, "dry-run-passed", None),
    (_codes.INVALID_ADDRESS_NOT_FOUND, "not-found", eniops.NotFound),
    (_codes.INVALID_ALLOCATION_ID_NOT_FOUND, "not-found", eniops.NotFound),
    (_codes.INVALID_ASSOCIATION_ID_NOT_FOUND, "not-found", eniops.NotFound),
    (_codes.INVALID_INSTANCE_ID_NOT_FOUND, "not-found", eniops.NotFound),
    (_codes.INVALID_NETWORK_INTERFACE_ID_NOT_FOUND, "not-found", eniops.NotFound),
    (_codes.INVALID_ATTACHMENT_ID_NOT_FOUND, "not-found", eniops.NotFound),
    (_codes.RESOURCE_ALREADY_ASSOCIATED, "conflict", eniops.Conflict),
    (_codes.INVALID_NETWORK_INTERFACE_IN_USE, "conflict", eniops.Conflict),
    (_codes.RESOURCE_ALREADY_ASSIGNED, "conflict", eniops.Conflict),
    (_codes.ATTACHMENT_LIMIT_EXCEEDED, "precondition", eniops.PreconditionFailed),
    (_codes.PRIVATE_IP_ADDRESS_LIMIT_EXCEEDED, "precondition", eniops.PreconditionFailed),
    (_codes.INCORRECT_INSTANCE_STATE, "precondition", eniops.PreconditionFailed),
    (_codes.OPERATION_NOT_PERMITTED, "aws", eniops.AwsError),
    (_codes.INVALID_PARAMETER_VALUE, "aws", eniops.AwsError),
    (_codes.INVALID_PARAMETER_COMBINATION, "aws", eniops.AwsError),
    (_codes.INVALID_INSTANCE_ID, "aws", eniops.AwsError),
    (_codes.INCORRECT_STATE, "aws", eniops.AwsError),
    (_codes.INSUFFICIENT_FREE_ADDRESSES_IN_SUBNET, "aws", eniops.AwsError),
    (_codes.GATEWAY_NOT_ATTACHED, "aws", eniops.AwsError),
    (_codes.INVALID_INSTANCE_ID_MALFORMED, "aws", eniops.AwsError),
]


@pytest.mark.parametrize(
    ("code", "translation", "error_type"), CODE_TABLE, ids=[row[0] for row in CODE_TABLE]
)
def test_code_table(code, translation, error_type):
    """Each EC2 code is retried, or becomes the eniops error its meaning calls for."""
    assert _codes.rule_for(code).translation == translation
    if error_type is not None:
        error = translate(_client_error(code), "AnyOperation")
        assert type(error) is error_type
        if isinstance(error, eniops.PreconditionFailed):
            assert (
                error.reason
                == _codes.REASON_FOR_CODE.get(code, _codes.CodeRule("", "not-found")).reason
            )


def test_unknown_5xx_is_retried_and_unknown_4xx_is_not():
    """An unlisted code is retried only when EC2 answered with a 5xx status."""
    assert _codes.rule_for("SomethingNew", 502).translation == "retry"
    assert _codes.rule_for("SomethingNew", 400).translation == "aws"


def test_aws_error_keeps_code_operation_and_request_id():
    """An AwsError carries EC2's code, the operation and the request id."""
    error = translate(_client_error(_codes.OPERATION_NOT_PERMITTED), "DetachNetworkInterface")
    assert isinstance(error, eniops.AwsError)
    assert (error.code, error.operation, error.request_id) == (
        "OperationNotPermitted",
        "DetachNetworkInterface",
        "req-1",
    )


def test_what_botocore_raises_is_translated_by_its_class():
    """Each error of the lower layer by its most specific class in one table: no credentials
    is an AwsError saying so, the network's errors (a subclass too) are transient AwsErrors
    named by their class, any other botocore error an AwsError; a defect is not translated."""
    from botocore import exceptions

    from eniops._gateway._translate import transient

    assert {cls.__name__ for cls in transient()} == _codes.TRANSIENT
    missing = translate(exceptions.NoCredentialsError(), "DescribeAddresses")
    assert (type(missing), missing.code) == (eniops.AwsError, _codes.NO_CREDENTIALS)
    partial = translate(exceptions.PartialCredentialsError(provider="env", cred_var="x"), "X")
    assert partial.code == _codes.NO_CREDENTIALS

    class SlowerStill(exceptions.ReadTimeoutError):
        pass

    slow = SlowerStill(endpoint_url="https://ec2.example")
    assert isinstance(slow, transient())
    network = translate(exceptions.EndpointConnectionError(endpoint_url="https://x"), "X")
    assert (type(network), network.code) == (eniops.AwsError, "EndpointConnectionError")
    assert _codes.resendable(network.code)
    other = translate(exceptions.ParamValidationError(report="bad"), "X")
    assert type(other) is eniops.AwsError
    assert translate(ValueError("a defect"), "X") is None
    answered = translate(_client_error(_codes.REQUEST_LIMIT_EXCEEDED), "X")
    assert answered.code == _codes.REQUEST_LIMIT_EXCEEDED
    from eniops._gateway._clients import UnreadableAnswer

    page = translate(UnreadableAnswer("https://proxy.example", 502, "an HTML page"), "X")
    assert (type(page), page.code) == (eniops.AwsError, _codes.UNREADABLE_ANSWER)
    assert "https://proxy.example" in page.message
    assert "HTTP 502" in page.message
    assert not _codes.resendable(page.code)


def test_an_attach_refused_for_its_device_index_is_told_apart():
    """EC2's refusal of a taken device index (InvalidParameterValue, its message) is what an
    attach falls back on another index for; other refusals and codes are not."""
    from eniops._core import _codes

    taken = "Instance 'i-0abc' already has an interface attached at device index '1'."
    attach = "AttachNetworkInterface"
    assert _codes.index_taken(
        eniops.AwsError(taken, code="InvalidParameterValue", operation=attach)
    )
    other = "The network interface and the instance are in different availability zones"
    refused = eniops.AwsError(other, code="InvalidParameterValue", operation=attach)
    assert not _codes.index_taken(refused)
    throttled = eniops.AwsError(taken, code="RequestLimitExceeded", operation=attach)
    assert not _codes.index_taken(throttled)
    assert not _codes.index_taken(ValueError(taken))
