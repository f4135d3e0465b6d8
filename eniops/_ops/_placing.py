"""Where an ENI goes on an instance, and what it carries there: EC2's placement rules
(same VPC and zone, a free device index, one ENI per subnet unless allowed) and the
DeleteOnTermination a move restores. Pure functions of described state, for `move_eni`,
`attach_eni` and the failover's ENIs."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from .._core._errors import PreconditionFailed
from .._core._json import JsonDict
from .._state._model import Attachment, Eni, Instance, Limits
from .._state._tags import MoveIntent


def same_vpc_and_az(eni: Eni, instance: Instance) -> None:
    """ENI and instance must share the VPC and the availability zone."""
    if eni.vpc_id and instance.vpc_id and eni.vpc_id != instance.vpc_id:
        raise PreconditionFailed(
            "vpc-mismatch",
            f"{eni.eni_id} is in {eni.vpc_id}, {instance.instance_id} in {instance.vpc_id}",
            details={"eni": eni.eni_id, "eni_vpc": eni.vpc_id, "instance_vpc": instance.vpc_id},
        )
    if eni.availability_zone != instance.availability_zone:
        raise PreconditionFailed(
            "az-mismatch",
            f"{eni.eni_id} is in {eni.availability_zone}, "
            f"{instance.instance_id} in {instance.availability_zone}",
            details={
                "eni": eni.eni_id,
                "eni_az": eni.availability_zone,
                "instance_az": instance.availability_zone,
            },
        )


def choose_device_index(
    instance: Instance,
    limits: Limits,
    requested: int | None,
    *,
    leaving: Iterable[str] = (),
) -> int:
    """A device index on network card 0: `requested` if free, else the lowest free one.

    `leaving` are ENIs on the instance that leave it before the attach (an ENI moved back
    to the instance it is still detaching from): their slots and indexes count as free.
    """
    return choose_device_indexes(instance, limits, [requested], leaving=leaving)[0]


def choose_device_indexes(
    instance: Instance,
    limits: Limits,
    requested: list[int | None],
    *,
    leaving: Iterable[str] = (),
) -> list[int]:
    """Device indexes on card 0 for several ENIs attaching at once, checked together.

    Each entry of `requested` is an index (which must be free) or None (the lowest free
    index, in order). Raises ``attachment-limit`` when the slots do not suffice for all of
    them and ``device-index-in-use`` for a taken index.
    """
    gone = set(leaving)
    staying = [e for e in instance.enis if e.eni_id not in gone]
    used = {
        e.attachment.device_index
        for e in staying
        if e.attachment and e.attachment.network_card_index == 0
    }
    maximum = limits.max_on_card(0)
    details: JsonDict = {
        "instance": instance.instance_id,
        "instance_type": limits.instance_type,
        "max_enis": maximum,
        "used_device_indexes": sorted(used),
        "attaching": len(requested),
    }
    if len(used) + len(requested) > maximum or len(staying) + len(requested) > limits.max_enis:
        raise PreconditionFailed(
            "attachment-limit",
            f"{instance.instance_id} ({limits.instance_type}) has {len(used)} of {maximum} "
            f"network interfaces; {len(requested)} more do not fit",
            details=details,
        )
    chosen: list[int | None] = []
    for index in requested:
        if index is not None and (index in used or index in chosen):
            raise PreconditionFailed(
                "device-index-in-use",
                f"device index {index} is taken on {instance.instance_id}",
                details={**details, "device_index": index},
            )
        chosen.append(index)
    taken = used | {i for i in chosen if i is not None}
    # The slot check above bounds how far this looks: the lowest free indexes of card 0.
    free = (i for i in itertools.count(1) if i not in taken)
    return [index if index is not None else next(free) for index in chosen]


def free_device_indexes(instance: Instance, limits: Limits) -> list[int]:
    """The device indexes an attach to `instance` could take now, lowest first."""
    used = instance.used_device_indexes(0)
    room = max(0, limits.max_on_card(0) - len(used))
    return list(itertools.islice((i for i in itertools.count(1) if i not in used), room))


def recorded_index(intent: MoveIntent, limits: Limits) -> int | None:
    """The device index an `eniops:move` intent records, if it is one the target's type has on
    card 0 (a tag is a hint: a value EC2 would refuse, or a forged one, is not sent)."""
    index = intent.device_index
    return index if 1 <= index < limits.max_on_card(0) else None


def no_same_subnet(eni: Eni, instance: Instance, allow: bool) -> None:
    """A second ENI of a subnet the instance is already in risks asymmetric routing."""
    if allow:
        return
    clash = [
        e.eni_id for e in instance.enis if e.subnet_id == eni.subnet_id and e.eni_id != eni.eni_id
    ]
    if clash:
        raise PreconditionFailed(
            "same-subnet",
            f"{instance.instance_id} already has {', '.join(clash)} in {eni.subnet_id}; "
            "add a secondary private IP instead (add_secondary_ips), "
            "or pass allow_same_subnet",
            details={
                "eni": eni.eni_id,
                "instance": instance.instance_id,
                "subnet": eni.subnet_id,
                "enis_in_subnet": clash,
                "suggestion": "add_secondary_ips",
            },
        )


def next_delete_on_termination(eni: Eni, *, carry: bool, trust_intent: bool = True) -> bool:
    """DeleteOnTermination for the ENI's next attachment: what its own attachment has (when
    `carry`), whatever an intent tag claims while that attachment is there to read; once the
    ENI is detached, what an interrupted move recorded, but only where the intent is trusted
    (the ENI named by the caller, its move re-run): a tag alone never has EC2 delete an ENI."""
    intent, att = eni.intent, eni.attachment
    if intent is not None and att is None:
        return trust_intent and intent.delete_on_termination
    return carry and bool(att and att.delete_on_termination)


def restores_dot(
    intent: MoveIntent | None, attachment: Attachment, *, trust_intent: bool = True
) -> bool:
    """A move's intent recorded DeleteOnTermination for this very attachment (its instance
    and device index), the attachment does not have it yet, and the intent is trusted."""
    return trust_intent and dot_only_by_tag(intent, attachment)


def dot_only_by_tag(intent: MoveIntent | None, attachment: Attachment | None) -> bool:
    """An intent records DeleteOnTermination that the ENI's attachment (for this very move:
    its instance and device index; or none, the ENI detached) does not show: only the tag
    says it."""
    if intent is None or not intent.delete_on_termination:
        return False
    if attachment is None:
        return True
    return (intent.target, intent.device_index) == (
        attachment.instance_id,
        attachment.device_index,
    ) and not attachment.delete_on_termination
