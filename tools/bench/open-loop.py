#!/usr/bin/env python3
"""Open-loop benchmarks, one client core against the bundled target.

1. Rate sweep, stampede -R vs wrk2 -R, alternating at each rate: the highest
   rate each holds cleanly. stampede: achieved within 1% of the target, no
   drops, send lag p99 < 100 us (its own measure of lateness). wrk2 has no
   send-lag measure: achieved within 3% (its req/s counts its calibration
   period) and corrected p99 below 10 ms.
2. CPU per request of open loop vs closed loop at the same request rate.

wrk2 is not packaged by Debian: build it from a snapshot outside the repo
and pass --wrk2 PATH (never commit it). Server on CPU 1, client on CPU 0.

usage: tools/bench/open-loop.py --wrk2 /path/to/wrk [--build build] [--duration 5]
                                [--rates 25000,50000,...]
"""
import argparse
import json
import os
import re
import resource
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import importlib.util

spec = importlib.util.spec_from_file_location(
    "wvs", os.path.join(os.path.dirname(os.path.abspath(__file__)), "wrk-vs-stampede.py"))
wvs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(wvs)


def timed(cmd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return out, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def to_ms(v, unit):
    return float(v) * {"us": 1e-3, "ms": 1, "s": 1e3, "m": 6e4}[unit]


def run_wrk2(args, port, rate):
    out, cpu = timed(["taskset", "-c", "0", args.wrk2, "-t1", f"-c{args.connections}",
                      f"-d{args.duration}s", f"-R{rate}", "--latency",
                      f"http://127.0.0.1:{port}/"])
    reqs = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"99\.000%\s+([\d.]+)(us|ms|s|m)\b", out)
    return {"rps": rps, "p99_ms": to_ms(m.group(1), m.group(2)), "cpu_us": cpu * 1e6 / reqs}


def run_stampede(args, port, rate=None):
    cmd = ["taskset", "-c", "0", f"{args.build}/stampede", "-t1", f"-c{args.connections}",
           f"-d{args.duration}s", "-q", "--json", "-", f"http://127.0.0.1:{port}/"]
    if rate:
        cmd[4:4] = ["-R", str(rate)]
    out, cpu = timed(cmd)
    d = json.loads(out)
    c, m = d["counters"], d["metrics"]
    return {"rps": d["rates"]["responses_per_s"], "p99_ms": m["http_req_duration"]["p99"] / 1e3,
            "lag_p99_us": m["send_lag"]["p99"] if "send_lag" in m else 0,
            "dropped": c["dropped"], "cpu_us": cpu * 1e6 / max(c["responses"], 1)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--wrk2", required=True)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--rates", default="25000,50000,75000,100000,125000,150000")
    args = ap.parse_args()
    proc, port = wvs.start_target(args.build)
    try:
        print("| rate | stampede req/s | send lag p99 | dropped | p99 | CPU/req | clean | "
              "wrk2 req/s | wrk2 p99 | wrk2 CPU/req | clean |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for rate in map(int, args.rates.split(",")):
            w = run_wrk2(args, port, rate)
            s = run_stampede(args, port, rate)
            s_ok = abs(s["rps"] - rate) <= rate / 100 and not s["dropped"] and s["lag_p99_us"] < 100
            # wrk2's req/s includes its calibration second: allow 3%
            w_ok = w["rps"] >= rate * 0.97 and w["p99_ms"] < 10
            print(f"| {rate} | {s['rps']:.0f} | {s['lag_p99_us']} us | {s['dropped']} | "
                  f"{s['p99_ms']:.2f} ms | {s['cpu_us']:.1f} us | {'yes' if s_ok else 'no'} | "
                  f"{w['rps']:.0f} | {w['p99_ms']:.2f} ms | {w['cpu_us']:.1f} us | "
                  f"{'yes' if w_ok else 'no'} |", flush=True)
        closed = run_stampede(args, port)
        rate = int(closed["rps"] * 0.9)
        opened = run_stampede(args, port, rate)
        print()
        print("| model | req/s | CPU per request |")
        print("| --- | --- | --- |")
        print(f"| closed loop, -c {args.connections} | {closed['rps']:.0f} | "
              f"{closed['cpu_us']:.2f} us |")
        print(f"| open loop, -R {rate} (90% of the closed-loop rate) | {opened['rps']:.0f} | "
              f"{opened['cpu_us']:.2f} us |")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait()


if __name__ == "__main__":
    main()
