"""portwatchd as a systemd service, without systemd as PID 1: the sd_notify
protocol read from a datagram socket the test owns, socket activation by the
real systemd-socket-activate, access through the socket's group and
SO_PEERCRED with real uids, the unit's capability set applied with setpriv,
and the installed unit files checked by systemd-analyze."""
import grp
import os
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time

import pytest

from pwe2e import PORTWATCHCTL, ROOT, free_port, own_netns, wait_until

UNIT_IN = os.path.join(ROOT, "systemd", "portwatchd.service.in")


class NotifySocket:
    """The NOTIFY_SOCKET end of sd_notify(3): records (monotonic time, field)
    for every line of every datagram."""

    def __init__(self, workdir):
        self.path = os.path.join(workdir, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.got = []

    def poll(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                return
            now = time.monotonic()
            self.got += [(now, f) for f in data.decode().split("\n") if f]

    def wait_for(self, field, timeout=20, after=0.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            hit = [t for t, f in self.got if f == field and t >= after]
            if hit:
                return hit[0]
            self.poll(0.05)
        raise AssertionError("no %s within %.0f s; got %r" % (field, timeout, self.got[-10:]))

    def drain_in_background(self):
        """Keep reading, as PID 1 would: a datagram socket holds only
        net.unix.max_dgram_qlen (10) messages, and sd_notify() blocks when it
        is full. For tests that do not read the messages as they come."""
        self.stop_drain = threading.Event()

        def drain():
            while not self.stop_drain.is_set():
                self.poll(0.1)
        self.drainer = threading.Thread(target=drain, daemon=True)
        self.drainer.start()

    def close(self):
        if getattr(self, "drainer", None):
            self.stop_drain.set()
            self.drainer.join(5)
        self.sock.close()


@pytest.fixture
def notify(tmp_path):
    n = NotifySocket(str(tmp_path))
    yield n
    n.close()


def env_with(**kw):
    env = dict(os.environ)
    for k in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID"):
        env.pop(k, None)
    env.update({k: str(v) for k, v in kw.items()})
    return env


def test_ready_only_when_the_control_socket_answers(daemon_factory, notify):
    d = daemon_factory(ready=False, env=env_with(NOTIFY_SOCKET=notify.path))
    # Ask until the daemon answers. It sends READY=1 before its loop answers
    # anything, so the first answer proves READY=1 already sits in our
    # notify socket; and no READY=1 may come while requests go unanswered.
    answered = False
    deadline = time.monotonic() + 20
    while not answered and time.monotonic() < deadline:
        assert d.running(), d.log_tail()
        ready_before = any(f == "READY=1" for _, f in notify.got)
        try:
            answered = d.request({"cmd": "stats"}, timeout=0.2)["ok"] is True
        except (OSError, AssertionError):
            notify.poll(0.02)
            if not ready_before and any(f == "READY=1" for _, f in notify.got):
                # READY=1 came while we were refused: allowed only if the
                # socket answers now
                assert d.request({"cmd": "stats"}, timeout=2)["ok"] is True
                answered = True
    assert answered, "the daemon never answered: %s" % d.log_tail()
    notify.poll(0.05)
    assert any(f == "READY=1" for _, f in notify.got), \
        "a request was answered before READY=1: %r" % notify.got
    fields = [f for _, f in notify.got]
    first_ready = fields.index("READY=1")
    before = fields[:first_ready]
    assert "STATUS=loading and attaching the BPF programs" in before
    assert any(f.startswith("STATUS=taking a snapshot") for f in before)
    notify.poll(0.5)
    assert any(re.match(r"STATUS=watching \d+ sockets in \d+ netns, \d+ alerts", f)
               for _, f in notify.got), notify.got

    # SIGHUP: RELOADING=1 then READY=1 again
    t0 = time.monotonic()
    os.kill(d.pid, signal.SIGHUP)
    t_rel = notify.wait_for("RELOADING=1", after=t0)
    notify.wait_for("READY=1", after=t_rel)

    # a reload with a broken file: RELOADING=1, then READY=1 all the same
    # (systemd would otherwise wait in "reloading"), and the daemon serves on
    with open(d.config_path, "w") as fh:
        fh.write("[daemon]\nlog_level = loud\n")
    t0 = time.monotonic()
    os.kill(d.pid, signal.SIGHUP)
    t_rel = notify.wait_for("RELOADING=1", after=t0)
    notify.wait_for("READY=1", after=t_rel)
    assert d.request({"cmd": "stats"})["ok"] is True

    # SIGTERM: STOPPING=1, exit 0
    t0 = time.monotonic()
    assert d.stop() == 0
    notify.poll(0.2)
    assert any(f == "STOPPING=1" and t >= t0 for t, f in notify.got), notify.got[-5:]


def test_watchdog_pings_from_the_loop_and_stops_when_it_hangs(daemon_factory, notify):
    usec = 1000000  # WatchdogSec=1 s: a ping every 0.5 s
    d = daemon_factory(ready=False, env=env_with(NOTIFY_SOCKET=notify.path,
                                                 WATCHDOG_USEC=usec))
    notify.wait_for("READY=1")
    d.wait_ready()
    t0 = time.monotonic()
    notify.poll(3.0)
    pings = [t for t, f in notify.got if f == "WATCHDOG=1" and t >= t0]
    # 3 s at one ping every 0.5 s: about 6; never a gap systemd would kill for
    assert 4 <= len(pings) <= 9, pings
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    assert max(gaps) < usec / 1e6, gaps
    assert "systemd watchdog: pinging every 500 ms" in d.log()

    # a stopped loop stops pinging ...
    os.kill(d.pid, signal.SIGSTOP)
    try:
        notify.poll(0.2)  # what was sent before the stop
        t_stop = time.monotonic()
        notify.poll(1.5)
        assert not [t for t, f in notify.got if f == "WATCHDOG=1" and t >= t_stop]
    finally:
        os.kill(d.pid, signal.SIGCONT)
    # ... and resumes with it
    notify.wait_for("WATCHDOG=1", timeout=2, after=time.monotonic())


def test_no_watchdog_without_watchdog_usec(daemon_factory, notify):
    d = daemon_factory(ready=False, env=env_with(NOTIFY_SOCKET=notify.path))
    notify.wait_for("READY=1")
    d.wait_ready()
    notify.poll(1.0)
    assert not [f for _, f in notify.got if f == "WATCHDOG=1"]


def test_socket_activation_with_systemd_socket_activate(daemon_factory, tmp_path, actors):
    os.chmod(tmp_path, 0o755)
    sock = str(tmp_path / "activated.sock")
    unused = str(tmp_path / "configured.sock")
    d = daemon_factory(wrap=["systemd-socket-activate", "-l", sock], base_args=False,
                       socket_path=sock,
                       config="[daemon]\nlog_level = debug\n[control]\nsocket = %s\n" % unused)
    d.keeps_socket = True  # systemd-socket-activate made the file: it stays
    assert "(from systemd)" in d.log()
    assert not os.path.exists(unused)
    # it serves: a socket bound now is listed through the passed socket
    port = free_port()
    a = actors(uid=1234)
    r = a.bound("t", "127.0.0.1", port, listen=True)
    d.wait_inode(r["inode"], port=port)
    out = subprocess.run([PORTWATCHCTL, "-s", sock, "owners", str(port)], capture_output=True,
                         text=True, timeout=10)
    assert out.returncode == 0 and "127.0.0.1:%d" % port in out.stdout, out
    assert d.stop() == 0
    assert os.path.exists(sock), "the daemon must not remove systemd's socket file"


# ----------------------------------------------------------------- access

@pytest.fixture
def group():
    """A fresh system group (groupadd), deleted at teardown: (name, gid)."""
    name = "pwt" + secrets.token_hex(3)
    subprocess.run(["groupadd", "--system", name], check=True, timeout=10)
    try:
        yield name, grp.getgrnam(name).gr_gid
    finally:
        subprocess.run(["groupdel", name], timeout=10)


def ctl_as(uid, groups, *args):
    """portwatchctl as uid (gid = uid) with exactly these supplementary groups."""
    g = ["--groups=" + ",".join(str(x) for x in groups)] if groups else ["--clear-groups"]
    return subprocess.run(["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid, *g,
                           PORTWATCHCTL, *args], capture_output=True, text=True, timeout=10)


def test_group_members_query_others_cannot_connect_reload_is_roots(daemon_factory, group):
    name, gid = group
    d = daemon_factory(config="[control]\nmode = 0660\ngroup = %s\n" % name)
    st = os.stat(d.socket_path)
    assert st.st_gid == gid and stat.S_IMODE(st.st_mode) == 0o660

    member = ctl_as(1500, [gid], "-s", d.socket_path, "--json", "stats")
    assert member.returncode == 0 and '"table_size"' in member.stdout, member

    stranger = ctl_as(1501, [], "-s", d.socket_path, "stats")
    assert stranger.returncode == 3, stranger
    assert "Permission denied" in stranger.stderr

    refused = ctl_as(1500, [gid], "-s", d.socket_path, "reload")
    assert refused.returncode == 1, refused
    assert "permission denied: reload is reserved to root (your uid is 1500)" in refused.stderr

    root = subprocess.run([PORTWATCHCTL, "-s", d.socket_path, "reload"], capture_output=True,
                          text=True, timeout=10)
    assert root.returncode == 0 and "configuration reloaded" in root.stdout, root


def test_missing_group_leaves_the_socket_to_root(daemon_factory):
    d = daemon_factory(config="[control]\ngroup = pwt-no-such-group\n")
    assert os.stat(d.socket_path).st_gid == 0
    assert "group 'pwt-no-such-group' does not exist" in d.log()


# ----------------------------------------------------------------- the unit

def unit_capabilities():
    text = open(UNIT_IN).read()
    caps = re.search(r"(?m)^CapabilityBoundingSet=(.*)$", text).group(1).split()
    assert caps and all(c.startswith("CAP_") for c in caps), caps
    return caps


def test_the_units_capabilities_are_enough(daemon_factory, actors, netns, other_exe):
    """Run the daemon with exactly the unit's CapabilityBoundingSet (root,
    every other capability dropped) and check what each one is for: BPF
    attached, the snapshot of another netns (setns), owners of another uid's
    process (/proc/PID/fd), the flags of a socket bound before start
    (pidfd_getfd), alerts."""
    caps = unit_capabilities()
    ns = netns()
    early = actors(uid=1600, netns=ns)
    port, port2 = free_port(), free_port()
    r0 = early.bound("t", "0.0.0.0", port, reuseaddr=True, listen=True)
    r1 = early.bound("b", "127.0.0.1", port2, reuseaddr=True)  # bound, never listening

    bset = "-all," + ",".join("+" + c[4:].lower() for c in caps)
    d = daemon_factory(wrap=["setpriv", "--bounding-set=" + bset, "--inh-caps=-all"])
    status = open("/proc/%d/status" % d.pid).read()
    eff = int(re.search(r"CapEff:\s*([0-9a-f]+)", status).group(1), 16)
    numbers = {"CAP_DAC_READ_SEARCH": 2, "CAP_NET_ADMIN": 12, "CAP_SYS_PTRACE": 19,
               "CAP_SYS_ADMIN": 21, "CAP_PERFMON": 38, "CAP_BPF": 39}
    assert eff == sum(1 << numbers[c] for c in caps), hex(eff)
    hooks = d.stats()["hooks"]
    assert any("sock_release" in h for h in hooks), hooks

    s = d.wait_inode(r0["inode"], port=port)
    assert (s["pid"], s["uid"], s["exe"], s["reuseaddr"], s["state"]) == \
        (early.pid, 1600, early.exe, True, "LISTEN")
    assert s["netns"] != own_netns()
    s1 = d.wait_inode(r1["inode"], port=port2)
    assert (s1["pid"], s1["reuseaddr"], s1["state"]) == (early.pid, True, "BOUND"), s1

    # live events and an alert across uids in that namespace
    b = actors(uid=1601, netns=ns, exe=other_exe)
    b.socket("t", "inet", "tcp", reuseaddr=True)
    assert not b.bind("t", "0.0.0.0", port)["ok"]
    d.wait_alert(lambda a: a["port"] == port and a["reason"] == "blocked")


def installed_root(tmp_path, prefix="/usr"):
    dest = str(tmp_path / "root")
    r = subprocess.run(["make", "-C", ROOT, "--no-print-directory", "install", "DESTDIR=" + dest,
                        "PREFIX=" + prefix], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return dest


def test_installed_units_verify_and_rate_ok(tmp_path):
    dest = installed_root(tmp_path)
    unit = os.path.join(dest, "usr/lib/systemd/system/portwatchd.service")
    text = open(unit).read()
    # SYSCONFDIR=/etc: the daemon's default file, where a missing one means defaults
    assert re.search(r"(?m)^ExecStart=/usr/sbin/portwatchd *$", text), text
    assert not re.search(r"@[A-Z]+@", text), "unsubstituted placeholder"

    # systemd-analyze verify checks that ExecStart= exists, and --root= would
    # need a whole system under DESTDIR: install into a temporary PREFIX instead.
    prefix = str(tmp_path / "prefix")
    r = subprocess.run(["make", "-C", ROOT, "--no-print-directory", "install",
                        "PREFIX=" + prefix + "/usr", "SYSCONFDIR=" + prefix + "/etc"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    units = os.path.join(prefix, "usr/lib/systemd/system")
    v = subprocess.run(["systemd-analyze", "verify", "--man=no",
                        os.path.join(units, "portwatchd.socket"),
                        os.path.join(units, "portwatchd.service")],
                       capture_output=True, text=True, timeout=60)
    assert v.returncode == 0, v.stdout + v.stderr
    # warnings (unknown keys, bad values) do not change the exit status
    assert not v.stderr.strip() and not v.stdout.strip(), v.stdout + v.stderr

    s = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager", unit],
                       capture_output=True, text=True, timeout=60)
    m = re.search(r"Overall exposure level for portwatchd.service: (\d+\.\d+) (\w+)", s.stdout)
    assert m, s.stdout + s.stderr
    assert float(m.group(1)) <= 3.5 and m.group(2) == "OK", m.group(0)

    # what test_group_members_... checks on the daemon's own socket is what
    # systemd gives the socket under the unit
    sock_unit = open(os.path.join(dest, "usr/lib/systemd/system/portwatchd.socket")).read()
    for line in ("ListenStream=/run/portwatch/portwatchd.sock", "SocketMode=0660",
                 "SocketGroup=portwatch"):
        assert re.search(r"(?m)^%s$" % re.escape(line), sock_unit), line
    assert re.search(r"(?m)^ExecReload=/usr/bin/portwatchctl reload$", text), text


def test_install_layout_keeps_the_admins_config_and_uninstall_removes_the_rest(tmp_path):
    dest = installed_root(tmp_path, prefix="/usr/local")
    expect = ["usr/local/sbin/portwatchd", "usr/local/bin/portwatchctl",
              "usr/local/lib/systemd/system/portwatchd.service",
              "usr/local/lib/systemd/system/portwatchd.socket",
              "etc/sysusers.d/portwatch.conf",
              "usr/local/share/man/man8/portwatchd.8", "usr/local/share/man/man1/portwatchctl.1",
              "usr/local/share/man/man5/portwatch.conf.5",
              "usr/local/share/bash-completion/completions/portwatchctl",
              "etc/portwatch/portwatch.conf", "etc/portwatch/portwatch.conf.example"]
    for f in expect:
        assert os.path.isfile(os.path.join(dest, f)), f
    assert "g portwatch" in open(os.path.join(dest, "etc/sysusers.d/portwatch.conf")).read()
    unit = open(os.path.join(dest, "usr/local/lib/systemd/system/portwatchd.service")).read()
    assert "ExecStart=/usr/local/sbin/portwatchd\n" in unit
    conf = os.path.join(dest, "etc/portwatch/portwatch.conf")
    with open(conf, "w") as fh:
        fh.write("[daemon]\nlog_level = debug\n")
    installed_root(tmp_path, prefix="/usr/local")  # again: the admin's file stays
    assert open(conf).read() == "[daemon]\nlog_level = debug\n"
    r = subprocess.run(["make", "-C", ROOT, "--no-print-directory", "uninstall",
                        "DESTDIR=" + dest, "PREFIX=/usr/local"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    left = sorted(os.path.relpath(os.path.join(p, f), dest)
                  for p, _, fs in os.walk(dest) for f in fs)
    assert left == ["etc/portwatch/portwatch.conf"], left


@pytest.mark.parametrize("page", ["portwatchd.8", "portwatchctl.1", "portwatch.conf.5"])
def test_man_page_is_clean(page):
    path = os.path.join(ROOT, "docs", page)
    lint = subprocess.run(["mandoc", "-T", "lint", "-W", "warning", path], capture_output=True,
                          text=True, timeout=30)
    assert lint.returncode == 0 and not lint.stdout.strip(), lint.stdout + lint.stderr
    man = subprocess.run(["man", "--warnings", "-l", path], capture_output=True, text=True,
                         timeout=30, env=dict(os.environ, MANWIDTH="80", MANPAGER="cat",
                                              PAGER="cat"))
    assert man.returncode == 0 and not man.stderr.strip(), man.stderr
    assert "portwatch" in man.stdout


def expand_syscall_filter(names, seen=None):
    """The system calls a SystemCallFilter= list allows: @groups expanded by
    `systemd-analyze syscall-filter` (recursively: groups name groups)."""
    seen = set() if seen is None else seen
    out = set()
    for n in names:
        if not n.startswith("@"):
            out.add(n)
        elif n not in seen:
            seen.add(n)
            txt = subprocess.run(["systemd-analyze", "syscall-filter", n], capture_output=True,
                                 text=True, timeout=30, check=True).stdout
            members = [ln.strip() for ln in txt.splitlines()[1:]
                       if ln.strip() and not ln.strip().startswith("#")]
            out |= expand_syscall_filter(members, seen)
    return out


def test_syscalls_and_socket_families_stay_inside_the_units_filters(daemon_factory, actors,
                                                                     netns, tmp_path, notify):
    """systemd would fail (SystemCallErrorNumber=EPERM) any system call outside
    SystemCallFilter= and any socket() outside RestrictAddressFamilies=: trace
    a daemon, with NOTIFY_SOCKET and WATCHDOG_USEC as under the unit, through
    start-up, a snapshot of another netns with a bound-only
    socket (setns, sock_diag, pidfd_getfd), events, an alert, `why` in that
    netns, a reload and SIGTERM, and compare."""
    unit = open(UNIT_IN).read()
    allowed = expand_syscall_filter(
        re.search(r"(?m)^SystemCallFilter=(.*)$", unit).group(1).split())
    families = set(re.search(r"(?m)^RestrictAddressFamilies=(.*)$", unit).group(1).split())
    trace = str(tmp_path / "strace.out")

    ns = netns()
    early = actors(uid=1700, netns=ns)
    port = free_port()
    early.bound("b", "127.0.0.1", port, reuseaddr=True)  # bound only: found via sock_diag
    notify.drain_in_background()
    d = daemon_factory("--reconcile-interval", "1",
                       wrap=["strace", "-D", "-f", "-qq", "-o", trace],
                       env=env_with(NOTIFY_SOCKET=notify.path, WATCHDOG_USEC=400000))
    assert os.path.realpath("/proc/%d/exe" % d.pid).endswith("/portwatchd")
    late = actors(uid=1701, netns=ns)
    late.socket("b", "inet", "tcp")
    assert not late.bind("b", "127.0.0.1", port)["ok"]
    d.wait_alert(lambda a: a["port"] == port and a["reason"] == "blocked")
    netns_ino = d.owners(port=port)[0]["netns"]
    d.ok({"cmd": "why", "port": port, "netns": netns_ino})
    subprocess.run([PORTWATCHCTL, "-s", d.socket_path, "reload"], check=True, timeout=10,
                   capture_output=True)
    time.sleep(1.5)  # one periodic reconciliation, traced
    assert d.stop() == 0
    time.sleep(0.2)  # the detached tracer writes the last lines

    used, fams = set(), set()
    for line in open(trace):
        m = re.match(r"\d+\s+([a-z_0-9]+)\(", line)
        if m:
            used.add(m.group(1))
        fams |= set(re.findall(r"\bsocket\((AF_[A-Z0-9]+)", line))
    assert {"bpf", "perf_event_open", "setns", "pidfd_getfd"} <= used, sorted(used)
    assert any(f == "WATCHDOG=1" for _, f in list(notify.got))  # that path was traced too
    assert not used - allowed, "outside SystemCallFilter=: %s" % sorted(used - allowed)
    assert fams and not fams - families, "outside RestrictAddressFamilies=: %s" % (fams - families)


def test_readme_rsyslog_forwarding_snippet_delivers_alerts(daemon_factory, actors, tmp_path):
    """docs/rsyslog-portwatch.conf, as the README tells to install it, in a
    real rsyslogd that the daemon logs to; the collector is a TCP listener of
    ours on loopback."""
    from pwe2e import RSYSLOGD
    collector = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    collector.bind(("127.0.0.1", 0))
    collector.listen(4)
    cport = collector.getsockname()[1]
    snippet = open(os.path.join(ROOT, "docs", "rsyslog-portwatch.conf")).read()
    assert 'target="collector.example.net" port="514"' in snippet
    readme = open(os.path.join(ROOT, "README.md")).read()
    rules = "\n".join(l for l in snippet.splitlines() if not l.startswith("#"))
    assert rules.strip() in readme, "README's snippet differs from docs/rsyslog-portwatch.conf"
    snippet = snippet.replace('target="collector.example.net" port="514"',
                              'target="127.0.0.1" port="%d"' % cport)
    work = str(tmp_path)
    os.chmod(work, 0o755)
    logsock = os.path.join(work, "log.sock")
    conf = os.path.join(work, "rsyslog.conf")
    with open(conf, "w") as fh:
        fh.write('global(workDirectory="%s")\n' % work)
        fh.write('module(load="imuxsock" SysSock.Use="off")\n')
        fh.write('input(type="imuxsock" Socket="%s" RateLimit.Interval="0")\n' % logsock)
        fh.write(snippet)
    rs = subprocess.Popen([RSYSLOGD, "-n", "-f", conf, "-i", os.path.join(work, "rs.pid")],
                          stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_until(lambda: os.path.exists(logsock), timeout=10, what="rsyslogd's socket")
        d = daemon_factory(devlog_source=logsock)
        port = free_port()
        a, b = actors(uid=1234), actors(uid=1235)
        a.bound("u", "0.0.0.0", port, type="udp", reuseaddr=True)
        d.sync()
        b.bound("u", "127.0.0.1", port, type="udp", reuseaddr=True)
        al = d.wait_alert(lambda x: x["port"] == port and x["reason"] == "shadow_wildcard")

        collector.settimeout(10)
        conn, _ = collector.accept()
        conn.settimeout(1)
        data = b""
        want = ("id=%d" % al["id"]).encode()
        deadline = time.monotonic() + 10
        while want not in data and time.monotonic() < deadline:
            try:
                chunk = conn.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                break
            data += chunk
        conn.close()
        text = data.decode("utf-8", "replace")
        line = next((l for l in text.splitlines() if "id=%d" % al["id"] in l), None)
        assert line, text[-2000:]
        # RFC 5424: <PRI>1 TIMESTAMP HOST APP PROCID ...; crit = 2, facility daemon = 3
        assert re.match(r"^(\d+ )?<26>1 \S+ \S+ portwatchd %d " % d.pid, line), line
        assert "reason=shadow_wildcard" in line and "local=127.0.0.1:%d " % port in line
        # the daemon's info messages are not forwarded
        assert "ready:" not in text
    finally:
        os.kill(rs.pid, signal.SIGTERM)
        rs.wait(10)
        collector.close()
