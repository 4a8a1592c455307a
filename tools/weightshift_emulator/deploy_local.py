"""The first step of ``make deploy-local``: make sure the deploy goes to a local emulator, and give it
the artifact bucket samconfig.toml's ``[local]`` environment names.

``make deploy-local`` then runs the real ``sam build --config-env local`` and ``sam deploy
--config-env local`` with dummy credentials. Every AWS call of those goes to ``AWS_ENDPOINT_URL``,
so this refuses to go on unless that is a loopback address (and no per-service endpoint or
``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`` sends a call elsewhere): ``make deploy`` is the way to AWS.

The bucket: on AWS, ``sam deploy`` uploads to a bucket you made once (``--s3-bucket``) or to the
one SAM manages (``--resolve-s3``, a CloudFormation stack of SAM's). The emulator starts empty, so
the bucket is made here, as a user would make theirs. The ``[local]`` parameters are the ids of
the surroundings ``world.build_surroundings(..., seed=LOCAL_SEED)`` makes in a fresh emulator.

The emulator runs the functions in-process from this checkout: the code ``sam build`` built and
``sam deploy`` uploaded is stored, never run.
"""

from __future__ import annotations

import os
import sys
import tomllib
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.exceptions import ClientError

from weightshift_emulator.world import ROOT

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def refusal(environ: dict[str, str]) -> str | None:
    """Why the environment could send a call to somewhere other than a local emulator, or None."""
    endpoint = environ.get("AWS_ENDPOINT_URL", "")
    if urlsplit(endpoint).hostname not in LOOPBACK:
        return (
            f"AWS_ENDPOINT_URL is {endpoint or 'not set'}: make deploy-local deploys only into a local emulator "
            "(AWS_ENDPOINT_URL=http://127.0.0.1:<port>; make emulator starts one). To deploy to AWS: make deploy."
        )
    for key, value in environ.items():
        if key.startswith("AWS_ENDPOINT_URL_") and urlsplit(value).hostname not in LOOPBACK:
            return f"{key}={value} would send those calls outside the emulator: unset it"
    if environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() == "true":
        return "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true would send every call to AWS: unset it"
    return None


def local_config() -> dict[str, Any]:
    return dict(tomllib.loads((ROOT / "samconfig.toml").read_text())["local"])


def ensure_bucket(endpoint: str, bucket: str, region: str) -> None:
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - the emulator's dummy credentials
        aws_session_token="testing",  # noqa: S106
    )
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        s3.create_bucket(**kwargs)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "BucketAlreadyOwnedByYou":
            raise


def main() -> int:
    why = refusal(dict(os.environ))
    if why:
        print(f"deploy-local: {why}", file=sys.stderr)
        return 2
    config = local_config()
    bucket = str(config["deploy"]["parameters"]["s3_bucket"])
    region = str(config["global"]["parameters"]["region"])
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    ensure_bucket(endpoint, bucket, region)
    print(f"deploy-local: artifact bucket s3://{bucket} ready in the emulator at {endpoint}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
