#!/usr/bin/env python3
"""Reconnect storm: new connections per second and client CPU per connection.

One request per connection against the bundled stampede-target (HTTP):
- stampede --reconnect (http://; one request per connection),
- ab -c N without -k (HTTP/1.0, the target closes after each response),
- h2load --h1 -c N -n M -H 'Connection: close': h2load has no flag for a
  connection per request, and with -D (duration) and Connection: close it
  reconnects forever after its duration has ended, so it runs in -n mode:
  the target closes after each response and h2load reconnects for the next
  request. M is calibrated (a short uncounted run, then the previous runs'
  median rate x --duration),
- wrk -H 'Connection: close' (wrk reconnects after each close),
and stampede --reconnect on ws:// (connect + WebSocket handshake + close
per session) against the same target.

Server pinned to CPU 1, client to CPU 0; runs alternate, --runs rounds of
--duration s, medians; markdown on stdout, each run on stderr. Client CPU =
user + sys of the client's process tree (getrusage(RUSAGE_CHILDREN) around
each run, see benchlib.py) / connections it completed. The last column is a
cross-check that each request had its own connection: the host's TCP
ActiveOpens during the run / the tool's count (host-wide, so other work on
the machine inflates it; ~1.00 expected).

What each counts as a connection:
- stampede: counters.sessions_ok (sessions that did their work and closed
  cleanly); failed = sessions - sessions_ok, which includes the up to
  --connections sessions still under way when the run ended; rate =
  sessions_ok / the run's duration (capacity.sessions_per_s counts sessions
  started).
- ab: Complete requests - Failed requests, over its "Time taken for tests".
- h2load: succeeded requests, over its "finished in".
- wrk: requests, over its own duration; socket errors listed.

Long storms fill TIME_WAIT (tcp_max_tw_buckets, see NOTES.md): the header
prints tcp_tw_reuse and the port range in force.

usage: tools/bench/reconnect-storm.py [--build build] [--runs 3] [--duration 10]
                                      [--connections 50] [--target-threads 1]
                                      [--clients stampede-http,ab,h2load,wrk,stampede-ws]
                                      [--ws-path /echo]
"""
import argparse
import json
import os
import re
import shutil
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

CLIENTS = ["stampede-http", "ab", "h2load", "wrk", "stampede-ws"]


def run_stampede(args, port, scheme):
    path = args.ws_path if scheme == "ws" else "/"
    cmd = ["taskset", "-c", "0", f"{args.build}/stampede", "-t1", "--reconnect",
           f"-c{args.connections}", f"-d{args.duration}s", "-q", "--json", "-",
           f"{scheme}://127.0.0.1:{port}{path}"]
    out, err, rc, cpu, wall = bl.run_client(cmd, args.duration + 60)
    if rc != 0:
        raise bl.RunError(f"stampede exited {rc}: {bl.tail(err)}")
    d = json.loads(out)
    c = d["counters"]
    sessions, ok, per_s = c["sessions"], c["sessions_ok"], d["capacity"]["sessions_per_s"]
    if ok <= 0:
        raise bl.RunError("stampede: no session completed")
    dur = sessions / per_s if per_s else args.duration
    return {"conns": ok, "rate": ok / dur, "cpu_s": cpu, "fail": sessions - ok,
            "note": f"sessions {sessions}, {per_s:.0f}/s started"}


def run_ab(args, port):
    # -n after -t: -t alone caps the run at 50000 requests. ab allocates
    # 32 bytes per -n up front: allow 200k/s, far above its ~20k/s here.
    cmd = ["taskset", "-c", "0", args.ab, "-q", "-c", str(args.connections), "-t",
           str(args.duration), "-n", str(200000 * args.duration), f"http://127.0.0.1:{port}/"]
    out, err, rc, cpu, wall = bl.run_client(cmd, args.duration + 60)
    m = re.search(r"Complete requests:\s+(\d+)", out)
    if rc != 0 or not m:
        raise bl.RunError(f"ab exited {rc}: {bl.tail(err or out)}")
    done = int(m.group(1))
    failed = int(re.search(r"Failed requests:\s+(\d+)", out).group(1))
    secs = float(re.search(r"Time taken for tests:\s+([\d.]+) seconds", out).group(1))
    non2xx = re.search(r"Non-2xx responses:\s+(\d+)", out)
    ok = done - failed
    return {"conns": ok, "rate": ok / secs, "cpu_s": cpu, "fail": failed,
            "note": f"non-2xx {non2xx.group(1)}" if non2xx else ""}


def run_h2load(args, port, n):
    cmd = ["taskset", "-c", "0", args.h2load, "--h1", f"-c{args.connections}", f"-n{n}",
           "-H", "Connection: close", f"http://127.0.0.1:{port}/"]
    timeout = max(args.duration * 4, 30) + 30
    out, err, rc, cpu, wall = bl.run_client(cmd, timeout)
    ok, secs, fail = bl.h2load_result(out, err, rc)
    return {"conns": ok, "rate": ok / secs, "cpu_s": cpu, "fail": fail,
            "note": f"-n {n}, {secs:.1f} s"}


def run_wrk(args, port):
    cmd = ["taskset", "-c", "0", args.wrk, "-t1", f"-c{args.connections}", f"-d{args.duration}s",
           "-H", "Connection: close", f"http://127.0.0.1:{port}/"]
    out, err, rc, cpu, wall = bl.run_client(cmd, args.duration + 60)
    reqs, secs, fail, note = bl.wrk_result(out, err, rc)
    return {"conns": reqs, "rate": reqs / secs, "cpu_s": cpu, "fail": fail, "note": note}


def sysctl(name):
    try:
        with open("/proc/sys/" + name.replace(".", "/")) as f:
            return " ".join(f.read().split())
    except OSError:
        return "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--target-threads", type=int, default=1)
    ap.add_argument("--clients", default=",".join(CLIENTS))
    ap.add_argument("--ws-path", default="/echo", help="the target's WebSocket path")
    ap.add_argument("--ab", default=shutil.which("ab"))
    ap.add_argument("--h2load", default=shutil.which("h2load"))
    ap.add_argument("--wrk", default=shutil.which("wrk"))
    args = ap.parse_args()
    clients = [c for c in args.clients.split(",") if c]
    for c in clients:
        if c not in CLIENTS:
            sys.exit(f"unknown client {c!r} (one of {', '.join(CLIENTS)})")
    skipped = {}
    for c in ("ab", "h2load", "wrk"):
        if c in clients and not getattr(args, c):
            skipped[c] = "not installed"
            clients.remove(c)

    server, port = bl.start_server(
        ["taskset", "-c", "1", f"{args.build}/stampede-target", "--port", "0",
         "--threads", str(args.target_threads)], r"listening (.*):(\d+)", "stampede-target")
    res = {c: [] for c in clients}
    failed = {}
    h2n = None
    try:
        if "h2load" in clients:  # calibrate -n: a short run, not counted
            try:
                r = run_h2load(args, port, 5000)
                h2n = max(1000, int(r["rate"] * args.duration))
                bl.log(f"  h2load calibration: {r['rate']:.0f} conn/s -> -n {h2n}")
            except bl.RunError as e:
                failed["h2load"] = str(e).splitlines()[0]
        for i in range(args.runs):
            for c in clients:
                if c in failed:
                    continue
                s0, o0 = bl.proc_cpu_s(server.pid), bl.tcp_active_opens()
                try:
                    if c == "stampede-http":
                        r = run_stampede(args, port, "http")
                    elif c == "stampede-ws":
                        r = run_stampede(args, port, "ws")
                    elif c == "ab":
                        r = run_ab(args, port)
                    elif c == "h2load":
                        r = run_h2load(args, port, h2n)
                    else:
                        r = run_wrk(args, port)
                except (bl.RunError, KeyError, ValueError, AttributeError, TypeError) as e:
                    if isinstance(e, bl.RunError):
                        failed[c] = str(e).splitlines()[0]
                    else:
                        failed[c] = f"{type(e).__name__}: {e} (unexpected output?)"
                        bl.log(traceback.format_exc())
                    bl.log(f"  run {i + 1} {c}: FAILED: {failed[c]}")
                    continue
                opens = bl.tcp_active_opens() - o0
                r["opens_per_conn"] = opens / r["conns"]
                r["cpu_us"] = r["cpu_s"] * 1e6 / r["conns"]
                r["server_busy"] = (bl.proc_cpu_s(server.pid) - s0) / (r["conns"] / r["rate"])
                res[c].append(r)
                if c == "h2load":
                    h2n = max(1000, int(bl.median([x["rate"] for x in res[c]]) * args.duration))
                bl.log(f"  run {i + 1} {c:13s} {r['rate']:8.0f} conn/s"
                       f"  {r['cpu_us']:6.1f} us CPU/conn  failed {r['fail']}"
                       f"  opens/conn {r['opens_per_conn']:.2f}"
                       f"  server {r['server_busy'] * 100:3.0f}% of a core  {r['note']}")
    finally:
        tail = bl.stop_server(server)
    bl.log(f"  stampede-target: {' '.join(tail.split())}")

    print(f"## Reconnect storm: {args.connections} concurrent, one request per connection, "
          f"against stampede-target ({args.target_threads} thread)\n")
    print(f"Medians of {args.runs} alternating runs of {args.duration} s; client on CPU 0, "
          f"server on CPU 1. ip_local_port_range {sysctl('net.ipv4.ip_local_port_range')}, "
          f"tcp_tw_reuse {sysctl('net.ipv4.tcp_tw_reuse')}, "
          f"tcp_max_tw_buckets {sysctl('net.ipv4.tcp_max_tw_buckets')}.\n")
    rows = []
    for c in CLIENTS:
        runs = res.get(c)
        if runs:
            rows.append([c, bl.fmt(bl.median([r["rate"] for r in runs])),
                         bl.fmt(bl.median([r["cpu_us"] for r in runs]), ".1f"),
                         bl.fmt(bl.median([r["fail"] for r in runs])),
                         f"{bl.median([r['server_busy'] for r in runs]) * 100:.0f}%",
                         bl.fmt(bl.median([r["opens_per_conn"] for r in runs]), ".2f")])
        elif c in skipped or c in failed:
            why = f"skipped: {skipped[c]}" if c in skipped else f"failed: {failed[c]}"
            rows.append([c, why, "", "", "", ""])
    print(bl.md_table(["client", "connections/s", "client us CPU / connection",
                       "failed (stampede: or unfinished at the end)", "server busy",
                       "host TCP opens / connection"], rows))
    base = res.get("stampede-http")
    if base:
        s = bl.median([r["cpu_us"] for r in base])
        print()
        for c in ("ab", "h2load", "wrk"):
            if res.get(c):
                peer = bl.median([r["cpu_us"] for r in res[c]])
                print(f"- {c} / stampede --reconnect CPU per connection: {peer / s:.2f}x")


if __name__ == "__main__":
    main()
