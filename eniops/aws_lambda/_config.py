"""The handler's configuration, from its environment, checked before any call: a value
that does not read is an `InvalidInput` naming the variable (answered `ok: false`)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .._core import _inputs
from .._core._errors import InvalidInput

#: JSON object, instance id -> its standby's id. When set (and not empty) it names every pair:
#: no tag is read, and an event about any other instance costs no call.
STANDBY_ENV = "ENIOPS_STANDBY"
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
#: The instance's tag naming its standby.
STANDBY_TAG = "eniops:standby"

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
        return cls(_pairs(environ.get(STANDBY_ENV)), tag, role, prefix, table)

    def standby_of(self, instance_id: str) -> str | None:
        """The standby ENIOPS_STANDBY names (None also when it does not apply)."""
        return None if self.pairs is None else self.pairs.get(instance_id)


def _pairs(text: str | None) -> dict[str, str] | None:
    if not text or not text.strip():
        return None
    try:
        mapping = json.loads(text)
    except ValueError as err:
        raise InvalidInput(f"{STANDBY_ENV} is not JSON: {err}") from err
    if not isinstance(mapping, dict):
        raise InvalidInput(f"{STANDBY_ENV} is not a JSON object of instance id to standby id")
    pairs = {
        _inputs.instance_id(k, f"{STANDBY_ENV} key"): _inputs.instance_id(v, f"{STANDBY_ENV}[{k}]")
        for k, v in mapping.items()
    }
    same = sorted(k for k, v in pairs.items() if k == v)
    if same:
        raise InvalidInput(f"{STANDBY_ENV}: {same[0]} is named as its own standby")
    return pairs or None
