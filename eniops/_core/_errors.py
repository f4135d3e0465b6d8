"""The eniops exception tree and the reason codes of failed preconditions.

One root (`EniopsError`) and shallow families. Context lives in attributes (`reason`,
`details`, `code`, ...), never only in the message, so that scripts can act on it.
"""

from __future__ import annotations

from typing import ClassVar, Literal, TypeVar

from ._json import JsonDict, JsonObject

Reason = Literal[
    "not-found",
    "expect-mismatch",
    "in-use",
    "primary-eni",
    "requester-managed",
    "az-mismatch",
    "vpc-mismatch",
    "instance-state",
    "attachment-limit",
    "device-index-in-use",
    "same-subnet",
    "ip-limit",
    "ip-outside-subnet",
    "ip-reserved",
    "ip-in-use",
    "ip-is-primary",
    "ip-has-eip",
    "private-ip-not-on-eni",
    "tag-guard",
    "target-has-eip",
    "source-dest-check",
    "standby-in-zone",
]

#: Every reason code of `PreconditionFailed`, in the contract's order.
REASONS: tuple[Reason, ...] = Reason.__args__  # type: ignore[attr-defined]

#: Reasons that only `check_failover` lists (in `Readiness.problems`), never raised.
ReadinessReason = Literal["standby-not-running", "standby-impaired", "permission-denied"]
READINESS_REASONS: tuple[ReadinessReason, ...] = ReadinessReason.__args__  # type: ignore[attr-defined]

CONFLICT_REASONS: frozenset[Reason] = frozenset({"expect-mismatch", "in-use", "ip-in-use"})


E = TypeVar("E", bound="EniopsError")


class EniopsError(Exception):
    """Root of every error eniops raises."""

    def __init__(self, message: str, *, details: JsonObject | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: JsonDict = dict(details or {})

    @property
    def reason(self) -> str | None:
        """The reason code, for errors that have one."""
        return None

    def copy(self: E, details: JsonObject | None = None) -> E:
        """This error as a new object with `details` (or its own copy of them): an error is
        never changed once raised, since another thread may hold it."""
        mine = self.__class__.__new__(self.__class__)
        mine.__dict__.update(self.__dict__)
        mine.args = self.args
        mine.details = dict(self.details if details is None else details)
        return mine

    def to_dict(self) -> JsonDict:
        """Plain data for JSON output: type, reason, message and details."""
        return {
            "type": type(self).__name__,
            "reason": self.reason,
            "message": self.message,
            "details": self.details,
        }


class InvalidInput(EniopsError, ValueError):
    """A malformed id, IP address or argument mix. Raised before any AWS call."""


class PreconditionFailed(EniopsError):
    """A check failed before any change was made. `.reason` says which check."""

    #: The reason codes this kind of error may carry.
    _reasons: ClassVar[frozenset[str]] = frozenset(REASONS)

    def __init__(self, reason: Reason, message: str, *, details: JsonObject | None = None) -> None:
        if reason not in self._reasons:
            raise ValueError(f"{reason!r} is not a reason code of {type(self).__name__}")
        super().__init__(message, details=details)
        self._reason: Reason = reason

    @property
    def reason(self) -> Reason:
        """The reason code (one of `REASONS`)."""
        return self._reason


class NotFound(PreconditionFailed):
    """A named resource does not exist (reason ``not-found``)."""

    def __init__(self, message: str, *, details: JsonObject | None = None) -> None:
        super().__init__("not-found", message, details=details)


class Conflict(PreconditionFailed):
    """Someone else holds the resource (``expect-mismatch``, ``in-use``, ``ip-in-use``)."""

    _reasons: ClassVar[frozenset[str]] = frozenset(CONFLICT_REASONS)


class AwsError(EniopsError):
    """EC2 refused a call, or retries ran out. `.code` is EC2's error code."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        operation: str,
        request_id: str | None = None,
        details: JsonObject | None = None,
    ) -> None:
        super().__init__(message, details=details)
        self.code = code
        self.operation = operation
        self.request_id = request_id

    def to_dict(self) -> JsonDict:
        """Plain data, with the EC2 code, operation and request id in `details`."""
        data = super().to_dict()
        data["details"] = {
            **self.details,
            "code": self.code,
            "operation": self.operation,
            "request_id": self.request_id,
        }
        return data


class PermissionDenied(AwsError):
    """The caller lacks an IAM permission (UnauthorizedOperation, AccessDenied, AuthFailure)."""


class ImdsError(AwsError):
    """Instance metadata could not be read (not on EC2, IMDS off, or hop limit too low)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="ImdsUnavailable", operation="IMDS")


class OperationTimeout(EniopsError):
    """The operation's `timeout` passed. `.details` says where things stand."""


class PartialFailure(EniopsError):
    """A change was made and a later step failed.

    `.rolled_back` tells whether the earlier change was undone; `.details` says where every
    resource is now.
    """

    def __init__(
        self, message: str, *, rolled_back: bool, details: JsonObject | None = None
    ) -> None:
        super().__init__(message, details=details)
        self.rolled_back = rolled_back

    def to_dict(self) -> JsonDict:
        """Plain data, with `rolled_back` in `details`."""
        data = super().to_dict()
        data["details"] = {**self.details, "rolled_back": self.rolled_back}
        return data


class Interrupted(EniopsError):
    """A stop was asked for (SIGINT or SIGTERM on the command line): no new change was
    started, the call in flight finished, and `.details` says where every resource is.
    Re-running the same command completes an interrupted move."""

    def __init__(
        self, message: str, *, signal: int | None = None, details: JsonObject | None = None
    ) -> None:
        super().__init__(message, details=details)
        self.signal = signal


#: Exit codes of an interrupted command: 128 + the signal number.
EXIT_SIGINT = 130
EXIT_SIGTERM = 143

#: The command line's exit codes and what each means (the contract's table; the reference
#: is checked against it, the command's help is made from it).
EXIT_MEANINGS: tuple[tuple[str, str], ...] = (
    ("0", "done, or nothing to do"),
    ("2", "invalid input or usage"),
    ("3", "precondition failed (other than conflict)"),
    ("4", "conflict"),
    ("5", "AWS error, permission denied included"),
    ("6", "timeout"),
    ("7", "partial failure, rolled back"),
    ("8", "partial failure, not rolled back"),
    ("130, 143", "interrupted by SIGINT, SIGTERM (where every resource is was printed)"),
)


def exit_code_for(error: BaseException) -> int:
    """The command line's exit code for an error (see the contract's table)."""
    if isinstance(error, InvalidInput):
        return 2
    if isinstance(error, Conflict):
        return 4
    if isinstance(error, PreconditionFailed):
        return 3
    if isinstance(error, AwsError):
        return 5
    if isinstance(error, OperationTimeout):
        return 6
    if isinstance(error, PartialFailure):
        return 7 if error.rolled_back else 8
    if isinstance(error, Interrupted):
        return EXIT_SIGTERM if error.signal == 15 else EXIT_SIGINT
    return 1
