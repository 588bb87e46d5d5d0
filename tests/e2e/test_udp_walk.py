"""Issue 10: the UDP bind check of the running kernel, met in the cases
where kernels differ (a reuseport-compatible socket first in the port chain,
a conflicting one after it), each in a fresh netns with real uids: `check`
asked before every bind, then the bind itself. `check` is either right or
says `uncertain` (with the conflicting socket as a blocker), never
confidently wrong; and what `stats` says of the kernel's walk is what these
very binds show it to be."""
import json
import subprocess

import pytest

from pwe2e import PORTWATCHCTL, netns_inode

PORT = 7450


def check(daemon, ino, proto, addr, port, uid, **flags):
    args = [PORTWATCHCTL, "--socket", daemon.socket_path, "--json", "check", proto,
            ("[%s]:%d" if ":" in addr else "%s:%d") % (addr, port), "--netns", str(ino),
            "--uid", str(uid)] + ["--%s" % f for f, on in flags.items() if on]
    r = subprocess.run(args, capture_output=True, text=True, timeout=20,
                       stdin=subprocess.DEVNULL)
    assert r.returncode in (0, 1), (args, r.returncode, r.stdout, r.stderr)
    return json.loads(r.stdout)


@pytest.fixture
def ns(netns):
    name = netns()
    return name, netns_inode(name)


def bind_checked(daemon, ino, actor, name, family, addr, port, **flags):
    """check, then bind: returns (prediction, kernel result); fails on a
    confident prediction the kernel contradicts."""
    actor.socket(name, family, "udp", **flags)
    p = check(daemon, ino, "udp", addr, port, actor.uid, **flags)
    r = actor.bind(name, addr, port)
    if not p["uncertain"]:
        assert p["ok"] is r["ok"], ("check said %s, the kernel %s" % (
            "ok" if p["ok"] else p["errno_name"], r["errno"] or "ok"), p)
    else:
        assert not p["ok"] and p["blockers"], p
        if not r["ok"]:
            assert r["errno"] == p["errno_name"], (p, r)
    return p, r


def held(daemon, actor, name, family, addr, port, after=(), **flags):
    r = actor.bound(name, addr, port, family=family, type="udp", **flags)
    assert r["ok"], r
    for opt, value in after:
        assert actor.setsockopt(name, opt, value)["ok"]
    daemon.wait_inode(r["inode"], port=port)
    return r


def test_wildcard_behind_a_compatible_socket(daemon, actors, ns):
    """The issue's seed 10, step 235: 127.0.0.1 RA+RP uid 1002 and
    ::ffff:127.0.0.2 (dual-stack) RA+RP uid 0 held, the latter bound last;
    0.0.0.0 RP uid 1002."""
    name, ino = ns
    u1002 = actors(netns=name, uid=1002, gid=1002)
    root = actors(netns=name, uid=0, gid=0)
    held(daemon, u1002, "a", "inet", "127.0.0.1", PORT, reuseaddr=True, reuseport=True)
    held(daemon, root, "b", "inet6", "::ffff:127.0.0.2", PORT, reuseaddr=True, reuseport=True)
    p, r = bind_checked(daemon, ino, u1002, "q", "inet", "0.0.0.0", PORT, reuseport=True)
    assert r["errno"] == "EADDRINUSE"  # on every kernel: the other uid's socket is first
    assert not p["ok"]


def walk_cases(daemon, actors, ns, port):
    """The two trials of kbehavior.c, with real uids: (wildcard admitted,
    specific admitted) behind a compatible socket bound after a conflicting
    0.0.0.0 SO_REUSEADDR socket of another uid."""
    name, ino = ns
    other = actors(netns=name, uid=1701, gid=1701)
    me = actors(netns=name, uid=1702, gid=1702)
    held(daemon, other, "w", "inet", "0.0.0.0", port, reuseaddr=True)
    held(daemon, me, "c", "inet", "0.0.0.0", port, reuseaddr=True, reuseport=True)
    _, wild = bind_checked(daemon, ino, me, "q", "inet", "0.0.0.0", port, reuseport=True)
    held(daemon, other, "w2", "inet", "0.0.0.0", port + 1, reuseaddr=True)
    held(daemon, me, "c2", "inet", "127.0.0.2", port + 1, reuseaddr=True,
         after=(("reuseport", 1), ("reuseaddr", 0)))
    _, spec = bind_checked(daemon, ino, me, "q2", "inet", "127.0.0.2", port + 1,
                           reuseport=True)
    return wild["ok"], spec["ok"]


def test_stats_names_the_walk_these_binds_show(daemon, actors, ns):
    wild, spec = walk_cases(daemon, actors, ns, PORT + 10)
    shown = daemon.stats()["kernel"]["udp_bind_walk"]
    expected = {(True, True): "first_decides", (False, False): "any_refuses"}.get(
        (wild, spec), "unknown")
    assert shown == expected, (wild, spec, shown)
