"""One owner per record: the TXT ownership record beside the weighted pair.

external-dns proves ownership of the records it manages with a TXT "registry" record
beside each one, and a second owner leaves such a record alone (../shared/facts.md).
Weightshift does the same with one TXT record per route, ``_weightshift.<record>``,
whose value names the owning stack by its stack ARN (partition, region, account, name
and the stack's unique id): two stacks, regions or accounts that share the zone see
the same record. Route 53 makes the claim atomic: a CREATE of a record that already
exists fails the whole change batch, and a DELETE must give the current value exactly,
so a stack can only release a claim that still names it.

Pure functions only; adapters/route53.py reads and writes the record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from weightshift.models import normalize_record_name

OWNER_LABEL = "_weightshift"
OWNER_TTL_SECONDS = 300
_VALUE_RE = re.compile(r'^"heritage=weightshift,stack=(?P<stack>arn:[^"]+)"$')
STACK_ARN_RE = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):cloudformation:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):"
    r"stack/(?P<name>[A-Za-z][A-Za-z0-9-]*)/(?P<id>[A-Za-z0-9-]+)$"
)


def owner_record_name(record_name: str) -> str:
    """``_weightshift.app.example.com.``: inside the same zone as the record it claims."""
    return f"{OWNER_LABEL}.{normalize_record_name(record_name)}"


def owner_value(stack_id: str) -> str:
    """The TXT value (one quoted string, under TXT's 255 characters) naming the owner."""
    return f'"heritage=weightshift,stack={stack_id}"'


@dataclass(frozen=True)
class Owner:
    """What the ownership record says. ``stack_id`` is empty when the TXT record at that
    name was not written by Weightshift (``raw`` keeps what it says)."""

    stack_id: str
    raw: str

    def describe(self) -> str:
        match = STACK_ARN_RE.match(self.stack_id)
        if match is None:
            return f"something other than Weightshift (its TXT record says {self.raw})"
        return f"stack {match['name']} in account {match['account']}, region {match['region']}"


def parse_owner(values: list[str]) -> Owner:
    """The owner named by a TXT record's values."""
    for value in values:
        match = _VALUE_RE.match(value.strip())
        if match is not None:
            return Owner(stack_id=match["stack"], raw=value)
    return Owner(stack_id="", raw=" ".join(values))


def not_owned_reason(record_name: str, owner: Owner | None) -> str:
    """Why this stack may not write the record, for a person."""
    name = normalize_record_name(record_name).rstrip(".")
    txt = owner_record_name(record_name)
    if owner is None:
        return (
            f"{name} is not claimed by this stack: its ownership record {txt} TXT is missing "
            "(deleted by hand?). Weightshift does not take a record over silently; "
            "run sam deploy for this stack to claim it again"
        )
    return (
        f"{name} is managed by {owner.describe()} (ownership record {txt} TXT). "
        "One record has one owner: delete that stack, or point this one at another record "
        "(if that stack no longer exists, delete the TXT record by hand)"
    )
