"""The handler's configuration, from its environment, checked before any call: a value
that does not read is an `InvalidInput` naming the variable (answered `ok: false`)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .._core import _inputs
from .._core._errors import InvalidInput
from .._ops._pairs import STANDBY_ENV, STANDBY_TAG, from_env

# The pairs are read as every surface reads them (`_ops._pairs`); their names are the
# handler's settings too.
__all__ = [
    "ALARM_PREFIX_ENV",
    "DEFAULT_ALARM_PREFIX",
    "EXTERNAL_ID_ENV",
    "HANDLER_ACTIONS",
    "LEASE_TABLE_ENV",
    "REQUIRE_TAG_ENV",
    "ROLE_ARN_ENV",
    "STANDBY_ENV",
    "STANDBY_TAG",
    "Config",
]

#: `require_tag` for every change ("key" or "key=value").
REQUIRE_TAG_ENV = "ENIOPS_REQUIRE_TAG"
#: `role_arn` for every call.
ROLE_ARN_ENV = "ENIOPS_ROLE_ARN"
#: The external id `ENIOPS_ROLE_ARN`'s trust policy asks for.
EXTERNAL_ID_ENV = "ENIOPS_EXTERNAL_ID"
#: Alarms whose name starts with this act too (besides EC2's status-check alarms).
ALARM_PREFIX_ENV = "ENIOPS_ALARM_PREFIX"
DEFAULT_ALARM_PREFIX = "eniops-"
#: The DynamoDB table of leases: one failover of an instance at a time.
LEASE_TABLE_ENV = "ENIOPS_LEASE_TABLE"

#: What the handler calls besides the operations' EC2 actions: the alarm's re-read, the
#: group's tags and its lifecycle answer, the lease. The template grants exactly these.
HANDLER_ACTIONS = (
    "autoscaling:CompleteLifecycleAction",
    "autoscaling:DescribeTags",
    "cloudwatch:DescribeAlarms",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
)

_TABLE = re.compile(r"[A-Za-z0-9_.-]{3,255}")


@dataclass(frozen=True)
class Config:
    """What the environment says, parsed."""

    #: Every pair, when ENIOPS_STANDBY names them; None: each instance's tag says.
    pairs: Mapping[str, str] | None = None
    require_tag: str | None = None
    role_arn: str | None = None
    alarm_prefix: str = DEFAULT_ALARM_PREFIX
    lease_table: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Config:
        """Read and check every variable (no AWS call)."""
        tag = environ.get(REQUIRE_TAG_ENV) or None
        _inputs.tag_guard(tag, REQUIRE_TAG_ENV)
        role = environ.get(ROLE_ARN_ENV) or None
        _inputs.role_arn(role, ROLE_ARN_ENV)
        _inputs.external_id(environ.get(EXTERNAL_ID_ENV) or None, EXTERNAL_ID_ENV)
        table = environ.get(LEASE_TABLE_ENV) or None
        if table is not None and not _TABLE.fullmatch(table):
            raise InvalidInput(f"{LEASE_TABLE_ENV}: {table[:80]!r} is not a DynamoDB table name")
        prefix = environ.get(ALARM_PREFIX_ENV, DEFAULT_ALARM_PREFIX)
        if len(prefix) > 255:
            raise InvalidInput(f"{ALARM_PREFIX_ENV} is longer than an alarm name")
        return cls(from_env(environ.get(STANDBY_ENV, "")), tag, role, prefix, table)

    def standby_of(self, instance_id: str) -> str | None:
        """The standby ENIOPS_STANDBY names (None also when it does not apply)."""
        return None if self.pairs is None else self.pairs.get(instance_id)
