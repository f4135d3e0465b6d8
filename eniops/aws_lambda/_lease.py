"""One failover of an instance at a time, across invocations (a `stopping` and a `stopped`
event, a retry, a duplicate delivery): a DynamoDB item written only if it is absent or
expired, the way Powertools' idempotency holds a record. Its owner removes it when the
failover ends; one left by a killed invocation expires with that invocation's deadline.
EC2 offers no compare-and-swap for most of a failover's calls: this is the lock they lack.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING

from .._codes import CONDITIONAL_CHECK_FAILED
from .._errors import AwsError, EniopsError

if TYPE_CHECKING:
    from .._gateway import Gateway

#: Longest pause between two reads of a lease someone else holds.
MAX_PAUSE_S = 1.0


class Lease:
    """The lease on `key` in `table`, held until `expires_at` (epoch seconds) at most."""

    def __init__(self, gateway: Gateway, table: str, key: str, expires_at: float) -> None:
        self.gateway = gateway
        self.table = table
        self.key = key
        self.expires_at = expires_at
        self.owner = uuid.uuid4().hex
        self.held = False

    def _names(self) -> dict[str, str]:
        return {"#owner": "owner", "#expires": "expires"}

    def acquire(self) -> bool:
        """Take the lease if nobody holds it (or it expired); False when someone does."""
        now = str(int(time.time()))
        try:
            self.gateway.call(
                "PutItem",
                {
                    "TableName": self.table,
                    "Item": {
                        "pk": {"S": self.key},
                        "owner": {"S": self.owner},
                        "expires": {"N": str(int(self.expires_at) + 1)},
                    },
                    # A resent put of ours (its answer lost) finds our own item: still ours.
                    "ConditionExpression": (
                        "attribute_not_exists(pk) OR #expires < :now OR #owner = :me"
                    ),
                    "ExpressionAttributeNames": self._names(),
                    "ExpressionAttributeValues": {":now": {"N": now}, ":me": {"S": self.owner}},
                },
            )
        except AwsError as err:
            if err.code == CONDITIONAL_CHECK_FAILED:
                return False
            raise
        self.held = True
        return True

    def release(self) -> bool:
        """Give the lease up, only if it is still ours (an expired one may be someone's).
        Allowed a moment past the deadline; it never raises (the failover's own outcome is
        what the invocation reports): False when it could not, and the lease expires."""
        if not self.held:
            return True
        self.held = False
        try:
            self.gateway.past_deadline().call(
                "DeleteItem",
                {
                    "TableName": self.table,
                    "Key": {"pk": {"S": self.key}},
                    "ConditionExpression": "#owner = :me",
                    "ExpressionAttributeNames": {"#owner": "owner"},
                    "ExpressionAttributeValues": {":me": {"S": self.owner}},
                },
            )
        except EniopsError as err:
            return isinstance(err, AwsError) and err.code == CONDITIONAL_CHECK_FAILED
        return True

    def wait(self, until: float) -> bool:
        """Wait until nobody holds the lease (True), or `until` (monotonic) passes (False)."""
        pause, clock = 0.05, self.gateway.clock
        while clock.now() < until:
            found = self.gateway.call(
                "GetItem",
                {"TableName": self.table, "Key": {"pk": {"S": self.key}}, "ConsistentRead": True},
            ).get("Item")
            if not found or float(found.get("expires", {}).get("N", "0")) < time.time():
                return True
            clock.sleep(min(pause, max(0.0, until - clock.now())))
            pause = min(pause * 2, MAX_PAUSE_S)
        return False
