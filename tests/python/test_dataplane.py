"""AppConfigData through boto3 ('appconfigdata'): a session's first read, an unchanged (empty)
read after the poll interval, and the new bytes after a deployment (issue 5).

The server runs with --time-scale 60, so the 15 s poll interval is 0.25 s of wall time.
"""

import json
import time

import pytest
from botocore.exceptions import ClientError

INTERVAL = 0.3  # 15 s at --time-scale 60, plus a margin


@pytest.fixture(scope="module")
def fast_server(start_server):
    # Nothing in these tests calls out, but the server must never reach real AWS anyway.
    mp = pytest.MonkeyPatch()
    mp.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
    try:
        return start_server("--time-scale", "60")
    finally:
        mp.undo()


def wait_complete(client, app_id, env_id, number, timeout=30):
    deadline = time.time() + timeout
    while True:
        d = client.get_deployment(ApplicationId=app_id, EnvironmentId=env_id, DeploymentNumber=number)
        if d["State"] == "COMPLETE":
            return d
        assert time.time() < deadline, d
        time.sleep(0.05)


def deploy(client, app_id, env_id, profile_id, strategy_id, content, label=None):
    kwargs = {"VersionLabel": label} if label else {}
    version = client.create_hosted_configuration_version(
        ApplicationId=app_id,
        ConfigurationProfileId=profile_id,
        Content=json.dumps(content).encode(),
        ContentType="application/json",
        **kwargs,
    )["VersionNumber"]
    d = client.start_deployment(
        ApplicationId=app_id,
        EnvironmentId=env_id,
        ConfigurationProfileId=profile_id,
        ConfigurationVersion=str(version),
        DeploymentStrategyId=strategy_id,
    )
    return wait_complete(client, app_id, env_id, d["DeploymentNumber"])


def test_session_first_read_unchanged_read_and_new_deployment(fast_server, unique):
    client = fast_server.client()
    data = fast_server.client("appconfigdata")
    app = client.create_application(Name=unique)["Id"]
    env = client.create_environment(ApplicationId=app, Name="prod")["Id"]
    profile = client.create_configuration_profile(ApplicationId=app, Name="main", LocationUri="hosted")["Id"]
    strategy = client.create_deployment_strategy(
        Name=f"{unique}-instant", DeploymentDurationInMinutes=0, GrowthFactor=100, FinalBakeTimeInMinutes=0
    )["Id"]
    deploy(client, app, env, profile, strategy, {"v": 1}, label="one")

    # By names.
    session = data.start_configuration_session(
        ApplicationIdentifier=unique,
        EnvironmentIdentifier="prod",
        ConfigurationProfileIdentifier="main",
        RequiredMinimumPollIntervalInSeconds=15,
    )
    assert session["ResponseMetadata"]["HTTPStatusCode"] == 201
    token = session["InitialConfigurationToken"]

    first = data.get_latest_configuration(ConfigurationToken=token)
    assert json.loads(first["Configuration"].read()) == {"v": 1}
    assert first["ContentType"] == "application/json"
    assert first["VersionLabel"] == "one"
    assert first["NextPollIntervalInSeconds"] == 15
    token = first["NextPollConfigurationToken"]

    # Too early.
    with pytest.raises(ClientError) as info:
        data.get_latest_configuration(ConfigurationToken=token)
    err = info.value.response
    assert err["Error"]["Code"] == "BadRequestException", err
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert err["Details"]["InvalidParameters"]["ConfigurationToken"]["Problem"] == "PollIntervalNotSatisfied", err

    # Unchanged after the interval: 200, empty body, new token.
    time.sleep(INTERVAL)
    same = data.get_latest_configuration(ConfigurationToken=token)
    assert same["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert same["Configuration"].read() == b""
    assert same["NextPollConfigurationToken"] not in ("", token)
    token = same["NextPollConfigurationToken"]

    # A new deployment: its bytes on the next poll.
    deploy(client, app, env, profile, strategy, {"v": 2})
    time.sleep(INTERVAL)
    changed = data.get_latest_configuration(ConfigurationToken=token)
    assert json.loads(changed["Configuration"].read()) == {"v": 2}
    assert changed["ContentType"] == "application/json"
    assert not changed.get("VersionLabel")


def test_errors_as_boto3_sees_them(fast_server, unique):
    data = fast_server.client("appconfigdata")
    client = fast_server.client()
    app = client.create_application(Name=unique)["Id"]
    with pytest.raises(ClientError) as info:
        data.start_configuration_session(
            ApplicationIdentifier=app, EnvironmentIdentifier="nope", ConfigurationProfileIdentifier="nope"
        )
    err = info.value.response
    assert err["Error"]["Code"] == "ResourceNotFoundException", err
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert err["ResourceType"] == "Environment", err
    assert err["ReferencedBy"] == {"EnvironmentIdentifier": "nope"}, err

    with pytest.raises(ClientError) as info:
        data.get_latest_configuration(ConfigurationToken="not-a-token")
    err = info.value.response
    assert err["Error"]["Code"] == "BadRequestException", err
    assert err["Details"]["InvalidParameters"]["ConfigurationToken"]["Problem"] == "Corrupted", err
