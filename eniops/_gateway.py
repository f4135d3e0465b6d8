"""The EC2 gateway: the only module that talks to boto3.

It owns the client, the retry policy (tenacity), eventual-consistency re-reads, polling,
`DryRun`, and the translation of EC2's error codes into eniops errors. botocore's own retries
are turned off on the clients eniops builds (`total_max_attempts=1`), so that only this layer
retries and the two never multiply.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from . import _codes
from ._deadline import Deadline
from ._errors import (
    AwsError,
    Conflict,
    EniopsError,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
)
from ._inputs import EipRef
from ._model import Address, Eni, Instance, Limits, Subnet

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_ec2 import EC2Client

T = TypeVar("T")

#: User agent suffix, so that eniops' calls can be told apart in CloudTrail.
USER_AGENT_EXTRA = "eniops/0.1"


@dataclass(frozen=True)
class RetryPolicy:
    """How the gateway retries and polls. Every knob has a default; tests may shrink them."""

    #: Throttling and 5xx: full-jitter exponential backoff, first window and cap (seconds).
    backoff_first_s: float = 0.1
    backoff_cap_s: float = 2.0
    max_attempts: int = 8
    #: Eventual consistency: how often a NotFound read is re-read, and the backoff for it.
    not_found_retries: int = 3
    not_found_first_s: float = 0.05
    not_found_cap_s: float = 0.5
    #: Polling for a state (attached, detached, assigned): first delay, growth and cap.
    poll_first_s: float = 0.05
    poll_growth: float = 1.5
    poll_cap_s: float = 0.2


DEFAULT_POLICY = RetryPolicy()

# Process-wide caches of facts that do not change: instance-type limits and subnet ranges.
_LIMITS_CACHE: dict[str, Limits] = {}
_SUBNET_CACHE: dict[str, Subnet] = {}


def clear_caches() -> None:
    """Forget cached instance-type limits and subnet ranges."""
    _LIMITS_CACHE.clear()
    _SUBNET_CACHE.clear()


def build_client(
    *,
    ec2: EC2Client | None = None,
    session: boto3.session.Session | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    timeout_s: float | None = None,
) -> EC2Client:
    """Return `ec2` as given, else a client from `session` (or the default session).

    Clients built here have botocore's retries off (eniops retries) and short timeouts: no
    single call may wait longer than the operation's `timeout_s` (20 s at most).
    """
    if ec2 is not None:
        return ec2
    import boto3.session  # noqa: PLC0415  (kept out of `import eniops`: cold starts)
    from botocore.config import Config  # noqa: PLC0415

    config = Config(
        retries={"mode": "standard", "total_max_attempts": 1},
        connect_timeout=min(3.0, timeout_s or 3.0),
        read_timeout=min(20.0, timeout_s or 20.0),
        user_agent_extra=USER_AGENT_EXTRA,
    )
    chosen = session if session is not None else boto3.session.Session()
    return chosen.client("ec2", region_name=region, endpoint_url=endpoint_url, config=config)


def _error_parts(err: BaseException) -> tuple[str, str, str | None, int | None]:
    response = getattr(err, "response", None) or {}
    error = response.get("Error") or {}
    meta = response.get("ResponseMetadata") or {}
    return (
        str(error.get("Code", type(err).__name__)),
        str(error.get("Message", err)),
        meta.get("RequestId"),
        meta.get("HTTPStatusCode"),
    )


def translate(
    err: Exception, operation: str, details: Mapping[str, Any] | None = None
) -> EniopsError:
    """Turn a botocore error into the eniops error its code stands for."""
    code, message, request_id, status = _error_parts(err)
    rule = _codes.rule_for(code, status)
    context = {"code": code, "operation": operation, **(details or {})}
    text = f"{operation}: {code}: {message}"
    if rule.translation == "permission":
        return PermissionDenied(text, code=code, operation=operation, request_id=request_id)
    if rule.translation == "not-found":
        return NotFound(text, details=context)
    if rule.translation == "conflict" and rule.reason:
        return Conflict(rule.reason, text, details=context)  # type: ignore[arg-type]
    if rule.translation == "precondition" and rule.reason:
        return PreconditionFailed(rule.reason, text, details=context)  # type: ignore[arg-type]
    return AwsError(
        text, code=code, operation=operation, request_id=request_id, details=dict(details or {})
    )


#: botocore exceptions (by class name) that mean the network failed before EC2 answered.
TRANSIENT_EXCEPTIONS = frozenset(
    {"EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError", "ConnectionClosedError"}
)
#: botocore exceptions that mean no credentials could be found.
CREDENTIAL_EXCEPTIONS = frozenset({"NoCredentialsError", "PartialCredentialsError"})


def translate_local(err: Exception, operation: str) -> EniopsError | None:
    """Translate botocore's client-side errors (no answer from EC2), else None."""
    name = type(err).__name__
    if name in CREDENTIAL_EXCEPTIONS:
        return PermissionDenied(f"{operation}: {err}", code=name, operation=operation)
    if name in TRANSIENT_EXCEPTIONS or (
        name.endswith("Error") and "botocore" in type(err).__module__
    ):
        return AwsError(f"{operation}: {err}", code=name, operation=operation)
    return None


def _raise_translated(err: Exception, operation: str) -> NoReturn:
    """Raise the eniops error `err` stands for (eniops' own errors pass through)."""
    if isinstance(err, EniopsError):
        raise err
    translated = (
        translate(err, operation) if _is_client_error(err) else translate_local(err, operation)
    )
    if translated is None:
        raise err
    raise translated from err


def _is_client_error(err: BaseException) -> bool:
    # botocore's ClientError without importing botocore at module level.
    return hasattr(err, "response") and isinstance(getattr(err, "response", None), dict)


class Gateway:
    """Every EC2 call of one operation, under one deadline."""

    def __init__(
        self,
        client: EC2Client,
        deadline: Deadline,
        *,
        policy: RetryPolicy = DEFAULT_POLICY,
        sleep: Callable[[float], None] = time.sleep,
        on_wait: Callable[[str, float], None] | None = None,
    ) -> None:
        self.client = client
        self.deadline = deadline
        self.policy = policy
        self._sleep = sleep
        self._on_wait = on_wait

    # -- the one place a boto3 method is called ---------------------------------------

    def call(
        self, operation: str, params: Mapping[str, Any], *, not_found_retries: int = 0
    ) -> dict[str, Any]:
        """Call EC2 `operation` (e.g. "DescribeAddresses") with retries; translate errors.

        Throttling and 5xx are retried with capped, full-jitter exponential backoff while
        attempts and the deadline allow; NotFound is re-read `not_found_retries` times
        (eventual consistency). Everything else is raised at once.
        """
        try:
            return self._call_raw(operation, params, not_found_retries=not_found_retries)
        except Exception as err:
            _raise_translated(err, operation)

    def _call_raw(
        self, operation: str, params: Mapping[str, Any], *, not_found_retries: int = 0
    ) -> dict[str, Any]:
        from botocore import xform_name  # noqa: PLC0415
        from tenacity import RetryCallState, Retrying, retry_if_exception  # noqa: PLC0415

        method = getattr(self.client, xform_name(operation))
        policy = self.policy
        not_found_seen = 0
        stopped_by_deadline = False

        def retryable(err: BaseException) -> bool:
            nonlocal not_found_seen
            if type(err).__name__ in TRANSIENT_EXCEPTIONS:
                return True
            if not _is_client_error(err):
                return False
            code, _, _, status = _error_parts(err)
            rule = _codes.rule_for(code, status)
            if rule.translation == "retry":
                return True
            if rule.translation == "not-found" and not_found_seen < not_found_retries:
                not_found_seen += 1
                return True
            return False

        def wait(state: RetryCallState) -> float:
            err = state.outcome.exception() if state.outcome else None
            code = _error_parts(err)[0] if err is not None else ""
            if code in _codes.NOT_FOUND_CODES:
                first, cap = policy.not_found_first_s, policy.not_found_cap_s
            else:
                first, cap = policy.backoff_first_s, policy.backoff_cap_s
            window = min(cap, first * 2 ** (state.attempt_number - 1))
            return random.uniform(0, window)  # full jitter

        def stop(state: RetryCallState) -> bool:
            nonlocal stopped_by_deadline
            if state.attempt_number >= policy.max_attempts:
                return True
            if self.deadline.remaining() <= state.upcoming_sleep:
                stopped_by_deadline = True
                return True
            return False

        retrying = Retrying(
            retry=retry_if_exception(retryable),
            wait=wait,
            stop=stop,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            result: dict[str, Any] = retrying(method, **params)
            return result
        except Exception as err:
            if stopped_by_deadline and _is_client_error(err):
                code = _error_parts(err)[0]
                raise self.deadline.timeout_error(
                    f"calling {operation} (EC2 kept answering {code})",
                    {"operation": operation, "last_code": code},
                ) from err
            raise

    # -- mutations ------------------------------------------------------------------------

    def mutate(
        self,
        operation: str,
        params: Mapping[str, Any],
        *,
        dry_run: bool = False,
        settled: Callable[[], bool] | None = None,
    ) -> dict[str, Any] | None:
        """Make a mutating call; with `dry_run`, ask EC2 whether it would succeed.

        Returns the response, or None for a passed dry run. After an error, `settled()` reads
        the real state: if the change is in place (a retried call that had succeeded), the
        error is swallowed and an empty response returned; if `settled` raises `Conflict`
        (someone else changed the resource), that is raised instead of EC2's error.
        """
        if dry_run:
            try:
                self._call_raw(operation, {**params, "DryRun": True})
            except Exception as err:
                if _is_client_error(err) and _error_parts(err)[0] == _codes.DRY_RUN_OPERATION:
                    return None
                _raise_translated(err, operation)
            raise AwsError(
                f"{operation} with DryRun=True made the change",
                code=_codes.DRY_RUN_IGNORED,
                operation=operation,
            )
        try:
            return self._call_raw(operation, params)
        except Exception as err:
            if settled is not None and not self.deadline.expired():
                try:
                    in_place = settled()
                except Conflict as found:
                    raise found from err  # the re-read found someone else's change
                except EniopsError:
                    in_place = False
                if in_place:
                    return {}
            _raise_translated(err, operation)

    # -- concurrency and polling ------------------------------------------------------------

    def concurrently(self, *reads: Callable[[], Any]) -> list[Any]:
        """Run independent reads at once; return their results in order.

        The first error (in argument order) is raised once all have finished.
        """
        if len(reads) <= 1:
            return [read() for read in reads]
        with ThreadPoolExecutor(max_workers=len(reads), thread_name_prefix="eniops") as pool:
            futures = [pool.submit(read) for read in reads]
            outcomes = [(f.result() if f.exception() is None else f.exception()) for f in futures]
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        return outcomes

    def poll(
        self,
        read: Callable[[], T],
        done: Callable[[T], bool],
        *,
        doing: str,
        where: Callable[[T], dict[str, Any]],
    ) -> T:
        """Re-read until `done`, with a short first delay and capped growth, within the deadline.

        Raises `OperationTimeout` whose details (`where`) say where the resource is.
        """
        policy = self.policy
        current = read()
        delay = policy.poll_first_s
        while not done(current):
            remaining = self.deadline.remaining()
            if remaining <= 0:
                raise self.deadline.timeout_error(doing, where(current))
            pause = min(delay, remaining)
            if self._on_wait is not None:
                self._on_wait(doing, self.deadline.elapsed())
            self._sleep(pause)
            delay = min(policy.poll_cap_s, delay * policy.poll_growth)
            current = read()
        return current

    # -- reads ------------------------------------------------------------------------------

    def address(self, ref: EipRef, *, settle: bool = False) -> Address:
        """One Elastic IP by allocation id or public IP."""
        params: dict[str, Any] = (
            {"AllocationIds": [ref.allocation_id]}
            if ref.allocation_id
            else {"PublicIps": [ref.public_ip]}
        )
        response = self.call(
            "DescribeAddresses", params, not_found_retries=self._nf_retries(settle)
        )
        found = [Address.from_api(a) for a in response.get("Addresses", [])]
        if not found:
            raise NotFound(f"Elastic IP {ref} does not exist", details={"eip": str(ref)})
        return found[0]

    def addresses_on(self, eni_ids: Iterable[str]) -> list[Address]:
        """The Elastic IPs associated with any of these ENIs."""
        ids = sorted(set(eni_ids))
        if not ids:
            return []
        response = self.call(
            "DescribeAddresses", {"Filters": [{"Name": "network-interface-id", "Values": ids}]}
        )
        return [Address.from_api(a) for a in response.get("Addresses", [])]

    def all_addresses(self) -> list[Address]:
        """Every Elastic IP of the region (one unfiltered call; accounts hold few)."""
        response = self.call("DescribeAddresses", {})
        return [Address.from_api(a) for a in response.get("Addresses", [])]

    def enis(self, eni_ids: Sequence[str], *, settle: bool = False) -> dict[str, Eni]:
        """ENIs by id (every one must exist)."""
        response = self.call(
            "DescribeNetworkInterfaces",
            {"NetworkInterfaceIds": list(dict.fromkeys(eni_ids))},
            not_found_retries=self._nf_retries(settle),
        )
        found = {n["NetworkInterfaceId"]: Eni.from_api(n) for n in response["NetworkInterfaces"]}
        missing = [i for i in eni_ids if i not in found]
        if missing:
            raise NotFound(f"ENI {', '.join(missing)} does not exist", details={"missing": missing})
        return found

    def eni(self, eni_id: str, *, settle: bool = False) -> Eni:
        """One ENI by id."""
        return self.enis([eni_id], settle=settle)[eni_id]

    def enis_in_subnet(self, subnet_id: str) -> list[Eni]:
        """Every ENI of a subnet (to know which private IPs are taken and by whom)."""
        enis: list[Eni] = []
        params: dict[str, Any] = {"Filters": [{"Name": "subnet-id", "Values": [subnet_id]}]}
        while True:
            response = self.call("DescribeNetworkInterfaces", params)
            enis.extend(Eni.from_api(n) for n in response["NetworkInterfaces"])
            token = response.get("NextToken")
            if not token:
                return enis
            params = {**params, "NextToken": token}

    def instances(
        self, instance_ids: Sequence[str], *, settle: bool = False
    ) -> dict[str, Instance]:
        """Instances by id (every one must exist), with their attached ENIs."""
        response = self.call(
            "DescribeInstances",
            {"InstanceIds": list(dict.fromkeys(instance_ids))},
            not_found_retries=self._nf_retries(settle),
        )
        found = {
            raw["InstanceId"]: Instance.from_api(raw)
            for reservation in response.get("Reservations", [])
            for raw in reservation.get("Instances", [])
        }
        missing = [i for i in instance_ids if i not in found]
        if missing:
            raise NotFound(
                f"instance {', '.join(missing)} does not exist", details={"missing": missing}
            )
        return found

    def instance(self, instance_id: str) -> Instance:
        """One instance by id."""
        return self.instances([instance_id])[instance_id]

    def limits(self, instance_type: str) -> Limits:
        """An instance type's network limits, cached for the life of the process."""
        cached = _LIMITS_CACHE.get(instance_type)
        if cached is not None:
            return cached
        response = self.call("DescribeInstanceTypes", {"InstanceTypes": [instance_type]})
        types = response.get("InstanceTypes") or []
        if not types:
            raise NotFound(
                f"instance type {instance_type} is unknown", details={"type": instance_type}
            )
        limits = Limits.from_api(types[0])
        _LIMITS_CACHE[instance_type] = limits
        return limits

    def subnet(self, subnet_id: str) -> Subnet:
        """A subnet's range, cached for the life of the process (it never changes)."""
        cached = _SUBNET_CACHE.get(subnet_id)
        if cached is not None:
            return cached
        response = self.call("DescribeSubnets", {"SubnetIds": [subnet_id]})
        subnet = Subnet.from_api(response["Subnets"][0])
        _SUBNET_CACHE[subnet_id] = subnet
        return subnet

    def _nf_retries(self, settle: bool) -> int:
        # Right after a change EC2 may not show it yet; a first read gets a shorter leash.
        return self.policy.not_found_retries if settle else 1
