#!/usr/bin/env python3
"""Data-plane benchmark: GetLatestConfiguration and the agent read path of appconfigd, with a
1 KB and a 100 KB configuration, against a minimal hyper server returning the same bytes
(the physical limit), all loaded by wrk on this machine in the same run. Then a feature-flag
profile with a 10-variant flag read through the agent path without and with a `Context`
header (issue 14: with Context at least 60 % of without) and a flag under a running experiment
read with Context and Entity-Id (issue 16: at least 60 % too), and the RSS of appconfigd with
1,000 deployed configurations in its snapshot.

Usage: python3 benches/dataplane.py [--duration 10] [--connections 64]
Needs: wrk (apt-get install wrk), boto3, a release build (done by this script).
Prints a markdown table for the README.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "appconfigd")
BARE = os.path.join(ROOT, "target", "release", "examples", "bare_hyper")


def sh(*cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def start(cmd, env=None):
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    line = p.stdout.readline()
    m = re.search(r"listening on (http://\S+)", line)
    if not m:
        p.kill()
        sys.exit(f"could not start {cmd[0]}: {line!r}")
    return p, m.group(1)


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def wrk(url, duration, connections, headers=()):
    extra = [a for h in headers for a in ("-H", h)]
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", *extra, url],
        check=True, capture_output=True, text=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def pct(p):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        v, unit = float(m.group(1)), m.group(2)
        return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        sys.exit(f"{url}: {errors.group(1)} non-2xx responses\n{out}")
    return rps, pct(50), pct(99)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--configs", type=int, default=1000)
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sh("apt-get", "install", "-y", "-q", "wrk")
    sh("cargo", "build", "--release", "--quiet", "--bin", "appconfigd", "--example", "bare_hyper", cwd=ROOT)

    import boto3

    tmp = tempfile.mkdtemp()
    env = dict(os.environ, RUST_LOG="warn", AWS_ENDPOINT_URL="http://127.0.0.1:9")
    server, url = start([BIN, "serve", "--listen", "127.0.0.1:0", "--database", f"sqlite://{tmp}/bench.db",
                         "--quota-profiles", str(args.configs + 10)], env)
    bare, bare_url = start([BARE, "127.0.0.1:0"])
    kw = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    ac = boto3.client("appconfig", **kw)
    dc = boto3.client("appconfigdata", **kw)
    try:
        app = ac.create_application(Name="bench")["Id"]
        env_id = ac.create_environment(ApplicationId=app, Name="prod")["Id"]
        # No steps and no bake: each deployment completes at once, at the real time scale
        # (a scaled clock would also shorten token lifetimes below the benchmark's length).
        instant = ac.create_deployment_strategy(Name="instant", DeploymentDurationInMinutes=0,
                                                GrowthFactor=100, FinalBakeTimeInMinutes=0)["Id"]

        def deploy(name, content, content_type="application/octet-stream", **profile):
            p = ac.create_configuration_profile(ApplicationId=app, Name=name, LocationUri="hosted", **profile)["Id"]
            ac.create_hosted_configuration_version(ApplicationId=app, ConfigurationProfileId=p, Content=content,
                                                   ContentType=content_type)
            n = ac.start_deployment(ApplicationId=app, EnvironmentId=env_id, DeploymentStrategyId=instant,
                                    ConfigurationProfileId=p, ConfigurationVersion="1")["DeploymentNumber"]
            while ac.get_deployment(ApplicationId=app, EnvironmentId=env_id, DeploymentNumber=n)["State"] != "COMPLETE":
                time.sleep(0.02)
            return p

        rows = []
        for label, size, path in (("1 KB", 1024, "/1k"), ("100 KB", 100 * 1024, "/100k")):
            name = f"cfg{size}"
            deploy(name, b"a" * size)
            token = dc.start_configuration_session(ApplicationIdentifier="bench", EnvironmentIdentifier="prod",
                                                   ConfigurationProfileIdentifier=name)["InitialConfigurationToken"]
            # The initial token can be presented again and again (it has no poll deadline),
            # so every request is a full read of the configuration.
            targets = [
                ("GetLatestConfiguration", f"{url}/configuration?configuration_token={urllib.request.quote(token)}"),
                ("agent read", f"{url}/applications/bench/environments/prod/configurations/{name}"),
                ("bare hyper (limit)", f"{bare_url}{path}"),
            ]
            for what, target in targets:
                body = urllib.request.urlopen(target).read()
                assert len(body) == size, (what, len(body))
                rps, p50, p99 = wrk(target, args.duration, args.connections)
                rows.append((label, what, rps, p50, p99))

        flag_rows = flags_rows(deploy, url, args, ac, app, env_id)

        for i in range(args.configs - 2):
            deploy(f"many{i}", os.urandom(512).hex().encode())
            urllib.request.urlopen(f"{url}/applications/bench/environments/prod/configurations/many{i}").read()
        rss = rss_mb(server.pid)
    finally:
        server.kill()
        bare.kill()
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"\nwrk -t2 -c{args.connections} -d{args.duration}s on {os.cpu_count()} cores, server and load generator on the same machine\n")
    print("| size | endpoint | req/s | p50 ms | p99 ms | share of limit |")
    print("|---|---|---:|---:|---:|---:|")
    limits = {r[0]: r[2] for r in rows if r[1].startswith("bare")}
    for label, what, rps, p50, p99 in rows:
        print(f"| {label} | {what} | {rps:,.0f} | {p50:.2f} | {p99:.2f} | {rps / limits[label]:.0%} |")
    print("\nFeature flags (a 10-variant flag with splits and 4 basic flags), agent read path:\n")
    print("| endpoint | req/s | p50 ms | p99 ms | share of the plain agent read |")
    print("|---|---:|---:|---:|---:|")
    for what, rps, p50, p99 in flag_rows:
        print(f"| {what} | {rps:,.0f} | {p50:.2f} | {p99:.2f} | {rps / flag_rows[0][1]:.0%} |")
    print(f"\nappconfigd RSS with {args.configs} deployed configurations in the snapshot: {rss:.1f} MB")

    print("\nWith --credentials (1 KB): every GetLatestConfiguration is a presigned URL whose SigV4")
    print("signature the server verifies in full; agent reads carry a bearer token.\n")
    print("| endpoint | req/s | p50 ms | p99 ms | share of limit |")
    print("|---|---:|---:|---:|---:|")
    for what, rps, p50, p99 in secured_rows(args):
        print(f"| {what} | {rps:,.0f} | {p50:.2f} | {p99:.2f} | {rps / limits['1 KB']:.0%} |")


FLAG_RULES = [
    '(and (eq $tier "gold") (split by::$userId pct::50))',
    '(and (in $country ["DE", "FR", "IT"]) (split by::$userId pct::20 seed::"eu"))',
    '(and (gte $age 65) (split by::$userId pct::30))',
    '(and (ends_with $email "@example.com") (split by::$userId pct::10))',
    '(and (matches in::$device pattern::"^iPhone1[0-9]") (split by::$userId pct::5))',
    '(and (exists key::"beta") (split by::$userId pct::40 seed::"beta"))',
    '(and (lt $signup 2024-01) (split by::$userId pct::25))',
    '(or (eq $plan "enterprise") (split by::$userId pct::1 seed::"canary"))',
    '(split by::$userId pct::0.5 seed::"tail")',
]
# Meets no condition: every rule runs, the default answers (the costliest path).
FLAG_CONTEXT = ("Context: userId=user-00000042@corp.test, tier=silver, country=US, age=30, "
                "email=someone@corp.test, device=Pixel 8, signup=2024-06-01T00:00:00Z, plan=free")


def flags_rows(deploy, url, args, ac, app, env_id):
    """The agent read of a feature-flag profile, without and with a Context to evaluate, and a
    flag under a running experiment read with Context and Entity-Id (issue 16: at least 60 % of
    the plain agent read)."""
    variants = [{"name": f"v{i}", "enabled": True, "rule": r, "attributeValues": {"level": i}}
                for i, r in enumerate(FLAG_RULES)]
    variants.append({"name": "default", "enabled": False})
    flags = {"ten": {"name": "ten", "attributes": {"level": {"constraints": {"type": "number"}}}}}
    values = {"ten": {"_variants": variants}}
    for i in range(4):
        flags[f"basic{i}"] = {"name": f"basic {i}", "attributes": {"color": {}}}
        values[f"basic{i}"] = {"enabled": True, "color": "orange"}
    doc = json.dumps({"version": "1", "flags": flags, "values": values}).encode()
    profile = deploy("flags", doc, "application/json", Type="AWS.AppConfig.FeatureFlags")
    agent = f"{url}/applications/bench/environments/prod/configurations/flags"
    name, value = FLAG_CONTEXT.split(": ", 1)
    plain = json.loads(urllib.request.urlopen(agent).read())
    evaluated = json.loads(urllib.request.urlopen(urllib.request.Request(agent, headers={name: value})).read())
    assert plain["ten"]["_variant"] == evaluated["ten"]["_variant"] == "default", (plain, evaluated)
    rows = [
        ("flags: agent read", *wrk(agent, args.duration, args.connections)),
        ("flags: agent read with Context (10 variants evaluated)",
         *wrk(agent, args.duration, args.connections, [FLAG_CONTEXT])),
    ]
    # An experiment on basic0 (control + 2 treatments, an audience the context meets, 100 %
    # exposure, VendedMetrics on so every answer is also counted): the entity is assigned.
    ac.update_account_settings(VendedMetrics={"Enabled": True})

    def arm(weight, color):
        return {"Weight": weight,
                "FlagValue": {"Enabled": True, "AttributeValues": {"color": {"StringValue": color}}}}

    definition = ac.create_experiment_definition(
        ApplicationIdentifier=app, Name="bench", ConfigurationProfileIdentifier=profile,
        EnvironmentIdentifier=env_id, FlagKey="basic0", Control=arm(50, "orange"),
        Treatments=[arm(25, "green"), arm(25, "blue")],
        AudienceRule='(and (eq $country "US") (gte $age 18))')["Id"]
    ac.start_experiment_run(ApplicationIdentifier=app, ExperimentDefinitionIdentifier=definition,
                            ExposurePercentage=100.0)
    entity = "user-00000042@corp.test"
    one = f"{agent}?flag=basic0"
    request = urllib.request.Request(one, headers={name: value, "Entity-Id": entity})
    deadline = time.time() + 5
    while "_variant" not in json.loads(urllib.request.urlopen(request).read()):
        assert time.time() < deadline, "the experiment never reached the agent read"
        time.sleep(0.05)
    rows.append(("flags: experiment flag read (Context + Entity-Id)",
                 *wrk(one, args.duration, args.connections, [FLAG_CONTEXT, f"Entity-Id: {entity}"])))
    return rows


def secured_rows(args):
    """The 1 KB reads again on a server with a credentials file: the cost of authentication."""
    import boto3

    tmp = tempfile.mkdtemp()
    creds = os.path.join(tmp, "creds.toml")
    with open(creds, "w") as f:
        f.write('[[credentials]]\naccess_key_id = "AKIDBENCH"\nsecret_access_key = "bench-secret"\n'
                'account_id = "111111111111"\n\n[[agent_tokens]]\ntoken = "bench-token"\n'
                'account_id = "111111111111"\n')
    env = dict(os.environ, RUST_LOG="warn", AWS_ENDPOINT_URL="http://127.0.0.1:9")
    server, url = start([BIN, "serve", "--listen", "127.0.0.1:0", "--database", f"sqlite://{tmp}/bench.db",
                         "--credentials", creds], env)
    kw = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id="AKIDBENCH",
              aws_secret_access_key="bench-secret")
    ac = boto3.client("appconfig", **kw)
    dc = boto3.client("appconfigdata", **kw)
    try:
        app = ac.create_application(Name="bench")["Id"]
        env_id = ac.create_environment(ApplicationId=app, Name="prod")["Id"]
        instant = ac.create_deployment_strategy(Name="instant", DeploymentDurationInMinutes=0,
                                                GrowthFactor=100, FinalBakeTimeInMinutes=0)["Id"]
        p = ac.create_configuration_profile(ApplicationId=app, Name="cfg", LocationUri="hosted")["Id"]
        ac.create_hosted_configuration_version(ApplicationId=app, ConfigurationProfileId=p, Content=b"a" * 1024,
                                               ContentType="application/octet-stream")
        n = ac.start_deployment(ApplicationId=app, EnvironmentId=env_id, DeploymentStrategyId=instant,
                                ConfigurationProfileId=p, ConfigurationVersion="1")["DeploymentNumber"]
        while ac.get_deployment(ApplicationId=app, EnvironmentId=env_id, DeploymentNumber=n)["State"] != "COMPLETE":
            time.sleep(0.02)
        token = dc.start_configuration_session(ApplicationIdentifier="bench", EnvironmentIdentifier="prod",
                                               ConfigurationProfileIdentifier="cfg")["InitialConfigurationToken"]
        presigned = dc.generate_presigned_url("get_latest_configuration", Params={"ConfigurationToken": token},
                                              ExpiresIn=3600)
        assert len(urllib.request.urlopen(presigned).read()) == 1024
        agent = f"{url}/applications/bench/environments/prod/configurations/cfg"
        bearer = "Authorization: Bearer bench-token"
        req = urllib.request.Request(agent, headers={"Authorization": "Bearer bench-token"})
        assert len(urllib.request.urlopen(req).read()) == 1024
        return [
            ("GetLatestConfiguration, SigV4 verified", *wrk(presigned, args.duration, args.connections)),
            ("agent read, bearer token", *wrk(agent, args.duration, args.connections, [bearer])),
        ]
    finally:
        server.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
