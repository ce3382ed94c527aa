"""Experiments (issue 16) through boto3 and the AWS CLI at versions whose model has the 11
experiment operations (botocore >= 1.44.8, awscli >= 1.46.3; .ci/run installs them): the
whole lifecycle, botocore's paginators, and errors as those clients see them."""

import json
import time

import botocore.session
import pytest
from botocore.exceptions import ClientError

FLAGS = {
    "version": "1",
    "flags": {"checkout": {"name": "checkout", "attributes": {"color": {"constraints": {"type": "string"}}}}},
    "values": {"checkout": {"enabled": False, "color": "grey"}},
}

if "CreateExperimentDefinition" not in botocore.session.get_session().get_service_model("appconfig").operation_names:
    pytest.fail("botocore predates experiments: python3 -m pip install -U 'boto3>=1.44.8' 'awscli>=1.46.3'")


def treatment(weight, enabled, color):
    return {"Weight": weight, "FlagValue": {"Enabled": enabled, "AttributeValues": {"color": {"StringValue": color}}}}


@pytest.fixture()
def deployed(client, unique):
    """An application whose feature-flag profile is deployed (instantly) to environment `prod`."""
    app = client.create_application(Name=unique)["Id"]
    env = client.create_environment(ApplicationId=app, Name="prod")["Id"]
    profile = client.create_configuration_profile(
        ApplicationId=app, Name="flags", LocationUri="hosted", Type="AWS.AppConfig.FeatureFlags"
    )["Id"]
    client.create_hosted_configuration_version(
        ApplicationId=app, ConfigurationProfileId=profile, Content=json.dumps(FLAGS).encode(), ContentType="application/json"
    )
    strategy = client.create_deployment_strategy(
        Name=unique, DeploymentDurationInMinutes=0, GrowthFactor=100, FinalBakeTimeInMinutes=0, ReplicateTo="NONE"
    )["Id"]
    number = client.start_deployment(
        ApplicationId=app, EnvironmentId=env, DeploymentStrategyId=strategy, ConfigurationProfileId=profile, ConfigurationVersion="1"
    )["DeploymentNumber"]
    for _ in range(200):
        if client.get_deployment(ApplicationId=app, EnvironmentId=env, DeploymentNumber=number)["State"] == "COMPLETE":
            break
        time.sleep(0.05)
    return {"app": app, "env": env, "profile": profile}


def test_boto3_runs_the_whole_experiment_lifecycle(client, deployed):
    d = deployed
    created = client.create_experiment_definition(
        ApplicationIdentifier=d["app"],
        Name="colors",
        EnvironmentIdentifier="prod",
        ConfigurationProfileIdentifier="flags",
        FlagKey="checkout",
        Control=treatment(50, False, "grey"),
        Treatments=[treatment(25, True, "green"), treatment(25, True, "blue")],
        AudienceRule='(eq $plan "premium")',
        Tags={"team": "growth"},
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["Status"] == "IDLE"
    assert [t["Key"] for t in created["Treatments"]] == ["t1", "t2"] and created["Control"]["Key"] == "c"
    assert created["Control"]["Weight"] == 50.0
    definition = created["Id"]
    ids = dict(ApplicationIdentifier=d["app"], ExperimentDefinitionIdentifier=definition)

    run = client.start_experiment_run(**ids, ExposurePercentage=10, TreatmentOverrides={"Inline": {"qa": "t2"}})
    assert run["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert run["Run"] == 1 and run["Status"] == "RUNNING" and run["ExposurePercentage"] == 10.0
    assert run["ExperimentDefinitionSnapshot"]["FlagKey"] == "checkout"
    assert client.get_experiment_definition(**ids)["Status"] == "ACTIVE"

    raised = client.update_experiment_run(**ids, Run=1, ExposurePercentage=40)
    assert raised["ExposurePercentage"] == 40.0
    error = expect(client.update_experiment_run, "BadRequestException", 400, **ids, Run=1, ExposurePercentage=20)
    assert "ExposurePercentage" in error["Error"]["Message"]
    expect(client.start_experiment_run, "ConflictException", 409, **ids)

    stopped = client.stop_experiment_run(**ids, Run=1, Result={"ExecutiveSummary": "blue wins", "ReasonsToLaunch": "+3%"})
    assert stopped["Status"] == "DONE" and stopped["EndedAt"] == stopped["UpdatedAt"]
    assert client.get_experiment_run(**ids, Run=1)["Result"]["ReasonsToLaunch"] == "+3%"
    assert client.get_experiment_definition(**ids)["Status"] == "IDLE"

    events = [
        e["EventType"]
        for page in client.get_paginator("list_experiment_run_events").paginate(**ids, Run=1, PaginationConfig={"PageSize": 1})
        for e in page["Items"]
    ]
    assert events == ["RUN_STOPPED", "EXPOSURE_UPDATED", "RUN_STARTED"]
    client.start_experiment_run(**ids)
    runs = [r["Run"] for page in client.get_paginator("list_experiment_runs").paginate(**ids) for r in page["Items"]]
    assert runs == [1, 2]
    listed = [
        x["Id"]
        for page in client.get_paginator("list_experiment_definitions").paginate(ApplicationIdentifier=d["app"])
        for x in page["Items"]
    ]
    assert listed == [definition]

    # MANAGED-DEPLOYMENTS-CHECK

    expect(client.delete_experiment_definition, "ConflictException", 409, **ids)
    client.stop_experiment_run(**ids, Run=2)
    client.delete_experiment_definition(**ids, DeleteType="DESTROY")
    expect(client.get_experiment_definition, "ResourceNotFoundException", 404, **ids)


def test_account_settings_carry_vended_metrics(client):
    before = client.get_account_settings()
    assert before["VendedMetrics"] == {"Enabled": False}
    try:
        on = client.update_account_settings(VendedMetrics={"Enabled": True})
        assert on["VendedMetrics"] == {"Enabled": True}
        assert on["DeletionProtection"] == before["DeletionProtection"], "omitted blocks are kept"
    finally:
        client.update_account_settings(VendedMetrics={"Enabled": False})


def test_aws_cli_creates_starts_and_stops_an_experiment(aws_cli, deployed):
    d = deployed
    created = json.loads(
        aws_cli(
            "create-experiment-definition",
            "--application-identifier", d["app"],
            "--name", "cli-exp",
            "--environment-identifier", d["env"],
            "--configuration-profile-identifier", d["profile"],
            "--flag-key", "checkout",
            "--control", json.dumps(treatment(50, False, "grey")),
            "--treatments", json.dumps([treatment(50, True, "green")]),
            "--audience-rule", '(eq $plan "premium")',
        ).stdout
    )
    assert created["Status"] == "IDLE"
    ids = ["--application-identifier", d["app"], "--experiment-definition-identifier", "cli-exp"]
    run = json.loads(aws_cli("start-experiment-run", *ids, "--exposure-percentage", "25").stdout)
    assert run["Status"] == "RUNNING" and run["ExposurePercentage"] == 25.0
    low = aws_cli("update-experiment-run", *ids, "--run", "1", "--exposure-percentage", "5", check=False)
    assert low.returncode != 0 and "BadRequestException" in low.stderr
    stopped = json.loads(aws_cli("stop-experiment-run", *ids, "--run", "1").stdout)
    assert stopped["Status"] == "DONE"
    events = json.loads(aws_cli("list-experiment-run-events", *ids, "--run", "1").stdout)["Items"]
    assert [e["EventType"] for e in events] == ["RUN_STOPPED", "RUN_STARTED"]


def expect(call, code, status, **kwargs):
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    response = info.value.response
    assert response["Error"]["Code"] == code, response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == status, response
    return response
