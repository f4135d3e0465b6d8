"""One failover of an instance at a time, across invocations (a `stopping` and a `stopped`
event, a retry, a duplicate delivery; two actives failing over into one shared standby): a
DynamoDB item per instance, written only if it is absent or expired, the way Powertools'
idempotency holds a record. A failover holds the lease of its source and of its standby
(`Leases`). Its owner removes it when the failover ends; one left by a killed invocation
expires with that invocation's deadline. EC2 offers no compare-and-swap for most of a
failover's calls, and none at all for an Elastic IP displaced from a shared standby's
primary IP: this is the lock they lack.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from .._core._codes import CONDITIONAL_CHECK_FAILED
from .._core._errors import AwsError, EniopsError
from .._core._threads import at_once

if TYPE_CHECKING:
    from .._gateway import Gateway

#: Longest pause between two reads of a lease someone else holds.
MAX_PAUSE_S = 1.0
#: How long taking a lease may try (the table missing, throttled, DynamoDB down): after that
#: the failover goes on without the lease rather than not at all.
PATIENCE_S = 3.0


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
        """Take the lease if nobody holds it (or it expired); False when someone does. Any
        other answer, within `PATIENCE_S`, is raised (the table cannot be reached)."""
        now = str(int(time.time()))
        try:
            self.gateway.within(PATIENCE_S).call(
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


class Leases:
    """The leases of every instance a failover touches (its source and its standby), taken
    together: all of them, or none (those taken are given back, so that two failovers that
    each hold one never wait for each other until the deadline)."""

    def __init__(self, leases: list[Lease]) -> None:
        self.leases = leases
        self.busy: list[Lease] = []
        #: Why the table could not be reached, when it could not: the failover went on
        #: without the lease.
        self.unavailable: EniopsError | None = None

    def acquire(self) -> bool:
        """Take every lease (True), or none of them (False: `busy` names who holds one).
        A table that cannot be reached within `PATIENCE_S` is not a reason to leave an
        instance failed: True, without the lease, and `unavailable` says why."""
        taken = at_once(*(self._taken(lease) for lease in self.leases))
        self.busy = [lease for lease, got in zip(self.leases, taken, strict=True) if got is False]
        failed = [got for got in taken if isinstance(got, EniopsError)]
        if self.busy or failed:
            self.release()
        if failed and not self.busy:
            self.unavailable = failed[0]
        return not self.busy

    @staticmethod
    def _taken(lease: Lease) -> Callable[[], bool | EniopsError]:
        def take() -> bool | EniopsError:
            try:
                return lease.acquire()
            except EniopsError as err:
                return err

        return take

    def release(self) -> bool:
        """Give back those held (each of them, whatever the others do); False when one could
        not be (it expires)."""
        released = [lease.release() for lease in self.leases]
        return all(released)

    def wait(self, until: float) -> bool:
        """Wait until none of the busy leases is held, or `until` passes (False)."""
        return all(lease.wait(until) for lease in self.busy)

    @property
    def keys(self) -> list[str]:
        """The items' keys."""
        return [lease.key for lease in self.leases]
