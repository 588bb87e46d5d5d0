"""Issue 10: ports bound without bind(2) hold the port like any other
socket. A UDP connect() autobinds (ip4_datagram_connect() -> inet_autobind()):
the table holds the socket with its owner from that event on, `why` lists
it, `check` is refused by it, and its close removes it. A UDP sendto()
autobinds too (inet_send_prepare()); the kernel side does not report sends,
so `why` and `check` take it from the kernel's own walk, owner unknown until
the next reconciliation. TCP Fast Open (sendto() with MSG_FASTOPEN) connects
and binds without connect(2): the client socket is a holder with its owner
once its handshake completes."""
import json
import subprocess

from pwe2e import PORTWATCHCTL, netns_inode


def ctl(daemon, *args):
    r = subprocess.run([PORTWATCHCTL, "--socket", daemon.socket_path, "--json"] + list(args),
                       capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
    assert r.returncode in (0, 1), (args, r.returncode, r.stdout, r.stderr)
    return json.loads(r.stdout)


def test_udp_connect_autobind_is_a_holder(daemon, actors, netns):
    name = netns()
    ino = netns_inode(name)
    a = actors(netns=name, uid=1801, gid=1801)
    assert a.socket("c", "inet", "udp")["ok"]
    r = a.connect("c", "127.0.0.1", 9)
    assert r["ok"] and r["port"], r
    port = r["port"]

    s = daemon.wait_inode(r["inode"], port=port, netns=ino)
    assert (s["proto"], s["addr"], s["pid"], s["uid"]) == ("udp", "127.0.0.1", a.pid, 1801), s
    why = ctl(daemon, "why", str(port), "--netns", str(ino), "--proto", "udp")
    assert [h["inode"] for h in why["holders"]] == [r["inode"]], why
    assert "pid %d" % a.pid in why["explanation"], why["explanation"]
    p = ctl(daemon, "check", "udp", "127.0.0.1:%d" % port, "--netns", str(ino))
    assert not p["ok"] and p["blockers"][0]["inode"] == r["inode"], p

    assert a.close("c")["ok"]
    daemon.wait_gone([r["inode"]], port=port, netns=ino)


def test_udp_sendto_autobind_shows_in_why_and_check(daemon, actors, netns):
    name = netns()
    ino = netns_inode(name)
    a = actors(netns=name, uid=1802, gid=1802)
    assert a.socket("s", "inet", "udp")["ok"]
    assert a.do(op="sendto", name="s", addr="127.0.0.1", port=9)["ok"]
    r = a.info("s")
    assert r["port"], r
    port = r["port"]

    why = ctl(daemon, "why", str(port), "--netns", str(ino), "--proto", "udp")
    assert r["inode"] in [h["inode"] for h in why["holders"]], why
    assert "created by uid 1802" in why["explanation"], why["explanation"]
    p = ctl(daemon, "check", "udp", "0.0.0.0:%d" % port, "--netns", str(ino))
    assert not p["ok"] and r["inode"] in [b["inode"] for b in p["blockers"]], p
    # the kernel agrees
    assert a.socket("x", "inet", "udp")["ok"]
    assert a.bind("x", "0.0.0.0", port)["errno"] == "EADDRINUSE"


def test_tcp_fast_open_client_is_a_holder(daemon, actors, netns):
    name = netns()
    ino = netns_inode(name)
    srv = actors(netns=name, uid=1803, gid=1803)
    rl = srv.bound("l", "127.0.0.1", 7460, listen=True)
    a = actors(netns=name, uid=1804, gid=1804)
    assert a.socket("c", "inet", "tcp")["ok"]
    r = a.do(op="sendto", name="c", addr="127.0.0.1", port=7460, fastopen=True)
    assert r["ok"] and r["port"] and r["raddr"] == "127.0.0.1", r
    port = r["port"]

    s = daemon.wait_inode(r["inode"], port=port, netns=ino)
    assert (s["proto"], s["state"], s["pid"], s["uid"]) == ("tcp", "ESTABLISHED", a.pid, 1804), s
    assert rl["ok"]
    assert a.close("c")["ok"]
    daemon.wait_gone([r["inode"]], port=port, netns=ino)
