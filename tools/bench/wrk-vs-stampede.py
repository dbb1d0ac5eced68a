#!/usr/bin/env python3
"""Side-by-side throughput of stampede and wrk on loopback.

The server is pinned to CPU 1 and the client to CPU 0; runs alternate
(wrk, stampede, wrk, stampede, ...) so drift on a shared machine hits both
alike. Reports the median req/s and client CPU time per request of each and
their ratio. Targets: the bundled stampede-target (measures the generator:
the target is cheaper than either client) and nginx with one worker (nginx
is the limit there, see NOTES.md).

usage: tools/bench/wrk-vs-stampede.py [--build build] [--runs 3] [--duration 10]
                                      [--connections 50] [--server target|nginx|both]
"""
import argparse
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc):
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if proc.poll() is not None:
                sys.exit("server exited early")
            time.sleep(0.05)
    sys.exit("server did not start")


def start_target(build):
    p = subprocess.Popen(["taskset", "-c", "1", f"{build}/stampede-target", "--port", "0"],
                         stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    m = re.match(r"listening (.*):(\d+)", line)
    if not m:
        sys.exit(f"stampede-target: unexpected first line {line!r}")
    return p, int(m.group(2))


def start_nginx(tmp):
    port = free_port()
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""worker_processes 1;
daemon off;
master_process off;
error_log {tmp}/error.log;
pid {tmp}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 100000000;
  client_body_temp_path {tmp}; proxy_temp_path {tmp}; fastcgi_temp_path {tmp};
  uwsgi_temp_path {tmp}; scgi_temp_path {tmp};
  server {{ listen 127.0.0.1:{port}; location / {{ return 200 "Hello, World!"; }} }}
}}
""")
    p = subprocess.Popen(["taskset", "-c", "1", "nginx", "-c", conf, "-p", tmp])
    wait_port(port, p)
    return p, port


def timed(cmd):
    """Run cmd; return (stdout, client CPU seconds: user + sys of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return out, cpu


def run_wrk(port, args):
    out, cpu = timed(["taskset", "-c", "0", "wrk", "-t1", f"-c{args.connections}",
                      f"-d{args.duration}s", f"http://127.0.0.1:{port}/"])
    reqs = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return rps, cpu * 1e6 / reqs


def run_stampede(port, args):
    out, cpu = timed(["taskset", "-c", "0", f"{args.build}/stampede", "-t1",
                      f"-c{args.connections}", f"-d{args.duration}s", "-q", "--json", "-",
                      f"http://127.0.0.1:{port}/"])
    d = json.loads(out)
    resp = d["counters"]["responses"]
    return d["rates"]["responses_per_s"], cpu * 1e6 / resp


def proc_cpu_s(pid):
    """user + sys seconds of a process (and its threads) from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench(name, proc, port, args):
    res = {"wrk": [], "stampede": []}
    for i in range(args.runs):
        for tool, fn in (("wrk", run_wrk), ("stampede", run_stampede)):
            s0, t0 = proc_cpu_s(proc.pid), time.monotonic()
            rps, us = fn(port, args)
            busy = (proc_cpu_s(proc.pid) - s0) / (time.monotonic() - t0)
            res[tool].append((rps, us, busy))
            print(f"  {name} run {i + 1} {tool:9s} {rps:10.0f} req/s {us:6.2f} us CPU/req"
                  f"  server {busy * 100:3.0f}% of a core", file=sys.stderr)
    return {t: tuple(statistics.median(x[k] for x in v) for k in range(3))
            for t, v in res.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--server", default="both", choices=["target", "nginx", "both"])
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk)")
    rows = []
    servers = ["target", "nginx"] if args.server == "both" else [args.server]
    for server in servers:
        with tempfile.TemporaryDirectory() as tmp:
            proc, port = start_target(args.build) if server == "target" else start_nginx(tmp)
            try:
                med = bench(server, proc, port, args)
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.wait()
        rows.append((server, med))
    print(f"| server | wrk req/s | stampede req/s | ratio | wrk us CPU/req | "
          f"stampede us CPU/req | CPU ratio | server busy (wrk / stampede) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for server, med in rows:
        (wr, wu, wb), (sr, su, sb) = med["wrk"], med["stampede"]
        print(f"| {server} | {wr:.0f} | {sr:.0f} | {sr / wr:.2f}x | {wu:.2f} | {su:.2f} | "
              f"{su / wu:.2f}x | {wb * 100:.0f}% / {sb * 100:.0f}% |")


if __name__ == "__main__":
    main()
