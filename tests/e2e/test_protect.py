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
from datetime import datetime, timezone

import pytest

from pwe2e import ALERT_KEYS, PORTWATCHCTL, PYTHON, SOCKET_KEYS, cgroup2_mount, ctl_check, \
    enter_cgroup, free_port, netns_inode, own_netns, wait_until

OWNER_UID = 1240
OTHER_UID = 1241


def protected(port, reason="protected_port"):
    return lambda a: (a["port"] == port and a["kind"] == "hijack_attempt"
                      and a["reason"] == reason)


def check_protect_alert(a, *, port, proto, addr, result, enforced, contender, line,
                        holder=None, netns=None):
    """holder: (actor, inode) of the owner's socket, or None (no owner bound)."""
    assert ALERT_KEYS <= set(a), "missing alert keys: %s" % (ALERT_KEYS - set(a))
    assert a["severity"] == "critical"
    assert (a["proto"], a["addr"], a["port"]) == (proto, addr, port)
    assert a["netns"] == (netns or own_netns())
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
    return "[alerts]\nfold_window = 0\n[protect]\nmode = %s\n%s" % (mode, "".join("protect = %s\n" % r for r in rules))


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
                        enforced=False, contender=thief, line=5,
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
                        enforced=False, contender=thief, line=5)
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
                        enforced=False, contender=thief, line=5, holder=(owner, ro["inode"]))
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
    assert "protect = udp 53 127.0.0.1 exe=/usr/sbin/unbound  # line 5" in out.stdout
    assert re.search(r"protect = tcp 443 unit=nginx.service uid=\d+  # line 6", out.stdout)
    conf.write_text("[protect]\nmode = enforce\nprotect = tcp 443 127.0.0.1\n")
    out = subprocess.run([PORTWATCHD, "--check", "--config", str(conf)],
                         capture_output=True, text=True, timeout=10)
    assert out.returncode == 2
    assert "%s:3: protect: no owner" % conf in out.stderr


# ---------------------------------------------------------------- enforce mode
#
# Each test protects a port in a fresh network namespace only (netns=), so
# that the programs attached at the cgroup root refuse nothing elsewhere.

def cgroup_prog_ids():
    """Program ids attached to the cgroup v2 root (bpftool cgroup show)."""
    out = subprocess.run(["bpftool", "-j", "cgroup", "show", cgroup2_mount()],
                         capture_output=True, text=True, timeout=10, check=True).stdout
    return {(p["id"], p.get("name", "")) for p in json.loads(out.strip() or "[]")}


def own_programs():
    return {i for i, name in cgroup_prog_ids() if name in ("protect_bind4", "protect_bind6")}


def refused(port, enforced=True):
    return lambda a: (protected(port)(a) and a["result"] == "EPERM"
                      and a["enforced"] is enforced)


CASES = [  # (id, family, address): the thief's bind
    ("v4-specific", "inet", "127.0.0.1"),
    ("v4-wildcard", "inet", "0.0.0.0"),
    ("v6-wildcard", "inet6", "::"),
    ("v6-specific", "inet6", "::1"),
    ("v4-mapped", "inet6", "::ffff:127.0.0.1"),
]


@pytest.mark.parametrize("proto", ["tcp", "udp"])
def test_enforce_refuses_non_owner_binds(daemon_factory, netns, actors, other_exe, proto):
    ns = netns()
    port = free_port()
    d = daemon_factory(config=config("enforce", "%s %d netns=%s exe=%s" % (proto, port, ns,
                                                                           other_exe)))
    assert len(own_programs()) == 2
    nsino = netns_inode(ns)
    # the owner's binds, its SO_REUSEPORT workers included, go through
    owner = actors(uid=OWNER_UID, exe=other_exe, netns=ns)
    worker = actors(uid=OWNER_UID, exe=other_exe, netns=ns)
    ro = owner.bound("s", "0.0.0.0", port, type=proto, reuseport=True,
                     listen=proto == "tcp")
    rw = worker.bound("s", "0.0.0.0", port, type=proto, reuseport=True,
                      listen=proto == "tcp")
    d.wait_inode(ro["inode"], port=port)
    d.wait_inode(rw["inode"], port=port)
    # the same uid with another executable: SO_REUSEPORT would let it join
    thief = actors(uid=OWNER_UID, netns=ns)
    thief.socket("j", "inet", proto, reuseport=True)
    res = thief.bind("j", "0.0.0.0", port)
    assert res["errno"] == "EPERM", res
    al = d.wait_alert(refused(port))
    check_protect_alert(al, port=port, proto=proto, addr="0.0.0.0", result="EPERM",
                        enforced=True, contender=thief, line=5, netns=nsino,
                        holder=(owner if al["holder"]["pid"] == owner.pid else worker,
                                al["holder"]["inode"]))
    assert al["holder"]["inode"] in (ro["inode"], rw["inode"])
    # another uid, every address shape
    other = actors(uid=OTHER_UID, netns=ns)
    for i, (name, family, addr) in enumerate(CASES):
        other.socket(name, family, proto, reuseaddr=True)
        res = other.bind(name, addr, port)
        assert res["errno"] == "EPERM", (name, res)
    wait_until(lambda: len([a for a in d.alerts_on_port(port)
                            if refused(port)(a) and a["contender"]["pid"] == other.pid])
               == len(CASES), what="one enforced alert per refused bind")
    # a refusal is a conflict with rule `protected`
    cf = d.wait_conflict(lambda c: c["port"] == port and c["errno_name"] == "EPERM")
    assert cf["rule"] == "protected"
    # another port, and port 0 (autobind), are not protected
    assert other.bind("v4-specific", "127.0.0.1", 0)["ok"]


def test_enforce_owner_by_uid_and_cgroup(daemon_factory, netns, unit_cgroup, actors):
    unit, path = unit_cgroup()
    ns = netns()
    port, port2 = free_port(), free_port()
    d = daemon_factory(config=config(
        "enforce", "tcp %d netns=%s uid=%d" % (port, ns, OWNER_UID),
        "udp %d 127.0.0.1 netns=%s unit=%s" % (port2, ns, unit)))
    owner = actors(uid=OWNER_UID, netns=ns)
    assert owner.bound("t", "::", port, listen=True)["ok"]
    thief = actors(uid=OTHER_UID, netns=ns)
    thief.socket("t", "inet", "tcp")
    assert thief.bind("t", "127.0.0.1", port)["errno"] == "EPERM"
    # unit=: the owner is whoever runs in that unit's cgroup
    svc = actors(uid=OTHER_UID, netns=ns)
    enter_cgroup(path, svc.pid)
    assert svc.bound("u", "127.0.0.1", port2, type="udp")["ok"]
    thief.socket("u", "inet", "udp")
    assert thief.bind("u", "0.0.0.0", port2)["errno"] == "EPERM"
    thief.socket("u2", "inet", "udp")
    assert thief.bind("u2", "127.0.0.2", port2)["ok"]  # another address: not protected
    d.wait_alert(refused(port))
    d.wait_alert(refused(port2))
    svc.close("u")


def test_monitor_lets_the_same_binds_through(daemon_factory, netns, actors, other_exe):
    ns = netns()
    port = free_port()
    d = daemon_factory(config=config("monitor", "udp %d netns=%s exe=%s" % (port, ns,
                                                                           other_exe)))
    assert own_programs() == set()  # monitor loads no cgroup program
    other = actors(uid=OTHER_UID, netns=ns)
    for name, family, addr in CASES[:3]:
        other.socket(name, family, "udp", reuseaddr=True)
        assert other.bind(name, addr, port)["ok"], name
        other.close(name)
    wait_until(lambda: len([a for a in d.alerts_on_port(port)
                            if protected(port)(a) and a["result"] == "ok"
                            and a["enforced"] is False]) == 3,
               what="three monitor alerts")


def test_kill_9_leaves_no_enforcement_behind(daemon_factory, netns, actors):
    ns = netns()
    port = free_port()
    d = daemon_factory(config=config("enforce", "tcp %d netns=%s uid=%d" % (port, ns,
                                                                            OWNER_UID)))
    ours = own_programs()
    assert len(ours) == 2
    thief = actors(uid=OTHER_UID, netns=ns)
    thief.socket("a")
    assert thief.bind("a", "0.0.0.0", port)["errno"] == "EPERM"
    d.stop(signal.SIGKILL)
    wait_until(lambda: not (ours & {i for i, _ in cgroup_prog_ids()}),
               what="the protect programs gone from the cgroup root")
    thief.socket("b")
    assert thief.bind("b", "0.0.0.0", port)["ok"]


def test_reload_keeps_protection_during_a_bind_loop(daemon_factory, netns, actors):
    ns = netns()
    port = free_port()
    d = daemon_factory(config=config("enforce", "tcp %d netns=%s uid=%d" % (port, ns,
                                                                            OWNER_UID)))
    loop = subprocess.Popen(
        ["ip", "netns", "exec", ns, PYTHON, "-c", """
import os, socket, sys, time
os.setresgid(%d, %d, %d); os.setresuid(%d, %d, %d)
ok = refused = 0
end = time.monotonic() + 3
while time.monotonic() < end:
    s = socket.socket()
    try:
        s.bind(("0.0.0.0", %d)); ok += 1
    except PermissionError:
        refused += 1
    s.close()
print(ok, refused)
""" % ((OTHER_UID,) * 6 + (port,))], stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)
    for rules in (["tcp %d netns=%s uid=%d uid=%d" % (port, ns, OWNER_UID, OWNER_UID + 5)],
                  ["tcp %d-%d netns=%s uid=%d" % (port, port + 1, ns, OWNER_UID)]):
        with open(d.config_path, "w") as fh:
            fh.write(config("enforce", *rules))
        r = subprocess.run([PORTWATCHCTL, "-s", d.socket_path, "reload"],
                           capture_output=True, text=True, timeout=10)
        assert r.returncode == 0, r
    out, _ = loop.communicate(timeout=20)
    ok, refused_n = map(int, out.split())
    assert ok == 0 and refused_n > 100, (ok, refused_n)


# ---------------------------------------------------------------- takeover protection
#
# [protect] takeover (mode enforce): a port whose owner's socket went away
# is kept for that owner group (uid and executable) for takeover_window.
# One test waits a short window out. A refusal is asserted while the hold
# has seconds left (its deadline read from the daemon, every actor started
# before the owner leaves), an allowed bind only once the hold's deadline
# has passed by a margin.

WINDOW_S = 30  # long enough for a loaded host; only the listeners test waits one out


def takeover_config(rules, takeover=None, window=WINDOW_S):
    return ("[alerts]\nfold_window = 0\ntakeover_window = %d\n[protect]\nmode = enforce\n%s%s"
            % (window, "takeover = %s\n" % takeover if takeover else "",
               "".join("protect = %s\n" % r for r in rules)))


def rfc3339(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=timezone.utc).timestamp()


def hold_of(d, port, proto):
    holds = [h for h in d.ok({"cmd": "protect"})["protect"]["holds"]
             if h["port"] == port and h["proto"] == proto]
    assert len(holds) <= 1, holds
    return holds[0] if holds else None


def wait_hold(d, port, proto):
    wait_until(lambda: hold_of(d, port, proto) is not None, what="the hold of port %d" % port)
    return hold_of(d, port, proto)


def refused_takeover(port, pid):
    return lambda a: (a["port"] == port and a["kind"] == "hijack_attempt"
                      and a["reason"] == "takeover" and a["result"] == "EPERM"
                      and a["contender"]["pid"] == pid)


@pytest.mark.parametrize("proto", ["tcp", "udp"])
def test_takeover_protection_keeps_a_protected_port_for_its_owner(
        daemon_factory, netns, actors, other_exe, proto):
    ns = netns()
    port = free_port()
    # uid= admits every program of OWNER_UID; the hold narrows it to the one that left
    d = daemon_factory(config=takeover_config(["%s %d netns=%s uid=%d" % (proto, port, ns,
                                                                          OWNER_UID)]))
    nsino = netns_inode(ns)
    owner = actors(uid=OWNER_UID, exe=other_exe, netns=ns)
    # the others are started first: after the owner leaves only quick calls follow
    sibling = actors(uid=OWNER_UID, netns=ns)  # admitted by the rule, not the owner
    other = actors(uid=OTHER_UID, netns=ns)
    again = actors(uid=OWNER_UID, exe=other_exe, netns=ns)  # the owner's restart
    ro = owner.bound("s", "0.0.0.0", port, type=proto, listen=proto == "tcp")
    d.wait_inode(ro["inode"], port=port)
    assert hold_of(d, port, proto) is None
    owner.kill()  # a crash: the socket goes with the process
    h = wait_hold(d, port, proto)
    assert h["owner"]["inode"] == ro["inode"] and h["owner"]["uid"] == OWNER_UID
    assert h["owner"]["exe"] == other_exe and h["protect_line"] == 6 and h["netns"] == nsino
    until = rfc3339(h["until"])

    # another program of the owner's uid: admitted by the rule, refused by the hold
    sibling.socket("s", "inet", proto, reuseaddr=True)
    status, pred = ctl_check(d, proto, "0.0.0.0:%d" % port, "--pid", str(sibling.pid))
    assert (status, pred["errno_name"], pred["rule"]) == (1, "EPERM", "protected"), pred
    assert pred["held_until"] == h["until"] and pred["protect_line"] == 6
    assert pred["explanation"].startswith("Takeover protection keeps port %d/%s until %s for "
                                          "uid %d" % (port, proto, h["until"], OWNER_UID))
    assert pred["advice"].startswith("Takeover protection keeps the port for uid %d (%s) "
                                     "until %s" % (OWNER_UID, other_exe, h["until"]))
    assert time.time() < until - 2, "the hold must have seconds left for this test"
    res = sibling.bind("s", "0.0.0.0", port)
    assert res["errno"] == "EPERM", res
    al = d.wait_alert(refused_takeover(port, sibling.pid))
    assert al["enforced"] is True and al["protect_line"] == 6 and al["netns"] == nsino
    assert al["severity"] == "warning"  # the same uid
    assert al["holder"]["inode"] == ro["inode"] and al["holder"]["pid"] == owner.pid
    cf = d.wait_conflict(lambda c: c["port"] == port and c["pid"] == sibling.pid)
    assert (cf["errno_name"], cf["rule"], cf["held_until"]) == ("EPERM", "protected", h["until"])
    assert cf["holders"][0]["inode"] == ro["inode"]
    w = d.ok({"cmd": "why", "port": port, "netns": nsino, "proto": proto})
    assert ("Last refusal: pid %d (python3, uid %d, " % (sibling.pid, OWNER_UID)
            in w["explanation"]), w["explanation"]
    assert "by takeover protection" in w["explanation"]
    assert "until %s only that owner may bind it again" % h["until"] in w["explanation"]
    assert "the owner's restart binds at once" in w["explanation"]
    # another uid is refused by the rule itself, as before
    other.socket("s", "inet", proto)
    assert other.bind("s", "0.0.0.0", port)["errno"] == "EPERM"

    # the owner's restart (same uid and executable) binds, and ends the hold
    ra = again.bound("s", "0.0.0.0", port, type=proto, listen=proto == "tcp")
    d.wait_inode(ra["inode"], port=port)
    wait_until(lambda: hold_of(d, port, proto) is None, what="the hold ended by the owner")
    assert hold_of(d, port, proto) is None
    assert [x["refused"] for x in d.ok({"cmd": "protect"})["protect"]["rules"]] == [1]


def test_takeover_protection_of_listeners_ends_with_the_window(daemon_factory, netns, actors,
                                                              other_exe):
    """takeover = listeners netns=NS: any TCP listener's port in NS, no rule
    needed; another uid is refused during the window and binds once it is
    over. (netns= keeps the test's holds away from the host's other tests.)"""
    ns = netns()
    port = free_port()
    d = daemon_factory(config=takeover_config([], takeover="listeners netns=%s" % ns,
                                              window=8))
    owner = actors(uid=OWNER_UID, exe=other_exe, netns=ns)
    thief = actors(uid=OTHER_UID, netns=ns)
    thief.socket("t", "inet6", "tcp")
    ro = owner.bound("l", "127.0.0.1", port, listen=True)
    d.wait_inode(ro["inode"], port=port)
    owner.close("l")
    h = wait_hold(d, port, "tcp")
    assert h["protect_line"] is None and h["owner"]["uid"] == OWNER_UID
    until = rfc3339(h["until"])
    assert time.time() < until - 2, "the hold must have seconds left for this test"
    assert thief.bind("t", "::", port)["errno"] == "EPERM"  # the whole port, both families
    al = d.wait_alert(refused_takeover(port, thief.pid))
    assert al["severity"] == "critical" and al["enforced"] is True
    assert al["protect_line"] is None
    # after the deadline (the kernel checks it itself) the port is anybody's
    time.sleep(max(0.0, until - time.time()) + 1.0)
    thief.socket("u", "inet", "tcp")
    assert thief.bind("u", "127.0.0.1", port)["ok"]
    wait_until(lambda: hold_of(d, port, "tcp") is None, what="the expired hold dropped")


def test_takeover_off_keeps_nothing(daemon_factory, netns, actors, other_exe):
    ns = netns()
    port = free_port()
    d = daemon_factory(config=takeover_config(["tcp %d netns=%s uid=%d" % (port, ns, OWNER_UID)],
                                              takeover="off"))
    owner = actors(uid=OWNER_UID, exe=other_exe, netns=ns)
    ro = owner.bound("l", "0.0.0.0", port, listen=True)
    d.wait_inode(ro["inode"], port=port)
    owner.close("l")
    d.wait_gone([ro["inode"]])
    sibling = actors(uid=OWNER_UID, netns=ns)  # another program the rule admits
    sibling.socket("s")
    assert sibling.bind("s", "0.0.0.0", port)["ok"]
    assert hold_of(d, port, "tcp") is None


def test_why_explains_a_protect_refusal(daemon_factory, netns, actors, other_exe):
    ns = netns()
    port = free_port()
    d = daemon_factory(config=config("enforce", "udp %d netns=%s exe=%s" % (port, ns, other_exe)))
    nsino = netns_inode(ns)
    thief = actors(uid=OTHER_UID, netns=ns)
    thief.socket("u", "inet", "udp")
    assert thief.bind("u", "127.0.0.1", port)["errno"] == "EPERM"
    d.wait_conflict(lambda c: c["port"] == port and c["pid"] == thief.pid
                    and c["rule"] == "protected" and c["protect_line"] == 5
                    and c["held_until"] is None)
    w = d.ok({"cmd": "why", "port": port, "netns": nsino})
    text = w["explanation"]
    assert ("Last refusal: pid %d (python3, uid %d, %s) was refused with EPERM at "
            % (thief.pid, OTHER_UID, thief.exe)) in text, text
    assert ('by the protect rule "udp %d netns=%s exe=%s" (%s:5)'
            % (port, ns, other_exe, d.config_path)) in text, text
    assert "this one matches none" in text and "add a selector for this one" in text
    assert "No socket portwatch can see" not in text
    assert w["protect_rule"] == {"line": 5, "file": d.config_path,
                                 "rule": "udp %d netns=%s exe=%s" % (port, ns, other_exe)}
    # the command line prints the same explanation
    r = subprocess.run([PORTWATCHCTL, "-s", d.socket_path, "why", str(port), "--netns",
                        str(nsino)], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0 and "by the protect rule" in r.stdout, r


def test_reload_to_takeover_off_drops_the_holds(daemon_factory, netns, actors, other_exe):
    """A reload that no longer asks for a hold ends it in the kernel at once."""
    ns = netns()
    port = free_port()
    d = daemon_factory(config=takeover_config([], takeover="listeners netns=%s" % ns))
    owner = actors(uid=OWNER_UID, exe=other_exe, netns=ns)
    thief = actors(uid=OTHER_UID, netns=ns)
    ro = owner.bound("l", "127.0.0.1", port, listen=True)
    d.wait_inode(ro["inode"], port=port)
    owner.close("l")
    wait_hold(d, port, "tcp")
    thief.socket("a")
    assert thief.bind("a", "127.0.0.1", port)["errno"] == "EPERM"
    with open(d.config_path, "w") as fh:
        fh.write(takeover_config([], takeover="off"))
    r = subprocess.run([PORTWATCHCTL, "-s", d.socket_path, "reload"], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 0, r
    assert hold_of(d, port, "tcp") is None  # the reload's answer came after the drop
    thief.socket("b")
    assert thief.bind("b", "127.0.0.1", port)["ok"]
