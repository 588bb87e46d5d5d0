"""Issue 18: port 0 beyond the namespace's plain range. ip_autobind_reuse
lets a TCP bind of port 0 with SO_REUSEADDR share a port held by bound,
not listening SO_REUSEADDR sockets once no port is free
(inet_csk_find_open_port(), relax); IP_LOCAL_PORT_RANGE narrows the
search to the socket's own range (inet_sk_get_local_port_range()). Each
`check` answer is held against a real bind(2) in a fresh namespace."""
import json
import subprocess

import pytest

from pwe2e import PORTWATCHCTL, netns_inode


@pytest.fixture
def ns(netns):
    name = netns()
    return name, netns_inode(name)


def sysctl(name, key, value):
    subprocess.run(["ip", "netns", "exec", name, "sysctl", "-qw", "%s=%s" % (key, value)],
                   check=True, timeout=10)


def agree(daemon, a, ino, *opts, reuseaddr=False, port_range=None):
    """check tcp 127.0.0.1:0, then the kernel, for a new socket of actor a."""
    args = ["--json", "check", "tcp", "127.0.0.1:0", "--netns", str(ino), "--uid", str(a.uid)]
    if reuseaddr:
        args.append("--reuseaddr")
    if port_range:
        args += ["--port-range", "%d-%d" % port_range]
    r = subprocess.run([PORTWATCHCTL, "--socket", daemon.socket_path, *args, *opts],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode in (0, 1) and r.stdout, (args, r.stdout, r.stderr)
    p = json.loads(r.stdout)
    agree.n += 1
    name = "n%d" % agree.n
    a.socket(name, reuseaddr=reuseaddr)
    if port_range:
        lo, hi = port_range
        assert a.setsockopt(name, "local_port_range", (hi << 16) | lo)["ok"]
    res = a.bind(name, "127.0.0.1", 0)
    assert not p["uncertain"], p
    assert p["errno_name"] == (None if res["ok"] else res["errno"]), (args, p, res)
    return p, res


agree.n = 0


def test_ip_autobind_reuse(daemon, actors, ns):
    name, ino = ns
    sysctl(name, "net.ipv4.ip_local_port_range", "40000 40001")
    holder = actors(netns=name, uid=1701)
    for port in (40000, 40001):
        holder.bound("h%d" % port, "127.0.0.1", port, reuseaddr=True)  # bound, not listening
    a = actors(netns=name, uid=1702)
    p, _ = agree(daemon, a, ino, reuseaddr=True)
    assert p["rule"] == "ephemeral_exhausted", p
    sysctl(name, "net.ipv4.ip_autobind_reuse", 1)
    p, res = agree(daemon, a, ino, reuseaddr=True)
    assert p["ok"] and res["port"] in (40000, 40001), (p, res)
    # without SO_REUSEADDR the second search finds nothing either
    p, _ = agree(daemon, a, ino)
    assert p["rule"] == "ephemeral_exhausted", p


def test_ip_local_port_range(daemon, actors, ns):
    name, ino = ns
    sysctl(name, "net.ipv4.ip_local_port_range", "40000 40009")
    holder = actors(netns=name, uid=1703)
    for port in range(40000, 40004):
        holder.bound("h%d" % port, "127.0.0.1", port)
    a = actors(netns=name, uid=1704)
    p, _ = agree(daemon, a, ino, port_range=(40000, 40003))
    assert p["rule"] == "ephemeral_exhausted" and p["range"] == [40000, 40003], p
    p, res = agree(daemon, a, ino, port_range=(40000, 40005))
    assert p["ok"] and res["port"] in (40004, 40005), (p, res)
    # an end outside the namespace's range is ignored (the namespace's stands)
    p, res = agree(daemon, a, ino, port_range=(40000, 50000))
    assert p["ok"] and p["range"] == [40000, 40009], p
