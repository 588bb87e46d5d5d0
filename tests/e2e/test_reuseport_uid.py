"""Issue 18, item 4: which uid the running kernel's TCP bind check compares
for SO_REUSEPORT. A connection still in its listener's accept queue has no
struct socket: sock_i_uid() (Linux up to 6.16) counts it as root's, sk_uid
(6.17+) as its listener's creator. In a fresh netns with real uids: `check`
is asked before the bind and must be right (not uncertain: the start-up
trial found out), and `stats` names what these very binds show."""
import json
import subprocess

from pwe2e import PORTWATCHCTL, netns_inode, wait_until

PORT = 7480
UID = 1703


def check(daemon, ino, addr, port, uid, **flags):
    args = [PORTWATCHCTL, "--socket", daemon.socket_path, "--json", "check", "tcp",
            "%s:%d" % (addr, port), "--netns", str(ino), "--uid", str(uid)] + [
                "--%s" % f for f, on in flags.items() if on]
    r = subprocess.run(args, capture_output=True, text=True, timeout=20,
                       stdin=subprocess.DEVNULL)
    assert r.returncode in (0, 1), (args, r.returncode, r.stdout, r.stderr)
    return json.loads(r.stdout)


def established(name, port):
    r = subprocess.run(["ip", "netns", "exec", name, "ss", "-Htn", "state", "established",
                        "sport", "= :%d" % port], capture_output=True, text=True, timeout=10)
    return r.stdout.strip() != ""


def scenario(daemon, actors, name, ino, port):
    """Listener of UID with SO_REUSEPORT on 127.0.0.1:port, a plain socket
    of UID on 127.0.0.2:port (no fast path), root's connection to the
    listener, then UID's SO_REUSEPORT bind
    of 127.0.0.1:port, checked first. Returns (prediction, kernel result)."""
    me = actors(netns=name, uid=UID, gid=UID)
    root = actors(netns=name, uid=0, gid=0)
    r = me.bound("l", "127.0.0.1", port, listen=True, reuseport=True)
    daemon.wait_inode(r["inode"], port=port)
    r = me.bound("a", "127.0.0.2", port)
    daemon.wait_inode(r["inode"], port=port)
    root.socket("k", "inet", "tcp")
    assert root.connect("k", "127.0.0.1", port)["ok"]
    wait_until(lambda: established(name, port), what="the connection to the listener")
    me.socket("q", "inet", "tcp", reuseport=True)
    p = check(daemon, ino, "127.0.0.1", port, UID, reuseport=True)
    res = me.bind("q", "127.0.0.1", port)
    return p, res


def test_socketless_holder_as_the_trial_found(daemon, actors, netns):
    name = netns()
    ino = netns_inode(name)
    p, r = scenario(daemon, actors, name, ino, PORT)
    shown = daemon.stats()["kernel"]["reuseport_uid"]
    assert shown == ("sk_uid" if r["ok"] else "inode"), (shown, r)
    assert not p["uncertain"], p
    assert p["ok"] is r["ok"], ("check said %s, the kernel %s" % (
        "ok" if p["ok"] else p["errno_name"], r.get("errno") or "ok"), p)
    if not r["ok"]:
        assert r["errno"] == "EADDRINUSE" and p["rule"] == "reuseport_uid", (p, r)
