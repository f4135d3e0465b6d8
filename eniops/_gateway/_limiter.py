"""One request rate limiter per process for each account and Region, shared by every operation
running in it (an evacuation, failovers at once, library calls in threads).

EC2 throttles an account's requests in a Region by token buckets: changes about 50 tokens
refilled at 5 a second, describes about 100 refilled at 20. Over the limit it answers
`RequestLimitExceeded`, and the retry costs a round trip and a backoff. So a call takes its
token here before it is sent, waiting for one when the bucket is empty, but never past its
deadline. The buckets are shaped like EC2's, changes and describes apart; other callers in
the account (the console, other automation) draw from EC2's buckets too, so a throttling
answer that still comes lowers the bucket's refill, and the refill climbs back as answers
come (botocore's CUBIC calculator, as its `adaptive` retry mode uses per client).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from botocore.retries.throttling import CubicCalculator

Family = Literal["describe", "change"]

#: The slowest refill a throttled bucket falls to (tokens a second).
MIN_RATE = 0.5


@dataclass(frozen=True)
class Shape:
    """A bucket as EC2 sizes it: `capacity` tokens, refilled at `rate` a second."""

    capacity: float
    rate: float


#: EC2's buckets per account and Region (`../docs/ec2-behaviour.md`: Throttling).
SHAPES: dict[Family, Shape] = {"describe": Shape(100.0, 20.0), "change": Shape(50.0, 5.0)}


def family_of(operation: str) -> Family:
    """Which of EC2's buckets an action draws from."""
    return "describe" if operation.startswith(("Describe", "Get")) else "change"


class Bucket:
    """A token bucket whose refill falls on a throttling answer and climbs back after.

    A reservation takes a token at once, from tokens not refilled yet if need be: callers
    are served in the order they asked, each told how long to wait for its token."""

    def __init__(self, shape: Shape, now: float) -> None:
        self.shape = shape
        self.rate = shape.rate
        self.tokens = shape.capacity
        self._stamp = now
        self._cubic: CubicCalculator | None = None

    def reserve(self, now: float) -> float:
        """Take a token; the seconds until it is there (0: now)."""
        self._refill(now)
        self.tokens -= 1.0
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate

    def give_back(self, now: float) -> None:
        """A token reserved and not used (the call was not sent)."""
        self._refill(now)
        self.tokens = min(self.shape.capacity, self.tokens + 1.0)

    def throttled(self, now: float) -> None:
        """EC2 answered `RequestLimitExceeded`: its bucket is empty, so is this one, and the
        refill falls (to 0.7 of what it was, as CUBIC does)."""
        # Lazy: botocore (95 ms) stays out of `import eniops` until a call is throttled.
        from botocore.retries.throttling import CubicCalculator  # noqa: PLC0415

        self._refill(now)
        if self._cubic is None:
            self._cubic = CubicCalculator(starting_max_rate=self.rate, start_time=now)
        self.rate = max(MIN_RATE, self._cubic.error_received(self.rate, now))
        self.tokens = min(self.tokens, 0.0)

    def answered(self, now: float) -> None:
        """An answer that was not a throttle: the refill climbs back towards EC2's."""
        if self._cubic is None:
            return
        self._refill(now)
        climbed = self._cubic.success_received(now)
        self.rate = min(self.shape.rate, max(self.rate, climbed, MIN_RATE))
        if self.rate >= self.shape.rate:
            self._cubic = None

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._stamp)
        self.tokens = min(self.shape.capacity, self.tokens + elapsed * self.rate)
        self._stamp = now


class Limiter:
    """The buckets of one account and Region in this process."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._lock = threading.Lock()
        start = now()
        self.buckets: dict[Family, Bucket] = {f: Bucket(s, start) for f, s in SHAPES.items()}
        #: Calls that waited for a token, the seconds they waited, throttles heard.
        self.waits = 0
        self.waited_s = 0.0
        self.throttles = 0

    def reserve(self, operation: str) -> float:
        """Take `operation`'s token; the seconds to wait before sending it."""
        with self._lock:
            wait = self.buckets[family_of(operation)].reserve(self._now())
            if wait > 0:
                self.waits += 1
                self.waited_s += wait
            return wait

    def give_back(self, operation: str) -> None:
        """`operation` was not sent after all: its token returns."""
        with self._lock:
            self.buckets[family_of(operation)].give_back(self._now())

    def slowed(self, operation: str) -> bool:
        """True while `operation`'s bucket refills slower than EC2's: throttles were heard
        and answers have not yet brought it back."""
        with self._lock:
            bucket = self.buckets[family_of(operation)]
            return bucket.rate < bucket.shape.rate

    def answered(self, operation: str, *, throttled: bool) -> None:
        """What EC2 answered `operation`: a throttle lowers its bucket's refill."""
        with self._lock:
            bucket = self.buckets[family_of(operation)]
            if throttled:
                self.throttles += 1
                bucket.throttled(self._now())
            else:
                bucket.answered(self._now())


_limiters: dict[tuple[str, str, str], Limiter] = {}
_limiters_lock = threading.Lock()


def limiter_for(client: Any) -> Limiter | None:
    """The limiter of the account and Region an EC2 `client` calls (one per process); None
    for another service's client (their buckets are not EC2's)."""
    service = getattr(getattr(client.meta, "service_model", None), "service_name", None)
    if service != "ec2":
        return None
    key = _account_and_region(client)
    with _limiters_lock:
        limiter = _limiters.get(key)
        if limiter is None:
            limiter = _limiters[key] = Limiter()
        return limiter


def reset_limiters() -> None:
    """Forget every limiter (tests: each account a fresh one, as a new process has)."""
    with _limiters_lock:
        _limiters.clear()


def _account_and_region(client: Any) -> tuple[str, str, str]:
    """The Region and endpoint a client calls, and who it calls as: a digest of its access
    key id, read from the credentials as they stand (never refreshed or fetched here, never
    kept or logged in clear); clients whose credentials are not read yet share a key."""
    meta = getattr(client, "meta", None)
    region = str(getattr(meta, "region_name", "") or "")
    endpoint = str(getattr(meta, "endpoint_url", "") or "")
    signer = getattr(client, "_request_signer", None)
    credentials = getattr(signer, "_credentials", None)
    # A refreshable credential's current key is `_access_key`; reading `access_key` would
    # refresh it (a call to STS) from here.
    key_id = getattr(credentials, "_access_key", None) or getattr(credentials, "__dict__", {}).get(
        "access_key"
    )
    who = hashlib.sha256(str(key_id).encode()).hexdigest()[:16] if key_id else ""
    return region, endpoint, who
