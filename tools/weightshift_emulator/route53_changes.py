"""Route 53 ChangeResourceRecordSets as Route 53 validates it: the emulator's own
``Route53Backend.change_resource_record_sets``, installed by :func:`patches.install`.

moto 5.2.5 is kinder than Route 53 here, and Weightshift relies on exactly what it
gets wrong: a CREATE is how a missing weighted pair is created so that two concurrent
creators cannot both win, and an ownership claim (a TXT record) is taken with CREATE
and released with a DELETE of the exact value, so a stack can only release a claim
that still names it. moto
- adds a duplicate on a CREATE of a record set that exists (it only refuses an
  identical repeat of an earlier change, from its journal of changes);
- deletes by name (and type) whatever the values, and a DELETE with a SetIdentifier
  deletes every record set with that SetIdentifier in the zone, whatever its name;
  a DELETE of a record set that does not exist succeeds;
- applies a batch change by change, so a batch whose third change is invalid leaves
  the first two applied;
- compares names case-sensitively (``A.Example.com`` is "not permitted in zone
  example.com") and a name is "in" a zone when it merely ends with the zone's text.

What Route 53 does, each rule with its source beside the code below:
- a batch is validated as a whole against the zone, change after change (a DELETE
  then a CREATE of the same record set is the documented way to replace one), and
  either every change is made or none;
- every invalid change gives one message; the error is ``InvalidChangeBatch`` (HTTP
  400) whose message lists them all: ``[first, second]``;
- a record set is identified by its name (case-insensitive, trailing dot optional),
  type and SetIdentifier; CREATE of one that exists, DELETE of one that does not
  exist or whose values differ from the current ones, and a second change to the
  same record set in the batch (other than DELETE then CREATE) are refused.

Performance (this runs thousands of times in a simulation): validate first, then
apply. One pass over the zone's records finds the record sets the batch names (each
record keeps its normalized name, so the pass lowers nothing twice); a valid batch
then binds a shallow copy of the zone's list with those entries replaced or removed.
Nothing is copied deeply, and moto's journal of every change (which it deep-copies
and searches on each call, so its cost grows with the zone's history) is no longer
kept. A module lock makes validate-then-apply atomic across threads (the in-process
engine and the threaded moto server both change zones concurrently).

Not modelled, so still kinder than Route 53: the rules between routing policies (a
weighted record set where a non-weighted one of the same name and type exists,
weighted sets with different TTLs: "cannot be created as a non-weighted set exists",
"weighted sets must contain the same TTL"); a CNAME beside another type at the same
name; alias targets that do not exist or lie outside their zone; deleting the zone's
SOA or NS; the character-string length limits of TXT values. Not modelled either: the
escape codes Route 53 stores for characters such as ``*`` (``\\052``).
Possibly harsher than Route 53 (not known either way, so the harsher choice): a DELETE
must repeat every value, MultiValueAnswer and HealthCheckId included (moto's own
maintainers relaxed that for MultiValueAnswer, https://github.com/getmoto/moto/pull/7153,
from what Terraform sends, not from a Route 53 answer); values are compared as exact
strings; a batch that changes one record set twice is refused unless it is DELETE
then CREATE.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

import moto.route53.models as r53_models
from moto.route53.exceptions import InvalidActionValue, InvalidInput, Route53ClientError
from moto.route53.utils import validate_domain_name

_LOCK = threading.Lock()
_ORIGINAL: dict[str, Callable[..., Any]] = {}

Key = tuple[str, str, str | None]  # (normalized name, type, SetIdentifier)


class InvalidChangeBatch(Route53ClientError):  # type: ignore[misc]  # moto ships no type hints
    """Route 53's answer to an invalid batch: code ``InvalidChangeBatch``, HTTP 400, one
    message per invalid change. The SDK shows them as the error's message, in brackets
    and separated by ", ", e.g. ``An error occurred (InvalidChangeBatch) when calling the
    ChangeResourceRecordSets operation: [Tried to create resource record set
    [name='x.example.com.', type='CNAME'] but it already exists]``, and for two:
    ``InvalidChangeBatch: [Tried to create resource record set [name='a.example.com.',
    type='TXT'] but it already exists, Tried to create resource record set
    [name='b.example.com.', type='TXT'] but it already exists]``
    (https://github.com/kubernetes-sigs/external-dns/issues/5939,
    https://github.com/hashicorp/terraform-provider-aws/issues/7918): Route 53 sends them
    joined in the ErrorResponse's one ``Message``. The API model gives InvalidChangeBatch a
    ``messages`` list too (botocore's route53 service-2.json), but no Route 53 answer seen
    has one (the raw bodies in https://github.com/boto/boto/issues/2887 and
    https://github.com/barnybug/cli53/issues/81 carry ``Code`` and ``Message`` only), so
    none is sent here: a caller must read ``Error.Message``, as it must on AWS. (moto
    would serialize an attribute named ``messages`` into the body; this class sets none.)"""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("InvalidChangeBatch", "[" + ", ".join(messages) + "]")


# --------------------------------------------------------------------- names
def normalize_name(name: str) -> str:
    """Route 53's form of a name. "Amazon Route 53 stores alphabetic characters as
    lowercase letters (a-z), regardless of how you specify them"
    (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/DomainNameFormat.html), and
    "Route 53 treats www.example.com (without a trailing dot) and www.example.com. (with a
    trailing dot) as identical" (ResourceRecordSet, Name:
    https://docs.aws.amazon.com/Route53/latest/APIReference/API_ResourceRecordSet.html)."""
    name = name.lower()
    return name if name.endswith(".") else name + "."


def _key(name: str, type_: str | None, set_identifier: str | None) -> Key:
    return normalize_name(name), str(type_), set_identifier


def _record_key(record: Any) -> Key:
    """A stored record set's key; its normalized name is kept on it (a batch looks at every
    record set of the zone, and lowering each name again costs more than the rest)."""
    cached = record.__dict__.get("_weightshift_name")
    if cached is None or cached[0] is not record.name:
        cached = record._weightshift_name = (record.name, normalize_name(record.name))
    return cached[1], str(record.type), record.set_identifier


def _describe(key: Key) -> str:
    """``[name='x.example.com.', type='TXT']``; with a SetIdentifier,
    ``[name='geo.mydomain.com.', type='A', set-identifier='Default']``
    (https://github.com/barnybug/cli53/issues/317, a CREATE's message, 2021). A DELETE's
    names the set the same way (https://github.com/barnybug/cli53/issues/70, 2013, shows
    ``set-identifier='srv1]`` without the closing quote; the newer form is used). The name
    is Route 53's form of it (lowercase, trailing dot)."""
    name, type_, set_identifier = key
    if set_identifier is None:
        return f"[name='{name}', type='{type_}']"
    return f"[name='{name}', type='{type_}', set-identifier='{set_identifier}']"


# ------------------------------------------------------------------- messages
def _already_exists(key: Key) -> str:
    # https://github.com/kubernetes-sigs/external-dns/issues/5939 (TXT),
    # https://github.com/barnybug/cli53/issues/317 (with a SetIdentifier)
    return f"Tried to create resource record set {_describe(key)} but it already exists"


def _not_found(key: Key) -> str:
    # https://github.com/boto/boto/issues/2887 (the raw ErrorResponse),
    # https://github.com/barnybug/cli53/issues/70 (with a SetIdentifier)
    return f"Tried to delete resource record set {_describe(key)} but it was not found"


def _values_differ(key: Key) -> str:
    # https://github.com/kubernetes-sigs/external-dns/issues/732,
    # https://github.com/hashicorp/terraform/issues/18509
    return (
        f"Tried to delete resource record set {_describe(key)} but the values provided do not match the current values"
    )


def _invalid_set_of_changes(key: Key) -> str:
    """Two changes to one record set in a batch: "The request contains an invalid set of
    changes for a resource record set 'CNAME ds01.dev.isi.artirix.com.'"
    (https://github.com/barnybug/cli53/issues/81, the raw ErrorResponse;
    https://github.com/schwamster/serverless-certificate-creator/issues/28, the same
    validation record written twice in one batch). Whether Route 53 adds the
    SetIdentifier here is not known; it is left out."""
    name, type_, _ = key
    return f"The request contains an invalid set of changes for a resource record set '{type_} {name}'"


def _not_in_zone(name: str, zone_name: str) -> str:
    # moto's DnsNameInvalidForZone text, kept (InvalidChangeBatch, as on AWS).
    return f"RRSet with DNS name {name} is not permitted in zone {zone_name}"


def _unquoted_txt(value: str) -> str:
    """A TXT (or SPF) value must be one or more strings in double quotation marks
    (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/ResourceRecordTypes.html#TXTFormat);
    an unquoted one is refused: "[Invalid Resource Record: 'FATAL problem:
    InvalidCharacterString (Value should be enclosed in quotation marks) encountered with
    'ccEesV+N/LXO1MqHmXVUuRcsggM1TwsoxNuHrB1T10E='']"
    (https://github.com/binxio/cfn-ses-provider/issues/21; the same without the outer
    quotes in https://github.com/redhat-cop/infra-ansible/issues/376)."""
    return (
        "Invalid Resource Record: 'FATAL problem: InvalidCharacterString "
        f"(Value should be enclosed in quotation marks) encountered with '{value}''"
    )


# One or more character-strings, each in double quotation marks, with \" and \\ escaped inside.
_QUOTED_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"(?:\s*"(?:[^"\\]|\\.)*")*')


# -------------------------------------------------------------------- values
def _values(change_set: dict[str, Any]) -> list[str]:
    return [str(r["Value"]) if isinstance(r, dict) else str(r) for r in change_set.get("ResourceRecords") or []]


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def _alias(target: dict[str, Any] | None) -> tuple[str, str, bool] | None:
    """An alias target as Route 53 compares it. DNSName: Route 53 returns it lowercase and
    with a trailing dot whatever was sent (https://github.com/ansible/ansible/issues/29858,
    https://github.com/aws-controllers-k8s/community/issues/2982), and the API reference
    says a DELETE must "specify all the same values that you specified when you created
    it", so the name is compared in that normalized form; a ``dualstack.`` prefix is part
    of the name (a different target: https://github.com/hashicorp/terraform-provider-aws/pull/10672).
    HostedZoneId and EvaluateTargetHealth: as sent."""
    if not target:
        return None
    return (
        str(target.get("HostedZoneId", "")),
        normalize_name(str(target.get("DNSName", ""))),
        str(target.get("EvaluateTargetHealth", False)).lower() == "true",
    )


def _current_values(record: Any) -> tuple[Any, ...]:
    return (
        _int_or_none(record.ttl),
        sorted(str(v) for v in record.records or []),
        _int_or_none(record.weight),
        record.region,
        record.failover,
        record.geo_location or None,
        record.health_check_id,
        record.multi_value_answer,
        _alias(record.alias_target),
    )


def _requested_values(change_set: dict[str, Any]) -> tuple[Any, ...]:
    """The values of a DELETE, to compare with :func:`_current_values`. "To delete a
    resource record set, you must specify all the same values that you specified when
    you created it" (ChangeResourceRecordSets,
    https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeResourceRecordSets.html).
    Every value is compared, a value given against one absent (or the reverse) included.
    The values of ResourceRecords are a set (RFC 2181, 5: an RRSet's records are
    unordered), compared as the exact strings: Route 53 keeps a TXT value as it was sent,
    quotes included."""
    return (
        _int_or_none(change_set.get("TTL")),
        sorted(_values(change_set)),
        _int_or_none(change_set.get("Weight")),
        change_set.get("Region"),
        change_set.get("Failover"),
        change_set.get("GeoLocation") or None,
        change_set.get("HealthCheckId"),
        change_set.get("MultiValueAnswer"),
        _alias(change_set.get("AliasTarget")),
    )


# ------------------------------------------------------------------ requests
def _check_shape(action: str, change_set: dict[str, Any]) -> None:
    """Request validation, before any change is looked at against the zone: InvalidInput,
    the whole request refused. "Invalid request: Expected exactly one of [AliasTarget, all
    of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found none in Change
    with [Action=DELETE, Name=svc.test.co., Type=A, SetIdentifier=repl-0]"
    (https://github.com/localstack/localstack/issues/9335,
    https://github.com/ansible-collections/community.aws/issues/800). An alias target may
    not come with a TTL or values ("If you're creating an alias resource record set, omit
    TTL", API_ResourceRecordSet); the text for that case is not known, so the same
    template says "more than one"."""
    if action not in ("CREATE", "UPSERT", "DELETE"):
        raise InvalidActionValue(action)
    alias = bool(change_set.get("AliasTarget"))
    plain = change_set.get("TTL") is not None and bool(change_set.get("ResourceRecords"))
    partial = change_set.get("TTL") is not None or bool(change_set.get("ResourceRecords"))
    traffic = bool(change_set.get("TrafficPolicyInstanceId"))
    found = sum((alias, plain, traffic))
    if found == 1 and not (alias and partial):
        return
    where = (
        f"Change with [Action={action}, Name={normalize_name(str(change_set.get('Name', '')))}, "
        f"Type={change_set.get('Type')}, SetIdentifier={change_set.get('SetIdentifier') or 'null'}]"
    )
    expected = "Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId]"
    raise InvalidInput(f"Invalid request: {expected}, but found {'none' if found == 0 else 'more than one'} in {where}")


def _in_zone(name: str, zone_name: str) -> bool:
    return name == zone_name or name.endswith("." + zone_name)


def _new_record(change_set: dict[str, Any], name: str) -> Any:
    stored = {k: v for k, v in change_set.items() if k != "ResourceRecords"}
    stored["Name"] = name  # as Route 53 stores it: lowercase, trailing dot
    if "ResourceRecords" in change_set:
        stored["ResourceRecords"] = _values(change_set)  # moto's RecordSet keeps the bare values
    return r53_models.RecordSet(stored)


# --------------------------------------------------------------------- batch
def change_resource_record_sets(self: Any, zoneid: str, change_list: list[dict[str, Any]]) -> None:
    """Validate the whole batch against the zone, then apply all of it, or raise and change nothing."""
    zone = self.get_hosted_zone(zoneid)  # NoSuchHostedZone
    for change in change_list:
        change_set = change["ResourceRecordSet"]
        validate_domain_name(change_set["Name"], code="InvalidChangeBatch")
        _check_shape(change["Action"], change_set)
    changes = [(c["Action"], c["ResourceRecordSet"]) for c in change_list]
    keys = [_key(cs["Name"], cs.get("Type"), cs.get("SetIdentifier")) for _, cs in changes]

    # "If you try to delete the same resource record set more than once in a single change
    # batch, Route 53 returns an InvalidChangeBatch error" (API_ChangeResourceRecordSets),
    # and a record set written twice in a batch is refused as "an invalid set of changes"
    # (see _invalid_set_of_changes). The one sequence allowed is DELETE then CREATE, the
    # API reference's own example of replacing a record set in one transaction ("it deletes
    # the CNAME resource record set for www.example.com and creates an alias resource
    # record set for www.example.com"); Route 53 accepts it for the same name and type too
    # (https://github.com/octodns/octodns-route53/issues/96). Whether Route 53 allows any
    # other pair (CREATE then DELETE, DELETE then UPSERT) is not known: refused here.
    actions: dict[Key, list[str]] = {}
    for (action, _), key in zip(changes, keys, strict=True):
        actions.setdefault(key, []).append(action)
    repeated = [key for key, done in actions.items() if len(done) > 1 and done != ["DELETE", "CREATE"]]
    if repeated:
        raise InvalidChangeBatch([_invalid_set_of_changes(key) for key in repeated])

    zone_name = normalize_name(zone.name)
    with _LOCK:
        wanted = set(keys)
        rrsets = zone.rrsets
        current: dict[Key, Any] = {}
        matched: list[tuple[int, Key]] = []  # where the record sets the batch names are in the zone's list
        for index, record in enumerate(rrsets):  # the one pass over the zone
            key = _record_key(record)
            if key in wanted:
                current[key] = record  # of moto's duplicates (CloudFormation's add_rrset), the last
                matched.append((index, key))
        # Each change sees the zone as the changes before it in the batch left it.
        after: dict[Key, Any] = {}  # key -> the new RecordSet, or None for deleted
        messages: list[str] = []
        for (action, change_set), key in zip(changes, keys, strict=True):
            name = key[0]
            if not _in_zone(name, zone_name):
                messages.append(_not_in_zone(name, zone_name))
                continue
            existing = after[key] if key in after else current.get(key)
            if action == "DELETE":
                if existing is None:
                    messages.append(_not_found(key))
                elif _requested_values(change_set) != _current_values(existing):
                    messages.append(_values_differ(key))
                else:
                    after[key] = None
                continue
            if action == "CREATE" and existing is not None:
                messages.append(_already_exists(key))
                continue
            if key[1] in ("TXT", "SPF"):
                unquoted = [v for v in _values(change_set) if not _QUOTED_STRINGS.fullmatch(v)]
                if unquoted:
                    messages.extend(_unquoted_txt(v) for v in unquoted)
                    continue
            after[key] = _new_record(change_set, name)
        if messages:
            raise InvalidChangeBatch(messages)

        # Apply: one new list, bound in one step (a concurrent ListResourceRecordSets
        # sees the zone before the batch or after it). A replaced record set keeps its
        # place, as moto's upsert does.
        records = list(rrsets)
        placed: set[Key] = set()
        dropped: list[int] = []
        for index, key in matched:
            if key not in after:
                continue
            if after[key] is not None and key not in placed:
                records[index] = after[key]
                placed.add(key)
            else:
                dropped.append(index)
        for index in reversed(dropped):
            del records[index]
        records.extend(new for key, new in after.items() if new is not None and key not in placed)
        zone.rrsets = records


def install() -> None:
    """Replace moto's ChangeResourceRecordSets with Route 53's validation. Once per process."""
    if _ORIGINAL:
        return
    _ORIGINAL["change"] = r53_models.Route53Backend.change_resource_record_sets
    r53_models.Route53Backend.change_resource_record_sets = change_resource_record_sets
