"""Start, readiness, shutdown, sockets that predate the daemon, sockets of
killed processes, the takeover window and the periodic reconciliation."""
import os
import re
import signal
import socket
import stat
import subprocess
import time

from pwe2e import PORTWATCHD, PYTHON, free_port, netns_inode, wait_until


def test_sigterm_with_clients_connected(daemon_factory):
    d = daemon_factory()
    idle = d.connect()
    sub = d.connect()
    assert sub.request({"cmd": "subscribe"})["subscribed"] is True
    half = d.connect()
    half.send_raw(b'{"cmd": "sta')  # a request cut in the middle
    try:
        rc = d.stop(signal.SIGTERM)
        assert rc == 0, "exit code %s on SIGTERM:\n%s" % (rc, d.log_tail())
        assert not os.path.lexists(d.socket_path), "socket file left behind"
    finally:
        for c in (idle, sub, half):
            c.close()


def test_sigint_exits_0_and_removes_the_socket(daemon_factory):
    d = daemon_factory()
    rc = d.stop(signal.SIGINT)
    assert rc == 0, "exit code %s on SIGINT:\n%s" % (rc, d.log_tail())
    assert not os.path.lexists(d.socket_path), "socket file left behind after SIGINT"


def portwatchd(*args):
    return subprocess.run([PORTWATCHD, *args], capture_output=True, text=True, timeout=10,
                          stdin=subprocess.DEVNULL)


def test_help_version_and_bad_options():
    r = portwatchd("--help")
    assert r.returncode == 0, (r.returncode, r.stderr)
    assert r.stdout.startswith("Usage"), r.stdout
    assert "--reconcile-interval" in r.stdout and "--log-level" in r.stdout

    r = portwatchd("--version")
    assert r.returncode == 0, (r.returncode, r.stderr)
    assert re.match(r"^portwatchd \d+\.\d+\.\d+\b", r.stdout), r.stdout

    r = portwatchd("--log-level", "bogus")
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "--log-level" in r.stderr and "bogus" in r.stderr, r.stderr


def test_control_socket_mode(daemon):
    st = os.stat(daemon.socket_path)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o660, oct(stat.S_IMODE(st.st_mode))


def test_logs_to_stderr_in_foreground(daemon):
    # The fixture waited for `stats` to answer: start-up is over and logged.
    log = daemon.log()
    assert re.search(r"^portwatchd: portwatchd \S+ ready\b", log, re.M), \
        "no ready line on stderr:\n%s" % daemon.log_tail()
    assert re.search(r"^portwatchd: attached tracepoint/syscalls/sys_exit_bind$", log, re.M), \
        "stderr does not say which hooks were attached:\n%s" % daemon.log_tail()
    assert "tracepoint/syscalls/sys_exit_bind" in daemon.stats()["hooks"]


def test_socket_bound_before_start_is_listed(daemon_factory, actors, port):
    a = actors(uid=1234)
    rt = a.bound("t", "127.0.0.1", port, reuseaddr=True, listen=True)
    ru = a.bound("u", "0.0.0.0", port, type="udp", reuseport=True)

    d = daemon_factory()
    t = d.wait_inode(rt["inode"], port=port)
    assert (t["pid"], t["uid"], t["exe"]) == (a.pid, 1234, a.exe)
    assert (t["proto"], t["addr"], t["port"], t["state"]) == ("tcp", "127.0.0.1", port, "LISTEN")
    assert (t["reuseaddr"], t["reuseport"]) == (True, False)
    u = d.wait_inode(ru["inode"], port=port)
    assert (u["pid"], u["uid"]) == (a.pid, 1234)
    assert (u["proto"], u["addr"], u["state"]) == ("udp", "0.0.0.0", "BOUND")
    assert (u["reuseaddr"], u["reuseport"]) == (False, True)

    # ... and followed afterwards like any other: its close is an event.
    c0 = d.path_counters()
    a.close("t")
    d.wait_gone([rt["inode"]], port=port)
    d.assert_by_events(c0, release=1)


def test_socket_in_another_netns_bound_before_start_is_listed(daemon_factory, actors, netns,
                                                               port):
    ns = netns()
    a = actors(uid=1234, netns=ns)
    rt = a.bound("t", "0.0.0.0", port, listen=True)
    ru = a.bound("u", "127.0.0.1", port, type="udp", reuseaddr=True)
    ino = netns_inode(ns)
    assert a.netns == ino

    d = daemon_factory()
    for r, proto, addr, state in ((rt, "tcp", "0.0.0.0", "LISTEN"),
                                  (ru, "udp", "127.0.0.1", "BOUND")):
        s = d.wait_inode(r["inode"], port=port, netns=ino)
        assert s["netns"] == ino
        assert (s["proto"], s["addr"], s["port"], s["state"]) == (proto, addr, port, state)
        assert (s["pid"], s["uid"], s["exe"]) == (a.pid, 1234, a.exe)
    mine = {rt["inode"], ru["inode"]}
    elsewhere = [x for x in d.owners(port=port) if x["inode"] in mine and x["netns"] != ino]
    assert elsewhere == [], "listed under another netns as well: %s" % elsewhere


def test_sigkilled_process_leaves_the_table(daemon, actors, port):
    a = actors(uid=1234)
    rt = a.bound("t", "127.0.0.1", port, listen=True)
    ru = a.bound("u", "0.0.0.0", port, type="udp")
    for r in (rt, ru):
        daemon.wait_inode(r["inode"], port=port)
    c0 = daemon.path_counters()
    a.kill(signal.SIGKILL)
    daemon.wait_gone([rt["inode"], ru["inode"]], timeout=5, port=port)
    daemon.assert_by_events(c0, release=2)


def test_socket_shared_with_a_forked_child_stays_until_last_close(daemon, actors, port):
    # close() in one process is not the socket's release while a forked
    # child still holds it (cgroup/sock_release fires on the last close).
    a = actors(uid=1234)
    rt = a.bound("t", "127.0.0.1", port, listen=True)
    child = a.do(op="fork")["child"]
    daemon.wait_inode(rt["inode"], port=port)
    assert a.close("t")["ok"]
    daemon.sync()
    assert rt["inode"] in {s["inode"] for s in daemon.owners(port=port)}, \
        "a socket still held by a forked child left the table"
    c0 = daemon.path_counters()
    os.kill(child, signal.SIGKILL)
    daemon.wait_gone([rt["inode"]], timeout=5, port=port)
    daemon.assert_by_events(c0, release=1)


def test_forked_child_is_not_a_new_owner(daemon_factory, actors, port):
    # The owner is the process that bound; a forked child holding copies of
    # the fds (as /proc/CHILD/fd shows) is not, neither for the event path
    # nor for the reconciliations, which read owners from /proc/*/fd.
    d = daemon_factory("--reconcile-interval", "1")
    a = actors(uid=1234)
    rt = a.bound("t", "127.0.0.1", port, listen=True)
    ru = a.bound("u", "0.0.0.0", port, type="udp")
    for r in (rt, ru):
        d.wait_inode(r["inode"], port=port)
    child = a.do(op="fork")["child"]
    assert child != a.pid

    def owners_are_the_parent(when):
        got = {s["inode"]: s for s in d.owners(port=port)}
        for r in (rt, ru):
            assert r["inode"] in got, "%s: inode %d left owners" % (when, r["inode"])
            assert got[r["inode"]]["pid"] == a.pid, "%s: owner pid %s, expected the parent %d " \
                "(child %d)" % (when, got[r["inode"]]["pid"], a.pid, child)
        assert d.owners(pid=child) == [], "%s: the child is listed as an owner" % when

    d.sync()
    owners_are_the_parent("after fork")
    r0 = d.stats()["reconciliations"]
    wait_until(lambda: d.stats()["reconciliations"] >= r0 + 2, timeout=8,
               what="two reconciliations at a 1 s interval")
    owners_are_the_parent("after reconciliations")
    d.assert_no_alert(port)


def test_takeover_window_expires(daemon_factory, actors, port):
    d = daemon_factory("--takeover-window", "1")
    a = actors(uid=1234)
    ra = a.bound("l", "127.0.0.1", port, listen=True)
    d.wait_owner(lambda s: s["inode"] == ra["inode"] and s["state"] == "LISTEN", port=port)
    a.exit_now()
    d.wait_gone([ra["inode"]], port=port)
    time.sleep(2.0)  # the 1 s window passes: a wait on time itself, not on the daemon
    b = actors(uid=1235)
    rb = b.bound("l", "127.0.0.1", port)
    d.wait_inode(rb["inode"], port=port)
    d.assert_no_alert(port)


def test_reconcile_interval(daemon_factory):
    d = daemon_factory("--reconcile-interval", "1")
    r0 = d.stats()["reconciliations"]
    wait_until(lambda: d.stats()["reconciliations"] >= r0 + 2, timeout=6,
               what="two reconciliations at a 1 s interval")
    s = d.stats()
    assert isinstance(s["last_reconcile_ms"], (int, float)) and s["last_reconcile_ms"] >= 0
    assert s["netns"] >= 1


def test_stale_socket_file_is_replaced(daemon_factory):
    # Assumption (not in the docs): a socket file nobody listens on, left by a
    # daemon that crashed, does not stop the next start.
    stale = {}

    def leave_stale(path):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.close()
        # Marked so the daemon's own file cannot be mistaken for it (inode
        # numbers are reused at once on ext4): another owner, another mode.
        os.chown(path, 4321, 4321)
        os.chmod(path, 0o600)
        stale["st"] = os.lstat(path)

    d = daemon_factory(before_start=leave_stale)
    st = os.lstat(d.socket_path)
    assert stat.S_ISSOCK(st.st_mode)
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, 0o660), \
        "the stale socket file (uid 4321, mode 0600) is still there: uid %d mode %o" % (
            st.st_uid, stat.S_IMODE(st.st_mode))
    # the daemon answers on that very path
    with d.connect() as c:
        resp = c.request({"cmd": "stats"})
    assert resp["ok"] is True and resp["stats"]["uptime_s"] >= 0


# argv: cycles, the CPU to run them on
CHURN = r"""
import os, socket, sys
os.sched_setaffinity(0, {int(sys.argv[2])})
for i in range(int(sys.argv[1])):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen()
    s.close()
"""


def test_lost_events_are_counted_logged_and_repaired(daemon_factory, actors, port):
    # 1 MiB of rings (shared by one per CPU) holds ~6,500 events. With the
    # daemon stopped (SIGSTOP), 20,000 bind/listen/close cycles on each CPU
    # overflow every ring (a CPU writes to its own: the churn of one CPU
    # would leave the other's ring room for the socket below), so the bind
    # of the socket made afterwards is lost too, whichever CPU it runs on:
    # the daemon must count the loss, say so, and find the socket by
    # reconciling (the periodic one is off here). An alert raised before
    # the loss is not raised again by that repair.
    d = daemon_factory("--ring-size", "1", "--reconcile-interval", "0")
    h, c = actors(uid=1234), actors(uid=1235)
    rh = h.bound("u", "0.0.0.0", port, type="udp", reuseaddr=True)
    d.wait_inode(rh["inode"], port=port)
    c.bound("u", "0.0.0.0", port, type="udp", reuseaddr=True)
    shared = d.wait_alert(lambda x: x["port"] == port and x["reason"] == "udp_share")

    lport = free_port()
    s0 = d.stats()
    os.kill(d.pid, signal.SIGSTOP)
    try:
        for cpu in sorted(os.sched_getaffinity(0)):
            subprocess.run([PYTHON, "-c", CHURN, "20000", str(cpu)], check=True, timeout=60)
        a = actors(uid=1234)
        ra = a.bound("t", "127.0.0.1", lport, reuseaddr=True, listen=True)
    finally:
        os.kill(d.pid, signal.SIGCONT)
    wait_until(lambda: d.stats()["dropped"] > s0["dropped"], what="dropped events counted")
    wait_until(lambda: d.stats()["reconciliations"] > s0["reconciliations"],
               what="a reconciliation after the loss")
    assert "ring buffer full" in d.log(), d.log_tail()
    s = d.wait_inode(ra["inode"], port=lport)
    assert (s["pid"], s["uid"], s["state"], s["reuseaddr"]) == (a.pid, 1234, "LISTEN", True)
    assert d.stats()["reconcile_added"] > s0["reconcile_added"], \
        "the lost socket was found, but not by the reconciliation"
    # Repaired, not re-alerted: the shared port still has its one alert, and
    # the repair raised nothing about the socket it found.
    d.sync()
    assert [x["id"] for x in d.alerts_on_port(port)] == [shared["id"]]
    assert d.alerts_on_port(lport) == []
