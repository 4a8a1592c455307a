"""Deploy the real ``template.yaml`` into the emulator, as ``sam package`` + ``sam deploy`` would.

The steps are SAM's own, done in-process:

1. **Package.** Every local ``CodeUri`` (the shared ``functions/``) is zipped and
   uploaded to an S3 bucket in the emulator, and ``DefinitionUri`` (the ASL file)
   is uploaded as is; the template then points at those S3 locations, which is
   exactly the rewrite ``sam package`` does.
2. **Transform.** ``samtranslator``'s ``transform`` (the open-source translator
   behind the ``AWS::Serverless-2016-10-31`` transform, which ``sam validate``
   also runs) turns the SAM template into plain CloudFormation, with the managed-policy names taken from
   the map bundled with the translator, so no IAM call is needed.
3. **Create.** CloudFormation ``create_stack`` (``update_stack`` if the stack
   exists) with the given parameters. moto then creates the table, topic, queues,
   roles, the seven functions with their resolved environment, the two
   EventBridge rules with their patterns and Lambda targets, and, with the
   patches in ``cfn_patches.py``, the state machine with its substitutions.

Why this path and not ``sam build && sam deploy`` (which the emulator serves too:
``make deploy-local``, and ``tests/e2e/test_sam_deploy.py`` with the real ``sam deploy``;
the transform then runs server-side, in the emulator's CloudFormation, through
:func:`to_cloudformation` below, ``cfn_transform.py``):

- *Speed and no network.* ``sam build`` runs the functions' Makefile, which
  ``pip install``s the arm64/Python 3.13 wheels for Lambda: a download at every
  fresh demo or test run. ``sam deploy`` adds a subprocess, packaging and a
  change set (about 13 s for a create, 5 s for a no-op redeploy, unbuilt). Here a deploy takes about a
  second, in-process, with nothing fetched.
- *Same translation.* With ``sam deploy`` the transform runs inside
  CloudFormation (in the emulator too); here the same translator runs in-process,
  at the version pinned in ``pyproject.toml``. What gets created is
  whatever the template says: a change to a rule pattern, an env var, a
  substitution or a policy shows up here without touching this file.

What it does not prove, honestly:

- ``sam build`` itself (the Makefile, the wheels) and SAM CLI's own packaging and
  change-set flow are not exercised here; ``tests/e2e/test_sam_deploy.py`` runs SAM's
  packaging and change sets, ``make deploy-local`` the build too (it needs the network).
- The zip holds the CodeUri directory's source (the ``weightshift`` package and
  ``requirements.txt``), not the third-party wheels a build adds, and moto never
  runs it: the in-process Lambda patch imports the function's ``Handler`` from the
  local checkout (the same source) and runs it on the local Python, with the
  deployed function's environment.
- IAM policies are created but not evaluated (moto does not enforce them);
  cfn-lint and checkov cover them.
- Resource types moto's CloudFormation does not support are skipped with a
  warning while the stack still completes; :attr:`Deployed.skipped` lists them
  (today: the SQS queue policies and the optional e-mail subscription).

A deploy that fails (a custom resource answering FAILED, say) is rolled back as
CloudFormation does (``cfn_custom.py``), and :func:`deploy` raises
:class:`DeployFailed` with the stack's status and each failed resource's reason,
the lines ``sam deploy`` prints from the stack events. A stack left in
``ROLLBACK_COMPLETE`` by a failed create cannot be updated: ``sam deploy`` then
sends an UPDATE change set, CloudFormation answers "Stack:<id> is in
ROLLBACK_COMPLETE state and can not be updated." and ``sam deploy`` fails with it
(aws-sam-cli 1.170, ``samcli/lib/deploy/deployer.py``: ``has_stack`` is true for
any status but REVIEW_IN_PROGRESS, and only ``--on-failure DELETE`` deletes the
failed stack). :func:`deploy` does the same: it raises :class:`DeployFailed` with
that message; :func:`delete` the stack first.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from moto.cloudformation.parsing import NULL_MODELS, get_model_map
from samtranslator.internal.managed_policies import get_bundled_managed_policy_map
from samtranslator.translator.transform import transform

from weightshift_emulator.install import parse_template
from weightshift_emulator.world import ROOT

ARTIFACT_BUCKET = "weightshift-artifacts"
_ZIP_DATE = (2020, 1, 1, 0, 0, 0)  # fixed, so the same source gives the same zip and S3 key


@dataclass
class Deployed:
    """A stack created from ``template.yaml``: what a user would read in the console."""

    stack_name: str
    stack_id: str
    status: str
    outputs: dict[str, str]
    functions: dict[str, str]  # logical id -> physical function name
    rules: dict[str, str]  # logical id -> physical EventBridge rule name
    resources: dict[str, str]  # logical id -> physical id, for every created resource
    skipped: dict[str, str]  # logical id -> a type moto's CloudFormation does not support (not created)
    template: dict[str, Any] = field(repr=False)  # the transformed CloudFormation template

    @property
    def state_machine_arn(self) -> str:
        return self.outputs["StateMachineArn"]

    @property
    def table_name(self) -> str:
        return self.outputs["DeploymentsTableName"]

    @property
    def topic_arn(self) -> str:
        return self.outputs["NotificationTopicArn"]

    @property
    def trigger_function(self) -> str:
        return self.outputs["TriggerFunctionName"]


class _BundledPolicies:
    """A managed-policy loader that needs no IAM call: the translator's bundled map."""

    def __init__(self, partition: str) -> None:
        self.partition = partition

    def load(self) -> dict[str, str]:
        return dict(get_bundled_managed_policy_map(self.partition) or {})


def load_template(path: Path | None = None) -> dict[str, Any]:
    """The SAM template, with ``!Ref``/``!GetAtt``/``!Sub`` read as SAM reads them."""
    return dict(parse_template((path or ROOT / "template.yaml").read_text()))


def zip_code(code_dir: Path) -> bytes:
    """A deterministic zip of a CodeUri directory (no caches, no build leftovers)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(code_dir.rglob("*")):
            rel = path.relative_to(code_dir)
            if path.is_dir() or "__pycache__" in rel.parts or path.suffix == ".pyc" or rel.name == "Makefile":
                continue
            info = zipfile.ZipInfo(rel.as_posix(), _ZIP_DATE)
            info.external_attr = 0o644 << 16
            zf.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def _ensure_bucket(s3: Any, bucket: str) -> None:
    region = s3.meta.region_name
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        s3.create_bucket(**kwargs)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise


def _upload(s3: Any, bucket: str, data: bytes, suffix: str) -> str:
    key = hashlib.md5(data, usedforsecurity=False).hexdigest() + suffix  # sam package names objects by MD5
    s3.put_object(Bucket=bucket, Key=key, Body=data)
    return key


def package(template: dict[str, Any], s3: Any, bucket: str = ARTIFACT_BUCKET, root: Path = ROOT) -> dict[str, Any]:
    """Upload local CodeUri/DefinitionUri to S3 and point the template at them (``sam package``)."""
    _ensure_bucket(s3, bucket)
    zips: dict[Path, str] = {}

    def code_location(uri: Any) -> Any:
        if not isinstance(uri, str) or uri.startswith("s3://"):
            return uri
        directory = (root / uri).resolve()
        if directory not in zips:
            zips[directory] = _upload(s3, bucket, zip_code(directory), ".zip")
        return f"s3://{bucket}/{zips[directory]}"

    function_globals = template.get("Globals", {}).get("Function", {})
    if "CodeUri" in function_globals:
        function_globals["CodeUri"] = code_location(function_globals["CodeUri"])
    for resource in template.get("Resources", {}).values():
        props = resource.get("Properties", {})
        if resource.get("Type") == "AWS::Serverless::Function" and "CodeUri" in props:
            props["CodeUri"] = code_location(props["CodeUri"])
        if resource.get("Type") == "AWS::Serverless::StateMachine" and isinstance(props.get("DefinitionUri"), str):
            key = _upload(s3, bucket, (root / props["DefinitionUri"]).read_bytes(), ".json")
            props["DefinitionUri"] = {"Bucket": bucket, "Key": key}
    return template


def to_cloudformation(template: dict[str, Any], parameters: dict[str, str], region: str) -> dict[str, Any]:
    """The SAM transform, offline. The translator needs a region in the environment."""
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    partition = "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"
    values: dict[str, Any] = {**parameters, "AWS::Region": region, "AWS::Partition": partition}
    return dict(transform(template, values, _BundledPolicies(partition)))


class DeployFailed(RuntimeError):
    """A stack operation that did not complete: the stack's status and the failure events
    (resource status, type, logical id, reason), as ``sam deploy`` prints them."""

    action = "create/update"

    def __init__(self, stack_name: str, status: str, failures: list[dict[str, Any]], detail: str = "") -> None:
        self.stack_name = stack_name
        self.status = status
        self.failures = failures
        self.detail = detail
        lines = [f"Failed to {self.action} the stack: {stack_name}, " + (detail or f"it ended {status}")]
        for e in failures:
            reason = e.get("ResourceStatusReason", "")
            lines.append(f"  {e['ResourceStatus']}  {e['ResourceType']}  {e['LogicalResourceId']}  {reason}")
        super().__init__("\n".join(lines))

    @property
    def reasons(self) -> dict[str, str]:
        """Logical id -> the reason of its first failure event (the stack's own id included)."""
        found: dict[str, str] = {}
        for event in self.failures:
            found.setdefault(event["LogicalResourceId"], event.get("ResourceStatusReason", ""))
        return found


class DeleteFailed(DeployFailed):
    """A stack delete that ended DELETE_FAILED."""

    action = "delete"


def _stack_status(cfn: Any, name: str) -> tuple[str, str] | None:
    """(status, stack id) of the stack called ``name``, or None if there is none."""
    try:
        stacks = cfn.describe_stacks(StackName=name)["Stacks"]
    except ClientError:
        return None
    live = [s for s in stacks if s["StackStatus"] != "DELETE_COMPLETE"]
    return (live[0]["StackStatus"], live[0]["StackId"]) if live else None


def _last_event_id(cfn: Any, stack_id: str) -> str | None:
    events = cfn.describe_stack_events(StackName=stack_id)["StackEvents"]
    return str(events[0]["EventId"]) if events else None


def events_since(cfn: Any, stack_id: str, marker: str | None) -> list[dict[str, Any]]:
    """The stack's events after ``marker`` (an EventId), oldest first."""
    newer: list[dict[str, Any]] = []
    for event in cfn.describe_stack_events(StackName=stack_id)["StackEvents"]:  # newest first
        if event["EventId"] == marker:
            break
        newer.append(event)
    return newer[::-1]


def _failures(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events ``sam deploy`` shows as the cause: failed resources, the stack's reasons."""
    return [
        e
        for e in events
        if e["ResourceStatus"].endswith("_FAILED")
        or (
            e["ResourceType"] == "AWS::CloudFormation::Stack"
            and e.get("ResourceStatusReason", "User Initiated") != "User Initiated"
        )
    ]


def deploy(
    clients: dict[str, Any],
    parameters: dict[str, str],
    stack_name: str = "weightshift",
    template_path: Path | None = None,
) -> Deployed:
    """Package, transform and create (or update) the stack; return what it created.

    The emulator must have ``patches.install()`` and ``cfn_patches.install()`` applied,
    with the Step Functions engine on, before this runs (``server.start_emulator`` and
    the e2e fixtures do both).
    """
    cfn = clients["cloudformation"]
    region = cfn.meta.region_name
    template = package(load_template(template_path), clients["s3"])
    cloudformation = to_cloudformation(template, parameters, region)
    request = {
        "StackName": stack_name,
        "TemplateBody": json.dumps(cloudformation),
        "Parameters": [{"ParameterKey": k, "ParameterValue": str(v)} for k, v in parameters.items()],
        "Capabilities": ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
    }
    with _quiet_moto():
        existing = _stack_status(cfn, stack_name)
        marker = _last_event_id(cfn, existing[1]) if existing else None
        try:
            operation = cfn.update_stack if existing else cfn.create_stack
            stack_id = operation(**request)["StackId"]
        except ClientError as exc:
            hint = ""
            if existing and existing[0] == "ROLLBACK_COMPLETE":
                hint = " (a stack whose create was rolled back can only be deleted: delete it, then deploy again)"
            raise DeployFailed(stack_name, existing[0] if existing else "", [], f"{exc}{hint}") from exc
    status = cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"]
    if status not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        raise DeployFailed(stack_name, status, _failures(events_since(cfn, stack_id, marker)))
    return describe(clients, stack_name, cloudformation)


def delete(clients: dict[str, Any], stack_name: str) -> None:
    """Delete the stack (custom resources get their Delete); :class:`DeleteFailed` if it ends DELETE_FAILED."""
    cfn = clients["cloudformation"]
    existing = _stack_status(cfn, stack_name)
    if existing is None:
        return
    stack_id = existing[1]
    marker = _last_event_id(cfn, stack_id)
    with _quiet_moto():
        cfn.delete_stack(StackName=stack_id)
    status = cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"]
    if status != "DELETE_COMPLETE":
        failures = _failures(events_since(cfn, stack_id, marker))
        raise DeleteFailed(stack_name, status, failures, f"the delete ended {status}")


@contextmanager
def _quiet_moto() -> Iterator[None]:
    """moto warns about each unsupported resource type whenever it parses the stack
    (create, list resources); :attr:`Deployed.skipped` reports them once instead."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Tried to parse .* not supported by moto", category=UserWarning)
        yield


def unsupported(types: dict[str, str]) -> dict[str, str]:
    """The resources moto's CloudFormation skips (it warns and still completes the stack)."""
    known = get_model_map()
    return {k: t for k, t in types.items() if t not in known and t not in NULL_MODELS and not t.startswith("Custom::")}


def describe(clients: dict[str, Any], stack_name: str, template: dict[str, Any] | None = None) -> Deployed:
    cfn = clients["cloudformation"]
    stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    if not stack["StackStatus"].endswith("_COMPLETE") or "ROLLBACK" in stack["StackStatus"]:
        raise DeployFailed(stack_name, stack["StackStatus"], [], f"the stack is {stack['StackStatus']}")
    with _quiet_moto():
        summaries = cfn.list_stack_resources(StackName=stack_name)["StackResourceSummaries"]
    template = template or dict(cfn.get_template(StackName=stack_name)["TemplateBody"])
    declared = {k: v["Type"] for k, v in template.get("Resources", {}).items()}
    created = {s["LogicalResourceId"]: s.get("PhysicalResourceId", "") for s in summaries}
    by_type = {s["LogicalResourceId"]: s["ResourceType"] for s in summaries}

    def of_type(kind: str) -> dict[str, str]:
        return {k: v for k, v in created.items() if by_type.get(k) == kind}

    return Deployed(
        stack_name=stack_name,
        stack_id=stack["StackId"],
        status=stack["StackStatus"],
        outputs={o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])},
        functions=of_type("AWS::Lambda::Function"),
        rules=of_type("AWS::Events::Rule"),
        resources={k: v for k, v in created.items() if v},
        skipped=unsupported(declared),
        template=template,
    )
