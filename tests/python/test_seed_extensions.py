"""The user's seed, run as written: every boto3 request example of
`appconfig-2022-07-13-extensions-api-changes.txt` (10 new and 3 updated operations) against
appconfigd, checking the response keys the seed documents.

The server gets `AWS_ENDPOINT_URL` pointing at a closed local port, so the Lambda action
targets below can never reach AWS: their invocations fail locally and are recorded.
"""

import http.server
import json
import threading
import time

import pytest
from botocore.exceptions import ClientError
from conftest import answer_post

ACCOUNT = "000000000000"
REGION = "us-east-1"

# The seed's documented response shapes.
EXTENSION_KEYS = {"Id", "Name", "VersionNumber", "Arn", "Description", "Actions", "Parameters"}
ACTION_KEYS = {"Name", "Description", "Uri", "RoleArn"}
PARAMETER_KEYS = {"Description", "Required"}
EXTENSION_SUMMARY_KEYS = {"Id", "Name", "VersionNumber", "Arn", "Description"}
ASSOCIATION_KEYS = {"Id", "ExtensionArn", "ResourceArn", "Arn", "Parameters", "ExtensionVersionNumber"}
ASSOCIATION_SUMMARY_KEYS = {"Id", "ExtensionArn", "ResourceArn"}
DEPLOYMENT_KEYS = {
    "ApplicationId", "EnvironmentId", "DeploymentStrategyId", "ConfigurationProfileId",
    "DeploymentNumber", "ConfigurationName", "ConfigurationLocationUri", "ConfigurationVersion",
    "Description", "DeploymentDurationInMinutes", "GrowthType", "GrowthFactor", "FinalBakeTimeInMinutes",
    "State", "EventLog", "PercentageComplete", "StartedAt", "AppliedExtensions",
}
EVENT_KEYS = {"EventType", "TriggeredBy", "Description", "OccurredAt"}
INVOCATION_KEYS = {"ExtensionIdentifier", "ActionName", "Uri", "RoleArn", "InvocationId"}
APPLIED_KEYS = {"ExtensionId", "ExtensionAssociationId", "VersionNumber", "Parameters"}


def arn(resource):
    return f"arn:aws:appconfig:{REGION}:{ACCOUNT}:{resource}"


def body(response):
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def has_keys(obj, keys, where):
    missing = keys - set(obj)
    assert not missing, f"{where}: missing {sorted(missing)} in {obj}"


def expect_error(code, status, call, **kwargs):
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    r = info.value.response
    assert r["Error"]["Code"] == code, r
    assert r["ResponseMetadata"]["HTTPStatusCode"] == status, r
    return r


class Hooks(http.server.BaseHTTPRequestHandler):
    """A webhook target: records every POSTed JSON event and answers 200 {}."""

    received = []

    def do_POST(self):
        answer_post(self, Hooks.received, 200, b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def hooks():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hooks)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/hook"
    httpd.shutdown()


@pytest.fixture(scope="module")
def seed_client(fast_client):
    return fast_client


def test_seed_request_examples(seed_client, hooks):
    client = seed_client
    Hooks.received.clear()
    app_id = client.create_application(Name="seed-app")["Id"]
    env_id = client.create_environment(ApplicationId=app_id, Name="seed-env")["Id"]
    profile_id = client.create_configuration_profile(
        ApplicationId=app_id, Name="seed-profile", LocationUri="hosted"
    )["Id"]
    client.create_hosted_configuration_version(
        ApplicationId=app_id,
        ConfigurationProfileId=profile_id,
        Content=b'{"seed": true}',
        ContentType="application/json",
    )
    app_arn = arn(f"application/{app_id}")

    # client.create_extension(Name, Description, Actions, Parameters, Tags, LatestVersionNumber)
    actions = {
        "ON_DEPLOYMENT_START": [
            {
                "Name": "notify-lambda",
                "Description": "tells a Lambda function",
                "Uri": "arn:aws:lambda:us-east-1:111122223333:function:notify",
                "RoleArn": "arn:aws:iam::111122223333:role/appconfig-extension",
            }
        ],
        "ON_DEPLOYMENT_COMPLETE": [
            {
                "Name": "notify-hook",
                "Description": "tells a webhook",
                "Uri": hooks,
                "RoleArn": "arn:aws:iam::111122223333:role/appconfig-extension",
            }
        ],
    }
    parameters = {"Channel": {"Description": "where to post", "Required": True}}
    created = client.create_extension(
        Name="seed-extension",
        Description="from the seed",
        Actions=actions,
        Parameters=parameters,
        Tags={"origin": "seed"},
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    has_keys(created, EXTENSION_KEYS, "CreateExtension")
    ext_id = created["Id"]
    assert created["Name"] == "seed-extension"
    assert created["VersionNumber"] == 1
    assert created["Arn"] == arn(f"extension/{ext_id}/1")
    assert created["Description"] == "from the seed"
    for point, action_list in created["Actions"].items():
        assert len(action_list) == 1
        has_keys(action_list[0], ACTION_KEYS, point)
        assert action_list[0] == actions[point][0]
    has_keys(created["Parameters"]["Channel"], PARAMETER_KEYS, "Parameter")
    assert created["Parameters"]["Channel"]["Required"] is True
    # "When you create a new version, specify the most recent current version number."
    v2 = client.create_extension(
        Name="seed-extension",
        Description="version 2",
        Actions=actions,
        Parameters=parameters,
        LatestVersionNumber=1,
    )
    assert (v2["Id"], v2["VersionNumber"]) == (ext_id, 2)
    expect_error(
        "ConflictException",
        409,
        client.create_extension,
        Name="seed-extension",
        Actions=actions,
        LatestVersionNumber=1,
    )

    # client.get_extension(ExtensionIdentifier, VersionNumber)
    got = client.get_extension(ExtensionIdentifier="seed-extension", VersionNumber=1)
    has_keys(got, EXTENSION_KEYS, "GetExtension")
    assert body(got) == body(created)
    assert client.get_extension(ExtensionIdentifier=ext_id)["VersionNumber"] == 2  # highest
    assert client.get_extension(ExtensionIdentifier=v2["Arn"])["Description"] == "version 2"

    # client.update_extension(ExtensionIdentifier, Description, Actions, Parameters, VersionNumber)
    updated = client.update_extension(
        ExtensionIdentifier=ext_id,
        Description="version 1, edited",
        Actions=actions,
        Parameters={**parameters, "Format": {"Description": "message format", "Required": False}},
        VersionNumber=1,
    )
    has_keys(updated, EXTENSION_KEYS, "UpdateExtension")
    assert (updated["Id"], updated["VersionNumber"]) == (ext_id, 1)
    assert updated["Description"] == "version 1, edited"
    assert set(updated["Parameters"]) == {"Channel", "Format"}

    # client.list_extensions(MaxResults, NextToken, Name)
    page = client.list_extensions(MaxResults=3)
    assert len(page["Items"]) == 3 and "NextToken" in page
    for item in page["Items"]:
        has_keys(item, EXTENSION_SUMMARY_KEYS, "ExtensionSummary")
    rest = client.list_extensions(MaxResults=50, NextToken=page["NextToken"])
    listed = page["Items"] + rest["Items"]
    assert "NextToken" not in rest
    assert {e["Id"] for e in listed} >= {
        "AWS.AppConfig.FeatureFlags",
        "AWS.AppConfig.JiraIntegration",
        "AWS.AppConfig.DeploymentNotificationsToEventBridge",
        "AWS.AppConfig.DeploymentNotificationsToSqs",
        "AWS.AppConfig.DeploymentNotificationsToSns",
        ext_id,
    }
    flags = next(e for e in listed if e["Id"] == "AWS.AppConfig.FeatureFlags")
    assert flags["Arn"] == f"arn:aws:appconfig:{REGION}::extension/AWS.AppConfig.FeatureFlags/1"
    by_name = client.list_extensions(Name="seed-extension")["Items"]
    assert [(e["Id"], e["VersionNumber"]) for e in by_name] == [(ext_id, 1), (ext_id, 2)]

    # client.create_extension_association(ExtensionIdentifier, ExtensionVersionNumber,
    #                                     ResourceIdentifier, Parameters, Tags)
    assoc = client.create_extension_association(
        ExtensionIdentifier=ext_id,
        ExtensionVersionNumber=1,
        ResourceIdentifier=app_arn,
        Parameters={"Channel": "#deploys"},
        Tags={"origin": "seed"},
    )
    assert assoc["ResponseMetadata"]["HTTPStatusCode"] == 201
    has_keys(assoc, ASSOCIATION_KEYS, "CreateExtensionAssociation")
    assert assoc["Arn"] == arn(f"extensionassociation/{assoc['Id']}")
    assert assoc["ExtensionArn"] == created["Arn"]
    assert assoc["ResourceArn"] == app_arn
    assert assoc["ExtensionVersionNumber"] == 1
    assert assoc["Parameters"] == {"Channel": "#deploys"}
    assert client.list_tags_for_resource(ResourceArn=assoc["Arn"])["Tags"] == {"origin": "seed"}

    # client.get_extension_association(ExtensionAssociationId)
    got = client.get_extension_association(ExtensionAssociationId=assoc["Id"])
    has_keys(got, ASSOCIATION_KEYS, "GetExtensionAssociation")
    assert body(got) == body(assoc)

    # client.update_extension_association(ExtensionAssociationId, Parameters)
    upd = client.update_extension_association(
        ExtensionAssociationId=assoc["Id"], Parameters={"Channel": "#releases", "Format": "short"}
    )
    has_keys(upd, ASSOCIATION_KEYS, "UpdateExtensionAssociation")
    assert upd["Parameters"] == {"Channel": "#releases", "Format": "short"}

    # client.list_extension_associations(ResourceIdentifier, ExtensionIdentifier,
    #                                    ExtensionVersionNumber, MaxResults, NextToken)
    listed = client.list_extension_associations(
        ResourceIdentifier=app_arn, ExtensionIdentifier=ext_id, ExtensionVersionNumber=1, MaxResults=10
    )
    assert [a["Id"] for a in listed["Items"]] == [assoc["Id"]]
    for item in listed["Items"]:
        has_keys(item, ASSOCIATION_SUMMARY_KEYS, "ExtensionAssociationSummary")
    assert (
        client.list_extension_associations(ExtensionIdentifier=ext_id, ExtensionVersionNumber=2)["Items"] == []
    )

    # client.start_deployment(ApplicationId, EnvironmentId, DeploymentStrategyId,
    #                         ConfigurationProfileId, ConfigurationVersion, Description, Tags)
    strategy_id = client.create_deployment_strategy(
        Name="seed-strategy",
        DeploymentDurationInMinutes=2,
        GrowthType="LINEAR",
        GrowthFactor=50,
        FinalBakeTimeInMinutes=1,
        ReplicateTo="NONE",
    )["Id"]
    ids = dict(ApplicationId=app_id, EnvironmentId=env_id)
    started = client.start_deployment(
        **ids,
        DeploymentStrategyId=strategy_id,
        ConfigurationProfileId=profile_id,
        ConfigurationVersion="1",
        Description="seed deployment",
        Tags={"origin": "seed"},
    )
    assert started["ResponseMetadata"]["HTTPStatusCode"] == 201
    has_keys(started, DEPLOYMENT_KEYS, "StartDeployment")
    assert started["DeploymentNumber"] == 1
    assert started["State"] == "DEPLOYING"
    assert started["GrowthType"] == "LINEAR"
    assert len(started["AppliedExtensions"]) == 1
    applied = started["AppliedExtensions"][0]
    has_keys(applied, APPLIED_KEYS, "AppliedExtension")
    assert applied == {
        "ExtensionId": ext_id,
        "ExtensionAssociationId": assoc["Id"],
        "VersionNumber": 1,
        "Parameters": {"Channel": "#releases", "Format": "short"},
    }

    # client.get_deployment(ApplicationId, EnvironmentId, DeploymentNumber)
    deadline = time.time() + 30
    while True:
        d = client.get_deployment(**ids, DeploymentNumber=1)
        invocations = [i for e in d["EventLog"] for i in e.get("ActionInvocations", [])]
        failed = [i for i in invocations if "ErrorCode" in i]
        # Complete, the webhook told, and the (unreachable) Lambda's failure recorded.
        if d["State"] == "COMPLETE" and failed and Hooks.received:
            break
        assert time.time() < deadline, d
        time.sleep(0.2)
    has_keys(d, DEPLOYMENT_KEYS | {"CompletedAt"}, "GetDeployment")
    assert d["PercentageComplete"] == 100.0
    for e in d["EventLog"]:
        has_keys(e, EVENT_KEYS, "DeploymentEvent")
    assert [e["EventType"] for e in d["EventLog"]] == [
        "DEPLOYMENT_COMPLETED",
        "BAKE_TIME_STARTED",
        "PERCENTAGE_UPDATED",
        "PERCENTAGE_UPDATED",
        "DEPLOYMENT_STARTED",
    ]
    for i in invocations:
        has_keys(i, INVOCATION_KEYS, "ActionInvocation")
        assert i["ExtensionIdentifier"] == ext_id
    (lambda_call,) = failed
    has_keys(lambda_call, INVOCATION_KEYS | {"ErrorCode", "ErrorMessage"}, "failed ActionInvocation")
    assert lambda_call["Uri"] == actions["ON_DEPLOYMENT_START"][0]["Uri"]
    assert lambda_call["ActionName"] == "notify-lambda"
    hook_call = next(i for i in invocations if i["Uri"] == hooks)
    assert "ErrorCode" not in hook_call
    assert d["EventLog"][0]["ActionInvocations"] == [hook_call]
    (event,) = Hooks.received
    assert event["Type"] == "OnDeploymentComplete"
    assert event["InvocationId"] == hook_call["InvocationId"]
    assert event["DeploymentNumber"] == 1
    assert event["Parameters"] == {"Channel": "#releases", "Format": "short"}

    # client.stop_deployment(ApplicationId, EnvironmentId, DeploymentNumber)
    slow = client.create_deployment_strategy(
        Name="seed-slow", DeploymentDurationInMinutes=600, GrowthFactor=10, ReplicateTo="NONE"
    )["Id"]
    client.start_deployment(
        **ids, DeploymentStrategyId=slow, ConfigurationProfileId=profile_id, ConfigurationVersion="1"
    )
    stopped = client.stop_deployment(**ids, DeploymentNumber=2)
    assert stopped["ResponseMetadata"]["HTTPStatusCode"] == 202
    has_keys(stopped, DEPLOYMENT_KEYS - {"Description"}, "StopDeployment")
    assert stopped["State"] == "ROLLED_BACK"
    assert stopped["EventLog"][0]["EventType"] == "ROLLBACK_COMPLETED"
    assert stopped["EventLog"][1]["TriggeredBy"] == "USER"

    # client.delete_extension_association(ExtensionAssociationId)
    expect_error("BadRequestException", 400, client.delete_extension, ExtensionIdentifier=ext_id, VersionNumber=1)
    deleted = client.delete_extension_association(ExtensionAssociationId=assoc["Id"])
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    expect_error(
        "ResourceNotFoundException", 404, client.get_extension_association, ExtensionAssociationId=assoc["Id"]
    )

    # client.delete_extension(ExtensionIdentifier, VersionNumber)
    deleted = client.delete_extension(ExtensionIdentifier=ext_id, VersionNumber=1)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    expect_error("ResourceNotFoundException", 404, client.get_extension, ExtensionIdentifier=ext_id, VersionNumber=1)
    assert client.get_extension(ExtensionIdentifier=ext_id)["VersionNumber"] == 2
    client.delete_extension(ExtensionIdentifier="seed-extension")
    expect_error("ResourceNotFoundException", 404, client.get_extension, ExtensionIdentifier=ext_id)


def test_seed_error_paths(seed_client):
    client = seed_client
    good = {"ON_DEPLOYMENT_START": [{"Name": "a", "Uri": "arn:aws:sqs:us-east-1:111122223333:q"}]}
    for bad in [
        dict(Name="bad/name", Actions=good),
        dict(Name="no-actions", Actions={}),
        dict(Name="bad-point", Actions={"ON_DEPLOYMENT": good["ON_DEPLOYMENT_START"]}),
        dict(Name="two", Actions={"ON_DEPLOYMENT_START": good["ON_DEPLOYMENT_START"] * 2}),
        dict(Name="bad-uri", Actions={"ON_DEPLOYMENT_START": [{"Name": "a", "Uri": "arn:aws:s3:::b"}]}),
        dict(Name="dyn", Actions=good, Parameters={"p": {"Required": True, "Dynamic": True}}),
    ]:
        expect_error("BadRequestException", 400, client.create_extension, **bad)
    expect_error("ResourceNotFoundException", 404, client.get_extension, ExtensionIdentifier="nope")
    expect_error(
        "BadRequestException",
        400,
        client.update_extension,
        ExtensionIdentifier="AWS.AppConfig.FeatureFlags",
        Description="x",
    )
    expect_error(
        "ResourceNotFoundException",
        404,
        client.create_extension_association,
        ExtensionIdentifier="AWS.AppConfig.DeploymentNotificationsToSns",
        ResourceIdentifier=arn("application/zzzzzzz"),
        Parameters={"topicArn": "arn:aws:sns:us-east-1:111122223333:t"},
    )
    expect_error(
        "BadRequestException",
        400,
        client.create_extension_association,
        ExtensionIdentifier="AWS.AppConfig.DeploymentNotificationsToSns",
        ResourceIdentifier="not-an-arn",
    )
