#!/usr/bin/env python3
"""Propagation benchmark: how long after a deployment commits does a polling client get it?

For one node (SQLite) and for three nodes on one PostgreSQL database, the bench makes
`--deployments` instant deployments (0 minutes, 0 bake) of one hosted profile, one after the
other, each with new content, and watches them from outside:

- the control plane: GetDeployment polled tightly until the deployment is COMPLETE;
- the data plane of every node: the agent path (`GET /applications/…/configurations/…`)
  polled tightly (every --agent-poll-ms), which shows when that node serves the new content;
- `--clients` GetLatestConfiguration clients per node, each polling at the minimum allowed
  interval (15 s of service time, i.e. 15 / --time-scale real seconds: the server scales poll
  deadlines with its clock), as the AppConfig Agent or an SDK poller does.

The commit of a deployment's step is not visible from outside with a timestamp of its own
(EventLog and CompletedAt carry the *scheduled* time, which for an instant deployment is its
start), so the bench takes the earliest outside sighting of the new state (GetDeployment saying
COMPLETE, or any node's agent path serving the new content) as the commit time; its error is
at most one tight-poll period plus a round trip. Reported, p50/p99/max over all deployments:

- start → commit: StartDeployment returned → committed (the engine's pick-up of the step);
- commit → data plane sees it: per node, the agent path serves the new content;
- commit → client receives it: each polling client's first GetLatestConfiguration answer with
  the new content. This includes waiting for the client's next allowed poll, i.e. on average
  half a poll interval and up to a whole one: with the default --time-scale 60 the interval is
  250 ms, at the real time scale (--time-scale 1) it is 15 s and dominates everything else.

Usage: python3 benches/propagation.py [--deployments 50] [--clients 4] [--time-scale 60]
       [--nodes 1,3] [--postgres postgres://postgres@127.0.0.1:5432] [--no-build]
"""
import argparse
import http.client
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

from dataplane import BIN, build_server, server_env, start

POLL_MIN_SECONDS = 15


# ---- Database and nodes ---------------------------------------------------------------------

def psql(cluster, sql):
    subprocess.run(["psql", f"{cluster}/postgres", "-v", "ON_ERROR_STOP=1", "-q", "-c", sql], check=True,
                   stdout=subprocess.DEVNULL)


class Nodes:
    """`n` appconfigd processes on one database (SQLite for one node, a fresh PostgreSQL
    database for more); dropped on close."""

    def __init__(self, n, args, tmp):
        self.procs, self.urls, self.pg = [], [], None
        if n == 1 and not args.postgres_single:
            db = f"sqlite://{tmp}/propagation.db"
        else:
            self.pg = f"appconfigd_bench_{uuid.uuid4().hex[:12]}"
            self.cluster = args.postgres.rstrip("/")
            psql(self.cluster, f"CREATE DATABASE {self.pg}")
            db = f"{self.cluster}/{self.pg}"
        self.backend = "PostgreSQL" if self.pg else "SQLite"
        try:
            for _ in range(n):
                p, url = start([BIN, "serve", "--listen", "127.0.0.1:0", "--database", db,
                                "--time-scale", str(args.time_scale)], server_env())
                self.procs.append(p)
                self.urls.append(url)
        except BaseException:
            self.close()
            raise

    def close(self):
        for p in self.procs:
            p.kill()
            p.wait()
        if self.pg:
            psql(self.cluster, f"DROP DATABASE IF EXISTS {self.pg} WITH (FORCE)")


# ---- Watchers (threads) -----------------------------------------------------------------------

class Sightings:
    """content -> {watcher: first time seen}, shared by all watcher threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.seen = {}
        self.stop = threading.Event()
        self.failed = None

    def saw(self, watcher, content):
        t = time.time()
        with self.lock:
            self.seen.setdefault(content, {}).setdefault(watcher, t)

    def of(self, content):
        with self.lock:
            return dict(self.seen.get(content, {}))


def conn_for(url):
    u = urllib.parse.urlparse(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=30)


def watcher(loop):
    """Runs a watcher loop; errors after the bench told the watchers to stop are expected."""

    def run(*args):
        sightings = args[-1]
        try:
            loop(*args)
        except Exception as e:
            if not sightings.stop.is_set():
                sightings.failed = f"{loop.__name__} {args[:2]}: {e!r}"

    return run


@watcher
def agent_watcher(url, node, path, every, sightings):
    """Polls the agent path tightly: when this node's data plane serves new content."""
    c = conn_for(url)
    while not sightings.stop.is_set():
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        if r.status == 200:
            sightings.saw(("agent", node), body)
        time.sleep(every)


@watcher
def client_watcher(url, node, idx, token, interval, sightings):
    """A GetLatestConfiguration client polling at the minimum allowed interval."""
    c = conn_for(url)
    while not sightings.stop.is_set():
        c.request("GET", "/configuration?configuration_token=" + urllib.parse.quote(token, safe=""))
        r = c.getresponse()
        body = r.read()
        if r.status != 200:
            raise RuntimeError(f"GetLatestConfiguration: {r.status} {body!r}")
        token = r.getheader("Next-Poll-Configuration-Token")
        if body:
            sightings.saw(("client", node, idx), body)
        # The next poll is allowed `interval` after the server answered, which is before now.
        sightings.stop.wait(interval)


# ---- One scenario -------------------------------------------------------------------------------

def scenario(n_nodes, args, tmp):
    import boto3

    nodes = Nodes(n_nodes, args, tmp)
    sightings = Sightings()
    threads = []
    try:
        kw = dict(region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
        ac = boto3.client("appconfig", endpoint_url=nodes.urls[0], **kw)
        app = ac.create_application(Name="prop")["Id"]
        env = ac.create_environment(ApplicationId=app, Name="prod")["Id"]
        prof = ac.create_configuration_profile(ApplicationId=app, Name="cfg", LocationUri="hosted")["Id"]
        instant = ac.create_deployment_strategy(Name="instant", DeploymentDurationInMinutes=0, GrowthFactor=100,
                                                FinalBakeTimeInMinutes=0)["Id"]

        def deploy(k):
            content = f"version {k}".encode()
            ac.create_hosted_configuration_version(ApplicationId=app, ConfigurationProfileId=prof, Content=content,
                                                   ContentType="text/plain")
            # Start the watchers' clocks only for the deployment itself.
            t_start = time.time()
            number = ac.start_deployment(ApplicationId=app, EnvironmentId=env, DeploymentStrategyId=instant,
                                         ConfigurationProfileId=prof, ConfigurationVersion=str(k))["DeploymentNumber"]
            t_returned = time.time()
            while ac.get_deployment(ApplicationId=app, EnvironmentId=env,
                                    DeploymentNumber=number)["State"] != "COMPLETE":
                pass
            return content, t_start, t_returned, time.time()

        deploy(1)  # Something to read before the clients start.
        interval = POLL_MIN_SECONDS / args.time_scale
        path = "/applications/prop/environments/prod/configurations/cfg"
        for node, url in enumerate(nodes.urls):
            threads.append(threading.Thread(target=agent_watcher, daemon=True,
                                            args=(url, node, path, args.agent_poll_ms / 1000, sightings)))
            dc = boto3.client("appconfigdata", endpoint_url=url, **kw)
            for i in range(args.clients):
                token = dc.start_configuration_session(
                    ApplicationIdentifier="prop", EnvironmentIdentifier="prod", ConfigurationProfileIdentifier="cfg",
                    RequiredMinimumPollIntervalInSeconds=POLL_MIN_SECONDS)["InitialConfigurationToken"]
                threads.append(threading.Thread(target=client_watcher, daemon=True,
                                                args=(url, node, i, token, interval, sightings)))
        for t in threads:
            t.start()
        watchers = n_nodes * (1 + args.clients)

        samples = {"start → commit": [], "commit → data plane sees it": [], "commit → client receives it": []}
        per_node = {n: [] for n in range(n_nodes)}
        for k in range(2, args.deployments + 2):
            # A random phase against the clients' poll cycles (otherwise the next deployment
            # would always start right after the last client's poll).
            time.sleep(random.uniform(0, interval))
            content, t_start, t_returned, t_complete = deploy(k)
            deadline = time.time() + 3 * interval + 10
            while len(sightings.of(content)) < watchers and time.time() < deadline:
                time.sleep(0.01)
            seen = sightings.of(content)
            if len(seen) < watchers:
                sys.exit(f"deployment {k}: only {len(seen)} of {watchers} watchers saw it in time "
                         f"({sightings.failed or 'no watcher failed'})")
            t_commit = min([t_complete] + [t for w, t in seen.items() if w[0] == "agent"])
            samples["start → commit"].append(t_commit - t_returned)
            for w, t in seen.items():
                if w[0] == "agent":
                    samples["commit → data plane sees it"].append(t - t_commit)
                    per_node[w[1]].append(t - t_commit)
                else:
                    samples["commit → client receives it"].append(t - t_commit)
            print(f"  {nodes.backend} x{n_nodes}: deployment {k - 1}/{args.deployments}", file=sys.stderr)
        return nodes.backend, interval, samples, per_node
    finally:
        sightings.stop.set()
        for t in threads:
            t.join(timeout=5)
        nodes.close()


# ---- Report -------------------------------------------------------------------------------------

def pct(xs, p):
    """Nearest-rank percentile."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, math.ceil(p / 100 * len(xs)) - 1))]


def ms(x):
    return f"{x * 1000:.1f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--deployments", type=int, default=50)
    ap.add_argument("--clients", type=int, default=4, help="GetLatestConfiguration pollers per node")
    ap.add_argument("--time-scale", type=float, default=60.0,
                    help="server clock speed-up; the real poll interval is 15 s / this")
    ap.add_argument("--agent-poll-ms", type=float, default=2.0, help="pause between tight agent-path reads")
    ap.add_argument("--nodes", default="1,3", help="scenarios: 1 = one node on SQLite, 3 = three on PostgreSQL")
    ap.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432",
                    help="cluster for the multi-node scenario (a fresh database is created and dropped)")
    ap.add_argument("--postgres-single", action="store_true", help="run the one-node scenario on PostgreSQL too")
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()
    if not args.no_build:
        build_server()

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(x) for x in args.nodes.split(",")):
            results.append((n, *scenario(n, args, tmp)))

    print(f"\n{args.deployments} instant deployments, {args.clients} GetLatestConfiguration clients per node "
          f"polling every {POLL_MIN_SECONDS} s of service time (--time-scale {args.time_scale:g}: "
          f"{POLL_MIN_SECONDS / args.time_scale * 1000:.0f} ms real), agent path read every "
          f"{args.agent_poll_ms:g} ms on every node; delays in ms\n")
    print("| nodes | delay | samples | p50 | p99 | max |")
    print("|---|---|---:|---:|---:|---:|")
    for n, backend, interval, samples, per_node in results:
        for what, xs in samples.items():
            print(f"| {n} ({backend}) | {what} | {len(xs)} | {ms(statistics.median(xs))} | {ms(pct(xs, 99))} "
                  f"| {ms(max(xs))} |")
        if n > 1:
            for node, xs in per_node.items():
                print(f"| {n} ({backend}) | commit → node {node} data plane | {len(xs)} | "
                      f"{ms(statistics.median(xs))} | {ms(pct(xs, 99))} | {ms(max(xs))} |")
    print("\n'commit → client receives it' includes the wait for the client's next allowed poll "
          "(uniform between 0 and one poll interval); 'commit' is the first outside sighting of the "
          "new state (error: one agent-poll period plus a round trip). Node 0 takes the control-plane calls.")


if __name__ == "__main__":
    main()
