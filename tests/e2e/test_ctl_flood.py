"""Issue 17: no control client, nor a crowd of them, makes the monitor deaf.

The flood of the issue's "Done when", from members of the control socket's
group (real uids, real connections, flood.py): 200 clients that each send 16
`owners` requests and hang up at once (in waves, for as long as the test
looks), 100 clients that ask for `owners` and never read, 1,100 idle
connections. While it runs, with a modest bind churn on the host:
  - a hijack bind (uid A holds UDP 0.0.0.0:P with SO_REUSEADDR, uid B binds
    127.0.0.1:P: shadow_wildcard) reaches a root subscriber opened before
    the flood, within ALERT_DEADLINE, and is in `alerts`;
  - root's `stats`, over a new connection (portwatchctl's way) and by
    portwatchctl itself, answers within STATS_DEADLINE each time;
  - the daemon's VmHWM (peak RSS over its whole life) stays under 128 MiB
    (not asserted on a sanitizer build, whose shadow memory is not the
    daemon's);
  - no event is dropped (`stats` "dropped" does not move), and every event
    of the churn is either seen or counted dropped;
  - the per-uid limit (max_clients_per_uid, default 64) and the global
    output budget (64 MiB) hold: a member never has more than 64
    connections, the rest are refused (the client reads EOF or ECONNRESET)
    and counted in `stats` control.
The daemon side is specified in issue 17 ("What" 2); names inside `stats`
"control" are matched loosely (a key containing "refused", "drop", "idle")
where only the name may still change.

Also here: root's 16 reserved slots when non-root uids hold every other one;
the idle timeout; duplicate keys in a request.
"""
import json
import os
import select
import signal
import socket
import struct
import subprocess
import threading
import time

import pytest

from pwe2e import HERE, PORTWATCHCTL, PYTHON, sanitized, wait_until

FLOOD = os.path.join(HERE, "flood.py")

MAX_CLIENTS = 1024          # the daemon's cap on control clients
ROOT_SLOTS = 16             # of those, kept for uid 0
PER_UID = 64                # max_clients_per_uid, default
OUTPUT_BUDGET = 64 << 20    # queued output over all clients
RSS_LIMIT_KIB = 128 << 10   # the bound
RSS_ABORT_KIB = 1 << 20     # the flood is killed past this: protects the host, fails the test
# Liveness bounds, not latency targets (those are bench/run.py's flood figures, measured
# beside quiet ones): generous enough for the ASan build of make test-sanitize.
ALERT_DEADLINE = 20.0       # bind() return -> alert read by the subscriber
STATS_DEADLINE = 20.0       # root's stats, connect to answer
CHURN_OPS_S = 2000          # TCP bind+listen+close per second (3 events each)
NONREAD_BYTES = 4 << 20     # answers each non-reader asks for and never reads
TABLE = 300                 # sockets held, so that an `owners` answer weighs something

NO_FOLD = "[alerts]\nfold_window = 0\n"


# ----------------------------------------------------------------- helpers

@pytest.fixture
def group():
    """A fresh system group (groupadd), deleted at teardown: (name, gid)."""
    import grp
    import secrets
    name = "pwt" + secrets.token_hex(3)
    subprocess.run(["groupadd", "--system", name], check=True, timeout=10)
    try:
        yield name, grp.getgrnam(name).gr_gid
    finally:
        subprocess.run(["groupdel", name], timeout=10)


def member_config(group_name, extra=""):
    return "[control]\nmode = 0660\ngroup = %s\n%s%s" % (group_name, extra, NO_FOLD)


class Flooder:
    """flood.py as one uid (see that file); stopped by its pid."""

    def __init__(self, sock, uid, gid, **counts):
        argv = [PYTHON, FLOOD, "--socket", sock, "--uid", str(uid), "--gid", str(uid),
                "--groups", str(gid)]
        for k, v in counts.items():
            argv += ["--" + k.replace("_", "-"), str(v)]
        self.uid = uid
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     bufsize=0, start_new_session=True)
        self.buf = b""

    def read(self, timeout=30):
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("flood.py uid %d: nothing within %.0f s" % (self.uid, timeout))
            r, _, _ = select.select([fd], [], [], left)
            if r:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise AssertionError("flood.py uid %d exited (rc %s)"
                                         % (self.uid, self.proc.poll()))
                self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def say(self, cmd):
        self.proc.stdin.write(cmd.encode() + b"\n")

    def kill(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
                self.proc.wait(5)
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass


@pytest.fixture
def flooders(daemon_factory):
    """spawn(sock, uid, gid, **counts) -> a Flooder; every one is stopped at
    teardown, before the daemon (this fixture depends on daemon_factory)."""
    started = []

    def spawn(*args, **kw):
        f = Flooder(*args, **kw)
        started.append(f)
        return f

    yield spawn
    for f in started:
        f.stop()


def status_kib(pid, field):
    with open("/proc/%d/status" % pid) as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0



class RssWatch(threading.Thread):
    """Samples the daemon's VmRSS every 20 ms; past RSS_ABORT_KIB it kills
    the flooders (by pid) so that a daemon without the output budget cannot
    take the host's memory: the test then fails on the figure."""

    def __init__(self, pid, flooders):
        super().__init__(daemon=True)
        self.pid, self.flooders = pid, flooders
        self.peak_kib = 0
        self.tripped = False
        self.done = threading.Event()
        self.abort_kib = RSS_ABORT_KIB * (4 if sanitized(pid) else 1)

    def run(self):
        while not self.done.wait(0.02):
            try:
                rss = status_kib(self.pid, "VmRSS")
            except OSError:
                return
            self.peak_kib = max(self.peak_kib, rss)
            if rss > self.abort_kib and not self.tripped:
                self.tripped = True
                for f in self.flooders:
                    f.kill()

    def stop(self):
        self.done.set()
        self.join(5)


class Churn(threading.Thread):
    """Root's modest churn: TCP socket + SO_REUSEADDR + bind(127.0.0.1:0) +
    listen + close, CHURN_OPS_S a second (3 events each: bind, listen,
    release)."""

    def __init__(self, rate=CHURN_OPS_S):
        super().__init__(daemon=True)
        self.rate, self.ops = rate, 0
        self.done = threading.Event()

    def run(self):
        t0 = time.monotonic()
        while not self.done.is_set():
            for _ in range(20):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", 0))
                s.listen(1)
                s.close()
                self.ops += 1
            ahead = self.ops / self.rate - (time.monotonic() - t0)
            if ahead > 0:
                self.done.wait(ahead)

    def stop(self):
        self.done.set()
        self.join(5)


def control(stats):
    c = stats.get("control")
    assert isinstance(c, dict), "stats has no \"control\" object (issue 17): keys %s" % sorted(stats)
    return c


def counter(ctl, word):
    """The one counter of stats' control object whose name contains word."""
    keys = [k for k in ctl if word in k and k != "clients"]
    assert len(keys) == 1, "stats control: no single counter named like %r in %s" % (word, ctl)
    return ctl[keys[0]]


def root_stats(daemon, timeout=10):
    """root's stats over a new connection, as portwatchctl asks: (seconds,
    stats). A blocking connect (SO_SNDTIMEO): a full listen backlog makes
    it wait, as it makes portwatchctl wait, instead of failing at once."""
    t = time.monotonic()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", int(timeout), 0))
        s.connect(daemon.socket_path)
        s.settimeout(timeout)
        s.sendall(b'{"cmd":"stats"}\n')
        buf = b""
        while b"\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                raise AssertionError("root's stats: the daemon closed the connection "
                                     "(root refused?)")
            buf += chunk
    except OSError as e:
        raise AssertionError("root's stats: %s (root locked out?)" % e) from None
    finally:
        s.close()
    resp = json.loads(buf.split(b"\n", 1)[0])
    assert resp.get("ok") is True, resp
    return time.monotonic() - t, resp["stats"]


def ctl_stats(daemon):
    """`portwatchctl stats` as root: (seconds, completed process)."""
    t = time.monotonic()
    p = subprocess.run([PORTWATCHCTL, "-s", daemon.socket_path, "stats"], capture_output=True,
                       text=True, timeout=20)
    return time.monotonic() - t, p


def wait_alert_on(sub, port, inode, t0, timeout=ALERT_DEADLINE * 3):
    """Read the subscriber until the shadow_wildcard alert of inode: seconds since t0."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, "no alert for the hijack of port %d within %.0f s" % (port, timeout)
        msg = json.loads(sub.recv_line(left))
        a = msg.get("alert")
        if a and a.get("port") == port and a.get("contender", {}).get("inode") == inode:
            assert (a["kind"], a["reason"]) == ("hijack_attempt", "shadow_wildcard"), a
            return time.monotonic() - t0


def make_table(actors):
    """An actor of uid 2100 holding TABLE UDP sockets: `owners` has weight."""
    ops = []
    for i in range(TABLE):
        ops += [{"op": "socket", "name": "s%d" % i, "type": "udp"},
                {"op": "bind", "name": "s%d" % i, "addr": "127.0.0.1", "port": 0}]
    a = actors(uid=2100, ops=ops)
    assert all(r["ok"] for r in a.start_results), [r for r in a.start_results if not r["ok"]][:3]
    return a


def owners_bytes(daemon):
    with daemon.connect() as c:
        c.send({"cmd": "owners"})
        return len(c.recv_line(30)) + 1


# ----------------------------------------------------------------- a. the flood

class Problems(list):
    """What failed, collected rather than raised at the first: one run
    under the flood says every property it broke."""

    def check(self, ok, msg):
        if not ok:
            self.append(msg)
        return ok

    def attempt(self, what, fn, *args):
        try:
            return fn(*args)
        except AssertionError as e:
            self.append("%s: %s" % (what, e))
            return None

    def assert_none(self):
        assert not self, "%d problems:\n- %s" % (len(self), "\n- ".join(self))


def run_flood(daemon, actors, flooders, gid, plan, port):
    """The flood of plan [(uid, {idle, nonread, hangup})], every flooder's
    hung-up waves running while the hijack, the stats requests and the
    churn happen. Returns (figures, Problems) with what must hold whatever
    the plan already checked."""
    p = Problems()
    # Deadlines and zero loss hold for the production build; the ASan build
    # (make test-sanitize) runs several times slower and is there for memory
    # errors, so what it misses of them is printed, not asserted.
    timed = Problems() if sanitized(daemon.pid) else p
    table = make_table(actors)
    holder = actors(uid=2101)
    thief = actors(uid=2102)
    rh = holder.bound("w", "0.0.0.0", port, type="udp", reuseaddr=True)
    daemon.wait_inode(rh["inode"], port=port)
    wait_until(lambda: len(daemon.owners(pid=table.pid)) == TABLE, timeout=10,
               what="the sockets of the table in owners")
    size = owners_bytes(daemon)
    k = max(1, -(-NONREAD_BYTES // size))
    sub = daemon.connect()
    sub.send({"cmd": "subscribe"})
    assert sub.recv(10).get("ok") is True
    quiet_dt, before = root_stats(daemon)
    m = {"owners_bytes": size, "nonread_requests": k, "stats_s": []}

    fl, churn = [], Churn()
    watch = RssWatch(daemon.pid, fl)
    watch.start()
    churn.start()
    try:
        for uid, counts in plan:
            fl.append(flooders(daemon.socket_path, uid, gid, nonread_requests=k, waves=0,
                               hangup_requests=16, **counts))
        m["ready"] = [f.read(60) for f in fl]
        for f in fl:
            f.say("go")
        time.sleep(0.5)  # the waves are under way
        # the hijack, during the flood
        thief.socket("t", "inet", "udp", reuseaddr=True)
        t0 = time.monotonic()
        rt = thief.bind("t", "127.0.0.1", port)
        assert rt["ok"], rt
        m["alert_s"] = p.attempt("the hijack's alert", wait_alert_on, sub, port, rt["inode"], t0)
        # root's stats, during the flood (deadlines: the plain build's, see `timed`)
        for _ in range(5):
            r = timed.attempt("root's stats under the flood", root_stats, daemon)
            if r:
                m["stats_s"].append(round(r[0], 3))
        m["ctl_s"], ctl = ctl_stats(daemon)
        during = timed.attempt("root's stats under the flood", root_stats, daemon)
        if during:
            m["clients_during"] = during[1].get("control", during[1])["clients"]
        for f in fl:
            f.say("stop")
        m["hangup"] = [f.read(30) for f in fl]
    except AssertionError:
        if watch.tripped:  # what failed is the flood killed under it
            raise AssertionError("daemon RSS passed %d MiB: the flood was killed"
                                 % (watch.abort_kib >> 10)) from None
        raise
    finally:
        churn.stop()
        watch.stop()
    for f in fl:
        f.say("count")
    m["count"] = [f.read(30) for f in fl]
    for f in fl:  # the flood is over: its connections go
        f.stop()
    m["rss_peak_kib"] = watch.peak_kib
    m["hwm_kib"] = status_kib(daemon.pid, "VmHWM")
    m["rss_after_kib"] = status_kib(daemon.pid, "VmRSS")
    daemon.sync(timeout=30)  # every event of the churn is handled or counted dropped
    after = daemon.stats()
    m["after"] = after
    sub.close()
    brief = {k: v for k, v in m.items() if k not in ("after", "ready", "count", "hangup")}
    for part in ("ready", "count", "hangup"):
        brief[part] = {k: sum(r[k] for r in m[part]) for k in m[part][0]
                       if k not in ("op", "pid", "uid")}
    print("flood figures:", json.dumps(brief))
    print("control after:", json.dumps(after.get("control")))

    p.check(not watch.tripped, "daemon RSS passed %d MiB: the flood was killed"
            % (watch.abort_kib >> 10))
    p.check(daemon.running(), "portwatchd is gone")
    # the alert must come (p.attempt above waits 3 x ALERT_DEADLINE for it);
    # within the deadline is the production build's, like the others
    if m["alert_s"] is not None:
        timed.check(m["alert_s"] <= ALERT_DEADLINE,
                    "hijack alert after %.2f s under the flood" % m["alert_s"])
    p.check(daemon.alerts_of(port, "shadow_wildcard"), "the hijack is not in `alerts`")
    timed.check(m["stats_s"] and max(m["stats_s"]) <= STATS_DEADLINE,
            "root's stats took %s s (quiet: %.1f ms)" % (m["stats_s"], quiet_dt * 1e3))
    timed.check(ctl.returncode == 0 and "uptime" in ctl.stdout.lower()
            and m["ctl_s"] <= STATS_DEADLINE,
            "portwatchctl stats: rc %d after %.2f s: %s" % (ctl.returncode, m["ctl_s"],
                                                           ctl.stderr.strip()[:200]))
    if not sanitized(daemon.pid):
        p.check(m["hwm_kib"] < RSS_LIMIT_KIB, "daemon peak RSS (VmHWM) %.1f MiB"
                % (m["hwm_kib"] / 1024))
        p.check(m["rss_after_kib"] < RSS_LIMIT_KIB, "daemon RSS after the flood %.1f MiB"
                % (m["rss_after_kib"] / 1024))
    # events: none dropped at this churn, and every one accounted for
    dropped = after["dropped"] - before["dropped"]
    seen = sum(after["events"][k] - before["events"][k] for k in ("bind", "listen", "release"))
    timed.check(seen + dropped >= 3 * churn.ops,
                "%d churn ops (%d events) but only %d seen and %d counted dropped"
                % (churn.ops, 3 * churn.ops, seen, dropped))
    timed.check(dropped == 0,
                "%d events dropped under the flood at %d ops/s" % (dropped, CHURN_OPS_S))
    if timed is not p:
        print("flood under ASan, not asserted (the plain run's):", timed)
    # every connection was taken or refused, none left waiting
    for r in m["ready"]:
        p.check(r["connect_timeouts"] == 0 and r["idle_pending"] == 0
                and r["nonread_pending"] == 0,
                "uid %d: connections left waiting: %s" % (r["uid"], r))
    refused = sum(r["idle_refused"] + r["nonread_refused"] for r in m["ready"]) + \
        sum(h["refused"] for h in m["hangup"])
    ctl_after = p.attempt("stats control", control, after)
    if ctl_after is not None:
        n = p.attempt("stats control", counter, ctl_after, "refused")
        p.check(n is None or n >= refused,
                "the members saw %d refusals, stats control says %s" % (refused, ctl_after))
    return m, p


def test_flood_from_one_member(daemon_factory, actors, flooders, group, port):
    """The issue's flood from one group member: at most 64 of its
    connections live at a time (max_clients_per_uid), the rest are refused
    and counted; the monitor stays awake."""
    name, gid = group
    d = daemon_factory(config=member_config(name))
    m, p = run_flood(d, actors, flooders, gid,
                     [(2110, dict(nonread=100, idle=1100, hangup=200))], port)
    r, c = m["ready"][0], m["count"][0]
    # idle ones never leave, so at most PER_UID of the 1,100 ever got in
    p.check(r["idle_open"] <= PER_UID and r["idle_refused"] >= 1100 - PER_UID,
            "per-uid limit: %d idle connections of one member taken, %d refused"
            % (r["idle_open"], r["idle_refused"]))
    p.check(r["nonread_open"] <= PER_UID, "per-uid limit: %d non-readers taken"
            % r["nonread_open"])
    p.check(c["idle_open"] + c["nonread_open"] <= PER_UID,
            "per-uid limit: the member holds %d connections after the flood"
            % (c["idle_open"] + c["nonread_open"]))
    p.check(m.get("clients_during", 0) <= PER_UID + 4,  # + root's own
            "%s clients during the flood" % m.get("clients_during"))
    p.assert_none()


def test_flood_from_many_members(daemon_factory, actors, flooders, group, port):
    """The same numbers spread over 20 member uids, each under the per-uid
    limit (45 held + 10 hung-up in flight, of 64) and all together under the
    1,008 non-root slots: every connection is taken, so what keeps the loop
    on the ring here is the per-turn budget. 100 non-readers ask for 4 MiB
    of answers each, twice the global output budget: `owners` answers are
    streamed a window at a time (issue 13), so what the daemon holds for a
    client that does not read is one window, not its answers; they stay
    connected (nothing of theirs is in the daemon to drop), the non-readers'
    answers stay in their sockets, and VmHWM stays under the bound
    (run_flood's checks)."""
    name, gid = group
    d = daemon_factory(config=member_config(name))
    plan = [(2120 + i, dict(nonread=5, idle=40, hangup=10)) for i in range(20)]
    m, p = run_flood(d, actors, flooders, gid, plan, port)
    held = sum(r["idle_open"] + r["nonread_open"] for r in m["ready"])
    p.check(held == 900, "%d of the 900 connections under every limit taken: %s"
            % (held, [r for r in m["ready"] if r["idle_refused"] or r["nonread_refused"]][:3]))
    queued = sum(r["nonread_open"] for r in m["ready"]) * m["nonread_requests"] * \
        m["owners_bytes"]
    p.check(queued > 2 * OUTPUT_BUDGET, "the plan asks for %d MiB only" % (queued >> 20))
    p.check(m["hwm_kib"] < RSS_LIMIT_KIB // 2 or sanitized(d.pid),
            "%d MiB asked for by non-readers: daemon peak RSS (VmHWM) %.1f MiB"
            % (queued >> 20, m["hwm_kib"] / 1024))
    idle = sum(c["idle_open"] for c in m["count"])
    p.check(idle == 800, "%d of 800 idle connections left: idle ones are not slow readers"
            % idle)
    p.assert_none()


# ----------------------------------------------------------------- b. root's slots

def test_root_gets_in_when_members_hold_every_other_slot(daemon_factory, flooders, group):
    """16 member uids ask for 64 idle connections each (1,024): the first
    1,008 are taken (per-uid limit 64, 1,024 clients less 16 kept for
    root), the last 16 refused. Root still gets its 16, and only 16."""
    name, gid = group
    d = daemon_factory(config=member_config(name))
    ready = []
    for i in range(16):  # one after the other: which uid is refused is known
        f = flooders(d.socket_path, 2140 + i, gid, idle=PER_UID)
        ready.append(f.read(60))
    opened = sum(r["idle_open"] for r in ready)
    refused = sum(r["idle_refused"] for r in ready)
    assert all(r["connect_timeouts"] == 0 and r["idle_pending"] == 0 for r in ready), ready
    assert (opened, refused) == (MAX_CLIENTS - ROOT_SLOTS, ROOT_SLOTS), (opened, refused, ready)
    assert [r["idle_open"] for r in ready[:15]] == [PER_UID] * 15, ready

    conns = []
    try:
        for i in range(ROOT_SLOTS):
            c = d.connect()
            conns.append(c)
            resp = c.request({"cmd": "stats"})
            assert resp.get("ok") is True, (i, resp)
        st = resp["stats"]
        assert control(st)["clients"] == MAX_CLIENTS, control(st)
        # the 1,025th: refused, root or not
        with pytest.raises((AssertionError, OSError)):
            d.request({"cmd": "stats"}, timeout=5)
        extra = flooders(d.socket_path, 2139, gid, idle=1).read(30)
        assert (extra["idle_open"], extra["idle_refused"]) == (0, 1), extra
        # a root slot freed is root's again
        conns.pop().close()
        wait_until(lambda: control(conns[0].request({"cmd": "stats"})["stats"])["clients"]
                   == MAX_CLIENTS - 1, what="the closed root client to be gone")
        assert d.request({"cmd": "stats"}).get("ok") is True
        st = conns[0].request({"cmd": "stats"})["stats"]
        assert counter(control(st), "refused") >= ROOT_SLOTS + 2, control(st)
    finally:
        for c in conns:
            c.close()


# ----------------------------------------------------------------- c. idle timeout

def closed_at(sock, t0, until):
    """Seconds after t0 at which the daemon closed sock (EOF or reset), or
    None if it is still open at `until` (monotonic). Any answer is read."""
    sock.setblocking(False)
    while time.monotonic() < until:
        r, _, _ = select.select([sock], [], [], 0.02)
        if r:
            try:
                if not sock.recv(65536):
                    return time.monotonic() - t0
            except (ConnectionResetError, BrokenPipeError):
                return time.monotonic() - t0
            except BlockingIOError:
                pass
    return None


def test_idle_timeout(daemon_factory, actors, port):
    """idle_timeout = 2: a client that is not subscribed, has sent no
    complete request and has no answer pending for 2 s is closed.

    Decided here: the clock restarts at each complete request line (and
    when its answer is out), not at every byte. A client stuck inside a
    request line is idle - whether it sent the half line and stopped, or
    keeps trickling a byte of it every half second: a slow-loris client
    must not hold its slot for ever (a real client sends a request line at
    once; the longest allowed is 64 KiB on a local socket). Subscribers are
    never idle: they wait for alerts by design."""
    d = daemon_factory(config="[control]\nidle_timeout = 2\n" + NO_FOLD)
    holder = actors(uid=2103)
    thief = actors(uid=2104)
    rh = holder.bound("w", "0.0.0.0", port, type="udp", reuseaddr=True)
    d.wait_inode(rh["inode"], port=port)
    base = d.stats()  # its control object is checked at the end

    def raw():
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(d.socket_path)
        return s

    sub = d.connect()
    sub.send({"cmd": "subscribe"})
    assert sub.recv().get("ok") is True
    t0 = time.monotonic()
    idle = raw()                                  # sends nothing
    half = raw()
    half.sendall(b'{"cmd":"sta')                  # half a line, then nothing
    trickle = raw()
    trickle.sendall(b'{"cmd":"stats","pad":"')    # half a line, then a byte every 0.5 s
    asked = d.connect()
    asked.send({"cmd": "stats"})                  # answered, then idle
    assert asked.recv().get("ok") is True
    t_answer = time.monotonic()
    busy = d.connect()                            # a request a second: never idle

    results = {}

    def watch(name, s, start):
        results[name] = closed_at(s, start, t0 + 6)

    threads = [threading.Thread(target=watch, args=a) for a in
               (("idle", idle, t0), ("half", half, t0), ("trickle", trickle, t0),
                ("asked", asked.sock, t_answer))]
    for t in threads:
        t.start()
    trickle_error = None
    while time.monotonic() < t0 + 6:
        try:
            trickle.send(b"x")
        except OSError as e:  # closed by the daemon: expected
            trickle_error = trickle_error or e
        resp = busy.request({"cmd": "stats"})
        assert resp.get("ok") is True, resp
        time.sleep(0.5)
    for t in threads:
        t.join(10)
    print("closed after (s):", results, "trickle send error:", trickle_error)
    for name in ("idle", "half", "trickle", "asked"):
        assert results[name] is not None, "%s client still open after 6 s" % name
        assert 1.9 <= results[name] <= 4.5, "%s client closed after %.2f s, idle_timeout = 2" % (
            name, results[name])
    # the busy client and the subscriber are still served
    assert busy.request({"cmd": "stats"}).get("ok") is True
    rt = thief.bound("t", "127.0.0.1", port, type="udp", reuseaddr=True)
    assert wait_alert_on(sub, port, rt["inode"], time.monotonic()) <= ALERT_DEADLINE
    after = control(d.stats())
    assert counter(after, "idle") - counter(control(base), "idle") >= 4, after
    for s in (idle, half, trickle):
        s.close()
    for c in (sub, asked, busy):
        c.close()


# ----------------------------------------------------------------- d. duplicate keys

@pytest.mark.parametrize("line,key", [
    ('{"cmd":"stats","cmd":"reload"}', "cmd"),
    ('{"cmd":"owners","port":1,"port":2}', "port"),
])
def test_duplicate_keys_are_refused(daemon, line, key):
    """A key given twice is an error naming it, not "the last one wins"
    (which let {"cmd":"stats","cmd":"reload"} reload as root); the
    connection keeps serving."""
    before = daemon.stats()["reconciliations"]  # reload reconciles
    with daemon.connect() as c:
        c.send_raw(line.encode() + b"\n")
        resp = c.recv()
        assert resp.get("ok") is False, resp
        err = resp.get("error", "")
        assert "duplicate" in err.lower() and key in err, resp
        assert resp.get("version") == 1, resp
        again = c.request({"cmd": "stats"})
        assert again.get("ok") is True, again
    assert daemon.stats()["reconciliations"] == before, "the request was run anyway"
