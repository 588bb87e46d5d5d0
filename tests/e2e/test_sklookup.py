"""Issue 19, item 3: a BPF sk_lookup program hands a namespace's connections
and datagrams to any socket, whatever port it is bound to, without a bind
conflict. portwatchd enumerates the BPF links of attach type sk_lookup
(bpf(2) link iteration, every PW_SKLOOKUP_SCAN_S = 2 s and at start-up)
and raises diversion/sk_lookup once per link. Here a real program
(tests/bpf/sk_lookup_pass.bpf.c, built with the daemon's BPF flags) is
loaded and attached to a fresh namespace by build/tests/bpf/sklookup_attach,
which holds the link until its stdin closes."""
import json
import os
import subprocess
import time

import pytest

from pwe2e import BUILD, netns_inode, wait_until

HELPER = os.path.join(BUILD, "tests", "bpf", "sklookup_attach")
OBJ = os.path.join(BUILD, "tests", "bpf", "sk_lookup_pass.bpf.o")
PROG = "pwt_sk_pass"
SCAN_S = 2


@pytest.fixture
def attach():
    """attach(netns_name) -> {"link_id", "prog_id", "pid", "proc"}; detached at teardown."""
    if not (os.access(HELPER, os.X_OK) and os.path.isfile(OBJ)):
        pytest.fail("%s and %s must be built first (make e2e builds them)" % (HELPER, OBJ))
    procs = []

    def start(name):
        p = subprocess.Popen([HELPER, OBJ, PROG, "/run/netns/" + name], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(p)
        line = p.stdout.readline()
        assert line, "sklookup_attach failed: %s" % p.stderr.read()
        info = json.loads(line)
        info["proc"] = p
        return info

    yield start
    for p in procs:
        detach(p)


def detach(p):
    if p.poll() is None:
        p.stdin.close()
        assert p.wait(timeout=10) == 0, p.stderr.read()


def is_ours(info, netns):
    return lambda a: (a["kind"], a["reason"], a["netns"]) == ("diversion", "sk_lookup", netns) \
        and ("link %d " % info["link_id"]) in a["message"]


def diversions(daemon):
    return daemon.ok({"cmd": "diversions"})["diversions"]


def test_sk_lookup_link_raises_one_diversion(daemon, netns, attach):
    name = netns()
    ino = netns_inode(name)
    info = attach(name)

    al = daemon.wait_alert(is_ours(info, ino), timeout=SCAN_S * 3)
    assert al["severity"] == "warning", al
    assert al["result"] == "ok"
    msg = al["message"]
    assert PROG in msg and "id %d" % info["prog_id"] in msg, msg
    assert "network namespace %d" % ino in msg, msg
    # the loading process: the one holding the link's fd
    assert al["contender"]["pid"] == info["pid"], al["contender"]
    assert al["contender"]["comm"] == "sklookup_attach", al["contender"]
    assert "pid %d (sklookup_attach" % info["pid"] in msg, msg

    d = [x for x in diversions(daemon) if x["link_id"] == info["link_id"]]
    assert len(d) == 1, diversions(daemon)
    d = d[0]
    assert (d["type"], d["netns"], d["prog_id"], d["prog_name"]) == \
        ("sk_lookup", ino, info["prog_id"], PROG), d
    assert d["alert_id"] == al["id"] and d["pid"] == info["pid"], d
    st = daemon.stats()
    assert st["sk_lookup"]["links"] >= 1 and st["sk_lookup"]["error"] is None, st["sk_lookup"]
    assert st["alerts_by_kind"]["diversion"] >= 1, st["alerts_by_kind"]

    # once: later scans find the same link and say nothing more
    time.sleep(SCAN_S * 2 + 0.5)
    assert [a["id"] for a in daemon.alerts() if is_ours(info, ino)(a)] == [al["id"]]

    # detached: no longer listed, and no alert about it
    detach(info["proc"])
    wait_until(lambda: not any(x["link_id"] == info["link_id"] for x in diversions(daemon)),
               timeout=SCAN_S * 3, what="the detached link to leave `diversions`")
    assert [a["id"] for a in daemon.alerts() if is_ours(info, ino)(a)] == [al["id"]]


def test_a_link_older_than_the_daemon_is_found_at_start(daemon_factory, netns, attach):
    name = netns()
    ino = netns_inode(name)
    info = attach(name)
    daemon = daemon_factory()
    # found by the start-up scan, before the first periodic one
    d = [x for x in diversions(daemon) if x["link_id"] == info["link_id"]]
    assert len(d) == 1 and d[0]["netns"] == ino and d[0]["prog_name"] == PROG, d
    al = daemon.wait_alert(is_ours(info, ino), timeout=1)
    assert al["id"] == d[0]["alert_id"]


def test_allowed_by_the_exe_holding_the_link(daemon_factory, netns, attach):
    """allow = sk_lookup exe=...: the link is listed, its alert silenced; a
    rule naming another program silences nothing."""
    exe = os.path.realpath(HELPER)
    daemon = daemon_factory(config="[alerts]\nallow = sk_lookup exe=/usr/sbin/nosuchlbd\n"
                                   "allow = sk_lookup exe=%s\n" % exe)
    name = netns()
    ino = netns_inode(name)
    before = daemon.stats()["alerts_silenced"]
    info = attach(name)
    wait_until(lambda: any(x["link_id"] == info["link_id"] for x in diversions(daemon)),
               timeout=SCAN_S * 3, what="the link in `diversions`")
    d = [x for x in diversions(daemon) if x["link_id"] == info["link_id"]][0]
    assert d["alert_id"] is None and d["pid"] == info["pid"], d
    assert daemon.stats()["alerts_silenced"] > before
    assert not [a for a in daemon.alerts() if is_ours(info, ino)(a)], daemon.alerts()
