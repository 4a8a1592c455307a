"""Route 53: the weighted record pair. The only module that writes DNS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from weightshift.adapters.aws import error_code
from weightshift.errors import PriorRequestNotComplete, Route53Throttled, RouteNotFound, SignalUnavailable
from weightshift.models import SideSpec, Weights, normalize_record_name
from weightshift.ownership import OWNER_TTL_SECONDS, Owner, owner_record_name, owner_value, parse_owner

ALIAS_TTL_SECONDS = 60
# The record types of a weighted pair Weightshift accepts and rewrites (UPSERT keeps the
# pair's own type; a pair it creates is A). The template's IAM condition
# route53:ChangeResourceRecordSetsRecordTypes lists exactly these (tests/unit/test_template_iam.py).
PAIR_RECORD_TYPES = ("A", "AAAA", "CNAME")


@dataclass(frozen=True)
class RecordPair:
    """The two weighted records of one route, exactly as Route 53 returned them."""

    blue: dict[str, Any]
    green: dict[str, Any]

    @property
    def weights(self) -> Weights:
        return Weights(blue=int(self.blue["Weight"]), green=int(self.green["Weight"]))

    @property
    def ttl_seconds(self) -> int:
        ttls = [int(r["TTL"]) if "TTL" in r else ALIAS_TTL_SECONDS for r in (self.blue, self.green)]
        return max(ttls)


def _raise_domain(exc: ClientError, what: str) -> None:
    code = error_code(exc)
    if code == "Throttling":
        raise Route53Throttled(f"Route 53 throttled {what}") from exc
    if code == "PriorRequestNotComplete":
        raise PriorRequestNotComplete(f"Route 53 is still applying an earlier change ({what})") from exc
    if code in ("NoSuchHostedZone", "InvalidInput", "InvalidChangeBatch"):
        raise RouteNotFound(f"{what}: {exc.response['Error'].get('Message', code)}") from exc


class Route53:
    def __init__(self, client: Any) -> None:
        self._r53 = client

    def check_zone(self, hosted_zone_id: str, record_name: str) -> None:
        try:
            zone = self._r53.get_hosted_zone(Id=hosted_zone_id)["HostedZone"]
        except ClientError as exc:
            if error_code(exc) == "NoSuchHostedZone":
                raise RouteNotFound(f"hosted zone {hosted_zone_id} does not exist") from exc
            _raise_domain(exc, "reading the hosted zone")
            raise
        zone_name = normalize_record_name(zone["Name"])
        name = normalize_record_name(record_name)
        if name != zone_name and not name.endswith("." + zone_name):
            raise RouteNotFound(f"record {name} is not inside hosted zone {zone_name} ({hosted_zone_id})")

    def zone_name(self, hosted_zone_id: str) -> str | None:
        """The zone's name (``example.com.``), or None when there is no such zone."""
        try:
            return normalize_record_name(self._r53.get_hosted_zone(Id=hosted_zone_id)["HostedZone"]["Name"])
        except ClientError as exc:
            if error_code(exc) in ("NoSuchHostedZone", "InvalidInput"):
                return None
            _raise_domain(exc, "reading the hosted zone")
            raise

    def owner(self, hosted_zone_id: str, record_name: str) -> Owner | None:
        """Who the ownership record beside ``record_name`` names; None when there is none."""
        name = owner_record_name(record_name)
        try:
            page = self._r53.list_resource_record_sets(
                HostedZoneId=hosted_zone_id, StartRecordName=name, StartRecordType="TXT", MaxItems="1"
            )
        except ClientError as exc:
            _raise_domain(exc, "reading the ownership record")
            raise
        for record in page["ResourceRecordSets"]:
            if normalize_record_name(record["Name"]) == name and record["Type"] == "TXT":
                return parse_owner([str(r["Value"]) for r in record.get("ResourceRecords", [])])
        return None

    def claim(self, hosted_zone_id: str, record_name: str, stack_id: str) -> bool:
        """Write the ownership record naming ``stack_id``. CREATE, so that of two stacks
        claiming at once exactly one wins: False when a record is already there."""
        return self._owner_change("CREATE", hosted_zone_id, record_name, stack_id)

    def release(self, hosted_zone_id: str, record_name: str, stack_id: str) -> bool:
        """Delete the ownership record only if it still names ``stack_id`` (a DELETE must
        give the current value exactly): False when it names another owner or is gone."""
        return self._owner_change("DELETE", hosted_zone_id, record_name, stack_id)

    def _owner_change(self, action: str, hosted_zone_id: str, record_name: str, stack_id: str) -> bool:
        record = {
            "Name": owner_record_name(record_name),
            "Type": "TXT",
            "TTL": OWNER_TTL_SECONDS,
            "ResourceRecords": [{"Value": owner_value(stack_id)}],
        }
        try:
            self._r53.change_resource_record_sets(
                HostedZoneId=hosted_zone_id,
                ChangeBatch={
                    "Comment": f"weightshift: {action.lower()} the ownership of {record_name}",
                    "Changes": [{"Action": action, "ResourceRecordSet": record}],
                },
            )
        except ClientError as exc:
            if error_code(exc) == "InvalidChangeBatch":  # already exists / not found / other value
                return False
            _raise_domain(exc, f"changing the ownership record of {record_name}")
            raise
        return True

    def records_named(self, hosted_zone_id: str, record_name: str) -> list[dict[str, Any]]:
        name = normalize_record_name(record_name)
        found: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"HostedZoneId": hosted_zone_id, "StartRecordName": name}
        try:
            while True:
                page = self._r53.list_resource_record_sets(**kwargs)
                for record in page["ResourceRecordSets"]:
                    if normalize_record_name(record["Name"]) != name:
                        return found
                    found.append(record)
                if not page.get("IsTruncated"):
                    return found
                kwargs.update(
                    StartRecordName=page["NextRecordName"],
                    StartRecordType=page["NextRecordType"],
                )
                if "NextRecordIdentifier" in page:
                    kwargs["StartRecordIdentifier"] = page["NextRecordIdentifier"]
        except ClientError as exc:
            _raise_domain(exc, "listing records")
            raise

    def find_pair(self, hosted_zone_id: str, record_name: str, blue_id: str, green_id: str) -> RecordPair | None:
        """The weighted pair, or None if neither record exists yet.

        Raises RouteNotFound when the name is used by something that is not
        exactly our weighted pair (a simple record, only one side, mixed types).
        """
        records = self.records_named(hosted_zone_id, record_name)
        name = normalize_record_name(record_name)
        by_id = {r.get("SetIdentifier"): r for r in records if r["Type"] in PAIR_RECORD_TYPES}
        blue, green = by_id.get(blue_id), by_id.get(green_id)
        if blue is None and green is None:
            plain = [r for r in records if r["Type"] in PAIR_RECORD_TYPES]
            if plain:
                kinds = ", ".join(f"{r['Type']} {r.get('SetIdentifier', '(no SetIdentifier)')}" for r in plain)
                raise RouteNotFound(
                    f"{name} already has records that are not the weighted pair "
                    f"{blue_id!r}/{green_id!r}: {kinds}. Remove them or set the SetIdentifier parameters."
                )
            return None
        if blue is None or green is None:
            missing = blue_id if blue is None else green_id
            raise RouteNotFound(f"{name}: the weighted record {missing!r} is missing; only one side of the pair exists")
        for record in (blue, green):
            if "Weight" not in record:
                raise RouteNotFound(
                    f"{name} record {record.get('SetIdentifier')!r} is not a weighted record (no Weight)"
                )
        if blue["Type"] != green["Type"]:
            raise RouteNotFound(f"{name}: the pair mixes record types {blue['Type']} and {green['Type']}")
        return RecordPair(blue=blue, green=green)

    def change_weights(self, pair: RecordPair, weights: Weights, hosted_zone_id: str, comment: str) -> str:
        """Set both weights in one atomic batch, changing only ``Weight``. Returns the change id."""
        changes = []
        for record, weight in ((pair.blue, weights.blue), (pair.green, weights.green)):
            changes.append({"Action": "UPSERT", "ResourceRecordSet": {**record, "Weight": weight}})
        return self._submit(hosted_zone_id, changes, comment)

    def create_pair(
        self,
        hosted_zone_id: str,
        record_name: str,
        sides: dict[str, tuple[SideSpec, dict[str, str]]],
        weights: Weights,
        comment: str,
    ) -> str:
        """Create the weighted pair as alias A records to the two ALBs."""
        changes = []
        for color, (side, alb) in sides.items():
            changes.append(
                {
                    "Action": "CREATE",
                    "ResourceRecordSet": {
                        "Name": normalize_record_name(record_name),
                        "Type": "A",
                        "SetIdentifier": side.set_identifier,
                        "Weight": weights.of("blue" if color == "blue" else "green"),
                        "AliasTarget": {
                            "HostedZoneId": alb["CanonicalHostedZoneId"],
                            "DNSName": alb["DNSName"],
                            "EvaluateTargetHealth": True,
                        },
                    },
                }
            )
        return self._submit(hosted_zone_id, changes, comment)

    def _submit(self, hosted_zone_id: str, changes: list[dict[str, Any]], comment: str) -> str:
        try:
            resp = self._r53.change_resource_record_sets(
                HostedZoneId=hosted_zone_id, ChangeBatch={"Comment": comment[:256], "Changes": changes}
            )
        except ClientError as exc:
            _raise_domain(exc, "changing weights")
            raise
        return str(resp["ChangeInfo"]["Id"]).split("/")[-1]

    def change_status(self, change_id: str) -> str:
        try:
            return str(self._r53.get_change(Id=change_id)["ChangeInfo"]["Status"])
        except ClientError as exc:
            _raise_domain(exc, "reading the change status")
            raise

    def health_check_exists(self, health_check_id: str) -> bool:
        """False only when Route 53 says there is no such check (any other error raises;
        a throttle as Route53Throttled, which the workflow retries with backoff)."""
        try:
            self._r53.get_health_check_status(HealthCheckId=health_check_id)
        except ClientError as exc:
            if error_code(exc) == "NoSuchHealthCheck":
                return False
            if error_code(exc) == "Throttling":
                raise Route53Throttled(f"Route 53 throttled GetHealthCheckStatus {health_check_id}") from exc
            raise SignalUnavailable(f"Route 53 health check {health_check_id}: {error_code(exc)}") from exc
        return True

    def health_check_healthy_fraction(self, health_check_id: str) -> float:
        try:
            obs = self._r53.get_health_check_status(HealthCheckId=health_check_id)["HealthCheckObservations"]
        except ClientError as exc:
            raise SignalUnavailable(f"Route 53 health check {health_check_id}: {error_code(exc)}") from exc
        if not obs:
            raise SignalUnavailable(f"Route 53 health check {health_check_id} has no observations yet")
        healthy = sum(1 for o in obs if str(o.get("StatusReport", {}).get("Status", "")).startswith("Success"))
        return healthy / len(obs)
