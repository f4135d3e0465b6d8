"""What the Lambda handler reads besides EC2, made on moto: an alarm in a given state and the
lease table (the same shapes the template creates)."""

from __future__ import annotations

from typing import Any


def put_alarm(
    cloudwatch: Any,
    instance_id: str,
    name: str,
    state: str,
    *,
    metric: str = "StatusCheckFailed",
    namespace: str = "AWS/EC2",
) -> None:
    """An alarm `name` on `metric` of `instance_id`, set to `state` (``ALARM``, ``OK``...)."""
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        Namespace=namespace,
        MetricName=metric,
        Dimensions=[{"Name": "InstanceId", "Value": instance_id}],
        Statistic="Maximum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason="eniops.testing")


def create_lease_table(dynamodb: Any, name: str) -> None:
    """The handler's lease table (`ENIOPS_LEASE_TABLE`), keyed as the template's."""
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
