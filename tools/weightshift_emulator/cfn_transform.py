"""The ``AWS::Serverless-2016-10-31`` transform and the change-set flow of ``sam deploy``, in moto's
CloudFormation, done server-side as CloudFormation does them.

moto ignores ``Transform``: a SAM template sent by the real ``sam deploy`` became a stack with the
table, topic, queue and policy and nothing else (no functions, state machine, rules or outputs),
and moto still said the stack was complete. This module makes the emulator's CloudFormation run
the transform itself, with the same translator ``stack.py`` uses in-process
(``stack.to_cloudformation``: aws-sam-translator, pinned in ``pyproject.toml``, with the managed-policy
map bundled with it), and answer every call ``sam deploy`` makes as AWS would. The calls
(aws-sam-cli 1.170, ``samcli/lib/deploy/deployer.py`` and ``samcli/commands/deploy/deploy_context.py``;
``sam deploy --debug`` against the emulator shows the same list):

1. S3 ``HeadObject``/``PutObject`` of each artifact and of the template to ``--s3-bucket`` (moto's
   S3; the bucket must exist, as on AWS: SAM says ``S3 Bucket does not exist``).
2. ``DescribeStacks`` (does the stack exist? a ``REVIEW_IN_PROGRESS`` stack counts as absent).
3. ``GetTemplateSummary(StackName)`` for an existing stack (its ``Parameters``, for
   ``UsePreviousValue``).
4. ``CreateChangeSet`` (``ChangeSetType`` ``CREATE``/``UPDATE``, ``TemplateURL`` of the uploaded
   template, ``Parameters``, ``Capabilities``, ``Tags``), then the ``change_set_create_complete``
   waiter on ``DescribeChangeSet``, then ``DescribeChangeSet`` (paginated) to print ``Changes``.
5. ``DescribeStackEvents`` (the time of the latest event), ``ExecuteChangeSet``
   (``DisableRollback``), ``DescribeStackEvents`` again until the stack's own event is no longer
   ``*_IN_PROGRESS`` (printing each), the ``stack_create_complete``/``stack_update_complete``
   waiter on ``DescribeStacks``, and ``DescribeStacks`` for the ``Outputs`` it prints.

``sam delete`` and ``sam sync`` also call ``GetTemplate`` with ``TemplateStage=Original``.

What CloudFormation does, with the sources:

- **TemplateURL.** "The URL must point to a template [...] that's located in an Amazon S3 bucket
  [...]. The location for an Amazon S3 bucket must start with https://" (the API reference,
  CreateChangeSet/CreateStack/UpdateStack ``TemplateURL``). Another URL is refused with
  ``TemplateURL must be an Amazon S3 URL.`` (https://github.com/aws/aws-cli/issues/3200,
  https://github.com/Kotaimen/awscfncli/issues/34), and a missing object with ``Template file
  referenced by <url> does not exist.`` (https://github.com/aws/aws-cli/pull/2778). SAM CLI
  builds the URL path-style from the S3 endpoint it uses (``S3Uploader.to_path_style_s3_url``),
  so against the emulator it is ``http://127.0.0.1:<port>/<bucket>/<key>``: the emulator stands
  in for S3, so a path-style URL on its own loopback address is accepted, as are the real S3
  forms (path-style ``https://s3[.-]<region>.amazonaws.com/<bucket>/<key>`` and virtual-hosted
  ``https://<bucket>.s3[.-]<region>.amazonaws.com/<key>``). moto itself read the bucket of any
  non-``localhost`` URL from the host name, so SAM's URL failed with ``NoSuchBucket``.
- **The transform, for change sets, is asynchronous.** ``CreateChangeSet`` first validates the
  parameters (synchronously: ``cfn_parameters.py``), then the change set is created and the
  transform runs; a failure leaves the change set ``FAILED`` with ``StatusReason`` ``Transform
  AWS::Serverless-2016-10-31 failed with: <the translator's message>`` (e.g. ``Invalid Serverless
  Application Specification document. Number of errors found: 1. Resource with id [X] is
  invalid. ...``, https://github.com/aws-samples/aws-cognito-apigw-angular-auth/issues/4,
  https://github.com/lumigo-io/SAR-Logging/issues/21), or ``Internal transform failure.`` for an
  error inside the translator (https://github.com/aws/serverless-application-model/issues/10),
  and "The stack itself is stuck in 'review in progress'" (same issue).
- **Capabilities.** "The following IAM resources require you to specify either CAPABILITY_IAM or
  CAPABILITY_NAMED_IAM [...] If you have IAM resources with custom names, you must specify
  CAPABILITY_NAMED_IAM" (the API reference, CreateStack/CreateChangeSet ``Capabilities``; the
  types: AccessKey, Group, InstanceProfile, ManagedPolicy, Policy, Role, User,
  UserToGroupAddition). For a change set the processed template is checked and the change set
  ends ``FAILED`` with ``Requires capabilities : [CAPABILITY_IAM]`` (or ``[CAPABILITY_NAMED_IAM]``):
  ``sam deploy`` prints "Waiter ChangeSetCreateComplete failed: [...] Status: FAILED. Reason:
  Requires capabilities : [CAPABILITY_NAMED_IAM]" (https://github.com/aws-samples/serverless-patterns/pull/644,
  .../issues/622; ``[CAPABILITY_IAM]``: https://github.com/jeffisadams/lambda-cognito-go/issues/3).
  ``CreateStack``/``UpdateStack`` answer ``InsufficientCapabilitiesException`` with the same text
  (https://github.com/couchbase-partners/amazon-cloud-formation-couchbase/issues/1), and a template
  with a transform needs ``CAPABILITY_AUTO_EXPAND`` there: ``Requires capabilities :
  [CAPABILITY_AUTO_EXPAND]`` (https://github.com/cloudtools/stacker/pull/731,
  https://github.com/cfn-sphere/cfn-sphere/issues/191). A value outside the enum is refused with
  ``1 validation error detected: Value '[...]' at 'capabilities' failed to satisfy constraint:
  Member must satisfy constraint: [Member must satisfy enum value set: [CAPABILITY_AUTO_EXPAND,
  CAPABILITY_NAMED_IAM, CAPABILITY_IAM]]`` (https://github.com/aws-samples/serverless-trivia-game/issues/34).
- **No changes.** An ``UPDATE`` change set that changes nothing is ``FAILED`` with ``The submitted
  information didn't contain changes. Submit different information to create a change set.``
  and ``ExecutionStatus`` ``UNAVAILABLE`` (https://github.com/elias5000/clouds-aws/issues/9; moto's
  own text), which ``sam deploy --no-fail-on-empty-changeset`` turns into "No changes to deploy".
  It is decided on the processed template and the parameters' effective values (given or
  default): moto compared the given values only, so a parameter left to ``UsePreviousValue``
  looked like a change. ``CreateChangeSet`` never answers ``No updates are to be performed.``
  synchronously (moto did for a ``TemplateBody`` equal to the stack's); ``UpdateStack`` does.
- **CREATE on an existing stack.** A ``REVIEW_IN_PROGRESS`` stack takes ``CREATE`` change sets
  (https://github.com/realestate-com-au/stackup/issues/48: the stack of a failed change set is
  still there, and ``sam deploy`` sends ``CREATE`` again); any other existing stack refuses one
  with ``Stack [<name>] already exists and cannot be created again with the changeSet [<cs>].``
  (https://github.com/compose-x/ecs_composex/issues/785). moto made a second stack of the same name.
- **Changes.** ``Add`` for each resource the processed template creates (a resource whose
  ``Condition`` is false is not created, so not listed), ``Remove`` for each it drops, ``Modify``
  (with ``PhysicalResourceId`` and ``Scope: [Properties]``) for each whose type or properties
  change or that refers to a parameter whose value changes: the rule the emulator's update
  applies (``cfn_custom._diff``), so the list shows what executing will do. ``Replacement`` is
  ``Conditional`` ("CloudFormation can't determine whether the resource will be replaced until
  it does the update", the ``ResourceChange`` reference): AWS decides it per property from each
  type's schema, which the emulator does not have.
- **ExecuteChangeSet.** Only an ``AVAILABLE`` change set runs; otherwise ``InvalidChangeSetStatus``
  ``ChangeSet [<id>] cannot be executed in its current execution status of [<status>]``
  (https://github.com/aws/amazon-chime-sdk-js/issues/1089, ``OBSOLETE``); executing one makes the
  stack's other available change sets ``OBSOLETE`` (same issue). The stack's events, rollback
  and outputs are ``cfn_custom.py``'s and ``cfn_patches.py``'s.
- **GetTemplate.** ``TemplateStage`` ``Original`` is the template as submitted (with its
  ``Transform``), ``Processed`` the transformed one, and "By default, CloudFormation specifies
  Processed"; "For stacks, the Original and Processed templates are always available. For change
  sets, the Original template is always available. After CloudFormation finishes creating the
  change set, the Processed template becomes available" (the API reference, GetTemplate).
  ``ChangeSetName`` gives a change set's template.
- **CreateStack/UpdateStack with the transform** (not what ``sam deploy`` uses): after the
  ``CAPABILITY_AUTO_EXPAND`` check the transform runs before anything is created. Unconfirmed,
  harsher: a transform failure is a synchronous ``ValidationError`` with the same ``Transform ...
  failed with:`` text, and ``CAPABILITY_AUTO_EXPAND`` is checked before the IAM capabilities.

Only the SAM transform is modelled. A template declaring another transform (``AWS::Include``,
``AWS::LanguageExtensions``, a macro) fails, saying the emulator does not model it, rather than
being created half.

The functions the transform creates run in-process with the handler code of the local
checkout (``patches.py``): the code SAM uploaded, built or not, is stored but never run.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import moto.cloudformation.models as cfn_models
import moto.cloudformation.responses as cfn_responses
from moto.cloudformation.exceptions import CloudFormationError, ValidationError
from moto.cloudformation.parsing import ResourceMap
from moto.core.responses import ActionResult
from moto.s3.models import s3_backends
from samtranslator.model.exceptions import InvalidDocumentException

from weightshift_emulator import cfn_custom
from weightshift_emulator.cfn_parameters import as_text, declared_parameters
from weightshift_emulator.install import parse_template
from weightshift_emulator.stack import to_cloudformation

LOG = logging.getLogger("weightshift_emulator")

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"

# ------------------------------------------------------------------ messages
TRANSFORM_FAILED = "Transform {name} failed with: {message}"
INTERNAL_FAILURE = "Internal transform failure."
NOT_MODELLED = "Transform {name} is not modelled by the emulator (only " + SAM_TRANSFORM + " is)"
REQUIRES = "Requires capabilities : [{capability}]"
BAD_CAPABILITIES = (
    "1 validation error detected: Value '[{values}]' at 'capabilities' failed to satisfy constraint: "
    "Member must satisfy constraint: [Member must satisfy enum value set: "
    "[CAPABILITY_AUTO_EXPAND, CAPABILITY_NAMED_IAM, CAPABILITY_IAM]]"
)
NO_CHANGES = "The submitted information didn't contain changes. Submit different information to create a change set."
NO_UPDATES = "No updates are to be performed."
ALREADY_EXISTS = "Stack [{stack}] already exists and cannot be created again with the changeSet [{change_set}]."
NOT_EXECUTABLE = "ChangeSet [{change_set}] cannot be executed in its current execution status of [{status}]"
NOT_S3_URL = "TemplateURL must be an Amazon S3 URL."
NO_TEMPLATE_FILE = "Template file referenced by {url} does not exist."
NO_PROCESSED = "The Processed template of change set {change_set} is not available"  # unconfirmed text

CAPABILITIES = ("CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND")
IAM_TYPES = {
    "AWS::IAM::AccessKey": None,
    "AWS::IAM::Group": "GroupName",
    "AWS::IAM::InstanceProfile": "InstanceProfileName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::IAM::Policy": None,
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::User": "UserName",
    "AWS::IAM::UserToGroupAddition": None,
}  # type -> the property that gives it a custom name (which needs CAPABILITY_NAMED_IAM)
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")  # the emulator's own address: it stands in for S3


class InsufficientCapabilities(CloudFormationError):  # type: ignore[misc]  # moto ships no type hints
    code = "InsufficientCapabilitiesException"


class InvalidChangeSetStatus(CloudFormationError):  # type: ignore[misc]
    code = "InvalidChangeSetStatus"


def _error(message: str) -> ValidationError:
    return ValidationError(message=message)


# ------------------------------------------------------------- templates
def parse(template: Any) -> dict[str, Any] | None:
    """A template as CloudFormation reads it (JSON or YAML with the short forms), or None."""
    if isinstance(template, dict):
        return template
    text = str(template or "")
    if text.lstrip().startswith("{"):
        try:  # JSON is YAML, but json reads it far faster (the processed templates are JSON)
            body = json.loads(text)
            return body if isinstance(body, dict) else None
        except ValueError:
            pass
    try:
        body = parse_template(text)
    except Exception:  # noqa: BLE001 - not a template: moto answers for it
        return None
    return body if isinstance(body, dict) else None


def declared_transforms(body: Mapping[str, Any]) -> list[str]:
    """The template's top-level ``Transform``: one name or a list of names."""
    value = body.get("Transform")
    if value is None:
        return []
    names = value if isinstance(value, list) else [value]
    return [str(n.get("Name") if isinstance(n, dict) else n) for n in names]


@dataclass
class Processed:
    """A template after CloudFormation's transforms (``text`` is what the stack then holds)."""

    body: dict[str, Any]
    text: str


class TransformFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def process(template: Any, parameters: Mapping[str, str], region: str) -> Processed | None:
    """The template with its transforms applied, or None if it declares none; TransformFailed
    with CloudFormation's reason if the transform fails."""
    body = parse(template) if not isinstance(template, dict) else template
    if body is None:
        return None
    names = declared_transforms(body)
    if not names:
        return None
    other = [n for n in names if n != SAM_TRANSFORM]
    if other:
        raise TransformFailed(NOT_MODELLED.format(name=other[0]))
    try:
        result = to_cloudformation(body, dict(parameters), region)
    except InvalidDocumentException as exc:
        # The summary, then each cause, space-separated, as CloudFormation prints them (module docstring)
        message = " ".join([exc.message, *(cause.message for cause in exc.causes)])
        raise TransformFailed(TRANSFORM_FAILED.format(name=SAM_TRANSFORM, message=message)) from exc
    except Exception as exc:
        LOG.exception("the SAM transform failed inside the translator")
        raise TransformFailed(TRANSFORM_FAILED.format(name=SAM_TRANSFORM, message=INTERNAL_FAILURE)) from exc
    text = json.dumps(result)
    return Processed(json.loads(text), text)  # the body as the stack's stored template reads back


def missing_capability(body: Mapping[str, Any], capabilities: Iterable[str]) -> str | None:
    """The IAM capability the template needs and the request did not give, if any."""
    given = set(capabilities)
    needs_iam = named = False
    for resource in (body.get("Resources") or {}).values():
        if not isinstance(resource, dict) or resource.get("Type") not in IAM_TYPES:
            continue
        needs_iam = True
        name_property = IAM_TYPES[str(resource["Type"])]
        if name_property and name_property in (resource.get("Properties") or {}):
            named = True
    if named and "CAPABILITY_NAMED_IAM" not in given:
        return "CAPABILITY_NAMED_IAM"
    if needs_iam and not given & {"CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"}:
        return "CAPABILITY_IAM"
    return None


def effective_parameters(body: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, str]:
    """Every declared parameter's value: the one given, else its Default."""
    declared = declared_parameters(dict(body))
    values = {k: text for k, spec in declared.items() if (text := as_text(spec.get("Default"))) is not None}
    values.update({k: text for k, v in given.items() if k in declared and (text := as_text(v)) is not None})
    return values


# --------------------------------------------------- request capabilities
# The backend methods get no Capabilities; the request handlers put them here for the call.
_CAPABILITIES: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("capabilities", default=())


def _with_capabilities(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def handler(self: Any) -> Any:
        given = [str(c) for c in (self._get_param("Capabilities", []) or [])]
        if any(c not in CAPABILITIES for c in given):
            raise _error(BAD_CAPABILITIES.format(values=", ".join(given)))
        token = _CAPABILITIES.set(tuple(given))
        try:
            return original(self)
        finally:
            _CAPABILITIES.reset(token)

    handler.__name__ = getattr(original, "__name__", "handler")
    return handler


# ------------------------------------------------------- stacks, directly
def _given(parameters: Any) -> dict[str, str]:
    """Parameter values as the backend gets them: a dict (create) or a list of dicts (update)."""
    if isinstance(parameters, dict):
        return {str(k): text for k, v in parameters.items() if (text := as_text(v)) is not None}
    return {
        str(p["ParameterKey"]): as_text(p["ParameterValue"]) or ""
        for p in parameters or []
        if isinstance(p, dict) and "ParameterValue" in p
    }


def _prepare_direct(backend: Any, template: str, parameters: Any) -> Processed | None:
    """CreateStack/UpdateStack: the checks CloudFormation makes before anything is created."""
    capabilities = _CAPABILITIES.get()
    body = parse(template)
    if body is not None and declared_transforms(body) and "CAPABILITY_AUTO_EXPAND" not in capabilities:
        raise InsufficientCapabilities(REQUIRES.format(capability="CAPABILITY_AUTO_EXPAND"))
    try:
        processed = process(template, _given(parameters), backend.region_name)
    except TransformFailed as failed:
        raise _error(failed.reason) from failed
    checked = processed.body if processed else body
    missing = missing_capability(checked, capabilities) if checked is not None else None
    if missing:
        raise InsufficientCapabilities(REQUIRES.format(capability=missing))
    return processed


def _remember_original(stack: Any, submitted: str, original: str | None) -> None:
    """After an operation: the stack's Original template, if the operation's template is the one it holds
    (a rolled-back update keeps the previous one)."""
    if stack.template == submitted:
        stack._ws_original_template = original


def _create_stack(self: Any, name: str, template: str, parameters: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
    if any(s.name == name for s in self.stacks.values()):  # moto's AlreadyExistsException first
        return _ORIGINAL["create_stack"](self, name, template, parameters, *args, **kwargs)
    processed = _prepare_direct(self, template, parameters)
    submitted = processed.text if processed else template
    stack = _ORIGINAL["create_stack"](self, name, submitted, parameters, *args, **kwargs)
    _remember_original(stack, submitted, template if processed else None)
    return stack


def _update_stack(
    self: Any, name: str, template: str, role_arn: str | None, parameters: list[dict[str, Any]], tags: Any
) -> Any:
    cfn_custom._check_updatable(self.get_stack(name))  # the stack's state first, then the template
    processed = _prepare_direct(self, template, parameters)
    if processed is None:
        stack = _ORIGINAL["update_stack"](self, name, template, role_arn, parameters, tags)
        _remember_original(stack, template, None)
        return stack
    stack = self.get_stack(name)
    old = parse(stack.template) or {}
    if old == processed.body and _old_values(stack) == effective_parameters(processed.body, _given(parameters)):
        raise _error(NO_UPDATES)
    updated = _ORIGINAL["update_stack"](self, name, processed.text, role_arn, parameters, tags)
    _remember_original(updated, processed.text, template)
    return updated


def _old_values(stack: Any) -> dict[str, str]:
    """The stack's current value of each parameter (given or defaulted)."""
    try:
        resolved = stack.stack_parameters
    except Exception:  # noqa: BLE001 - a stack that never got a template (REVIEW_IN_PROGRESS)
        return {}
    return {str(k): text for k, v in resolved.items() if (text := as_text(v)) is not None}


# ----------------------------------------------------------- change sets
def _live_stack(backend: Any, name: str) -> Any:
    return next((s for s in backend.stacks.values() if s.name == name or s.stack_id == name), None)


def _create_change_set(
    self: Any,
    stack_name: str,
    change_set_name: str,
    template: str,
    parameters: dict[str, Any],
    description: str,
    change_set_type: str,
    notification_arns: list[str] | None = None,
    tags: dict[str, str] | None = None,
    role_arn: str | None = None,
) -> tuple[str, str]:
    capabilities = _CAPABILITIES.get()
    reuse = None
    if change_set_type != "UPDATE":
        existing = _live_stack(self, stack_name)
        if existing is not None and existing.status != "REVIEW_IN_PROGRESS":
            raise _error(ALREADY_EXISTS.format(stack=stack_name, change_set=change_set_name))
        reuse = existing
    reason: str | None = None
    processed: Processed | None = None
    submitted_body = parse(template)
    has_transform = bool(submitted_body and declared_transforms(submitted_body))
    try:
        processed = process(submitted_body, _given(parameters), self.region_name) if has_transform else None
    except TransformFailed as failed:
        reason = failed.reason
    body = processed.body if processed else (None if has_transform else submitted_body)
    if reason is None and body is not None and (missing := missing_capability(body, capabilities)):
        reason = REQUIRES.format(capability=missing)
    submitted = processed.text if processed else template
    change_set_id, stack_id = _ORIGINAL["create_change_set"](
        self,
        stack_name,
        change_set_name,
        submitted,
        parameters,
        description,
        change_set_type,
        notification_arns,
        tags,
        role_arn,
    )
    change_set = self.change_sets[change_set_id]
    if reuse is not None:  # AWS keeps the REVIEW_IN_PROGRESS stack; moto had made a second one
        self.stacks.pop(stack_id, None)
        reuse.parameters = change_set.parameters
        change_set.stack, change_set.stack_id, stack_id = reuse, reuse.stack_id, reuse.stack_id
    change_set._ws_original = template if has_transform else None
    change_set._ws_processed = None if processed is None and has_transform else submitted
    change_set.capabilities = list(capabilities)
    stack = change_set.stack
    if reason is not None:
        _fail(change_set, reason)
    elif body is None:
        pass  # not a template moto and we could read: moto's own answer stands
    elif change_set_type == "UPDATE" and _unchanged(stack, body, parameters):
        _fail(change_set, NO_CHANGES)
    else:
        change_set.status, change_set.execution_status, change_set.status_reason = "CREATE_COMPLETE", "AVAILABLE", None
        change_set.changes = _changes(self, stack, body, parameters, change_set_type)
    return change_set_id, stack_id


def _fail(change_set: Any, reason: str) -> None:
    change_set.status = "FAILED"
    change_set.execution_status = "UNAVAILABLE"
    change_set.status_reason = reason
    change_set.changes = []


def _unchanged(stack: Any, body: dict[str, Any], parameters: Mapping[str, Any]) -> bool:
    old = parse(stack.template)
    return old == body and _old_values(stack) == effective_parameters(body, _given(parameters))


def _conditions(backend: Any, stack: Any, body: dict[str, Any], values: Mapping[str, str]) -> dict[str, bool]:
    """Each condition of the template, evaluated with these parameter values (moto's evaluator)."""
    declared = body.get("Conditions") or {}
    if not declared:
        return {}
    try:
        resource_map = ResourceMap(
            stack.stack_id,
            stack.name,
            dict(values),
            {},
            region_name=backend.region_name,
            account_id=backend.account_id,
            template=body,
            cross_stack_resources=backend.exports,
        )
        resource_map.load_mapping()
        resource_map.load_parameters()
        resource_map.load_conditions()
        return {str(name): bool(resource_map.lazy_condition_map[name]) for name in declared}
    except Exception:  # moto cannot evaluate them: list every resource (the harsher view)
        LOG.debug("conditions not evaluated for the change set of %s", stack.name, exc_info=True)
        return {}


def _present(body: dict[str, Any], conditions: Mapping[str, bool]) -> dict[str, Any]:
    resources = body.get("Resources") or {}
    return {
        name: resource
        for name, resource in resources.items()
        if not isinstance(resource, dict) or conditions.get(str(resource.get("Condition")), True)
    }


def _change(action: str, name: str, resource_type: str, physical_id: str | None = None) -> Any:
    change = cfn_models.Change(action=action, logical_resource_id=name, resource_type=resource_type)
    if action in ("Modify", "Remove"):
        change.physical_resource_id = physical_id
    if action == "Modify":
        change.replacement = "Conditional"
        change.scope = ["Properties"]
    return change


def _changes(
    backend: Any, stack: Any, body: dict[str, Any], parameters: Mapping[str, Any], change_set_type: str
) -> list[Any]:
    new_values = effective_parameters(body, _given(parameters))
    new = _present(body, _conditions(backend, stack, body, new_values))
    if change_set_type != "UPDATE":
        return [_change("Add", name, str(resource.get("Type", ""))) for name, resource in new.items()]
    old_body = parse(stack.template) or {}
    old_values = _old_values(stack)
    old = _present(old_body, _conditions(backend, stack, old_body, old_values))
    diff = cfn_custom._diff(old, new, old_values, new_values)

    def physical(name: str) -> str | None:
        instance = cfn_custom._instance(stack.resource_map, name)
        return cfn_custom._physical(instance) if instance is not None else None

    return [
        *[_change("Add", n, str(new[n].get("Type", ""))) for n in diff["Add"]],
        *[_change("Modify", n, str(new[n].get("Type", "")), physical(n)) for n in diff["Modify"]],
        *[_change("Remove", n, str(old[n].get("Type", "")), physical(n)) for n in diff["Remove"]],
    ]


def _find_change_set(backend: Any, name: str) -> Any:
    return backend.change_sets.get(name) or next(
        (c for c in backend.change_sets.values() if c.change_set_name == name), None
    )


def _execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
    change_set = _find_change_set(self, change_set_name)
    if change_set is None:
        _ORIGINAL["execute_change_set"](self, change_set_name, stack_name)  # moto's answer for a missing one
        return
    status = change_set.execution_status
    if status != "AVAILABLE":
        raise InvalidChangeSetStatus(NOT_EXECUTABLE.format(change_set=change_set.change_set_id, status=status))
    _ORIGINAL["execute_change_set"](self, change_set_name, stack_name)
    stack = self.stacks.get(change_set.stack_id)
    if stack is None:
        return
    _remember_original(stack, change_set.template, getattr(change_set, "_ws_original", None))
    for other in self.change_sets.values():
        if other is not change_set and other.stack_id == stack.stack_id and other.execution_status == "AVAILABLE":
            other.execution_status = "OBSOLETE"


# ------------------------------------------------------------ templates
def _template_from_url(self: Any, template_url: str) -> str:
    """``CloudFormationResponse._get_stack_from_s3_url``: an S3 URL (or the emulator's own), read."""
    location = s3_location(template_url)
    if location is None:
        raise _error(NOT_S3_URL)
    bucket, key, version = location
    try:
        found = s3_backends[self.current_account][self.partition].get_object(bucket, key, version_id=version)
    except Exception:  # noqa: BLE001 - moto's S3 errors (no such bucket): the template is not there
        found = None
    if found is None:
        raise _error(NO_TEMPLATE_FILE.format(url=template_url))
    return str(found.value.decode("utf-8"))


_S3_HOST = re.compile(r"^s3([.-][a-z0-9-]+)?\.amazonaws\.com(\.cn)?$")
_S3_VIRTUAL_HOST = re.compile(r"^(?P<bucket>.+)\.s3([.-][a-z0-9-]+)?\.amazonaws\.com(\.cn)?$")


def s3_location(url: str) -> tuple[str, str, str | None] | None:
    """(bucket, key, version) of an S3 template URL, or None if it is not one."""
    parts = urllib.parse.urlsplit(url)
    host = (parts.hostname or "").lower()
    versions = urllib.parse.parse_qs(parts.query).get("versionId")
    version = versions[0] if versions else None
    path = urllib.parse.unquote(parts.path)
    local = host in LOCAL_HOSTS and parts.scheme in ("http", "https")
    if local or (parts.scheme == "https" and _S3_HOST.match(host)):
        bucket, _, key = path.lstrip("/").partition("/")
        return (bucket, key, version) if bucket and key else None
    virtual = _S3_VIRTUAL_HOST.match(host) if parts.scheme == "https" else None
    if virtual and path.lstrip("/"):
        return virtual.group("bucket"), path.lstrip("/"), version
    return None


def _get_template_request(self: Any) -> Any:
    """GetTemplate with ``TemplateStage`` and ``ChangeSetName``."""
    backend = self.cloudformation_backend
    stage = self._get_param("TemplateStage") or "Processed"
    change_set_name = self._get_param("ChangeSetName")
    if change_set_name:
        change_set = backend.describe_change_set(change_set_name)
        original = getattr(change_set, "_ws_original", None) or change_set.template
        processed = getattr(change_set, "_ws_processed", change_set.template)
        label = change_set.change_set_id
    else:
        stack = backend.get_stack(self._get_param("StackName"))
        original = getattr(stack, "_ws_original_template", None) or stack.template
        processed = stack.template
        label = stack.stack_id
    stages = ["Original", "Processed"] if processed is not None else ["Original"]
    if stage == "Processed" and processed is None:
        raise _error(NO_PROCESSED.format(change_set=label))
    return ActionResult({"TemplateBody": original if stage == "Original" else processed, "StagesAvailable": stages})


def _validate_different_update(self: Any, incoming_params: Any, stack_body: str, old_stack: Any) -> None:
    """moto's synchronous "No updates are to be performed." is UpdateStack's answer only: a change
    set with no changes is created FAILED instead (decided in :func:`_create_change_set`)."""
    if self._get_param("ChangeSetName"):
        return
    _ORIGINAL["validate_different_update"](self, incoming_params, stack_body, old_stack)


# ----------------------------------------------------------------- install
_ORIGINAL: dict[str, Any] = {}


def install() -> None:
    """Wrap moto's CloudFormation (backend and request handlers). Safe to call again.

    ``cfn_patches.install`` calls this after ``cfn_custom.install`` and before its own wrappers and
    ``cfn_parameters.install``: parameter validation (synchronous in AWS) then runs before the
    transform, and ``cfn_patches``' recomputed Outputs wrap the execution here."""
    if _ORIGINAL:
        return
    backend = cfn_models.CloudFormationBackend
    for name, replacement in (
        ("create_stack", _create_stack),
        ("update_stack", _update_stack),
        ("create_change_set", _create_change_set),
        ("execute_change_set", _execute_change_set),
    ):
        _ORIGINAL[name] = getattr(backend, name)
        setattr(backend, name, replacement)
    handler = cfn_responses.CloudFormationResponse
    for name in ("create_stack", "update_stack", "create_change_set"):
        _ORIGINAL[f"{name}_request"] = getattr(handler, name)
        setattr(handler, name, _with_capabilities(getattr(handler, name)))
    _ORIGINAL["get_stack_from_s3_url"] = handler._get_stack_from_s3_url
    handler._get_stack_from_s3_url = _template_from_url
    _ORIGINAL["get_template_request"] = handler.get_template
    handler.get_template = _get_template_request
    _ORIGINAL["validate_different_update"] = handler._validate_different_update
    handler._validate_different_update = _validate_different_update
