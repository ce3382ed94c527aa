"""appconfigd driven by unmodified AWS clients: boto3 (botocore's own model, paginators and
waiters) and the AWS CLI. These prove wire compatibility from a second SDK family besides the
Rust SDK used by tests/api."""

import json

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, WaiterError

ACCOUNT = "000000000000"
REGION = "us-east-1"
PREDEFINED_STRATEGIES = {
    "AppConfig.AllAtOnce",
    "AppConfig.Linear50PercentEvery30Seconds",
    "AppConfig.Canary10Percent20Minutes",
    "AppConfig.Linear20PercentEvery6Minutes",
}


def arn(resource):
    return f"arn:aws:appconfig:{REGION}:{ACCOUNT}:{resource}"


def expect_error(code, status, call, *args, **kwargs):
    """Runs `call`, asserts it fails with `code`/`status` as boto3 sees it, returns the response."""
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    response = info.value.response
    assert response["Error"]["Code"] == code, response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == status, response
    assert response["Error"]["Message"], response
    return response


@pytest.fixture()
def app(client, unique):
    """An application that tests may fill; cleaned up best-effort afterwards."""
    created = client.create_application(Name=unique, Description="python tests")
    yield created
    app_id = created["Id"]
    try:
        for env in client.list_environments(ApplicationId=app_id)["Items"]:
            client.delete_environment(ApplicationId=app_id, EnvironmentId=env["Id"])
        for prof in client.list_configuration_profiles(ApplicationId=app_id)["Items"]:
            versions = client.list_hosted_configuration_versions(
                ApplicationId=app_id, ConfigurationProfileId=prof["Id"]
            )["Items"]
            for v in versions:
                client.delete_hosted_configuration_version(
                    ApplicationId=app_id,
                    ConfigurationProfileId=prof["Id"],
                    VersionNumber=v["VersionNumber"],
                )
            client.delete_configuration_profile(ApplicationId=app_id, ConfigurationProfileId=prof["Id"])
        client.delete_application(ApplicationId=app_id)
    except ClientError:
        pass


@pytest.fixture()
def hosted_profile(client, app):
    return client.create_configuration_profile(
        ApplicationId=app["Id"], Name="hosted-profile", LocationUri="hosted"
    )


# --- full lifecycle ----------------------------------------------------------------------------


def test_full_lifecycle(client, unique):
    created = client.create_application(Name=unique, Description="lifecycle", Tags={"team": "py"})
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    app_id = created["Id"]
    assert len(app_id) == 7 and app_id.isalnum()
    assert created["Name"] == unique
    assert created["Description"] == "lifecycle"
    assert client.get_application(ApplicationId=app_id)["Name"] == unique

    updated = client.update_application(ApplicationId=app_id, Description="changed")
    assert updated["Name"] == unique and updated["Description"] == "changed"

    env = client.create_environment(ApplicationId=app_id, Name="prod", Description="production")
    assert env["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert env["ApplicationId"] == app_id
    assert env["State"] == "ReadyForDeployment"
    got_env = client.get_environment(ApplicationId=app_id, EnvironmentId=env["Id"])
    assert got_env["Name"] == "prod" and got_env["State"] == "ReadyForDeployment"
    renamed = client.update_environment(ApplicationId=app_id, EnvironmentId=env["Id"], Name="production")
    assert renamed["Name"] == "production" and renamed["Description"] == "production"
    assert [e["Id"] for e in client.list_environments(ApplicationId=app_id)["Items"]] == [env["Id"]]

    profile = client.create_configuration_profile(
        ApplicationId=app_id, Name="settings", LocationUri="hosted", Description="app settings"
    )
    assert profile["ResponseMetadata"]["HTTPStatusCode"] == 201
    prof_id = profile["Id"]
    assert profile["ApplicationId"] == app_id
    assert profile["LocationUri"] == "hosted"
    assert profile["Type"] == "AWS.Freeform"
    summaries = client.list_configuration_profiles(ApplicationId=app_id)["Items"]
    assert [(s["Id"], s["Name"], s["Type"]) for s in summaries] == [(prof_id, "settings", "AWS.Freeform")]
    assert client.list_configuration_profiles(ApplicationId=app_id, Type="AWS.AppConfig.FeatureFlags")["Items"] == []

    # Hosted versions: bytes (including non-UTF-8) and metadata round-trip through headers.
    payloads = [b'{"feature": true}\n', b"\x00\x01\xfe\xff binary \r\n"]
    versions = []
    for i, content in enumerate(payloads, start=1):
        v = client.create_hosted_configuration_version(
            ApplicationId=app_id,
            ConfigurationProfileId=prof_id,
            Content=content,
            ContentType="application/json" if i == 1 else "application/octet-stream",
            VersionLabel=f"v{i}.0",
            Description=f"version {i}",
        )
        assert v["ResponseMetadata"]["HTTPStatusCode"] == 201
        assert v["ApplicationId"] == app_id
        assert v["ConfigurationProfileId"] == prof_id
        assert v["VersionNumber"] == i
        assert v["VersionLabel"] == f"v{i}.0"
        assert v["Description"] == f"version {i}"
        assert v["Content"].read() == content
        versions.append(v)
    assert versions[0]["ContentType"] == "application/json"
    assert versions[1]["ContentType"] == "application/octet-stream"

    for i, content in enumerate(payloads, start=1):
        got = client.get_hosted_configuration_version(
            ApplicationId=app_id, ConfigurationProfileId=prof_id, VersionNumber=i
        )
        assert got["Content"].read() == content
        assert got["ApplicationId"] == app_id
        assert got["ConfigurationProfileId"] == prof_id
        assert got["VersionNumber"] == i
        assert got["ContentType"] == versions[i - 1]["ContentType"]
        assert got["VersionLabel"] == f"v{i}.0"

    listed = client.list_hosted_configuration_versions(ApplicationId=app_id, ConfigurationProfileId=prof_id)
    assert [v["VersionNumber"] for v in listed["Items"]] == [1, 2]
    assert "NextToken" not in listed
    only_v2 = client.list_hosted_configuration_versions(
        ApplicationId=app_id, ConfigurationProfileId=prof_id, VersionLabel="v2.0"
    )["Items"]
    assert len(only_v2) == 1
    assert only_v2[0]["VersionNumber"] == 2
    assert only_v2[0]["VersionLabel"] == "v2.0"
    assert only_v2[0]["ContentType"] == "application/octet-stream"
    assert "Content" not in only_v2[0]
    wildcard = client.list_hosted_configuration_versions(
        ApplicationId=app_id, ConfigurationProfileId=prof_id, VersionLabel="v*"
    )["Items"]
    assert [v["VersionNumber"] for v in wildcard] == [1, 2]
    assert (
        client.list_hosted_configuration_versions(
            ApplicationId=app_id, ConfigurationProfileId=prof_id, VersionLabel="nope"
        )["Items"]
        == []
    )

    # Tear down in order; each delete answers 204 and the resource is gone afterwards.
    for n in (1, 2):
        deleted = client.delete_hosted_configuration_version(
            ApplicationId=app_id, ConfigurationProfileId=prof_id, VersionNumber=n
        )
        assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    expect_error(
        "ResourceNotFoundException",
        404,
        client.get_hosted_configuration_version,
        ApplicationId=app_id,
        ConfigurationProfileId=prof_id,
        VersionNumber=1,
    )
    assert (
        client.delete_configuration_profile(ApplicationId=app_id, ConfigurationProfileId=prof_id)[
            "ResponseMetadata"
        ]["HTTPStatusCode"]
        == 204
    )
    assert (
        client.delete_environment(ApplicationId=app_id, EnvironmentId=env["Id"])["ResponseMetadata"][
            "HTTPStatusCode"
        ]
        == 204
    )
    assert client.delete_application(ApplicationId=app_id)["ResponseMetadata"]["HTTPStatusCode"] == 204
    expect_error("ResourceNotFoundException", 404, client.get_application, ApplicationId=app_id)


def test_hosted_version_numbers_are_not_reused_and_latest_version_number_is_checked(
    client, app, hosted_profile
):
    ids = dict(ApplicationId=app["Id"], ConfigurationProfileId=hosted_profile["Id"])
    first = client.create_hosted_configuration_version(**ids, Content=b"1", ContentType="text/plain")
    assert first["VersionNumber"] == 1
    second = client.create_hosted_configuration_version(
        **ids, Content=b"2", ContentType="text/plain", LatestVersionNumber=1
    )
    assert second["VersionNumber"] == 2
    client.delete_hosted_configuration_version(**ids, VersionNumber=2)
    third = client.create_hosted_configuration_version(**ids, Content=b"3", ContentType="text/plain")
    assert third["VersionNumber"] == 3


# --- paginators and waiters --------------------------------------------------------------------


def test_list_applications_paginator(start_server):
    client = start_server().client()
    names = [f"page-app-{i}" for i in range(7)]
    for name in names:
        client.create_application(Name=name)
    pages = list(client.get_paginator("list_applications").paginate(PaginationConfig={"PageSize": 3}))
    assert [len(p["Items"]) for p in pages] == [3, 3, 1]
    assert all("NextToken" in p for p in pages[:-1])
    assert "NextToken" not in pages[-1]
    assert [a["Name"] for p in pages for a in p["Items"]] == names

    full = client.get_paginator("list_applications").paginate(
        PaginationConfig={"PageSize": 2, "MaxItems": 5}
    ).build_full_result()
    assert [a["Name"] for a in full["Items"]] == names[:5]
    assert "NextToken" in full
    rest = client.get_paginator("list_applications").paginate(
        PaginationConfig={"PageSize": 2, "StartingToken": full["NextToken"]}
    ).build_full_result()
    assert [a["Name"] for a in rest["Items"]] == names[5:]


def test_list_deployment_strategies_paginator(start_server):
    client = start_server().client()
    custom = []
    for i in range(3):
        s = client.create_deployment_strategy(
            Name=f"strategy-{i}",
            DeploymentDurationInMinutes=10 + i,
            GrowthFactor=25.0,
            FinalBakeTimeInMinutes=1,
            GrowthType="LINEAR",
            ReplicateTo="NONE",
        )
        assert s["ResponseMetadata"]["HTTPStatusCode"] == 201
        custom.append(s["Id"])
    pages = list(
        client.get_paginator("list_deployment_strategies").paginate(PaginationConfig={"PageSize": 2})
    )
    assert [len(p["Items"]) for p in pages] == [2, 2, 2, 1]
    ids = [s["Id"] for p in pages for s in p["Items"]]
    assert len(ids) == len(set(ids)) == 7
    assert PREDEFINED_STRATEGIES <= set(ids)
    assert set(ids) - PREDEFINED_STRATEGIES == set(custom)

    by_id = {s["Id"]: s for p in pages for s in p["Items"]}
    all_at_once = by_id["AppConfig.AllAtOnce"]
    assert all_at_once["DeploymentDurationInMinutes"] == 0
    assert all_at_once["GrowthFactor"] == 100.0
    assert all_at_once["GrowthType"] == "LINEAR"
    assert all_at_once["ReplicateTo"] == "NONE"


def test_environment_ready_for_deployment_waiter(client, app):
    env = client.create_environment(ApplicationId=app["Id"], Name="waiter-env")
    waiter = client.get_waiter("environment_ready_for_deployment")
    # Succeeds on the first poll (no sleeping) because State is the CamelCase "ReadyForDeployment".
    waiter.wait(
        ApplicationId=app["Id"],
        EnvironmentId=env["Id"],
        WaiterConfig={"Delay": 1, "MaxAttempts": 2},
    )


# --- errors as boto3 sees them -----------------------------------------------------------------


def test_not_found_errors(client, app, hosted_profile):
    r = expect_error("ResourceNotFoundException", 404, client.get_application, ApplicationId="zzzzzzz")
    assert "zzzzzzz" in r["Error"]["Message"]
    a, p = app["Id"], hosted_profile["Id"]
    for call, kwargs in [
        (client.get_environment, dict(ApplicationId=a, EnvironmentId="zzzzzzz")),
        (client.get_configuration_profile, dict(ApplicationId=a, ConfigurationProfileId="zzzzzzz")),
        (client.get_hosted_configuration_version, dict(ApplicationId=a, ConfigurationProfileId=p, VersionNumber=42)),
        (client.get_deployment_strategy, dict(DeploymentStrategyId="zzzzzzz")),
        (client.list_environments, dict(ApplicationId="zzzzzzz")),
    ]:
        expect_error("ResourceNotFoundException", 404, call, **kwargs)
    # A resource of another application is not found through this one.
    other = client.create_application(Name="other-app")
    try:
        expect_error(
            "ResourceNotFoundException", 404, client.get_configuration_profile, ApplicationId=other["Id"], ConfigurationProfileId=p
        )
    finally:
        client.delete_application(ApplicationId=other["Id"])


def test_bad_request_errors(client, app, server):
    # Children still exist.
    client.create_environment(ApplicationId=app["Id"], Name="blocker")
    expect_error("BadRequestException", 400, client.delete_application, ApplicationId=app["Id"])
    # Predefined strategies are immutable.
    r = expect_error(
        "BadRequestException", 400, client.delete_deployment_strategy, DeploymentStrategyId="AppConfig.AllAtOnce"
    )
    assert "AppConfig.AllAtOnce" in r["Error"]["Message"]
    expect_error(
        "BadRequestException",
        400,
        client.update_deployment_strategy,
        DeploymentStrategyId="AppConfig.AllAtOnce",
        Description="x",
    )
    # Unsupported location.
    expect_error(
        "BadRequestException",
        400,
        client.create_configuration_profile,
        ApplicationId=app["Id"],
        Name="bad",
        LocationUri="ftp://example.com/config",
    )
    # Model constraints are enforced by the server too (with botocore's own checks switched off).
    raw = boto3.client(
        "appconfig",
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id="x",
        aws_secret_access_key="y",
        config=Config(parameter_validation=False, retries={"max_attempts": 1}),
    )
    r = expect_error("BadRequestException", 400, raw.create_application, Name="")
    assert "name" in r["Error"]["Message"]
    expect_error("BadRequestException", 400, raw.list_applications, MaxResults=51)
    expect_error("BadRequestException", 400, raw.create_application, Name="x" * 65)
    expect_error("BadRequestException", 400, raw.list_applications, NextToken="not-a-token")


def test_conflict_errors(client, app, hosted_profile):
    ids = dict(ApplicationId=app["Id"], ConfigurationProfileId=hosted_profile["Id"])
    client.create_hosted_configuration_version(**ids, Content=b"{}", ContentType="application/json", VersionLabel="dup")
    body = dict(**ids, Content=b"{}", ContentType="application/json")
    expect_error("ConflictException", 409, client.create_hosted_configuration_version, **body, VersionLabel="dup")
    expect_error("ConflictException", 409, client.create_hosted_configuration_version, **body, LatestVersionNumber=7)


def test_quota_and_payload_errors(start_server):
    client = start_server("--quota-applications", "1", "--max-configuration-bytes", "16").client()
    app = client.create_application(Name="only-one")
    expect_error("ServiceQuotaExceededException", 402, client.create_application, Name="one-too-many")
    prof = client.create_configuration_profile(ApplicationId=app["Id"], Name="p", LocationUri="hosted")
    r = expect_error(
        "PayloadTooLargeException",
        413,
        client.create_hosted_configuration_version,
        ApplicationId=app["Id"],
        ConfigurationProfileId=prof["Id"],
        Content=b"x" * 17,
        ContentType="text/plain",
    )
    assert r["Measure"] == "KILOBYTES"


def test_feature_flag_validation_error_details(client, app):
    prof = client.create_configuration_profile(
        ApplicationId=app["Id"], Name="flags", LocationUri="hosted", Type="AWS.AppConfig.FeatureFlags"
    )
    assert prof["Type"] == "AWS.AppConfig.FeatureFlags"
    ids = dict(ApplicationId=app["Id"], ConfigurationProfileId=prof["Id"])
    good = {"version": "1", "flags": {"dark": {"name": "Dark mode"}}, "values": {"dark": {"enabled": True}}}
    v = client.create_hosted_configuration_version(
        **ids, Content=json.dumps(good).encode(), ContentType="application/json"
    )
    assert v["VersionNumber"] == 1
    r = expect_error(
        "BadRequestException",
        400,
        client.create_hosted_configuration_version,
        **ids,
        Content=b'{"version": "2", "flags": {}}',
        ContentType="application/json",
    )
    assert r["Reason"] == "InvalidConfiguration"
    assert r["Details"]["InvalidConfiguration"], r


def test_validate_configuration_runs_json_schema(client, app):
    schema = {"type": "object", "required": ["port"], "properties": {"port": {"type": "integer"}}}
    prof = client.create_configuration_profile(
        ApplicationId=app["Id"],
        Name="validated",
        LocationUri="hosted",
        Validators=[{"Type": "JSON_SCHEMA", "Content": json.dumps(schema)}],
    )
    summary = client.list_configuration_profiles(ApplicationId=app["Id"])["Items"][0]
    assert summary["ValidatorTypes"] == ["JSON_SCHEMA"]
    ids = dict(ApplicationId=app["Id"], ConfigurationProfileId=prof["Id"])
    client.create_hosted_configuration_version(**ids, Content=b'{"port": 80}', ContentType="application/json")
    client.create_hosted_configuration_version(**ids, Content=b'{"port": "x"}', ContentType="application/json")
    ok = client.validate_configuration(**ids, ConfigurationVersion="1")
    assert ok["ResponseMetadata"]["HTTPStatusCode"] == 204
    r = expect_error("BadRequestException", 400, client.validate_configuration, **ids, ConfigurationVersion="2")
    assert r["Reason"] == "InvalidConfiguration"
    assert r["Details"]["InvalidConfiguration"][0]["Location"] == "$.port"


# --- deployment strategies, tags, account settings ---------------------------------------------


def test_deployment_strategy_crud(client, unique):
    s = client.create_deployment_strategy(
        Name=unique, DeploymentDurationInMinutes=15, GrowthFactor=10.0, GrowthType="EXPONENTIAL"
    )
    assert s["GrowthType"] == "EXPONENTIAL" and s["FinalBakeTimeInMinutes"] == 0
    got = client.get_deployment_strategy(DeploymentStrategyId=s["Id"])
    assert got["Name"] == unique and got["GrowthFactor"] == 10.0
    updated = client.update_deployment_strategy(DeploymentStrategyId=s["Id"], FinalBakeTimeInMinutes=5)
    assert updated["FinalBakeTimeInMinutes"] == 5 and updated["DeploymentDurationInMinutes"] == 15
    predefined = client.get_deployment_strategy(DeploymentStrategyId="AppConfig.Canary10Percent20Minutes")
    assert predefined["GrowthType"] == "EXPONENTIAL"
    # DeleteDeploymentStrategy is routed at the model's /deployementstrategies/{id} spelling.
    assert client.delete_deployment_strategy(DeploymentStrategyId=s["Id"])["ResponseMetadata"]["HTTPStatusCode"] == 204
    expect_error("ResourceNotFoundException", 404, client.get_deployment_strategy, DeploymentStrategyId=s["Id"])


def test_tags_round_trip(client, app, hosted_profile, unique):
    env = client.create_environment(ApplicationId=app["Id"], Name="tagged", Tags={"tier": "gold"})
    strategy = client.create_deployment_strategy(
        Name=unique, DeploymentDurationInMinutes=1, GrowthFactor=50.0, Tags={"s": "1"}
    )
    try:
        app_arn = arn(f"application/{app['Id']}")
        env_arn = arn(f"application/{app['Id']}/environment/{env['Id']}")
        prof_arn = arn(f"application/{app['Id']}/configurationprofile/{hosted_profile['Id']}")
        strat_arn = arn(f"deploymentstrategy/{strategy['Id']}")

        assert client.list_tags_for_resource(ResourceArn=app_arn)["Tags"] == {}
        assert client.list_tags_for_resource(ResourceArn=env_arn)["Tags"] == {"tier": "gold"}
        assert client.list_tags_for_resource(ResourceArn=strat_arn)["Tags"] == {"s": "1"}

        for resource in (app_arn, env_arn, prof_arn, strat_arn):
            r = client.tag_resource(ResourceArn=resource, Tags={"owner": "py", "env": "test"})
            assert r["ResponseMetadata"]["HTTPStatusCode"] == 204
            tags = client.list_tags_for_resource(ResourceArn=resource)["Tags"]
            assert tags["owner"] == "py" and tags["env"] == "test"
            r = client.untag_resource(ResourceArn=resource, TagKeys=["owner", "absent"])
            assert r["ResponseMetadata"]["HTTPStatusCode"] == 204
            tags = client.list_tags_for_resource(ResourceArn=resource)["Tags"]
            assert "owner" not in tags and tags["env"] == "test"

        # Overwrite a value, and read the predefined strategies (AWS-owned, no tags).
        client.tag_resource(ResourceArn=env_arn, Tags={"tier": "silver"})
        assert client.list_tags_for_resource(ResourceArn=env_arn)["Tags"] == {"tier": "silver", "env": "test"}
        assert client.list_tags_for_resource(ResourceArn=arn("deploymentstrategy/AppConfig.AllAtOnce"))["Tags"] == {}

        expect_error(
            "ResourceNotFoundException", 404, client.list_tags_for_resource, ResourceArn=arn("application/zzzzzzz")
        )
        expect_error("BadRequestException", 400, client.tag_resource, ResourceArn=app_arn, Tags={"aws:x": "1"})
    finally:
        client.delete_deployment_strategy(DeploymentStrategyId=strategy["Id"])


def test_account_settings(start_server):
    client = start_server().client()
    default = client.get_account_settings()
    assert default["DeletionProtection"] == {"Enabled": False, "ProtectionPeriodInMinutes": 60}
    updated = client.update_account_settings(DeletionProtection={"Enabled": True, "ProtectionPeriodInMinutes": 30})
    assert updated["DeletionProtection"] == {"Enabled": True, "ProtectionPeriodInMinutes": 30}
    assert client.get_account_settings()["DeletionProtection"] == {"Enabled": True, "ProtectionPeriodInMinutes": 30}
    # Partial update keeps the other member.
    partial = client.update_account_settings(DeletionProtection={"Enabled": False})
    assert partial["DeletionProtection"] == {"Enabled": False, "ProtectionPeriodInMinutes": 30}


# --- deployments and the data plane ------------------------------------------------------------


def read_deployed(server, app_id, env_id, prof_id):
    """The configuration as clients read it: via the data plane, or None while that is not
    built (appconfigd then answers its documented 404 for unrouted paths / 501)."""
    data = server.client("appconfigdata")
    try:
        token = data.start_configuration_session(
            ApplicationIdentifier=app_id,
            EnvironmentIdentifier=env_id,
            ConfigurationProfileIdentifier=prof_id,
        )["InitialConfigurationToken"]
    except ClientError as e:
        assert e.response["Error"]["Code"] == "ResourceNotFoundException", e.response
        assert "No AppConfig operation matches" in e.response["Error"]["Message"], e.response
        return None
    return data.get_latest_configuration(ConfigurationToken=token)["Configuration"].read()


def test_deployments(start_server):
    # --time-scale 600: AppConfig.AllAtOnce's 10-minute bake takes one second.
    server = start_server("--time-scale", "600")
    client = server.client()
    app_id = client.create_application(Name="deploy-app")["Id"]
    env_id = client.create_environment(ApplicationId=app_id, Name="prod")["Id"]
    prof_id = client.create_configuration_profile(ApplicationId=app_id, Name="cfg", LocationUri="hosted")["Id"]
    ids = dict(ApplicationId=app_id, EnvironmentId=env_id)
    client.create_hosted_configuration_version(
        ApplicationId=app_id,
        ConfigurationProfileId=prof_id,
        Content=b'{"limit": 10}',
        ContentType="application/json",
        VersionLabel="first",
    )

    started = client.start_deployment(
        **ids,
        DeploymentStrategyId="AppConfig.AllAtOnce",
        ConfigurationProfileId=prof_id,
        ConfigurationVersion="first",  # a VersionLabel works in place of the number
        Description="first rollout",
    )
    assert started["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert started["DeploymentNumber"] == 1
    assert started["State"] == "DEPLOYING"
    assert started["ConfigurationVersion"] == "1"
    assert started["VersionLabel"] == "first"
    assert [e["EventType"] for e in started["EventLog"]] == ["DEPLOYMENT_STARTED"]

    client.get_waiter("deployment_complete").wait(
        **ids, DeploymentNumber=1, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    done = client.get_deployment(**ids, DeploymentNumber=1)
    assert done["State"] == "COMPLETE"
    assert done["PercentageComplete"] == 100.0
    assert done["CompletedAt"] >= done["StartedAt"]
    assert [e["EventType"] for e in done["EventLog"]] == [
        "DEPLOYMENT_COMPLETED",
        "BAKE_TIME_STARTED",
        "PERCENTAGE_UPDATED",
        "DEPLOYMENT_STARTED",
    ]
    client.get_waiter("environment_ready_for_deployment").wait(
        **ids, WaiterConfig={"Delay": 1, "MaxAttempts": 5}
    )
    deployed = read_deployed(server, app_id, env_id, prof_id)
    assert deployed in (None, b'{"limit": 10}')

    # A slow deployment: a second one is refused while it runs; stopping it rolls it back.
    client.start_deployment(
        **ids,
        DeploymentStrategyId="AppConfig.Linear20PercentEvery6Minutes",
        ConfigurationProfileId=prof_id,
        ConfigurationVersion="1",
    )
    assert client.get_environment(**ids)["State"] == "Deploying"
    expect_error(
        "ConflictException",
        409,
        client.start_deployment,
        **ids,
        DeploymentStrategyId="AppConfig.AllAtOnce",
        ConfigurationProfileId=prof_id,
        ConfigurationVersion="1",
    )
    stopped = client.stop_deployment(**ids, DeploymentNumber=2)
    assert stopped["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert stopped["State"] == "ROLLED_BACK"
    assert stopped["EventLog"][0]["EventType"] == "ROLLBACK_COMPLETED"
    assert client.get_environment(**ids)["State"] == "RolledBack"
    # The waiter treats the CamelCase "RolledBack" as its terminal failure state.
    with pytest.raises(WaiterError):
        client.get_waiter("environment_ready_for_deployment").wait(
            **ids, WaiterConfig={"Delay": 1, "MaxAttempts": 2}
        )

    pages = list(client.get_paginator("list_deployments").paginate(**ids, PaginationConfig={"PageSize": 1}))
    assert [(d["DeploymentNumber"], d["State"]) for p in pages for d in p["Items"]] == [
        (2, "ROLLED_BACK"),
        (1, "COMPLETE"),
    ]
    expect_error("ResourceNotFoundException", 404, client.get_deployment, **ids, DeploymentNumber=3)
    # A completed deployment is only reverted on request (Allow-Revert), and only the newest.
    expect_error("BadRequestException", 400, client.stop_deployment, **ids, DeploymentNumber=1)
    expect_error("BadRequestException", 400, client.stop_deployment, **ids, DeploymentNumber=1, AllowRevert=True)
    client.start_deployment(
        **ids, DeploymentStrategyId="AppConfig.AllAtOnce", ConfigurationProfileId=prof_id, ConfigurationVersion="1"
    )
    client.get_waiter("deployment_complete").wait(
        **ids, DeploymentNumber=3, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    reverted = client.stop_deployment(**ids, DeploymentNumber=3, AllowRevert=True)
    assert reverted["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert reverted["State"] == "REVERTED"
    assert client.get_environment(**ids)["State"] == "Reverted"


# --- extensions -------------------------------------------------------------------------------


def test_extensions_and_associations(client, app, unique):
    actions = {
        "PRE_START_DEPLOYMENT": [
            {
                "Name": "check",
                "Uri": "arn:aws:lambda:us-east-1:000000000000:function:check",
                "RoleArn": "arn:aws:iam::000000000000:role/appconfig",
            }
        ]
    }
    v1 = client.create_extension(
        Name=unique,
        Actions=actions,
        Parameters={"level": {"Required": True, "Description": "log level"}},
        Tags={"v": "1"},
    )
    assert v1["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert v1["VersionNumber"] == 1
    assert v1["Arn"] == arn(f"extension/{v1['Id']}/1")
    assert v1["Parameters"]["level"]["Required"] is True
    # Same name again: a ConflictException unless LatestVersionNumber names the latest version.
    expect_error("ConflictException", 409, client.create_extension, Name=unique, Actions=actions)
    v2 = client.create_extension(Name=unique, Actions=actions, LatestVersionNumber=1)
    assert (v2["Id"], v2["VersionNumber"]) == (v1["Id"], 2)

    assert client.get_extension(ExtensionIdentifier=unique)["VersionNumber"] == 2
    assert client.get_extension(ExtensionIdentifier=v1["Id"], VersionNumber=1)["Parameters"] == v1["Parameters"]
    assert client.get_extension(ExtensionIdentifier=v1["Arn"])["VersionNumber"] == 1
    assert client.list_tags_for_resource(ResourceArn=v1["Arn"])["Tags"] == {"v": "1"}

    listed = [
        e
        for page in client.get_paginator("list_extensions").paginate(PaginationConfig={"PageSize": 2})
        for e in page["Items"]
    ]
    ids = [e["Id"] for e in listed]
    assert "AWS.AppConfig.FeatureFlags" in ids
    assert [(e["Id"], e["VersionNumber"]) for e in listed if e["Name"] == unique] == [(v1["Id"], 1), (v1["Id"], 2)]
    aws_authored = client.get_extension(ExtensionIdentifier="AWS.AppConfig.DeploymentNotificationsToSqs")
    assert aws_authored["Arn"] == f"arn:aws:appconfig:{REGION}::extension/AWS.AppConfig.DeploymentNotificationsToSqs/1"

    app_arn = arn(f"application/{app['Id']}")
    expect_error(
        "BadRequestException",
        400,
        client.create_extension_association,
        ExtensionIdentifier=v1["Id"],
        ExtensionVersionNumber=1,
        ResourceIdentifier=app_arn,
    )
    assoc = client.create_extension_association(
        ExtensionIdentifier=v1["Id"],
        ExtensionVersionNumber=1,
        ResourceIdentifier=app_arn,
        Parameters={"level": "debug"},
    )
    assert assoc["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert assoc["ExtensionArn"] == v1["Arn"]
    assert assoc["ResourceArn"] == app_arn
    assert assoc["ExtensionVersionNumber"] == 1
    assert assoc["Arn"] == arn(f"extensionassociation/{assoc['Id']}")
    updated = client.update_extension_association(ExtensionAssociationId=assoc["Id"], Parameters={"level": "info"})
    assert updated["Parameters"] == {"level": "info"}
    assert client.get_extension_association(ExtensionAssociationId=assoc["Id"])["Parameters"] == {"level": "info"}
    on_app = client.list_extension_associations(ResourceIdentifier=app_arn)["Items"]
    assert [a["Id"] for a in on_app] == [assoc["Id"]]
    assert client.list_extension_associations(ExtensionIdentifier=v1["Id"], ExtensionVersionNumber=2)["Items"] == []

    # A version in use cannot be deleted; after the association goes, it can.
    expect_error("BadRequestException", 400, client.delete_extension, ExtensionIdentifier=v1["Id"], VersionNumber=1)
    client.delete_extension_association(ExtensionAssociationId=assoc["Id"])
    expect_error(
        "ResourceNotFoundException", 404, client.get_extension_association, ExtensionAssociationId=assoc["Id"]
    )
    client.delete_extension(ExtensionIdentifier=v1["Id"], VersionNumber=1)
    client.delete_extension(ExtensionIdentifier=v1["Id"])
    expect_error("ResourceNotFoundException", 404, client.get_extension, ExtensionIdentifier=unique)
    expect_error(
        "BadRequestException", 400, client.delete_extension, ExtensionIdentifier="AWS.AppConfig.FeatureFlags"
    )


# --- AWS CLI -----------------------------------------------------------------------------------


def test_aws_cli_round_trips(aws_cli, client, unique, tmp_path):
    created = json.loads(
        aws_cli("create-application", "--name", unique, "--description", "from the cli", "--tags", "k=v").stdout
    )
    app_id = created["Id"]
    assert created["Name"] == unique and created["Description"] == "from the cli"
    assert client.get_application(ApplicationId=app_id)["Name"] == unique
    assert json.loads(aws_cli("get-application", "--application-id", app_id).stdout)["Id"] == app_id

    prof = json.loads(
        aws_cli(
            "create-configuration-profile",
            "--application-id",
            app_id,
            "--name",
            "cli-profile",
            "--location-uri",
            "hosted",
        ).stdout
    )
    content = b'{"from": "cli", "bytes": "\xc3\xa9"}'
    source = tmp_path / "config.json"
    source.write_bytes(content)
    outfile = tmp_path / "echo.json"
    meta = json.loads(
        aws_cli(
            "create-hosted-configuration-version",
            "--application-id",
            app_id,
            "--configuration-profile-id",
            prof["Id"],
            "--content",
            f"fileb://{source}",
            "--content-type",
            "application/json",
            "--version-label",
            "cli-1",
            str(outfile),
        ).stdout
    )
    assert meta["VersionNumber"] == 1
    assert meta["ApplicationId"] == app_id
    assert meta["ConfigurationProfileId"] == prof["Id"]
    assert meta["ContentType"] == "application/json"
    assert meta["VersionLabel"] == "cli-1"
    assert outfile.read_bytes() == content

    fetched = tmp_path / "fetched.json"
    version_1 = ("--application-id", app_id, "--configuration-profile-id", prof["Id"], "--version-number", "1")
    aws_cli("get-hosted-configuration-version", *version_1, str(fetched))
    assert fetched.read_bytes() == content
    got = client.get_hosted_configuration_version(
        ApplicationId=app_id, ConfigurationProfileId=prof["Id"], VersionNumber=1
    )
    assert got["Content"].read() == content

    strategies = json.loads(aws_cli("list-deployment-strategies").stdout)
    assert PREDEFINED_STRATEGIES <= {s["Id"] for s in strategies["Items"]}

    # Errors reach the CLI typed: exit code 254 (v1: 255) and the code on stderr.
    failed = aws_cli("get-application", "--application-id", "zzzzzzz", check=False)
    assert failed.returncode != 0
    assert "ResourceNotFoundException" in failed.stderr

    aws_cli("delete-hosted-configuration-version", *version_1)
    aws_cli("delete-configuration-profile", "--application-id", app_id, "--configuration-profile-id", prof["Id"])
    aws_cli("delete-application", "--application-id", app_id)
    expect_error("ResourceNotFoundException", 404, client.get_application, ApplicationId=app_id)
