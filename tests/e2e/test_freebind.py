"""Issue 19, item 4 (free binds): IP_FREEBIND lets a process bind a service
address before the namespace has it; when the address is configured, or
another program binds it, the first socket takes the traffic of its port.
portwatchd keeps such binds (checked against the namespace's addresses) and
follows the namespace's RTM_NEWADDR notifications while it has any: one
diversion/freebind alert per free bind, when the address comes."""
import subprocess

from pwe2e import netns_inode, wait_until


def freebinds(daemon, ino):
    return [a for a in daemon.alerts() if (a["kind"], a["reason"], a["netns"]) ==
            ("diversion", "freebind", ino)]


def test_free_bind_then_the_address_is_added(daemon, netns, actors):
    ns = netns()
    ino = netns_inode(ns)
    a = actors(netns=ns)
    a.socket("s", "inet", "tcp")
    assert a.setsockopt("s", "freebind")["ok"]
    r = a.bind("s", "192.0.2.7", 8080)
    assert r["ok"], r
    assert a.listen("s")["ok"]
    s = daemon.wait_inode(r["inode"], port=8080, netns=ino)
    assert s["freebind"], s
    daemon.sync()
    assert not freebinds(daemon, ino)  # the address is missing: nothing receives yet
    # this test's bind is pending (others' may be too: at least one)
    assert daemon.stats()["freebind"]["pending"] >= 1, daemon.stats()["freebind"]

    subprocess.run(["ip", "-n", ns, "addr", "add", "192.0.2.7/32", "dev", "lo"], check=True,
                   timeout=10)
    al = daemon.wait_alert(lambda x: x in freebinds(daemon, ino))
    assert al["severity"] == "warning", al
    assert (al["holder"]["inode"], al["holder"]["port"], al["holder"]["addr"]) == \
        (r["inode"], 8080, "192.0.2.7"), al["holder"]
    assert al["holder"]["pid"] == a.pid, al["holder"]
    msg = al["message"]
    assert "bound 192.0.2.7:8080/tcp with IP_FREEBIND" in msg, msg
    assert "the address is now configured" in msg, msg

    # once: the address goes and comes back, and no second alert is raised
    subprocess.run(["ip", "-n", ns, "addr", "del", "192.0.2.7/32", "dev", "lo"], check=True,
                   timeout=10)
    subprocess.run(["ip", "-n", ns, "addr", "add", "192.0.2.7/32", "dev", "lo"], check=True,
                   timeout=10)
    # a barrier for the notifications too: they were queued before the
    # sentinel's bind, and the loop serves a request only after a batch in
    # which every ready fd was handled
    daemon.sync()
    assert [x["id"] for x in freebinds(daemon, ino)] == [al["id"]]


def test_free_bind_then_another_program_binds_the_address(daemon, netns, actors):
    ns = netns()
    ino = netns_inode(ns)
    squatter = actors(netns=ns)
    squatter.socket("s", "inet", "udp")
    assert squatter.setsockopt("s", "freebind")["ok"]
    r = squatter.bind("s", "192.0.2.9", 5353)
    assert r["ok"], r
    daemon.wait_inode(r["inode"], port=5353, netns=ino)

    other = actors(netns=ns, uid=4242, gid=4242)
    other.socket("o", "inet", "udp")
    assert other.setsockopt("o", "freebind")["ok"]
    r2 = other.bind("o", "192.0.2.9", 5354)
    assert r2["ok"], r2
    al = daemon.wait_alert(lambda x: x in freebinds(daemon, ino))
    assert (al["holder"]["inode"], al["contender"]["inode"]) == (r["inode"], r2["inode"]), al
    assert "now pid %d" % other.pid in al["message"] and "uid 4242" in al["message"], al
    daemon.sync()
    assert len(freebinds(daemon, ino)) == 1
