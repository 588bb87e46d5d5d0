"""Alerts (DESIGN.md "Alert kinds and reasons") raised by real binds of
different owner groups (uid, executable), and the absence of alerts inside one
owner group."""
import re
import time

import pytest

from pwe2e import ALERT_KEYS, SOCKET_KEYS, TIME_RE, free_port, own_netns


def alert_about(port, kind, reason):
    return lambda a: a["port"] == port and a["kind"] == kind and a["reason"] == reason


def check_alert(a, *, severity, proto, addr, port, result, holder, contender):
    """holder/contender: (actor, inode) or (actor, set of inodes)."""
    assert ALERT_KEYS <= set(a), "missing alert keys: %s" % (ALERT_KEYS - set(a))
    assert SOCKET_KEYS <= set(a["holder"]) and SOCKET_KEYS <= set(a["contender"])
    assert a["severity"] == severity
    assert (a["proto"], a["addr"], a["port"]) == (proto, addr, port)
    assert a["netns"] == own_netns()
    assert a["result"] == result
    assert isinstance(a["id"], int)
    assert re.match(TIME_RE, a["time"]), a["time"]
    assert isinstance(a["message"], str) and a["message"]
    for side, (actor, inodes) in (("holder", holder), ("contender", contender)):
        s = a[side]
        inodes = inodes if isinstance(inodes, (set, frozenset)) else {inodes}
        assert s["pid"] == actor.pid, "%s pid %s, expected %d" % (side, s["pid"], actor.pid)
        assert s["uid"] == actor.uid, "%s uid %s, expected %d" % (side, s["uid"], actor.uid)
        assert s["exe"] == actor.exe, "%s exe %r, expected %r" % (side, s["exe"], actor.exe)
        assert s["inode"] in inodes, "%s inode %s, expected %s" % (side, s["inode"], inodes)


def test_udp_reuseaddr_share_across_uids(daemon, actors, port):
    a = actors(uid=1234)
    b = actors(uid=1235)
    ra = a.bound("u", "0.0.0.0", port, type="udp", reuseaddr=True)
    daemon.wait_inode(ra["inode"], port=port)
    rb = b.bound("u", "0.0.0.0", port, type="udp", reuseaddr=True)

    al = daemon.wait_alert(alert_about(port, "hijack_attempt", "udp_share"))
    check_alert(al, severity="critical", proto="udp", addr="0.0.0.0", port=port, result="ok",
                holder=(a, ra["inode"]), contender=(b, rb["inode"]))
    assert al["holder"]["reuseaddr"] is True and al["contender"]["reuseaddr"] is True
    # Each alert is raised once: once every event up to now is handled, this
    # is still the only alert about the port.
    daemon.sync()
    assert [x["id"] for x in daemon.alerts_on_port(port)] == [al["id"]]


def test_udp_share_same_uid_other_program_is_a_warning(daemon, actors, other_exe, port):
    a = actors(uid=1234)
    b = actors(uid=1234, exe=other_exe)
    ra = a.bound("u", "0.0.0.0", port, type="udp", reuseaddr=True)
    daemon.wait_inode(ra["inode"], port=port)
    rb = b.bound("u", "0.0.0.0", port, type="udp", reuseaddr=True)

    al = daemon.wait_alert(alert_about(port, "hijack_attempt", "udp_share"))
    check_alert(al, severity="warning", proto="udp", addr="0.0.0.0", port=port, result="ok",
                holder=(a, ra["inode"]), contender=(b, rb["inode"]))
    assert al["contender"]["comm"] == "nginx-like"


def test_udp_share_inside_one_owner_group_is_quiet(daemon, actors, port):
    a = actors(uid=1234)
    b = actors(uid=1234)  # same uid, same executable: forked-worker style sharing
    ra = a.bound("u", "0.0.0.0", port, type="udp", reuseaddr=True)
    rb = b.bound("u", "0.0.0.0", port, type="udp", reuseaddr=True)
    rc = a.bound("v", "0.0.0.0", port, type="udp", reuseaddr=True)
    for r in (ra, rb, rc):
        daemon.wait_inode(r["inode"], port=port)
    daemon.assert_no_alert(port)


def test_shadow_wildcard_readme_scenario(daemon, actors, port):
    a = actors(uid=1234)
    b = actors(uid=1235)
    ra = a.bound("u", "0.0.0.0", port, type="udp", reuseaddr=True)
    daemon.wait_inode(ra["inode"], port=port)
    b.socket("u", "inet", "udp", reuseaddr=True)
    t0 = time.monotonic()
    rb = b.bind("u", "127.0.0.1", port)
    assert rb["ok"], rb

    al = daemon.wait_alert(alert_about(port, "hijack_attempt", "shadow_wildcard"), timeout=1.0)
    assert time.monotonic() - t0 <= 1.0
    check_alert(al, severity="critical", proto="udp", addr="127.0.0.1", port=port, result="ok",
                holder=(a, ra["inode"]), contender=(b, rb["inode"]))
    assert al["holder"]["addr"] == "0.0.0.0" and al["contender"]["addr"] == "127.0.0.1"
    # One bind, one alert (not a udp_share as well).
    daemon.sync()
    assert [x["id"] for x in daemon.alerts_on_port(port)] == [al["id"]]


def test_shadow_by_the_other_family_under_dual_stack(daemon, actors, port):
    # [::] with IPV6_V6ONLY=0 holds every IPv4 address of the port (DESIGN rule 2);
    # 0.0.0.0 is "the other family's wildcard" and wins IPv4 delivery (rule 8).
    a = actors(uid=1234)
    b = actors(uid=1235)
    ra = a.bound("u", "::", port, type="udp", reuseaddr=True, v6only=False)
    daemon.wait_inode(ra["inode"], port=port)
    rb = b.bound("u", "0.0.0.0", port, type="udp", reuseaddr=True)

    al = daemon.wait_alert(alert_about(port, "hijack_attempt", "shadow_wildcard"))
    check_alert(al, severity="critical", proto="udp", addr="0.0.0.0", port=port, result="ok",
                holder=(a, ra["inode"]), contender=(b, rb["inode"]))


def test_reuseport_workers_then_other_program_then_other_uid(daemon, actors, other_exe, port):
    # Two workers of one binary under one uid: an owner group, no alert.
    w1 = actors(uid=1234)
    w2 = actors(uid=1234)
    r1 = w1.bound("l", "0.0.0.0", port, reuseport=True, listen=True)
    r2 = w2.bound("l", "0.0.0.0", port, reuseport=True, listen=True)
    for r in (r1, r2):
        daemon.wait_owner(lambda s, r=r: s["inode"] == r["inode"] and s["state"] == "LISTEN",
                          port=port)
    daemon.assert_no_alert(port)
    workers = {r1["inode"], r2["inode"]}

    # Another binary, same uid: the kernel lets it join; a warning.
    x = actors(uid=1234, exe=other_exe)
    rx = x.bound("l", "0.0.0.0", port, reuseport=True, listen=True)
    al = daemon.wait_alert(alert_about(port, "hijack_attempt", "reuseport_join"))
    assert al["holder"]["pid"] in (w1.pid, w2.pid)
    holder = w1 if al["holder"]["pid"] == w1.pid else w2
    check_alert(al, severity="warning", proto="tcp", addr="0.0.0.0", port=port, result="ok",
                holder=(holder, workers), contender=(x, rx["inode"]))
    # One join, one alert: not one per worker it joined, nor again at listen().
    daemon.sync()
    assert [j["id"] for j in daemon.alerts_of(port, "reuseport_join")] == [al["id"]]

    # Another uid: the kernel refuses (sk_uid differs) -> a conflict and a notice.
    y = actors(uid=1235)
    y.socket("l", "inet", "tcp", reuseport=True)
    ry = y.bind("l", "0.0.0.0", port)
    assert (ry["ok"], ry["errno"]) == (False, "EADDRINUSE")

    # Assumption: the holders listen, but the contender asked for SO_REUSEPORT
    # and the holders have it, so the one thing that refused it is the uid:
    # rule reuseport_uid (not listener).
    c = daemon.wait_conflict(lambda c: c["port"] == port and c["pid"] == y.pid)
    assert (c["op"], c["errno"], c["rule"]) == ("bind", 98, "reuseport_uid")
    assert c["uid"] == 1235 and c["reuseport"] is True
    assert workers & {h["inode"] for h in c["holders"]}

    bl = daemon.wait_alert(alert_about(port, "hijack_attempt", "blocked"))
    assert bl["severity"] == "notice"
    assert bl["result"] == "EADDRINUSE"
    assert (bl["contender"]["pid"], bl["contender"]["uid"]) == (y.pid, 1235)
    assert bl["contender"]["inode"] == ry["inode"]
    assert bl["holder"]["uid"] == 1234
    assert bl["holder"]["inode"] in workers | {rx["inode"]}
    # One refused bind, one alert (not one per holder), and the join's alert
    # was not raised again.
    daemon.sync()
    assert [x["id"] for x in daemon.alerts_of(port, "blocked")] == [bl["id"]]
    assert [j["id"] for j in daemon.alerts_of(port, "reuseport_join")] == [al["id"]]


def test_shared_bind_after_port_zero(daemon, actors, port):
    a = actors(uid=1234)
    ra = a.bound("s", "127.0.0.1", 0, reuseaddr=True)
    chosen = ra["port"]
    assert chosen != 0
    s = daemon.wait_inode(ra["inode"], pid=a.pid)
    assert s["port"] == chosen

    # Same actor, same port again: one owner group, nothing to say.
    rb = a.bound("t", "127.0.0.1", chosen, reuseaddr=True)
    daemon.wait_inode(rb["inode"], port=chosen)
    daemon.assert_no_alert(chosen)

    # Another uid on the bound, not listening address: a reuse collision.
    c = actors(uid=1235)
    rc = c.bound("s", "127.0.0.1", chosen, reuseaddr=True)
    al = daemon.wait_alert(alert_about(chosen, "reuse_collision", "shared_bind"))
    check_alert(al, severity="warning", proto="tcp", addr="127.0.0.1", port=chosen, result="ok",
                holder=(a, {ra["inode"], rb["inode"]}), contender=(c, rc["inode"]))


def test_udp_blocked_across_uids_is_a_notice(daemon, actors, port):
    a = actors(uid=1234)
    b = actors(uid=1235)
    ra = a.bound("u", "0.0.0.0", port, type="udp")  # no SO_REUSEADDR
    daemon.wait_inode(ra["inode"], port=port)
    b.socket("u", "inet", "udp", reuseaddr=True)
    rb = b.bind("u", "0.0.0.0", port)
    assert (rb["ok"], rb["errno"]) == (False, "EADDRINUSE")

    al = daemon.wait_alert(alert_about(port, "hijack_attempt", "blocked"))
    check_alert(al, severity="notice", proto="udp", addr="0.0.0.0", port=port,
                result="EADDRINUSE", holder=(a, ra["inode"]), contender=(b, rb["inode"]))
    daemon.sync()
    assert [x["id"] for x in daemon.alerts_on_port(port)] == [al["id"]]


def test_blocked_names_the_other_uids_socket(daemon, actors, port):
    """Issue 10: a bind refused by the caller's own listener (listed first:
    its rule ranks higher) and by another uid's socket is still a blocked
    hijack attempt, and the alert's holder is the other uid's socket."""
    a = actors(uid=1234)
    b = actors(uid=1235)
    ra = a.bound("s", "127.0.0.1", port, reuseaddr=True)
    daemon.wait_inode(ra["inode"], port=port)
    # both SO_REUSEADDR, a's socket not listening: b binds the wildcard and,
    # being the first to listen, listens (inet_csk_listen_start())
    rb = b.bound("l", "0.0.0.0", port, listen=True, reuseaddr=True)
    daemon.wait_owner(lambda s: s["inode"] == rb["inode"] and s["state"] == "LISTEN", port=port)
    b.socket("x", "inet", "tcp")
    rx = b.bind("x", "127.0.0.1", port)
    assert (rx["ok"], rx["errno"]) == (False, "EADDRINUSE")

    cf = daemon.wait_conflict(lambda c: c["port"] == port and c["pid"] == b.pid)
    assert [h["inode"] for h in cf["holders"]] == [rb["inode"], ra["inode"]], cf
    al = daemon.wait_alert(alert_about(port, "hijack_attempt", "blocked"))
    check_alert(al, severity="notice", proto="tcp", addr="127.0.0.1", port=port,
                result="EADDRINUSE", holder=(a, ra["inode"]), contender=(b, rx["inode"]))


@pytest.mark.parametrize("proto", ("udp", "tcp"))
def test_reuseport_steer_across_owner_groups(daemon, actors, port, other_exe, proto):
    """Issue 10: another owner group (same uid, another executable: the
    kernel lets it join) attaches a classic BPF program to the SO_REUSEPORT
    group both hold: it now picks who receives every datagram or connection.
    Critical, holder the victim's socket, contender the steering one; the
    same attach inside one owner group raises nothing."""
    victim = actors(uid=1500)
    steerer = actors(uid=1500, exe=other_exe)
    listen = proto == "tcp"
    rv = victim.bound("v", "127.0.0.1", port, type=proto, reuseport=True, listen=listen)
    daemon.wait_inode(rv["inode"], port=port)
    rs = steerer.bound("s", "127.0.0.1", port, type=proto, reuseport=True, listen=listen)
    daemon.wait_alert(alert_about(port, "hijack_attempt", "reuseport_join"))
    # inside one owner group: the victim steers its own second socket's group
    port2 = free_port()
    rv2 = victim.bound("v2", "127.0.0.1", port2, type=proto, reuseport=True, listen=listen)
    victim.bound("v3", "127.0.0.1", port2, type=proto, reuseport=True, listen=listen)
    r = victim.do(op="reuseport_cbpf", name="v2")
    assert r["ok"], r
    r = steerer.do(op="reuseport_cbpf", name="s")
    assert r["ok"], r

    al = daemon.wait_alert(alert_about(port, "hijack_attempt", "reuseport_steer"))
    check_alert(al, severity="critical", proto=proto, addr="127.0.0.1", port=port, result="ok",
                holder=(victim, rv["inode"]), contender=(steerer, rs["inode"]))
    assert al["contender"]["reuseport_bpf"] is True
    assert "BPF program" in al["message"]
    daemon.sync()
    assert not daemon.alerts_of(port2, "reuseport_steer")
    own = daemon.owners(port=port2)
    assert any(s["inode"] == rv2["inode"] and s["reuseport_bpf"] for s in own), own


def test_takeover_within_window(daemon, actors, port):
    a = actors(uid=1234)
    ra = a.bound("l", "127.0.0.1", port, listen=True)
    daemon.wait_owner(lambda s: s["inode"] == ra["inode"] and s["state"] == "LISTEN", port=port)
    c0 = daemon.path_counters()
    a.exit_now()
    daemon.wait_gone([ra["inode"]], port=port)
    daemon.assert_by_events(c0, release=1)

    b = actors(uid=1235)
    rb = b.bound("l", "127.0.0.1", port)
    al = daemon.wait_alert(alert_about(port, "hijack_attempt", "takeover"))
    # The holder is the listener that went away (its pid is gone by now).
    check_alert(al, severity="critical", proto="tcp", addr="127.0.0.1", port=port, result="ok",
                holder=(a, ra["inode"]), contender=(b, rb["inode"]))


def test_owner_restart_is_not_a_takeover(daemon, actors, port):
    a = actors(uid=1234)
    ra = a.bound("l", "127.0.0.1", port, listen=True)
    daemon.wait_owner(lambda s: s["inode"] == ra["inode"] and s["state"] == "LISTEN", port=port)
    a.exit_now()
    daemon.wait_gone([ra["inode"]], port=port)

    again = actors(uid=1234)  # same uid, same executable
    rb = again.bound("l", "127.0.0.1", port, listen=True)
    daemon.wait_owner(lambda s: s["inode"] == rb["inode"] and s["state"] == "LISTEN", port=port)
    daemon.assert_no_alert(port)
