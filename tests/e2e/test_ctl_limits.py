"""Issue 17: out of file descriptors, the daemon neither spins nor floods
its log. Started under `prlimit --nofile=200:200` (so it cannot raise the
limit), 300 clients connect; the listener is left unpolled while accept()
would fail with EMFILE, one warning a minute counts what waits, and the
waiting connections are taken once clients leave. Measured here: the
daemon's CPU time while the 300 connections stay open, and its log lines."""
import os
import socket
import time

from pwe2e import wait_until

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as fh:
        f = fh.read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / CLK_TCK  # utime + stime


def test_emfile_does_not_spin_or_flood(daemon_factory):
    d = daemon_factory(wrap=("prlimit", "--nofile=200:200", "--"))
    conns = []
    for _ in range(300):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(d.socket_path)
        except BlockingIOError:
            pass  # the backlog is full: still a connection attempt
        conns.append(s)
    time.sleep(0.5)
    lines0 = len(d.log().splitlines())
    cpu0 = cpu_seconds(d.pid)
    time.sleep(3)
    used = cpu_seconds(d.pid) - cpu0
    lines = len(d.log().splitlines()) - lines0
    assert d.running()
    assert used < 0.15, "portwatchd used %.2f s of CPU in 3 s while out of fds" % used
    assert lines < 10, "%d log lines in 3 s:\n%s" % (lines, d.log_tail(20))
    assert "connections refused or kept waiting" in d.log() or "Too many open files" in d.log()
    for s in conns:
        s.close()
    # clients left: the listener is polled again and a new client is served
    wait_until(lambda: d.stats()["clients"] <= 2, what="the clients to be gone")
    assert "uptime_s" in d.stats()


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
