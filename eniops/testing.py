"""A strict EC2 over moto: refuse what EC2 refuses, play slow transitions and faults.

moto models EC2's state well for happy paths but accepts much that EC2 refuses (cross-AZ
attaches, duplicate device indexes, IPs outside the subnet, ...) and makes every change
instant. `StrictEc2` wraps a boto3 EC2 client under moto with botocore event handlers so
that code under test meets EC2's rules::

    from moto import mock_aws
    from eniops.testing import StrictEc2

    with mock_aws():
        client = boto3.client("ec2", region_name="us-east-1")
        strict = StrictEc2(client)
        strict.hold("DetachNetworkInterface", polls=3)      # 'detaching' for 3 describes
        strict.inject("AssociateAddress", "RequestLimitExceeded", times=2)
        ...                                                  # your handler, with ec2=client
        assert strict.count("AssociateAddress") == 3

Install with ``pip install eniops[testing]``. `build_lab` lays out a small VPC to play on.
"""

from __future__ import annotations

import copy
import ipaddress
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from . import _codes
from ._model import Subnet
from ._reads import clear_caches
from ._rules import reserved_ips
from ._settings import RetryPolicy, use_settings

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

__all__ = [
    "MUTATING_OPERATIONS",
    "Call",
    "Lab",
    "StrictEc2",
    "add_enis",
    "build_lab",
    "fast_policy",
    "reset_caches",
    "round_trips",
    "short_waits",
]

#: EC2 operations that change state (the ones eniops counts as mutations).
MUTATING_OPERATIONS = frozenset(
    {
        "AssociateAddress",
        "DisassociateAddress",
        "AttachNetworkInterface",
        "DetachNetworkInterface",
        "ModifyNetworkInterfaceAttribute",
        "AssignPrivateIpAddresses",
        "UnassignPrivateIpAddresses",
        "CreateTags",
        "DeleteTags",
        "CreateRoute",
        "ReplaceRoute",
        "DeleteRoute",
    }
)

Holdable = Literal[
    "AttachNetworkInterface",
    "DetachNetworkInterface",
    "AssignPrivateIpAddresses",
    "UnassignPrivateIpAddresses",
]


@dataclass
class Call:
    """One EC2 call the client made (as the code under test passed it)."""

    operation: str
    params: Mapping[str, Any]
    at: float
    #: When its answer arrived (0.0 while in flight, or when no answer came).
    ended: float = 0.0

    @property
    def dry_run(self) -> bool:
        """True for a `DryRun=True` call."""
        return bool(self.params.get("DryRun"))


def round_trips(calls: list[Call]) -> int:
    """How many waits for EC2 `calls` cost: calls in flight together count once."""
    waves = 0
    wave_end = float("-inf")
    for call in sorted(calls, key=lambda c: c.at):
        if call.at >= wave_end:
            waves += 1
            wave_end = call.ended or call.at
        else:
            wave_end = max(wave_end, call.ended or call.at)
    return waves


@dataclass
class _Fault:
    code: str
    times: int
    status: int
    message: str
    after_success: bool = False
    when: Callable[[Mapping[str, Any]], bool] | None = None


@dataclass
class _Hold:
    polls: int
    seconds: float


@dataclass
class _Transition:
    kind: str  # "detaching", "attaching", "assigning", "unassigning", "associating"
    polls_left: int
    until: float
    snapshot: dict[str, Any] = field(default_factory=dict)
    ips: tuple[str, ...] = ()
    instance_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def active(self) -> bool:
        return self.polls_left > 0 or time.monotonic() < self.until


def fast_policy() -> RetryPolicy:
    """A retry policy with short waits, for tests that do not measure waiting."""
    return RetryPolicy(
        backoff_first_s=0.005,
        backoff_cap_s=0.02,
        not_found_window_s=0.1,
        not_found_first_s=0.005,
        not_found_cap_s=0.02,
        poll_first_s=0.005,
        poll_growth=1.5,
        poll_cap_s=0.02,
        poll_describes_per_s=1000.0,
        poll_burst=1000.0,
        settle_pause_s=0.005,
    )


@contextmanager
def short_waits() -> Iterator[None]:
    """Operations started within the block retry and poll with `fast_policy` (tests only)."""
    with use_settings(policy=fast_policy()):
        yield


def reset_caches() -> None:
    """Forget eniops' process caches (instance-type limits, subnets) between tests."""
    clear_caches()


def _error(code: str, message: str, status: int = 400) -> tuple[Any, dict[str, Any]]:
    from botocore.awsrequest import AWSResponse, HTTPHeaders  # noqa: PLC0415

    http = AWSResponse("https://ec2.strict.invalid/", status, HTTPHeaders(), None)
    parsed = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": "strict-ec2-request"},
    }
    return http, parsed


class StrictEc2:
    """botocore event handlers on a moto-backed EC2 client that enforce EC2's rules.

    Rules enforced (that moto does not): attach needs the same availability zone and VPC, a
    free device index, an ENI that is available, an instance that is running or stopped and
    below its type's interface limit; the primary interface is never detached; secondary IPs
    must be inside the subnet, not reserved, not used by another ENI (unless
    `AllowReassignment`, which moves the IP and any Elastic IP on it) and within the type's
    per-interface limit; `AssociateAddress` honours `PrivateIpAddress`, which must be on the
    ENI, and refuses `InstanceId` for an instance with several interfaces.
    """

    def __init__(self, client: EC2Client, *, latency_s: float = 0.0) -> None:
        self.client: Any = client
        #: Added to every call, as a network would: calls in flight together overlap.
        self.latency_s = latency_s
        self.calls: list[Call] = []
        self._faults: dict[str, list[_Fault]] = {}
        self._holds: dict[str, _Hold] = {}
        self._transitions: dict[str, _Transition] = {}
        self._eip_private_ip: dict[str, str] = {}
        self._delete_on_termination: dict[str, bool] = {}
        self._type_limits: dict[str, dict[str, Any]] = {}
        self._lock = threading.RLock()
        self._local = threading.local()
        events = client.meta.events
        events.register("before-parameter-build.ec2", self._remember_params)
        events.register("before-call.ec2", self._before_call)
        events.register("after-call.ec2", self._after_call)

    # -- public knobs -------------------------------------------------------------------

    def inject(
        self,
        operation: str,
        code: str,
        *,
        times: int = 1,
        status: int | None = None,
        message: str = "injected by StrictEc2",
        after_success: bool = False,
        when: Callable[[Mapping[str, Any]], bool] | None = None,
    ) -> None:
        """Answer the next `times` calls of `operation` (whose parameters satisfy `when`, if
        given) with error `code`.

        By default nothing reaches moto (the call had no effect). With `after_success`, moto
        carries the call out and the answer is replaced by the error: a lost response, as
        when a retried call had in fact succeeded.
        """
        if status is None:
            status = 503 if code in _codes.SERVER_CODES | _codes.THROTTLING_CODES else 400
        with self._lock:
            self._faults.setdefault(operation, []).append(
                _Fault(code, times, status, message, after_success, when)
            )

    def hold(self, operation: Holdable, *, polls: int = 0, seconds: float = 0.0) -> None:
        """Keep the effect of `operation` in transition for `polls` describes or `seconds`.

        Detach shows the ENI `detaching` (still on its instance); attach shows `attaching`;
        assign and unassign leave the ENI's IP list unchanged; associate leaves the address
        where it was. Whichever lasts longer of `polls` and `seconds` applies.
        """
        self._holds[operation] = _Hold(polls, seconds)

    def count(self, operation: str | None = None, *, include_dry_run: bool = True) -> int:
        """How many calls of `operation` (or of all operations) were made."""
        return sum(
            1
            for call in self.calls
            if (operation is None or call.operation == operation)
            and (include_dry_run or not call.dry_run)
        )

    @property
    def mutations(self) -> list[Call]:
        """The mutating calls made, DryRun included."""
        return [c for c in self.calls if c.operation in MUTATING_OPERATIONS]

    def operations(self) -> list[str]:
        """The names of the calls made, in order."""
        return [c.operation for c in self.calls]

    def reset_calls(self) -> None:
        """Forget the recorded calls (e.g. after setting up a scenario)."""
        with self._lock:
            self.calls.clear()

    @contextmanager
    def internal(self) -> Iterator[EC2Client]:
        """Calls made in this block are neither recorded nor checked (scenario set-up)."""
        previous = getattr(self._local, "internal", False)
        self._local.internal = True
        try:
            yield self.client
        finally:
            self._local.internal = previous

    # -- botocore handlers -------------------------------------------------------------

    def _remember_params(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["strict_params"] = copy.deepcopy(params)

    def _is_internal(self) -> bool:
        return bool(getattr(self._local, "internal", False))

    def _before_call(self, model: Any, context: dict[str, Any], **_: Any) -> Any:
        if self._is_internal():
            return None
        operation = model.name
        params = context.get("strict_params", {})
        with self._lock:
            call = Call(operation, params, time.monotonic())
            self.calls.append(call)
            context["strict_call"] = call
        if self.latency_s:
            time.sleep(self.latency_s)
        with self._lock:
            faults = [
                f for f in self._faults.get(operation) or [] if f.when is None or f.when(params)
            ]
            if faults:
                fault = faults[0]
                fault.times -= 1
                if fault.times <= 0:
                    self._faults[operation].remove(fault)
                if fault.after_success:
                    context["strict_lost_response"] = fault
                else:
                    return _error(fault.code, fault.message, fault.status)
        if params.get("DryRun") and operation in MUTATING_OPERATIONS:
            # EC2 answers a permitted DryRun with DryRunOperation and changes nothing; moto
            # carries some of them out (CreateRoute, ReplaceRoute).
            return _error(_codes.DRY_RUN_OPERATION, "Request would have succeeded.", 412)
        rule = getattr(self, f"_rule_{operation}", None)
        if rule is None:
            return None
        with self.internal():
            return rule(params, context)

    def _after_call(
        self,
        http_response: Any,
        parsed: dict[str, Any],
        model: Any,
        context: dict[str, Any],
        **_: Any,
    ) -> None:
        call = context.get("strict_call")
        if call is not None:
            call.ended = time.monotonic()
        if self._is_internal() or getattr(http_response, "status_code", 500) >= 300:
            return
        params = context.get("strict_params", {})
        if params.get("DryRun"):
            return
        patch = getattr(self, f"_after_{model.name}", None)
        if patch is not None:
            with self.internal():
                patch(params, parsed, context)
        lost = context.get("strict_lost_response")
        if lost is not None:
            http_response.status_code = lost.status
            parsed.clear()
            parsed.update(_error(lost.code, lost.message, lost.status)[1])

    # -- internal reads ----------------------------------------------------------------

    def _eni(self, eni_id: str) -> dict[str, Any] | None:
        try:
            found = self.client.describe_network_interfaces(NetworkInterfaceIds=[eni_id])
        except Exception:
            return None
        return dict(found["NetworkInterfaces"][0])

    def _instance(self, instance_id: str) -> dict[str, Any] | None:
        try:
            found = self.client.describe_instances(InstanceIds=[instance_id])
        except Exception:
            return None
        return dict(found["Reservations"][0]["Instances"][0])

    def _limits(self, instance_type: str) -> dict[str, Any]:
        cached = self._type_limits.get(instance_type)
        if cached is None:  # an instance type's limits never change
            found = self.client.describe_instance_types(InstanceTypes=[instance_type])
            cached = self._type_limits[instance_type] = dict(
                found["InstanceTypes"][0]["NetworkInfo"]
            )
        return cached

    def _subnet(self, subnet_id: str) -> dict[str, Any]:
        return dict(self.client.describe_subnets(SubnetIds=[subnet_id])["Subnets"][0])

    def _eni_by_attachment(self, attachment_id: str) -> dict[str, Any] | None:
        found = self.client.describe_network_interfaces(
            Filters=[{"Name": "attachment.attachment-id", "Values": [attachment_id]}]
        )["NetworkInterfaces"]
        return dict(found[0]) if found else None

    def _start(self, operation: str, key: str, transition: _Transition) -> None:
        hold = self._holds.get(operation)
        if hold is None or (hold.polls <= 0 and hold.seconds <= 0):
            return
        transition.polls_left = hold.polls
        transition.until = time.monotonic() + hold.seconds
        with self._lock:
            self._transitions[key] = transition

    def _transition(self, key: str) -> _Transition | None:
        with self._lock:
            found = self._transitions.get(key)
            if found is not None and not found.active():
                del self._transitions[key]
                return None
            return found

    # -- rules: refuse what EC2 refuses --------------------------------------------------

    def _rule_AttachNetworkInterface(self, params: dict[str, Any], _: Any) -> Any:  # noqa: N802
        eni = self._eni(params["NetworkInterfaceId"])
        instance = self._instance(params["InstanceId"])
        if eni is None or instance is None:
            return None
        eni_id, instance_id = eni["NetworkInterfaceId"], instance["InstanceId"]
        pending = self._transition(eni_id)
        if eni.get("Attachment") or eni.get("Status") != "available" or pending:
            return _error(_codes.INVALID_NETWORK_INTERFACE_IN_USE, f"Interface: [{eni_id}] in use.")
        state = instance["State"]["Name"]
        if state not in ("running", "stopped"):
            return _error(
                _codes.INCORRECT_INSTANCE_STATE,
                f"The instance '{instance_id}' is not in a valid state for this operation.",
            )
        if eni.get("VpcId") != instance.get("VpcId"):
            return _error(_codes.INVALID_PARAMETER_VALUE, "ENI and instance are in different VPCs")
        if eni.get("AvailabilityZone") != instance["Placement"]["AvailabilityZone"]:
            return _error(
                _codes.INVALID_PARAMETER_VALUE,
                "The network interface and the instance are in different availability zones",
            )
        card = int(params.get("NetworkCardIndex", 0))
        used = self._used_device_indexes(instance, card)
        limits = self._limits(instance["InstanceType"])
        cards = {
            c["NetworkCardIndex"]: c["MaximumNetworkInterfaces"] for c in limits["NetworkCards"]
        }
        if len(used) >= cards.get(card, limits["MaximumNetworkInterfaces"]):
            return _error(
                _codes.ATTACHMENT_LIMIT_EXCEEDED,
                f"Interface count {len(used) + 1} exceeds the limit for {instance['InstanceType']}",
            )
        if int(params["DeviceIndex"]) in used:
            return _error(
                _codes.INVALID_PARAMETER_VALUE,
                f"Instance '{instance_id}' already has an interface attached at device index "
                f"'{params['DeviceIndex']}'.",
            )
        return None

    def _used_device_indexes(self, instance: dict[str, Any], card: int) -> set[int]:
        used = {
            int(n["Attachment"]["DeviceIndex"])
            for n in instance.get("NetworkInterfaces", [])
            if int(n["Attachment"].get("NetworkCardIndex", 0)) == card
        }
        with self._lock:
            for transition in list(self._transitions.values()):
                if (
                    transition.kind == "detaching"
                    and transition.active()
                    and (transition.instance_id == instance["InstanceId"])
                ):
                    used.add(int(transition.snapshot["Attachment"]["DeviceIndex"]))
        return used

    def _after_AttachNetworkInterface(  # noqa: N802
        self, params: dict[str, Any], parsed: dict[str, Any], _: Any
    ) -> None:
        self._start(
            "AttachNetworkInterface",
            params["NetworkInterfaceId"],
            _Transition("attaching", 0, 0.0, instance_id=params["InstanceId"]),
        )

    def _rule_DetachNetworkInterface(self, params: dict[str, Any], context: Any) -> Any:  # noqa: N802
        eni = self._eni_by_attachment(params["AttachmentId"])
        if eni is None:
            return None  # moto answers InvalidAttachmentID.NotFound
        attachment = eni["Attachment"]
        if int(attachment["DeviceIndex"]) == 0 and int(attachment.get("NetworkCardIndex", 0)) == 0:
            return _error(
                _codes.OPERATION_NOT_PERMITTED,
                "The network interface at device index 0 and network card index 0 cannot be "
                "detached.",
            )
        context["strict_detaching"] = eni
        return None

    def _after_DetachNetworkInterface(  # noqa: N802
        self, params: dict[str, Any], parsed: dict[str, Any], context: Any
    ) -> None:
        eni = context.get("strict_detaching")
        if eni:
            eni_id = eni["NetworkInterfaceId"]
            self._start(
                "DetachNetworkInterface",
                eni_id,
                _Transition(
                    "detaching", 0, 0.0, snapshot=eni, instance_id=eni["Attachment"]["InstanceId"]
                ),
            )

    def _after_ModifyNetworkInterfaceAttribute(  # noqa: N802
        self, params: dict[str, Any], parsed: dict[str, Any], _: Any
    ) -> None:
        attachment = params.get("Attachment") or {}
        if "AttachmentId" in attachment and "DeleteOnTermination" in attachment:
            with self._lock:
                self._delete_on_termination[attachment["AttachmentId"]] = bool(
                    attachment["DeleteOnTermination"]
                )

    def _patch_attachment(self, entry: dict[str, Any]) -> None:
        attachment = entry.get("Attachment") or {}
        flag = self._delete_on_termination.get(attachment.get("AttachmentId", ""))
        if flag is not None:
            attachment["DeleteOnTermination"] = flag

    def _rule_AssociateAddress(self, params: dict[str, Any], _: Any) -> Any:  # noqa: N802
        if params.get("InstanceId"):
            instance = self._instance(params["InstanceId"])
            if instance and len(instance.get("NetworkInterfaces", [])) > 1:
                return _error(
                    _codes.INVALID_INSTANCE_ID,
                    f"There are multiple interfaces attached to instance "
                    f"'{params['InstanceId']}'. Please specify an interface ID for the operation "
                    "instead.",
                )
        eni_id = params.get("NetworkInterfaceId")
        private_ip = params.get("PrivateIpAddress")
        if eni_id and private_ip:
            eni = self._eni(eni_id)
            if eni is not None and private_ip not in _ips_of(eni):
                return _error(
                    _codes.INVALID_PARAMETER_VALUE,
                    f"The specified private IP {private_ip} is not assigned to {eni_id}",
                )
        return None

    def _after_AssociateAddress(  # noqa: N802
        self, params: dict[str, Any], parsed: dict[str, Any], _: Any
    ) -> None:
        allocation_id = params.get("AllocationId")
        eni_id = params.get("NetworkInterfaceId")
        if not allocation_id or not eni_id:
            return
        eni = self._eni(eni_id)
        if eni is None:
            return
        private_ip = params.get("PrivateIpAddress", eni["PrivateIpAddress"])
        with self._lock:
            self._eip_private_ip[allocation_id] = private_ip
        # EC2 disassociates, silently, any other Elastic IP on that private IP.
        others = self.client.describe_addresses(
            Filters=[{"Name": "network-interface-id", "Values": [eni_id]}]
        )["Addresses"]
        for other in others:
            other_id = other.get("AllocationId")
            other_ip = self._eip_private_ip.get(other_id or "", eni["PrivateIpAddress"])
            if other_id != allocation_id and other_ip == private_ip:
                self.client.disassociate_address(AssociationId=other["AssociationId"])

    def _rule_AssignPrivateIpAddresses(self, params: dict[str, Any], context: Any) -> Any:  # noqa: N802
        eni = self._eni(params["NetworkInterfaceId"])
        if eni is None:
            return None
        subnet = self._subnet(eni["SubnetId"])
        network = ipaddress.IPv4Network(subnet["CidrBlock"])
        reserved = reserved_ips_of(subnet)
        wanted = list(params.get("PrivateIpAddresses") or [])
        current = _ips_of(eni)
        new = [ip for ip in wanted if ip not in current]
        neighbours = self.client.describe_network_interfaces(
            Filters=[{"Name": "subnet-id", "Values": [eni["SubnetId"]]}]
        )["NetworkInterfaces"]
        holder_of = {
            ip: n
            for n in neighbours
            if n["NetworkInterfaceId"] != eni["NetworkInterfaceId"]
            for ip in _ips_of(n)
        }
        for ip in new:
            if ipaddress.IPv4Address(ip) not in network:
                return _error(
                    _codes.INVALID_PARAMETER_VALUE,
                    f"Address {ip} is not in subnet {subnet['CidrBlock']}",
                )
            if ip in reserved:
                return _error(_codes.INVALID_PARAMETER_VALUE, f"Address {ip} is reserved")
            holder = holder_of.get(ip)
            if holder is not None and not params.get("AllowReassignment"):
                return _error(
                    _codes.INVALID_PARAMETER_VALUE,
                    f"Address {ip} is in use by {holder['NetworkInterfaceId']}",
                )
        count = int(params.get("SecondaryPrivateIpAddressCount", 0))
        limits = self._limits_for_eni(eni)
        if (
            limits is not None
            and len(current) + len(new) + count > limits["Ipv4AddressesPerInterface"]
        ):
            return _error(
                _codes.PRIVATE_IP_ADDRESS_LIMIT_EXCEEDED,
                f"Number of private addresses will exceed limit for {eni['NetworkInterfaceId']}",
            )
        # Reassignment moves the IP (and any Elastic IP on it) instead of duplicating it.
        moves = [(ip, holder_of[ip]) for ip in new if ip in holder_of]
        context["strict_moves"] = [(ip, h["NetworkInterfaceId"]) for ip, h in moves]
        for ip, holder in moves:
            self.client.unassign_private_ip_addresses(
                NetworkInterfaceId=holder["NetworkInterfaceId"], PrivateIpAddresses=[ip]
            )
        return None

    def _after_AssignPrivateIpAddresses(  # noqa: N802
        self, params: dict[str, Any], parsed: dict[str, Any], context: Any
    ) -> None:
        eni_id = params["NetworkInterfaceId"]
        for ip, old_eni in context.get("strict_moves", []):
            for allocation_id, private_ip in list(self._eip_private_ip.items()):
                address = self.client.describe_addresses(AllocationIds=[allocation_id])[
                    "Addresses"
                ][0]
                if private_ip == ip and address.get("NetworkInterfaceId") == old_eni:
                    self.client.associate_address(
                        AllocationId=allocation_id,
                        NetworkInterfaceId=eni_id,
                        AllowReassociation=True,
                    )
                    self._eip_private_ip[allocation_id] = ip
        added = tuple(
            a["PrivateIpAddress"] for a in parsed.get("AssignedPrivateIpAddresses", [])
        ) or tuple(params.get("PrivateIpAddresses") or ())
        self._start("AssignPrivateIpAddresses", eni_id, _Transition("assigning", 0, 0.0, ips=added))

    def _rule_UnassignPrivateIpAddresses(self, params: dict[str, Any], _: Any) -> Any:  # noqa: N802
        eni = self._eni(params["NetworkInterfaceId"])
        if eni is not None and eni["PrivateIpAddress"] in (params.get("PrivateIpAddresses") or []):
            return _error(
                _codes.INVALID_PARAMETER_VALUE,
                "The primary private IP address cannot be unassigned",
            )
        return None

    def _after_UnassignPrivateIpAddresses(  # noqa: N802
        self, params: dict[str, Any], parsed: dict[str, Any], _: Any
    ) -> None:
        self._start(
            "UnassignPrivateIpAddresses",
            params["NetworkInterfaceId"],
            _Transition("unassigning", 0, 0.0, ips=tuple(params.get("PrivateIpAddresses") or ())),
        )

    def _limits_for_eni(self, eni: dict[str, Any]) -> dict[str, Any] | None:
        instance_id = (eni.get("Attachment") or {}).get("InstanceId")
        instance = self._instance(instance_id) if instance_id else None
        return self._limits(instance["InstanceType"]) if instance else None

    # -- after-call patches: what EC2 would show -----------------------------------------

    def _after_DescribeNetworkInterfaces(  # noqa: N802
        self, params: dict[str, Any], parsed: dict[str, Any], _: Any
    ) -> None:
        shown = {n["NetworkInterfaceId"]: n for n in parsed.get("NetworkInterfaces", [])}
        for entry in shown.values():
            self._patch_attachment(entry)
        asked = params.get("NetworkInterfaceIds") or []
        for eni_id in list(shown) + [i for i in asked if i not in shown]:
            transition = self._transition(eni_id)
            if transition is None:
                continue
            entry = shown.get(eni_id)
            if transition.kind == "detaching":
                snapshot = copy.deepcopy(transition.snapshot)
                snapshot["Status"] = "in-use"
                snapshot["Attachment"]["Status"] = "detaching"
                if entry is not None:
                    entry.clear()
                    entry.update(snapshot)
            elif transition.kind == "attaching" and entry is not None:
                entry["Status"] = "attaching"
                if entry.get("Attachment"):
                    entry["Attachment"]["Status"] = "attaching"
            elif transition.kind == "assigning" and entry is not None:
                _drop_ips(entry, transition.ips)
            elif transition.kind == "unassigning" and entry is not None:
                entry["PrivateIpAddresses"] = entry.get("PrivateIpAddresses", []) + [
                    {"Primary": False, "PrivateIpAddress": ip} for ip in transition.ips
                ]
            if entry is not None:
                with self._lock:
                    transition.polls_left -= 1

    def _after_DescribeInstances(  # noqa: N802
        self, params: dict[str, Any], parsed: dict[str, Any], _: Any
    ) -> None:
        with self._lock:
            detaching = [
                t for t in self._transitions.values() if t.kind == "detaching" and t.active()
            ]
        for reservation in parsed.get("Reservations", []):
            for instance in reservation.get("Instances", []):
                for entry in instance.get("NetworkInterfaces", []):
                    self._patch_attachment(entry)
                for transition in detaching:
                    if transition.instance_id == instance["InstanceId"]:
                        ghost = copy.deepcopy(transition.snapshot)
                        ghost["Attachment"]["Status"] = "detaching"
                        ghost["Status"] = "in-use"
                        instance.setdefault("NetworkInterfaces", []).append(ghost)

    def _after_DescribeAddresses(  # noqa: N802
        self, params: dict[str, Any], parsed: dict[str, Any], _: Any
    ) -> None:
        for address in parsed.get("Addresses", []):
            eni_id = address.get("NetworkInterfaceId")
            if not eni_id:
                continue
            private_ip = self._eip_private_ip.get(address.get("AllocationId", ""))
            if private_ip:
                address["PrivateIpAddress"] = private_ip
            eni = self._eni(eni_id)
            instance_id = ((eni or {}).get("Attachment") or {}).get("InstanceId")
            if instance_id:
                address["InstanceId"] = instance_id
            else:
                address.pop("InstanceId", None)


def _ips_of(eni: Mapping[str, Any]) -> list[str]:
    return [p["PrivateIpAddress"] for p in eni.get("PrivateIpAddresses", [])] or [
        eni["PrivateIpAddress"]
    ]


def _drop_ips(entry: dict[str, Any], ips: tuple[str, ...]) -> None:
    entry["PrivateIpAddresses"] = [
        p for p in entry.get("PrivateIpAddresses", []) if p["PrivateIpAddress"] not in ips
    ]


def reserved_ips_of(subnet: Mapping[str, Any]) -> frozenset[str]:
    """The five reserved addresses of a DescribeSubnets entry."""
    return reserved_ips(Subnet.from_api(subnet))


@dataclass(frozen=True)
class Lab:
    """A small VPC to play failovers on (see `build_lab`)."""

    vpc_id: str
    subnet_a: str  # 10.0.1.0/24 in zone a: active and standby live here
    subnet_a2: str  # 10.0.2.0/24, also zone a: where the floating ENI comes from
    subnet_b: str  # 10.0.3.0/24 in zone b
    active: str  # instance in subnet_a
    standby: str  # instance in subnet_a
    far: str  # instance in zone b
    eip: str  # allocation id, associated with the active instance's primary ENI
    public_ip: str
    floating_eni: str  # ENI in subnet_a2, attached to the active instance at device index 1
    zone_a: str
    zone_b: str
    overlay: str = "192.168.100.10/32"  # routed to the active instance's primary ENI
    route_tables: tuple[str, ...] = ()  # the VPC's main table and one for zone b, both routing it


#: An image id moto knows; on a real account pass `image_id`.
MOTO_IMAGE_ID = "ami-12c6146b"


def build_lab(
    client: Any,
    *,
    instance_type: str = "t3.large",
    region: str = "us-east-1",
    image_id: str = MOTO_IMAGE_ID,
    lab_tag: str = "true",
) -> Lab:
    """Create a VPC with two zones, three instances, an Elastic IP and a floating ENI.

    Meant for moto (`mock_aws`) or a scratch account (pass a real `image_id`); every
    resource is tagged ``eniops:lab=<lab_tag>`` so that it can be found and removed.
    """
    zone_a, zone_b = f"{region}a", f"{region}b"
    tags = [{"Key": "eniops:lab", "Value": lab_tag}]

    def tagged(kind: str) -> list[dict[str, Any]]:
        return [{"ResourceType": kind, "Tags": tags}]

    vpc = client.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=tagged("vpc"))
    vpc_id = vpc["Vpc"]["VpcId"]
    # EC2 refuses to associate an Elastic IP in a VPC without an internet gateway.
    gateway = client.create_internet_gateway(TagSpecifications=tagged("internet-gateway"))
    client.attach_internet_gateway(
        InternetGatewayId=gateway["InternetGateway"]["InternetGatewayId"], VpcId=vpc_id
    )

    def subnet(cidr: str, zone: str) -> str:
        made = client.create_subnet(
            VpcId=vpc_id,
            CidrBlock=cidr,
            AvailabilityZone=zone,
            TagSpecifications=tagged("subnet"),
        )
        return str(made["Subnet"]["SubnetId"])

    subnet_a, subnet_a2, subnet_b = (
        subnet("10.0.1.0/24", zone_a),
        subnet("10.0.2.0/24", zone_a),
        subnet("10.0.3.0/24", zone_b),
    )
    image = image_id

    def instance(subnet_id: str, name: str) -> str:
        made = client.run_instances(
            ImageId=image,
            MinCount=1,
            MaxCount=1,
            InstanceType=instance_type,
            SubnetId=subnet_id,
            TagSpecifications=[
                {"ResourceType": "instance", "Tags": [*tags, {"Key": "Name", "Value": name}]}
            ],
        )
        return str(made["Instances"][0]["InstanceId"])

    active, standby, far = (
        instance(subnet_a, "active"),
        instance(subnet_a, "standby"),
        instance(subnet_b, "far"),
    )
    primary = client.describe_instances(InstanceIds=[active])["Reservations"][0]["Instances"][0][
        "NetworkInterfaces"
    ][0]["NetworkInterfaceId"]
    address = client.allocate_address(Domain="vpc", TagSpecifications=tagged("elastic-ip"))
    client.associate_address(
        AllocationId=address["AllocationId"], NetworkInterfaceId=primary, AllowReassociation=False
    )
    floating = client.create_network_interface(
        SubnetId=subnet_a2,
        Description="floating service address",
        TagSpecifications=tagged("network-interface"),
    )["NetworkInterface"]["NetworkInterfaceId"]
    client.attach_network_interface(NetworkInterfaceId=floating, InstanceId=active, DeviceIndex=1)
    primaries = {}
    for instance_id in (active, standby, far):
        primaries[instance_id] = client.describe_instances(InstanceIds=[instance_id])[
            "Reservations"
        ][0]["Instances"][0]["NetworkInterfaces"][0]["NetworkInterfaceId"]
        # Instances that may carry an overlay IP must not drop traffic for other addresses.
        client.modify_network_interface_attribute(
            NetworkInterfaceId=primaries[instance_id], SourceDestCheck={"Value": False}
        )
    main = client.describe_route_tables(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc_id]},
            {"Name": "association.main", "Values": ["true"]},
        ]
    )["RouteTables"][0]["RouteTableId"]
    zone_b_table = client.create_route_table(VpcId=vpc_id, TagSpecifications=tagged("route-table"))[
        "RouteTable"
    ]["RouteTableId"]
    client.associate_route_table(RouteTableId=zone_b_table, SubnetId=subnet_b)
    client.create_tags(Resources=[main], Tags=tags)
    overlay = "192.168.100.10/32"
    for table in (main, zone_b_table):
        client.create_route(
            RouteTableId=table,
            DestinationCidrBlock=overlay,
            NetworkInterfaceId=primaries[active],
        )
    return Lab(
        vpc_id=vpc_id,
        subnet_a=subnet_a,
        subnet_a2=subnet_a2,
        subnet_b=subnet_b,
        active=active,
        standby=standby,
        far=far,
        eip=address["AllocationId"],
        public_ip=address["PublicIp"],
        floating_eni=floating,
        zone_a=zone_a,
        zone_b=zone_b,
        overlay=overlay,
        route_tables=(main, zone_b_table),
    )


def add_enis(client: Any, lab: Lab, count: int, *, instance_id: str | None = None) -> list[str]:
    """Attach `count` more ENIs to `instance_id` (the active instance), each in a subnet of its
    own in zone a (two ENIs of one subnet on an instance would be refused as same-subnet)."""
    target = instance_id or lab.active
    found = client.describe_instances(InstanceIds=[target])["Reservations"][0]["Instances"][0]
    used = {n["Attachment"]["DeviceIndex"] for n in found["NetworkInterfaces"]}
    taken = {
        s["CidrBlock"]
        for s in client.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [lab.vpc_id]}])[
            "Subnets"
        ]
    }
    made: list[str] = []
    cidrs = (f"10.0.{n}.0/24" for n in range(100, 250) if f"10.0.{n}.0/24" not in taken)
    for _ in range(count):
        subnet = client.create_subnet(
            VpcId=lab.vpc_id, CidrBlock=next(cidrs), AvailabilityZone=lab.zone_a
        )["Subnet"]["SubnetId"]
        eni = client.create_network_interface(
            SubnetId=subnet,
            TagSpecifications=[
                {
                    "ResourceType": "network-interface",
                    "Tags": [{"Key": "eniops:lab", "Value": "true"}],
                }
            ],
        )["NetworkInterface"]["NetworkInterfaceId"]
        index = next(i for i in range(1, 32) if i not in used)
        used.add(index)
        client.attach_network_interface(
            NetworkInterfaceId=eni, InstanceId=target, DeviceIndex=index
        )
        made.append(eni)
    return made
