"""What every operation shares: the common keywords and the start of a run.

An operation is: parse the arguments (raising `InvalidInput` before any AWS call) → `start`
a run (client, gateway, deadline, settings read once) → read the state, independent reads
at once → a pure planner builds the plan or refuses → `_executor.execute`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import _inputs, _settings
from .._deadline import Deadline
from .._errors import InvalidInput
from .._executor import Run
from .._gateway import Gateway, build_client
from .._inputs import TagGuard
from .._reads import Reader
from .._result import Mode

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_ec2 import EC2Client


@dataclass(frozen=True)
class Common:
    """The common keywords, parsed."""

    mode: Mode
    timeout_s: float
    guard: TagGuard | None
    ec2: Any
    session: Any
    region: str | None
    role_arn: str | None


def common(
    *,
    mode: object,
    ec2: EC2Client | None,
    session: boto3.session.Session | None,
    region: object,
    timeout: object,
    require_tag: object,
    role_arn: object,
) -> Common:
    """Parse the keywords every operation takes; nothing here calls AWS."""
    parsed = Common(
        mode=_inputs.mode(mode),
        timeout_s=_inputs.timeout(timeout),
        guard=_inputs.tag_guard(require_tag),
        ec2=_inputs.ec2_client(ec2),
        session=_inputs.boto3_session(session),
        region=_inputs.region(region),
        role_arn=_inputs.role_arn(role_arn),
    )
    if parsed.ec2 is not None and parsed.role_arn is not None:
        raise InvalidInput(
            "role_arn builds its own client: pass either ec2 or role_arn, not both",
            details={"argument": "role_arn"},
        )
    return parsed


def start(operation: str, keywords: Common) -> Run:
    """Begin a run: the deadline starts now; the client is built (never at import time)."""
    settings = _settings.current()
    deadline = Deadline(keywords.timeout_s)
    client = build_client(
        ec2=keywords.ec2,
        session=keywords.session,
        region=keywords.region,
        role_arn=keywords.role_arn,
        timeout_s=keywords.timeout_s,
    )
    gateway = Gateway(client, deadline, policy=settings.policy, stop=settings.stop)
    return Run(
        operation=operation,
        mode=keywords.mode,
        gateway=gateway,
        reader=Reader(gateway),
        settings=settings,
        deadline=deadline,
    )
