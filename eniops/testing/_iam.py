"""IAM's policy simulator as the strict layer answers it (moto does not implement
`SimulatePrincipalPolicy`): each action allowed unless the test denies it, or the simulator
refused to the caller altogether."""

from __future__ import annotations

import copy
from typing import Any

from . import _errors as errors


class PolicySimulator:
    """Answers `iam:SimulatePrincipalPolicy` on the IAM clients eniops builds beside a strict
    EC2 client (`eniops.sibling-created.iam`): `denied` actions (``"ec2:AssignPrivateIpAddresses"``)
    are `implicitDeny`, every other `allowed`; with `usable` False the caller may not use the
    simulator (`AccessDenied`). Every question asked is kept in `asked`."""

    def __init__(self, ec2: Any) -> None:
        self.denied: set[str] = set()
        self.usable = True
        self.asked: list[dict[str, Any]] = []
        ec2.meta.events.register("eniops.sibling-created.iam", self.attach)

    def attach(self, sibling: Any, **_: Any) -> None:
        """Answer the simulator's calls on `sibling`, an IAM client."""
        events = sibling.meta.events
        events.register("before-parameter-build.iam.SimulatePrincipalPolicy", self._remember)
        events.register("before-call.iam.SimulatePrincipalPolicy", self._answer)

    def _remember(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["strict_iam_params"] = copy.deepcopy(params)

    def _answer(self, context: dict[str, Any], **_: Any) -> Any:
        params = context.get("strict_iam_params", {})
        self.asked.append(params)
        if not self.usable:
            refused = "not authorized to perform: iam:SimulatePrincipalPolicy"
            return errors.Ec2Error("AccessDenied", refused, 403).answer()
        resources = params.get("ResourceArns") or ["*"]
        results = []
        for action in params.get("ActionNames") or []:
            decision = "implicitDeny" if action in self.denied else "allowed"
            each = [{"EvalResourceName": r, "EvalResourceDecision": decision} for r in resources]
            results.append(
                {
                    "EvalActionName": action,
                    "EvalDecision": decision,
                    "ResourceSpecificResults": each,
                }
            )
        return errors.ok(), {"EvaluationResults": results, "IsTruncated": False}
