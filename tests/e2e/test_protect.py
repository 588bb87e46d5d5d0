"""Protected ports (portwatch.conf(5) [protect], issue 14): the real daemon,
real uids, real executables and real cgroups. Mode monitor lets a
non-owner's bind through and raises hijack_attempt/protected_port at once;
mode enforce has the kernel refuse it (EPERM) through portwatchd's own
cgroup/bind4 and cgroup/bind6 programs, which live only as long as the
daemon does."""
import json
import os
import re
import signal
import subprocess
import time

import pytest

from pwe2e import ALERT_KEYS, PORTWATCHCTL, SOCKET_KEYS, cgroup2_mount, enter_cgroup, \
    free_port, own_netns, wait_until

OWNER_UID = 1240
OTHER_UID = 1241


def protected(port, reason="protected_port"):
    return lambda a: (a["port"] == port and a["kind"] == "hijack_attempt"
                      and a["reason"] == reason)


def check_protect_alert(a, *, port, proto, addr, result, enforced, contender, line,
                        holder=None):
    """holder: (actor, inode) of the owner's socket, or None (no owner bound)."""
    assert ALERT_KEYS <= set(a), "missing alert keys: %s" % (ALERT_KEYS - set(a))
    assert a["severity"] == "critical"
    assert (a["proto"], a["addr"], a["port"]) == (proto, addr, port)
    assert a["netns"] == own_netns()
    assert a["result"] == result
    assert a["enforced"] is enforced
    assert a["protect_line"] == line
    actor = contender
    c = a["contender"]
    assert SOCKET_KEYS <= set(c)
    assert (c["pid"], c["uid"], c["exe"]) == (actor.pid, actor.uid, actor.exe)
    if holder is None:
        assert a["holder"] is None
    else:
        h = a["holder"]
        assert (h["pid"], h["inode"]) == (holder[0].pid, holder[1])


def config(mode, *rules):
    return "[protect]\nmode = %s\n%s" % (mode, "".join("protect = %s\n" % r for r in rules))


# ---------------------------------------------------------------- monitor mode

def test_monitor_udp_non_owner_alerts_owner_quiet(daemon_factory, actors, other_exe):
    port = free_port()
    d = daemon_factory(config=config("monitor", "udp %d exe=%s" % (port, other_exe)))
    owner = actors(uid=OWNER_UID, exe=other_exe)
    ro = owner.bound("u", "0.0.0.0", port, type="udp", reuseaddr=True)
    d.wait_inode(ro["inode"], port=port)
    d.assert_no_alert(port)  # the owner's own bind

    thief = actors(uid=OTHER_UID)
    rt = thief.bound("u", "127.0.0.1", port, type="udp", reuseaddr=True)  # lets it through
    al = d.wait_alert(protected(port))
    check_protect_alert(al, port=port, proto="udp", addr="127.0.0.1", result="ok",
                        enforced=False, contender=thief, line=3,
                        holder=(owner, ro["inode"]))
    assert al["contender"]["inode"] == rt["inode"]
    # the specific alert replaces the generic one (shadow_wildcard / udp_share)
    d.sync()
    assert [x["reason"] for x in d.alerts_on_port(port)] == ["protected_port"]


def test_monitor_tcp_address_rule(daemon_factory, actors):
    port = free_port()
    d = daemon_factory(config=config("monitor", "tcp %d 127.0.0.1 uid=%d" % (port, OWNER_UID)))
    thief = actors(uid=OTHER_UID)
    # another address of the port is not protected
    r1 = thief.bound("a", "127.0.0.2", port, reuseaddr=True)
    d.wait_inode(r1["inode"], port=port)
    d.assert_no_alert(port)
    # the wildcard overlaps 127.0.0.1; no owner is bound: no holder
    r2 = thief.bound("b", "0.0.0.0", port, reuseaddr=True)
    al = d.wait_alert(protected(port))
    check_protect_alert(al, port=port, proto="tcp", addr="0.0.0.0", result="ok",
                        enforced=False, contender=thief, line=3)
    assert al["contender"]["inode"] == r2["inode"]


def test_monitor_failed_bind_alerts_instead_of_blocked(daemon_factory, actors, other_exe):
    port = free_port()
    d = daemon_factory(config=config("monitor", "tcp %d exe=%s" % (port, other_exe)))
    owner = actors(uid=OWNER_UID, exe=other_exe)
    ro = owner.bound("l", "0.0.0.0", port, listen=True)
    d.wait_inode(ro["inode"], port=port)
    thief = actors(uid=OTHER_UID)
    thief.socket("t")
    res = thief.bind("t", "127.0.0.1", port)
    assert res["errno"] == "EADDRINUSE", res
    al = d.wait_alert(protected(port))
    check_protect_alert(al, port=port, proto="tcp", addr="127.0.0.1", result="EADDRINUSE",
                        enforced=False, contender=thief, line=3, holder=(owner, ro["inode"]))
    d.sync()
    assert d.alerts_of(port, "blocked") == []


def test_monitor_cgroup_and_unit_selectors(daemon_factory, unit_cgroup, actors):
    unit, path = unit_cgroup()
    root = cgroup2_mount()
    rel = "/" + os.path.relpath(path, root)
    port, port2 = free_port(), free_port()
    d = daemon_factory(config=config("monitor", "tcp %d cgroup=%s" % (port, rel),
                                     "tcp %d unit=%s" % (port2, unit)))
    owner = actors(uid=OWNER_UID)
    enter_cgroup(path, owner.pid)
    r1 = owner.bound("a", "127.0.0.1", port, listen=True)
    r2 = owner.bound("b", "127.0.0.1", port2, listen=True)
    for r in (r1, r2):
        d.wait_inode(r["inode"])
    thief = actors(uid=OWNER_UID)  # same uid and executable, another cgroup
    thief.bound("a", "127.0.0.2", port)
    thief.bound("b", "127.0.0.2", port2)
    d.wait_alert(protected(port))
    d.wait_alert(protected(port2))
    d.sync()
    assert all(a["contender"]["pid"] == thief.pid
               for p in (port, port2) for a in d.alerts_on_port(p))
    owner.close("a")
    owner.close("b")


def test_check_prints_rules_and_rejects_bad_lines(tmp_path):
    from pwe2e import PORTWATCHD
    conf = tmp_path / "pw.conf"
    conf.write_text(config("enforce", "udp 53 127.0.0.1 exe=/usr/sbin/unbound",
                           "tcp 443 unit=nginx.service uid=www-data"))
    out = subprocess.run([PORTWATCHD, "--check", "--config", str(conf)],
                         capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, out.stderr
    assert "[protect]\nmode = enforce\n" in out.stdout
    assert "protect = udp 53 127.0.0.1 exe=/usr/sbin/unbound  # line 3" in out.stdout
    assert re.search(r"protect = tcp 443 unit=nginx.service uid=\d+  # line 4", out.stdout)
    conf.write_text("[protect]\nmode = enforce\nprotect = tcp 443 127.0.0.1\n")
    out = subprocess.run([PORTWATCHD, "--check", "--config", str(conf)],
                         capture_output=True, text=True, timeout=10)
    assert out.returncode == 2
    assert "%s:3: protect: no owner" % conf in out.stderr
