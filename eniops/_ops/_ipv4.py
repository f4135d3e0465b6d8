"""IPv4 secondary addresses of an ENI as chains: assigned in one call (a reassignment
guarded and confirmed), the Elastic IPs that follow a reassigned IP waited for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .._plan import Chain, Change, Wait
from .._plan._expect import AddressOn, IpHeldBy, IpsOn
from .._state._model import Address, Eni
from .._state._tags import address_holder
from .._state._views import Planned, Subject
from . import _bookkeeping


@dataclass(frozen=True)
class Assignment:
    """IPv4 addresses to assign to an ENI, and the Elastic IPs that follow a reassigned one.

    `guarded` (IP -> the ENI expected to hold it) makes a reassignment that must not take an
    IP from anyone else: EC2 has no compare-and-swap for it, so instead of the ENI alone,
    who holds each IP is read `confirm_after_s` after the answer (a third party's
    reassignment meanwhile is a `Conflict`, not a timeout).
    """

    eni: Eni
    ips: tuple[str, ...]
    allow_reassignment: bool
    following: Sequence[Address] = ()
    guarded: Mapping[str, str] | None = None

    def change(self) -> Change:
        """`AssignPrivateIpAddresses`, checked on the ENI, with the holder tags of the
        Elastic IPs that follow riding beside."""
        eni, guarded = self.eni, self.guarded
        expect: tuple[IpsOn | IpHeldBy, ...] = (IpsOn(eni.eni_id, ips=self.ips),)
        if guarded is not None:
            expect = IpHeldBy.each(eni, self.ips, guarded.get)
        return Change(
            "AssignPrivateIpAddresses",
            {
                "NetworkInterfaceId": eni.eni_id,
                "PrivateIpAddresses": list(self.ips),
                "AllowReassignment": self.allow_reassignment,
            },
            expect=expect,
            check="confirm" if guarded is not None else "wait",
            role="goal",
            riders=tuple(
                _bookkeeping.holder(
                    a.allocation_id,
                    address_holder(eni.instance_id, str(a.private_ip)),
                    a.holder_tag,
                )
                for a in self.following
            ),
        )

    def chain(self) -> Chain:
        """The assignment, then a wait for every Elastic IP that follows a reassigned IP."""
        eni, ips, following = self.eni, self.ips, self.following
        subject: Subject = ("eni", eni.eni_id)
        items: list[Change | Wait] = [self.change()]
        items.extend(
            Wait(
                AddressOn(
                    a.allocation_id,
                    eni_id=eni.eni_id,
                    private_ip=str(a.private_ip),
                    allowed=frozenset({a.eni_id, None}),
                )
            )
            for a in following
        )
        planned = {**eni.summary(), "secondary_ips": [*eni.secondary_ips, *ips]}
        addresses: list[Subject] = [("address", a.allocation_id) for a in following]
        return Chain(
            name=f"secondary IP {', '.join(ips)}"
            + (f" with {', '.join(a.public_ip for a in following)}" if following else ""),
            operation="add_secondary_ips",
            items=tuple(items),
            subjects=(subject, *addresses),
            before={"eni": eni.summary()},
            after={"eni": Planned(subject, planned)},
            context={"eni": eni.eni_id, "adding": list(ips)},
        )
