"""`owners`: the ownership table follows real binds, listens, setsockopts and
closes, with the contract's fields (DESIGN.md "JSON objects")."""
import re
import socket

import pytest

from pwe2e import (SOCKET_KEYS, TIME_RE, enter_cgroup, expected_unit, free_port, netns_inode,
                   own_netns, wait_until)


def entry(daemon, inode, **filters):
    """The owners entry of one socket inode (waits for it)."""
    return daemon.wait_inode(inode, **filters)


def test_tcp_bound_then_listening_then_closed(daemon, actors, port):
    a = actors(uid=1234)
    res = a.bound("s", "127.0.0.1", port, reuseaddr=True)

    s = entry(daemon, res["inode"], port=port)
    assert SOCKET_KEYS <= set(s), "missing keys: %s" % (SOCKET_KEYS - set(s))
    assert s["netns"] == own_netns()
    assert (s["proto"], s["family"], s["addr"], s["port"]) == ("tcp", "inet", "127.0.0.1", port)
    assert s["state"] == "BOUND"
    assert (s["reuseaddr"], s["reuseport"], s["v6only"]) == (True, False, False)
    assert (s["pid"], s["uid"]) == (a.pid, 1234)
    assert s["comm"] == "python3"
    assert s["exe"] == a.exe
    # The actor runs in no systemd unit here (the test runner's cgroup is
    # the root, `0::/`); whatever /proc/PID/cgroup says is what unit must say.
    assert s["unit"] == expected_unit(a.pid), (s["unit"], open("/proc/%d/cgroup" % a.pid).read())
    assert re.match(TIME_RE, s["since"]), s["since"]

    assert a.listen("s")["ok"]
    daemon.wait_owner(lambda e: e["inode"] == res["inode"] and e["state"] == "LISTEN", port=port)

    c0 = daemon.path_counters()
    a.close("s")
    daemon.wait_gone([res["inode"]], port=port)
    daemon.assert_by_events(c0, release=1)


def test_unit_from_a_service_cgroup(daemon, unit_cgroup, actors, port):
    # A process in a cgroup named like a systemd service is attributed to
    # that unit: systemd is not PID 1 here, so we make the cgroup ourselves.
    unit, path = unit_cgroup()
    a = actors(uid=1234)
    enter_cgroup(path, a.pid)  # before it binds
    assert expected_unit(a.pid) == unit, open("/proc/%d/cgroup" % a.pid).read()
    r = a.bound("t", "127.0.0.1", port, listen=True)
    s = daemon.wait_owner(lambda e: e["inode"] == r["inode"] and e["state"] == "LISTEN",
                          port=port)
    assert s["unit"] == unit
    assert s["pid"] == a.pid
    # The release program is attached at the cgroup root: it fires for a
    # child cgroup too.
    c0 = daemon.path_counters()
    a.close("t")
    daemon.wait_gone([r["inode"]], port=port)
    daemon.assert_by_events(c0, release=1)


def test_udp_dual_stack_and_ipv6_loopback(daemon, actors, port):
    a = actors(uid=1234)
    dual = a.bound("u", "::", port, type="udp", v6only=False)
    lo6 = a.bound("t", "::1", port, type="tcp")

    u = entry(daemon, dual["inode"], port=port)
    assert (u["proto"], u["family"], u["addr"], u["port"]) == ("udp", "inet6", "::", port)
    assert u["v6only"] is False
    assert u["state"] == "BOUND"
    assert (u["pid"], u["uid"]) == (a.pid, 1234)

    # A specific non-mapped IPv6 address turns IPV6_V6ONLY on by itself (inet6_bind).
    t = entry(daemon, lo6["inode"], port=port)
    assert (t["proto"], t["family"], t["addr"]) == ("tcp", "inet6", "::1")
    assert t["v6only"] is True


@pytest.mark.parametrize("v6only", [False, True], ids=["v6only0", "v6only1"])
def test_v6only_of_a_wildcard_ipv6_socket(daemon, actors, port, v6only):
    # IPV6_V6ONLY can only be set before bind: once the socket has a port,
    # this kernel refuses to change it with EINVAL (do_ipv6_setsockopt), so
    # the value set before bind is the one `owners` must show, and a refused
    # attempt afterwards changes nothing.
    a = actors(uid=1234)
    u = a.bound("u", "::", port, type="udp", v6only=v6only)
    t = a.bound("t", "::", port, type="tcp", v6only=v6only, listen=True)
    for r in (u, t):
        s = entry(daemon, r["inode"], port=port)
        assert (s["family"], s["addr"], s["v6only"]) == ("inet6", "::", v6only), s

    res = a.setsockopt("u", "v6only", int(not v6only))
    assert (res["ok"], res["errno"]) == (False, "EINVAL"), res
    daemon.sync()
    s = entry(daemon, u["inode"], port=port)
    assert s["v6only"] is v6only, "a refused setsockopt changed v6only in owners"


def test_port_zero_lists_the_chosen_port(daemon, actors):
    a = actors(uid=1234)
    res = a.bound("s", "127.0.0.1", 0, reuseaddr=True)
    chosen = res["port"]
    assert chosen != 0

    s = entry(daemon, res["inode"], pid=a.pid)
    assert s["port"] == chosen
    assert not [e for e in daemon.owners(pid=a.pid) if e["port"] == 0], \
        "a socket bound to port 0 must be listed under the port the kernel chose"


def test_setsockopt_after_bind_is_followed(daemon, actors, port):
    # DESIGN rule 5: flags are read at conflict time, so the table follows them.
    a = actors(uid=1234)
    res = a.bound("u", "0.0.0.0", port, type="udp")
    s = entry(daemon, res["inode"], port=port)
    assert s["reuseaddr"] is False
    c0 = daemon.path_counters()

    assert a.setsockopt("u", "reuseaddr", 1)["ok"]
    daemon.wait_owner(lambda e: e["inode"] == res["inode"] and e["reuseaddr"] is True, port=port)
    c1 = daemon.assert_by_events(c0, sockopt=1)

    assert a.setsockopt("u", "reuseport", 1)["ok"]
    daemon.wait_owner(lambda e: e["inode"] == res["inode"] and e["reuseport"] is True, port=port)
    c2 = daemon.assert_by_events(c1, sockopt=1)

    assert a.setsockopt("u", "reuseaddr", 0)["ok"]
    daemon.wait_owner(lambda e: e["inode"] == res["inode"] and e["reuseaddr"] is False, port=port)
    daemon.assert_by_events(c2, sockopt=1)
    assert daemon.stats()["reconciliations"] == c0["reconciliations"]


def test_filters(daemon, actors, port):
    a = actors(uid=1234)
    t = a.bound("t", "127.0.0.1", port, type="tcp")
    u = a.bound("u", "0.0.0.0", port, type="udp")
    entry(daemon, t["inode"], port=port)
    entry(daemon, u["inode"], port=port)

    by_proto = daemon.owners(port=port, proto="udp")
    assert u["inode"] in [s["inode"] for s in by_proto]
    assert all(s["proto"] == "udp" and s["port"] == port for s in by_proto)

    by_pid = daemon.owners(pid=a.pid)
    assert {t["inode"], u["inode"]} <= {s["inode"] for s in by_pid}
    assert all(s["pid"] == a.pid for s in by_pid)

    # Assumption (protocol.md is silent): `addr` selects that exact address, it
    # is not an overlap query.
    by_addr = daemon.owners(port=port, addr="127.0.0.1")
    assert [s["inode"] for s in by_addr] == [t["inode"]]

    by_netns = daemon.owners(netns=own_netns(), port=port)
    assert {t["inode"], u["inode"]} <= {s["inode"] for s in by_netns}
    assert daemon.owners(netns=1, port=port) == []


def test_sorted_by_netns_proto_port(daemon, actors):
    a = actors(uid=1234)
    ports = sorted(free_port() for _ in range(3))
    for i, p in enumerate(reversed(ports)):
        a.bound("u%d" % i, "0.0.0.0", p, type="udp")
        a.bound("t%d" % i, "127.0.0.1", p, type="tcp")
    wait_until(lambda: len(daemon.owners(pid=a.pid)) == 6, what="six sockets in owners")
    listed = daemon.owners()
    keys = [(s["netns"], s["proto"], s["port"]) for s in listed]
    assert keys == sorted(keys)


def test_bind_before_connect_shows_established(daemon, actors):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    lport = listener.getsockname()[1]
    try:
        a = actors(uid=1234)
        res = a.bound("c", "127.0.0.1", 0)
        assert a.connect("c", "127.0.0.1", lport)["ok"]
        s = daemon.wait_owner(lambda e: e["inode"] == res["inode"] and e["state"] == "ESTABLISHED",
                              pid=a.pid)
        assert s["port"] == res["port"]
        # protocol.md additions in version 1: raddr/rport of a connected socket
        assert (s.get("raddr"), s.get("rport")) == ("127.0.0.1", lport)
        assert s.get("sk_uid") == 1234
    finally:
        listener.close()


def test_one_port_in_two_netns(daemon_factory, actors, netns, port):
    # A short reconcile interval so that we also see the periodic snapshot,
    # which has to walk the namespaces, keep both sockets.
    daemon = daemon_factory("--reconcile-interval", "1")
    ns1, ns2 = netns(), netns()
    a = actors(uid=1234, netns=ns1)
    b = actors(uid=1235, netns=ns2)
    ua = a.bound("u", "0.0.0.0", port, type="udp", reuseaddr=True)
    ta = a.bound("t", "0.0.0.0", port, type="tcp", listen=True)
    ub = b.bound("u", "0.0.0.0", port, type="udp", reuseaddr=True)
    tb = b.bound("t", "0.0.0.0", port, type="tcp", listen=True)
    assert a.netns == netns_inode(ns1) and b.netns == netns_inode(ns2)

    want = {ua["inode"]: (a, ns1), ta["inode"]: (a, ns1), ub["inode"]: (b, ns2),
            tb["inode"]: (b, ns2)}

    def all_listed():
        got = {s["inode"]: s for s in daemon.owners(port=port) if s["inode"] in want}
        return got if len(got) == len(want) else None

    got = wait_until(all_listed, what="both namespaces' sockets in owners")
    for inode, (actor, ns) in want.items():
        assert got[inode]["netns"] == netns_inode(ns)
        assert (got[inode]["pid"], got[inode]["uid"]) == (actor.pid, actor.uid)
    # Only the namespace filter's own sockets.
    only1 = daemon.owners(port=port, netns=netns_inode(ns1))
    assert {s["inode"] for s in only1} == {ua["inode"], ta["inode"]}

    # Sockets in different network namespaces never conflict (DESIGN rule 1).
    daemon.assert_no_alert(port)

    # A reconciliation later, they are all still there.
    r0 = daemon.stats()["reconciliations"]
    wait_until(lambda: daemon.stats()["reconciliations"] >= r0 + 2, timeout=8,
               what="two reconciliations")
    assert all_listed(), "a reconciliation dropped sockets of another namespace"
