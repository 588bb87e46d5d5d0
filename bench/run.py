#!/usr/bin/python3
"""portwatch benchmarks: overhead, loss, scale, alert latency, control-socket flood,
idle wake-ups, bind churn under a 1,000-rule nftables ruleset.

    bench/run.py [--smoke] [--out DIR]
                 [--only overhead,protect,loss,scale,latency,flood,profile,idle,nft]
    bench/run.py --check FILE [--smoke]

Runs as root on the real kernel (stdlib only). Every timed workload runs
bare and with a subject attached in alternating rounds (bare, portwatchd,
floor, minimal, bpftrace, auditd, bare, ...), and the summary keeps the
median of the rounds and the ratio to the bare median, so a machine that
gets busier half way through (other builds) disturbs both sides alike.
The floor and the minimal reporter are portwatchd built with PW_FLOOR
(`make floor`): programs attached and returning at once, or sending one
bare record per call: how much of a ratio attaching and bare reporting
take before any work of ours. Prints a table
and writes DIR/summary.json (DIR defaults to build/bench). Nothing is
asserted on time: --check only verifies that every key of the summary is
there and sane (positive numbers, ratios in (0, 2]), which is what
`make bench-smoke` runs.

The workloads live in fresh network namespaces (pwb-<pid>-*), deleted at
the end; the daemon runs in the host namespace and finds them through
/run/netns as it would any container. Every process started is stopped by
pid; audit rules added are deleted, the audit "enabled" flag and
kernel.bpf_stats_enabled are restored, tracefs is unmounted if we mounted
it, the group made for the flood's member is deleted.
"""
import argparse
import json
import os
import platform
import random
import select
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.path.join(ROOT, "build")
BBIN = os.path.join(BUILD, "bench")
PORTWATCHD = os.path.join(BUILD, "portwatchd")
# the floor: the same daemon with every program returning at once; the
# minimal reporter: one bare record per bind, listen and release (make floor)
PORTWATCHD_FLOOR = os.path.join(BUILD, "floor", "portwatchd")
PORTWATCHD_MINIMAL = os.path.join(BUILD, "minimal", "portwatchd")
# one uid's control-socket flood, shared with the end-to-end suite
FLOOD = os.path.join(ROOT, "tests", "e2e", "flood.py")
TAG = "pwb-%d" % os.getpid()

WORKLOADS = ("tcp_bind", "udp_bind", "connect", "bind_connect")
PROCS = (1, 2)
SUBJECTS = ("portwatchd", "floor", "minimal", "bpftrace", "auditd")
# The service unit runs the daemon at Nice=-10 (systemd/portwatchd.service).
DAEMON_NICE = -10

FULL = dict(rounds=9, seconds=1.0, loss_seconds=10, scale=1.0, owners_queries=1000,
            owners_all=5, scale_rounds=3, alerts=1000,
            flood=dict(hangup=200, nonread=100, idle=1100, table=300, nonread_mib=4.0))
SMOKE = dict(rounds=1, seconds=0.25, loss_seconds=1, scale=0.02, owners_queries=50,
             owners_all=2, scale_rounds=1, alerts=30,
             flood=dict(hangup=5, nonread=2, idle=10, table=10, nonread_mib=0.0625))

# bpftrace: the same syscall tracepoints and state changes the daemon uses,
# printing one line per event (what a bpftrace one-liner user would read).
BPFTRACE_SCRIPT = r"""
BEGIN { printf("ready\n"); }
tracepoint:syscalls:sys_enter_bind, tracepoint:syscalls:sys_enter_listen,
tracepoint:syscalls:sys_enter_connect { @fd[tid] = args->fd; }
tracepoint:syscalls:sys_exit_bind, tracepoint:syscalls:sys_exit_listen,
tracepoint:syscalls:sys_exit_connect
{ printf("%s %d %s fd=%d ret=%d\n", probe, pid, comm, @fd[tid], args->ret); delete(@fd[tid]); }
tracepoint:sock:inet_sock_set_state
{ printf("state %d %d->%d sport=%d\n", pid, args->oldstate, args->newstate, args->sport); }
"""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run(cmd, check=True, **kw):
    return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=120, **kw)


def median(v):
    return statistics.median(v) if v else None


def pct(v, p):
    """p-th percentile (nearest rank) of v."""
    s = sorted(v)
    return s[min(len(s) - 1, max(0, int(round(p / 100.0 * len(s) + 0.5)) - 1))]


def stop_pid(p, sig=signal.SIGTERM, timeout=10):
    """Stop a Popen we started, by its pid; SIGKILL after timeout."""
    if p is None or p.poll() is not None:
        return
    os.kill(p.pid, sig)
    try:
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        os.kill(p.pid, signal.SIGKILL)
        p.wait()


# ------------------------------------------------------------------ environment

class Env:
    """Namespaces, tracefs and sysctls we touch, undone by cleanup()."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.netns = []
        self.procs = []
        self.mounted_tracefs = False
        self.sysctls = {}
        self.groups = []

    def add_netns(self, suffix):
        name = "%s-%s" % (TAG, suffix)
        run(["ip", "netns", "add", name])
        self.netns.append(name)
        run(["ip", "-n", name, "link", "set", "lo", "up"])
        return name

    def del_netns(self, name):
        run(["ip", "netns", "del", name], check=False)
        if name in self.netns:
            self.netns.remove(name)

    def add_group(self):
        """A fresh system group (the control socket's, for a non-root member): its gid."""
        name = TAG.replace("-", "")
        run(["groupadd", "--system", name])
        self.groups.append(name)
        return int(run(["getent", "group", name]).stdout.split(":")[2]), name

    def ensure_tracefs(self):
        if not os.path.exists("/sys/kernel/tracing/events"):
            run(["mount", "-t", "tracefs", "tracefs", "/sys/kernel/tracing"])
            self.mounted_tracefs = True

    def set_sysctl(self, path, value):
        with open(path) as f:
            old = f.read().strip()
        self.sysctls.setdefault(path, old)
        with open(path, "w") as f:
            f.write(value)

    def spawn(self, cmd, **kw):
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             **kw)
        self.procs.append(p)
        return p

    def cleanup(self):
        for p in self.procs:
            stop_pid(p)
        for name in list(self.netns):
            self.del_netns(name)
        for name in self.groups:
            run(["groupdel", name], check=False)
        for path, old in self.sysctls.items():
            with open(path, "w") as f:
                f.write(old)
        if self.mounted_tracefs:
            run(["umount", "/sys/kernel/tracing"], check=False)


# ------------------------------------------------------------------ daemon client

class Ctl:
    """One connection to the daemon's control socket."""

    def __init__(self, path, timeout=30):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.buf = b""

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.s.recv(1 << 20)
            if not chunk:
                raise EOFError("daemon closed the control connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def raw(self, obj):
        self.s.sendall(json.dumps(obj).encode() + b"\n")
        return self.line()

    def request(self, obj):
        r = json.loads(self.raw(obj))
        if not r.get("ok"):
            raise RuntimeError("daemon: %s" % r.get("error"))
        return r

    def close(self):
        self.s.close()


class Daemon:
    """build/portwatchd --foreground at nice -10 on a socket of our own, with
    an empty configuration file (or `config`): the built-in defaults even
    where the host has an /etc/portwatch/portwatch.conf."""

    def __init__(self, env, args=(), config="", binary=PORTWATCHD):
        self.env = env
        self.sock = os.path.join(env.workdir, "pw.sock")
        self.logpath = os.path.join(env.workdir, "portwatchd.log")
        self.conf = os.path.join(env.workdir, "empty.conf" if not config else "flood.conf")
        with open(self.conf, "w") as f:
            f.write(config)
        self.logf = open(self.logpath, "w")
        # the expected owners' file in the run's directory, not the host's /var/lib
        cmd = ["nice", "-n", str(DAEMON_NICE), binary, "--foreground",
               "--config", self.conf, "--socket", self.sock,
               "--owners-dir", os.path.join(env.workdir, "owners")] + list(args)
        self.t0 = time.monotonic()
        self.p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.logf,
                                  stderr=subprocess.STDOUT)
        env.procs.append(self.p)
        deadline = time.monotonic() + 120
        while True:
            if self.p.poll() is not None:
                raise RuntimeError("portwatchd exited %d:\n%s" % (self.p.returncode,
                                                                  self.log()[-2000:]))
            try:
                self.ctl = Ctl(self.sock)
                self.ctl.request({"cmd": "stats"})
                break
            except (OSError, EOFError):
                if time.monotonic() > deadline:
                    raise RuntimeError("portwatchd not ready:\n" + self.log()[-2000:])
                time.sleep(0.02)
        self.ready_s = time.monotonic() - self.t0

    def log(self):
        with open(self.logpath) as f:
            return f.read()

    def snapshot_ms(self):
        for line in self.log().splitlines():
            if "snapshot:" in line and " ms" in line:
                return int(line.rsplit(" in ", 1)[1].split()[0])
        return None

    def snapshot_cpu_ms(self):
        """The snapshot's CPU time ("... in N ms (M ms CPU)"), None when not logged."""
        for line in self.log().splitlines():
            if "snapshot:" in line and " ms CPU)" in line:
                return int(line.rsplit("(", 1)[1].split()[0])
        return None

    def stats(self):
        return self.ctl.request({"cmd": "stats"})["stats"]

    def rss_kib(self, field="VmRSS"):
        with open("/proc/%d/status" % self.p.pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return 0

    def cpu_s(self):
        """CPU seconds the daemon has run (/proc/PID/schedstat: ns, not clock ticks)."""
        with open("/proc/%d/schedstat" % self.p.pid) as f:
            return int(f.read().split()[0]) / 1e9

    def wait_quiet(self, timeout=10):
        """Until two stats 50 ms apart show no new event: the ring is drained."""
        last = None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s = self.stats()
            cur = sum(s["events"].values())
            if cur == last:
                return s
            last = cur
            time.sleep(0.05)
        return self.stats()

    def stop(self):
        self.ctl.close()
        stop_pid(self.p)
        self.logf.close()
        rc = self.p.returncode
        if rc != 0:
            raise RuntimeError("portwatchd exited %s" % rc)


# ------------------------------------------------------------------ subjects

class Subject:
    name = "bare"
    available = True
    reason = None
    workloads = WORKLOADS  # the overhead workloads it runs

    def start(self):
        pass

    def stop(self):
        pass


class PortwatchSubject(Subject):
    name = "portwatchd"
    binary = PORTWATCHD

    def __init__(self, env):
        self.env = env
        self.d = None
        self.dropped = 0
        if not os.access(self.binary, os.X_OK):
            self.available, self.reason = False, "%s is not built" % self.binary

    def start(self):
        self.d = Daemon(self.env, binary=self.binary)

    def stop(self):
        self.dropped += self.d.stats()["dropped"]
        self.d.stop()
        self.d = None


class FloorSubject(PortwatchSubject):
    """The floor: portwatchd whose programs are attached where the real
    ones are and return at once (PW_FLOOR, `make floor`). What it costs is
    what attaching costs, the syscall tracepoints' slow path above all;
    portwatchd against it is what the programs' work and the daemon cost."""
    name = "floor"
    binary = PORTWATCHD_FLOOR


class MinimalSubject(PortwatchSubject):
    """The minimal reporter: portwatchd whose programs send one 48-byte
    record (stamped, the caller's ids, nothing read from the socket) per
    bind, listen and release through the rings, the cheapest report of
    each call (PW_FLOOR=2, `make floor`). Run on the bind workloads,
    the ones whose calls it reports."""
    name = "minimal"
    binary = PORTWATCHD_MINIMAL
    workloads = ("tcp_bind", "udp_bind")


class BpftraceSubject(Subject):
    name = "bpftrace"

    def __init__(self, env):
        self.env = env
        self.p = None
        self.script = os.path.join(env.workdir, "pw.bt")
        self.out = os.path.join(env.workdir, "bpftrace.out")
        with open(self.script, "w") as f:
            f.write(BPFTRACE_SCRIPT)
        if not shutil.which("bpftrace"):
            self.available, self.reason = False, "bpftrace is not installed (make deps)"

    def start(self):
        self.env.ensure_tracefs()
        # bpftrace flushes every line into a pipe (not into a file given with
        # -o, which it buffers); cat keeps up and writes them to a file
        self.p = subprocess.Popen(["bpftrace", self.script], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.env.procs.append(self.p)
        with open(self.out, "w") as f:
            self.cat = subprocess.Popen(["cat"], stdin=self.p.stdout, stdout=f)
        self.p.stdout.close()
        self.env.procs.append(self.cat)
        deadline = time.monotonic() + 60
        while True:
            if self.p.poll() is not None:
                raise RuntimeError("bpftrace exited %d" % self.p.returncode)
            with open(self.out) as f:
                if "ready" in f.read(4096):
                    return
            if time.monotonic() > deadline:
                raise RuntimeError("bpftrace did not attach")
            time.sleep(0.05)

    def stop(self):
        stop_pid(self.p, signal.SIGINT)
        self.cat.wait(10)
        os.unlink(self.out)


class AuditdSubject(Subject):
    name = "auditd"
    RULE = ["always,exit", "-F", "arch=b64", "-S", "bind,listen,connect", "-k", TAG]

    def __init__(self, env):
        self.env = env
        self.p = None
        self.dir = os.path.join(env.workdir, "audit")
        if not (shutil.which("auditd") and shutil.which("auditctl")):
            self.available, self.reason = False, "auditd is not installed (make deps)"
            return
        st = run(["auditctl", "-s"], check=False)
        if st.returncode != 0:
            self.available, self.reason = False, "no kernel audit: " + st.stderr.strip()
            return
        fields = dict(l.split(" ", 1) for l in st.stdout.splitlines() if " " in l)
        if fields.get("pid", "0") != "0":
            self.available = False
            self.reason = "another audit daemon (pid %s) owns the audit socket" % fields["pid"]
            return
        self.enabled_before = fields.get("enabled", "0")
        os.makedirs(os.path.join(self.dir, "plugins.d"))
        # the system's auditd.conf, with the logs in our directory and no action
        # that could suspend auditing or mail anyone when the disk fills
        over = {"log_file": os.path.join(self.dir, "audit.log"), "write_logs": "yes",
                "max_log_file": "8", "num_logs": "3", "max_log_file_action": "ROTATE",
                "space_left_action": "IGNORE", "admin_space_left_action": "IGNORE",
                "disk_full_action": "IGNORE", "disk_error_action": "IGNORE",
                "use_libwrap": "no", "plugin_dir": os.path.join(self.dir, "plugins.d")}
        conf = {}
        try:
            with open("/etc/audit/auditd.conf") as f:
                for line in f:
                    if "=" in line and not line.lstrip().startswith("#"):
                        k, v = line.split("=", 1)
                        conf[k.strip()] = v.strip()
        except OSError:
            pass
        conf.update(over)
        path = os.path.join(self.dir, "auditd.conf")
        with open(path, "w") as f:
            f.write("".join("%s = %s\n" % kv for kv in conf.items()))
        os.chmod(path, 0o640)

    def start(self):
        # -n: no fork, logs go to log_file (-f would send them to stderr instead)
        self.p = subprocess.Popen(["auditd", "-n", "-c", self.dir], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.env.procs.append(self.p)
        deadline = time.monotonic() + 20
        while "pid %d" % self.p.pid not in run(["auditctl", "-s"]).stdout:
            if self.p.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("auditd did not start")
            time.sleep(0.05)
        run(["auditctl", "-a"] + self.RULE)

    def stop(self):
        run(["auditctl", "-d"] + self.RULE, check=False)
        stop_pid(self.p)
        run(["auditctl", "-e", self.enabled_before], check=False)
        for f in os.listdir(self.dir):
            if f.startswith("audit.log"):
                os.unlink(os.path.join(self.dir, f))


# ------------------------------------------------------------------ workers

def churn_start(mode, procs, seconds, netns, port=0):
    """procs churn workers, started together: they run for seconds from now.
    port: the bind modes bind 127.0.0.1:port, port+1, ... (one each), not port 0."""
    ws = [subprocess.Popen([os.path.join(BBIN, "churn"), mode, str(seconds), "--netns", netns]
                           + (["--port", str(port + i)] if port else []),
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
          for i in range(procs)]
    try:
        for w in ws:
            if w.stdout.readline().strip() != "ready":
                raise RuntimeError("churn %s did not start" % mode)
        for w in ws:
            w.stdin.write("g")
            w.stdin.flush()
    except BaseException:
        for w in ws:
            stop_pid(w)
        raise
    return ws


def churn_finish(ws, seconds, mode="churn"):
    """Wait for the workers of churn_start(); returns (total ops/s, ops)."""
    try:
        total, ops = 0.0, 0
        for w in ws:
            out, _ = w.communicate(timeout=seconds + 60)
            if w.returncode != 0:
                raise RuntimeError("churn %s failed" % mode)
            n, ns = map(int, out.split())
            total += n * 1e9 / ns
            ops += n
        return total, ops
    finally:
        for w in ws:
            stop_pid(w)


def churn(env, mode, procs, seconds, netns, port=0):
    """procs churn workers started together; returns total ops/s."""
    return churn_finish(churn_start(mode, procs, seconds, netns, port), seconds, mode)


def holder(env, mode, n, addr, port, netns):
    p = env.spawn([os.path.join(BBIN, "holder"), mode, str(n), addr, str(port), "--netns", netns])
    line = p.stdout.readline().split()
    if not line or line[0] != "ready":
        raise RuntimeError("holder %s %d did not start" % (mode, n))
    return p, int(line[1])


def release(env, p):
    p.stdin.close()
    p.wait(60)
    env.procs.remove(p)


# ------------------------------------------------------------------ 1. overhead

def bench_overhead(env, cfg, subjects, out):
    ns = env.add_netns("churn")
    res = {wl: {str(n): {s.name: {"ops_s_rounds": []} for s in subjects}
                for n in PROCS} for wl in WORKLOADS}
    # Each subject is attached around one run only: bare and every subject
    # run back to back on the same workload (seconds apart), so a build
    # starting next door shifts all of them rather than one. The order of
    # the subjects rotates from round to round.
    for r in range(cfg["rounds"]):
        order = subjects[r % len(subjects):] + subjects[:r % len(subjects)]
        for wl in WORKLOADS:
            for n in PROCS:
                for s in order:
                    if not s.available or wl not in s.workloads:
                        continue
                    s.start()
                    time.sleep(0.2)  # let the start-up work (snapshot, JIT) settle
                    try:
                        ops_s, _ = churn(env, wl, n, cfg["seconds"], ns)
                    finally:
                        s.stop()
                    res[wl][str(n)][s.name]["ops_s_rounds"].append(round(ops_s))
        log("overhead round %d/%d done" % (r + 1, cfg["rounds"]))
    for wl in WORKLOADS:
        for n in PROCS:
            row = res[wl][str(n)]
            bare = median(row["bare"]["ops_s_rounds"])
            for s in subjects:
                cell = row[s.name]
                if not s.available or wl not in s.workloads:
                    cell.update(available=False, ops_s=None, ratio=None,
                                reason=s.reason or "run on %s only" % ", ".join(s.workloads),
                                skipped=s.available)
                    continue
                cell["ops_s"] = round(median(cell["ops_s_rounds"]))
                # ratio: the median of the rounds' own ratios, each subject run
                # against the bare run seconds before or after it in the same
                # round, which cancels load that drifts over minutes;
                # ratio_of_medians is the cruder figure, for comparison
                cell["ratios"] = [round(x / b, 3) for x, b in
                                  zip(cell["ops_s_rounds"], row["bare"]["ops_s_rounds"])]
                cell["ratio"] = round(median(cell["ratios"]), 3)
                cell["ratio_of_medians"] = round(cell["ops_s"] / bare, 3)
            pw, fl = row["portwatchd"], row["floor"]
            if pw.get("available") is not False and fl.get("available") is not False:
                # the programs' and the daemon's share alone: portwatchd
                # against the floor run in the same round
                pw["ratio_to_floor"] = round(median(
                    [x / f for x, f in zip(pw["ops_s_rounds"], fl["ops_s_rounds"])]), 3)
    env.del_netns(ns)
    out["overhead"] = res
    pw = [s for s in subjects if s.name == "portwatchd"][0]
    out["overhead_notes"] = {
        "portwatchd": "build/portwatchd --foreground at nice %d (the service unit's Nice=), "
                      "built-in defaults; ring-buffer drops over all rounds: %d"
                      % (DAEMON_NICE, pw.dropped),
        "floor": "%s: portwatchd with every BPF program attached and returning at once "
                 "(PW_FLOOR); portwatchd's ratio_to_floor is its ops/s over the floor's, "
                 "round by round" % PORTWATCHD_FLOOR,
        "minimal": "%s: portwatchd whose programs send one 48-byte record per bind, listen "
                   "and release and read nothing (PW_FLOOR=2), on the bind workloads"
                   % PORTWATCHD_MINIMAL,
        "bpftrace": "tracepoints sys_enter/exit_{bind,listen,connect} and "
                    "sock:inet_sock_set_state, one printf per event to a file",
        "auditd": "auditd -n (own config, logs to a file), rule -a always,exit -F arch=b64 "
                  "-S bind,listen,connect",
        "seconds_per_round": cfg["seconds"], "rounds": cfg["rounds"]}


# ------------------------------------------------------------------ 1b. protect

PROTECT_RULES = 100
PROTECT_PORT = 20000  # the rules cover PROTECT_PORT .. PROTECT_PORT + PROTECT_RULES - 1


def protect_config(netns):
    """[protect] mode enforce with PROTECT_RULES rules, TCP and UDP in turn,
    one port each, in the workload's namespace; the churn worker (root,
    bench/churn) is the owner through exe=, the selector that costs the
    kernel most (it reads the caller's executable), after a uid= that does
    not match."""
    churn = os.path.join(BBIN, "churn")
    rules = ["protect = %s %d netns=%s uid=4242 exe=%s" % (
        "tcp" if i % 2 == 0 else "udp", PROTECT_PORT + i, netns, churn)
        for i in range(PROTECT_RULES)]
    return "[protect]\nmode = enforce\n" + "\n".join(rules) + "\n"


def bench_protect(env, cfg, out):
    """Bind churn on a protected port by its owner (every bind runs the
    rule, the executable read and the takeover hold of the port the last
    socket left), bare, with portwatchd and its defaults (plain), and with
    portwatchd enforcing PROTECT_RULES rules, in rotating order per round;
    the ratio is the median of the rounds' paired ratios, as in overhead."""
    ns = env.add_netns("protect")
    ports = {"tcp_bind": PROTECT_PORT, "udp_bind": PROTECT_PORT + 1}
    subjects = ("bare", "plain", "enforce")
    res = {wl: {sub: {"ops_s_rounds": []} for sub in subjects} for wl in ports}
    for r in range(cfg["rounds"]):
        order = subjects[r % 3:] + subjects[:r % 3]
        for wl, port in ports.items():
            for sub in order:
                d = None
                if sub != "bare":
                    d = Daemon(env, config=protect_config(ns) if sub == "enforce" else "")
                    time.sleep(0.2)
                try:
                    ops_s, _ = churn(env, wl, 1, cfg["seconds"], ns, port)
                finally:
                    if d:
                        if sub == "enforce":
                            rules = d.ctl.request({"cmd": "protect"})["protect"]["rules"]
                            res[wl][sub].setdefault("allowed", []).append(
                                sum(x["allowed"] for x in rules))
                        d.stop()
                res[wl][sub]["ops_s_rounds"].append(round(ops_s))
        log("protect round %d/%d done" % (r + 1, cfg["rounds"]))
    for wl in ports:
        row = res[wl]
        row["bare"]["ops_s"] = round(median(row["bare"]["ops_s_rounds"]))
        for sub in ("plain", "enforce"):
            cell = row[sub]
            cell["ops_s"] = round(median(cell["ops_s_rounds"]))
            cell["ratios"] = [round(x / b, 3) for x, b in
                              zip(cell["ops_s_rounds"], row["bare"]["ops_s_rounds"])]
            cell["ratio"] = round(median(cell["ratios"]), 3)
    env.del_netns(ns)
    out["protect"] = dict(res, rules=PROTECT_RULES, port=PROTECT_PORT,
                          tcp_bind_ratio=res["tcp_bind"]["enforce"]["ratio"],
                          plain_tcp_bind_ratio=res["tcp_bind"]["plain"]["ratio"],
                          udp_bind_ratio=res["udp_bind"]["enforce"]["ratio"],
                          plain_udp_bind_ratio=res["udp_bind"]["plain"]["ratio"],
                          note="1 churn worker binding 127.0.0.1:%d (tcp) or :%d (udp), the "
                               "owner by exe= of a rule whose uid= does not match; enforce: "
                               "%d rules in the kernel, plain: the built-in defaults"
                               % (PROTECT_PORT, PROTECT_PORT + 1, PROTECT_RULES))


# ------------------------------------------------------------------ 2. loss

def ss_inodes(netns):
    out = run(["ip", "netns", "exec", netns, "ss", "-tuanHe"]).stdout
    inodes = set()
    for line in out.splitlines():
        for tok in line.split():
            if tok.startswith("ino:") and tok != "ino:0":
                inodes.add(int(tok[4:]))
    return inodes


def netns_inode(name):
    return os.stat("/run/netns/" + name).st_ino


def bench_loss(env, cfg, out):
    ns = env.add_netns("loss")
    nsino = netns_inode(ns)
    # sockets held through the churn: the table must still show exactly these
    h1, _ = holder(env, "tcp_listen", 100, "127.0.0.1", 20000, ns)
    h2, _ = holder(env, "udp", 100, "127.0.0.1", 20000, ns)
    # no periodic reconciliation: exactness must come from the events alone
    d = Daemon(env, ["--reconcile-interval", "0"])
    try:
        before = d.wait_quiet()
        cpu0 = d.cpu_s()
        ops_s, ops = churn(env, "tcp_bind", 2, cfg["loss_seconds"], ns)
        after = d.wait_quiet()
        cpu = d.cpu_s() - cpu0
        table = {s["inode"] for s in d.ctl.request({"cmd": "owners", "netns": nsino})["sockets"]}
        kernel = ss_inodes(ns)
        ev = {k: after["events"][k] - before["events"][k] for k in after["events"]}
        out["loss"] = {
            "workload": "tcp_bind", "procs": 2, "seconds": cfg["loss_seconds"],
            "ops": ops, "ops_s": round(ops_s),
            "events_expected": 3 * ops,  # bind + listen + release per op
            "events_seen": ev["bind"] + ev["listen"] + ev["release"],
            "events": ev,
            "dropped": after["dropped"] - before["dropped"],
            "table_exact": table == kernel,
            "table_size": len(table), "kernel_sockets": len(kernel),
            "missing_from_table": len(kernel - table), "stale_in_table": len(table - kernel),
            "reconcile_added": after["reconcile_added"] - before["reconcile_added"],
            "daemon_cpu_s": round(cpu, 2),
            "daemon_cpu_ns_per_op": round(cpu * 1e9 / max(ops, 1)),
            # records of one CPU's ring applied before the others were known past them
            "rings": after["rings"]["count"],
            "merge_late": after["rings"]["late"] - before["rings"]["late"],
            "merge_queued_max": after["rings"]["queued_max"],
            "note": "daemon at nice %d, default rings (8 MiB), --reconcile-interval 0; events "
                    "of other processes on the host count too" % DAEMON_NICE,
        }
        out["loss"]["missed_events"] = max(0, out["loss"]["events_expected"]
                                           - out["loss"]["events_seen"])
    finally:
        d.stop()
        release(env, h1)
        release(env, h2)
        env.del_netns(ns)


# ------------------------------------------------------------------ 3. scale

def scale_layout(f):
    """(mode, n, addr, port) holders: 100k TCP and 10k UDP sockets at f = 1, in
    10 processes of at most 15,000 fds (containers often cap RLIMIT_NOFILE at
    20,000 without CAP_SYS_RESOURCE to raise it)."""
    n = lambda x: max(1, int(x * f))
    return ([("tcp_listen", n(15000), "127.0.0.%d" % i, 10000) for i in (1, 2, 3, 4)] +
            [("tcp_pairs", n(5000), "127.0.0.%d" % i, 5000) for i in (11, 12, 13, 14)] +
            [("udp", n(5000), "127.0.0.%d" % i, 10000) for i in (21, 22)])


def timed(cmd):
    t = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, timeout=300)
    return time.monotonic() - t


class RssSampler:
    """Highest VmRSS (KiB) of pid, sampled every 5 ms while running (scale:
    the peak during full `owners` dumps, which VmHWM, the peak over the
    daemon's life, would hide behind the start-up snapshot's)."""

    def __init__(self, pid):
        self.pid, self.peak, self.stop = pid, 0, threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop.is_set():
            try:
                with open("/proc/%d/status" % self.pid) as f:
                    rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
            except (OSError, StopIteration):
                return
            self.peak = max(self.peak, rss)
            time.sleep(0.005)

    def done(self):
        self.stop.set()
        self.t.join()
        return self.peak


def bench_scale(env, cfg, out):
    ns = env.add_netns("scale")
    nsino = netns_inode(ns)
    # ephemeral ports above the listeners' range (this namespace only)
    run(["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.ip_local_port_range=30000 65000"])
    holders, tcp, udp = [], 0, 0
    t = time.monotonic()
    for mode, n, addr, port in scale_layout(cfg["scale"]):
        p, c = holder(env, mode, n, addr, port, ns)
        holders.append(p)
        if mode == "udp":
            udp += c
        else:
            tcp += c
    log("scale: %d TCP + %d UDP sockets in %d processes (%.1f s)"
        % (tcp, udp, len(holders), time.monotonic() - t))
    res = {"tcp_sockets": tcp, "udp_sockets": udp, "processes": len(holders),
           "snapshot_s_rounds": [], "ss_s_rounds": [], "ss_tanp_s_rounds": [],
           "ss_uanp_s_rounds": []}
    d = None
    try:
        for r in range(cfg["scale_rounds"]):
            d = Daemon(env)
            res["snapshot_s_rounds"].append(d.snapshot_ms() / 1000.0)
            cpu = d.snapshot_cpu_ms()
            if cpu is not None:
                res.setdefault("snapshot_cpu_s_rounds", []).append(cpu / 1000.0)
            res.setdefault("ready_s_rounds", []).append(round(d.ready_s, 3))
            if r < cfg["scale_rounds"] - 1:
                d.stop()
                d = None
            a = timed(["ip", "netns", "exec", ns, "ss", "-tanp"])
            b = timed(["ip", "netns", "exec", ns, "ss", "-uanp"])
            res["ss_tanp_s_rounds"].append(round(a, 3))
            res["ss_uanp_s_rounds"].append(round(b, 3))
            res["ss_s_rounds"].append(round(a + b, 3))
        st = d.stats()
        res["table_size"] = st["table_size"]
        res["table_in_netns"] = len(d.ctl.request({"cmd": "owners", "netns": nsino})["sockets"])
        res["rss_mib_after_snapshot"] = round(d.rss_kib() / 1024.0, 1)
        # owners PORT: one port of a listener, over a kept connection
        ports = [10000 + i for i in range(max(1, int(15000 * cfg["scale"])))]
        lat = []
        for _ in range(cfg["owners_queries"]):
            q = json.dumps({"cmd": "owners", "port": random.choice(ports)}).encode() + b"\n"
            t = time.monotonic_ns()
            d.ctl.s.sendall(q)
            line = d.ctl.line()
            lat.append((time.monotonic_ns() - t) / 1e6)
            assert b'"ok":true' in line, line[:200]
        res["owners_port_p50_ms"] = round(pct(lat, 50), 3)
        res["owners_port_p99_ms"] = round(pct(lat, 99), 3)
        alls, size = [], 0
        res["rss_mib_before_dump"] = round(d.rss_kib() / 1024.0, 1)
        sampler = RssSampler(d.p.pid)
        for _ in range(cfg["owners_all"]):
            t = time.monotonic()
            line = d.ctl.raw({"cmd": "owners"})
            alls.append(time.monotonic() - t)
            size = len(line)
        res["rss_dump_peak_mib"] = round(sampler.done() / 1024.0, 1)
        res["owners_all_s_rounds"] = [round(x, 3) for x in alls]
        res["owners_all_p50_s"] = round(pct(alls, 50), 3)
        res["owners_all_p99_s"] = round(pct(alls, 99), 3)
        res["owners_all_s"] = res["owners_all_p50_s"]
        res["owners_all_bytes"] = size
        res["rss_mib"] = round(d.rss_kib() / 1024.0, 1)
        res["rss_peak_mib"] = round(d.rss_kib("VmHWM") / 1024.0, 1)
        res["snapshot_s"] = round(median(res["snapshot_s_rounds"]), 3)
        if res.get("snapshot_cpu_s_rounds"):
            res["snapshot_cpu_s"] = round(median(res["snapshot_cpu_s_rounds"]), 3)
        res["ss_s"] = round(median(res["ss_s_rounds"]), 3)
        res["speedup_vs_ss"] = round(res["ss_s"] / max(res["snapshot_s"], 1e-3), 1)
        res["note"] = ("snapshot_s: the daemon's own startup-snapshot timer (every netns: "
                       "iter/tcp, iter/udp, sock_diag, one /proc/*/fd scan, owners), "
                       "snapshot_cpu_s its CPU time (kernel side included); ss_s: "
                       "`ss -tanp` + `ss -uanp` in the holders' netns; rss_mib: VmRSS after "
                       "the full `owners` dumps, rss_dump_peak_mib: highest VmRSS sampled "
                       "every 5 ms during them, rss_peak_mib: VmHWM over the daemon's life "
                       "(the start-up snapshot's peak included)")
    finally:
        if d:
            d.stop()
        for p in holders:
            release(env, p)
        env.del_netns(ns)
    out["scale"] = res


# ------------------------------------------------------------------ 4. alert latency

def bench_latency(env, cfg, out):
    ns = env.add_netns("alert")
    port = 20000
    h, _ = holder(env, "udp", 1, "0.0.0.0", port, ns)
    d = Daemon(env, no_fold_args(env))
    actor = env.spawn([os.path.join(BBIN, "hijack"), str(port), "--netns", ns])
    sub = Ctl(d.sock)
    sub.request({"cmd": "subscribe"})
    lat = []
    try:
        for _ in range(cfg["alerts"]):
            # a random pause, so the binds do not fall into step with the daemon's
            # flush timer (which would make every latency a full period)
            time.sleep(random.uniform(0, 0.01))
            actor.stdin.write("g")
            actor.stdin.flush()
            t_ns, inode = map(int, actor.stdout.readline().split())
            while True:
                msg = json.loads(sub.line())
                a = msg.get("alert")
                if a and a["contender"]["inode"] == inode:
                    lat.append((time.monotonic_ns() - t_ns) / 1e6)
                    break
        out["latency"] = {"alerts": len(lat), "alert_p50_ms": round(pct(lat, 50), 3),
                          "alert_p99_ms": round(pct(lat, 99), 3),
                          "alert_max_ms": round(max(lat), 3),
                          "kind": "hijack_attempt/shadow_wildcard (UDP, SO_REUSEADDR)",
                          # drains that left an event waiting for another CPU's ring
                          "rings_behind": d.stats()["rings"]["behind"],
                          "note": "bind() return in the actor -> alert line read from a "
                                  "`subscribe` stream, CLOCK_MONOTONIC on both sides"}
    finally:
        sub.close()
        actor.stdin.close()
        actor.wait(10)
        env.procs.remove(actor)
        d.stop()
        release(env, h)
        env.del_netns(ns)


# ------------------------------------------------------------------ 5. control-socket flood

FLOOD_UID = 2190           # the member of the socket's group that floods
FLOOD_RSS_ABORT_KIB = 1 << 20  # past this the flood is killed (the host's memory)


def stats_once(sock, timeout=30):
    """root's `stats` over a new connection, as portwatchctl asks: ms, or
    None when refused. A blocking connect (SO_SNDTIMEO) waits for room in
    a full listen backlog, as portwatchctl's does."""
    t = time.monotonic_ns()
    s = socket.socket(socket.AF_UNIX)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", timeout, 0))
        s.connect(sock)
        s.settimeout(timeout)
        s.sendall(b'{"cmd":"stats"}\n')
        buf = b""
        while b"\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                return None
            buf += chunk
    except OSError:
        return None
    finally:
        s.close()
    return (time.monotonic_ns() - t) / 1e6 if b'"ok":true' in buf.replace(b" ", b"") else None


class FloodMember:
    """tests/e2e/flood.py as FLOOD_UID with the socket's group (see that file)."""

    def __init__(self, env, sock, gid, plan, nonread_requests):
        self.p = env.spawn([sys.executable, FLOOD, "--socket", sock, "--uid", str(FLOOD_UID),
                            "--gid", str(FLOOD_UID), "--groups", str(gid),
                            "--nonread", str(plan["nonread"]), "--idle", str(plan["idle"]),
                            "--nonread-requests", str(nonread_requests),
                            "--hangup", str(plan["hangup"]), "--hangup-requests", "16",
                            "--waves", "0"])
        self.env = env

    def say(self, cmd):
        self.p.stdin.write(cmd + "\n")
        self.p.stdin.flush()

    def read(self):
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError("flood.py exited %s" % self.p.poll())
        return json.loads(line)

    def stop(self):
        if self.p in self.env.procs:
            self.p.stdin.close()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                stop_pid(self.p, signal.SIGKILL)
            self.env.procs.remove(self.p)


def rss_watch(pid, peak, stop, on_abort):
    """Thread body: peak[0] = highest VmRSS (KiB) seen every 20 ms."""
    while not stop.wait(0.02):
        try:
            with open("/proc/%d/status" % pid) as f:
                rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
        except (OSError, StopIteration):
            return
        peak[0] = max(peak[0], rss)
        if rss > FLOOD_RSS_ABORT_KIB:
            on_abort()
            return


def under_churn(d, sub, actor, ns, cfg):
    """The bench's normal churn (tcp_bind, 2 processes, loss_seconds) and,
    for as long as it runs, rounds of: one hijack bind (its alert read from
    the subscriber) and one root `stats` over a new connection. Returns the
    figures, dropped events included."""
    before = d.stats()
    ws = churn_start("tcp_bind", 2, cfg["loss_seconds"], ns)
    alert, stats, missed, refused = [], [], 0, 0
    try:
        while any(w.poll() is None for w in ws) or not alert:
            time.sleep(random.uniform(0, 0.01))  # out of step with the flush timer
            actor.stdin.write("g")
            actor.stdin.flush()
            t_ns, inode = map(int, actor.stdout.readline().split())
            try:
                while True:
                    a = json.loads(sub.line()).get("alert")
                    if a and a["contender"]["inode"] == inode:
                        alert.append((time.monotonic_ns() - t_ns) / 1e6)
                        break
            except socket.timeout:
                missed += 1
            ms = stats_once(d.sock)
            if ms is None:
                refused += 1
            else:
                stats.append(ms)
    finally:
        ops_s, ops = churn_finish(ws, cfg["loss_seconds"], "tcp_bind")
    after = d.wait_quiet()
    res = {"churn_ops_s": round(ops_s), "churn_ops": ops, "rounds": len(alert) + missed,
           "dropped": after["dropped"] - before["dropped"],
           "alerts_missed": missed, "stats_refused": refused}
    for name, v in (("alert", alert), ("stats", stats)):
        res[name + "_p50_ms"] = round(pct(v, 50), 3) if v else None
        res[name + "_p99_ms"] = round(pct(v, 99), 3) if v else None
        res[name + "_max_ms"] = round(max(v), 3) if v else None
    return res


def bench_flood(env, cfg, out):
    """Issue 17: the control-socket flood of one member of the socket's
    group - waves of clients that send 16 `owners` requests and hang up,
    non-reading clients, idle connections - under the bench's normal
    churn: events dropped, alert latency and root's `stats` latency, quiet
    then flooded, and the daemon's peak RSS."""
    plan = cfg["flood"]
    gid, group = env.add_group()
    ns = env.add_netns("flood")
    port = 20000
    h, _ = holder(env, "udp", 1, "0.0.0.0", port, ns)
    table, _ = holder(env, "udp", plan["table"], "127.0.0.1", 21000, ns)
    os.chmod(env.workdir, 0o755)  # the member reaches the socket
    d = Daemon(env, ["--reconcile-interval", "0"],
               config="[control]\ngroup = %s\nmode = 0660\n[alerts]\nfold_window = 0\n" % group)
    actor = env.spawn([os.path.join(BBIN, "hijack"), str(port), "--netns", ns])
    sub = Ctl(d.sock)
    sub.request({"cmd": "subscribe"})
    member, stop = None, threading.Event()
    peak = [0]
    try:
        size = len(d.ctl.raw({"cmd": "owners"})) + 1
        k = max(1, int(plan["nonread_mib"] * (1 << 20)) // size + 1)
        res = {"plan": dict(plan, hangup_requests=16, nonread_requests=k, owners_bytes=size,
                            member_uid=FLOOD_UID)}
        res["quiet"] = under_churn(d, sub, actor, ns, cfg)
        res["rss_quiet_mib"] = round(d.rss_kib() / 1024.0, 1)
        member = FloodMember(env, d.sock, gid, plan, k)
        watch = threading.Thread(target=rss_watch, daemon=True,
                                 args=(d.p.pid, peak, stop,
                                       lambda: stop_pid(member.p, signal.SIGKILL)))
        watch.start()
        res["member"] = member.read()
        member.say("go")
        res["flood"] = under_churn(d, sub, actor, ns, cfg)
        member.say("stop")
        res["member"].update(member.read())
        member.say("count")
        res["member"].update({"still_" + k_: v for k_, v in member.read().items()
                              if k_ != "op"})
        for k_ in ("op", "pid", "uid"):
            res["member"].pop(k_, None)
        stop.set()
        watch.join(5)
        res["rss_sampled_peak_mib"] = round(peak[0] / 1024.0, 1)
        res["rss_peak_mib"] = round(d.rss_kib("VmHWM") / 1024.0, 1)
        res["rss_after_mib"] = round(d.rss_kib() / 1024.0, 1)
        member.stop()
        member = None
        st = d.stats()
        res["dropped"] = res["flood"]["dropped"]
        res["control"] = st.get("control")
        res["note"] = ("one member uid of the socket's group floods: waves of %d clients x 16 "
                       "`owners` then hang-up, %d non-readers asking for %.2f MiB each, %d idle "
                       "connections; churn tcp_bind x2 for %d s in each phase; alert: hijack "
                       "bind -> `subscribe` line (root, connected before the flood); stats: "
                       "root over a new connection; rss_peak_mib: VmHWM"
                       % (plan["hangup"], plan["nonread"], plan["nonread_mib"], plan["idle"],
                          cfg["loss_seconds"]))
        out["flood"] = res
    finally:
        stop.set()
        if member:
            member.stop()
        sub.close()
        actor.stdin.close()
        actor.wait(10)
        env.procs.remove(actor)
        d.stop()
        release(env, table)
        release(env, h)
        env.del_netns(ns)


# ------------------------------------------------------------------ 6. idle wake-ups

FULL["idle_seconds"], SMOKE["idle_seconds"] = 20, 2


def no_fold_args(env):
    """--config of a file with fold_window = 0 (the later --config wins): every
    alert is published at once. The default folds repeats of one alert within
    10 s into one line at the window's end, which the latency runs would wait
    for."""
    path = os.path.join(env.workdir, "nofold.conf")
    with open(path, "w") as f:
        f.write("[alerts]\nfold_window = 0\n")
    return ["--config", path]


def voluntary_switches(pid):
    """Voluntary context switches of every thread of pid: one per time it blocked
    and was woken (/proc/PID/task/*/status)."""
    n = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
            for line in f:
                if line.startswith("voluntary_ctxt_switches:"):
                    n += int(line.split()[1])
    return n


def bench_idle(env, cfg, out):
    """How often a daemon with nothing to do wakes up, then one hijack bind:
    the alert must still arrive, and how long it took."""
    ns = env.add_netns("idle")
    port = 20000
    h, _ = holder(env, "udp", 1, "0.0.0.0", port, ns)
    d = Daemon(env, no_fold_args(env))
    actor = env.spawn([os.path.join(BBIN, "hijack"), str(port), "--netns", ns])
    sub = Ctl(d.sock)
    sub.request({"cmd": "subscribe"})
    try:
        d.wait_quiet()
        time.sleep(1.0)  # start-up work (snapshot, the first housekeeping) done
        ev0 = sum(d.stats()["events"].values())
        n0, t0 = voluntary_switches(d.p.pid), time.monotonic()
        time.sleep(cfg["idle_seconds"])
        n1, t1 = voluntary_switches(d.p.pid), time.monotonic()
        events = sum(d.stats()["events"].values()) - ev0
        actor.stdin.write("g")
        actor.stdin.flush()
        t_ns, inode = map(int, actor.stdout.readline().split())
        while True:
            a = json.loads(sub.line()).get("alert")
            if a and a["contender"]["inode"] == inode:
                alert_ms = (time.monotonic_ns() - t_ns) / 1e6
                break
        out["idle"] = {"seconds": round(t1 - t0, 1), "wakeups": n1 - n0,
                       "wakeups_per_s": round((n1 - n0) / (t1 - t0), 2),
                       "events_during": events, "alert_after_idle_ms": round(alert_ms, 3),
                       "note": "voluntary context switches of the daemon over the window, no "
                               "socket activity of ours (events_during: other processes' on "
                               "the host); the housekeeping timer (each second, every 2 s "
                               "while idle) is all of it"}
    finally:
        sub.close()
        actor.stdin.close()
        actor.wait(10)
        env.procs.remove(actor)
        d.stop()
        release(env, h)
        env.del_netns(ns)


# ------------------------------------------------------------------ nftables

NFT_RULES = 1000
NFT_DIVERTING = 100  # of them: redirects of ports 20000.. (below ip_local_port_range)


def nft_ruleset(n=NFT_RULES, diverting=NFT_DIVERTING):
    """A ruleset of n rules: filter rules on an input chain, and `diverting`
    redirects on a prerouting nat chain of ports no churn worker gets."""
    lines = ["table inet pwbench {", " chain in { type filter hook input priority 0;"]
    lines += ["  tcp dport %d counter accept" % (1000 + i) for i in range(n - diverting)]
    lines += [" }", " chain pre { type nat hook prerouting priority dstnat;"]
    lines += ["  tcp dport %d redirect to :%d" % (20000 + i, 21000 + i) for i in range(diverting)]
    lines += [" }", "}", ""]
    return "\n".join(lines)


def bench_nft(env, cfg, out):
    """Bind churn with portwatchd against bare, in a namespace without rules
    and in one with an nftables ruleset of NFT_RULES rules, in alternating
    rounds: the ruleset is read when it changes (notifications), never per
    event, so both ratios should agree within noise."""
    plain = env.add_netns("nftplain")
    ns = env.add_netns("nft")
    run(["ip", "netns", "exec", ns, "nft", "-f", "-"], input=nft_ruleset())
    res = {"plain": {"bare": [], "portwatchd": []}, "rules": {"bare": [], "portwatchd": []}}
    reads = []
    wl = "tcp_bind"
    for r in range(cfg["rounds"]):
        for where, netns in (("plain", plain), ("rules", ns)) if r % 2 == 0 else \
                (("rules", ns), ("plain", plain)):
            res[where]["bare"].append(churn(env, wl, 1, cfg["seconds"], netns)[0])
            d = Daemon(env)
            try:
                time.sleep(0.2)
                before = d.stats().get("nat", {}).get("reads", 0)
                res[where]["portwatchd"].append(churn(env, wl, 1, cfg["seconds"], netns)[0])
                st = d.stats().get("nat", {})
                reads.append(st.get("reads", 0) - before)
                nrules = st.get("rules")
            finally:
                d.stop()
        log("nft round %d/%d done" % (r + 1, cfg["rounds"]))
    env.del_netns(plain)
    env.del_netns(ns)

    def ratios(where):
        return [round(p / b, 3) for p, b in zip(res[where]["portwatchd"], res[where]["bare"])]

    def ratio(where):
        return round(median(ratios(where)), 3)

    out["nft"] = {"rules": NFT_RULES, "diverting_rules_read": nrules, "workload": wl,
                  "procs": 1, "ratio": ratio("rules"), "ratio_plain": ratio("plain"),
                  "bare_ops_s": round(median(res["rules"]["bare"])),
                  "portwatchd_ops_s": round(median(res["rules"]["portwatchd"])),
                  "ratios": ratios("rules"), "ratios_plain": ratios("plain"),
                  "reads_during_churn": max(reads) if reads else 0,
                  "note": "tcp_bind churn (1 process) with portwatchd / bare, median of the "
                          "rounds' paired ratios; ratio: in a namespace holding an nftables "
                          "ruleset of %d rules (%d of them diverting redirects), ratio_plain: "
                          "in one without; reads_during_churn: the most ruleset reads the daemon "
                          "made while one churn ran, in any namespace (0 when nothing changed: "
                          "rulesets are read on change; namespaces other programs create on a "
                          "shared host count too)"
                          % (NFT_RULES, NFT_DIVERTING)}


# ------------------------------------------------------------------ profile

def bpf_prog_ids(pid):
    """Ids of the BPF programs pid holds (prog and link fds: "prog_id:" in fdinfo)."""
    ids = set()
    base = "/proc/%d/fdinfo" % pid
    for fd in os.listdir(base):
        try:
            with open(os.path.join(base, fd)) as f:
                for line in f:
                    if line.startswith("prog_id:"):
                        ids.add(int(line.split()[1]))
        except OSError:
            pass
    return ids


def bpf_prog_stats(pid):
    """run_time_ns and run_cnt of pid's BPF programs (bpftool prog show), by name."""
    want = bpf_prog_ids(pid)
    res = {}
    for p in json.loads(run(["bpftool", "-j", "prog", "show"]).stdout):
        if p["id"] in want and p.get("run_cnt"):
            res[p.get("name", str(p["id"]))] = {"runs": p["run_cnt"], "ns": p["run_time_ns"]}
    return res


def bench_profile(env, cfg, out):
    """BPF per-program cost under 1-process TCP bind churn (kernel.bpf_stats_enabled)."""
    if not shutil.which("bpftool"):
        out["profile"] = {"available": False, "reason": "bpftool missing"}
        return
    ns = env.add_netns("prof")
    d = Daemon(env)
    try:
        env.set_sysctl("/proc/sys/kernel/bpf_stats_enabled", "1")
        res = {}
        for wl in WORKLOADS:
            base = bpf_prog_stats(d.p.pid)
            _, ops = churn(env, wl, 1, max(0.5, cfg["seconds"]), ns)
            now = bpf_prog_stats(d.p.pid)
            progs = {}
            for name, v in now.items():
                b = base.get(name, {"runs": 0, "ns": 0})
                runs = v["runs"] - b["runs"]
                if runs < ops / 100:  # another process's programs, or noise
                    continue
                tot = v["ns"] - b["ns"]
                progs[name] = {"runs_per_op": round(runs / ops, 2),
                               "ns_per_run": round(tot / runs, 1),
                               "ns_per_op": round(tot / ops, 1)}
            res[wl] = {"ops": ops, "progs": progs,
                       "bpf_ns_per_op": round(sum(p["ns_per_op"] for p in progs.values()), 1)}
        with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
            f.write(env.sysctls.pop("/proc/sys/kernel/bpf_stats_enabled"))
        res["note"] = "kernel.bpf_stats_enabled=1 (adds ~2 clock reads per run)"
        out["profile"] = res
    finally:
        d.stop()
        env.del_netns(ns)


# ------------------------------------------------------------------ report

def machine():
    cpu = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    commit = run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], check=False).stdout.strip()
    dirty = run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                check=False).stdout.strip()
    others = [l for l in run(["pgrep", "-a", "portwatchd"], check=False).stdout.splitlines()]
    return {"nproc": os.cpu_count(), "kernel": platform.release(), "cpu": cpu,
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "commit": commit + ("-dirty" if dirty else ""),
            "loadavg_start": os.getloadavg()[0],
            "other_portwatchd_at_start": len(others)}


def fmt(v, f="%.2f"):
    return "-" if v is None else f % v


def print_table(s):
    m = s["machine"]
    print("\nportwatch benchmarks  %s  kernel %s  %d cores  commit %s"
          % (m["date"], m["kernel"], m["nproc"], m["commit"]))
    if "overhead" in s:
        print("\n1. overhead: ops/s, median of %d rounds of %.1f s (ratio to bare: median of "
              "the rounds' paired ratios)"
              % (s["overhead_notes"]["rounds"], s["overhead_notes"]["seconds_per_round"]))
        cols = "%-14s %5s %10s" + " %18s" * len(SUBJECTS) + " %10s"
        print(cols % ("workload", "procs", "bare", *SUBJECTS, "pw/floor"))
        for wl, rows in s["overhead"].items():
            for n, row in rows.items():
                cells = []
                for sub in SUBJECTS:
                    c = row[sub]
                    cells.append("-" if c.get("skipped") else
                                 "unavailable" if c.get("available") is False else
                                 "%8d (%.2fx)" % (c["ops_s"], c["ratio"]))
                tf = row["portwatchd"].get("ratio_to_floor")
                print(cols % (wl, n, row["bare"]["ops_s"], *cells,
                              "-" if tf is None else "%.2fx" % tf))
        for k in SUBJECTS:
            print("  %s: %s" % (k, s["overhead_notes"][k]))
    if "protect" in s:
        p = s["protect"]
        print("\n1b. protect: bind churn on a protected port by its owner, %d rules enforced"
              % p["rules"])
        for wl in ("tcp_bind", "udp_bind"):
            print("   %-9s bare %8d ops/s  portwatchd plain %8d (%.2fx)  enforcing %8d (%.2fx)"
                  % (wl, p[wl]["bare"]["ops_s"], p[wl]["plain"]["ops_s"],
                     p[wl]["plain"]["ratio"], p[wl]["enforce"]["ops_s"],
                     p[wl]["enforce"]["ratio"]))
    if "loss" in s:
        l = s["loss"]
        print("\n2. loss: %s x%d for %d s: %d ops, %d events expected, %d seen, dropped %d, "
              "table exact: %s (%d sockets, kernel %d); daemon CPU %.2f s (%d ns/op)"
              % (l["workload"], l["procs"], l["seconds"], l["ops"], l["events_expected"],
                 l["events_seen"], l["dropped"], l["table_exact"], l["table_size"],
                 l["kernel_sockets"], l["daemon_cpu_s"], l["daemon_cpu_ns_per_op"]))
        if "rings" in l:
            print("   %d rings: %d records applied late, at most %d waiting for another ring"
                  % (l["rings"], l["merge_late"], l["merge_queued_max"]))
    if "scale" in s:
        c = s["scale"]
        print("\n3. scale: %d TCP + %d UDP sockets in %d processes; table %d"
              % (c["tcp_sockets"], c["udp_sockets"], c["processes"], c["table_size"]))
        print("   startup snapshot %.3f s  vs  ss -tanp + ss -uanp %.3f s  (%.1fx)"
              % (c["snapshot_s"], c["ss_s"], c["speedup_vs_ss"]))
        if "snapshot_cpu_s" in c:
            print("   snapshot CPU %.3f s" % c["snapshot_cpu_s"])
        print("   RSS %.1f MiB (peak %.1f during full owners dumps, %.1f VmHWM)  owners PORT "
              "p50 %.3f ms p99 %.3f ms  owners (all, %d bytes) %.3f s"
              % (c["rss_mib"], c.get("rss_dump_peak_mib", 0), c["rss_peak_mib"],
                 c["owners_port_p50_ms"], c["owners_port_p99_ms"], c["owners_all_bytes"],
                 c["owners_all_s"]))
    if "latency" in s:
        a = s["latency"]
        print("\n4. alert latency over %d hijack binds: p50 %.2f ms  p99 %.2f ms  max %.2f ms"
              % (a["alerts"], a["alert_p50_ms"], a["alert_p99_ms"], a["alert_max_ms"]))
        if "rings_behind" in a:
            print("   drains that left an event waiting for another CPU's ring: %d"
                  % a["rings_behind"])
    if "flood" in s:
        f = s["flood"]
        pl, mb = f["plan"], f["member"]
        print("\n5. control-socket flood by uid %d: %d x 16 `owners` then hang-up per wave, %d "
              "non-readers (%d `owners` each), %d idle; churn tcp_bind x2"
              % (pl["member_uid"], pl["hangup"], pl["nonread"], pl["nonread_requests"],
                 pl["idle"]))
        print("   %-6s %8s %7s %22s %28s" % ("", "churn/s", "dropped", "alert p50/p99 ms",
                                            "root stats p50/p99/max ms"))
        for phase in ("quiet", "flood"):
            q = f[phase]
            print("   %-6s %8d %7d %10s /%10s %8s /%8s /%8s%s"
                  % (phase, q["churn_ops_s"], q["dropped"], fmt(q["alert_p50_ms"]),
                     fmt(q["alert_p99_ms"]), fmt(q["stats_p50_ms"]), fmt(q["stats_p99_ms"]),
                     fmt(q["stats_max_ms"]),
                     "  (%d alerts missed, %d stats refused)"
                     % (q["alerts_missed"], q["stats_refused"])
                     if q["alerts_missed"] or q["stats_refused"] else ""))
        print("   RSS quiet %.1f MiB, peak %.1f MiB (VmHWM), after %.1f MiB; member: idle %d "
              "taken / %d refused, non-readers %d / %d, hung-up clients %d (%d refused)"
              % (f["rss_quiet_mib"], f["rss_peak_mib"], f["rss_after_mib"], mb["idle_open"],
                 mb["idle_refused"], mb["nonread_open"], mb["nonread_refused"],
                 mb.get("clients", 0), mb.get("refused", 0)))
        if f.get("control") is not None:
            print("   stats control: %s" % json.dumps(f["control"], sort_keys=True))
    if "idle" in s:
        i = s["idle"]
        print("\n6. idle: %.2f wake-ups/s over %.0f s (%d events of others meanwhile); "
              "an alert after it in %.2f ms" % (i["wakeups_per_s"], i["seconds"],
                                               i["events_during"], i["alert_after_idle_ms"]))
    if "nft" in s:
        t = s["nft"]
        print("\n7. nftables: %s x%d with portwatchd, ratio to bare %.3f with a %d-rule ruleset "
              "in the namespace, %.3f without; ruleset reads during the churn: %d"
              % (t["workload"], t["procs"], t["ratio"], t["rules"], t["ratio_plain"],
                 t["reads_during_churn"]))
    if "profile" in s and s["profile"].get("available", True):
        print("\nBPF cost per operation (bpf_stats, 1 process):")
        for wl in WORKLOADS:
            p = s["profile"][wl]
            print("  %-13s %6.0f ns/op: %s" % (wl, p["bpf_ns_per_op"], ", ".join(
                "%s %.0f ns x%.2g" % (k, v["ns_per_run"], v["runs_per_op"])
                for k, v in sorted(p["progs"].items(), key=lambda kv: -kv[1]["ns_per_op"]))))
    if all(k in s for k in ("overhead", "loss", "scale", "latency")):
        print("\ntargets (issue 13):")
        for what, key, test, goal in TARGETS:
            v = lookup(s, key, None)
            print(("  %-44s %-10s goal %-10s %-12s %s" % (
                what, v, goal, "not measured" if v is None else "met" if test(v) else "MISSED",
                floor_context(s, key))).rstrip())
    print()


def floor_context(s, key):
    """For a churn ratio of portwatchd: the same row's floor and minimal
    reporter ("" otherwise): what attaching and bare reporting leave."""
    if not (key.startswith("overhead.") and key.endswith(".portwatchd.ratio")):
        return ""
    row = lookup(s, key.rsplit(".", 2)[0], {})
    got = ["%s %.2fx" % (sub, row[sub]["ratio"]) for sub in ("floor", "minimal")
           if sub in row and row[sub].get("ratio") is not None]
    return "(%s)" % ", ".join(got) if got else ""


# ------------------------------------------------------------------ markdown

TARGETS = [  # (what, key, test, target text): issue 13's "done when", and earlier ones still held
    ("idle wake-ups per second", "idle.wakeups_per_s", lambda v: v <= 1, "<= 1"),
    ("alert latency p99", "latency.alert_p99_ms", lambda v: v <= 2, "<= 2 ms"),
    ("TCP bind churn, 1 process", "overhead.tcp_bind.1.portwatchd.ratio", lambda v: v >= 0.88,
     ">= 0.88x"),
    ("TCP bind churn, 2 processes", "overhead.tcp_bind.2.portwatchd.ratio", lambda v: v >= 0.85,
     ">= 0.85x"),
    ("plain connect churn, 1 process", "overhead.connect.1.portwatchd.ratio",
     lambda v: v >= 0.97, ">= 0.97x"),
    ("plain connect churn, 2 processes", "overhead.connect.2.portwatchd.ratio",
     lambda v: v >= 0.97, ">= 0.97x"),
    ("UDP bind churn, 1 process", "overhead.udp_bind.1.portwatchd.ratio", lambda v: v >= 0.88,
     ">= 0.88x"),
    ("UDP bind churn, 2 processes", "overhead.udp_bind.2.portwatchd.ratio", lambda v: v >= 0.88,
     ">= 0.88x"),
    ("dropped events, 2-process max churn, 10 s", "loss.dropped", lambda v: v == 0, "0"),
    ("table exact after it", "loss.table_exact", lambda v: v is True, "true"),
    ("startup snapshot, 110k sockets", "scale.snapshot_s", lambda v: v <= 0.3, "<= 0.3 s"),
    ("... faster than ss -tanp + ss -uanp", "scale.speedup_vs_ss", lambda v: v >= 8, ">= 8x"),
    ("daemon RSS, 110k sockets", "scale.rss_mib", lambda v: v <= 48, "<= 48 MiB"),
    ("daemon RSS peak during full owners dumps", "scale.rss_dump_peak_mib", lambda v: v <= 64,
     "<= 64 MiB"),
    ("owners PORT p99", "scale.owners_port_p99_ms", lambda v: v <= 1, "<= 1 ms"),
    ("flood: dropped events", "flood.dropped", lambda v: v == 0, "0"),
    ("flood: RSS < 128 MiB", "flood.rss_peak_mib", lambda v: v < 128, "< 128 MiB"),
]


def markdown(s):
    """The tables of docs/PERFORMANCE.md from a summary."""
    out = ["| workload | procs | bare ops/s | portwatchd | floor | minimal | bpftrace | auditd "
           "| portwatchd / floor |",
           "|---|---|---|---|---|---|---|---|---|"]
    for wl, rows in s["overhead"].items():
        for n, row in rows.items():
            cells = []
            for sub in SUBJECTS:
                c = row[sub]
                cells.append("-" if c.get("skipped") else
                             "unavailable: " + c["reason"] if c.get("available") is False else
                             "%d (**%.2f×**)" % (c["ops_s"], c["ratio"]))
            tf = row["portwatchd"].get("ratio_to_floor")
            out.append("| %s | %s | %d | %s | %s |" % (wl, n, row["bare"]["ops_s"],
                                                     " | ".join(cells),
                                                     "-" if tf is None else "%.2f×" % tf))
    l, c, a = s["loss"], s["scale"], s["latency"]
    if "protect" in s:
        p = s["protect"]
        out += ["", "Protect (mode enforce, %d rules; one worker binding a protected port as its "
                "owner by exe=): %s." % (p["rules"], "; ".join(
                    "%s bare %d ops/s, portwatchd plain **%.2f×**, enforcing **%.2f×**"
                    % (wl, p[wl]["bare"]["ops_s"], p[wl]["plain"]["ratio"],
                       p[wl]["enforce"]["ratio"]) for wl in ("tcp_bind", "udp_bind")))]
    out += ["",
            "Loss: %s × %d processes for %d s at %d ops/s: %d operations, %d events expected, "
            "%d seen, **%d dropped**, table exact afterwards: **%s** (%d sockets held in the "
            "namespace, %d in the kernel's listing); daemon CPU %d ns per operation."
            % (l["workload"], l["procs"], l["seconds"], l["ops_s"], l["ops"],
               l["events_expected"], l["events_seen"], l["dropped"],
               str(l["table_exact"]).lower(), l["table_size"], l["kernel_sockets"],
               l["daemon_cpu_ns_per_op"]),
            "",
            "Scale: %d TCP sockets (listeners and established loopback pairs) and %d UDP "
            "sockets in %d processes, %d of them held in the table (accepted children and "
            "ephemeral client ends are not held): startup snapshot **%.3f s** (rounds %s) vs "
            "`ss -tanp` + `ss -uanp` **%.3f s** (rounds %s): **%.1f×**; RSS **%.1f MiB** (peak "
            "%.1f during full `owners` dumps, VmHWM %.1f); `owners PORT` p50 %.3f ms, "
            "p99 **%.3f ms**; "
            "`owners` of everything (%.1f MB of JSON) **%.2f s**."
            % (c["tcp_sockets"], c["udp_sockets"], c["processes"], c["table_size"],
               c["snapshot_s"], c["snapshot_s_rounds"], c["ss_s"], c["ss_s_rounds"],
               c["speedup_vs_ss"], c["rss_mib"], c.get("rss_dump_peak_mib", 0), c["rss_peak_mib"],
               c["owners_port_p50_ms"],
               c["owners_port_p99_ms"], c["owners_all_bytes"] / 1e6, c["owners_all_s"]),
            "",
            "Alert latency, bind() return in the actor to the alert read from a `subscribe` "
            "stream, %d hijack binds (%s): p50 %.2f ms, p99 **%.2f ms**, max %.2f ms."
            % (a["alerts"], a["kind"], a["alert_p50_ms"], a["alert_p99_ms"], a["alert_max_ms"]),
            ""] + flood_markdown(s) + [
            "Idle: %s wake-ups/s over %s s with no socket activity; an alert after it in "
            "%s ms." % tuple(s.get("idle", {}).get(k, "-") for k in
                             ("wakeups_per_s", "seconds", "alert_after_idle_ms")),
            "", "TARGETS", "| target | key | figure | goal | met |", "|---|---|---|---|---|"]
    for what, key, test, goal in TARGETS:
        v = lookup(s, key, None)
        out.append("| %s | `%s` | %s | %s | %s |" % (what, key, v, goal, "not measured"
                                                     if v is None else
                                                     "yes" if test(v) else "**no**"))
    if "profile" in s and s["profile"].get("available", True):
        out += ["", "BPF", "| workload | BPF ns/op | programs (ns per run × runs per op) |",
                "|---|---|---|"]
        for wl in WORKLOADS:
            p = s["profile"][wl]
            out.append("| %s | %.0f | %s |" % (wl, p["bpf_ns_per_op"], ", ".join(
                "%s %.0f × %.2g" % (k, v["ns_per_run"], v["runs_per_op"])
                for k, v in sorted(p["progs"].items(), key=lambda kv: -kv[1]["ns_per_op"]))))
    return "\n".join(out)


def flood_markdown(s):
    """The flood paragraph of docs/PERFORMANCE.md ([] when not measured)."""
    if "flood" not in s:
        return []
    f = s["flood"]
    pl, q, fl, mb = f["plan"], f["quiet"], f["flood"], f["member"]
    return ["Control-socket flood by one member of the socket's group (waves of %d clients x 16 "
            "`owners` then hang-up, %d non-readers, %d idle connections) under tcp_bind x 2 "
            "churn: dropped **%d** (quiet %d); alert p99 **%s ms** (quiet %s ms); root `stats` "
            "p50/p99/max **%s / %s / %s ms** (quiet %s / %s / %s ms); RSS peak **%.1f MiB** "
            "(quiet %.1f MiB); the member got %d idle and %d non-reading connections, %d and %d "
            "refused."
            % (pl["hangup"], pl["nonread"], pl["idle"], fl["dropped"], q["dropped"],
               fmt(fl["alert_p99_ms"]), fmt(q["alert_p99_ms"]), fmt(fl["stats_p50_ms"]),
               fmt(fl["stats_p99_ms"]), fmt(fl["stats_max_ms"]), fmt(q["stats_p50_ms"]),
               fmt(q["stats_p99_ms"]), fmt(q["stats_max_ms"]), f["rss_peak_mib"],
               f["rss_quiet_mib"], mb["idle_open"], mb["nonread_open"], mb["idle_refused"],
               mb["nonread_refused"]), ""]


# ------------------------------------------------------------------ check

def required_keys():
    keys = ["machine.nproc", "machine.kernel", "loss.dropped", "loss.table_exact",
            "scale.snapshot_s", "scale.ss_s", "scale.rss_mib", "scale.owners_port_p99_ms",
            "scale.rss_dump_peak_mib", "scale.snapshot_cpu_s",
            "scale.owners_all_s", "latency.alert_p99_ms", "flood.dropped",
            "flood.quiet.dropped", "flood.rss_peak_mib", "flood.quiet.alert_p99_ms",
            "flood.flood.alert_p99_ms", "flood.quiet.stats_p99_ms", "flood.flood.stats_p99_ms",
            "idle.wakeups_per_s", "nft.ratio", "nft.ratio_plain", "nft.rules",
            "protect.tcp_bind_ratio", "protect.plain_tcp_bind_ratio",
            "protect.udp_bind_ratio", "protect.plain_udp_bind_ratio"]
    for wl in WORKLOADS:
        for n in PROCS:
            for sub in ("bare",) + SUBJECTS:
                keys.append("overhead.%s.%d.%s.%s" % (wl, n, sub,
                                                       "ops_s" if sub == "bare" else "ratio"))
            keys.append("overhead.%s.%d.portwatchd.ratio_to_floor" % (wl, n))
    return keys


_NO_DEFAULT = object()


def lookup(s, key, default=_NO_DEFAULT):
    for part in key.split("."):
        if not isinstance(s, dict) or part not in s:
            if default is not _NO_DEFAULT:
                return default
            raise KeyError(key)
        s = s[part]
    return s


def check(path):
    """Every key present and sane; returns a list of problems."""
    with open(path) as f:
        s = json.load(f)
    bad = []
    for k in required_keys():
        try:
            v = lookup(s, k)
        except KeyError:
            bad.append("missing " + k)
            continue
        if (k.startswith("protect.") and k.endswith("_ratio")) or k.endswith(".ratio_to_floor"):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= 2:
                bad.append("%s = %r, not in (0, 2]" % (k, v))
        elif k.endswith(".ratio"):
            cell = lookup(s, k.rsplit(".", 1)[0])
            if cell.get("available") is False:
                if not cell.get("reason"):
                    bad.append(k + ": unavailable without a reason")
            elif not isinstance(v, (int, float)) or not 0 < v <= 2:
                bad.append("%s = %r, not in (0, 2]" % (k, v))
        elif k == "loss.table_exact":
            if v is not True:
                bad.append("loss.table_exact = %r" % v)
        elif k.endswith(".dropped"):
            if not isinstance(v, int) or v < 0:
                bad.append("%s = %r" % (k, v))
        elif k == "scale.snapshot_cpu_s":  # whole ms: a tiny smoke table may take 0
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
                bad.append("scale.snapshot_cpu_s = %r" % v)
        elif k == "idle.wakeups_per_s":  # 0 is the goal
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
                bad.append("idle.wakeups_per_s = %r" % v)
        elif k == "machine.kernel":
            if not v:
                bad.append("machine.kernel empty")
        elif isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
            bad.append("%s = %r, not a positive number" % (k, v))
    return bad


# ------------------------------------------------------------------ main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, for make test")
    ap.add_argument("--out", default=None, help="output directory (default build/bench)")
    ap.add_argument("--only",
                    default="overhead,protect,loss,scale,latency,flood,profile,idle,nft")
    ap.add_argument("--check", metavar="FILE", help="check a summary.json and exit")
    ap.add_argument("--rounds", type=int, metavar="N",
                    help="alternated rounds of the churn sections (default %d; the ratios "
                         "are medians of per-round pairs, so more rounds narrow them on a "
                         "machine whose speed wanders)" % FULL["rounds"])
    ap.add_argument("--markdown", metavar="FILE",
                    help="print a summary.json's tables as docs/PERFORMANCE.md has them")
    a = ap.parse_args()
    if a.markdown:
        with open(a.markdown) as f:
            print(markdown(json.load(f)))
        return 0
    if a.check:
        bad = check(a.check)
        for b in bad:
            print("bench check: " + b, file=sys.stderr)
        print("bench check: %s: %s" % (a.check, "ok" if not bad else "%d problems" % len(bad)))
        return 1 if bad else 0
    if os.geteuid() != 0:
        print("bench/run.py: must run as root", file=sys.stderr)
        return 2
    cfg = dict(SMOKE if a.smoke else FULL)
    if a.rounds:
        cfg["rounds"] = a.rounds
    outdir = a.out or os.path.join(BUILD, "bench-smoke" if a.smoke else "bench")
    os.makedirs(outdir, exist_ok=True)
    only = set(a.only.split(","))
    workdir = tempfile.mkdtemp(prefix="pwbench-")
    env = Env(workdir)
    summary = {"machine": machine(), "config": dict(cfg, smoke=a.smoke)}
    t0 = time.monotonic()
    path = os.path.join(outdir, "summary.json")

    def save():
        summary["elapsed_s"] = round(time.monotonic() - t0, 1)
        with open(path, "w") as f:
            json.dump(summary, f, indent=1)
            f.write("\n")

    try:
        if "overhead" in only:
            subjects = [Subject(), PortwatchSubject(env), FloorSubject(env),
                        MinimalSubject(env), BpftraceSubject(env), AuditdSubject(env)]
            bench_overhead(env, cfg, subjects, summary)
            save()  # a later failure keeps what was measured
        if "protect" in only:
            bench_protect(env, cfg, summary)
            save()  # a later failure keeps what was measured
            log("protect done")
        if "loss" in only:
            bench_loss(env, cfg, summary)
            save()  # a later failure keeps what was measured
            log("loss done")
        if "scale" in only:
            bench_scale(env, cfg, summary)
            save()  # a later failure keeps what was measured
            log("scale done")
        if "latency" in only:
            bench_latency(env, cfg, summary)
            save()  # a later failure keeps what was measured
            log("latency done")
        if "flood" in only:
            bench_flood(env, cfg, summary)
            save()  # a later failure keeps what was measured
            log("flood done")
        if "profile" in only:
            bench_profile(env, cfg, summary)
            save()  # a later failure keeps what was measured
        if "idle" in only:
            bench_idle(env, cfg, summary)
            save()
            log("idle done")
        if "nft" in only:
            bench_nft(env, cfg, summary)
            save()
            log("nft done")
    finally:
        env.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
    summary["machine"]["loadavg_end"] = os.getloadavg()[0]
    summary["machine"]["other_portwatchd_at_end"] = len(
        run(["pgrep", "portwatchd"], check=False).stdout.split())
    save()
    print_table(summary)
    print("summary: %s (%.0f s)" % (path, summary["elapsed_s"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
