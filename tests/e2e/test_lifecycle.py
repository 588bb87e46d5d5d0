"""Start, readiness, shutdown, sockets that predate the daemon, sockets of
killed processes, the takeover window and the periodic reconciliation."""
import os
import signal
import socket
import stat
import subprocess
import sys
import time

from pwe2e import wait_until


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


def test_control_socket_mode(daemon):
    st = os.stat(daemon.socket_path)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o660, oct(stat.S_IMODE(st.st_mode))


def test_logs_to_stderr_in_foreground(daemon):
    assert daemon.log().strip(), "nothing on stderr in --foreground --log-level debug"


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

    # ... and followed afterwards like any other.
    a.close("t")
    d.wait_gone([rt["inode"]], port=port)


def test_sigkilled_process_leaves_the_table(daemon, actors, port):
    a = actors(uid=1234)
    rt = a.bound("t", "127.0.0.1", port, listen=True)
    ru = a.bound("u", "0.0.0.0", port, type="udp")
    for r in (rt, ru):
        daemon.wait_inode(r["inode"], port=port)
    a.kill(signal.SIGKILL)
    daemon.wait_gone([rt["inode"], ru["inode"]], timeout=5, port=port)


def test_socket_shared_with_a_forked_child_stays_until_last_close(daemon, actors, port):
    # close() in one process is not the socket's release while a forked
    # child still holds it (cgroup/sock_release fires on the last close).
    a = actors(uid=1234)
    rt = a.bound("t", "127.0.0.1", port, listen=True)
    child = a.do(op="fork")["child"]
    daemon.wait_inode(rt["inode"], port=port)
    assert a.close("t")["ok"]
    time.sleep(1.0)
    assert rt["inode"] in {s["inode"] for s in daemon.owners(port=port)}, \
        "a socket still held by a forked child left the table"
    os.kill(child, signal.SIGKILL)
    daemon.wait_gone([rt["inode"]], timeout=5, port=port)


def test_takeover_window_expires(daemon_factory, actors, port):
    d = daemon_factory("--takeover-window", "1")
    a = actors(uid=1234)
    ra = a.bound("l", "127.0.0.1", port, listen=True)
    d.wait_owner(lambda s: s["inode"] == ra["inode"] and s["state"] == "LISTEN", port=port)
    a.exit_now()
    d.wait_gone([ra["inode"]], port=port)
    time.sleep(2.0)
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
    def leave_stale(path):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.close()
        assert os.path.exists(path)

    d = daemon_factory(before_start=leave_stale)
    assert d.stats()["uptime_s"] >= 0


CHURN = r"""
import socket, sys
for i in range(int(sys.argv[1])):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen()
    s.close()
"""


def test_lost_events_are_counted_logged_and_repaired(daemon_factory, actors, port):
    # A 1 MiB ring holds ~6,500 events. With the daemon stopped (SIGSTOP),
    # 20,000 bind/listen/close cycles overflow it, so the bind of the socket
    # made afterwards is lost too: the daemon must count the loss, say so,
    # and find the socket by reconciling (the periodic one is off here).
    d = daemon_factory("--ring-size", "1", "--reconcile-interval", "0")
    r0 = d.stats()["reconciliations"]
    os.kill(d.pid, signal.SIGSTOP)
    try:
        subprocess.run([sys.executable, "-c", CHURN, "20000"], check=True, timeout=60)
        a = actors(uid=1234)
        ra = a.bound("t", "127.0.0.1", port, reuseaddr=True, listen=True)
    finally:
        os.kill(d.pid, signal.SIGCONT)
    wait_until(lambda: d.stats()["dropped"] > 0, what="dropped events counted")
    wait_until(lambda: d.stats()["reconciliations"] > r0, what="a reconciliation after the loss")
    assert "ring buffer full" in d.log(), d.log_tail()
    s = d.wait_inode(ra["inode"], port=port)
    assert (s["pid"], s["uid"], s["state"], s["reuseaddr"]) == (a.pid, 1234, "LISTEN", True)
    # repaired, not re-alerted: nothing was raised for the churn or the repair
    assert d.alerts() == []
