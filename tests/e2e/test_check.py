"""portwatchctl check against the real daemon and real sockets in a fresh
netns: exit status 0 (would succeed) / 1 (would fail) / 2 (usage) / 3 (no
daemon), the JSON prediction's shape, blockers named with their rule and
TIME_WAIT time left, the netns chosen by --netns or --pid, and the advice
that `why` shares with it."""
import json
import subprocess
import time

import pytest

from pwe2e import PORTWATCHCTL, SOCKET_KEYS, netns_inode, wait_until

PORT = 7400


def ctl(daemon, *args):
    return subprocess.run([PORTWATCHCTL, "--socket", daemon.socket_path] + list(args),
                          capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)


def check_json(daemon, *args, status):
    r = ctl(daemon, "--json", "check", *args)
    assert r.returncode == status, (args, r.returncode, r.stdout, r.stderr)
    p = json.loads(r.stdout)
    assert {"ok", "rule", "blockers", "advice"} <= set(p), p
    assert p["ok"] is (status == 0)
    return p


@pytest.fixture
def ns(netns):
    name = netns()
    return name, netns_inode(name)


def test_listener_blocks_and_exit_codes(daemon, actors, ns):
    name, ino = ns
    a = actors(netns=name, uid=1600)
    r = a.bound("l", "0.0.0.0", PORT, listen=True, reuseaddr=True)

    # a specific address under a wildcard listener: refused, exit 1
    p = check_json(daemon, "tcp", "127.0.0.1:%d" % PORT, "--netns", str(ino), "--reuseaddr",
                   status=1)
    assert p["rule"] == "wildcard_listener" and p["errno_name"] == "EADDRINUSE"
    b = p["blockers"][0]
    assert SOCKET_KEYS <= set(b) and b["rule"] == "wildcard_listener"
    assert (b["pid"], b["uid"], b["state"], b["inode"]) == (a.pid, 1600, "LISTEN", r["inode"])
    assert b["reuseaddr"] is True and b["since"]
    assert "Stop the listener" in p["advice"] and "SO_REUSEPORT" in p["advice"]
    # the kernel agrees
    a.socket("x", reuseaddr=True)
    assert a.bind("x", "127.0.0.1", PORT)["errno"] == "EADDRINUSE"

    # another port, or the other family's wildcard with V6ONLY: free, exit 0
    check_json(daemon, "tcp", "127.0.0.1:%d" % (PORT + 1), "--netns", str(ino), status=0)
    check_json(daemon, "tcp", "[::]:%d" % PORT, "--v6only", "--netns", str(ino), status=0)
    # --pid: that process's netns; the daemon's own netns has no listener there
    check_json(daemon, "tcp", "127.0.0.1:%d" % PORT, "--pid", str(a.pid), status=1)
    check_json(daemon, "tcp", "127.0.0.1:%d" % PORT, status=0)

    # people's output names the holder and what would change the answer
    r = ctl(daemon, "check", "tcp", "127.0.0.1:%d" % PORT, "--netns", str(ino))
    assert r.returncode == 1
    assert "would fail with EADDRINUSE (rule wildcard_listener)" in r.stdout
    assert "%d/" % a.pid in r.stdout and "What would change the answer" in r.stdout

    # a namespace nobody holds: the daemon refuses the request (1, with a message)
    r = ctl(daemon, "check", "tcp", "127.0.0.1:80", "--netns", "4026500001")
    assert r.returncode == 1 and "4026500001" in r.stderr, (r.returncode, r.stderr)
    # usage errors: 2; no daemon: 3
    for bad in (["check"], ["check", "sctp", "1.2.3.4:80"], ["check", "tcp", "1.2.3.4"],
                ["check", "tcp", "1.2.3.4:70000"], ["check", "tcp", "[::1:80"],
                ["check", "udp", "1.2.3.4:80", "--connect", "1.2.3.4:81"],
                ["check", "tcp", "1.2.3.4:80", "--netns", "1", "--pid", "1"]):
        assert ctl(daemon, *bad).returncode == 2, bad
    r = subprocess.run([PORTWATCHCTL, "--socket", "/nonexistent/pw.sock", "check", "tcp",
                        "127.0.0.1:80"], capture_output=True, text=True, timeout=20)
    assert r.returncode == 3


def test_reuseport_uid_and_listen(daemon, actors, ns):
    name, ino = ns
    a = actors(netns=name, uid=1601)
    a.bound("l", "127.0.0.1", PORT, listen=True, reuseport=True)
    # same creator uid joins the group; another uid does not
    check_json(daemon, "tcp", "127.0.0.1:%d" % PORT, "--reuseport", "--uid", "1601", "--listen",
               "--netns", str(ino), status=0)
    p = check_json(daemon, "tcp", "127.0.0.1:%d" % PORT, "--reuseport", "--uid", "1602",
                   "--netns", str(ino), status=1)
    assert p["rule"] == "reuseport_uid"
    assert "uid 1601" in p["advice"]
    b = actors(netns=name, uid=1602)
    b.socket("s", reuseport=True)
    assert b.bind("s", "127.0.0.1", PORT)["errno"] == "EADDRINUSE"

    # two SO_REUSEADDR sockets share a bound address, but only one may listen
    c = actors(netns=name, uid=1603)
    c.bound("a", "127.0.0.2", PORT, reuseaddr=True)
    check_json(daemon, "tcp", "127.0.0.2:%d" % PORT, "--reuseaddr", "--netns", str(ino), status=0)
    p = check_json(daemon, "tcp", "127.0.0.2:%d" % PORT, "--reuseaddr", "--listen", "--netns",
                   str(ino), status=0)  # the holder does not listen yet
    assert c.listen("a")["ok"]
    p = check_json(daemon, "tcp", "127.0.0.2:%d" % PORT, "--reuseaddr", "--netns", str(ino),
                   status=1)
    assert p["rule"] == "listener"


def test_time_wait_blocker_and_why_advice(daemon, actors, ns):
    name, ino = ns
    srv = actors(netns=name, uid=1604)
    cli = actors(netns=name, uid=1605)
    srv.bound("l", "127.0.0.1", PORT, listen=True)
    cli.socket("c")
    assert cli.connect("c", "127.0.0.1", PORT)["ok"]
    srv.accept("l", "child")
    srv.close("child")   # the server closes first: its side keeps TIME_WAIT
    srv.close("l")
    wait_until(lambda: any(
        line.split()[3] in ("05", "06") for f in ("tcp", "tcp6")
        for line in open("/proc/%d/net/%s" % (srv.pid, f)).read().splitlines()[1:]
        if int(line.split()[1].rsplit(":", 1)[1], 16) == PORT), what="TIME_WAIT entry")

    p = check_json(daemon, "tcp", "127.0.0.1:%d" % PORT, "--netns", str(ino), status=1)
    assert p["rule"] == "time_wait"
    tw = p["blockers"][0]
    assert tw["state"] == "TIME_WAIT" and tw["rule"] == "time_wait"
    assert 1 <= tw["expires_s"] <= 60, tw
    assert "Wait %d s" % tw["expires_s"] in p["advice"] or \
        "Wait %d s" % (tw["expires_s"] - 1) in p["advice"], p["advice"]
    # the old socket had no SO_REUSEADDR: the new one setting it does not help
    check_json(daemon, "tcp", "127.0.0.1:%d" % PORT, "--reuseaddr", "--netns", str(ino),
               status=1)
    s = actors(netns=name, uid=1604)
    s.socket("n", reuseaddr=True)
    assert s.bind("n", "127.0.0.1", PORT)["errno"] == "EADDRINUSE"

    # why: same engine, same advice
    w = daemon.ok({"cmd": "why", "port": PORT, "netns": ino, "proto": "tcp",
                   "addr": "127.0.0.1"})
    assert w["prediction"]["rule"] == "time_wait"
    assert w["advice"] == w["prediction"]["advice"]
    # one answer, one state: every blocker is among the holders or TIME_WAIT entries listed
    for b in w["prediction"]["blockers"]:
        if b["state"] == "TIME_WAIT":
            assert any(t["raddr"] == b["raddr"] and t["rport"] == b["rport"]
                       for t in w["time_wait"]), (b, w["time_wait"])
        else:
            assert b["inode"] in [h["inode"] for h in w["holders"]], (b, w["holders"])
    assert "Wait" in w["explanation"] and "rule time_wait" in w["explanation"]
    assert "What would have let it through" in w["explanation"]  # the failed bind above
