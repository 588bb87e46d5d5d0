"""Issue 18: a socket that attached its own reuseport steering program
(SO_ATTACH_REUSEPORT_CBPF) before bind(2) has an SO_REUSEPORT group of its
own (reuseport_attach_prog() -> reuseport_alloc()) and cannot join the
group already on the port: inet_bind_conflict() (reuseport_cb_ok false) and
udp_lib_lport_inuse() refuse it with EADDRINUSE. `check --inode` of that
very socket predicts it, with rule reuseport_own_group, before the real
bind; a plain SO_REUSEPORT socket of the same uid joins. Fresh netns, real
uid."""
import json
import subprocess

import pytest

from pwe2e import PORTWATCHCTL, netns_inode

PORT = 7490
UID = 1704


def check(daemon, ino, proto, addr, port, uid, inode=None, **flags):
    args = [PORTWATCHCTL, "--socket", daemon.socket_path, "--json", "check", proto,
            "%s:%d" % (addr, port), "--netns", str(ino), "--uid", str(uid)] + [
                "--%s" % f for f, on in flags.items() if on]
    if inode is not None:
        args += ["--inode", str(inode)]
    r = subprocess.run(args, capture_output=True, text=True, timeout=20,
                       stdin=subprocess.DEVNULL)
    assert r.returncode in (0, 1), (args, r.returncode, r.stdout, r.stderr)
    return json.loads(r.stdout)


@pytest.mark.parametrize("proto", ["udp", "tcp"])
def test_own_group_cannot_join(daemon, actors, netns, proto):
    name = netns()
    ino = netns_inode(name)
    port = PORT + (0 if proto == "udp" else 1)
    me = actors(netns=name, uid=UID, gid=UID)
    r = me.bound("g", "127.0.0.1", port, type=proto, listen=proto == "tcp", reuseport=True)
    daemon.wait_inode(r["inode"], port=port)
    # the steering socket: SO_REUSEPORT, a program, no bind yet
    me.socket("s", "inet", proto, reuseport=True)
    assert me.do(op="reuseport_cbpf", name="s", index=0)["ok"]
    s_ino = me.info("s")["inode"]
    daemon.sync()
    # asked with the socket's inode (and its uid): its options come from it
    p = check(daemon, ino, proto, "127.0.0.1", port, UID, inode=s_ino)
    res = me.bind("s", "127.0.0.1", port)
    assert not res["ok"] and res["errno"] == "EADDRINUSE", res
    assert not p["ok"] and not p["uncertain"], p
    assert p["errno_name"] == "EADDRINUSE" and p["rule"] == "reuseport_own_group", p
    assert p["blockers"] and p["blockers"][0]["inode"] == r["inode"], p
    # and the refusal, recorded as a conflict, names the same rule and holder
    cf = daemon.wait_conflict(lambda c: c["port"] == port and c["netns"] == ino and
                              c["proto"] == proto)
    assert cf["rule"] == "reuseport_own_group", cf
    assert [h["inode"] for h in cf["holders"]] == [r["inode"]], cf
    # the same question without the inode: a plain SO_REUSEPORT socket, which joins
    p = check(daemon, ino, proto, "127.0.0.1", port, UID, reuseport=True)
    assert p["ok"], p
    res = me.bound("j", "127.0.0.1", port, type=proto, reuseport=True)
    assert res["ok"], res
    # on a free port the own group binds, and check says so
    p = check(daemon, ino, proto, "127.0.0.1", port + 10, UID, inode=s_ino)
    assert p["ok"], p
    assert me.bind("s", "127.0.0.1", port + 10)["ok"]
