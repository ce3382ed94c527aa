"""Several nodes on one PostgreSQL, under chaos (issue 6).

Three `appconfigd serve` processes share one fresh PostgreSQL database. Deployments run in
three environments while sessions poll through all nodes. One node is killed with SIGKILL
and another paused with SIGSTOP/SIGCONT mid-deployment. Every deployment must complete
exactly once (no step applied twice, no event duplicated), every ON_DEPLOYMENT_COMPLETE
webhook must arrive at least once, and no client may ever see its configuration go back to
an older version (there is no rollback in this scenario).
"""

import http.server
import json
import os
import re
import signal
import subprocess
import threading
import time
import uuid

import boto3
import pytest
from botocore.config import Config

PG = os.environ.get("APPCONFIGD_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
LISTENING = re.compile(r"appconfigd listening on (http://127\.0\.0\.1:\d+)")
SCALE = "60"  # 1 service minute = 1 s


def psql(sql):
    return subprocess.run(
        ["psql", f"{PG}/postgres", "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
        capture_output=True, text=True,
    )


@pytest.fixture
def database():
    if subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"]).returncode != 0:
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
    name = f"appconfigd_chaos_{uuid.uuid4().hex[:10]}"
    assert psql(f"CREATE DATABASE {name}").returncode == 0
    yield f"{PG}/{name}"
    psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class Node:
    def __init__(self, binary, db, workdir, i):
        self.log = open(workdir / f"node{i}.log", "wb")
        env = {k: v for k, v in os.environ.items() if not k.startswith("APPCONFIGD_")}
        env.update(NO_COLOR="1", AWS_ENDPOINT_URL="http://127.0.0.1:9")
        self.proc = subprocess.Popen(
            [str(binary), "serve", "--listen", "127.0.0.1:0", "--database", db,
             "--time-scale", SCALE],
            stdout=subprocess.PIPE, stderr=self.log, env=env, text=True,
        )
        line = self.proc.stdout.readline()
        m = LISTENING.search(line)
        assert m, f"node {i} did not start: {line!r}"
        self.url = m.group(1)
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    def client(self, service):
        return boto3.client(
            service, endpoint_url=self.url, region_name="us-east-1",
            aws_access_key_id="x", aws_secret_access_key="y",
            config=Config(retries={"max_attempts": 0}, connect_timeout=2, read_timeout=10),
        )

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
            self.proc.kill()
            self.proc.wait()
        self.log.close()


class Receiver(http.server.ThreadingHTTPServer):
    def __init__(self):
        self.events = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver.lock:
                    receiver.events.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


def test_three_nodes_survive_sigkill_and_sigstop(appconfigd_bin, database, tmp_path):
    nodes = [Node(appconfigd_bin, database, tmp_path, i) for i in range(3)]
    receiver = Receiver()
    try:
        run_chaos(nodes, receiver)
    finally:
        for n in nodes:
            n.stop()
        receiver.shutdown()


def run_chaos(nodes, receiver):
    ac = nodes[0].client("appconfig")
    app = ac.create_application(Name="chaos")["Id"]
    ext = ac.create_extension(
        Name="complete-hook",
        Actions={"ON_DEPLOYMENT_COMPLETE": [{"Name": "hook", "Uri": receiver.url}]},
    )["Id"]
    ac.create_extension_association(
        ExtensionIdentifier=ext,
        ResourceIdentifier=f"arn:aws:appconfig:us-east-1:000000000000:application/{app}",
    )
    # LINEAR 25 % over 8 minutes (8 s at scale 60), then 2 minutes of bake (2 s).
    strategy = ac.create_deployment_strategy(
        Name="chaos", DeploymentDurationInMinutes=8, GrowthFactor=25,
        FinalBakeTimeInMinutes=2, GrowthType="LINEAR",
    )["Id"]
    envs = []
    for i in range(3):
        env = ac.create_environment(ApplicationId=app, Name=f"env{i}")["Id"]
        prof = ac.create_configuration_profile(ApplicationId=app, Name=f"cfg{i}", LocationUri="hosted")["Id"]
        for v in (1, 2):
            ac.create_hosted_configuration_version(
                ApplicationId=app, ConfigurationProfileId=prof,
                Content=json.dumps({"v": v}).encode(), ContentType="application/json",
            )
        envs.append((env, prof))

    def deploy(node, env, prof, version, strategy_id):
        c = node.client("appconfig")
        return c.start_deployment(
            ApplicationId=app, EnvironmentId=env, DeploymentStrategyId=strategy_id,
            ConfigurationProfileId=prof, ConfigurationVersion=str(version),
        )["DeploymentNumber"]

    def wait_complete(env, number, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for node in alive:
                try:
                    d = node.client("appconfig").get_deployment(
                        ApplicationId=app, EnvironmentId=env, DeploymentNumber=number)
                    if d["State"] == "COMPLETE":
                        return d
                    break
                except Exception:
                    continue
            time.sleep(0.2)
        raise AssertionError(f"deployment {number} in {env} did not complete")

    alive = list(nodes)
    # v1 everywhere first, at once.
    for i, (env, prof) in enumerate(envs):
        n = deploy(nodes[i], env, prof, 1, "AppConfig.AllAtOnce")
        wait_complete(env, n)

    # Pollers: sessions spread over all nodes; every read must be v1 or v2, never backwards.
    stop = threading.Event()
    seen = {}
    problems = []

    def poller(k):
        env, prof = envs[k % 3]
        node = nodes[k % 3]
        try:
            dc = node.client("appconfigdata")
            token = dc.start_configuration_session(
                ApplicationIdentifier=app, EnvironmentIdentifier=env,
                ConfigurationProfileIdentifier=prof, RequiredMinimumPollIntervalInSeconds=15,
            )["InitialConfigurationToken"]
        except Exception as e:  # pragma: no cover - surfaced by the assertion below
            problems.append(f"session {k}: {e}")
            return
        current = 0
        while not stop.is_set():
            # Any live node may answer any poll.
            target = alive[(k + int(time.time() * 4)) % len(alive)]
            try:
                r = target.client("appconfigdata").get_latest_configuration(ConfigurationToken=token)
            except Exception:
                time.sleep(0.3)
                continue
            token = r["NextPollConfigurationToken"]
            body = r["Configuration"].read()
            if body:
                v = json.loads(body)["v"]
                if v < current:
                    problems.append(f"session {k} went back from v{current} to v{v}")
                current = v
            seen[k] = current
            time.sleep(0.3)

    threads = [threading.Thread(target=poller, args=(k,), daemon=True) for k in range(30)]
    for t in threads:
        t.start()
    time.sleep(1)

    numbers = [deploy(nodes[i], env, prof, 2, strategy) for i, (env, prof) in enumerate(envs)]
    time.sleep(2.5)
    # Chaos: SIGKILL node 1, SIGSTOP node 2 for 6 s (past its 5 s leases), then SIGCONT.
    os.kill(nodes[1].proc.pid, signal.SIGKILL)
    nodes[1].proc.wait()
    alive = [nodes[0], nodes[2]]
    os.kill(nodes[2].proc.pid, signal.SIGSTOP)
    alive = [nodes[0]]
    time.sleep(6)
    os.kill(nodes[2].proc.pid, signal.SIGCONT)
    alive = [nodes[0], nodes[2]]

    finals = [wait_complete(env, n) for (env, _), n in zip(envs, numbers)]
    time.sleep(2)  # let pollers see the final state
    stop.set()
    for t in threads:
        t.join(timeout=5)

    assert not problems, problems
    for d in finals:
        types = [e["EventType"] for e in d["EventLog"]]
        assert types.count("PERCENTAGE_UPDATED") == 4, types
        assert types.count("BAKE_TIME_STARTED") == 1, types
        assert types.count("DEPLOYMENT_COMPLETED") == 1, types
        assert types.count("DEPLOYMENT_STARTED") == 1, types
        assert d["PercentageComplete"] == 100.0
    # Every session ends on v2.
    assert seen and all(v == 2 for v in seen.values()), seen
    # Every ON_DEPLOYMENT_COMPLETE reached the webhook at least once (v1 and v2 rounds).
    deadline = time.time() + 20
    while time.time() < deadline:
        with receiver.lock:
            done = {(e["Environment"]["Id"], e["DeploymentNumber"]) for e in receiver.events
                    if e["Type"] == "OnDeploymentComplete"}
        if all((env, n) in done for (env, _), n in zip(envs, numbers)):
            break
        time.sleep(0.5)
    assert all((env, n) in done for (env, _), n in zip(envs, numbers)), done
