"""Issue 19, item 1: a raw or AF_PACKET socket with a socket filter reads a
port's traffic without binding it. portwatchd sees the SO_ATTACH_FILTER /
SO_ATTACH_BPF calls (setsockopt tracepoint) and, at start-up, the sniffers
that exist already (packet_diag, raw_diag); each new one raises
diversion/packet_sniffer once, with the ports its classic filter compares
against; `allow = sniffer exe=...` silences expected ones; `owners
--sniffers` lists them all. Programs are real: the filters are what
tcpdump -ddd compiles, the sniffers tests/e2e/sniffer.py and tcpdump
itself, each in a fresh network namespace."""
import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from pwe2e import ctl_run, netns_inode, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
PRUNE_S = 2  # PW_SKLOOKUP_SCAN_S: sniffers that are gone leave the list this often
TCPDUMP = shutil.which("tcpdump") or "/usr/bin/tcpdump"


def bytecode(expr):
    """What tcpdump -ddd prints for expr (Ethernet)."""
    return subprocess.run([TCPDUMP, "-ddd", expr], check=True, capture_output=True, text=True,
                          timeout=10).stdout


@pytest.fixture
def sniffers():
    """start(netns, kind, expr) -> (Popen, {"pid", "inode"}); stopped at teardown."""
    procs = []

    def start(ns, kind, expr, next_expr=None, first=None):
        argv = [first if first is not None else bytecode(expr)]
        if next_expr:
            argv.append(bytecode(next_expr))
        p = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable,
                              os.path.join(HERE, "sniffer.py"), kind] + argv,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        procs.append(p)
        line = p.stdout.readline()
        assert line, "sniffer.py failed: %s" % p.stderr.read()
        return p, json.loads(line)

    yield start
    for p in procs:
        stop(p)


def stop(p):
    if p.poll() is None:
        p.stdin.close()
        assert p.wait(timeout=10) == 0, p.stderr.read()


def listed(daemon):
    return daemon.ok({"cmd": "owners", "sniffers": True})["sniffers"]


def listed_inode(daemon, ino, inode):
    return [f for f in listed(daemon) if (f["netns"], f["inode"]) == (ino, inode)]


def is_ours(ino, inode):
    return lambda a: (a["kind"], a["reason"], a["netns"]) == \
        ("diversion", "packet_sniffer", ino) and a["contender"]["inode"] == inode


def test_raw_socket_with_a_port_22_filter(daemon, netns, sniffers):
    ns = netns()
    ino = netns_inode(ns)
    p, info = sniffers(ns, "raw", "tcp port 22")

    al = daemon.wait_alert(is_ours(ino, info["inode"]))
    assert al["severity"] == "warning", al
    assert al["contender"]["pid"] == info["pid"], al["contender"]
    msg = al["message"]
    assert "raw socket (protocol tcp) on interface any" in msg, msg
    assert "classic BPF filter comparing ports 22:" in msg, msg
    assert "pid %d (python3" % info["pid"] in msg, msg

    f = listed_inode(daemon, ino, info["inode"])
    assert len(f) == 1, listed(daemon)
    f = f[0]
    assert (f["type"], f["family"], f["protocol"], f["interface"], f["filter"], f["ports"]) == \
        ("raw", "inet", "tcp", "any", "cbpf", [22]), f
    assert (f["pid"], f["uid"], f["alert_id"]) == (info["pid"], 0, al["id"]), f
    assert daemon.stats()["sniffers"]["count"] >= 1

    # the text form and --json of the client
    out = ctl_run(daemon, "owners", "--sniffers")
    assert out.returncode == 0, out.stderr
    row = [line for line in out.stdout.splitlines() if " %d/" % info["pid"] in line]
    assert len(row) == 1 and row[0].split()[:5] == ["raw", "tcp", "any", "cbpf", "22"], out.stdout
    out = ctl_run(daemon, "--json", "owners", "--sniffers")
    assert any(x["inode"] == info["inode"] and x["ports"] == [22]
               for x in json.loads(out.stdout)), out.stdout

    # attached again: the same socket, no second alert
    p.stdin.write("again\n")
    p.stdin.flush()
    assert p.stdout.readline().strip() == "ok"
    daemon.sync()
    assert [a["id"] for a in daemon.alerts() if is_ours(ino, info["inode"])(a)] == [al["id"]]

    # closed: it leaves the list, with no alert about it
    stop(p)
    wait_until(lambda: not listed_inode(daemon, ino, info["inode"]), timeout=PRUNE_S * 3,
               what="the closed sniffer to leave `owners --sniffers`")
    assert [a["id"] for a in daemon.alerts() if is_ours(ino, info["inode"])(a)] == [al["id"]]


# libpcap's first program (set_kernel_filter(): "ret #0", drop everything
# while it drains the socket), as tcpdump -ddd would print it
DROP_ALL = "1\n6 0 0 0\n"


def test_drop_all_filter_alerts_once_the_real_one_comes(daemon, netns, sniffers):
    """A socket whose filter accepts nothing reads nothing: listed, no alert
    yet; the program attached after it (libpcap's order) raises the one
    alert, naming the ports of that program."""
    ns = netns()
    ino = netns_inode(ns)
    p, info = sniffers(ns, "raw", None, next_expr="tcp port 22", first=DROP_ALL)
    wait_until(lambda: listed_inode(daemon, ino, info["inode"]),
               what="the drop-all sniffer in `owners --sniffers`")
    daemon.sync()
    assert not [a for a in daemon.alerts() if is_ours(ino, info["inode"])(a)]
    assert listed_inode(daemon, ino, info["inode"])[0]["alert_id"] is None
    p.stdin.write("again\n")
    p.stdin.flush()
    assert p.stdout.readline().strip() == "ok"
    al = daemon.wait_alert(is_ours(ino, info["inode"]))
    assert "comparing ports 22:" in al["message"], al["message"]
    daemon.sync()
    assert [a["id"] for a in daemon.alerts() if is_ours(ino, info["inode"])(a)] == [al["id"]]
    assert listed_inode(daemon, ino, info["inode"])[0]["ports"] == [22]


def test_a_filter_that_cannot_be_read_is_counted(daemon_factory, netns, sniffers):
    """The owner closes its sniffer before the daemon reads the filter (the
    daemon is stopped meanwhile): the alert still comes, with its ports
    unknown, and stats.sniffers.read_errors counts the filter not read."""
    import signal
    d = daemon_factory()
    ns = netns()
    ino = netns_inode(ns)
    before = d.stats()["sniffers"]["read_errors"]
    os.kill(d.pid, signal.SIGSTOP)
    try:
        p, info = sniffers(ns, "raw", "tcp port 22")
        stop(p)
    finally:
        os.kill(d.pid, signal.SIGCONT)
    al = d.wait_alert(is_ours(ino, info["inode"]))
    assert "comparing ports unknown" in al["message"], al["message"]
    assert d.stats()["sniffers"]["read_errors"] == before + 1


def test_tcpdump_allowed_by_its_exe(daemon_factory, netns):
    exe = os.path.realpath(TCPDUMP)
    daemon = daemon_factory(config="[alerts]\nallow = sniffer exe=%s\n" % exe)
    ns = netns()
    ino = netns_inode(ns)
    before = daemon.stats()["alerts_silenced"]
    p = subprocess.Popen(["ip", "netns", "exec", ns, TCPDUMP, "-i", "lo", "-n", "-Z", "root",
                          "tcp port 22"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True)
    try:
        # tcpdump says so once its filter is attached and it reads
        line = p.stderr.readline()
        while line and "listening on" not in line:
            line = p.stderr.readline()
        assert "listening on lo" in line, line
        wait_until(lambda: any(f["netns"] == ino and f["pid"] == p.pid and f["ports"] == [22]
                               for f in listed(daemon)),
                   what="tcpdump in `owners --sniffers` with port 22")
        f = [f for f in listed(daemon) if f["netns"] == ino and f["pid"] == p.pid][0]
        assert (f["type"], f["interface"], f["exe"], f["alert_id"]) == \
            ("packet", "lo", exe, None), f
        daemon.sync()
        assert not [a for a in daemon.alerts()
                    if a["reason"] == "packet_sniffer" and a["netns"] == ino], daemon.alerts()
        assert daemon.stats()["alerts_silenced"] > before
    finally:
        p.terminate()
        p.wait(timeout=10)


def test_packet_sniffer_older_than_the_daemon(daemon_factory, netns, sniffers):
    ns = netns()
    ino = netns_inode(ns)
    _, info = sniffers(ns, "packet", "udp dst port 53")
    daemon = daemon_factory()
    # found by the start-up scan (packet_diag), before any event could show it
    f = listed_inode(daemon, ino, info["inode"])
    assert len(f) == 1, listed(daemon)
    f = f[0]
    assert (f["type"], f["family"], f["protocol"], f["interface"], f["ports"], f["pid"]) == \
        ("packet", "packet", "all", "any", [53], info["pid"]), f
    al = daemon.wait_alert(is_ours(ino, info["inode"]), timeout=1)
    assert al["id"] == f["alert_id"]
    assert "comparing ports 53" in al["message"], al["message"]


def test_freebind_and_transparent_flags_in_owners(daemon, netns, actors):
    """Issue 19, item 4 (the flags): IP_FREEBIND before bind and
    IP_TRANSPARENT after it (a tracked socket's setsockopt event) are shown
    by `owners`, in JSON and as FB/TP in the Flags column."""
    ns = netns()
    ino = netns_inode(ns)
    a = actors(netns=ns)
    a.socket("s", "inet", "tcp")
    assert a.setsockopt("s", "freebind")["ok"]
    r = a.bind("s", "192.0.2.7", 8080)  # not an address of the namespace: the free bind
    assert r["ok"], r
    s = daemon.wait_inode(r["inode"], port=8080, netns=ino)
    assert (s["freebind"], s["transparent"]) == (True, False), s
    assert a.setsockopt("s", "transparent")["ok"]  # needs CAP_NET_ADMIN: root actor
    wait_until(lambda: daemon.owners(port=8080, netns=ino)[0]["transparent"],
               what="the transparent flag of a bound socket")
    out = ctl_run(daemon, "owners", "--port", "8080", "--netns", str(ino))
    assert out.returncode == 0, out.stderr
    row = [line for line in out.stdout.splitlines() if "192.0.2.7:8080" in line]
    assert len(row) == 1 and row[0].split()[3] == "FB,TP", out.stdout
