"""Fast paths: the emulator's same answers, for less CPU (issue 8's budget).

Nothing here changes what any call answers; each entry replaces a pure computation
with a cached or shorter one, and ``tests/component/test_emulator_speed.py`` checks each
against the original on the same inputs. Installed by :func:`patches.install`.

- **DynamoDB attribute values.** moto's response serializer walks every
  ``AttributeValue`` through the service model: ten members a value, each looked up
  under several key spellings (~2.5 ms for one deployment record). An attribute value
  moto already holds in wire form (``S``, ``N``, ``SS``, ``NS``, ``NULL``, ``BOOL``,
  ``M``, ``L`` of those) serializes to itself; any other shape (a binary, an
  unexpected key or type) goes through the serializer, as before.
- **JSONPath parses.** moto's Step Functions engine parses each JSONPath string
  (``InputPath``, ``ResultPath``, every ``.$`` parameter) with a freshly built
  ply parser each time it evaluates it. A parsed path is an immutable expression
  tree: one parse per distinct string.
- **Response dispatch.** moto lists the response class's methods (``inspect.getmembers``)
  on every request to find the action. A class's methods do not change: listed once.
- **User-Agent.** botocore sanitizes each User-Agent component character by character
  on every request; the same component always sanitizes the same way: cached.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import botocore.useragent as botocore_useragent
import moto.core.responses as moto_responses
import moto.core.serialize as moto_serialize
import moto.stepfunctions.parser.asl.component.common.path.result_path as sfn_result_path
import moto.stepfunctions.parser.asl.utils.json_path as sfn_json_path

_ORIGINAL: dict[str, Any] = {}

# ------------------------------------------------------- DynamoDB attribute values
_SCALAR = frozenset({"S", "N"})
_STRING_SETS = frozenset({"SS", "NS"})
_FLAGS = frozenset({"NULL", "BOOL"})


def wire_attribute_value(value: Any) -> dict[str, Any] | None:
    """``value`` as the serializer would write it, when it is already in wire form; None
    when it is not (the serializer then handles it)."""
    if not isinstance(value, dict) or len(value) != 1:
        return None
    ((tag, inner),) = value.items()
    if tag in _SCALAR:
        return value if type(inner) is str else None
    if tag in _FLAGS:
        return value if type(inner) is bool else None
    if tag in _STRING_SETS:
        return value if type(inner) is list and all(type(s) is str for s in inner) else None
    if tag == "M":
        if type(inner) is not dict:
            return None
        members = {}
        for name, member in inner.items():
            wire = wire_attribute_value(member)
            if wire is None or type(name) is not str:
                return None
            members[name] = wire
        return {"M": members}
    if tag == "L":
        if type(inner) is not list:
            return None
        items = []
        for member in inner:
            wire = wire_attribute_value(member)
            if wire is None:
                return None
            items.append(wire)
        return {"L": items}
    return None


def _serialize_type_structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
    if key and shape.name == "AttributeValue" and self.service_model.service_name == "dynamodb":
        wire = wire_attribute_value(value)
        if wire is not None:
            self._default_serialize(serialized, wire, shape, key)
            return
    _ORIGINAL["structure"](self, serialized, value, shape, key)


# --------------------------------------------------------------------- install
def _cached(function: Callable[..., Any], size: int) -> Callable[..., Any]:
    return functools.lru_cache(maxsize=size)(function)


def install() -> None:
    """Apply the fast paths (once; :func:`patches.install` guards against a second call)."""
    json_serializer = moto_serialize.BaseJSONSerializer
    _ORIGINAL["structure"] = json_serializer._serialize_type_structure
    json_serializer._serialize_type_structure = _serialize_type_structure
    _ORIGINAL["ext_parse"] = sfn_json_path.parse
    sfn_json_path.parse = _cached(sfn_json_path.parse, 1024)
    _ORIGINAL["parse"] = sfn_result_path.parse
    sfn_result_path.parse = _cached(sfn_result_path.parse, 1024)
    _ORIGINAL["method_names"] = moto_responses.method_names_from_class
    moto_responses.method_names_from_class = _cached(moto_responses.method_names_from_class, 256)
    _ORIGINAL["sanitize"] = botocore_useragent.sanitize_user_agent_string_component
    botocore_useragent.sanitize_user_agent_string_component = _cached(
        botocore_useragent.sanitize_user_agent_string_component, 1024
    )
