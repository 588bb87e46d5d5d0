"""Issue 19, item 5: a service port squatted while its service is down. The
owner group (uid, executable) of the last listener on a (netns, TCP port) is
the port's expected owner (daemon/expected.h, kept in [daemon] owners_dir
across restarts). When that owner is refused the port with EADDRINUSE by
another owner group's socket, the alert is hijack_attempt/squatted
(critical), the refusing socket is the holder - the suspect - and `why`
says so."""
import os
import tempfile

from pwe2e import own_netns


def alert_about(port, kind, reason):
    return lambda a: a["port"] == port and a["kind"] == kind and a["reason"] == reason


def squat(daemon, actors, port):
    """uid 1234 listens and goes away; uid 1235 binds the port; the service
    (uid 1234, same executable, a new process) is refused. Returns the
    squatter, its bind's result, the restarted service and its error."""
    a = actors(uid=1234)
    ra = a.bound("s", "0.0.0.0", port, listen=True)
    daemon.wait_inode(ra["inode"], port=port)
    a.close("s")
    daemon.wait_gone([ra["inode"]], port=port)
    b = actors(uid=1235)
    rb = b.bound("q", "0.0.0.0", port)
    daemon.wait_inode(rb["inode"], port=port)
    c = actors(uid=1234)  # the service again: another pid, the same owner group
    c.socket("s")
    r = c.bind("s", "0.0.0.0", port)
    assert r.get("errno") == "EADDRINUSE", r
    return b, rb, c


def check_squatted(daemon, port, b, rb, c):
    al = daemon.wait_alert(alert_about(port, "hijack_attempt", "squatted"))
    assert al["severity"] == "critical" and al["result"] == "EADDRINUSE", al
    assert (al["proto"], al["port"], al["netns"]) == ("tcp", port, own_netns()), al
    h, ct = al["holder"], al["contender"]
    assert (h["pid"], h["uid"], h["inode"]) == (b.pid, 1235, rb["inode"]), h
    assert (ct["pid"], ct["uid"]) == (c.pid, 1234), ct
    assert "pid %d" % b.pid in al["message"] and "suspect" in al["message"], al["message"]
    # raised once, instead of the `blocked` notice the refusal used to be
    daemon.sync()
    reasons = [(x["reason"], x["id"]) for x in daemon.alerts_on_port(port)
               if x["reason"] in ("squatted", "blocked")]
    assert reasons == [("squatted", al["id"])], reasons
    why = daemon.ok({"cmd": "why", "port": port, "proto": "tcp"})
    assert why["expected_owner"]["uid"] == 1234, why["expected_owner"]
    assert "expected owner is uid 1234" in why["explanation"], why["explanation"]
    assert "squatted" in why["explanation"], why["explanation"]
    return al


def test_a_port_squatted_while_its_service_was_down(daemon, actors, port):
    b, rb, c = squat(daemon, actors, port)
    check_squatted(daemon, port, b, rb, c)


def test_refused_by_its_own_group_is_no_squat(daemon, actors, port):
    a = actors(uid=1234)
    ra = a.bound("s", "0.0.0.0", port, listen=True)
    daemon.wait_inode(ra["inode"], port=port)
    a.close("s")
    daemon.wait_gone([ra["inode"]], port=port)
    rb = a.bound("q", "0.0.0.0", port)  # the owner itself holds it
    daemon.wait_inode(rb["inode"], port=port)
    c = actors(uid=1234)
    c.socket("s")
    assert c.bind("s", "0.0.0.0", port).get("errno") == "EADDRINUSE"
    daemon.sync()
    assert not [x for x in daemon.alerts_on_port(port) if x["reason"] == "squatted"]


def test_the_expected_owner_survives_a_restart(daemon_factory, actors, port):
    owners = tempfile.mkdtemp(prefix="pwt-owners-")
    config = "[daemon]\nowners_dir = %s\n" % owners
    d = daemon_factory(config=config)
    a = actors(uid=1234)
    ra = a.bound("s", "0.0.0.0", port, listen=True)
    d.wait_inode(ra["inode"], port=port)
    a.close("s")
    d.wait_gone([ra["inode"]], port=port)
    assert d.stop() == 0  # writes the file at exit
    path = os.path.join(owners, "last_listeners")
    with open(path) as fh:
        lines = fh.read().splitlines()
    assert lines[0] == "portwatch-expected-owners 1", lines[:2]
    mine = [ln for ln in lines[1:] if ln.split()[1:4] == ["6", str(port), "1234"]]
    assert len(mine) == 1, lines

    d = daemon_factory(config=config)
    b = actors(uid=1235)
    rb = b.bound("q", "0.0.0.0", port)
    d.wait_inode(rb["inode"], port=port)
    c = actors(uid=1234)
    c.socket("s")
    assert c.bind("s", "0.0.0.0", port).get("errno") == "EADDRINUSE"
    check_squatted(d, port, b, rb, c)
