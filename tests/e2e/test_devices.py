"""Issue 18: sockets bound to a device (SO_BINDTODEVICE). The kernel's bind
checks let two sockets on different devices share an address and port
(inet_bind_conflict(), udp_lib_lport_inuse(): either socket on no device,
or both on the same one, to conflict); `owners` shows the device as ss
does, and `check --device` answers for a device-bound socket - each
answer held against a real bind(2) in a fresh namespace with real tun
devices (this kernel has no dummy driver)."""
import json
import subprocess

import pytest

from pwe2e import ctl_run as ctl, netns_inode, wait_until

PORT = 7460




@pytest.fixture
def ns(netns):
    """A namespace with lo up and two tun devices up, pwt0 and pwt1."""
    name = netns()
    for dev in ("pwt0", "pwt1"):
        subprocess.run(["ip", "-n", name, "tuntap", "add", "dev", dev, "mode", "tun"],
                       check=True, timeout=10)
        subprocess.run(["ip", "-n", name, "link", "set", dev, "up"], check=True, timeout=10)
    return name, netns_inode(name)


def bound(a, sock, proto, addr, port, device=None, reuseaddr=False, listen=False):
    a.socket(sock, "inet6" if ":" in addr else "inet", proto, reuseaddr=reuseaddr)
    if device:
        assert a.do(op="bindtodevice", name=sock, device=device)["ok"]
    res = a.bind(sock, addr, port)
    if res["ok"] and listen:
        assert a.listen(sock)["ok"]
    return res


def agree(daemon, a, name, ino, proto, addr, port, device=None, reuseaddr=False, listen=False):
    """check, then the kernel, for one new socket; the socket stays (as s<N>)."""
    args = ["--json", "check", proto, "%s:%d" % (addr, port), "--netns", str(ino), "--uid", "0"]
    if device:
        args += ["--device", device]
    if reuseaddr:
        args.append("--reuseaddr")
    if listen:
        args.append("--listen")
    r = ctl(daemon, *args)
    assert r.returncode in (0, 1) and r.stdout, (args, r.stdout, r.stderr)
    p = json.loads(r.stdout)
    agree.n += 1
    res = bound(a, "s%d" % agree.n, proto, addr, port, device, reuseaddr, listen)
    assert p["errno_name"] == (None if res["ok"] else res["errno"]), (args, p, res)
    return p


agree.n = 0


def test_sockets_on_two_devices_share_a_port(daemon, actors, ns):
    name, ino = ns
    a = actors(netns=name, uid=0)
    for proto in ("udp", "tcp"):
        port = PORT + (proto == "tcp")
        assert agree(daemon, a, name, ino, proto, "0.0.0.0", port, "pwt0",
                     listen=proto == "tcp")["ok"]
        # another device: no conflict
        assert agree(daemon, a, name, ino, proto, "0.0.0.0", port, "pwt1",
                     listen=proto == "tcp")["ok"]
        # no device: meets both
        p = agree(daemon, a, name, ino, proto, "0.0.0.0", port)
        assert p["errno_name"] == "EADDRINUSE", p
        assert {b["device"] for b in p["blockers"]} <= {"pwt0", "pwt1"}, p["blockers"]
        # the same device again: a conflict
        assert agree(daemon, a, name, ino, proto, "0.0.0.0", port, "pwt0")["errno_name"] == \
            "EADDRINUSE"
    # owners names the device, and the table prints it as ss does
    socks = daemon.owners(port=PORT, netns=ino)
    assert sorted(s["device"] for s in socks) == ["pwt0", "pwt1"], socks
    assert all(s["device_ifindex"] > 0 for s in socks)
    r = ctl(daemon, "owners", "--port", str(PORT), "--netns", str(ino))
    assert "0.0.0.0%%pwt0:%d" % PORT in r.stdout and "0.0.0.0%%pwt1:%d" % PORT in r.stdout, \
        r.stdout


def test_a_device_bound_after_bind_is_followed(daemon, actors, ns):
    """SO_BINDTODEVICE on a bound socket changes who it conflicts with."""
    name, ino = ns
    a = actors(netns=name, uid=0)
    r = bound(a, "u", "udp", "0.0.0.0", PORT + 2)
    assert r["ok"]
    daemon.wait_inode(r["inode"], port=PORT + 2)
    assert a.do(op="bindtodevice", name="u", device="pwt0")["ok"]
    wait_until(lambda: [s for s in daemon.owners(port=PORT + 2, netns=ino)
                        if s["device"] == "pwt0"], what="the device in the table")
    assert agree(daemon, a, name, ino, "udp", "0.0.0.0", PORT + 2, "pwt1")["ok"]


def test_resolved_stub_beside_a_wildcard_dns(daemon, actors, ns):
    """systemd-resolved's stub: 127.0.0.53:53 with SO_REUSEADDR and
    SO_BINDTODEVICE("lo") for UDP and TCP (src/resolve/resolved-dns-stub.c).
    A DNS server on 0.0.0.0:53 with SO_REUSEADDR then binds for UDP and is
    refused for TCP by the stub's listener."""
    name, ino = ns
    stub = actors(netns=name, uid=0)
    assert bound(stub, "u", "udp", "127.0.0.53", 53, "lo", reuseaddr=True)["ok"]
    assert bound(stub, "t", "tcp", "127.0.0.53", 53, "lo", reuseaddr=True, listen=True)["ok"]
    dns = actors(netns=name, uid=0)
    assert agree(daemon, dns, name, ino, "udp", "0.0.0.0", 53, reuseaddr=True)["ok"]
    p = agree(daemon, dns, name, ino, "tcp", "0.0.0.0", 53, reuseaddr=True)
    assert p["rule"] == "listener" and p["blockers"][0]["device"] == "lo", p
    w = daemon.ok({"cmd": "why", "port": 53, "netns": ino, "proto": "tcp"})
    assert any(h["device"] == "lo" for h in w["holders"]), w["holders"]


def test_check_device_that_does_not_exist(daemon, actors, ns):
    name, ino = ns
    actors(netns=name, uid=0)  # holds the namespace for the daemon
    r = ctl(daemon, "check", "udp", "0.0.0.0:%d" % PORT, "--netns", str(ino), "--device", "nope0")
    assert r.returncode == 1 and "nope0" in r.stderr and "ENODEV" in r.stderr, r
