"""Alerts reach a real syslog daemon: one record each, facility daemon,
priority from severity, the stable key=value line (DESIGN.md, STYLE.md 7).
Records are told apart by the test daemon's pid (the rsyslog template has
%procid%): any other portwatchd on this host logs to the same /dev/log."""
import re
import time

from pwe2e import free_port, own_netns


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
