#!/usr/bin/env python3
"""Scenario engine cost, and stampede vs Artillery on the same flow.

The flow is three steps against stampede-target --api (login -> add to
cart -> check out): the token is captured from the login's JSON, sent as a
bearer token, the cart id captured with a regex and sent back in the
checkout body; every step checks its status. Server pinned to CPU 1, the
client to CPU 0 (one worker thread), runs alternate, --runs rounds,
medians; markdown on stdout, each run on stderr.

Part 1, CPU per request at equal request rate (open loop, stampede -t1):
- flags: -R RATE, one POST /api/login request over and over (the same
  endpoint, so the server's answer is alike),
- scenario: constant-rate RATE/3 iterations/s of the three-step flow, so
  RATE requests/s too.
Client CPU = the client process's user + sys (getrusage, start-up
included) / responses. The ratio is the scenario engine's cost: rendering
templates, copying responses for captures and checks, JSON lookups.

Part 2, requests per second at one core (closed loop, as fast as it goes):
- stampede flags (the reference for the engine's cost at full load): -c
  --connections, one POST /api/login over and over,
- stampede, keep-alive: constant-connections, --connections, the flow in
  a loop on each connection,
- stampede, a connection per iteration (reconnect executor): what
  Artillery does (each virtual user opens its own connection),
- Artillery (npm artillery, `artillery run` pinned to CPU 0): arrivalRate
  --artillery-rate virtual users/s, each runs the flow once; Artillery runs
  its workers as Node.js processes/threads: all of them are pinned to
  CPU 0, and their CPU is counted (process tree).
Rate = responses / the client's own measured duration (Artillery: its
counters between the first and last counter timestamps); the CPU column
says how busy the client was (1.0 = the whole core).

usage: tools/bench/scenario.py [--build build] [--runs 3] [--duration 10]
                               [--rate 6000] [--connections 50]
                               [--artillery DIR (holding node_modules/.bin/artillery)]
                               [--artillery-rate 1000] [--clients flags,scenario,...]
"""
import argparse
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

FLOW = """target: http://127.0.0.1:{port}
scenarios:
  flow:
    executor: {executor}
{load}
    timeout: 5s
    steps:
      - name: login
        post: /api/login
        json: {{user: "u{{{{conn}}}}", password: pw}}
        capture: {{token: {{json: token}}}}
        check: {{status: 200}}
      - name: cart
        post: /api/cart
        headers: {{Authorization: "Bearer {{{{token}}}}"}}
        json: {{sku: sku-1, qty: 1}}
        capture: {{cart: {{regex: '"cart_id":"(cart-[0-9]+)"'}}}}
        check: {{status: 200}}
      - name: checkout
        post: /api/checkout
        headers: {{Authorization: "Bearer {{{{token}}}}"}}
        json: {{cart_id: "{{{{cart}}}}"}}
        check: {{status: 200}}
"""

ARTILLERY = """config:
  target: http://127.0.0.1:{port}
  phases:
    - duration: {duration}
      arrivalRate: {rate}
scenarios:
  - flow:
      - post:
          url: /api/login
          json: {{user: u1, password: pw}}
          capture: {{json: "$.token", as: token}}
      - post:
          url: /api/cart
          headers: {{Authorization: "Bearer {{{{ token }}}}"}}
          json: {{sku: sku-1, qty: 1}}
          capture: {{json: "$.cart_id", as: cart}}
      - post:
          url: /api/checkout
          headers: {{Authorization: "Bearer {{{{ token }}}}"}}
          json: {{cart_id: "{{{{ cart }}}}"}}
"""


def stampede_json(out, err, rc, what):
    if rc not in (0, 99):
        raise bl.RunError(f"{what} exited {rc}: {bl.tail(err)}")
    return json.loads(out)


def run_flags(a, port, rate=True):
    load = ["-R", str(a.rate)] if rate else []
    cmd = ["taskset", "-c", "0", f"{a.build}/stampede", "-t1", "-c", str(a.connections),
           *load, "-d", f"{a.duration}s", "-m", "POST",
           "-H", "Content-Type: application/json", "--body", '{"user":"u1","password":"pw"}',
           "-q", "--json", "-", f"http://127.0.0.1:{port}/api/login"]
    out, err, rc, cpu, wall = bl.run_client(cmd, a.duration + 60)
    d = stampede_json(out, err, rc, "stampede flags")
    n = d["counters"]["responses"]
    return {"responses": n, "cpu_us": cpu * 1e6 / n if n else None,
            "rate": n / d["duration_s"], "busy": cpu / d["duration_s"],
            "fails": d["counters"]["responses"] - d["counters"]["status"]["2xx"]}


def run_scenario(a, port, tmp, executor, load):
    path = os.path.join(tmp, f"flow-{executor}.yaml")
    with open(path, "w") as f:
        f.write(FLOW.format(port=port, executor=executor, load=load))
    cmd = ["taskset", "-c", "0", f"{a.build}/stampede", "run", path, "-t1", "-q", "--json", "-"]
    out, err, rc, cpu, wall = bl.run_client(cmd, a.duration + 60)
    d = stampede_json(out, err, rc, f"stampede {executor}")
    n = d["counters"]["responses"]
    fails = sum(c["fails"] for c in d["flow"]["checks"])
    return {"responses": n, "cpu_us": cpu * 1e6 / n if n else None,
            "rate": n / d["duration_s"], "busy": cpu / d["duration_s"], "fails": fails,
            "iterations": d["flow"]["iterations"]}


def run_artillery(a, port, tmp):
    cfg = os.path.join(tmp, "artillery.yml")
    report = os.path.join(tmp, "artillery.json")
    with open(cfg, "w") as f:
        f.write(ARTILLERY.format(port=port, duration=a.duration, rate=a.artillery_rate))
    exe = os.path.join(a.artillery, "node_modules", ".bin", "artillery")
    cmd = ["taskset", "-c", "0", exe, "run", "--quiet", "--output", report, cfg]
    env = dict(os.environ, ARTILLERY_DISABLE_TELEMETRY="true", DO_NOT_TRACK="1")
    out, err, rc, cpu, wall = bl.run_client(cmd, a.duration + 180, env=env, cwd=a.artillery)
    if rc != 0:
        raise bl.RunError(f"artillery exited {rc}: {bl.tail(err or out)}")
    agg = json.load(open(report))["aggregate"]
    c = agg["counters"]
    n = c.get("http.responses", 0)
    t0, t1 = agg.get("firstCounterAt"), agg.get("lastCounterAt")
    secs = (t1 - t0) / 1000 if t0 and t1 and t1 > t0 else a.duration
    bad = n - c.get("http.codes.200", 0)
    # busy over the whole run: its start-up is in cpu, not in its counter window
    return {"responses": n, "cpu_us": cpu * 1e6 / n if n else None, "rate": n / secs,
            "busy": cpu / wall, "fails": bad + c.get("vusers.failed", 0),
            "iterations": c.get("vusers.completed", 0)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--rate", type=int, default=6000)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--artillery", default=None)
    ap.add_argument("--artillery-rate", type=int, default=1000)
    ap.add_argument("--clients", default="flags,scenario,flagsmax,keepalive,perconn,artillery")
    a = ap.parse_args()
    server, port = bl.start_server(
        ["taskset", "-c", "1", f"{a.build}/stampede-target", "--port", "0", "--threads", "1",
         "--api"], r"listening (\S+):(\d+)", "stampede-target")
    res = {k: [] for k in ("flags", "scenario", "flagsmax", "keepalive", "perconn", "artillery")}
    rate3 = a.rate / 3
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for r in range(a.runs):
                one = {
                    "flags": lambda: run_flags(a, port),
                    "scenario": lambda: run_scenario(
                        a, port, tmp, "constant-rate",
                        f"    rate: {rate3:.3f}/s\n    connections: {a.connections}\n"
                        f"    duration: {a.duration}s"),
                    "flagsmax": lambda: run_flags(a, port, rate=False),
                    "keepalive": lambda: run_scenario(
                        a, port, tmp, "constant-connections",
                        f"    connections: {a.connections}\n    duration: {a.duration}s"),
                    "perconn": lambda: run_scenario(
                        a, port, tmp, "reconnect",
                        f"    connections: {a.connections}\n    duration: {a.duration}s"),
                }
                if a.artillery:
                    one["artillery"] = lambda: run_artillery(a, port, tmp)
                one = {k: fn for k, fn in one.items() if k in a.clients.split(",")}
                for k, fn in one.items():
                    v = fn()
                    res[k].append(v)
                    bl.log(f"run {r + 1} {k}: {v}")
        finally:
            rest = bl.stop_server(server)
    bl.log(rest.strip())

    def med(k, f):
        return bl.median([v[f] for v in res[k] if v.get(f) is not None])

    print(f"Part 1: CPU per request at {a.rate} requests/s (open loop, one client core), "
          f"median of {a.runs}\n")
    f_cpu, s_cpu = med("flags", "cpu_us"), med("scenario", "cpu_us")
    if not res["flags"]:
        f_cpu = None
    print(bl.md_table(
        ["client", "req/s achieved", "CPU us/request", "vs flags"],
        [["stampede -R (one request, flags)", bl.fmt(med("flags", "rate")), bl.fmt(f_cpu, ".2f"),
          "1.00"],
         ["stampede run (3-step flow, captures, checks)", bl.fmt(med("scenario", "rate")),
          bl.fmt(s_cpu, ".2f"), bl.fmt(s_cpu / f_cpu if f_cpu and s_cpu else None, ".2f")]]))
    print(f"\nPart 2: the same flow, as fast as one client core goes, median of {a.runs}\n")
    rows = []
    for k, label in (("flagsmax", "stampede flags, one POST /api/login, keep-alive (50 connections)"),
                     ("keepalive", "stampede run, keep-alive (50 connections)"),
                     ("perconn", "stampede run, a connection per iteration"),
                     ("artillery", f"Artillery, arrivalRate {a.artillery_rate}/s")):
        if res[k]:
            rows.append([label, bl.fmt(med(k, "rate")), bl.fmt(med(k, "cpu_us"), ".1f"),
                         bl.fmt(med(k, "busy"), ".2f"), bl.fmt(med(k, "fails"))])
    print(bl.md_table(["client", "req/s", "CPU us/request", "client CPU (cores)",
                       "failed checks/responses"], rows))


if __name__ == "__main__":
    main()
