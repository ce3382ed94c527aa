#!/usr/bin/env python3
"""User-space instructions per read: the bare hyper reference, GetLatestConfiguration, the agent
read and GetLatestConfiguration as a presigned SigV4 URL (1 KB each), every server run under
`valgrind --tool=callgrind` (issue 17; see docs/performance.md, "Instructions per read").

Throughput shares move with the machine (the bare server did 88k req/s at 1 KB on one session's
machine and 237k on another's), because the kernel's part of a request does. Instruction counts
do not depend on the machine's speed or load (runs of the same binaries agree within 0.3 %).
They count only the server's own code and libraries (the kernel is not seen), so they say how
much appconfigd adds to a request, not how fast it is.

Each server is started under callgrind with the data-plane bench's set-up (`dataplane.py`),
warmed up, then: counters zeroed, `wrk -t1 -c4` for `--duration` seconds, counters dumped.
Instructions per request = the dump's total / requests served. The background work of an idle
server (the deployment engine's ticks) is measured the same way over an idle period and
subtracted, pro rata of the load's length.

Usage: python3 benches/instructions.py [--duration 5] [--top N] [--no-build]
    --top N also lists each read's N functions with the most instructions of their own
    (inlined code counts as its caller's: fat LTO inlines much of a read into a few frames).
Needs: valgrind (callgrind, callgrind_control), wrk, boto3, release builds (made unless --no-build).
"""
import argparse
import glob
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dataplane  # noqa: E402  (the servers and their set-up are the data-plane bench's)

# valgrind's virtual CPU has no SHA extensions, so under it the sha2 crate runs its portable
# SHA-256 (about 3,500 instructions a 64-byte block here, many times what the SHA-NI path of the
# real machine executes): the table shows every count with and without it.
SHA256 = re.compile(r"sha2::sha256::")


def callgrind_start(tmp):
    """dataplane.start, with the command run under callgrind (its report goes to a file)."""
    plain = dataplane.start

    def start(cmd, env=None):
        out = os.path.join(tmp, "callgrind.out.%p")
        log = os.path.join(tmp, "valgrind.%p.log")
        return plain(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", f"--log-file={log}",
                      *cmd], env)

    return start


def dump(pid, tmp):
    """Dumps (and zeroes) the counters of `pid`; returns the dump's instructions by function
    (each function's own, callees excluded)."""
    before = set(glob.glob(os.path.join(tmp, f"callgrind.out.{pid}*")))
    subprocess.run(["callgrind_control", "-d", str(pid)], check=True, capture_output=True)
    for _ in range(600):
        new = set(glob.glob(os.path.join(tmp, f"callgrind.out.{pid}*"))) - before
        if new:
            time.sleep(0.5)  # let callgrind finish writing
            return self_costs(new.pop())
        time.sleep(0.1)
    sys.exit(f"no callgrind dump from {pid}")


def self_costs(path):
    """{function: instructions of its own} from a callgrind dump (positions: line, events: Ir).
    A cost line right after `calls=` is the call's inclusive cost, charged to the caller's call
    site, so it is skipped; names are compressed as `fn=(id) name`, later `fn=(id)`."""
    names, costs, current, after_call = {}, {}, None, False  # costs by function id
    with open(path) as f:
        for line in f:
            if line.startswith(("fn=", "cfn=")):
                # A name is given once, where its id first appears: as a function or a callee.
                m = re.match(r"c?fn=\((\d+)\)(?: (.*))?", line.rstrip("\n"))
                if m.group(2):
                    names[m.group(1)] = m.group(2)
                if line.startswith("fn="):
                    current = m.group(1)
            elif line.startswith("calls="):
                after_call = True
            elif line[:1].isdigit() or line[:1] in "+-*":
                if after_call:
                    after_call = False
                    continue
                parts = line.split()
                if len(parts) >= 2 and current is not None:
                    costs[current] = costs.get(current, 0) + int(parts[1])
    return {names.get(k, k): v for k, v in costs.items()}


def zero(pid):
    subprocess.run(["callgrind_control", "-z", str(pid)], check=True, capture_output=True)


def load(url, duration):
    out = subprocess.run(["wrk", "-t1", "-c4", f"-d{duration}s", url], check=True, capture_output=True,
                         text=True).stdout
    if "Non-2xx" in out:
        sys.exit(f"{url}: non-2xx answers\n{out}")
    return int(re.search(r"(\d+) requests in", out).group(1))


def measure(pid, url, duration, idle_per_s, tmp):
    load(url, 1)  # warm-up: caches filled, connections' buffers grown
    zero(pid)
    t0 = time.monotonic()
    requests = load(url, duration)
    elapsed = time.monotonic() - t0
    costs = dump(pid, tmp)
    total = sum(costs.values()) - idle_per_s * elapsed
    sha = sum(v for k, v in costs.items() if SHA256.search(k))
    return total / requests, (total - sha) / requests, requests, {k: v / requests for k, v in costs.items()}


def idle_rate(pid, seconds, tmp):
    zero(pid)
    t0 = time.monotonic()
    time.sleep(seconds)
    total = sum(dump(pid, tmp).values())
    return total / (time.monotonic() - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--top", type=int, default=0)
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()
    if not args.no_build:
        dataplane.build()
    tmp = tempfile.mkdtemp()
    dataplane.start = callgrind_start(tmp)
    procs = []
    try:
        print("starting the servers under callgrind ...", file=sys.stderr)
        targets = dataplane.profile_targets(procs, tmp)
        idle = {pid: idle_rate(pid, args.duration, tmp) for pid in {t[1] for t in targets}}
        results = []
        for name, pid, url in targets:
            print(f"measuring {name} ...", file=sys.stderr)
            results.append((name, *measure(pid, url, args.duration, idle[pid], tmp)))
    finally:
        for p in procs:
            p.kill()
    bare_ir, bare_nosha = results[0][1], results[0][2]
    print("| read (1 KB) | instructions per request | × bare hyper | without SHA-256 | × bare hyper | requests |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, ir, nosha, requests, _ in results:
        print(f"| {name} | {ir:,.0f} | {ir / bare_ir:.2f} | {nosha:,.0f} | {nosha / bare_nosha:.2f} | {requests:,} |")
    print("\nIdle background work subtracted (instructions per second, per server): "
          + ", ".join(f"{v:,.0f}" for v in idle.values()))
    for name, _, _, _, per_fn in results if args.top else ():
        print(f"\n{name}: the {args.top} functions with the most instructions of their own, per request\n")
        print("| instructions | function |")
        print("|---:|---|")
        for fn, ir in sorted(per_fn.items(), key=lambda kv: -kv[1])[:args.top]:
            print(f"| {ir:,.0f} | `{fn[:120]}` |")


if __name__ == "__main__":
    main()
