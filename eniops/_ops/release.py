"""`release_eip`: the one deliberate disassociation, for an HA agent's `stop` and maintenance.

Only if `expect_current` holds the address now: one `DisassociateAddress` by the
association's own id, which is EC2's compare-and-swap (an association replaced since the
read is refused), then a read `confirm_after_s` after EC2's answer: someone who took the
address meanwhile is a `Conflict`, never an address left unassociated by eniops without
saying so. The address's `eniops:holder` tag goes with the association (only while it still
names the released holder), so that a later failover of that holder does not pick it up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._core import _inputs
from .._core._errors import InvalidInput, PreconditionFailed
from .._core._inputs import UNASSOCIATED, EipRef, TagGuard
from .._core._result import Result
from .._executor import Run
from .._plan import Chain, Change, Plan
from .._plan._expect import AddressFree
from .._state import _rules as check
from .._state._model import Address
from .._state._views import Described, Planned, Subject
from . import _bookkeeping
from ._operation import Body, Common, check_rules, run
from .remap import holder_instance_of

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._core._keywords import CommonKeywords


def release_eip(
    eip: str,
    *,
    expect_current: str,
    **common: Unpack[CommonKeywords],
) -> Result:
    """Disassociate Elastic IP `eip` from `expect_current`, only if that holds it now.

    Args:
        eip: allocation id (``eipalloc-…``) or public IPv4 address.
        expect_current: the instance or ENI that must hold the address now (required).
        **common: the common keywords (`eniops.CommonKeywords`): mode, ec2, session,
            region, timeout (default 30 s), require_tag, role_arn, external_id.

    Already unassociated: ``changed=False`` and no call, whoever `expect_current` names.

    Raises:
        InvalidInput; NotFound; Conflict (``expect-mismatch``: another holds it, now or by
        the time EC2 answered); PreconditionFailed (``tag-guard``); AwsError;
        OperationTimeout.
    """
    keywords = Common.of("release_eip", common, timeout_s=RELEASE.timeout_s)
    request = ReleaseRequest.of(eip=eip, expect_current=expect_current, guard=keywords.guard)
    return run(RELEASE, request, keywords)


@dataclass(frozen=True)
class ReleaseRequest:
    """`release_eip`'s arguments, parsed."""

    ref: EipRef
    expected: str
    guard: TagGuard | None = None

    @classmethod
    def of(cls, *, eip: object, expect_current: object, guard: TagGuard | None) -> ReleaseRequest:
        """`release_eip`'s own arguments, checked against its rules and parsed."""
        check_rules("release_eip", expect_current=expect_current)
        expected = _inputs.expect_current(expect_current)
        if expected is None or expected == UNASSOCIATED:
            raise InvalidInput(
                "release_eip needs expect_current: the instance or ENI that holds it now",
                details={"argument": "expect_current"},
            )
        return cls(_inputs.eip(eip), expected, guard)


@dataclass(frozen=True)
class ReleaseState:
    """The address, and the instance holding it when its read names only the ENI."""

    address: Address
    holder_instance: str | None = None


def read_release(run: Run, request: ReleaseRequest) -> ReleaseState:
    """The address by its id or public IP (and its holder's instance only if unnamed)."""
    address = run.reader.address(request.ref)
    holder = holder_instance_of(run, address, request.expected)
    run.mark_read()
    return ReleaseState(address, holder)


def plan_release_eip(request: ReleaseRequest, state: ReleaseState) -> Plan:
    """The disassociation, guarded by who holds the address; nothing when nobody does."""
    address = state.address
    before: Described = {"address": address.summary()}
    if not address.associated:
        return Plan("release_eip", (), before=before, after=before)
    holders = [address.eni_id, address.instance_id or state.holder_instance]
    check.expect_current(request.expected, str(request.ref), holders)
    check.tag_guard(request.guard, address.allocation_id, address.tags)
    if address.association_id is None:
        raise PreconditionFailed(
            "not-found",
            f"EC2 shows {address.public_ip} on {address.eni_id} without an association id",
            details={"address": address.summary()},
        )
    released = address.instance_id or state.holder_instance
    chain = release_chain(address, address.association_id, released)
    return Plan("release_eip", (chain,), before=before, after=dict(chain.after))


def release_chain(address: Address, association_id: str, released: str | None) -> Chain:
    """One `DisassociateAddress` by `association_id`, confirmed, with the removal of the
    holder tag riding beside the check when the tag names the instance `released` (one that
    names anyone else is theirs, and stays)."""
    subject: Subject = ("address", address.allocation_id)
    holder = address.holder
    named = holder is not None and released is not None and holder.instance_id == released
    recorded = address.holder_tag if named else None
    disassociate = Change(
        "DisassociateAddress",
        {"AssociationId": association_id},
        expect=(AddressFree(address.allocation_id, association_id=association_id),),
        check="confirm",
        role="goal",
        riders=(
            (_bookkeeping.holder_removal(address.allocation_id, recorded),) if recorded else ()
        ),
    )
    free = {**address.summary(), "association_id": None, "eni": None, "instance": None}
    return Chain(
        name=f"release {address.public_ip}",
        operation="release_eip",
        items=(disassociate,),
        subjects=(subject,),
        before={"address": address.summary()},
        after={"address": Planned(subject, {**free, "private_ip": None})},
        context={"eip": address.allocation_id, "public_ip": address.public_ip},
    )


RELEASE = Body("release_eip", read_release, plan_release_eip, 30.0)
