"""The shapes of what AWS sends the functions: EventBridge events and CloudFormation's
custom resource requests, as Pydantic models that Powertools' ``parse`` validates.

Why not Powertools' own models (``aws_lambda_powertools.utilities.parser.models``):
importing any one of them runs that package's ``__init__``, which builds every model it
ships (about sixty event types: API Gateway, SQS, Kinesis, S3...). That cost about 100 ms
per cold start, as much as the whole of Pydantic and 40% of what a handler may add to a
bare ``import boto3`` (issue 12; ``make bench``). The fields below are those models' own,
with the same names, aliases and types, taken from:

- EventBridge: "Amazon EventBridge events", event structure,
  https://docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html
  (Powertools ``models/event_bridge.py``);
- CloudFormation: "Custom resource request objects",
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/crpg-ref-requests.html
  (Powertools ``models/cloudformation_custom_resource.py``).

``detail`` is each event's own model. ``ResponseURL`` must be an http(s) URL, as
Powertools' ``HttpUrl`` field required (the answer is PUT to it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


class EventBridgeEvent(BaseModel):
    """The envelope every EventBridge event has; a subclass gives ``detail`` its model."""

    model_config = ConfigDict(populate_by_name=True)

    version: str
    id: str
    source: str
    account: str
    time: datetime
    region: str
    resources: list[str]
    detail_type: str = Field(alias="detail-type")
    detail: Any
    replay_name: str | None = Field(default=None, alias="replay-name")


# ---------------------------------------------------------------- ECS Task State Change
class EcsTaskDetail(BaseModel):
    """The parts of an "ECS Task State Change" detail that Weightshift reads."""

    model_config = ConfigDict(extra="ignore")

    # The upper bounds make junk that DynamoDB would refuse (a key over 2048 bytes, an
    # item over 400 KB, a number over 38 digits) "malformed" here, instead of an error
    # that EventBridge retries for a day. Real values are far shorter: a task ARN is
    # about 100 ASCII characters (500 even in 4-byte UTF-8 keeps TASK#<arn> under 2048
    # bytes), ``startedBy`` at most 128, and ``version`` is a 64-bit counter.
    clusterArn: str = Field(min_length=1, max_length=2048)  # noqa: N815 - ECS's own field name
    taskArn: str = Field(min_length=1, max_length=500)  # noqa: N815
    taskDefinitionArn: str = Field(min_length=1, max_length=2048)  # noqa: N815
    group: str = Field(min_length=1, max_length=2048)
    lastStatus: str = Field(min_length=1)  # noqa: N815
    version: int = Field(ge=0, le=2**63 - 1)
    startedBy: str | None = Field(default=None, max_length=1024)  # noqa: N815
    desiredStatus: str | None = None  # noqa: N815


class EcsTaskEvent(EventBridgeEvent):
    detail: EcsTaskDetail


# ---------------------------------------------------------------- CloudWatch Alarm State Change
class AlarmState(BaseModel):
    model_config = ConfigDict(extra="ignore")
    value: str
    reason: str = ""
    timestamp: str = ""


class AlarmDetail(BaseModel):
    model_config = ConfigDict(extra="ignore")
    alarmName: str  # noqa: N815 - the event's own field name
    state: AlarmState


class AlarmStateChange(EventBridgeEvent):
    detail: AlarmDetail


# ---------------------------------------------------------------- CloudFormation custom resource
def _http_url(url: str) -> str:
    if not url.lower().startswith(("https://", "http://")) or len(url) < len("http://x"):
        raise ValueError("expected an http(s) URL")
    return url


class _CustomResourceRequest(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    service_token: str = Field(alias="ServiceToken")
    response_url: Annotated[str, AfterValidator(_http_url)] = Field(alias="ResponseURL")
    stack_id: str = Field(alias="StackId")
    request_id: str = Field(alias="RequestId")
    logical_resource_id: str = Field(alias="LogicalResourceId")
    resource_type: str = Field(alias="ResourceType")
    resource_properties: dict[str, Any] | None = Field(default=None, alias="ResourceProperties")


class CreateRequest(_CustomResourceRequest):
    request_type: Literal["Create"] = Field(alias="RequestType")


class UpdateRequest(_CustomResourceRequest):
    request_type: Literal["Update"] = Field(alias="RequestType")
    physical_resource_id: str = Field(alias="PhysicalResourceId")
    old_resource_properties: dict[str, Any] | None = Field(default=None, alias="OldResourceProperties")


class DeleteRequest(_CustomResourceRequest):
    request_type: Literal["Delete"] = Field(alias="RequestType")
    physical_resource_id: str = Field(alias="PhysicalResourceId")


CustomResourceRequest = CreateRequest | UpdateRequest | DeleteRequest


class CustomResourceEvent(BaseModel):
    """One request, told apart by its RequestType."""

    request: CustomResourceRequest = Field(discriminator="request_type")
