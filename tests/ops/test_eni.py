"""move_eni, attach_eni, detach_eni on the strict layer."""

from __future__ import annotations

import pytest
from support import deadline_passes_at

import eniops
from eniops._core import _codes
from eniops._state import _instance_types
from eniops._state._model import Limits
from eniops.testing import MUTATING_OPERATIONS, round_trips

MUTATIONS = {"DetachNetworkInterface", "AttachNetworkInterface", "ModifyNetworkInterfaceAttribute"}


def move(world, **kw):
    kw.setdefault("to_instance", world.lab.standby)
    return eniops.move_eni(world.lab.floating_eni, ec2=world.client, **kw)


def attachment(world, eni_id=None):
    return world.eni(eni_id or world.lab.floating_eni).get("Attachment") or {}


def tags_of(world, eni_id=None):
    return {t["Key"]: t["Value"] for t in world.eni(eni_id or world.lab.floating_eni)["TagSet"]}


def test_hot_move_with_held_transitions(world):
    """Detach, wait out 'detaching', attach, wait out 'attaching': verified attached."""
    world.strict.hold("DetachNetworkInterface", polls=3)
    world.strict.hold("AttachNetworkInterface", polls=3)
    result = move(world, expect_current=world.lab.active)
    assert result.changed
    assert attachment(world)["InstanceId"] == world.lab.standby
    assert result.after["eni"]["attachment_status"] == "attached"
    assert [s.action for s in result.steps] == [
        "ec2:CreateTags",  # the intent, before the detach
        "ec2:DetachNetworkInterface",
        "ec2:AttachNetworkInterface",
        "ec2:CreateTags",  # eniops:holder, beside the attach's check
        "ec2:DeleteTags",  # the intent, beside the attach's check
    ]
    assert "eniops:move" not in tags_of(world)
    index = attachment(world)["DeviceIndex"]
    assert tags_of(world)["eniops:holder"] == f"{world.lab.standby} index={index}"
    assert any("configured by hand" in w for w in result.warnings)
    assert any("no bandwidth" in w for w in result.warnings)


@pytest.fixture
def no_table(monkeypatch):
    """eniops without its table of instance types (a type newer than the release)."""
    monkeypatch.setattr(_instance_types, "_loaded", [{}])


def test_detach_is_by_attachment_id_after_one_round_trip(world):
    """One round trip of reads before the first change (the ENI and the target at once, the
    target type's limits from the shipped table); the detach names the AttachmentId."""
    world.strict.latency_s = 0.02
    old = attachment(world)["AttachmentId"]
    move(world)
    first = next(i for i, c in enumerate(world.strict.calls) if c.operation in MUTATING_OPERATIONS)
    assert world.strict.calls[first].operation == "CreateTags"  # the intent comes first
    assert round_trips(world.strict.calls[:first]) == 1
    assert world.strict.count("DescribeInstanceTypes") == 0
    detach = next(c for c in world.strict.calls if c.operation == "DetachNetworkInterface")
    assert detach.params == {"AttachmentId": old}


def test_a_type_the_table_lacks_is_read_once_then_cached(world, no_table):
    """Without the type in the table its limits are read after the instance (a second round
    trip), once: the next move reads them no more."""
    world.strict.latency_s = 0.02
    move(world)
    first = next(i for i, c in enumerate(world.strict.calls) if c.operation in MUTATING_OPERATIONS)
    assert round_trips(world.strict.calls[:first]) == 2
    assert world.strict.count("DescribeInstanceTypes") == 1
    world.strict.reset_calls()
    eniops.move_eni(world.lab.floating_eni, to_instance=world.lab.active, ec2=world.client)
    first = next(i for i, c in enumerate(world.strict.calls) if c.operation in MUTATING_OPERATIONS)
    assert round_trips(world.strict.calls[:first]) == 1
    assert world.strict.count("DescribeInstanceTypes") == 0


def test_the_table_says_what_ec2_says_of_a_type(world):
    """The shipped limits of the lab's type are those a read of it gives."""
    with world.strict.internal() as client:
        raw = client.describe_instance_types(InstanceTypes=["t3.large"])["InstanceTypes"][0]
    assert _instance_types.shipped("t3.large") == Limits.from_api(raw)
    assert _instance_types.shipped("no-such.type") is None


def test_warm_move_to_stopped_instance(world):
    """A stopped target takes the ENI (warm attach)."""
    world.client.stop_instances(InstanceIds=[world.lab.standby])
    assert move(world).changed
    assert attachment(world)["InstanceId"] == world.lab.standby


def test_device_index_lowest_free_or_requested(world):
    """None picks index 1 on the standby; a requested free index is used."""
    assert move(world).after["eni"]["device_index"] == 1
    result = eniops.move_eni(
        world.lab.floating_eni, to_instance=world.lab.active, device_index=2, ec2=world.client
    )
    assert result.after["eni"]["device_index"] == 2


def test_device_index_in_use(world):
    """A taken device index is refused before any change."""
    with pytest.raises(eniops.PreconditionFailed) as caught:
        move(world, device_index=0)
    assert caught.value.reason == "device-index-in-use"
    assert world.strict.mutations == []


def test_already_on_target_is_a_no_op(world):
    """Moving an ENI to where it is: changed=False, no mutating call."""
    result = move(world, to_instance=world.lab.active)
    assert not result.changed
    assert world.strict.mutations == []


@pytest.mark.parametrize(
    ("setup", "kwargs", "reason"),
    [
        (None, {"to_instance": "far"}, "az-mismatch"),
        ("primary", {}, "primary-eni"),
        ("terminate", {}, "instance-state"),
        (None, {"expect_current": "far"}, "expect-mismatch"),
        (None, {"require_tag": "team=db"}, "tag-guard"),
        ("same-subnet", {}, "same-subnet"),
        ("full", {}, "attachment-limit"),
    ],
    ids=["az", "primary", "state", "expect", "tag", "same-subnet", "limit"],
)
def test_refusals_change_nothing(world, setup, kwargs, reason):
    """Each failed precondition raises its reason code and makes no mutating call."""
    eni = world.lab.floating_eni
    kwargs = {k: getattr(world.lab, v, v) for k, v in kwargs.items()}
    if setup == "primary":
        eni = world.primary_eni(world.lab.active)
    elif setup == "terminate":
        world.client.terminate_instances(InstanceIds=[world.lab.standby])
    elif setup == "same-subnet":
        eni = world.client.create_network_interface(SubnetId=world.lab.subnet_a)[
            "NetworkInterface"
        ]["NetworkInterfaceId"]
        world.client.attach_network_interface(
            NetworkInterfaceId=eni, InstanceId=world.lab.active, DeviceIndex=2
        )
    elif setup == "full":
        for index in (1, 2):
            extra = world.client.create_network_interface(SubnetId=world.lab.subnet_a2)[
                "NetworkInterface"
            ]["NetworkInterfaceId"]
            world.client.attach_network_interface(
                NetworkInterfaceId=extra, InstanceId=world.lab.standby, DeviceIndex=index
            )
    world.strict.reset_calls()
    with pytest.raises(eniops.PreconditionFailed) as caught:
        eniops.move_eni(eni, ec2=world.client, **{"to_instance": world.lab.standby, **kwargs})
    assert caught.value.reason == reason
    assert world.strict.mutations == []
    if reason == "same-subnet":
        assert caught.value.details["suggestion"] == "add_secondary_ips"


def test_allow_same_subnet(world):
    """allow_same_subnet lets a second ENI of a subnet attach."""
    eni = world.client.create_network_interface(SubnetId=world.lab.subnet_a)["NetworkInterface"][
        "NetworkInterfaceId"
    ]
    assert eniops.attach_eni(
        eni, instance=world.lab.standby, allow_same_subnet=True, ec2=world.client
    ).changed


def test_requester_managed_is_refused(world):
    """An ENI of an AWS service (as EC2 shows a NAT gateway's) is never touched."""
    eni = world.client.create_network_interface(SubnetId=world.lab.subnet_a2)["NetworkInterface"][
        "NetworkInterfaceId"
    ]

    def as_nat_gateway(parsed, **_):
        for entry in parsed.get("NetworkInterfaces", []):
            if entry["NetworkInterfaceId"] == eni:
                entry.update(RequesterManaged=True, InterfaceType="nat_gateway")

    world.client.meta.events.register("after-call.ec2.DescribeNetworkInterfaces", as_nat_gateway)
    with pytest.raises(eniops.PreconditionFailed) as caught:
        eniops.attach_eni(eni, instance=world.lab.standby, ec2=world.client)
    assert caught.value.reason == "requester-managed"


def test_vpc_mismatch(world):
    """An ENI of another VPC is refused."""
    vpc = world.client.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = world.client.create_subnet(
        VpcId=vpc, CidrBlock="10.9.1.0/24", AvailabilityZone="us-east-1a"
    )["Subnet"]["SubnetId"]
    eni = world.client.create_network_interface(SubnetId=subnet)["NetworkInterface"][
        "NetworkInterfaceId"
    ]
    with pytest.raises(eniops.PreconditionFailed) as caught:
        eniops.attach_eni(eni, instance=world.lab.standby, ec2=world.client)
    assert caught.value.reason == "vpc-mismatch"


def test_attach_in_use_elsewhere_is_a_conflict(world):
    """attach_eni refuses an ENI attached to another instance (in-use)."""
    with pytest.raises(eniops.Conflict) as caught:
        eniops.attach_eni(world.lab.floating_eni, instance=world.lab.standby, ec2=world.client)
    assert caught.value.reason == "in-use"


def test_detach_and_attach(world):
    """detach_eni waits until available; attach_eni attaches it again."""
    world.strict.hold("DetachNetworkInterface", polls=2)
    result = eniops.detach_eni(
        world.lab.floating_eni, expect_current=world.lab.active, ec2=world.client
    )
    assert result.changed
    assert world.eni(world.lab.floating_eni)["Status"] == "available"
    assert not eniops.detach_eni(world.lab.floating_eni, ec2=world.client).changed
    assert eniops.attach_eni(
        world.lab.floating_eni, instance=world.lab.standby, ec2=world.client
    ).changed


def test_detach_refuses_primary_and_force_warns(world):
    """The primary ENI is refused; force is passed through with a warning."""
    with pytest.raises(eniops.PreconditionFailed):
        eniops.detach_eni(world.primary_eni(world.lab.active), ec2=world.client)
    result = eniops.detach_eni(world.lab.floating_eni, force=True, ec2=world.client)
    detach = next(c for c in world.strict.mutations if c.operation == "DetachNetworkInterface")
    assert detach.params["Force"] is True
    assert any("forced detach" in w for w in result.warnings)


def test_strict_layer_refuses_what_moto_accepts(world):
    """The raw client meets EC2's rules: cross-AZ attach and primary detach fail."""
    from botocore.exceptions import ClientError

    eni = world.client.create_network_interface(SubnetId=world.lab.subnet_b)["NetworkInterface"][
        "NetworkInterfaceId"
    ]
    with pytest.raises(ClientError, match="availability zones"):
        world.client.attach_network_interface(
            NetworkInterfaceId=eni, InstanceId=world.lab.standby, DeviceIndex=1
        )
    primary = world.eni(world.primary_eni(world.lab.active))["Attachment"]["AttachmentId"]
    with pytest.raises(ClientError, match=_codes.OPERATION_NOT_PERMITTED):
        world.client.detach_network_interface(AttachmentId=primary)


def test_wait_times_out_saying_where_the_eni_is(world, monkeypatch):
    """A detach that never finishes raises OperationTimeout naming the ENI's state."""
    world.strict.hold("DetachNetworkInterface", polls=10_000)
    deadline_passes_at(world, "DetachNetworkInterface", monkeypatch)
    with pytest.raises(eniops.OperationTimeout) as caught:
        move(world, timeout=60.0)
    details = caught.value.details
    assert details["state"]["attachment_status"] == "detaching"
    assert details["source"] == world.lab.active
    assert "eniops:move" in tags_of(world)  # a re-run completes it


def test_not_found_right_after_a_change_is_re_read(world):
    """A NotFound while polling after the detach is retried, and the move completes."""
    world.strict.hold("DetachNetworkInterface", polls=1)
    world.strict.inject("DescribeNetworkInterfaces", _codes.INVALID_NETWORK_INTERFACE_ID_NOT_FOUND)
    assert move(world).changed


def test_throttled_detach_and_attach(world):
    """Throttled detach and attach are retried; one change each."""
    world.strict.inject("DetachNetworkInterface", _codes.REQUEST_LIMIT_EXCEEDED, times=2)
    world.strict.inject("AttachNetworkInterface", _codes.REQUEST_LIMIT_EXCEEDED, times=2)
    assert move(world).changed
    assert world.strict.count("DetachNetworkInterface") == 3
    assert world.strict.count("AttachNetworkInterface") == 3


def test_failed_attach_rolls_back(world):
    """Attach refused after the detach: the ENI goes back to its source and index."""
    world.strict.inject("AttachNetworkInterface", _codes.INVALID_PARAMETER_VALUE, times=1)
    with pytest.raises(eniops.PartialFailure) as caught:
        move(world)
    assert caught.value.rolled_back
    now = attachment(world)
    assert (now["InstanceId"], now["DeviceIndex"]) == (world.lab.active, 1)
    steps = [(s["action"], s["status"]) for s in caught.value.details["steps"]]
    assert steps == [
        ("ec2:CreateTags", "rolled-back"),
        ("ec2:DetachNetworkInterface", "rolled-back"),
        ("ec2:AttachNetworkInterface", "failed"),
        ("ec2:AttachNetworkInterface", "done"),  # back on the source
        ("ec2:DeleteTags", "done"),  # our intent removed
    ]
    assert "eniops:move" not in tags_of(world)


def test_failed_attach_without_rollback_says_where(world):
    """rollback=False: PartialFailure(rolled_back=False) naming the ENI, state, both instances."""
    world.strict.inject("AttachNetworkInterface", _codes.INVALID_PARAMETER_VALUE, times=1)
    with pytest.raises(eniops.PartialFailure) as caught:
        move(world, rollback=False)
    details = caught.value.details
    assert not caught.value.rolled_back
    assert details["eni"] == world.lab.floating_eni
    assert (details["source"], details["target"]) == (world.lab.active, world.lab.standby)
    assert details["state"]["status"] == "available"
    assert "NOT put back" in caught.value.message
    assert tags_of(world)["eniops:move"].startswith(f"from={world.lab.active} to=")


def test_failed_rollback_is_reported(world):
    """Attach and the rollback both refused: rolled_back=False and the rollback error."""
    world.strict.inject("AttachNetworkInterface", _codes.INVALID_PARAMETER_VALUE, times=2)
    with pytest.raises(eniops.PartialFailure) as caught:
        move(world)
    assert not caught.value.rolled_back
    assert "rollback_error" in caught.value.details
    assert world.eni(world.lab.floating_eni)["Status"] == "available"


def _hijack(world, to_instance):
    """Before eniops' detach, someone else moves the ENI to `to_instance`."""
    hijacked: list[bool] = []

    def someone_else_moves_it(model, **_):
        if model.name == "DetachNetworkInterface" and not hijacked:
            hijacked.append(True)
            with world.strict.internal() as client:
                old = attachment(world)["AttachmentId"]
                client.detach_network_interface(AttachmentId=old)
                client.attach_network_interface(
                    NetworkInterfaceId=world.lab.floating_eni, InstanceId=to_instance, DeviceIndex=1
                )

    world.client.meta.events.register_first("before-call.ec2", someone_else_moves_it)


def test_moved_elsewhere_between_read_and_detach_is_a_conflict(world):
    """The stale AttachmentId makes the detach fail safely; the ENI stays where they put it."""
    _hijack(world, world.lab.far)
    with pytest.raises(eniops.Conflict) as caught:
        move(world, to_instance=world.lab.standby, expect_current=world.lab.active)
    assert caught.value.reason == "expect-mismatch"
    assert attachment(world)["InstanceId"] == world.lab.far
    assert caught.value.details["state"]["instance"] == world.lab.far
    assert world.strict.count("AttachNetworkInterface") == 0


def test_moved_to_the_same_target_meanwhile_is_no_conflict(world):
    """Another run already put it on the target: this one finishes without attaching again."""
    _hijack(world, world.lab.standby)
    result = move(world, to_instance=world.lab.standby, expect_current=world.lab.active)
    assert attachment(world)["InstanceId"] == world.lab.standby
    assert world.strict.count("AttachNetworkInterface") == 0
    assert [s.status for s in result.steps if "Attach" in s.action] == ["skipped"]


def test_delete_on_termination_is_restored(world):
    """If the source attachment deleted the ENI on termination, the new one does too."""
    old = attachment(world)["AttachmentId"]
    world.client.modify_network_interface_attribute(
        NetworkInterfaceId=world.lab.floating_eni,
        Attachment={"AttachmentId": old, "DeleteOnTermination": True},
    )
    result = move(world)
    modify = [s for s in result.steps if s.action == "ec2:ModifyNetworkInterfaceAttribute"]
    assert [s.status for s in modify] == ["done"]
    shown = world.client.describe_network_interfaces(NetworkInterfaceIds=[world.lab.floating_eni])
    assert shown["NetworkInterfaces"][0]["Attachment"]["DeleteOnTermination"] is True


def test_plan_and_dry_run(world):
    """plan lists every call and makes none; dry-run sends each with DryRun=True."""
    planned = move(world, mode="plan")
    assert [(s.action, s.status) for s in planned.steps] == [
        ("ec2:CreateTags", "planned"),  # the intent
        ("ec2:DetachNetworkInterface", "planned"),
        ("ec2:AttachNetworkInterface", "planned"),
        ("ec2:CreateTags", "planned"),  # the holder tag
        ("ec2:DeleteTags", "planned"),  # the intent's removal
    ]
    assert world.strict.mutations == []
    move(world, mode="dry-run")
    assert [(c.operation, c.dry_run) for c in world.strict.mutations] == [
        ("CreateTags", True),
        ("DetachNetworkInterface", True),
        ("AttachNetworkInterface", True),
        ("CreateTags", True),
        ("DeleteTags", True),
    ]
    assert attachment(world)["InstanceId"] == world.lab.active
    assert "eniops:move" not in tags_of(world)


def test_dry_run_plans_delete_on_termination_without_a_bogus_call(world):
    """dry-run lists the DeleteOnTermination restore but sends no DryRun for it."""
    old = attachment(world)["AttachmentId"]
    world.client.modify_network_interface_attribute(
        NetworkInterfaceId=world.lab.floating_eni,
        Attachment={"AttachmentId": old, "DeleteOnTermination": True},
    )
    world.strict.reset_calls()
    result = move(world, mode="dry-run")
    restore = next(s for s in result.steps if s.action == "ec2:ModifyNetworkInterfaceAttribute")
    assert restore.status == "planned"
    assert "depends on an earlier change" in restore.note
    assert [s.action for s in result.steps][-1] == "ec2:DeleteTags"  # beside the restore
    assert [c.operation for c in world.strict.mutations] == [
        "CreateTags",
        "DetachNetworkInterface",
        "AttachNetworkInterface",
        "CreateTags",
        "DeleteTags",
    ]
