"""ECS services and ALB target groups: is a side steady and serving?"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from weightshift.adapters.aws import error_code
from weightshift.errors import RouteNotFound, ServiceNotFound, SignalUnavailable
from weightshift.models import EcsDeployment


@dataclass(frozen=True)
class ServiceState:
    running: int
    desired: int
    deployments: int
    deployment_list: tuple[EcsDeployment, ...] = ()

    @property
    def steady(self) -> bool:
        return self.desired > 0 and self.running == self.desired and self.deployments <= 1


@dataclass(frozen=True)
class TargetGroupHealth:
    arn: str
    healthy: int
    total: int


class EcsElb:
    def __init__(self, ecs: Any, elbv2: Any) -> None:
        self._ecs = ecs
        self._elb = elbv2

    def service(self, cluster: str, service: str) -> ServiceState:
        try:
            resp = self._ecs.describe_services(cluster=cluster, services=[service])
        except ClientError as exc:
            raise SignalUnavailable(f"ECS DescribeServices {cluster}/{service}: {error_code(exc)}") from exc
        found = [s for s in resp.get("services", []) if s.get("status", "ACTIVE") == "ACTIVE"]
        if not found:
            raise ServiceNotFound(f"ECS service {service} not found in cluster {cluster}")
        svc = found[0]
        listed = tuple(
            EcsDeployment(
                id=str(d.get("id", "")),
                status=str(d.get("status", "")),
                rollout_state=str(d.get("rolloutState", "")),
                created_at=d.get("createdAt") if isinstance(d.get("createdAt"), datetime) else None,
            )
            for d in svc.get("deployments", [])
        )
        return ServiceState(
            running=int(svc.get("runningCount", 0)),
            desired=int(svc.get("desiredCount", 0)),
            deployments=len(listed),
            deployment_list=listed,
        )

    def target_groups(self, load_balancer_arn: str) -> list[TargetGroupHealth]:
        try:
            groups = self._elb.describe_target_groups(LoadBalancerArn=load_balancer_arn)["TargetGroups"]
            result = []
            for group in groups:
                descs = self._elb.describe_target_health(TargetGroupArn=group["TargetGroupArn"])
                states = [d["TargetHealth"]["State"] for d in descs["TargetHealthDescriptions"]]
                result.append(TargetGroupHealth(group["TargetGroupArn"], states.count("healthy"), len(states)))
            return result
        except ClientError as exc:
            raise SignalUnavailable(f"target health of {load_balancer_arn}: {error_code(exc)}") from exc

    def missing_services(self, cluster: str, services: list[str]) -> list[str]:
        """The named services that do not exist (or are not ACTIVE) in the cluster, in one
        DescribeServices call (it takes up to 10)."""
        try:
            resp = self._ecs.describe_services(cluster=cluster, services=services)
        except ClientError as exc:
            raise SignalUnavailable(f"ECS DescribeServices {cluster}: {error_code(exc)}") from exc
        active = {s.get("serviceName") for s in resp.get("services", []) if s.get("status", "ACTIVE") == "ACTIVE"}
        return [name for name in services if name not in active]

    def load_balancer(self, load_balancer_arn: str) -> dict[str, Any] | None:
        """The load balancer as DescribeLoadBalancers gives it (Type, DNSName, ...), or None
        when there is no such load balancer."""
        try:
            found = self._elb.describe_load_balancers(LoadBalancerArns=[load_balancer_arn])["LoadBalancers"]
        except ClientError as exc:
            if error_code(exc) in ("LoadBalancerNotFound", "ValidationError"):
                return None
            raise SignalUnavailable(f"DescribeLoadBalancers {load_balancer_arn}: {error_code(exc)}") from exc
        return dict(found[0]) if found else None

    def cluster_exists(self, cluster: str) -> bool:
        """Whether the cluster exists and is ACTIVE (DescribeClusters lists a missing one
        under ``failures``, it does not raise)."""
        try:
            clusters = self._ecs.describe_clusters(clusters=[cluster]).get("clusters", [])
        except ClientError as exc:
            raise SignalUnavailable(f"ECS DescribeClusters {cluster}: {error_code(exc)}") from exc
        return any(c.get("status") == "ACTIVE" for c in clusters)

    def service_target_groups(self, cluster: str, services: list[str]) -> dict[str, list[str]]:
        """For each named ACTIVE service, the target groups it registers its tasks in (its
        ``loadBalancers``); a missing service is absent from the answer. One call."""
        try:
            resp = self._ecs.describe_services(cluster=cluster, services=services)
        except ClientError as exc:
            if error_code(exc) == "ClusterNotFoundException":
                return {}
            raise SignalUnavailable(f"ECS DescribeServices {cluster}: {error_code(exc)}") from exc
        return {
            str(s.get("serviceName")): [str(lb["targetGroupArn"]) for lb in s.get("loadBalancers", [])]
            for s in resp.get("services", [])
            if s.get("status", "ACTIVE") == "ACTIVE"
        }

    def load_balancers_of(self, target_group_arns: list[str]) -> dict[str, list[str]]:
        """For each target group, the load balancers that route to it."""
        if not target_group_arns:
            return {}
        try:
            groups = self._elb.describe_target_groups(TargetGroupArns=target_group_arns)["TargetGroups"]
        except ClientError as exc:
            if error_code(exc) == "TargetGroupNotFound":  # one missing fails the call: ask one by one
                if len(target_group_arns) == 1:
                    return {}
                return {k: v for arn in target_group_arns for k, v in self.load_balancers_of([arn]).items()}
            raise SignalUnavailable(f"DescribeTargetGroups: {error_code(exc)}") from exc
        return {str(g["TargetGroupArn"]): [str(a) for a in g.get("LoadBalancerArns", [])] for g in groups}

    def alias_target(self, load_balancer_arn: str) -> dict[str, str]:
        """DNSName and CanonicalHostedZoneId, for an alias record to the ALB."""
        try:
            lb = self._elb.describe_load_balancers(LoadBalancerArns=[load_balancer_arn])["LoadBalancers"][0]
        except (ClientError, IndexError) as exc:
            raise RouteNotFound(f"load balancer {load_balancer_arn} not found") from exc
        return {"DNSName": lb["DNSName"], "CanonicalHostedZoneId": lb["CanonicalHostedZoneId"]}
