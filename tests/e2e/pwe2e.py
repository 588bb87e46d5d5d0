"""Helpers of the end-to-end tests: the daemon, its control socket, actors,
rsyslog, ports and waits. The fixtures that use them are in conftest.py."""
import contextlib
import errno
import json
import os
import random
import secrets
import select
import signal
import socket
import stat
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
# PW_BUILD: another build's binaries (make test-sanitize: build/sanitize)
BUILD = os.environ.get("PW_BUILD") or os.path.join(ROOT, "build")
PORTWATCHD = os.path.join(BUILD, "portwatchd")
PORTWATCHCTL = os.path.join(BUILD, "portwatchctl")
ACTOR = os.path.join(HERE, "actor.py")
PYTHON = "/usr/bin/python3"
RSYSLOGD = "/usr/sbin/rsyslogd"
DEVLOG = "/dev/log"

READY_TIMEOUT = 20.0  # daemon start: BPF load + first snapshot
WAIT = 5.0            # default bound of every wait on the daemon
STOP_TIMEOUT = 10.0

# Field names of the contract (DESIGN.md "JSON objects"): add, never rename.
SOCKET_KEYS = {"netns", "proto", "family", "addr", "port", "state", "reuseaddr", "reuseport",
               "v6only", "inode", "pid", "comm", "exe", "uid", "unit", "since"}
ALERT_KEYS = {"id", "time", "severity", "kind", "reason", "netns", "proto", "addr", "port",
              "result", "holder", "contender", "message"}
CONFLICT_KEYS = {"time", "op", "errno", "pid", "comm", "uid", "netns", "proto", "addr", "port",
                 "reuseaddr", "reuseport", "holders", "rule", "explanation"}


# --------------------------------------------------------------------------- helpers

# RFC 3339 UTC with microseconds: 2026-11-23T13:08:38.123456Z
TIME_RE = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$"


def wait_until(fn, timeout=WAIT, interval=0.05, what="condition"):
    """Call fn until it returns something true; return that, or fail after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1f s waiting for %s" % (timeout, what))
        time.sleep(interval)


def own_netns():
    return os.stat("/proc/self/ns/net").st_ino


@contextlib.contextmanager
def netns_script(name, body, nofile=None):
    """Run the Python statements of body in network namespace name (ip netns
    exec) for the duration of the with block: they set things up, then the
    script prints "ready" and waits for its stdin to close. nofile raises
    RLIMIT_NOFILE first (for scripts that hold thousands of sockets).
    Yields the Popen; at the end the process is killed by pid and reaped."""
    script = "import resource, socket, sys\n"
    if nofile:
        script += "resource.setrlimit(resource.RLIMIT_NOFILE, (%d, %d))\n" % (nofile, nofile)
    script += body + '\nprint("ready", flush=True)\nsys.stdin.read()\n'
    p = subprocess.Popen(["ip", "netns", "exec", name, sys.executable, "-c", script],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline().strip()
        assert line == "ready", "the script in netns %s did not start: %r" % (name, line)
        yield p
    finally:
        p.kill()
        p.wait(timeout=10)


def netns_inode(name):
    """Inode of /run/netns/NAME, as `stat -L -c %i` prints it."""
    out = subprocess.run(["stat", "-L", "-c", "%i", "/run/netns/" + name], check=True,
                         capture_output=True, text=True, timeout=5).stdout
    return int(out.strip())


_used_ports = set()


def _ports_in_use():
    used = set()
    for f in ("tcp", "tcp6", "udp", "udp6"):
        try:
            with open("/proc/net/" + f) as fh:
                next(fh)
                for line in fh:
                    used.add(int(line.split()[1].rsplit(":", 1)[1], 16))
        except OSError:
            pass
    return used


def free_port():
    """A port no TCP/UDP socket of this namespace uses, outside the ephemeral
    range (so the kernel does not hand it to someone's connect meanwhile).
    Found from /proc/net/* rather than by a probe bind, so that choosing a port
    creates no bind event the daemon would see."""
    used = _ports_in_use() | _used_ports
    lo, hi = 20000, 31999
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as fh:
            elo, ehi = map(int, fh.read().split())
        if elo <= hi and ehi >= lo:
            lo, hi = 10000, max(10001, elo - 1)
    except (OSError, ValueError):
        pass
    for _ in range(1000):
        port = random.randint(lo, hi)
        if port not in used:
            _used_ports.add(port)
            return port
    raise RuntimeError("no free port found")


def tcp_state(port, state_hex="06"):
    """Local-port matches of /proc/net/tcp{,6} in a TCP state (06: TIME_WAIT)."""
    found = []
    for f in ("tcp", "tcp6"):
        with open("/proc/net/" + f) as fh:
            next(fh)
            for line in fh:
                cols = line.split()
                if int(cols[1].rsplit(":", 1)[1], 16) == port and cols[3] == state_hex:
                    found.append(line.strip())
    return found


# --------------------------------------------------------------------------- cgroups

def cgroup2_mount():
    """Where the cgroup v2 hierarchy is mounted (/sys/fs/cgroup/unified on a
    hybrid host, /sys/fs/cgroup on a unified one), or None."""
    with open("/proc/self/mounts") as fh:
        for line in fh:
            fields = line.split()
            if len(fields) >= 3 and fields[2] == "cgroup2":
                return fields[1]
    return None


def ctl_run(daemon, *args, timeout=30):
    """build/portwatchctl --socket (daemon's) ARGS, stdin closed: the CompletedProcess."""
    return subprocess.run([PORTWATCHCTL, "--socket", daemon.socket_path, *args],
                          capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def ctl_check(daemon, *args):
    """portwatchctl --json check ARGS: (exit status, prediction), the status
    0 or 1 and agreeing with the prediction's ok."""
    r = ctl_run(daemon, "--json", "check", *args)
    assert r.returncode in (0, 1) and r.stdout.strip(), (args, r.returncode, r.stdout, r.stderr)
    p = json.loads(r.stdout)
    assert p["ok"] is (r.returncode == 0), p
    return r.returncode, p


def remove_cgroups(root, paths):
    """Remove cgroup directories (deepest last in paths), each once its
    processes are gone; any still there after 5 s are moved back to the
    root cgroup and reported. Returns the problems, as strings."""
    problems = []
    for path in paths:
        procs = os.path.join(path, "cgroup.procs")
        deadline = time.monotonic() + 5
        while True:
            with open(procs) as fh:
                left = fh.read().split()
            if not left or time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        for pid in left:  # still there after 5 s: back to the root, by pid
            problems.append("pid %s still in %s at teardown" % (pid, path))
            try:
                with open(os.path.join(root, "cgroup.procs"), "w") as fh:
                    fh.write(pid)
            except OSError:
                pass
        try:
            os.rmdir(path)
        except OSError as e:
            problems.append("cannot remove %s: %s" % (path, e))
    return problems


def enter_cgroup(path, pid):
    with open(os.path.join(path, "cgroup.procs"), "w") as fh:
        fh.write(str(pid))


def expected_unit(pid):
    """The unit /proc/PID/cgroup names, as DESIGN.md defines `unit`: the last
    component of the cgroup v2 path ("0::") with a systemd unit suffix, else
    of the v1 name=systemd path; None when neither has one."""
    suffixes = (".service", ".scope", ".socket", ".mount")

    def unit_of(path):
        found = [c for c in path.split("/") if c.endswith(suffixes) and
                 c not in suffixes]
        return found[-1] if found else None
    v2 = v1 = None
    with open("/proc/%d/cgroup" % pid) as fh:
        for line in fh:
            hid, controllers, path = line.rstrip("\n").split(":", 2)
            if hid == "0" and controllers == "":
                v2 = unit_of(path)
            elif controllers == "name=systemd":
                v1 = unit_of(path)
    return v2 or v1


# --------------------------------------------------------------------------- control client

class Conn:
    """One connection to the control socket: JSON lines both ways."""

    def __init__(self, path, timeout=WAIT):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, obj):
        self.send_raw((json.dumps(obj) + "\n").encode())

    def recv_line(self, timeout=WAIT):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no response line within %.1f s" % timeout)
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                raise AssertionError("daemon closed the connection (partial: %r)" % self.buf[:200])
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def recv(self, timeout=WAIT):
        line = self.recv_line(timeout)
        try:
            return json.loads(line)
        except ValueError:
            raise AssertionError("response is not JSON: %r" % line[:500])

    def request(self, obj, timeout=WAIT):
        self.send(obj)
        return self.recv(timeout)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --------------------------------------------------------------------------- daemon

class Daemon:
    """build/portwatchd --foreground, always with a configuration file of the
    test's own (`config` text, empty by default) so that a host's
    /etc/portwatch/portwatch.conf never leaks in. base_args=False leaves out
    --socket and --log-level so that the file decides them (socket_path then
    names where the test expects the socket). wrap: argv prefix (e.g.
    systemd-socket-activate, setpriv) that must exec the daemon in place."""

    def __init__(self, workdir, extra_args=(), devlog_source=None, config="", env=None,
                 wrap=(), base_args=True, socket_path=None):
        self.workdir = workdir
        self.socket_path = socket_path or os.path.join(workdir, "pw.sock")
        self.stderr = os.path.join(workdir, "portwatchd.log")
        self.config_path = os.path.join(workdir, "portwatch.conf")
        self.keeps_socket = False  # socket activation: the file is systemd's, not ours
        with open(self.config_path, "w") as fh:
            fh.write(config)
        base = ["--socket", self.socket_path, "--log-level", "debug"] if base_args else []
        if "owners_dir" not in config:
            # the expected owners of ports (issue 19) stay with this daemon, not
            # in the host's /var/lib/portwatch where other runs would meet them
            # and which a test must not leave behind (base_args or not)
            base += ["--owners-dir", os.path.join(workdir, "owners")]
        self.argv = [*wrap, PORTWATCHD, "--foreground", "--config", self.config_path, *base,
                     *extra_args]
        argv = self.argv
        if devlog_source:
            # /dev/log belongs to someone else: give the daemon a private mount
            # namespace where our rsyslog's socket is bind-mounted over /dev/log.
            # unshare and sh exec, so the pid we hold is the daemon's.
            argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                    'mount --bind "$0" /dev/log && exec "$@"', devlog_source, *argv]
        self.log_fh = open(self.stderr, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log_fh,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     env=env)
        self.pid = self.proc.pid
        self.stopped = False
        self.returncode = None
        self.sentinels = []  # actors of sync(), kept until the daemon stops

    # ---- start / stop

    def wait_ready(self, timeout=READY_TIMEOUT):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("portwatchd exited with %s before it was ready:\n%s"
                                     % (self.proc.returncode, self.log_tail()))
            if os.path.exists(self.socket_path):
                try:
                    resp = self.request({"cmd": "stats"}, timeout=2)
                    if resp.get("ok") is True:
                        return self
                    last = resp
                except (OSError, AssertionError) as e:
                    last = e
            time.sleep(0.05)
        raise AssertionError("portwatchd not ready within %.0f s (last: %r):\n%s"
                             % (timeout, last, self.log_tail()))

    def running(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """Signal our daemon by its pid and wait; SIGKILL it (only it) if stuck.
        Returns the exit code; raises when it had to be killed."""
        if self.stopped:
            return self.returncode
        self.stopped = True
        stuck = False
        if self.proc.poll() is None:
            os.kill(self.pid, sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                stuck = True
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.returncode = self.proc.returncode
        self.log_fh.close()
        for a in self.sentinels:
            a.stop()
        if stuck:
            raise AssertionError("portwatchd did not exit within %.0f s of signal %d:\n%s"
                                 % (timeout, sig, self.log_tail()))
        return self.returncode

    def log(self):
        with open(self.stderr, "rb") as fh:
            return fh.read().decode("utf-8", "replace")

    def log_tail(self, n=40):
        try:
            return "\n".join(self.log().splitlines()[-n:])
        except OSError:
            return "(no log)"

    # ---- requests

    def connect(self, timeout=WAIT):
        return Conn(self.socket_path, timeout)

    def request(self, obj, timeout=WAIT):
        with Conn(self.socket_path, timeout) as c:
            return c.request(obj, timeout)

    def ok(self, obj, timeout=WAIT):
        resp = self.request(obj, timeout)
        assert resp.get("ok") is True, "request %r failed: %r" % (obj, resp)
        assert resp.get("version") == 1, resp
        return resp

    def owners(self, **filters):
        return self.ok(dict(cmd="owners", **filters))["sockets"]

    def alerts(self, **args):
        # the whole history (1024 by default), not the last 100: another
        # program's binds on this host must not push the test's alert out
        args.setdefault("limit", 1024)
        return self.ok(dict(cmd="alerts", **args))["alerts"]

    def conflicts(self, **args):
        args.setdefault("limit", 1024)
        return self.ok(dict(cmd="conflicts", **args))["conflicts"]

    def stats(self):
        return self.ok({"cmd": "stats"})["stats"]

    def _wait_in(self, getter, pred, timeout, what):
        seen = []

        def probe():
            items = getter()
            seen[:] = items
            for item in items:
                if pred(item):
                    return item
            return None
        try:
            return wait_until(probe, timeout, interval=0.02, what=what)
        except AssertionError as e:
            raise AssertionError("%s; last seen: %s" % (e, json.dumps(seen)[:3000]))

    def wait_alert(self, pred, timeout=WAIT):
        return self._wait_in(self.alerts, pred, timeout, "an alert")

    def wait_conflict(self, pred, timeout=WAIT):
        return self._wait_in(self.conflicts, pred, timeout, "a conflict")

    def wait_owner(self, pred, timeout=WAIT, **filters):
        return self._wait_in(lambda: self.owners(**filters), pred, timeout, "a socket in owners")

    def wait_inode(self, inode, timeout=WAIT, **filters):
        return self.wait_owner(lambda s: s["inode"] == inode, timeout, **filters)

    def wait_gone(self, inodes, timeout=WAIT, **filters):
        inodes = set(inodes)
        return wait_until(lambda: not any(s["inode"] in inodes for s in self.owners(**filters)),
                          timeout, interval=0.05, what="inodes %s to leave owners" % sorted(inodes))

    def sync(self, timeout=WAIT):
        """A barrier instead of a sleep: a fresh actor binds a sentinel UDP
        socket on another port and we wait until `owners` lists it. The ring
        buffer is one queue consumed in order, so every event of a syscall
        that returned before this call has been handled once the sentinel is
        listed. The sentinel actor lives until the daemon stops, so that its
        release never adds to the counters a test looks at."""
        sentinel_port = free_port()
        a = Actor()
        self.sentinels.append(a)
        r = a.bound("sentinel", "127.0.0.1", sentinel_port, type="udp")
        self.wait_inode(r["inode"], timeout, port=sentinel_port, pid=a.pid)

    def assert_no_alert(self, port):
        """No alert about port, once every event before this call is handled."""
        self.sync()
        found = self.alerts_on_port(port)
        assert not found, "unexpected alerts on port %d: %s" % (port, json.dumps(found))

    def alerts_of(self, port, reason):
        return [a for a in self.alerts_on_port(port) if a["reason"] == reason]

    def path_counters(self):
        """What says whether the table learnt something from events or from a
        reconciliation (protocol.md `stats`)."""
        s = self.stats()
        return {"reconciliations": s["reconciliations"],
                "reconcile_added": s["reconcile_added"],
                "reconcile_removed": s["reconcile_removed"],
                "release": s["events"]["release"], "sockopt": s["events"]["sockopt"]}

    def assert_by_events(self, before, release=0, sockopt=0):
        """Since `before` (path_counters()), no reconciliation added or removed
        anything, and at least `release` release and `sockopt` sockopt events
        were handled: the table followed the event path."""
        now = self.path_counters()
        for k in ("reconcile_added", "reconcile_removed"):
            assert now[k] == before[k], "%s went from %d to %d: a reconciliation did the " \
                "work of the events" % (k, before[k], now[k])
        for k, n in (("release", release), ("sockopt", sockopt)):
            assert now[k] >= before[k] + n, "events.%s went from %d to %d, expected +%d" % (
                k, before[k], now[k], n)
        return now

    def alerts_on_port(self, port):
        return [a for a in self.alerts() if a.get("port") == port]

    def conflicts_on_port(self, port):
        return [c for c in self.conflicts() if c.get("port") == port]


# --------------------------------------------------------------------------- actors

class Actor:
    """An actor.py process; see that file for the operations."""

    def __init__(self, uid=None, gid=None, netns=None, exe=None, ops=(), timeout=10,
                 caps=None):
        """caps: ambient capabilities to keep as uid, e.g. "+net_bind_service":
        setpriv(1) drops to uid and gid (no groups) and raises them before
        the actor starts, so its effective set has them (capabilities(7))."""
        argv = [exe or PYTHON, ACTOR, "--ops", json.dumps(list(ops))]
        if caps is not None:
            assert uid, "caps are for an actor of another uid than root"
            # uid runs the interpreter itself: give it the script's text, since
            # the checkout may sit below a directory only root can enter (mktemp -d)
            with open(ACTOR) as fh:
                argv = [exe or PYTHON, "-c", fh.read(), "--ops", json.dumps(list(ops))]
            argv = ["setpriv", "--reuid", str(uid), "--regid", str(gid if gid is not None else uid),
                    "--clear-groups", "--inh-caps", caps, "--ambient-caps", caps] + argv
        else:
            if uid is not None:
                argv += ["--uid", str(uid)]
            if gid is not None:
                argv += ["--gid", str(gid)]
        if netns:
            argv = ["ip", "netns", "exec", netns] + argv
        self.uid = uid if uid is not None else 0
        self.caps = caps
        self.netns_name = netns
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     bufsize=0, start_new_session=True)
        self.buf = b""
        try:
            self.start_results = [self._read(timeout) for _ in ops]
            ready = self._read(timeout)
            assert ready.get("op") == "ready", ready
        except BaseException:
            self.kill()
            raise
        self.pid = ready["pid"]
        self.exe = ready["exe"]
        self.netns = ready["netns"]
        assert self.pid == self.proc.pid, "actor pid %d is not the process started (%d)" % (
            self.pid, self.proc.pid)

    def _read(self, timeout=10):
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("actor %d: no result within %.0f s" % (self.proc.pid, timeout))
            r, _, _ = select.select([fd], [], [], left)
            if r:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise AssertionError("actor %d exited (rc %s)" % (self.proc.pid, self.proc.poll()))
                self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def do(self, timeout=10, **op):
        self.proc.stdin.write((json.dumps(op) + "\n").encode())
        return self._read(timeout)

    # ---- conveniences; each returns the actor's result for the last step

    def socket(self, name, family="inet", type="tcp", reuseaddr=False, reuseport=False,
               v6only=None):
        res = self.do(op="socket", name=name, family=family, type=type)
        assert res["ok"], res
        for opt, on in (("reuseaddr", reuseaddr), ("reuseport", reuseport)):
            if on:
                res = self.do(op="setsockopt", name=name, opt=opt, value=1)
                assert res["ok"], res
        if v6only is not None:
            res = self.do(op="setsockopt", name=name, opt="v6only", value=int(v6only))
            assert res["ok"], res
        return res

    def setsockopt(self, name, opt, value=1):
        return self.do(op="setsockopt", name=name, opt=opt, value=value)

    def bind(self, name, addr, port):
        return self.do(op="bind", name=name, addr=addr, port=port)

    def listen(self, name, backlog=16):
        return self.do(op="listen", name=name, backlog=backlog)

    def connect(self, name, addr, port):
        return self.do(op="connect", name=name, addr=addr, port=port)

    def accept(self, name, as_):
        return self.do(op="accept", name=name, **{"as": as_})

    def close(self, name):
        return self.do(op="close", name=name)

    def info(self, name):
        return self.do(op="info", name=name)

    def bound(self, name, addr, port, family=None, type="tcp", listen=False, **flags):
        """socket + options + bind (+ listen), asserting success; the bind result."""
        family = family or ("inet6" if ":" in addr else "inet")
        self.socket(name, family, type, **flags)
        res = self.bind(name, addr, port)
        assert res["ok"], res
        if listen:
            lres = self.listen(name)
            assert lres["ok"], lres
        return res

    # ---- ending

    def exit_now(self, timeout=5):
        """The process exits without closing anything first (like a crash)."""
        self.proc.stdin.write(b'{"op": "exit"}\n')
        self.proc.wait(timeout)

    def kill(self, sig=signal.SIGKILL, wait=True):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            if wait:
                self.proc.wait(5)

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.kill(signal.SIGTERM, wait=False)
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    self.kill(signal.SIGKILL)
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass


# --------------------------------------------------------------------------- rsyslog

class Rsyslog:
    def __init__(self, workdir):
        self.workdir = workdir
        self.messages = os.path.join(workdir, "messages")
        self.conf = os.path.join(workdir, "rsyslog.conf")
        self.pidfile = os.path.join(workdir, "rsyslogd.pid")
        spool = os.path.join(workdir, "spool")
        os.mkdir(spool)
        state = devlog_state()
        if state == "stale":
            os.unlink(DEVLOG)  # a socket file nobody listens on: take it over
            state = "absent"
        self.owns_devlog = state == "absent"
        if self.owns_devlog:
            self.socket_path = DEVLOG
            self.bind_source = None
            inputs = ('module(load="imuxsock" SysSock.Use="on" SysSock.Name="%s" '
                      'SysSock.RateLimit.Interval="0")\n' % DEVLOG)
        else:
            # /dev/log is someone else's: listen on our own socket, which the
            # daemon gets bind-mounted over /dev/log in a private mount namespace.
            self.socket_path = os.path.join(workdir, "log.sock")
            self.bind_source = self.socket_path
            inputs = ('module(load="imuxsock" SysSock.Use="off")\n'
                      'input(type="imuxsock" Socket="%s" RateLimit.Interval="0")\n'
                      % self.socket_path)
        # %msg% of a BSD-format record starts with the space after "tag:";
        # sp-if-no-1st-sp + drop-last-lf give exactly "programname[pid]: message".
        # The pid tells our daemon's records from those of any other
        # portwatchd on this host, which log to the same /dev/log.
        with open(self.conf, "w") as fh:
            fh.write('global(workDirectory="%s")\n' % spool)
            fh.write(inputs)
            fh.write('template(name="pwt" type="string" string="%syslogfacility-text%.'
                     '%syslogseverity-text% %programname%[%procid%]:%msg:::sp-if-no-1st-sp%'
                     '%msg:::drop-last-lf%\\n")\n')
            fh.write('*.* action(type="omfile" file="%s" template="pwt")\n' % self.messages)
        self.proc = subprocess.Popen([RSYSLOGD, "-n", "-f", self.conf, "-i", self.pidfile],
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def devlog_source(self):
        """What a daemon must see as /dev/log: None when /dev/log reaches our
        rsyslogd as it is, else the socket to bind-mount over it. Another
        tester's rsyslogd may have removed /dev/log since we started (its
        teardown unlinks it): then /dev/log becomes a symlink to our socket,
        removed again by stop() if it is still ours."""
        if self.bind_source is None:
            return None
        state = devlog_state()
        if state == "in_use" and not self._our_link():
            return self.bind_source
        if state == "stale":
            try:
                os.unlink(DEVLOG)
            except FileNotFoundError:
                pass
        if not self._our_link():
            try:
                os.symlink(self.socket_path, DEVLOG)
            except FileExistsError:
                return self.bind_source  # someone else's came back meanwhile
        return None

    def _our_link(self):
        try:
            return os.readlink(DEVLOG) == self.socket_path
        except OSError:
            return False

    def _send_probe(self, token):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            s.connect(self.socket_path)
            s.send(("<30>pwt-probe: %s" % token).encode())
        except OSError:
            pass
        finally:
            s.close()

    def _wait_ready(self):
        token = "pwt-probe-" + secrets.token_hex(4)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("rsyslogd exited with %s" % self.proc.returncode)
            if os.path.exists(self.socket_path):
                self._send_probe(token)
                if any(token in line for line in self.lines()):
                    return
            time.sleep(0.1)
        raise AssertionError("rsyslogd not ready within 10 s")

    def sync(self, timeout=WAIT):
        """A barrier: a record of ours, sent to the socket the daemon logs to,
        is in the file, so every record sent before it is too (one socket,
        read in order)."""
        token = "pwt-sync-" + secrets.token_hex(4)
        self._send_probe(token)
        wait_until(lambda: any(token in line for line in self.lines()), timeout,
                   interval=0.02, what="our sync record in the syslog file")

    def lines(self):
        try:
            with open(self.messages, "rb") as fh:
                return fh.read().decode("utf-8", "replace").splitlines()
        except FileNotFoundError:
            return []

    def lines_of(self, daemon):
        """The records of one daemon: from its start on, tagged with its pid."""
        tag = " portwatchd[%d]:" % daemon.pid
        return [line for line in self.lines()[daemon.syslog_start:] if tag in line]

    def wait_line(self, pred, timeout=WAIT, start=0, daemon=None):
        """The first line from line number `start` on that satisfies pred;
        with `daemon`, only among that daemon's records (see lines_of)."""
        def probe():
            lines = self.lines_of(daemon) if daemon else self.lines()[start:]
            return next((line for line in lines if pred(line)), None)
        return wait_until(probe, timeout, interval=0.02, what="a syslog line")

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        if self.owns_devlog:
            try:
                if stat.S_ISSOCK(os.lstat(DEVLOG).st_mode) and devlog_state() != "in_use":
                    os.unlink(DEVLOG)
            except FileNotFoundError:
                pass
        elif self._our_link():
            os.unlink(DEVLOG)


def devlog_state():
    """'absent', 'stale' (a socket nobody listens on) or 'in_use'."""
    try:
        st = os.lstat(DEVLOG)
    except FileNotFoundError:
        return "absent"
    if not stat.S_ISSOCK(st.st_mode):
        return "in_use"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        s.connect(DEVLOG)
        return "in_use"
    except ConnectionRefusedError:
        return "stale"
    except OSError as e:
        return "stale" if e.errno == errno.ENOENT else "in_use"
    finally:
        s.close()


def sanitized(pid):
    """True when the daemon pid runs with AddressSanitizer (make
    test-sanitize), whose quarantine (256 MiB) keeps freed memory resident:
    its RSS says nothing about leaks or bounds, which the plain run checks."""
    with open("/proc/%d/maps" % pid) as fh:
        return "libasan" in fh.read()
