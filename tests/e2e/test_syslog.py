"""Alerts reach a real syslog daemon: one record each, facility daemon,
priority from severity, the stable key=value line (DESIGN.md, STYLE.md 7)."""
import re
import time

from pwe2e import free_port, own_netns, wait_until


def record_re(al, pri, kind, reason, severity, proto, local, holder, contender, result):
    def party(actor):
        return re.escape('pid=%d comm=%s uid=%d exe=%s'
                         % (actor.pid, "nginx-like" if actor.exe.endswith("nginx-like")
                            else "python3", actor.uid, actor.exe))
    return re.compile(
        r"^daemon\.%s portwatchd: kind=%s reason=%s severity=%s proto=%s local=%s netns=%d "
        r'holder="%s" contender="%s" result=%s id=%d$'
        % (pri, kind, reason, severity, proto, re.escape(local), own_netns(), party(holder),
           party(contender), result, al["id"]))


def records_with_id(rsyslog, daemon, alert_id):
    """The records of one alert id, among this daemon's (ids restart per daemon)."""
    return [line for line in rsyslog.lines()[daemon.syslog_start:]
            if line.startswith("daemon.") and re.search(r" id=%d$" % alert_id, line)]


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

    want = record_re(al, "crit", "hijack_attempt", "shadow_wildcard", "critical", "udp",
                     "127.0.0.1:%d" % port, a, b, "ok")
    line = rsyslog.wait_line(lambda line: line.endswith(" id=%d" % al["id"]) and
                             "portwatchd:" in line, timeout=max(0.05, 1.0 - t_alert),
                             start=daemon.syslog_start)
    t_syslog = time.monotonic() - t0
    assert t_alert <= 1.0 and t_syslog <= 1.0, (t_alert, t_syslog)
    assert want.match(line), "syslog record:\n  %s\ndoes not match\n  %s" % (line, want.pattern)

    time.sleep(0.3)
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
                             start=daemon.syslog_start)
    assert record_re(warn, "warning", "hijack_attempt", "udp_share", "warning", "udp",
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
                             start=daemon.syslog_start)
    assert record_re(note, "notice", "hijack_attempt", "blocked", "notice", "udp",
                     "127.0.0.1:%d" % port2, a, c, "EADDRINUSE").match(line), line

    time.sleep(0.3)
    for al in (warn, note):
        assert len(records_with_id(rsyslog, daemon, al["id"])) == 1


def test_daemon_messages_go_to_syslog(daemon_factory, rsyslog):
    # Besides alerts, the daemon's own log goes to syslog too (stderr as well
    # in the foreground): at least its start-up messages.
    d = daemon_factory()
    wait_until(lambda: [line for line in rsyslog.lines()[d.syslog_start:]
                        if line.startswith("daemon.") and " portwatchd: " in line],
               what="a portwatchd record in syslog")
