"""CloudFormation's parameter validation, which moto does not do, and AWS-shaped hosted zone ids.

**Parameters.** CloudFormation checks every parameter value against the template's
``Parameters`` section *before it creates anything*: ``CreateStack``, ``UpdateStack`` and
``CreateChangeSet`` fail synchronously with ``ValidationError`` (HTTP 400) and a message
that names the parameter, and no stack record is made (an update leaves the stack as it
was). moto accepts anything: a hosted zone id that does not start with ``Z``, a record
name with a trailing dot, ``0`` for a ``MinValue: 1`` number, a parameter the template
does not declare. This module wraps the CloudFormation backend's ``create_stack``,
``update_stack`` and ``create_change_set`` (and, for ``UsePreviousValue``, the request
handlers, where moto would crash or answer differently first), so the same error reaches
the client in-process (``mock_aws``) and through the moto server (``sam deploy``'s change
sets).
``ValidateTemplate`` takes no parameter values (its request has only the template), so it
validates none; moto's own ``validate_template`` (cfn-lint) is left as it is.

What CloudFormation does, with the sources the messages were taken from. Each message is
reproduced exactly; where the source is a user's report of a real CloudFormation answer it
says so:

- A value for a parameter the template does not declare:
  ``Parameters: [TargetECRRepositoryName] do not exist in the template`` (CreateStack,
  https://github.com/aws-samples/amazon-ec2-image-builder-samples/issues/18; also
  https://github.com/buildkite/elastic-ci-stack-for-aws/pull/2). Several names are listed
  as Java prints a list, ``[A, B, C]`` (seen for ``must have values`` below). A template
  with no ``Parameters`` at all answers ``Parameter values specified for a template which
  does not require them.`` (https://github.com/aws/aws-toolkit-azure-devops/issues/75).
- A parameter with neither a value nor a ``Default``:
  ``Parameters: [Input] must have values`` (CreateChangeSet, recorded against AWS by
  LocalStack: tests/aws/services/cloudformation/api/test_stacks.snapshot.json,
  ``test_no_parameters_given``, https://github.com/localstack/localstack), and with several
  names ``Parameters: [RDSUsernameParameter, RDSPasswordParameter, ClusterIDParameter]
  must have values`` (UpdateStack, https://github.com/StackStorm-Exchange/stackstorm-aws/issues/118).
  An update does not keep a previous value by itself: a parameter not given takes its
  ``Default`` (https://github.com/aws/aws-cli/issues/4651) or must have a value.
- ``Type: Number`` (and each member of ``List<Number>``): ``Parameter 'Value' must be a
  number.`` (with the full stop; CreateChangeSet, recorded against AWS by LocalStack:
  tests/aws/services/cloudformation/test_change_set_parameters.snapshot.json,
  ``test_invalid_parameter_type``; also https://github.com/aws/aws-cli/issues/7992).
- ``MinValue``/``MaxValue``: ``Parameter 'AvailabilityZoneCount' must be a number not less
  than 1`` and ``... must be a number not greater than 3`` (CreateStack: a test-case
  document of the OpenShift ROSA CLI in the public code index, which records the real
  answers with their request ids; the index does not name its repository, so no URL). The
  bound is printed as the template writes it (``1``, not ``1.0``).
- ``AllowedValues``: ``Parameter 'X' must be one of AllowedValues``
  (https://github.com/aws-amplify/amplify-cli/issues/6224,
  https://github.com/aws-solutions/aws-control-tower-customizations/issues/140).
- ``AllowedPattern``: ``Parameter 'Tester' must match pattern <the pattern as written>``
  (CreateChangeSet, https://github.com/aws/aws-connected-device-framework/issues/183;
  "measured 2026-09-02" in https://github.com/ministackorg/ministack/pull/1648).
  The pattern must match the *entire* value ("When applied on a parameter of type String,
  the pattern must match the entire parameter value provided",
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html;
  https://github.com/awsdocs/aws-cloudformation-user-guide/pull/872), i.e. Java's
  ``String.matches`` (CloudFormation's patterns are ``java.util.regex``). We use
  ``re.fullmatch`` with ``re.ASCII``: Java's ``\\d``, ``\\w``, ``\\s`` and ``\\b`` are
  ASCII-only by default, Python's are Unicode.
- ``MinLength``/``MaxLength``: ``Parameter 'Naming' must contain at least 12 characters``
  (https://stackoverflow.com/questions/77187158, the console's answer). The ``MaxLength``
  text, ``must contain at most N characters``, is the counterpart we could not find in a
  real answer. Lengths count UTF-16 units, as Java's ``String.length()`` does.
- With ``ConstraintDescription`` set, a constraint's message is replaced by
  ``Parameter Profiles failed to satisfy constraint: <ConstraintDescription>`` (no quotes
  around the name): for ``AllowedPattern``, https://github.com/aws/aws-cli/issues/7750
  (CreateChangeSet); for ``AllowedValues``, https://github.com/aws-ia/taskcat/issues/627
  (CreateStack). We apply it to every constraint (values, lengths, pattern, bounds), not to
  the type check.
- ``CommaDelimitedList`` (and ``List<...>`` types): the value is split at commas and "each
  member string is space trimmed" (the CloudFormation user guide's Parameters page,
  https://github.com/awsdocs/aws-cloudformation-user-guide, doc_source/parameters-section-structure.md);
  ``AllowedPattern`` and ``AllowedValues`` apply to *each member*, "When applied to a
  parameter of type CommaDelimitedList, the pattern must match each value in the list"
  (same page, current version; https://aws.amazon.com/about-aws/whats-new/2022/12/specify-validation-checks-commadelimitedlist-parameter-aws-cloudformation/).
  An empty string is one empty member, which the pattern must match too: CloudFormation
  rejects ``Default: ''`` with a pattern the empty string does not match
  (https://github.com/aws-cloudformation/cfn-lint/issues/4396, the maintainer's test
  against CloudFormation; https://github.com/aws/aws-cli/issues/7750).
- ``Default`` values are held to the same constraints, whether or not a value is given
  ("If you define constraints for the parameter, you must specify a value that adheres to
  those constraints", the Parameters page; aws-cli#7750 failed with ``Profiles=dev`` given,
  because of ``Default: ""``).
- ``UsePreviousValue``:
  ``Cannot specify UsePreviousValue on Parameters when ChangeSetType is CREATE``
  (https://github.com/aws/serverless-application-model/issues/122,
  https://github.com/mapbox/cfn-config/issues/182);
  ``Cannot specify usePreviousValue as true for a parameter key not in the previous template``
  (https://github.com/rackerlabs/ebs_snapper/pull/57);
  ``Invalid input for parameter key X. Cannot specify usePreviousValue as true and non empty
  value for a parameter`` (https://github.com/widdix/cfn-create-or-update/pull/15; moto's
  ``update_stack`` already says this, we say it for change sets too). The previous value is
  validated against the new template like any other.

Not confirmed, modelled on the harsh side or by the closest evidence: which error wins
when several apply (here: ``UsePreviousValue`` misuse, then unknown names, then missing
values, then each parameter in template order, its ``Default`` before its value; within
one parameter: type, ``AllowedValues``, bounds, lengths, pattern); ``UsePreviousValue`` on
``CreateStack`` (no source: we answer the "not in the previous template" message, as a new
stack has no previous template); the grammar of a number (we accept an optional minus and
digits with an optional decimal part, ``1``, ``1.5``, ``1.``, ``.5``: no exponent, no
``+``, no spaces; AWS's grammar is unpublished); lengths and bounds on list types (applied
to each member); ``AllowedValues`` of a ``Number`` compared as text (``060`` is not
``60``). AWS-specific types (``AWS::EC2::VPC::Id``...) are checked as strings only: AWS
also checks that the resource exists, which we do not. Template-format rules (``MinValue``
on a ``String``...) are not checked. ``ConstraintDescription`` replacing the length and
bound messages is seen only for the pattern and values. A pattern in Java-only syntax that
Python cannot compile (``\\p{javaLowerCase}``) fails the call with a message saying so,
never passes it; one Python reads differently (Java's class intersection ``[a-z&&[^b]]``)
is not detected.

**Hosted zone ids.** Route 53 names a hosted zone ``Z`` + upper-case letters and digits:
``Z1RWWTK7Y8UDDQ`` (14 characters, older zones), ``Z23YXV4OVPL04A`` (the CloudFormation
user guide), and 21 characters for zones made today: ``Z09546752YPG9QI64P1DF``
(https://github.com/crossplane-contrib/provider-aws/issues/1826, 2023), ``/hostedzone/`` +
21 characters making 33 in https://github.com/hashicorp/terraform-provider-aws/issues/37817
(2024) and https://github.com/kubernetes-sigs/external-dns/issues/5012 (2025). moto makes
22 random letters and digits: one zone in 36 starts with ``Z``, so a ``HostedZoneId``
parameter with a ``^Z...`` pattern, which every real id passes, rejects almost every moto
zone. We make ``Z`` + 20, through moto's ``@moto_id`` (a custom id set through moto's id
manager still wins), from moto's random generator, so a seeded moto gives the same ids every run.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import moto.cloudformation.models as cfn_models
import moto.cloudformation.responses as cfn_responses
import moto.route53.models as r53_models
from moto.cloudformation.exceptions import ValidationError
from moto.moto_api._internal import mock_random
from moto.utilities.id_generator import moto_id

from weightshift_emulator.install import parse_template

# ------------------------------------------------------------------ messages
NOT_DECLARED = "Parameters: [{names}] do not exist in the template"
NO_VALUE = "Parameters: [{names}] must have values"
NO_PARAMETERS = "Parameter values specified for a template which does not require them."
NOT_A_NUMBER = "Parameter '{name}' must be a number."
BELOW_MIN_VALUE = "Parameter '{name}' must be a number not less than {bound}"
ABOVE_MAX_VALUE = "Parameter '{name}' must be a number not greater than {bound}"
NOT_ALLOWED_VALUE = "Parameter '{name}' must be one of AllowedValues"
NO_PATTERN_MATCH = "Parameter '{name}' must match pattern {pattern}"
TOO_SHORT = "Parameter '{name}' must contain at least {bound} characters"
TOO_LONG = "Parameter '{name}' must contain at most {bound} characters"  # not found in a real answer
CONSTRAINT = "Parameter {name} failed to satisfy constraint: {description}"
PREVIOUS_ON_CREATE = "Cannot specify UsePreviousValue on Parameters when ChangeSetType is CREATE"
PREVIOUS_NOT_DECLARED = "Cannot specify usePreviousValue as true for a parameter key not in the previous template"
PREVIOUS_AND_VALUE = (
    "Invalid input for parameter key {name}. "
    "Cannot specify usePreviousValue as true and non empty value for a parameter"
)

_NUMBER = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def _error(message: str) -> ValidationError:
    return ValidationError(message=message)


def _names(names: list[str]) -> str:
    return ", ".join(names)  # Java's List.toString(), without the brackets the message adds


# ----------------------------------------------------------------- templates
def declared_parameters(template: Any) -> dict[str, dict[str, Any]]:
    """The template's ``Parameters`` section, in template order (a dict, or JSON/YAML text)."""
    if isinstance(template, dict):
        body = template
    else:
        text = str(template or "")
        try:
            body = json.loads(text)
        except ValueError:
            body = parse_template(text)  # YAML with the short forms (!Ref...), as SAM and CloudFormation read it
    section = body.get("Parameters") if isinstance(body, dict) else None
    return {str(k): v for k, v in section.items() if isinstance(v, dict)} if isinstance(section, dict) else {}


def as_text(value: Any) -> str | None:
    """A parameter value as CloudFormation receives it: a string. moto hands a change set the
    previous *resolved* value (a list for a CommaDelimitedList, an int for a Number)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(as_text(v) or "" for v in value)
    return str(value)


# ---------------------------------------------------------------- validation
def _java_length(value: str) -> int:
    return len(value.encode("utf-16-le")) // 2  # String.length(): UTF-16 code units


def _is_list(kind: str) -> bool:
    return kind == "CommaDelimitedList" or kind.startswith("List<")


def _is_number(kind: str) -> bool:
    return kind in ("Number", "List<Number>")


def _constraint(name: str, spec: dict[str, Any], message: str) -> ValidationError:
    description = spec.get("ConstraintDescription")
    if description is not None:
        return _error(CONSTRAINT.format(name=name, description=as_text(description)))
    return _error(message)


def _check_member(name: str, spec: dict[str, Any], kind: str, member: str) -> None:
    if _is_number(kind) and not _NUMBER.fullmatch(member):
        raise _error(NOT_A_NUMBER.format(name=name))
    allowed = spec.get("AllowedValues")
    if isinstance(allowed, list) and member not in [as_text(v) for v in allowed]:
        raise _constraint(name, spec, NOT_ALLOWED_VALUE.format(name=name))
    if _is_number(kind):
        number = Decimal(member)
        low, high = spec.get("MinValue"), spec.get("MaxValue")
        if low is not None and number < Decimal(str(low)):
            raise _constraint(name, spec, BELOW_MIN_VALUE.format(name=name, bound=as_text(low)))
        if high is not None and number > Decimal(str(high)):
            raise _constraint(name, spec, ABOVE_MAX_VALUE.format(name=name, bound=as_text(high)))
    shortest, longest = spec.get("MinLength"), spec.get("MaxLength")
    if shortest is not None and _java_length(member) < Decimal(str(shortest)):
        raise _constraint(name, spec, TOO_SHORT.format(name=name, bound=as_text(shortest)))
    if longest is not None and _java_length(member) > Decimal(str(longest)):
        raise _constraint(name, spec, TOO_LONG.format(name=name, bound=as_text(longest)))
    pattern = spec.get("AllowedPattern")
    if pattern is None:
        return
    try:
        matched = re.fullmatch(str(pattern), member, re.ASCII)
    except re.error as exc:  # Java-only syntax: say so rather than let it through
        raise _error(f"Parameter '{name}' AllowedPattern {pattern}: the emulator cannot evaluate it ({exc})") from exc
    if not matched:
        raise _constraint(name, spec, NO_PATTERN_MATCH.format(name=name, pattern=pattern))


def check_value(name: str, spec: dict[str, Any], value: str) -> None:
    """Raise CloudFormation's ValidationError if ``value`` breaks parameter ``name``'s type or constraints."""
    kind = str(spec.get("Type", "String"))
    members = [m.strip() for m in value.split(",")] if _is_list(kind) else [value]
    for member in members:
        _check_member(name, spec, kind, member)


def validate(declared: Mapping[str, dict[str, Any]], given: Mapping[str, str]) -> None:
    """Check the values a request gives (``UsePreviousValue`` already resolved) against the
    template's declared parameters, as CloudFormation does before it creates anything."""
    if given and not declared:
        raise _error(NO_PARAMETERS)
    unknown = [k for k in given if k not in declared]
    if unknown:
        raise _error(NOT_DECLARED.format(names=_names(unknown)))
    missing = [k for k, spec in declared.items() if k not in given and spec.get("Default") is None]
    if missing:
        raise _error(NO_VALUE.format(names=_names(missing)))
    for name, spec in declared.items():
        default = as_text(spec.get("Default"))
        if default is not None:
            check_value(name, spec, default)
        if name in given:
            check_value(name, spec, given[name])


def _use_previous(parameter: Mapping[str, Any]) -> bool:
    flag = parameter.get("UsePreviousValue")
    return flag is True or str(flag).lower() == "true"


def _previous_values(stack: Any) -> dict[str, str]:
    """The stack's current value of every parameter of its template (given or defaulted)."""
    return {k: text for k, v in stack.stack_parameters.items() if (text := as_text(v)) is not None}


# ------------------------------------------------------------------- patches
_ORIGINAL: dict[str, Callable[..., Any]] = {}


def _create_stack(self: Any, name: str, template: str, parameters: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
    if not any(stack.name == name for stack in self.stacks.values()):  # else moto's AlreadyExistsException
        given = {k: as_text(v) or "" for k, v in (parameters or {}).items()}
        validate(declared_parameters(template), given)
    return _ORIGINAL["create_stack"](self, name, template, parameters, *args, **kwargs)


def _update_stack(
    self: Any, name: str, template: str, role_arn: str | None, parameters: list[dict[str, Any]], tags: Any
) -> Any:
    stack = self.get_stack(name)
    previous = _previous_values(stack)
    given: dict[str, str] = {}
    for parameter in parameters or []:
        key = str(parameter["ParameterKey"])
        if _use_previous(parameter):
            if key not in previous:
                raise _error(PREVIOUS_NOT_DECLARED)
            given[key] = previous[key]
        elif "ParameterValue" in parameter:
            given[key] = as_text(parameter["ParameterValue"]) or ""
    validate(declared_parameters(template), given)
    if not given:
        # moto keeps the stack's old inputs when an update gives none; CloudFormation uses each
        # parameter's Default (https://github.com/aws/aws-cli/issues/4651), as validate() just checked.
        stack.resource_map.input_parameters = {}
        stack.parameters = {}
    # Previous values resolved here: moto's own resolution reads only the values given at
    # creation, and fails (KeyError) for one that was defaulted.
    resolved = [{"ParameterKey": k, "ParameterValue": v} for k, v in given.items()]
    return _ORIGINAL["update_stack"](self, name, template, role_arn, resolved, tags)


def _create_change_set(
    self: Any,
    stack_name: str,
    change_set_name: str,
    template: str,
    parameters: dict[str, Any],
    *args: Any,
    **kwargs: Any,
) -> Any:
    given = {k: text for k, v in (parameters or {}).items() if (text := as_text(v)) is not None}
    validate(declared_parameters(template), given)
    return _ORIGINAL["create_change_set"](self, stack_name, change_set_name, template, given, *args, **kwargs)


def _check_previous_values(request: Any, creating: bool) -> None:
    """``UsePreviousValue`` as CloudFormation checks it. moto resolves it in the request
    handlers, before the backend, and crashes (KeyError, NameError) or answers
    ``Missing parameter X`` where CloudFormation answers these ValidationErrors."""
    parameters = request._get_param("Parameters", []) or []
    if not any(_use_previous(p) for p in parameters):
        return
    if creating:
        raise _error(PREVIOUS_ON_CREATE)
    try:
        stack = request.cloudformation_backend.get_stack(request._get_param("StackName"))
    except ValidationError:
        return  # moto answers that the stack does not exist
    previous = _previous_values(stack)
    for parameter in parameters:
        if not _use_previous(parameter):
            continue
        if parameter.get("ParameterValue"):
            raise _error(PREVIOUS_AND_VALUE.format(name=parameter["ParameterKey"]))
        if parameter["ParameterKey"] not in previous:
            raise _error(PREVIOUS_NOT_DECLARED)


def _create_change_set_request(self: Any) -> Any:
    _check_previous_values(self, creating=self._get_param("ChangeSetType", "CREATE") != "UPDATE")
    return _ORIGINAL["create_change_set_request"](self)


def _update_stack_request(self: Any) -> Any:
    _check_previous_values(self, creating=False)
    return _ORIGINAL["update_stack_request"](self)


def _create_stack_parameters(self: Any, parameters_list: list[dict[str, Any]]) -> dict[str, Any]:
    """CreateStack's request parameters (moto: ``ParameterValue`` of each, KeyError if absent).
    A new stack has no previous value to use; an entry without a value gives none."""
    if any(_use_previous(p) for p in parameters_list):
        raise _error(PREVIOUS_NOT_DECLARED)
    return {p["ParameterKey"]: p["ParameterValue"] for p in parameters_list if "ParameterValue" in p}


# ---------------------------------------------------------------- zone ids
ZONE_ID_LENGTH = 21  # "Z" + 20, as Route 53 names zones today (see the module docstring)
_ZONE_ID_CHARACTERS = string.ascii_uppercase + string.digits


@moto_id  # type: ignore[untyped-decorator]  # moto ships no type hints
def create_route53_zone_id(resource_identifier: Any, existing_ids: Any = None, tags: Any = None) -> str:
    # moto's own random, as moto's zone ids use: seeding moto (``/moto-api/seed``) makes them repeatable.
    return "Z" + "".join(mock_random.choice(_ZONE_ID_CHARACTERS) for _ in range(ZONE_ID_LENGTH - 1))


def install_zone_ids() -> None:
    """Every new hosted zone gets an AWS-shaped id. ``HostedZoneIdentifier.generate`` looks the
    function up in ``moto.route53.models`` at each call, so replacing it there is enough."""
    if "zone_id" not in _ORIGINAL:
        _ORIGINAL["zone_id"] = r53_models.create_route53_zone_id
        r53_models.create_route53_zone_id = create_route53_zone_id


# ------------------------------------------------------------------- install
def install() -> None:
    """Wrap moto's CloudFormation with CloudFormation's parameter validation. Safe to call again."""
    if "create_stack" in _ORIGINAL:
        return
    backend = cfn_models.CloudFormationBackend
    _ORIGINAL["create_stack"] = backend.create_stack
    _ORIGINAL["update_stack"] = backend.update_stack
    _ORIGINAL["create_change_set"] = backend.create_change_set
    backend.create_stack = _create_stack
    backend.update_stack = _update_stack
    backend.create_change_set = _create_change_set
    handler = cfn_responses.CloudFormationResponse
    _ORIGINAL["create_change_set_request"] = handler.create_change_set
    _ORIGINAL["update_stack_request"] = handler.update_stack
    _ORIGINAL["create_stack_parameters"] = handler._get_params_from_list
    handler.create_change_set = _create_change_set_request
    handler.update_stack = _update_stack_request
    handler._get_params_from_list = _create_stack_parameters
