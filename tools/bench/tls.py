#!/usr/bin/env python3
"""HTTPS side by side, one client core: keep-alive requests, full
handshakes and resumed handshakes.

(a) keep-alive: requests/s and client CPU per request, --connections
    connections: stampede vs `wrk -t1 -cC -dD` vs `h2load --h1 -cC -D D`.
(b) full handshakes/s, one request per connection:
    - stampede --reconnect --requests-per-conn 1 --tls-resume=off;
    - h2load in rate mode, one request per client: `h2load --h1 -r R
      --rate-period 10ms -c N -n N`. h2load has no switch for resumption,
      and a reconnecting h2load client resumes its last session (nginx's
      $ssl_session_reused: 195 of 200 resumed with -c 5 -n 200 and
      Connection: close; the target: 6661 of 6711), so each connection
      has to be a new client: -c N is then the number of connections
      made, at R per 10 ms. R is set to 1.25x the rate measured (a first short burst,
      then the median of the runs so far) and N to that rate x --duration,
      so h2load runs flat out with a backlog of new connections that stays
      well under the fd limit;
    - `openssl s_time -new -www /` (one connection at a time: its rate is
      bound by the round trip, compare its CPU per handshake).
(c) resumed handshakes/s, one request per connection:
    - stampede --reconnect --requests-per-conn 1 (resumption on: the first
      handshake on each of its connection slots is a full one);
    - `openssl s_time -reuse -www /` (one full handshake, then resumed ones,
      one connection at a time);
    - h2load --h1 -cC -nM -H 'Connection: close' and wrk -t1 -cC -dD -H
      'Connection: close': both resume their previous session on reconnect
      (wrk: 3174 of 3179 connections resumed against nginx, 6175 of 6225
      against the target), so they belong here, not in (b). M is
      calibrated as in reconnect-storm.py.

The server: the bundled target (build/stampede-target --tls-cert --tls-key)
or, with --server nginx, nginx with one worker (ssl_session_cache shared,
tickets on). The server's own count of full and resumed handshakes is shown
for every run, which checks each tool's mode: the target prints its TLS
counters when it exits, so it is restarted (on a new port) after every run;
nginx logs $ssl_session_reused for the first request of every connection
(a connection closed before its first response is not logged). A CA and a
server certificate (--key-type: ECDSA P-256 by default, the cheaper one for
the server; or RSA 2048) are made with openssl in a temporary directory.
stampede verifies the server's certificate against that CA (--cacert;
--insecure runs it with -k instead); wrk, h2load and s_time verify nothing,
so the figures are a bias against stampede where verification costs.

Server pinned to CPU 1, client to CPU 0; runs alternate between the clients
of a part, --runs rounds of --duration s; medians; markdown on stdout (ready
for BENCHMARKS.md, with the exact commands), each run on stderr. Client CPU
= user + sys of the client's process tree over the whole run (see
benchlib.py) / the requests or handshakes it completed. A missing peer is
reported as skipped.

What each counts:
- stampede: (a) counters.responses at rates.responses_per_s; (b) and (c)
  counters.tls.handshakes_full (+ handshakes_resumed in (c)) over
  duration_s; failed = counters.tls.handshakes_failed.
- wrk: requests over its own duration; socket errors as failed.
- h2load: succeeded requests over its "finished in" (in (b) one per
  connection, so one handshake each).
- s_time: its connection count over the wall time of the run.

usage: tools/bench/tls.py [--build build] [--runs 3] [--duration 10]
                          [--connections 50] [--parts a,b,c]
                          [--clients stampede,wrk,h2load,s_time]
                          [--server target|nginx] [--key-type ec|rsa]
                          [--insecure] [--target-threads 1]
"""
import argparse
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

PARTS = {
    "a": ("keep-alive requests", ["stampede", "wrk", "h2load"]),
    "b": ("full handshakes", ["stampede", "h2load", "s_time"]),
    "c": ("resumed handshakes", ["stampede", "s_time", "h2load", "wrk"]),
}
TOOLS = ["stampede", "wrk", "h2load", "s_time"]
UNIT = {"a": "req", "b": "handshake", "c": "handshake"}


# ---------------------------------------------------------------- setup

def make_certs(tmp, key_type):
    """A CA and a server certificate for localhost / 127.0.0.1 / ::1 signed by it."""
    newkey = (["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"] if key_type == "ec"
              else ["-newkey", "rsa:2048"])
    p = lambda n: os.path.join(tmp, n)  # noqa: E731

    def ossl(*a):
        r = subprocess.run(["openssl", *a], capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"openssl {' '.join(a[:2])} failed: {bl.tail(r.stderr)}")

    ossl("req", "-x509", *newkey, "-nodes", "-keyout", p("ca.key"), "-out", p("ca.pem"),
         "-days", "2", "-subj", "/CN=stampede bench CA")
    ossl("req", *newkey, "-nodes", "-keyout", p("server.key"), "-out", p("server.csr"),
         "-subj", "/CN=localhost")
    with open(p("ext.cnf"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n"
                "extendedKeyUsage=serverAuth\n")
    ossl("x509", "-req", "-in", p("server.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
         "-CAcreateserial", "-days", "2", "-extfile", p("ext.cnf"), "-out", p("server.pem"))
    return p("ca.pem"), p("server.pem"), p("server.key")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Nginx:
    """nginx, one worker, no master, TLS; logs $ssl_session_reused for the
    first request of each connection (one line per handshake)."""

    def __init__(self, tmp, cert, key):
        self.dir = os.path.join(tmp, "nginx")
        os.makedirs(self.dir)
        self.port = free_port()
        self.log = os.path.join(self.dir, "handshakes.log")
        d = self.dir
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""worker_processes 1;
daemon off;
master_process off;
error_log {d}/error.log;
pid {d}/nginx.pid;
events {{ worker_connections 16000; }}
http {{
  log_format hs '$ssl_session_reused $ssl_protocol $ssl_cipher';
  map $connection_requests $first_request {{ 1 1; default 0; }}
  access_log {self.log} hs buffer=64k flush=100ms if=$first_request;
  keepalive_requests 100000000;
  client_body_temp_path {d}; proxy_temp_path {d}; fastcgi_temp_path {d};
  uwsgi_temp_path {d}; scgi_temp_path {d};
  ssl_certificate {cert};
  ssl_certificate_key {key};
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_session_cache shared:TLS:50m;
  ssl_session_timeout 1h;
  ssl_session_tickets on;
  server {{ listen 127.0.0.1:{self.port} ssl backlog=4096;
           location / {{ return 200 "Hello, World!"; }} }}
}}
""")
        self.proc = subprocess.Popen(["taskset", "-c", "1", "nginx", "-c", conf, "-p", d],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                if self.proc.poll() is not None:
                    sys.exit(f"nginx exited: {bl.tail(self.proc.stderr.read())}")
                time.sleep(0.05)
        else:
            sys.exit("nginx did not start")
        time.sleep(0.2)
        self.offset = os.path.getsize(self.log) if os.path.exists(self.log) else 0

    @property
    def pid(self):
        return self.proc.pid

    def handshakes(self):
        """(full, resumed) handshakes the server logged since the last call."""
        time.sleep(0.3)  # the log's flush=100ms
        try:
            with open(self.log) as f:
                f.seek(self.offset)
                lines = f.read().splitlines()
                self.offset = f.tell()
        except OSError:
            return None
        resumed = sum(1 for x in lines if x.startswith("r "))
        return len(lines) - resumed, resumed

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return ""


class Target:
    """The bundled target. It prints its TLS counters when it exits, so
    handshakes() restarts it (on a new port) to count each run's."""

    def __init__(self, args, cert, key):
        self.cmd = ["taskset", "-c", "1", f"{args.build}/stampede-target", "--port", "0",
                    "--threads", str(args.target_threads), "--tls-cert", cert, "--tls-key", key]
        self._start()

    def _start(self):
        self.proc, self.port = bl.start_server(self.cmd, r"listening (.*):(\d+)",
                                               "stampede-target")

    @property
    def pid(self):
        return self.proc.pid

    def handshakes(self):
        """(full, resumed) handshakes since the last call, from the exiting
        target's tls_handshakes (all completed) and tls_resumed lines."""
        tail = bl.stop_server(self.proc)
        self._start()
        hs = re.search(r"^tls_handshakes (\d+)$", tail, re.M)
        rs = re.search(r"^tls_resumed (\d+)$", tail, re.M)
        if not hs or not rs:
            return None
        return int(hs.group(1)) - int(rs.group(1)), int(rs.group(1))

    def stop(self):
        return bl.stop_server(self.proc)


# ---------------------------------------------------------------- clients

def stampede_cmd(args, port, part):
    cmd = ["taskset", "-c", "0", f"{args.build}/stampede", "-t1", f"-c{args.connections}",
           f"-d{args.duration}s", "-q", "--json", "-"]
    cmd += ["-k"] if args.insecure else ["--cacert", args.ca]
    if part == "b":
        cmd += ["--reconnect", "--requests-per-conn", "1", "--tls-resume=off"]
    elif part == "c":
        cmd += ["--reconnect", "--requests-per-conn", "1"]
    return cmd + [f"https://127.0.0.1:{port}/"]


def run_stampede(args, port, part):
    cmd = stampede_cmd(args, port, part)
    out, err, rc, cpu, wall = bl.run_client(cmd, args.duration + 60)
    if rc != 0:
        raise bl.RunError(f"stampede exited {rc}: {bl.tail(err)}")
    d = json.loads(out)
    c = d["counters"]
    t = c["tls"]
    neg = max(t["negotiated"], key=lambda n: n["count"], default=None)
    note = f"{neg['version']} {neg['cipher']}" if neg else "nothing negotiated"
    full, resumed = t["handshakes_full"], t["handshakes_resumed"]
    if part == "a":
        count, rate = c["responses"], d["rates"]["responses_per_s"]
        fail = sum(c["errors"].values()) + t["handshakes_failed"]
        note += f", {full} full handshakes"
    else:
        count = full if part == "b" else full + resumed
        rate = count / d["duration_s"]
        fail = t["handshakes_failed"]
        note += f", {full} full / {resumed} resumed"
        if part == "b" and resumed:
            note += " (resumed in a --tls-resume=off run!)"
    if count <= 0:
        raise bl.RunError(f"stampede: nothing completed ({d.get('exit_reason')})")
    return {"count": count, "rate": rate, "cpu_s": cpu, "fail": fail, "note": note,
            "cmd": cmd}


def wrk_cmd(args, port, part):
    cmd = ["taskset", "-c", "0", args.wrk, "-t1", f"-c{args.connections}", f"-d{args.duration}s"]
    if part == "c":
        cmd += ["-H", "Connection: close"]
    return cmd + [f"https://127.0.0.1:{port}/"]


def run_wrk(args, port, part):
    cmd = wrk_cmd(args, port, part)
    out, err, rc, cpu, wall = bl.run_client(cmd, args.duration + 60)
    reqs, secs, fail, note = bl.wrk_result(out, err, rc)
    if reqs <= 0:
        raise bl.RunError(f"wrk: no request completed: {bl.tail(out)}")
    return {"count": reqs, "rate": reqs / secs, "cpu_s": cpu, "fail": fail, "note": note,
            "cmd": cmd}


def h2load_cmd(args, port, part, n=None, rate=None):
    cmd = ["taskset", "-c", "0", args.h2load, "--h1"]
    if part == "a":
        cmd += [f"-c{args.connections}", "-D", str(args.duration)]
    elif part == "b":  # n new clients, one request each, `rate` per 10 ms
        cmd += [f"-c{n}", f"-n{n}", f"-r{rate}", "--rate-period", "10ms"]
    else:
        cmd += [f"-c{args.connections}", f"-n{n}", "-H", "Connection: close"]
    return cmd + [f"https://127.0.0.1:{port}/"]


def run_h2load(args, port, part, n=None, rate=None):
    cmd = h2load_cmd(args, port, part, n, rate)
    timeout = max(args.duration * 4, 30) + 30
    out, err, rc, cpu, wall = bl.run_client(cmd, timeout)
    ok, secs, fail = bl.h2load_result(out, err, rc)
    if ok <= 0:
        raise bl.RunError(f"h2load: no request succeeded: {bl.tail(out)}")
    proto = re.search(r"TLS Protocol: (\S+)", out)
    ciph = re.search(r"Cipher: (\S+)", out)
    note = " ".join(x.group(1) for x in (proto, ciph) if x)
    if n is not None:
        note += f", -n {n}" + (f" -r {rate}" if rate else "") + f", {secs:.1f} s"
    return {"count": ok, "rate": ok / secs, "cpu_s": cpu, "fail": fail, "note": note,
            "cmd": cmd}


def s_time_cmd(args, port, part):
    return ["taskset", "-c", "0", args.openssl, "s_time", "-connect", f"127.0.0.1:{port}",
            "-new" if part == "b" else "-reuse", "-www", "/", "-time", str(args.duration)]


def run_s_time(args, port, part):
    cmd = s_time_cmd(args, port, part)
    out, err, rc, cpu, wall = bl.run_client(cmd, args.duration + 60)
    m = re.findall(r"(\d+) connections in ([\d.]+)s; ([\d.]+) connections/user sec", out)
    if rc != 0 or not m:
        raise bl.RunError(f"s_time exited {rc}: {bl.tail(err or out)}")
    n = int(m[-1][0])
    if n <= 0:
        raise bl.RunError("s_time: no connection")
    b = re.findall(r"(\d+) bytes read per connection", out)
    note = "one connection at a time" + (f", {b[-1]} bytes read per connection" if b else "")
    return {"count": n, "rate": n / wall, "cpu_s": cpu, "fail": 0, "note": note, "cmd": cmd}


# ---------------------------------------------------------------- driver

def shown(cmd, port):
    """A command as it can be pasted, with the port and temp paths generic."""
    s = " ".join(shlex.quote(x) for x in cmd)
    s = s.replace(f":{port}", ":PORT")
    return re.sub(r"/\S*/tls-bench-[^/ ]*/", "", s)


def part_run(args, part, server, res, failed, cmds, state):
    tools = [t for t in PARTS[part][1] if t in args.clients]
    if part == "b" and "h2load" in tools and "h2b" not in state:
        try:  # a burst of new clients, not counted: a first idea of the rate
            r = run_h2load(args, server.port, "b", n=1000, rate=1000)
            state["h2b"] = r["rate"]
            bl.log(f"  b h2load calibration: {r['rate']:.0f} handshakes/s")
        except bl.RunError as e:
            failed[(part, "h2load")] = str(e).splitlines()[0]
        server.handshakes()
    if part == "c" and "h2load" in tools and "h2c" not in state:
        try:
            r = run_h2load(args, server.port, "c", n=5000)
            state["h2c"] = r["rate"]
            bl.log(f"  c h2load calibration: {r['rate']:.0f} handshakes/s")
        except bl.RunError as e:
            failed[(part, "h2load")] = str(e).splitlines()[0]
        server.handshakes()
    for i in range(args.runs):
        for tool in tools:
            key = (part, tool)
            if key in failed:
                continue
            s0, port = bl.proc_cpu_s(server.pid), server.port
            try:
                if tool == "stampede":
                    r = run_stampede(args, port, part)
                elif tool == "wrk":
                    r = run_wrk(args, port, part)
                elif tool == "s_time":
                    r = run_s_time(args, port, part)
                elif part == "a":
                    r = run_h2load(args, port, part)
                elif part == "b":
                    rate = state["h2b"]
                    r = run_h2load(args, port, part, n=max(1000, int(rate * args.duration)),
                                   rate=max(1, int(rate * 1.25 / 100 + 0.5)))
                else:
                    r = run_h2load(args, port, part, n=max(1000, int(state["h2c"] * args.duration)))
            except (bl.RunError, KeyError, ValueError, AttributeError, TypeError) as e:
                if isinstance(e, bl.RunError):
                    failed[key] = str(e).splitlines()[0]
                else:
                    failed[key] = f"{type(e).__name__}: {e} (unexpected output?)"
                    bl.log(traceback.format_exc())
                bl.log(f"  {part} run {i + 1} {tool}: FAILED: {failed[key]}")
                server.handshakes()
                continue
            r["server_busy"] = (bl.proc_cpu_s(server.pid) - s0) / (r["count"] / r["rate"])
            r["cpu_us"] = r["cpu_s"] * 1e6 / r["count"]
            hs = server.handshakes()
            r["server_hs"] = hs
            if hs:
                srv = f"server: {hs[0]} full / {hs[1]} resumed"
                r["note"] = "; ".join(x for x in (r["note"], srv) if x)
            res.setdefault(key, []).append(r)
            cmds.setdefault(key, shown(r["cmd"], port))
            if tool == "h2load" and part in ("b", "c"):
                state["h2" + part] = bl.median([x["rate"] for x in res[key]])
            bl.log(f"  {part} run {i + 1} {tool:8s} {r['rate']:9.0f} {UNIT[part]}/s"
                   f"  {r['cpu_us']:7.1f} us CPU/{UNIT[part]}  failed {r['fail']}"
                   f"  server {r['server_busy'] * 100:3.0f}% of a core  {r['note']}")


def peer_version(cmd, first=False):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    lines = (r.stdout + r.stderr).strip().splitlines()
    if not lines:
        return "?"
    return (lines[0].split(" Copyright")[0] if first else lines[-1]).strip()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--parts", default="a,b,c")
    ap.add_argument("--clients", default=",".join(TOOLS))
    ap.add_argument("--server", default="target", choices=["target", "nginx"])
    ap.add_argument("--target-threads", type=int, default=1)
    ap.add_argument("--key-type", default="ec", choices=["ec", "rsa"])
    ap.add_argument("--insecure", action="store_true",
                    help="run stampede with -k instead of --cacert (the peers verify nothing)")
    ap.add_argument("--wrk", default=shutil.which("wrk"))
    ap.add_argument("--h2load", default=shutil.which("h2load"))
    ap.add_argument("--openssl", default=shutil.which("openssl"))
    args = ap.parse_args()
    parts = [p for p in args.parts.split(",") if p]
    for p in parts:
        if p not in PARTS:
            sys.exit(f"unknown part {p!r} (a, b, c)")
    args.clients = [c for c in args.clients.split(",") if c]
    for c in args.clients:
        if c not in TOOLS:
            sys.exit(f"unknown client {c!r} (one of {', '.join(TOOLS)})")
    if not args.openssl:
        sys.exit("openssl is needed (certificates)")
    skipped = {}
    for c, path in (("wrk", args.wrk), ("h2load", args.h2load), ("s_time", args.openssl)):
        if c in args.clients and not path:
            skipped[c] = "not installed"
            args.clients.remove(c)
    if "stampede" in args.clients and not os.access(f"{args.build}/stampede", os.X_OK):
        skipped["stampede"] = f"{args.build}/stampede not built"
        args.clients.remove("stampede")
    if args.server == "nginx" and not shutil.which("nginx"):
        sys.exit("nginx is not installed")

    res, failed, cmds, state = {}, {}, {}, {}
    with tempfile.TemporaryDirectory(prefix="tls-bench-") as tmp:
        args.ca, cert, key = make_certs(tmp, args.key_type)
        server = Nginx(tmp, cert, key) if args.server == "nginx" else Target(args, cert, key)
        try:
            for p in parts:
                bl.log(f"({p}) {PARTS[p][0]}")
                part_run(args, p, server, res, failed, cmds, state)
        finally:
            server.stop()

    srv = ("stampede-target" + (f" ({args.target_threads} thread"
                                f"{'s' if args.target_threads > 1 else ''})")
           if args.server == "target" else "nginx (1 worker)")
    keyname = "ECDSA P-256" if args.key_type == "ec" else "RSA 2048"
    print(f"## HTTPS: keep-alive requests, full and resumed handshakes, against {srv}\n")
    verify = ("nobody verifies it (stampede -k)" if args.insecure
              else "stampede verifies it (--cacert), the peers do not")
    peers = "; ".join([
        peer_version([args.wrk, "-v"], first=True) if args.wrk else "no wrk",
        peer_version([args.h2load, "--version"]) if args.h2load else "no h2load",
        peer_version([args.openssl, "version"])])
    print(f"Medians of {args.runs} alternating runs of {args.duration} s; client on CPU 0, "
          f"server on CPU 1; {args.connections} connections (s_time: one at a time); "
          f"server certificate {keyname}; {verify}. Peers: {peers}.\n")
    for p in parts:
        title, tools = PARTS[p]
        unit = UNIT[p]
        base = res.get((p, "stampede"))
        base_rate = bl.median([r["rate"] for r in base]) if base else None
        base_cpu = bl.median([r["cpu_us"] for r in base]) if base else None
        rows = []
        for t in tools:
            runs = res.get((p, t))
            if runs:
                rate = bl.median([r["rate"] for r in runs])
                cpu = bl.median([r["cpu_us"] for r in runs])
                rows.append([t, bl.fmt(rate), bl.fmt(cpu, ".1f"),
                             f"{base_rate / rate:.2f}x" if base_rate and t != "stampede" else "",
                             f"{cpu / base_cpu:.2f}x" if base_cpu and t != "stampede" else "",
                             bl.fmt(bl.median([r["fail"] for r in runs])),
                             f"{bl.median([r['server_busy'] for r in runs]) * 100:.0f}%",
                             runs[len(runs) // 2]["note"]])
            elif t in skipped or (p, t) in failed:
                why = f"skipped: {skipped[t]}" if t in skipped else f"failed: {failed[(p, t)]}"
                rows.append([t, why, "", "", "", "", "", ""])
        if not rows:
            continue
        print(f"### ({p}) {title}\n")
        print(bl.md_table(["client", f"{unit}s/s", f"client us CPU / {unit}",
                           f"{unit}s/s: stampede / it", f"CPU / {unit}: it / stampede",
                           "failed", "server busy", "notes (a middle run)"], rows))
        print()
    print("Commands (PORT: the server's; paths relative to the certificates' directory):\n")
    for (p, t), c in sorted(cmds.items()):
        print(f"- ({p}) {t}: `{c}`")
    again = " ".join(shlex.quote(a) for a in ["tools/bench/tls.py"] + sys.argv[1:])
    print(f"\nReproduce: `{again}`.")


if __name__ == "__main__":
    main()
