"""Issue 17: out of file descriptors, the daemon neither spins nor floods
its log. Started under `prlimit --nofile=200:200` (so it cannot raise the
limit), 300 clients connect; the listener is left unpolled while accept()
would fail with EMFILE, one warning a minute counts what waits, and the
waiting connections are taken once clients leave. Measured here: the
daemon's CPU time while the 300 connections stay open, and its log lines."""
import os
import socket
import struct
import time

from pwe2e import wait_until

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as fh:
        f = fh.read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / CLK_TCK  # utime + stime


def test_emfile_does_not_spin_or_flood(daemon_factory):
    d = daemon_factory(wrap=("prlimit", "--nofile=200:200", "--"))
    # a connection of our own, made first, to read the counters while no new one is taken
    probe = d.connect()
    # Connect until one waits 2 s: the backlog is full and the daemon takes
    # no more, being out of fds (about 150 taken, 129 in the backlog). One
    # at a time, blocking, so that how fast the daemon accepts does not
    # decide whether it runs out of fds at all.
    conns, stalled = [], False
    for _ in range(400):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", 2, 0))
        try:
            s.connect(d.socket_path)
        except (BlockingIOError, TimeoutError):
            s.close()
            stalled = True
            break
        conns.append(s)
    assert stalled and len(conns) > 200, \
        "%d connections taken or queued, none waited: the daemon never ran out of fds" \
        % len(conns)
    time.sleep(0.5)
    # lines about the control socket (at debug level, other programs' sockets log too)
    def ctl_lines():
        return [x for x in d.log().splitlines()
                if "control socket" in x or "open files" in x or "accept" in x]
    lines0 = len(ctl_lines())
    ev0 = sum(probe.request({"cmd": "stats"})["stats"]["events"].values())
    cpu0 = cpu_seconds(d.pid)
    time.sleep(3)
    used = cpu_seconds(d.pid) - cpu0
    events = sum(probe.request({"cmd": "stats"})["stats"]["events"].values()) - ev0
    lines = len(ctl_lines()) - lines0
    assert d.running()
    # The daemon watches the whole host: other programs' sockets cost it CPU
    # too, about 10 us an event; a spinning accept loop costs far more.
    allowed = 0.15 + events * 20e-6
    assert used < allowed, "portwatchd used %.2f s of CPU in 3 s while out of fds " \
        "(%d events handled, %.2f s allowed)" % (used, events, allowed)
    assert lines < 10, "%d log lines in 3 s:\n%s" % (lines, d.log_tail(20))
    assert "connections refused or kept waiting" in d.log() or "Too many open files" in d.log()
    for s in conns:
        s.close()
    # clients left: the listener is polled again, the backlog is taken, a new client is served
    wait_until(lambda: probe.request({"cmd": "stats"})["stats"]["clients"] <= 2,
               what="the clients to be gone")
    probe.close()

    def served():
        try:
            return "uptime_s" in d.stats()
        except BlockingIOError:  # the backlog still holds closed connections
            return False
    wait_until(served, what="a new client to be served")


def test_requests_of_a_client_that_hung_up_are_not_served(daemon_factory, actors, port,
                                                          tmp_path):
    """A client that sends a request and closes before the daemon reads it
    gets nothing served: here a `reload` that would have started ignoring
    the port of the next conflict. The daemon is stopped (SIGSTOP) while
    the client sends and hangs up, so that it meets both at once."""
    import signal
    d = daemon_factory()
    with open(d.config_path, "w") as fh:
        fh.write("[alerts]\nignore_ports = %d\n" % port)
    os.kill(d.pid, signal.SIGSTOP)
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(d.socket_path)
        s.sendall(b'{"cmd":"reload"}\n')
        s.close()
    finally:
        os.kill(d.pid, signal.SIGCONT)
    d.sync()
    before = d.stats()
    a = actors(uid=1961)
    a.bound("l", "127.0.0.1", port, listen=True)
    a.socket("x")
    assert a.bind("x", "127.0.0.1", port)["errno"] == "EADDRINUSE"
    wait_until(lambda: d.stats()["conflicts"] > before["conflicts"],
               what="the conflict recorded, not ignored")
    assert d.stats()["conflicts_ignored"] == before["conflicts_ignored"]
    # a client that waits for its answer is served, of course
    assert "reloaded" in d.ok({"cmd": "reload"})["message"]
