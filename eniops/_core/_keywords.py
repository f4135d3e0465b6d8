"""The keywords every operation takes besides its own, as types a checker can hold callers to.

Every operation takes them as ``**common``; `mypy --strict` checks each call against these.
Nothing here runs: types, and the names of each set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_ec2 import EC2Client

    from ._result import Mode


#: The names of each set: a read's (`describe`), a check's (`check_failover`: a read's and
#: the tag guard; it never changes anything, so it has no mode) and a change's (the rest).
READ = ("ec2", "session", "region", "timeout", "role_arn", "external_id")
CHECK = (*READ, "require_tag")
COMMON = ("mode", "ec2", "session", "region", "timeout", "require_tag", "role_arn", "external_id")


class ReadKeywords(TypedDict, total=False):
    """The keywords of an operation that reads only (`describe`).

    ec2: a boto3 EC2 client to use as given (tests and Lambda pass their own); eniops' calls
        on it are bounded by the operation's deadline, and botocore's retries are not added
        to eniops' own.
    session, region: used to build a client when `ec2` is not given (never at import time).
    timeout: seconds for the whole operation, retries and waits included; on expiry,
        `OperationTimeout`. Each operation has its default.
    role_arn: an IAM role to assume (STS AssumeRole, session name
        ``eniops-<instance or host>-<pid>``) and build the client from: other accounts,
        RAM-shared VPCs. Not together with `ec2`.
    external_id: the external id the role's trust policy asks for (with `role_arn` only).
    """

    ec2: EC2Client | None
    session: boto3.session.Session | None
    region: str | None
    timeout: float
    role_arn: str | None
    external_id: str | None


class CommonKeywords(ReadKeywords, total=False):
    """The keywords of every operation that can change things (with those of `ReadKeywords`).

    mode: ``"apply"`` (the default): do it; ``"plan"``: read and check only, listing every
        call apply would make; ``"dry-run"``: plan, then send each call with DryRun=True.
    require_tag: ``"key"`` or ``"key=value"`` every resource the operation would change must
        carry, else ``PreconditionFailed(reason="tag-guard")``.
    """

    mode: Mode
    require_tag: str | None


class CheckKeywords(ReadKeywords, total=False):
    """The keywords of `check_failover` (with those of `ReadKeywords`): it changes nothing,
    so it takes no `mode`.

    require_tag: ``"key"`` or ``"key=value"`` every resource the failover would change must
        carry; each one without it is a ``tag-guard`` problem.
    """

    require_tag: str | None
