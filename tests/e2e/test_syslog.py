"""Alerts reach a real syslog daemon: one record each, facility daemon,
priority from severity, the stable key=value line (DESIGN.md, STYLE.md 7).
Records are told apart by the test daemon's pid (the rsyslog template has
%procid%): any other portwatchd on this host logs to the same /dev/log."""
import json
import re
import socket
import subprocess
import time

from pwe2e import PORTWATCHD, free_port, own_netns


def record_re(daemon, al, pri, kind, reason, severity, proto, local, holder, contender,
              result):
    def party(actor):
        return re.escape('pid=%d comm=%s uid=%d exe=%s'
                         % (actor.pid, "nginx-like" if actor.exe.endswith("nginx-like")
                            else "python3", actor.uid, actor.exe))
    return re.compile(
        r"^daemon\.%s portwatchd\[%d\]: kind=%s reason=%s severity=%s proto=%s local=%s "
        r'netns=%d holder="%s" contender="%s" result=%s id=%d$'
        % (pri, daemon.pid, kind, reason, severity, proto, re.escape(local), own_netns(),
           party(holder), party(contender), result, al["id"]))


def records_with_id(rsyslog, daemon, alert_id):
    """The records of one alert id, among this daemon's (ids restart per daemon)."""
    return [line for line in rsyslog.lines_of(daemon)
            if line.startswith("daemon.") and re.search(r" id=%d$" % alert_id, line)]


def settle(daemon, rsyslog):
    """Every alert the daemon will raise for what happened so far is raised,
    and every record it sent so far is in the file."""
    daemon.sync()
    rsyslog.sync()


def test_readme_scenario_alert_within_1s_in_alerts_and_syslog(daemon, rsyslog, actors, port):
    a = actors(uid=1234)
    b = actors(uid=1235)
    ra = a.bound("u", "0.0.0.0", port, type="udp", reuseaddr=True)
    daemon.wait_inode(ra["inode"], port=port)
    b.socket("u", "inet", "udp", reuseaddr=True)

    t0 = time.monotonic()
    rb = b.bind("u", "127.0.0.1", port)
    assert rb["ok"], rb
    al = daemon.wait_alert(lambda x: x["port"] == port and x["reason"] == "shadow_wildcard",
                           timeout=1.0)
    t_alert = time.monotonic() - t0
    assert (al["kind"], al["severity"]) == ("hijack_attempt", "critical")

    want = record_re(daemon, al, "crit", "hijack_attempt", "shadow_wildcard", "critical", "udp",
                     "127.0.0.1:%d" % port, a, b, "ok")
    line = rsyslog.wait_line(lambda line: line.endswith(" id=%d" % al["id"]),
                             timeout=max(0.05, 1.0 - t_alert), daemon=daemon)
    t_syslog = time.monotonic() - t0
    assert t_alert <= 1.0 and t_syslog <= 1.0, (t_alert, t_syslog)
    assert want.match(line), "syslog record:\n  %s\ndoes not match\n  %s" % (line, want.pattern)

    settle(daemon, rsyslog)
    assert len(records_with_id(rsyslog, daemon, al["id"])) == 1, "one alert, one syslog record"


def test_warning_and_notice_priorities(daemon, rsyslog, actors, other_exe, port):
    # warning: udp_share under one uid by another program
    a = actors(uid=1234)
    b = actors(uid=1234, exe=other_exe)
    ra = a.bound("u", "0.0.0.0", port, type="udp", reuseaddr=True)
    daemon.wait_inode(ra["inode"], port=port)
    b.bound("u", "0.0.0.0", port, type="udp", reuseaddr=True)
    warn = daemon.wait_alert(lambda x: x["port"] == port and x["reason"] == "udp_share")
    assert warn["severity"] == "warning"
    line = rsyslog.wait_line(lambda line: line.endswith(" id=%d" % warn["id"]),
                             daemon=daemon)
    assert record_re(daemon, warn, "warning", "hijack_attempt", "udp_share", "warning", "udp",
                     "0.0.0.0:%d" % port, a, b, "ok").match(line), line

    # notice: refused across uids (a holds the address without SO_REUSEADDR)
    port2 = free_port()
    c = actors(uid=1235)
    rc = a.bound("v", "127.0.0.1", port2, type="udp")
    daemon.wait_inode(rc["inode"], port=port2)
    c.socket("v", "inet", "udp", reuseaddr=True)
    assert c.bind("v", "127.0.0.1", port2)["errno"] == "EADDRINUSE"
    note = daemon.wait_alert(lambda x: x["port"] == port2 and x["reason"] == "blocked")
    assert note["severity"] == "notice"
    line = rsyslog.wait_line(lambda line: line.endswith(" id=%d" % note["id"]),
                             daemon=daemon)
    assert record_re(daemon, note, "notice", "hijack_attempt", "blocked", "notice", "udp",
                     "127.0.0.1:%d" % port2, a, c, "EADDRINUSE").match(line), line

    settle(daemon, rsyslog)
    for al in (warn, note):
        assert len(records_with_id(rsyslog, daemon, al["id"])) == 1


def test_daemon_messages_go_to_syslog(daemon_factory, rsyslog):
    # Besides alerts, the daemon's own log goes to syslog too (stderr as well
    # in the foreground): its start message at info priority, facility daemon,
    # from this daemon's pid.
    d = daemon_factory()
    ready = re.compile(r"^daemon\.info portwatchd\[%d\]: portwatchd \S+ ready\b" % d.pid)
    line = rsyslog.wait_line(ready.match, daemon=d)
    assert d.socket_path in line, line
    hooks = re.compile(r"^daemon\.info portwatchd\[%d\]: attached "
                       r"tracepoint/syscalls/sys_exit_bind$" % d.pid)
    rsyslog.wait_line(hooks.match, daemon=d)


HOSTILE = b'x" uid=0\n\x1b[1m\xff'  # test_hostile_names.py's: a quote, a newline, ESC, not UTF-8


def test_ecs_format_record(daemon_factory, rsyslog, actors, port):
    """[syslog] format = ecs: the alert's record is one JSON object with the
    Elastic Common Schema names of docs/protocol.md, valid UTF-8 although the
    contender named itself with a quote, a newline and a byte that is not
    UTF-8, and each value the same as the control socket's alert object."""
    d = daemon_factory(config="[syslog]\nformat = ecs\n")
    assert "format = ecs" in subprocess.run(
        [PORTWATCHD, "--check", "--config", d.config_path], capture_output=True, text=True,
        timeout=20, check=True).stdout
    a = actors(uid=1234)
    b = actors(uid=1235)
    ra = a.bound("u", "0.0.0.0", port, type="udp", reuseaddr=True)
    d.wait_inode(ra["inode"], port=port)
    assert b.do(op="comm", hex=HOSTILE.hex())["ok"]
    rb = b.bound("u", "127.0.0.1", port, type="udp", reuseaddr=True)
    assert rb["ok"], rb
    al = d.wait_alert(lambda x: x["port"] == port and x["reason"] == "shadow_wildcard")

    tag = '"event":{"kind":"alert",'
    line = rsyslog.wait_line(lambda line: tag in line and '"id":"%d"' % al["id"] in line,
                             daemon=d)
    head, _, body = line.partition("]: ")
    assert head == "daemon.crit portwatchd[%d" % d.pid, line  # priority from severity
    with open(rsyslog.messages, "rb") as fh:  # the bytes as written: strict UTF-8
        raw = [r for r in fh.read().split(b"\n") if body.encode("utf-8", "surrogateescape") in r]
    assert len(raw) == 1, "one alert, one record"
    doc = json.loads(raw[0].split(b"]: ", 1)[1].decode("utf-8", "strict"))
    assert next(iter(doc)) == "@timestamp"

    def f(path):
        v = doc
        for k in path.split("."):
            v = v[k]
        return v

    want = {
        "@timestamp": al["time"],
        "message": al["message"],
        "log.level": "critical",
        "ecs.version": "8.11.0",
        "event.kind": "alert",
        "event.category": ["network"],
        "event.type": ["allowed"],
        "event.outcome": "success",
        "event.action": "shadow_wildcard",
        "event.severity": 2,
        "event.id": str(al["id"]),
        "event.module": "portwatch",
        "event.dataset": "portwatch.alert",
        "rule.name": "shadow_wildcard",
        "rule.category": "hijack_attempt",
        "network.transport": "udp",
        "network.type": "ipv4",
        "network.iana_number": "17",
        "server.address": "127.0.0.1",
        "server.ip": "127.0.0.1",
        "server.port": port,
        "host.name": socket.gethostname(),
        "observer.hostname": socket.gethostname(),
        "observer.product": "portwatch",
        "process.pid": b.pid,
        "process.name": 'x" uid=0\n\x1b[1m\ufffd',
        "process.executable": b.exe,
        "user.id": "1235",
        "labels.netns": str(own_netns()),
        "portwatch.result": "ok",
        "portwatch.holder.process.pid": a.pid,
        "portwatch.holder.process.name": "python3",
        "portwatch.holder.process.executable": a.exe,
        "portwatch.holder.user.id": "1234",
        "portwatch.holder.socket.ip": "0.0.0.0",
        "portwatch.holder.socket.port": port,
        "portwatch.holder.socket.state": "BOUND",
        "portwatch.holder.socket.inode": ra["inode"],
        "portwatch.holder.socket.reuseaddr": True,
        "portwatch.contender.socket.ip": "127.0.0.1",
        "portwatch.contender.socket.inode": rb["inode"],
    }
    got = {k: f(k) for k in want}
    assert got == want, json.dumps(doc, indent=1)
    assert "error" not in doc and "destination" not in doc and "folded" not in doc["portwatch"]
    # the same values as the control socket's alert object
    assert f("portwatch.holder.socket") == {
        k: al["holder"][k if k != "ip" else "addr"]
        for k in ("ip", "port", "state", "inode", "reuseaddr", "reuseport", "v6only",
                  "reuseport_bpf", "sk_uid")}
    assert al["contender"]["comm"] == f("process.name")
