"""Ephemeral-port exhaustion: connect() from unbound sockets toward one
listener until the namespace's ip_local_port_range is used up. The failure
is a conflict with rule ephemeral_exhausted and details (range, ports in
use toward the destination, top owners); the episode raises exactly one
resource/ephemeral_exhausted alert, not one per failure; `check --connect`
predicts it beforehand."""
import subprocess

import pytest

from pwe2e import netns_inode

LO, HI = 40000, 40009      # 10 ports: connect() may use all of them
LISTEN_PORT = 7000


def test_connect_exhausts_the_range_once_per_episode(daemon, netns, actors):
    name = netns()
    ino = netns_inode(name)
    subprocess.run(["ip", "netns", "exec", name, "sysctl", "-qw",
                    "net.ipv4.ip_local_port_range=%d %d" % (LO, HI)], check=True, timeout=10)
    server = actors(netns=name, uid=1500)
    server.bound("l", "127.0.0.1", LISTEN_PORT, listen=True)
    client = actors(netns=name, uid=1501)

    def predict():
        return daemon.ok({"cmd": "check", "netns": ino, "proto": "tcp", "addr": "0.0.0.0",
                          "port": 0, "raddr": "127.0.0.1", "rport": LISTEN_PORT,
                          "uid": 1501})["prediction"]

    first = predict()
    assert first["ok"] is True, first
    assert first["range"] == [LO, HI] and first["free_ports"] == HI - LO + 1, first

    connected = 0
    failures = []
    for i in range(HI - LO + 1 + 3):
        client.socket("c%d" % i)
        before = predict()
        res = client.connect("c%d" % i, "127.0.0.1", LISTEN_PORT)
        # the prediction before each call is what the kernel then answers
        assert before["ok"] == res["ok"], (i, before, res)
        if res["ok"]:
            connected += 1
            assert LO <= res["port"] <= HI
        else:
            assert res["errno"] == "EADDRNOTAVAIL", res
            assert before["rule"] == "ephemeral_exhausted", before
            assert before["errno_name"] == "EADDRNOTAVAIL"
            assert "ip_local_port_range" in before["advice"]
            assert "%d-%d" % (LO, HI) in before["advice"]
            failures.append(res)
    assert connected == HI - LO + 1 and len(failures) == 3

    daemon.wait_conflict(lambda c: c["netns"] == ino and c["rule"] == "ephemeral_exhausted")
    daemon.sync()
    conflicts = [c for c in daemon.conflicts() if c["netns"] == ino]
    assert len(conflicts) == 3, conflicts
    for c in conflicts:
        assert c["op"] == "connect" and c["errno_name"] == "EADDRNOTAVAIL"
        assert c["rule"] == "ephemeral_exhausted"
        assert c["pid"] == client.pid and c["uid"] == 1501
        eph = c["ephemeral"]
        assert eph["range"] == [LO, HI]
        assert eph["destination"] == "127.0.0.1:%d" % LISTEN_PORT
        assert eph["in_use"] == HI - LO + 1, eph
    top = conflicts[0]["ephemeral"]["top_owners"]
    assert top and top[0]["pid"] == client.pid and top[0]["ports"] == HI - LO + 1, top
    assert top[0]["uid"] == 1501 and top[0]["comm"]

    alerts = [a for a in daemon.alerts() if a["netns"] == ino]
    assert len(alerts) == 1, alerts
    a = alerts[0]
    assert (a["kind"], a["reason"], a["severity"]) == ("resource", "ephemeral_exhausted",
                                                       "warning")
    assert a["result"] == "EADDRNOTAVAIL"
    assert a["contender"]["pid"] == client.pid
    assert a["holder"]["pid"] == client.pid   # the top owner
    assert a["ephemeral"]["in_use"] == HI - LO + 1
    assert "ip_local_port_range %d-%d" % (LO, HI) in a["message"]
    assert daemon.stats()["alerts_by_kind"]["resource"] == 1


def test_ephemeral_alert_reaches_syslog_with_its_facts(daemon_factory, rsyslog, netns, actors):
    daemon = daemon_factory()
    name = netns()
    subprocess.run(["ip", "netns", "exec", name, "sysctl", "-qw",
                    "net.ipv4.ip_local_port_range=%d %d" % (LO, LO + 3)], check=True, timeout=10)
    server = actors(netns=name, uid=1502)
    server.bound("l", "127.0.0.1", LISTEN_PORT, listen=True)
    client = actors(netns=name, uid=1503)
    results = []
    for i in range(6):
        client.socket("c%d" % i)
        results.append(client.connect("c%d" % i, "127.0.0.1", LISTEN_PORT))
    assert [r["ok"] for r in results] == [True] * 4 + [False] * 2, results
    line = rsyslog.wait_line(lambda l: "kind=resource reason=ephemeral_exhausted" in l,
                             daemon=daemon)
    assert line.startswith("daemon.warning "), line
    assert "range=%d-%d in_use=4 destination=127.0.0.1:%d" % (LO, LO + 3, LISTEN_PORT) in line
    assert 'contender="pid=%d ' % client.pid in line
    rsyslog.sync()
    assert len([l for l in rsyslog.lines_of(daemon) if "reason=ephemeral_exhausted" in l]) == 1


@pytest.mark.parametrize("proto", ["tcp", "udp"])
def test_bind_port_zero_exhausts_the_range(daemon, netns, actors, proto):
    name = netns()
    ino = netns_inode(name)
    lo, hi = LO, LO + 3
    subprocess.run(["ip", "netns", "exec", name, "sysctl", "-qw",
                    "net.ipv4.ip_local_port_range=%d %d" % (lo, hi)], check=True, timeout=10)
    a = actors(netns=name, uid=1504)
    got = []
    for i in range(hi - lo + 1 + 2):
        pred = daemon.ok({"cmd": "check", "netns": ino, "proto": proto, "addr": "127.0.0.1",
                          "port": 0, "uid": 1504})["prediction"]
        a.socket("s%d" % i, type=proto)
        res = a.bind("s%d" % i, "127.0.0.1", 0)
        assert pred["ok"] == res["ok"], (i, pred, res)
        if res["ok"]:
            got.append(res["port"])
            assert pred["free_ports"] == hi - lo + 1 - i
        else:
            assert res["errno"] == "EADDRINUSE" and pred["errno_name"] == "EADDRINUSE"
            assert pred["rule"] == "ephemeral_exhausted" and pred["in_use"] == hi - lo + 1
    assert sorted(got) == list(range(lo, hi + 1))
    daemon.wait_conflict(lambda c: c["netns"] == ino and c["rule"] == "ephemeral_exhausted")
    daemon.sync()
    conflicts = [c for c in daemon.conflicts() if c["netns"] == ino]
    assert len(conflicts) == 2 and all(c["op"] == "bind" for c in conflicts), conflicts
    assert conflicts[0]["ephemeral"]["destination"] is None
    assert conflicts[0]["ephemeral"]["in_use"] == hi - lo + 1
    alerts = [x for x in daemon.alerts() if x["netns"] == ino]
    assert [(x["kind"], x["reason"]) for x in alerts] == [("resource", "ephemeral_exhausted")]
