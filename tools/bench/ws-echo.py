#!/usr/bin/env python3
"""WebSocket echo round trips, side by side, one client core.

(a) Against the Node `ws` echo server (tests/node/ws_echo.js): stampede vs
    Artillery vs Tsung, 50 connections, one message in flight on each,
    32-byte messages: round trips/s and client CPU per round trip, and the
    ratio Artillery CPU / stampede CPU per round trip (bar: >= 10x).
(b) Against a Bun echo server (cheaper than the client, so the client is
    what is measured): stampede with --ws-pipeline 1 and 16.

Server pinned to CPU 1, client to CPU 0; runs alternate (stampede,
Artillery, Tsung, stampede, ...), --runs rounds of --duration s; the tables
show medians (markdown on stdout, each run on stderr).

Client CPU, two figures per run:
- all-in: user + sys of the client's whole process tree over the whole run
  (getrusage(RUSAGE_CHILDREN) around it, cross-checked with /proc, see
  benchlib.py): Artillery's worker threads and Tsung's Erlang VM included,
  and so is their start-up (a JavaScript runtime loading ~1000 modules, an
  Erlang VM: ~0.5-3 s of CPU, a large share of a 10 s run);
- under load: the client tree's CPU while the echo server was busy (both
  sampled from /proc every 0.25 s; the window starts and ends on a sample,
  so it may take in up to 0.25 s of start-up or shut-down at each end: a
  bias against the client), divided by all round trips.
The bar (Artillery / stampede >= 10x) is judged on "under load" for both:
start-up is a fixed cost that longer runs dilute. Both ratios are printed.

What each counts as a round trip:
- stampede: counters.responses (echoes matched to a message it sent);
  rate = responses / --duration; RTT p50/p99 from metrics.ws_msg_rtt.
- Artillery: websocket.messages_received from its JSON report. Each `send`
  carries a `capture`, so the engine waits for one incoming message before
  the next send (one in flight). `think: 0` is left out: inside a `loop`
  Artillery's ws engine treats think 0 as an invalid step. Rate over
  Artillery's own first-to-last counter window; its ws engine records no
  latency.
- Tsung: the `request` samples of tsung.log (summed over its 10 s dumps),
  minus the handshakes (`websocket_succ`: the connect request is a request
  too). A request counts when its reply frame arrived. Rate = round trips /
  --duration (Tsung's max duration starts after its 1 s warm-up; users
  arrive at 100/s). Latency: Tsung's mean request time (no percentiles).
  Tsung's log loses the samples of its last moments when max duration
  aborts the run: it counted ~1% fewer replies than the server received
  in a 3 s smoke run (the server's totals are printed at the end).
Artillery runs take ~15-20 s more than --duration (start-up, then its
telemetry client's shutdown waits on DNS on a machine without it); the
client is idle then, so its CPU is not affected.

Peers come from --artillery (node_modules/.bin/artillery of
`npm i artillery --ignore-scripts`), --tsung (Debian's tsung) and --bun
(node_modules/bun/bin/bun.exe of `npm i bun`; installed with
--ignore-scripts it is a stub until `node install.js` runs in
node_modules/bun, which links the binary from @oven/bun-linux-x64 without
downloading); by default they are looked up on PATH. A missing peer is
reported as skipped. Install them outside the repo; never commit them.
tests/node needs `npm ci` for the Node server. Tsung's Erlang VM starts an
epmd daemon that outlives the run.

usage: tools/bench/ws-echo.py [--build build] [--runs 3] [--duration 10]
                              [--connections 50] [--msg-size 32]
                              [--artillery PATH] [--tsung PATH] [--bun PATH]
                              [--node node] [--part a|b|both]
                              [--clients stampede,artillery,tsung]
"""
import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import traceback
from xml.sax.saxutils import escape

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

BUN_ECHO = r"""// WebSocket echo on Bun (written by tools/bench/ws-echo.py).
let handshakes = 0, msgsIn = 0;
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: Number(process.argv[2] || 0),
  fetch(req, srv) {
    if (srv.upgrade(req)) return;
    return new Response("not found", { status: 404 });
  },
  websocket: {
    maxPayloadLength: 1 << 20,
    idleTimeout: 0,
    open(ws) { handshakes++; },
    message(ws, m) { msgsIn++; ws.send(m); },
  },
});
console.log(`listening ${server.port}`);
process.on("SIGTERM", () => {
  console.log(`ws_handshakes ${handshakes}`);
  console.log(`ws_msgs_in ${msgsIn}`);
  process.exit(0);
});
"""


def payload(size):
    """A JSON text message of exactly size bytes: {"d":"xxxx"}."""
    if size < 9:
        sys.exit("--msg-size must be at least 9 (Artillery's capture needs a JSON message)")
    return '{"d":"' + "x" * (size - 8) + '"}'


# ---------------------------------------------------------------- stampede

def run_stampede(args, port, watch, pipeline, path="/"):
    cmd = ["taskset", "-c", "0", f"{args.build}/stampede", "-t1", f"-c{args.connections}",
           "--ws-pipeline", str(pipeline), "--ws-msg-size", str(args.msg_size),
           f"-d{args.duration}s", "-q", "--json", "-", f"ws://127.0.0.1:{port}{path}"]
    samples = []
    out, err, rc, cpu, wall = bl.run_client(cmd, args.duration + 60, sample_s=0.25,
                                            watch=watch, samples=samples)
    if rc != 0:
        raise bl.RunError(f"stampede exited {rc}: {bl.tail(err)}")
    d = json.loads(out)
    rt = d["counters"]["responses"]
    if rt <= 0:
        raise bl.RunError("stampede: no round trip")
    g, m = d["generator"], d["metrics"]["ws_msg_rtt"]
    return {"rt": rt, "sent": d["counters"]["ws"]["msgs_sent"], "window_s": args.duration,
            "rate": rt / args.duration, "cpu_s": cpu, "cpu_us": cpu * 1e6 / rt,
            "own_cpu_us": (g["cpu_user_s"] + g["cpu_sys_s"]) * 1e6 / rt,
            "lat": f"{m['p50']} / {m['p99']} us", "samples": samples}


# ---------------------------------------------------------------- Artillery

def artillery_files(tmp, port, args, duration_ms):
    proc = os.path.join(tmp, f"proc-{duration_ms}.js")
    with open(proc, "w") as f:
        f.write("'use strict';\n"
                "// loop until a deadline counted from when the worker loads this file\n"
                f"const deadline = Date.now() + {duration_ms};\n"
                "module.exports = { running: (ctx, next) => next(Date.now() < deadline) };\n")
    scen = os.path.join(tmp, f"ws-{duration_ms}.yml")
    with open(scen, "w") as f:
        f.write(f"""config:
  target: "ws://127.0.0.1:{port}/"
  processor: "{proc}"
  phases:
    - duration: 1
      arrivalCount: {args.connections}
scenarios:
  - engine: ws
    flow:
      - loop:
          - send:
              payload: '{payload(args.msg_size)}'
              capture:
                json: "$.d"
                as: "r"
        whileTrue: "running"
""")
    return scen


def run_artillery(args, port, watch, tmp, duration_ms):
    scen = artillery_files(tmp, port, args, duration_ms)
    report = os.path.join(tmp, "artillery-report.json")
    if os.path.exists(report):
        os.unlink(report)
    env = dict(os.environ, ARTILLERY_DISABLE_TELEMETRY="true")
    cmd = ["taskset", "-c", "0", args.artillery, "run", "--quiet", "-o", report, scen]
    samples = []
    out, err, rc, cpu, wall = bl.run_client(cmd, duration_ms / 1e3 + 180, env=env, cwd=tmp,
                                            sample_s=0.25, watch=watch, samples=samples)
    if rc != 0 or not os.path.exists(report):
        raise bl.RunError(f"artillery exited {rc}: {bl.tail(err or out)}")
    with open(report) as f:
        agg = json.load(f)["aggregate"]
    c = agg["counters"]
    rt = c.get("websocket.messages_received", 0)
    if rt <= 0:
        raise bl.RunError(f"artillery: no message received; counters {c}")
    window = (agg["lastCounterAt"] - agg["firstCounterAt"]) / 1e3
    errors = {k: v for k, v in c.items() if k.startswith("errors.")}
    return {"rt": rt, "sent": c.get("websocket.messages_sent", 0), "window_s": window,
            "rate": rt / window if window > 0 else None, "cpu_s": cpu, "cpu_us": cpu * 1e6 / rt,
            "lat": "n/a", "errors": errors, "vusers_failed": c.get("vusers.failed", 0),
            "samples": samples}


# ---------------------------------------------------------------- Tsung

def tsung_dtd(tsung):
    real = os.path.realpath(shutil.which(tsung) or tsung)
    cand = os.path.join(os.path.dirname(os.path.dirname(real)), "share", "tsung", "tsung-1.0.dtd")
    return cand if os.path.exists(cand) else "/usr/share/tsung/tsung-1.0.dtd"


def tsung_config(args, port, tmp):
    c = args.connections
    # Users arrive at 100/s. Tsung stops launching when a phase runs out
    # ("users were not launched in time"), and its first phase's clock starts
    # before its 1 s warm-up ends: give the phase a generous length; it
    # still starts exactly maxnumber users, in the first c/100 s.
    phase_s = -(-c // 100) + 5
    msg = f'<request><websocket type="message" frame="text">{escape(payload(args.msg_size))}' \
          '</websocket></request>'
    path = os.path.join(tmp, "tsung.xml")
    with open(path, "w") as f:
        f.write(f"""<?xml version="1.0"?>
<!DOCTYPE tsung SYSTEM "{tsung_dtd(args.tsung)}">
<tsung loglevel="error" dumptraffic="false" version="1.0">
  <clients>
    <client host="localhost" use_controller_vm="true" maxusers="{max(1000, c)}"/>
  </clients>
  <servers>
    <server host="127.0.0.1" port="{port}" type="tcp"/>
  </servers>
  <load duration="{args.duration}" unit="second">
    <arrivalphase phase="1" duration="{phase_s}" unit="second">
      <users maxnumber="{c}" arrivalrate="100" unit="second"/>
    </arrivalphase>
  </load>
  <sessions>
    <session name="ws-echo" probability="100" type="ts_websocket">
      <request><websocket type="connect" path="/"></websocket></request>
      <for from="1" to="2000000000" incr="1" var="i">
        {msg}
      </for>
    </session>
  </sessions>
</tsung>
""")
    return path


def parse_tsung_log(text):
    """Sum the per-dump sample counts; keep the last total of each counter."""
    samples, totals, mean_w = {}, {}, 0.0
    for line in text.splitlines():
        f = line.split()
        if len(f) < 4 or f[0] != "stats:" or f[1].startswith("{"):
            continue
        name = f[1]
        if len(f) == 4:  # counter: name interval_value total
            totals[name] = float(f[3])
        elif len(f) >= 9:  # sample: name count mean stddev max min meanfb countfb
            samples[name] = samples.get(name, 0) + int(f[2])
            if name == "request":
                mean_w += int(f[2]) * float(f[3])
    return samples, totals, (mean_w / samples["request"] if samples.get("request") else None)


def run_tsung(args, port, watch, tmp):
    conf = tsung_config(args, port, tmp)
    logdir = tempfile.mkdtemp(prefix="tsung-log-", dir=tmp)
    cmd = ["taskset", "-c", "0", args.tsung, "-n", "-f", conf, "-l", logdir, "start"]
    samples = []
    out, err, rc, cpu, wall = bl.run_client(cmd, args.duration + 120, sample_s=0.25,
                                            watch=watch, samples=samples)
    logs = glob.glob(os.path.join(logdir, "*", "tsung.log"))
    if rc != 0 or not logs:
        raise bl.RunError(f"tsung exited {rc}: {bl.tail(err or out)}")
    with open(logs[0]) as f:
        counts, totals, mean_ms = parse_tsung_log(f.read())
    hs = int(totals.get("websocket_succ", 0))
    rt = counts.get("request", 0) - hs
    users = int(totals.get("users_count", 0))
    if rt <= 0:
        raise bl.RunError(f"tsung: no round trip ({logs[0]})")
    errors = {k: int(v) for k, v in totals.items() if k.startswith("error_") and k != "error_abort"}
    warn = f"only {users} of {args.connections} users started" if users < args.connections else ""
    return {"rt": rt, "sent": None, "window_s": args.duration,
            "rate": rt / args.duration, "cpu_s": cpu, "cpu_us": cpu * 1e6 / max(rt, 1),
            "lat": f"mean {mean_ms:.2f} ms" if mean_ms is not None else "-",
            "errors": errors, "warn": warn, "handshakes": hs, "samples": samples}


# ---------------------------------------------------------------- driver

def measured(fn, server, *a):
    s0 = bl.proc_cpu_s(server.pid)
    r = fn(*a[:2], server.pid, *a[2:])
    r["server_busy"] = (bl.proc_cpu_s(server.pid) - s0) / r["window_s"] if r["window_s"] else None
    w = bl.load_window(r.pop("samples"))
    r["load_us"] = w[1] * 1e6 / r["rt"] if w else None
    r["load_window_s"] = w[0] if w else None
    return r


def why(e):
    """One line saying why a run failed."""
    if isinstance(e, bl.RunError):
        return str(e).splitlines()[0]
    return f"{type(e).__name__}: {e} (unexpected output?)"


def peer_version(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        return bl.tail(out.stdout + out.stderr, 1).strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def artillery_version(path):
    """From the package.json beside node_modules/.bin/artillery's target."""
    real = os.path.realpath(shutil.which(path) or path)
    try:
        with open(os.path.join(os.path.dirname(os.path.dirname(real)), "package.json")) as f:
            return json.load(f)["version"]
    except (OSError, ValueError, KeyError):
        return "?"


def part_a(args, tmp):
    echo = os.path.join(ROOT, "tests", "node", "ws_echo.js")
    if not os.path.isdir(os.path.join(ROOT, "tests", "node", "node_modules")):
        sys.exit("tests/node/node_modules is missing: run `npm ci` in tests/node")
    clients = [c for c in ("stampede", "artillery", "tsung") if c in args.clients]
    skipped = {}
    for peer in ("artillery", "tsung"):
        if peer in clients and not getattr(args, peer):
            skipped[peer] = f"not found (pass --{peer} PATH)"
            clients.remove(peer)
    server, port = bl.start_server(["taskset", "-c", "1", args.node, echo, "0"],
                                   r"listening (\d+)", "ws_echo.js")
    res = {c: [] for c in clients}
    failed = {}
    try:
        for i in range(args.runs):
            for c in clients:
                if c in failed:
                    continue
                try:
                    if c == "stampede":
                        r = measured(run_stampede, server, args, port, 1)
                    elif c == "artillery":
                        r = measured(run_artillery, server, args, port, tmp, args.duration * 1000)
                    else:
                        r = measured(run_tsung, server, args, port, tmp)
                except (bl.RunError, KeyError, ValueError, TypeError) as e:
                    failed[c] = why(e)
                    bl.log(f"  a run {i + 1} {c}: FAILED: {failed[c]}")
                    if not isinstance(e, bl.RunError):
                        bl.log(traceback.format_exc())
                    continue
                res[c].append(r)
                extra = "".join(f"  {k}={r[k]}" for k in ("errors", "warn") if r.get(k))
                bl.log(f"  a run {i + 1} {c:9s} {r['rate']:9.0f} rt/s  {r['cpu_us']:7.2f} us CPU/rt"
                       f" all-in, {bl.fmt(r['load_us'], '.2f')} under load"
                       f" ({bl.fmt(r['load_window_s'], '.2f')} s)"
                       f"  rt {r['rt']} sent {r['sent']}  {r['lat']}"
                       f"  server {r['server_busy'] * 100:3.0f}% of a core{extra}")
    finally:
        tail = bl.stop_server(server)
    bl.log(f"  ws_echo.js: {' '.join(tail.split())}")
    return res, skipped, failed


def part_b(args, tmp):
    if not args.bun:
        return None, "Bun not found (pass --bun PATH)"
    if "stampede" not in args.clients:
        return None, "stampede not among --clients"
    js = os.path.join(tmp, "bun_echo.js")
    with open(js, "w") as f:
        f.write(BUN_ECHO)
    server, port = bl.start_server(["taskset", "-c", "1", args.bun, js, "0"],
                                   r"listening (\d+)", "bun_echo.js")
    res = {1: [], 16: []}
    try:
        for i in range(args.runs):
            for pl in (1, 16):
                try:
                    r = measured(run_stampede, server, args, port, pl)
                except (bl.RunError, KeyError, ValueError, TypeError) as e:
                    if not isinstance(e, bl.RunError):
                        bl.log(traceback.format_exc())
                    return None, f"stampede failed: {why(e)}"
                res[pl].append(r)
                bl.log(f"  b run {i + 1} pipeline {pl:2d} {r['rate']:9.0f} rt/s"
                       f"  {r['cpu_us']:6.2f} us CPU/rt  {r['lat']}"
                       f"  server {r['server_busy'] * 100:3.0f}% of a core")
    finally:
        tail = bl.stop_server(server)
    bl.log(f"  bun_echo.js: {' '.join(tail.split())}")
    return res, None


def med(runs, key):
    return bl.median([r.get(key) for r in runs])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--msg-size", type=int, default=32)
    ap.add_argument("--artillery", default=shutil.which("artillery"))
    ap.add_argument("--tsung", default=shutil.which("tsung"))
    ap.add_argument("--bun", default=shutil.which("bun"))
    ap.add_argument("--node", default="node")
    ap.add_argument("--part", default="both", choices=["a", "b", "both"])
    ap.add_argument("--clients", default="stampede,artillery,tsung",
                    help="which clients part (a) runs (part (b) needs stampede)")
    args = ap.parse_args()
    args.clients = args.clients.split(",")
    for peer in ("artillery", "tsung", "bun"):
        p = getattr(args, peer)
        if p and not (os.path.exists(p) or shutil.which(p)):
            bl.log(f"{peer}: {p} does not exist: skipped")
            setattr(args, peer, None)

    with tempfile.TemporaryDirectory(prefix="ws-echo-") as tmp:
        if args.part in ("a", "both"):
            res, skipped, failed = part_a(args, tmp)
            print(f"## (a) Node `ws` echo server: {args.connections} connections, 1 message in "
                  f"flight each, {args.msg_size}-byte messages\n")
            print(f"Medians of {args.runs} alternating runs of {args.duration} s; client on CPU 0, "
                  f"server on CPU 1. Node {peer_version([args.node, '--version'])}"
                  + (f", Artillery {artillery_version(args.artillery)}"
                     if args.artillery and "artillery" in res else "")
                  + (f", {peer_version([args.tsung, '-v'])}"
                     if args.tsung and "tsung" in res else "")
                  + ".\n")
            rows = []
            for c, runs in res.items():
                if not runs:
                    continue
                rows.append([c, bl.fmt(med(runs, "rate")), bl.fmt(med(runs, "cpu_us"), ".2f"),
                             bl.fmt(med(runs, "load_us"), ".2f"),
                             sorted(runs, key=lambda r: r["rate"])[len(runs) // 2]["lat"],
                             f"{med(runs, 'server_busy') * 100:.0f}%"])
            for c, why in list(skipped.items()) + list(failed.items()):
                rows.append([c, f"skipped: {why}" if c in skipped else f"failed: {why}",
                             "", "", "", ""])
            print(bl.md_table(["client", "round trips/s", "client us CPU / round trip: all-in",
                               "under load", "round-trip latency", "server busy"], rows))
            print()
            st = res.get("stampede", [])
            s_all, s_load = med(st, "cpu_us"), med(st, "load_us")
            for peer in ("artillery", "tsung"):
                runs = res.get(peer, [])
                if s_all and runs:
                    p_all, p_load = med(runs, "cpu_us"), med(runs, "load_us")
                    under = p_load / s_load if p_load and s_load else None
                    bar = ""
                    if peer == "artillery":
                        bar = " (bar >= 10x under load: " + \
                            ("met" if under and under >= 10 else "NOT met") + ")"
                    print(f"- {peer} / stampede CPU per round trip: {bl.fmt(under, '.1f')}x under "
                          f"load, {p_all / s_all:.1f}x all-in{bar}")
            print("- round trips: stampede counters.responses; Artillery "
                  "websocket.messages_received (send + capture: one in flight); Tsung `request` "
                  "samples minus handshakes (websocket_succ). Rates: stampede and Tsung over "
                  "--duration, Artillery over its own first-to-last counter window.")
            print()
        if args.part in ("b", "both"):
            res, why = part_b(args, tmp)
            print(f"## (b) stampede against the Bun echo server: {args.connections} connections, "
                  f"{args.msg_size}-byte messages\n")
            if res is None:
                print(f"skipped: {why}\n")
            else:
                print(f"Medians of {args.runs} alternating runs of {args.duration} s; Bun "
                      f"{peer_version([args.bun, '--version'])}.\n")
                rows = []
                for pl, runs in res.items():
                    mid = sorted(runs, key=lambda r: r["rate"])[len(runs) // 2]
                    rows.append([f"--ws-pipeline {pl}", bl.fmt(med(runs, "rate")),
                                 bl.fmt(med(runs, "cpu_us"), ".2f"),
                                 bl.fmt(med(runs, "own_cpu_us"), ".2f"), mid["lat"],
                                 f"{med(runs, 'server_busy') * 100:.0f}%"])
                print(bl.md_table(["stampede", "round trips/s", "client us CPU / round trip",
                                   "workers' own (generator.cpu_*)", "ws_msg_rtt p50 / p99",
                                   "server busy"], rows))
                print()


if __name__ == "__main__":
    main()
