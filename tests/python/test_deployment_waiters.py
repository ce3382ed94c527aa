"""boto3's deployment waiters against a real, time-driven deployment (issue 4).

The server runs with --time-scale 600: a strategy minute is 0.1 s, so a 10-minute deployment
with a 5-minute bake takes 1.5 s, and the waiters (Delay=1) see it pass through DEPLOYING and
BAKING before COMPLETE.
"""

import time

import pytest
from botocore.exceptions import WaiterError

FAST = {"Delay": 1, "MaxAttempts": 30}


@pytest.fixture(scope="module")
def client(fast_client):
    return fast_client


@pytest.fixture()
def target(client):
    app_id = client.create_application(Name="waiters")["Id"]
    env_id = client.create_environment(ApplicationId=app_id, Name="prod")["Id"]
    profile_id = client.create_configuration_profile(ApplicationId=app_id, Name="cfg", LocationUri="hosted")["Id"]
    client.create_hosted_configuration_version(
        ApplicationId=app_id, ConfigurationProfileId=profile_id, Content=b"{}", ContentType="application/json"
    )
    return dict(ApplicationId=app_id, EnvironmentId=env_id), profile_id


def strategy(client, duration, growth_type, factor, bake):
    return client.create_deployment_strategy(
        Name=f"w-{duration}-{growth_type}-{factor}-{bake}",
        DeploymentDurationInMinutes=duration,
        GrowthType=growth_type,
        GrowthFactor=factor,
        FinalBakeTimeInMinutes=bake,
        ReplicateTo="NONE",
    )["Id"]


@pytest.mark.parametrize("growth_type,factor,steps", [("LINEAR", 25, 4), ("EXPONENTIAL", 10, 5)])
def test_deployment_complete_and_environment_ready_waiters(client, target, growth_type, factor, steps):
    ids, profile_id = target
    strategy_id = strategy(client, 10, growth_type, factor, 5)
    t0 = time.monotonic()
    started = client.start_deployment(
        **ids, DeploymentStrategyId=strategy_id, ConfigurationProfileId=profile_id, ConfigurationVersion="1"
    )
    number = started["DeploymentNumber"]
    assert started["State"] == "DEPLOYING"
    assert client.get_environment(**ids)["State"] == "Deploying"

    client.get_waiter("deployment_complete").wait(**ids, DeploymentNumber=number, WaiterConfig=FAST)
    # 15 strategy minutes at 600× are 1.5 s; the waiter polls every second.
    assert 1.0 <= time.monotonic() - t0 < 20
    client.get_waiter("environment_ready_for_deployment").wait(**ids, WaiterConfig=FAST)

    d = client.get_deployment(**ids, DeploymentNumber=number)
    assert d["State"] == "COMPLETE"
    assert d["PercentageComplete"] == 100.0
    assert d["GrowthType"] == growth_type
    assert d["DeploymentDurationInMinutes"] == 10 and d["FinalBakeTimeInMinutes"] == 5
    updates = [e for e in d["EventLog"] if e["EventType"] == "PERCENTAGE_UPDATED"]
    assert len(updates) == steps
    assert updates[0]["Description"] == "Configuration available to 100.00% of clients"
    assert updates[-1]["Description"] == f"Configuration available to {factor:.2f}% of clients"
    # Timestamps are wall clock, ordered newest first.
    times = [e["OccurredAt"] for e in d["EventLog"]]
    assert times == sorted(times, reverse=True)
    assert d["CompletedAt"] >= d["StartedAt"]


def test_deployment_complete_waiter_fails_on_a_rollback(client, target):
    ids, profile_id = target
    slow = strategy(client, 600, "LINEAR", 1, 0)
    number = client.start_deployment(
        **ids, DeploymentStrategyId=slow, ConfigurationProfileId=profile_id, ConfigurationVersion="1"
    )["DeploymentNumber"]
    # Still running after a poll: the waiter gives up after its attempts.
    with pytest.raises(WaiterError):
        client.get_waiter("deployment_complete").wait(
            **ids, DeploymentNumber=number, WaiterConfig={"Delay": 1, "MaxAttempts": 1}
        )
    client.stop_deployment(**ids, DeploymentNumber=number)
    with pytest.raises(WaiterError) as info:
        client.get_waiter("deployment_complete").wait(**ids, DeploymentNumber=number, WaiterConfig=FAST)
    assert info.value.last_response["State"] == "ROLLED_BACK"
    with pytest.raises(WaiterError):
        client.get_waiter("environment_ready_for_deployment").wait(**ids, WaiterConfig={"Delay": 1, "MaxAttempts": 2})
    assert client.get_environment(**ids)["State"] == "RolledBack"
