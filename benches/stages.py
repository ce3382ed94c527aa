#!/usr/bin/env python3
"""Where a read's time goes: CPU nanoseconds per request, by stage, for the bare hyper
reference, the agent read, GetLatestConfiguration and GetLatestConfiguration as a presigned
SigV4 URL verified in full (1 KB; `--size 100k` profiles the 100 KB reads instead), from
`perf record` call stacks taken while wrk loads each one (issue 17; see docs/performance.md,
"Where the time goes").

Each target is loaded by `wrk -t2 -c64` for `--duration` seconds while `perf record -e cpu-clock
--call-graph dwarf` samples the server process at `--freq` Hz. A sample is charged to the
stage of its innermost frame that names one (STAGES, in order of precedence); ns per request
= samples / freq / requests served in the window. Only the server's own CPU is counted (wrk's
is not), kernel time included: the socket calls are stages of their own.

Usage: python3 benches/stages.py [--duration 5] [--freq 2000] [--size 1k|100k] [--no-build]
Needs: perf (linux-perf), wrk, boto3, release builds (made unless --no-build).
"""
import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dataplane  # noqa: E402  (the servers and their set-up are the data-plane bench's)

# (stage, frame patterns). The innermost frame matching any pattern decides the stage.
STAGES = [
    ("socket read (recv)", [r"__libc_recv", r"\brecv"]),
    ("socket write (writev; loopback delivery to wrk included)", [r"writev"]),
    ("idle wake-ups (epoll, park, futex)", [r"epoll_wait", r"park", r"futex"]),
    ("token verify (HMAC, base64, decode)", [r"Signer::verify"]),
    ("token mint (HMAC, base64)", [r"Signer::mint"]),
    ("name resolution (cache)", [r"DataPlane::resolve"]),
    ("snapshot lookup", [r"DataPlane::entry", r"Snapshot::get"]),
    ("rollout bucket and pick", [r"bucket", r"Entry::pick", r"mark_read"]),
    ("query parsing", [r"query_first", r"parse_query", r"decode_component", r"percent_decode"]),
    ("classification", [r"Endpoint::classify", r"Route::of"]),
    ("SigV4 signature (canonical request, SHA-256, HMAC, compare)", [r"auth::signing", r"Prechecked::verify"]),
    ("SigV4 parameters, key lookup and time", [r"Authenticator::precheck", r"auth::parse", r"auth::clock"]),
    ("authentication", [r"data_plane_caller", r"agent_account"]),
    ("response headers", [r"Builder::header", r"HeaderValue"]),
    ("metrics", [r"metrics::record", r"metrics::track", r"prometheus_client"]),
    ("data plane, rest (answer, futures)", [r"DataPlane::", r"wire::data_plane", r"Front::answer"]),
    # Before issue 17's front, reads went through these; now only the control plane does.
    ("router and middleware (axum, tower)", [r"axum::", r"tower::", r"AppState", r"domain::Service"]),
    ("HTTP parse (hyper)", [r"Http1Transaction>::parse", r"Buffered<T,B>::parse", r"recv_msg"]),
    ("HTTP encode and flush (hyper)", [r"::encode", r"write_head", r"poll_flush", r"poll_write"]),
    ("request drop", [r"drop_in_place<http::request"]),
    ("allocator", [r"malloc", r"free", r"realloc"]),
]
OTHER = "hyper, tokio and the rest"


def load_stacks(perf_data):
    out = subprocess.run(["perf", "script", "-i", perf_data], capture_output=True, text=True,
                         errors="replace").stdout
    stacks, cur = [], []
    for line in out.splitlines():
        if not line.strip():
            if cur:
                stacks.append(cur)
            cur = []
        elif line[0] in " \t":
            m = re.match(r"\s+[0-9a-f]+\s+(.*?)(\+0x[0-9a-f]+)?\s+\(", line)
            if m:
                cur.append(m.group(1))
        else:
            cur = []
    if cur:
        stacks.append(cur)
    return stacks


def stage_of(stack):
    compiled = [(name, [re.compile(p) for p in pats]) for name, pats in STAGES]
    for frame in stack:  # leaf first
        for name, pats in compiled:
            if any(p.search(frame) for p in pats):
                return name
    return OTHER


def profile(pid, url, duration, freq, tmp):
    data = os.path.join(tmp, f"perf-{pid}-{abs(hash(url))}.data")
    perf = subprocess.Popen(["perf", "record", "-q", "-F", str(freq), "-e", "cpu-clock", "--call-graph",
                             "dwarf,16384", "-p", str(pid), "-o", data, "--", "sleep", str(duration)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    wrk = subprocess.run(["wrk", "-t2", "-c64", f"-d{duration}s", url], capture_output=True, text=True,
                         check=True).stdout
    perf.wait()
    requests = int(re.search(r"(\d+) requests in", wrk).group(1))
    stacks = load_stacks(data)
    counts = collections.Counter(stage_of(s) for s in stacks)
    ns = {k: v / freq * 1e9 / requests for k, v in counts.items()}
    return ns, sum(ns.values()), requests / duration


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--freq", type=int, default=2000)
    ap.add_argument("--no-build", action="store_true")
    # 100k: the rows whose p99 is over target; the presigned row exists at 1 KB only.
    ap.add_argument("--size", choices=["1k", "100k"], default="1k")
    args = ap.parse_args()
    if not args.no_build:
        dataplane.build()
    tmp = tempfile.mkdtemp()
    procs = []
    try:
        targets = dataplane.profile_targets(procs, tmp, args.size)
        results = []
        for name, pid, url in targets:
            print(f"profiling {name} ...", file=sys.stderr)
            results.append((name, *profile(pid, url, args.duration, args.freq, tmp)))
    finally:
        for p in procs:
            p.kill()
    names = [n for n, _ in STAGES] + [OTHER]
    print("| stage (server CPU, ns per request) | " + " | ".join(r[0] for r in results) + " |")
    print("|---|" + "---:|" * len(results))
    for stage in names:
        cells = [f"{r[1].get(stage, 0):,.0f}" for r in results]
        if any(c != "0" for c in cells):
            print(f"| {stage} | " + " | ".join(cells) + " |")
    print("| **total** | " + " | ".join(f"**{r[2]:,.0f}**" for r in results) + " |")
    print("| req/s under the profiler | " + " | ".join(f"{r[3]:,.0f}" for r in results) + " |")


if __name__ == "__main__":
    main()
