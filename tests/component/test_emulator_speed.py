"""The emulator's fast paths (speed.py) answer exactly as the code they shortcut.

Each test runs the original and the fast path on the same inputs and compares; a fast
path that changed an answer would make the emulator say something moto (and AWS)
would not.
"""

from __future__ import annotations

import json
from typing import Any

import botocore.useragent as botocore_useragent
import jsonpath_ng
import jsonpath_ng.ext
import moto.core.responses as moto_responses
import moto.core.serialize as moto_serialize
import moto.stepfunctions.parser.asl.component.common.path.result_path as sfn_result_path
import moto.stepfunctions.parser.asl.utils.json_path as sfn_json_path
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moto.core.utils import get_service_model
from weightshift_emulator import patches, speed

patches.install()

NAME = st.text(min_size=1, max_size=6)
NUMBER = st.integers(-(10**6), 10**6).map(str)
SCALAR = st.one_of(
    st.text(max_size=8).map(lambda s: {"S": s}),
    NUMBER.map(lambda n: {"N": n}),
    st.just({"NULL": True}),
    st.booleans().map(lambda b: {"BOOL": b}),
    st.lists(st.text(max_size=4), max_size=3, unique=True).map(lambda ss: {"SS": ss}),
    st.lists(NUMBER, max_size=3, unique=True).map(lambda ns: {"NS": ns}),
    # Not in wire form: the serializer's own path (binary is base64-encoded by it).
    st.binary(max_size=6).map(lambda b: {"B": b}),
    st.lists(st.binary(max_size=3), max_size=2).map(lambda bs: {"BS": bs}),
    st.integers(0, 9).map(lambda n: {"N": n}),  # a number moto holds as an int
)
ATTRIBUTE = st.recursive(
    SCALAR,
    lambda inner: st.one_of(
        st.dictionaries(NAME, inner, max_size=3).map(lambda m: {"M": m}),
        st.lists(inner, max_size=3).map(lambda items: {"L": items}),
    ),
    max_leaves=10,
)
ITEM = st.dictionaries(NAME, ATTRIBUTE, max_size=5)


def _serialize(operation: str, result: dict[str, Any], fast: bool) -> Any:
    operation_model = get_service_model("dynamodb").operation_model(operation)
    serializer_cls = moto_serialize.get_serializer_class("dynamodb", "json")
    serializer = serializer_cls(operation_model=operation_model, value_picker=moto_serialize.XFormedAttributePicker())
    structure = moto_serialize.BaseJSONSerializer
    installed = structure._serialize_type_structure
    if not fast:
        structure._serialize_type_structure = speed._ORIGINAL["structure"]  # type: ignore[method-assign]
    try:
        return json.loads(serializer.serialize(result)["body"])
    finally:
        structure._serialize_type_structure = installed  # type: ignore[method-assign]


@settings(max_examples=300, deadline=None)
@given(item=ITEM)
def test_a_get_item_answer_is_the_serializers_own(item: dict[str, Any]) -> None:
    result = {"Item": item, "ConsumedCapacity": {"TableName": "t", "CapacityUnits": 0.5}}
    assert _serialize("GetItem", result, fast=True) == _serialize("GetItem", result, fast=False)


@settings(max_examples=100, deadline=None)
@given(items=st.lists(ITEM, max_size=3), last=st.none() | ITEM)
def test_a_query_answer_is_the_serializers_own(items: list[dict[str, Any]], last: dict[str, Any] | None) -> None:
    result: dict[str, Any] = {"Items": items, "Count": len(items), "ScannedCount": len(items)}
    if last:
        result["LastEvaluatedKey"] = last
    assert _serialize("Query", result, fast=True) == _serialize("Query", result, fast=False)


def test_only_values_already_in_wire_form_take_the_fast_path() -> None:
    nested = {"M": {"a": {"L": [{"S": "x"}, {"N": "1"}, {"NULL": True}]}, "b": {"SS": ["p"]}}}
    assert speed.wire_attribute_value(nested) == nested
    for not_wire in ({"B": b"\x00"}, {"N": 1}, {"S": "x", "N": "1"}, {"M": {"a": {"B": "AA=="}}}, {"L": [{"X": "y"}]}):
        assert speed.wire_attribute_value(not_wire) is None


@pytest.mark.parametrize(
    "path", ["$", "$.detail", "$.route.recordName", "$.steps[0]", "$..name", "$.items[*].id", "$.a[?(@.b > 1)]"]
)
def test_a_jsonpath_parses_once_and_finds_the_same(path: str) -> None:
    data = {"detail": {"x": 1}, "route": {"recordName": "r"}, "steps": [5, 6], "items": [{"id": 1}], "a": [{"b": 2}]}
    assert sfn_json_path.parse(path) is sfn_json_path.parse(path)
    fresh = jsonpath_ng.ext.parse(path)
    assert [m.value for m in sfn_json_path.parse(path).find(data)] == [m.value for m in fresh.find(data)]
    if "?" not in path and ".." not in path:  # ResultPath uses the plain parser, on reference paths
        target = {"keep": True}
        expected = jsonpath_ng.parse(path).update_or_create(json.loads(json.dumps(target)), "v")
        assert sfn_result_path.parse(path).update_or_create(json.loads(json.dumps(target)), "v") == expected


def test_the_action_lookup_and_user_agent_give_what_the_originals_give() -> None:
    original_names = speed._ORIGINAL["method_names"]
    for cls in (moto_responses.BaseResponse, type("R", (moto_responses.BaseResponse,), {"get_item": lambda self: 1})):
        assert moto_responses.method_names_from_class(cls) == original_names(cls)
    original_sanitize = speed._ORIGINAL["sanitize"]
    for raw in ("Boto3/1.0", "md/Python#3.11 x", "ua/2.1 (é)"):
        for allow_hash in (True, False):
            assert botocore_useragent.sanitize_user_agent_string_component(raw, allow_hash) == original_sanitize(
                raw, allow_hash
            )


def _raise_nested(depth: int, chained: bool) -> None:
    if depth:
        _raise_nested(depth - 1, chained)
    _raise(chained)


def _raise(chained: bool) -> None:
    try:
        {}["missing"]
    except KeyError as err:
        if chained:
            raise ValueError("wrapped") from err
        raise


@pytest.mark.parametrize("depth", [0, 1, 2, 5])
@pytest.mark.parametrize("chained", [False, True])
def test_an_error_payloads_stack_trace_is_the_full_formattings_last_lines(depth: int, chained: bool) -> None:
    import traceback

    with pytest.raises((KeyError, ValueError)) as caught:
        _raise_nested(depth, chained)
    with pytest.raises((KeyError, ValueError)) as direct:
        _raise(chained)
    assert patches.stack_trace(direct.value) == traceback.format_exception(direct.value)[-3:]
    assert patches.stack_trace(caught.value) == traceback.format_exception(caught.value)[-3:]


def test_a_definition_is_kept_pickled_and_each_execution_gets_its_own_program() -> None:
    definition = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})
    first, second = patches.program_for(definition), patches.program_for(definition)
    assert isinstance(patches._PROGRAMS[definition], bytes)
    assert first is not second
    assert type(first) is type(second)
