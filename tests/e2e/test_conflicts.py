"""Conflicts: binds, listens and connects the kernel refused, each with the
rule that refused it (DESIGN.md "Contract": `rule`)."""
import re
import socket

from pwe2e import CONFLICT_KEYS, SOCKET_KEYS, TIME_RE, own_netns, tcp_state, wait_until


def check_conflict(c, *, op, errno_num, errno_name, rule, actor, proto, addr, port,
                   reuseaddr=False, reuseport=False):
    assert CONFLICT_KEYS <= set(c), "missing conflict keys: %s" % (CONFLICT_KEYS - set(c))
    assert (c["op"], c["errno"], c["rule"]) == (op, errno_num, rule)
    assert c.get("errno_name") == errno_name
    assert (c["pid"], c["uid"]) == (actor.pid, actor.uid)
    assert c["comm"] == "python3"
    assert (c["netns"], c["proto"], c["addr"], c["port"]) == (own_netns(), proto, addr, port)
    assert (c["reuseaddr"], c["reuseport"]) == (reuseaddr, reuseport)
    assert re.match(TIME_RE, c["time"]), c["time"]
    assert isinstance(c["explanation"], str) and c["explanation"]
    for h in c["holders"]:
        assert SOCKET_KEYS <= set(h)


def conflict_of(actor, port, op):
    return lambda c: c["pid"] == actor.pid and c["port"] == port and c["op"] == op


def test_second_listener_bind_is_refused(daemon, actors, port):
    a = actors(uid=1234)
    b = actors(uid=1234)
    ra = a.bound("l", "127.0.0.1", port, listen=True)
    daemon.wait_owner(lambda s: s["inode"] == ra["inode"] and s["state"] == "LISTEN", port=port)
    b.socket("l")
    rb = b.bind("l", "127.0.0.1", port)
    assert (rb["ok"], rb["errno"]) == (False, "EADDRINUSE")

    c = daemon.wait_conflict(conflict_of(b, port, "bind"))
    check_conflict(c, op="bind", errno_num=98, errno_name="EADDRINUSE", rule="listener", actor=b,
                   proto="tcp", addr="127.0.0.1", port=port)
    held = {h["inode"]: h for h in c["holders"]}
    assert ra["inode"] in held
    assert held[ra["inode"]]["pid"] == a.pid and held[ra["inode"]]["state"] == "LISTEN"


def test_second_listen_of_two_reuseaddr_sockets_is_refused(daemon, actors, port):
    # DESIGN rule 4: both binds succeed, the first listen() wins.
    a = actors(uid=1234)
    r1 = a.bound("a", "127.0.0.1", port, reuseaddr=True)
    r2 = a.bound("b", "127.0.0.1", port, reuseaddr=True)
    assert a.listen("a")["ok"]
    res = a.listen("b")
    assert (res["ok"], res["errno"]) == (False, "EADDRINUSE")

    c = daemon.wait_conflict(conflict_of(a, port, "listen"))
    check_conflict(c, op="listen", errno_num=98, errno_name="EADDRINUSE", rule="listener",
                   actor=a, proto="tcp", addr="127.0.0.1", port=port, reuseaddr=True)
    holders = {h["inode"] for h in c["holders"]}
    assert r1["inode"] in holders
    assert r2["inode"] not in holders, "the refused socket itself is not a holder"


def test_wildcard_listener_blocks_specific_bind(daemon, actors, port):
    a = actors(uid=1234)
    b = actors(uid=1234)
    ra = a.bound("l", "0.0.0.0", port, listen=True)
    daemon.wait_owner(lambda s: s["inode"] == ra["inode"] and s["state"] == "LISTEN", port=port)
    b.socket("s")
    rb = b.bind("s", "127.0.0.1", port)
    assert (rb["ok"], rb["errno"]) == (False, "EADDRINUSE")

    c = daemon.wait_conflict(conflict_of(b, port, "bind"))
    check_conflict(c, op="bind", errno_num=98, errno_name="EADDRINUSE",
                   rule="wildcard_listener", actor=b, proto="tcp", addr="127.0.0.1", port=port)
    assert ra["inode"] in {h["inode"] for h in c["holders"]}


def test_udp_without_reuseaddr_is_refused(daemon, actors, port):
    a = actors(uid=1234)
    b = actors(uid=1234)
    ra = a.bound("u", "127.0.0.1", port, type="udp")
    daemon.wait_inode(ra["inode"], port=port)
    b.socket("u", "inet", "udp", reuseaddr=True)
    rb = b.bind("u", "127.0.0.1", port)
    assert (rb["ok"], rb["errno"]) == (False, "EADDRINUSE")

    c = daemon.wait_conflict(conflict_of(b, port, "bind"))
    check_conflict(c, op="bind", errno_num=98, errno_name="EADDRINUSE", rule="no_reuseaddr",
                   actor=b, proto="udp", addr="127.0.0.1", port=port, reuseaddr=True)
    assert ra["inode"] in {h["inode"] for h in c["holders"]}


def test_bind_before_connect_twice_to_one_destination(daemon, actors):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    lport = listener.getsockname()[1]
    try:
        a = actors(uid=1234)
        ra = a.bound("a", "127.0.0.1", 0, reuseaddr=True)
        q = ra["port"]
        assert a.connect("a", "127.0.0.1", lport)["ok"]
        rb = a.bound("b", "127.0.0.1", q, reuseaddr=True)
        res = a.connect("b", "127.0.0.1", lport)
        assert (res["ok"], res["errno"]) == (False, "EADDRNOTAVAIL")

        # Assumption: the conflict's addr/port are the local side of the 4-tuple.
        c = daemon.wait_conflict(conflict_of(a, q, "connect"))
        check_conflict(c, op="connect", errno_num=99, errno_name="EADDRNOTAVAIL",
                       rule="four_tuple", actor=a, proto="tcp", addr="127.0.0.1", port=q,
                       reuseaddr=True)
        holders = {h["inode"]: h for h in c["holders"]}
        assert ra["inode"] in holders
        assert holders[ra["inode"]]["state"] == "ESTABLISHED"
        assert rb["inode"] not in holders
    finally:
        listener.close()


def server_into_time_wait(actors, daemon, port):
    """A SO_REUSEADDR server on 127.0.0.1:port closes its accepted connection
    first (active close: TIME_WAIT on the server's 4-tuple), then exits."""
    srv = actors(uid=1234)
    rl = srv.bound("l", "127.0.0.1", port, reuseaddr=True, listen=True)
    daemon.wait_owner(lambda s: s["inode"] == rl["inode"] and s["state"] == "LISTEN", port=port)
    cli = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        assert srv.accept("l", "c")["ok"]
        assert srv.close("c")["ok"]
        assert cli.recv(1) == b""  # the server's FIN
    finally:
        cli.close()
    wait_until(lambda: tcp_state(port), what="a TIME_WAIT entry on port %d" % port)
    c0 = daemon.path_counters()
    srv.exit_now()
    daemon.wait_gone([rl["inode"]], port=port)
    daemon.assert_by_events(c0, release=1)
    return srv


def test_restart_over_own_time_wait_with_reuseaddr(daemon, actors, port):
    server_into_time_wait(actors, daemon, port)
    new = actors(uid=1234)  # the same program restarting
    res = new.bound("l", "127.0.0.1", port, reuseaddr=True, listen=True)
    daemon.wait_owner(lambda s: s["inode"] == res["inode"] and s["state"] == "LISTEN", port=port)
    daemon.assert_no_alert(port)
    assert daemon.conflicts_on_port(port) == []


def test_restart_over_time_wait_without_reuseaddr(daemon, actors, port):
    server_into_time_wait(actors, daemon, port)
    new = actors(uid=1234)
    new.socket("l")
    res = new.bind("l", "127.0.0.1", port)
    assert (res["ok"], res["errno"]) == (False, "EADDRINUSE")

    c = daemon.wait_conflict(conflict_of(new, port, "bind"))
    check_conflict(c, op="bind", errno_num=98, errno_name="EADDRINUSE", rule="time_wait",
                   actor=new, proto="tcp", addr="127.0.0.1", port=port)

    why = daemon.ok({"cmd": "why", "port": port, "proto": "tcp"})
    assert why["port"] == port
    assert why["time_wait"], "why must list the kernel's TIME_WAIT entries on the port"
    for tw in why["time_wait"]:
        assert (tw["port"], tw["state"]) == (port, "TIME_WAIT")
    assert any(x["rule"] == "time_wait" for x in why["conflicts"])
    assert isinstance(why["explanation"], str) and why["explanation"]
