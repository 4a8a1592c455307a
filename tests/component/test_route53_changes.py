"""ChangeResourceRecordSets as Route 53 validates it (tools/weightshift_emulator/route53_changes.py),
through boto3, in-process and through a moto server on 127.0.0.1.

What Weightshift relies on: a CREATE of a record set that exists is refused (two creators
cannot both win), a DELETE must name the current values (a stack can only release a claim
that still names it), and a batch is all or nothing.
"""

from __future__ import annotations

import re
import socket
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.server import ThreadedMotoServer
from weightshift_emulator.world import clients

HOST = "127.0.0.1"
ZONE = "example.com"
CLAIM = "_weightshift.shop.example.com."
ALB_ZONE = "Z35SXDOTRQ7X7K"
ALB = "shop-blue-1234567890.us-east-1.elb.amazonaws.com"
# Where one message ends and the next begins in "[a, b]" (a message has ", " inside it too).
_MESSAGE_START = re.compile(r", (?=Tried to |The request contains |RRSet with |Invalid Resource Record)")


def make_zone(r53: Any) -> str:
    return str(r53.create_hosted_zone(Name=ZONE, CallerReference=f"r53-changes-{uuid.uuid4()}")["HostedZone"]["Id"])


def txt(action: str, value: str, name: str = CLAIM, ttl: int = 60) -> dict[str, Any]:
    return {
        "Action": action,
        "ResourceRecordSet": {"Name": name, "Type": "TXT", "TTL": ttl, "ResourceRecords": [{"Value": value}]},
    }


def weighted(action: str, ident: str, weight: int, name: str = "shop.example.com.", **alias: Any) -> dict[str, Any]:
    target = {"HostedZoneId": ALB_ZONE, "DNSName": ALB, "EvaluateTargetHealth": True, **alias}
    return {
        "Action": action,
        "ResourceRecordSet": {
            "Name": name,
            "Type": "A",
            "SetIdentifier": ident,
            "Weight": weight,
            "AliasTarget": target,
        },
    }


def change(r53: Any, zone: str, *changes: dict[str, Any]) -> None:
    r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": list(changes)})


def refused(r53: Any, zone: str, *changes: dict[str, Any]) -> list[str]:
    """The messages of the InvalidChangeBatch the batch gets (fails if it is accepted)."""
    with pytest.raises(ClientError) as caught:
        change(r53, zone, *changes)
    error = caught.value.response
    assert error["Error"]["Code"] == "InvalidChangeBatch"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "messages" not in error  # Route 53 sends the list only as the one Message, "[a, b]"
    text = error["Error"]["Message"]
    assert text.startswith("[")
    assert text.endswith("]")
    return _MESSAGE_START.split(text[1:-1])


def records(r53: Any, zone: str) -> list[dict[str, Any]]:
    found = r53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    return [r for r in found if r["Type"] not in ("NS", "SOA")]


def claim_values(r53: Any, zone: str) -> list[str]:
    return [v["Value"] for r in records(r53, zone) if r["Name"] == CLAIM for v in r["ResourceRecords"]]


@pytest.fixture(scope="module")
def r53() -> Iterator[Any]:
    """One in-process moto for the module (starting one per test costs ~0.3 s); each test
    has a zone of its own."""
    with mock_aws():
        yield clients()["route53"]


@pytest.fixture
def zone(r53: Any) -> str:
    return make_zone(r53)


# ------------------------------------------------------------------- CREATE
def test_create_of_an_existing_txt_with_another_value_is_refused_and_the_zone_is_unchanged(r53: Any, zone: str) -> None:
    change(r53, zone, txt("CREATE", '"owner=stack-a"'))
    before = records(r53, zone)

    messages = refused(r53, zone, txt("CREATE", '"owner=stack-b"'))

    assert messages == [f"Tried to create resource record set [name='{CLAIM}', type='TXT'] but it already exists"]
    assert records(r53, zone) == before
    assert claim_values(r53, zone) == ['"owner=stack-a"']


def test_create_of_an_existing_weighted_record_is_refused_naming_its_set_identifier(r53: Any, zone: str) -> None:
    change(r53, zone, weighted("CREATE", "blue", 100))

    messages = refused(r53, zone, weighted("CREATE", "blue", 0))

    assert messages == [
        "Tried to create resource record set [name='shop.example.com.', type='A', set-identifier='blue'] "
        "but it already exists"
    ]
    assert [r["Weight"] for r in records(r53, zone)] == [100]


def test_create_of_a_second_weighted_record_with_another_set_identifier_is_allowed(r53: Any, zone: str) -> None:
    change(r53, zone, weighted("CREATE", "blue", 100))
    change(r53, zone, weighted("CREATE", "green", 0))

    assert sorted((r["SetIdentifier"], r["Weight"]) for r in records(r53, zone)) == [("blue", 100), ("green", 0)]


def test_names_are_compared_without_case_and_with_the_trailing_dot(r53: Any, zone: str) -> None:
    change(r53, zone, txt("CREATE", '"a"', name="_Weightshift.Shop.Example.COM"))

    assert claim_values(r53, zone) == ['"a"']  # stored as Route 53 stores names: lowercase, trailing dot
    assert refused(r53, zone, txt("CREATE", '"b"')) == [
        f"Tried to create resource record set [name='{CLAIM}', type='TXT'] but it already exists"
    ]
    change(r53, zone, txt("DELETE", '"a"', name="_weightshift.shop.example.com"))
    assert claim_values(r53, zone) == []


def test_an_unquoted_txt_value_is_refused(r53: Any, zone: str) -> None:
    messages = refused(r53, zone, txt("CREATE", "owner=stack-a"))

    assert messages == [
        "Invalid Resource Record: 'FATAL problem: InvalidCharacterString "
        "(Value should be enclosed in quotation marks) encountered with 'owner=stack-a''"
    ]
    change(r53, zone, txt("CREATE", '"owner=" "stack-a"'))  # several quoted strings are one value
    assert claim_values(r53, zone) == ['"owner=" "stack-a"']


def test_a_name_outside_the_zone_is_refused(r53: Any, zone: str) -> None:
    assert refused(r53, zone, txt("CREATE", '"x"', name="_weightshift.notexample.com.")) == [
        "RRSet with DNS name _weightshift.notexample.com. is not permitted in zone example.com."
    ]


# ------------------------------------------------------------------- DELETE
def test_delete_with_another_value_is_refused_and_the_record_kept(r53: Any, zone: str) -> None:
    change(r53, zone, txt("CREATE", '"owner=stack-a"'))

    for stale in (txt("DELETE", '"owner=stack-b"'), txt("DELETE", '"owner=stack-a"', ttl=300)):
        assert refused(r53, zone, stale) == [
            f"Tried to delete resource record set [name='{CLAIM}', type='TXT'] "
            "but the values provided do not match the current values"
        ]
    assert claim_values(r53, zone) == ['"owner=stack-a"']

    change(r53, zone, txt("DELETE", '"owner=stack-a"'))
    assert claim_values(r53, zone) == []


def test_delete_of_a_missing_record_is_refused(r53: Any, zone: str) -> None:
    assert refused(r53, zone, txt("DELETE", '"owner=stack-a"')) == [
        f"Tried to delete resource record set [name='{CLAIM}', type='TXT'] but it was not found"
    ]
    assert refused(r53, zone, weighted("DELETE", "blue", 100)) == [
        "Tried to delete resource record set [name='shop.example.com.', type='A', set-identifier='blue'] "
        "but it was not found"
    ]


def test_delete_of_a_weighted_record_removes_only_that_names_record_with_that_set_identifier(
    r53: Any, zone: str
) -> None:
    change(
        r53,
        zone,
        weighted("CREATE", "blue", 100),
        weighted("CREATE", "green", 0),
        weighted("CREATE", "blue", 100, name="api.example.com."),
    )

    change(r53, zone, weighted("DELETE", "blue", 100))

    assert sorted((r["Name"], r["SetIdentifier"]) for r in records(r53, zone)) == [
        ("api.example.com.", "blue"),
        ("shop.example.com.", "green"),
    ]


def test_delete_of_an_alias_compares_the_target(r53: Any, zone: str) -> None:
    change(r53, zone, weighted("CREATE", "blue", 100))
    mismatch = (
        "Tried to delete resource record set [name='shop.example.com.', type='A', set-identifier='blue'] "
        "but the values provided do not match the current values"
    )

    for stale in (
        weighted("DELETE", "blue", 50),  # another weight
        weighted("DELETE", "blue", 100, EvaluateTargetHealth=False),
        weighted("DELETE", "blue", 100, DNSName="dualstack." + ALB),  # another target name
        weighted("DELETE", "blue", 100, HostedZoneId="Z2FDTNDATAQYW2"),
    ):
        assert refused(r53, zone, stale) == [mismatch]
    assert len(records(r53, zone)) == 1

    change(r53, zone, weighted("DELETE", "blue", 100, DNSName=ALB.upper() + "."))  # as Route 53 returns it
    assert records(r53, zone) == []


# -------------------------------------------------------------------- batch
def test_a_batch_with_one_bad_change_applies_nothing(r53: Any, zone: str) -> None:
    change(r53, zone, txt("CREATE", '"owner=stack-a"'))
    before = records(r53, zone)

    messages = refused(
        r53,
        zone,
        weighted("CREATE", "blue", 100),
        weighted("CREATE", "green", 0),
        txt("DELETE", '"owner=stack-b"'),  # the claim names another stack
    )

    assert len(messages) == 1
    assert "do not match the current values" in messages[0]
    assert records(r53, zone) == before


def test_every_invalid_change_has_its_message(r53: Any, zone: str) -> None:
    change(r53, zone, weighted("CREATE", "blue", 100))

    messages = refused(r53, zone, weighted("CREATE", "blue", 100), txt("DELETE", '"x"'))

    assert messages == [
        "Tried to create resource record set [name='shop.example.com.', type='A', set-identifier='blue'] "
        "but it already exists",
        f"Tried to delete resource record set [name='{CLAIM}', type='TXT'] but it was not found",
    ]


def test_two_changes_to_one_record_set_in_a_batch_are_refused(r53: Any, zone: str) -> None:
    change(r53, zone, txt("CREATE", '"owner=stack-a"'))

    for pair in (
        (txt("UPSERT", '"b"'), txt("UPSERT", '"c"')),
        (txt("DELETE", '"owner=stack-a"'), txt("DELETE", '"owner=stack-a"')),
        (txt("CREATE", '"b"', name="_weightshift.api.example.com."),) * 2,
    ):
        messages = refused(r53, zone, *pair)
        assert len(messages) == 1
        assert messages[0].startswith("The request contains an invalid set of changes for a resource record set 'TXT ")
    assert claim_values(r53, zone) == ['"owner=stack-a"']


def test_delete_then_create_of_one_record_set_replaces_it(r53: Any, zone: str) -> None:
    change(r53, zone, txt("CREATE", '"owner=stack-a"'))

    change(r53, zone, txt("DELETE", '"owner=stack-a"'), txt("CREATE", '"owner=stack-b"'))

    assert claim_values(r53, zone) == ['"owner=stack-b"']


def test_upsert_still_creates_or_replaces(r53: Any, zone: str) -> None:
    change(r53, zone, weighted("UPSERT", "blue", 100), weighted("UPSERT", "green", 0))
    change(r53, zone, weighted("UPSERT", "blue", 40), weighted("UPSERT", "green", 60))

    assert [(r["SetIdentifier"], r["Weight"]) for r in records(r53, zone)] == [("blue", 40), ("green", 60)]


def test_a_change_without_values_is_invalid_input(r53: Any, zone: str) -> None:
    bare = {"Action": "DELETE", "ResourceRecordSet": {"Name": CLAIM, "Type": "TXT", "TTL": 60}}

    with pytest.raises(ClientError) as caught:
        change(r53, zone, bare)

    assert caught.value.response["Error"]["Code"] == "InvalidInput"
    assert caught.value.response["Error"]["Message"] == (
        "Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or "
        f"TrafficPolicyInstanceId], but found none in Change with [Action=DELETE, Name={CLAIM}, Type=TXT, "
        "SetIdentifier=null]"
    )


# ------------------------------------------------------------- moto server
def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served_r53() -> Iterator[Any]:
    """Route 53 through a moto server on 127.0.0.1 in this process (the patched backend)."""
    port = _free_port()
    server = ThreadedMotoServer(ip_address=HOST, port=port, verbose=False)
    server.start()
    endpoint = f"http://{HOST}:{port}"
    try:
        yield clients(endpoint)["route53"]
    finally:
        try:
            requests.post(f"{endpoint}/moto-api/reset", timeout=10)
        finally:
            server.stop()


def test_through_the_server_concurrent_creates_of_one_claim_have_one_winner(served_r53: Any) -> None:
    zone = make_zone(served_r53)
    go = threading.Event()

    def claim(stack: str) -> str:
        go.wait(10)
        try:
            change(served_r53, zone, txt("CREATE", f'"owner={stack}"'))
        except ClientError as exc:
            return str(exc.response["Error"]["Code"])
        return "won"

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = [pool.submit(claim, f"stack-{n}") for n in range(8)]
        go.set()
        answers = [result.result() for result in results]
    won = [n for n, answer in enumerate(answers) if answer == "won"]

    assert len(won) == 1
    assert sorted(answers) == ["InvalidChangeBatch"] * 7 + ["won"]
    assert claim_values(served_r53, zone) == [f'"owner=stack-{won[0]}"']
    assert refused(served_r53, zone, txt("DELETE", '"owner=someone-else"'))
