"""Helpers shared by the side-by-side benchmark scripts in tools/bench.

- run_client(): runs one client to completion in its own session (so a
  time-out can end its whole process tree, and nothing else), and returns
  its CPU time = max(getrusage(RUSAGE_CHILDREN) delta, sum over the process
  tree sampled from /proc): the first counts every descendant that was
  waited for (Artillery's worker threads, Tsung's Erlang VM, ...), the
  second catches one that was not (a daemonised helper), up to the last
  sample. Optionally it samples the client against a server's CPU:
  load_window() then gives the client's CPU while the server was busy,
  which leaves out a client's start-up and shut-down.
- start_server() / stop_server(): a server pinned to a CPU that prints its
  port on its first stdout line.
- tcp_active_opens(): host-wide TCP ActiveOpens, a cross-check of how many
  connections a client really made (host-wide: other work on the machine
  adds to it).
"""
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


class RunError(Exception):
    pass


def _stat(pid):
    """(ppid, starttime, user + sys seconds) of a process, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), int(fields[19]), (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_cpu_s(pid):
    """user + sys seconds of a process (all its threads) from /proc."""
    st = _stat(pid)
    return st[2] if st else 0.0


def _tree_sample(root, seen):
    """Record the CPU of root and every descendant into seen[(pid, start)]."""
    procs = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = _stat(int(name))
            if st:
                procs[int(name)] = st
    children = {}
    for pid, (ppid, _, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    stack = [root]
    while stack:
        pid = stack.pop()
        if pid in procs:
            seen[(pid, procs[pid][1])] = procs[pid][2]
        stack.extend(children.get(pid, []))


def run_client(cmd, timeout, env=None, cwd=None, sample_s=1.0, watch=None, samples=None):
    """Run cmd to completion; return (stdout, stderr, returncode, cpu_s, wall_s).

    With watch (a server's pid) and samples (a list), every sample_s it
    appends (monotonic time, client tree CPU so far, watched process's CPU):
    see load_window(). Raises RunError when the client exceeds timeout (its
    whole tree is ended)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=env, cwd=cwd, start_new_session=True)
    seen = {}
    out_parts, err_parts = [], []
    deadline = t0 + timeout
    timed_out = False
    if samples is not None:
        samples.append((t0, 0.0, proc_cpu_s(watch)))
    while True:
        try:
            out, err = p.communicate(timeout=sample_s)
            out_parts.append(out)
            err_parts.append(err)
            break
        except subprocess.TimeoutExpired:
            _tree_sample(p.pid, seen)
            if samples is not None:
                samples.append((time.monotonic(), sum(seen.values()), proc_cpu_s(watch)))
            if time.monotonic() > deadline:
                timed_out = True
                for sig, grace in ((signal.SIGINT, 5), (signal.SIGKILL, 5)):
                    try:
                        os.killpg(p.pid, sig)
                    except ProcessLookupError:
                        pass
                    try:
                        out, err = p.communicate(timeout=grace)
                        out_parts.append(out)
                        err_parts.append(err)
                        break
                    except subprocess.TimeoutExpired:
                        continue
                break
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    waited = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    cpu = max(waited, sum(seen.values()))
    out, err = "".join(out_parts), "".join(err_parts)
    if timed_out:
        raise RunError(f"timed out after {timeout:.0f} s: {' '.join(cmd)}\n{tail(err or out)}")
    return out, err, p.returncode, cpu, wall


def load_window(samples, threshold=0.1):
    """The client's CPU while the server was busy (above threshold of a core).

    samples: from run_client(watch=server pid). The window runs from the
    start of the first sampling interval in which the server was busy to the
    end of the last one, so it can take in up to one interval of the
    client's start-up or wind-down at each end (a bias against the client).
    Returns (window_s, client_cpu_s) or None when the server never got busy."""
    busy = [i for i in range(1, len(samples))
            if samples[i][2] - samples[i - 1][2] > threshold * (samples[i][0] - samples[i - 1][0])]
    if not busy:
        return None
    a, b = samples[busy[0] - 1], samples[busy[-1]]
    return b[0] - a[0], b[1] - a[1]


def tail(text, n=5):
    return "\n".join(text.strip().splitlines()[-n:])


def start_server(cmd, regex, what, timeout=30, env=None, cwd=None):
    """Start a server; its first stdout line must match regex whose last group
    is the port. Returns (Popen, port)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env, cwd=cwd)
    t0 = time.monotonic()
    line = p.stdout.readline()
    m = re.match(regex, line)
    if not m:
        p.kill()
        p.wait()
        sys.exit(f"{what}: unexpected first line {line!r} (command: {' '.join(cmd)})")
    if time.monotonic() - t0 > timeout:
        sys.exit(f"{what}: slow start")
    return p, int(m.groups()[-1])


def stop_server(p, timeout=10):
    """SIGTERM, wait; returns what the server printed after its first line."""
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
    try:
        rest, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        rest, _ = p.communicate()
    return rest or ""


def tcp_active_opens():
    with open("/proc/net/snmp") as f:
        rows = [line.split() for line in f if line.startswith("Tcp:")]
    return int(rows[1][rows[0].index("ActiveOpens")])


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, spec=".0f", none="-"):
    return none if v is None else format(v, spec)


def md_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def to_s(v, unit):
    """A wrk duration ("12.3", "ms") in seconds."""
    return float(v) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}[unit]


def wrk_result(out, err, rc):
    """wrk's summary -> (requests, seconds, failures, note); RunError if it failed."""
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m|h),", out)
    if rc != 0 or not m:
        raise RunError(f"wrk exited {rc}: {tail(err or out)}")
    reqs, secs = int(m.group(1)), to_s(m.group(2), m.group(3))
    se = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    fail = sum(int(x) for x in se.groups()) if se else 0
    note = ", ".join(x for x in (se and f"socket errors {'/'.join(se.groups())} (c/r/w/t)",
                                 non2xx and f"non-2xx {non2xx.group(1)}") if x)
    return reqs, secs, fail, note


def h2load_result(out, err, rc):
    """h2load's summary -> (succeeded, seconds, failures); RunError if it failed."""
    m = re.search(r"finished in ([\d.]+)(us|ms|s|m|h),", out)
    r = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                  r"(\d+) failed, (\d+) errored, (\d+) timeout", out)
    if rc != 0 or not m or not r:
        raise RunError(f"h2load exited {rc}: {tail(err or out)}")
    return int(r.group(4)), to_s(m.group(1), m.group(2)), sum(int(r.group(i)) for i in (5, 6, 7))

