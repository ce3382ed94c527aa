#!/usr/bin/env python3
"""Scale benchmarks (issue 17, items 4 and 5). Two sections, both by default:

`--section data`: 10,000 deployed configurations across 1,000 applications (10 hosted
profiles each, one environment each, 1 KB of distinct content each). Reports the start-up time
to first answer (exec → first 200 on an agent path, best and median of --startups restarts),
the RSS right after start-up and after every configuration was read once, and read throughput
with wrk spread over all 10,000 agent paths (a Lua script picks one at random per request)
beside wrk on one agent path of the same server. The prepared SQLite database is cached in
target/bench-cache/ (keyed by the sizes); delete that directory to rebuild it (after a schema
change, for instance). Every run works on a copy, so the cache stays as prepared.

`--section engine`: --in-flight deployments (default 1,000, one environment each) running at
once on a scaled clock (default: a 10-minute linear strategy with growth factor 10 at
--time-scale 60, i.e. a step every second, 10 s in all), started as fast as parallel clients
can. Step lag = the time a step committed minus the time it was scheduled. Deployment events
carry the scheduled time, not the commit time, so the bench watches the engine's durable timers
instead: it polls `SELECT id, due_at FROM jobs` in the SQLite file (read-only, every
--observe-ms), where each in-progress deployment has one row whose due_at is the wall time of
its next transition; a step committed when its row's due_at moved past it (or the row went,
for the last step). The schedule itself comes from GetDeployment's StartedAt and the strategy,
as src/domain/timeline.rs plans it. Reports p50/p99/max step lag (target: p99 < 1 s), with the
observation's resolution (one poll period).

Usage: python3 benches/scale.py [--section data|engine|all] [--apps 1000] [--profiles 10]
       [--in-flight 1000] [--time-scale 60] [--duration-minutes 10] [--growth 10] [--no-build]
"""
import argparse
import concurrent.futures as cf
import http.client
import math
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

from dataplane import BIN, ROOT, build_server, rss_mb, server_env, start, wrk

CACHE = os.path.join(ROOT, "target", "bench-cache")


def clients(url, threads):
    """One boto3 appconfig client per thread (clients are not shared between threads)."""
    import boto3

    local = threading.local()
    kw = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    cfg = __import__("botocore.config").config.Config(max_pool_connections=threads, retries={"max_attempts": 0})

    def get():
        if not hasattr(local, "ac"):
            local.ac = boto3.client("appconfig", config=cfg, **kw)
        return local.ac

    return get


def stop(p):
    """SIGTERM and wait, so SQLite checkpoints its WAL into the database file."""
    p.terminate()
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, math.ceil(p / 100 * len(xs)) - 1))]


def agent_path(a, p):
    return f"/applications/app{a:04d}/environments/prod/configurations/p{p}"


# ---- Data scale -------------------------------------------------------------------------------

def prepare(path, args):
    """Creates the apps × profiles deployed configurations in a fresh database at `path`."""
    tmp = path + ".partial"
    for f in (tmp, tmp + "-wal", tmp + "-shm"):
        if os.path.exists(f):
            os.remove(f)
    server, url = start([BIN, "serve", "--listen", "127.0.0.1:0", "--database", f"sqlite://{tmp}",
                         "--quota-applications", str(args.apps + 10),
                         "--quota-profiles", str(args.profiles + 10)], server_env())
    get = clients(url, args.threads)
    t0 = time.time()
    try:
        instant = get().create_deployment_strategy(Name="instant", DeploymentDurationInMinutes=0, GrowthFactor=100,
                                                   FinalBakeTimeInMinutes=0)["Id"]

        def one_app(a):
            ac = get()
            app = ac.create_application(Name=f"app{a:04d}")["Id"]
            env = ac.create_environment(ApplicationId=app, Name="prod")["Id"]
            for p in range(args.profiles):
                prof = ac.create_configuration_profile(ApplicationId=app, Name=f"p{p}", LocationUri="hosted")["Id"]
                ac.create_hosted_configuration_version(ApplicationId=app, ConfigurationProfileId=prof,
                                                       Content=os.urandom(args.content_bytes // 2).hex().encode(),
                                                       ContentType="application/octet-stream")
                # One deployment per environment at a time: retry while the last one finishes.
                while True:
                    try:
                        ac.start_deployment(ApplicationId=app, EnvironmentId=env, DeploymentStrategyId=instant,
                                            ConfigurationProfileId=prof, ConfigurationVersion="1")
                        break
                    except ac.exceptions.ConflictException:
                        time.sleep(0.01)
            return app, env

        done = 0
        with cf.ThreadPoolExecutor(args.threads) as pool:
            envs = []
            for r in pool.map(one_app, range(args.apps)):
                envs.append(r)
                done += 1
                if done % 50 == 0:
                    print(f"  prepared {done}/{args.apps} applications ({time.time() - t0:.0f} s)", file=sys.stderr)
        # The last deployment of every environment must be COMPLETE before the copy is cached.
        ac = get()
        for app, env in envs:
            while ac.list_deployments(ApplicationId=app, EnvironmentId=env)["Items"][0]["State"] != "COMPLETE":
                time.sleep(0.05)
    finally:
        stop(server)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(tmp + suffix):
            os.replace(tmp + suffix, path + suffix)
    print(f"  prepared {args.apps * args.profiles} deployed configurations in {time.time() - t0:.0f} s",
          file=sys.stderr)


def first_answer(db, path):
    """Starts a server on `db`; returns (process, url, seconds from exec to the first 200 on `path`)."""
    t0 = time.perf_counter()
    p, url = start([BIN, "serve", "--listen", "127.0.0.1:0", "--database", f"sqlite://{db}"], server_env())
    u = urllib.parse.urlparse(url)
    while True:
        try:
            c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
            c.request("GET", path)
            r = c.getresponse()
            r.read()
            if r.status == 200:
                return p, url, time.perf_counter() - t0
        except OSError:
            pass
        time.sleep(0.0005)


def read_all(url, args):
    """Reads every configuration once through the agent path (parallel keep-alive connections)."""
    u = urllib.parse.urlparse(url)
    paths = [agent_path(a, p) for a in range(args.apps) for p in range(args.profiles)]

    def part(chunk):
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        for path in chunk:
            c.request("GET", path)
            r = c.getresponse()
            body = r.read()
            assert r.status == 200 and len(body) == args.content_bytes, (path, r.status, len(body))

    n = 8
    with cf.ThreadPoolExecutor(n) as pool:
        list(pool.map(part, [paths[i::n] for i in range(n)]))


def wrk_spread(url, args, tmp):
    """wrk over all agent paths: a Lua script picks a random application and profile per request."""
    script = os.path.join(tmp, "spread.lua")
    with open(script, "w") as f:
        f.write(f"""
math.randomseed(os.time())
request = function()
  local path = string.format("/applications/app%04d/environments/prod/configurations/p%d",
                             math.random(0, {args.apps - 1}), math.random(0, {args.profiles - 1}))
  return wrk.format("GET", path)
end
""")
    out = subprocess.run(["wrk", "-t2", f"-c{args.connections}", f"-d{args.duration}s", "--latency", "-s", script,
                          url], check=True, capture_output=True, text=True).stdout
    if re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        sys.exit(f"spread read: non-2xx answers\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def q(p):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        v, unit = float(m.group(1)), m.group(2)
        return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v

    return rps, q(50), q(99)


def data_section(args):
    os.makedirs(CACHE, exist_ok=True)
    cached = os.path.join(CACHE, f"scale-{args.apps}x{args.profiles}x{args.content_bytes}.db")
    if not os.path.exists(cached):
        prepare(cached, args)
    n = args.apps * args.profiles
    with tempfile.TemporaryDirectory() as tmp:
        probe = agent_path(args.apps - 1, args.profiles - 1)
        starts = []
        for _ in range(args.startups):
            db = os.path.join(tmp, "scale.db")
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(cached + suffix):
                    shutil.copyfile(cached + suffix, db + suffix)
            p, url, secs = first_answer(db, probe)
            starts.append(secs)
            rss_start = rss_mb(p.pid)
            if len(starts) < args.startups:
                stop(p)
                for suffix in ("", "-wal", "-shm"):
                    if os.path.exists(db + suffix):
                        os.remove(db + suffix)
        try:
            t0 = time.time()
            read_all(url, args)
            read_secs = time.time() - t0
            rss_read = rss_mb(p.pid)
            one = wrk(url + agent_path(0, 0), args.duration, args.connections)
            spread = wrk_spread(url, args, tmp)
            rss_after = rss_mb(p.pid)
        finally:
            stop(p)
    size = os.path.getsize(cached) / 1e6
    print(f"\n{n:,} deployed configurations ({args.apps:,} applications × {args.profiles} profiles, one environment "
          f"each, {args.content_bytes} B each), SQLite ({size:.0f} MB file); wrk -t2 -c{args.connections} "
          f"-d{args.duration}s\n")
    print("| measure | value |")
    print("|---|---:|")
    print(f"| start-up to first answer (exec → first 200 on an agent path), best of {args.startups} | "
          f"{min(starts) * 1000:.0f} ms |")
    print(f"| start-up to first answer, median of {args.startups} | {statistics.median(starts) * 1000:.0f} ms |")
    print(f"| RSS after start-up (one configuration read) | {rss_start:.1f} MB |")
    print(f"| RSS after reading all {n:,} once ({read_secs:.1f} s, 8 clients) | {rss_read:.1f} MB |")
    print(f"| RSS after the wrk runs | {rss_after:.1f} MB |")
    print("\n| read | req/s | p50 ms | p99 ms | share of one path |")
    print("|---|---:|---:|---:|---:|")
    print(f"| agent read, one path | {one[0]:,.0f} | {one[1]:.2f} | {one[2]:.2f} | 100% |")
    print(f"| agent read, random among all {n:,} paths | {spread[0]:,.0f} | {spread[1]:.2f} | {spread[2]:.2f} | "
          f"{spread[0] / one[0]:.0%} |")


# ---- Engine scale -------------------------------------------------------------------------------

class JobWatcher(threading.Thread):
    """Polls the jobs table: (id, t_observed, due_at or None once the row went) on every change."""

    def __init__(self, db, every):
        super().__init__(daemon=True)
        self.db, self.every = db, every
        self.changes, self.last = [], {}
        self.halt = threading.Event()
        self.polls = []

    def run(self):
        con = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=5)
        while not self.halt.is_set():
            t0 = time.time()
            rows = dict(con.execute("SELECT id, due_at FROM jobs WHERE kind = 'deployment'").fetchall())
            now = time.time() * 1000
            for i, due in rows.items():
                if self.last.get(i) != due:
                    self.changes.append((i, now, due))
            for i in set(self.last) - set(rows):
                self.changes.append((i, now, None))
            self.last = rows
            self.polls.append(time.time() - t0)
            time.sleep(self.every)


def schedule(started_ms, args):
    """Wall times (ms) of the step transitions, as timeline::plan and Deployment::wall_at do."""
    d = args.duration_minutes * 60_000
    pcts, k = [], 1
    while True:
        p = min(args.growth * k, 100.0)
        pcts.append(p)
        if p >= 100.0 - 1e-9:
            break
        k += 1
    n = len(pcts)
    return [started_ms + math.ceil((d * (i + 1) // n) / args.time_scale) for i in range(n)]


def engine_section(args):
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "engine.db")
        server, url = start([BIN, "serve", "--listen", "127.0.0.1:0", "--database", f"sqlite://{db}",
                             "--time-scale", str(args.time_scale),
                             "--quota-environments", str(args.in_flight + 10)], server_env())
        try:
            get = clients(url, args.threads)
            ac = get()
            app = ac.create_application(Name="engine")["Id"]
            prof = ac.create_configuration_profile(ApplicationId=app, Name="cfg", LocationUri="hosted")["Id"]
            ac.create_hosted_configuration_version(ApplicationId=app, ConfigurationProfileId=prof, Content=b"x" * 1024,
                                                   ContentType="application/octet-stream")
            strategy = ac.create_deployment_strategy(
                Name="linear", DeploymentDurationInMinutes=args.duration_minutes, GrowthType="LINEAR",
                GrowthFactor=args.growth, FinalBakeTimeInMinutes=0)["Id"]
            with cf.ThreadPoolExecutor(args.threads) as pool:
                envs = list(pool.map(lambda i: get().create_environment(ApplicationId=app, Name=f"e{i}")["Id"],
                                     range(args.in_flight)))
            watcher = JobWatcher(db, args.observe_ms / 1000)
            watcher.start()

            def deploy(env):
                return env, get().start_deployment(ApplicationId=app, EnvironmentId=env, DeploymentStrategyId=strategy,
                                                   ConfigurationProfileId=prof,
                                                   ConfigurationVersion="1")["DeploymentNumber"]

            t0 = time.time()
            with cf.ThreadPoolExecutor(args.threads) as pool:
                started = list(pool.map(deploy, envs))
            start_secs = time.time() - t0
            print(f"  started {len(started)} deployments in {start_secs:.1f} s", file=sys.stderr)

            # Wait for every deployment to complete (its job row goes).
            total = args.duration_minutes * 60 / args.time_scale
            deadline = time.time() + total + 120
            while time.time() < deadline:
                time.sleep(0.5)
                if not watcher.last and len(watcher.polls) > 2:
                    break
            watcher.halt.set()
            watcher.join()
            if watcher.last:
                sys.exit(f"{len(watcher.last)} deployments still in progress after {total + 120:.0f} s")

            with cf.ThreadPoolExecutor(args.threads) as pool:
                deps = list(pool.map(lambda en: get().get_deployment(ApplicationId=app, EnvironmentId=en[0],
                                                                     DeploymentNumber=en[1]), started))
        finally:
            stop(server)

    by_id = {}
    for job_id, t, due in watcher.changes:
        by_id.setdefault(job_id, []).append((t, math.inf if due is None else due))
    lags, states, unplanned = [], {}, 0
    for (env, number), dep in zip(started, deps):
        states[dep["State"]] = states.get(dep["State"], 0) + 1
        started_ms = dep["StartedAt"].timestamp() * 1000
        started_ms = round(started_ms)
        obs = by_id.get(f"{app}/{env}/{number}", [])
        planned = schedule(started_ms, args)
        # Cross-check of the schedule: every timer the engine set (after the first pick-up at
        # the start) must be one of the planned step times.
        unplanned += sum(1 for _, d in obs if d != math.inf and d > started_ms and d not in planned)
        for due in planned:
            # The step committed when the row's due_at first moved past its scheduled time.
            actual = next((t for t, d in obs if d > due), None)
            if actual is not None:
                lags.append((actual - due) / 1000)
    expected = len(started) * len(schedule(0, args))
    poll = statistics.median(watcher.polls) * 1000
    print(f"\n{len(started):,} deployments in flight at once (one environment each), LINEAR growth "
          f"{args.growth:g} % over {args.duration_minutes} min, no bake, --time-scale {args.time_scale:g} "
          f"(a step every {args.duration_minutes * 60 / args.time_scale / len(schedule(0, args)):.2f} s real); "
          f"started in {start_secs:.1f} s; SQLite\n")
    print("| measure | value |")
    print("|---|---:|")
    print(f"| steps observed / scheduled | {len(lags):,} / {expected:,} |")
    print(f"| engine timers not on the computed schedule (should be 0) | {unplanned} |")
    print(f"| final states | {', '.join(f'{k} {v}' for k, v in sorted(states.items()))} |")
    if lags:
        verdict = "pass" if pct(lags, 99) < 1.0 else "FAIL"
        print(f"| step lag p50 | {statistics.median(lags) * 1000:.0f} ms |")
        print(f"| step lag p99 (target < 1 s) | {pct(lags, 99) * 1000:.0f} ms ({verdict}) |")
        print(f"| step lag max | {max(lags) * 1000:.0f} ms |")
    print(f"| observation resolution (jobs poll period + query) | {args.observe_ms + poll:.0f} ms |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--section", choices=["data", "engine", "all"], default="all")
    ap.add_argument("--apps", type=int, default=1000)
    ap.add_argument("--profiles", type=int, default=10, help="hosted profiles (each deployed) per application")
    ap.add_argument("--content-bytes", type=int, default=1024)
    ap.add_argument("--threads", type=int, default=16, help="parallel API clients while preparing")
    ap.add_argument("--startups", type=int, default=3, help="restarts timed to the first answer")
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--in-flight", type=int, default=1000, help="deployments running at once (engine section)")
    ap.add_argument("--time-scale", type=float, default=60.0, help="engine section's clock speed-up")
    ap.add_argument("--duration-minutes", type=int, default=10, help="engine section's strategy duration")
    ap.add_argument("--growth", type=float, default=10.0, help="engine section's linear growth factor")
    ap.add_argument("--observe-ms", type=float, default=20.0, help="engine section's jobs-table poll period")
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()
    if not args.no_build:
        build_server()
    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True)
    if args.section in ("data", "all"):
        data_section(args)
    if args.section in ("engine", "all"):
        engine_section(args)


if __name__ == "__main__":
    main()
