"""portwatch.conf(5) on the real daemon: every setting takes effect, every kind
of bad line is refused with FILE:LINE, a reload with a broken file keeps the
running configuration, and allow rules / ignored ports silence exactly what
they name."""
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import tempfile

import pytest

from pwe2e import PORTWATCHCTL, PORTWATCHD, PYTHON, free_port, wait_until


def share_udp(actors, port, *specs):
    """Actors (uid, exe) that each bind UDP 0.0.0.0:port with SO_REUSEADDR,
    in order; returns them. Across owner groups each later bind is a
    hijack_attempt/udp_share."""
    out = []
    for uid, exe in specs:
        a = actors(uid=uid, exe=exe)
        a.bound("u", "0.0.0.0", port, type="udp", reuseaddr=True)
        out.append(a)
    return out


def alerts_on(daemon, port, reason=None):
    return [a for a in daemon.alerts_on_port(port) if reason is None or a["reason"] == reason]


@pytest.fixture(scope="module")
def third_exe():
    """A third executable (another copy of python), matched by no allow rule."""
    d = tempfile.mkdtemp(prefix="pwt-exe3-")
    os.chmod(d, 0o755)
    path = os.path.join(d, "third-prog")
    shutil.copy2(os.path.realpath(PYTHON), path)
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(d, ignore_errors=True)


# ----------------------------------------------------------------- bad files

BAD_LINES = [
    ("[daemon]\nfoo = 1\n", 3, "unknown key 'foo' in section [daemon]"),
    ("x = 1\n", 2, "'x' is outside a section"),
    ("[nosuch]\na = b\n", 3, "unknown section [nosuch]"),
    ("[daemon\n", 2, "syntax error"),
    ("[daemon]\njust words\n", 3, "syntax error"),
    ("[daemon]\nlog_level = loud\n", 3, "log_level: 'loud'"),
    ("[daemon]\nreconcile_interval = -1\n", 3, "reconcile_interval: '-1'"),
    ("[daemon]\nring_size = 3\n", 3, "ring_size: 3 MiB is not a power of two"),
    ("[control]\nsocket = relative.sock\n", 3, "socket: 'relative.sock' must be an absolute"),
    ("[control]\nmode = 0999\n", 3, "mode: '0999' is not an octal file mode"),
    ("[syslog]\nfacility = kern9\n", 3, "facility: 'kern9'"),
    ("[syslog]\nformat = xml\n", 3, "format: 'xml' is not 'kv', 'json' or 'ecs'"),
    ("[alerts]\ntakeover_window = soon\n", 3, "takeover_window: 'soon'"),
    ("[alerts]\nalert_history = 0\n", 3, "alert_history: '0'"),
    ("[alerts]\nignore_ports = 80, http\n", 3, "ignore_ports: 'http' is not a port"),
    ("[alerts]\nallow = sctp 9\n", 3, "allow: expected 'tcp', 'udp', 'sniffer' or 'sk_lookup' first"),
    ("[alerts]\nallow = udp\n", 3, "allow: a port or LO-HI range must follow"),
    ("[alerts]\nallow = udp 70000\n", 3, "allow: '70000' is not a port"),
    ("[alerts]\nallow = udp 53 exe=bin/dns\n", 3, "exe= needs an absolute path"),
    ("[alerts]\nallow = udp 53 pid=12\n", 3, "'pid=': unknown selector"),
    ("[alerts]\nallow = udp 53 uid=pwt-no-such-user\n", 3, "no such user"),
    ("[alerts]\nallow = udp 53 exe=/" + "x" * 4100 + "\n", 3, "line longer than 4096 bytes"),
    # its pieces would parse: a comment, then a blank rest
    ("[alerts]\n#" + "x" * 4096 + " " * 10 + "\n", 3, "line longer than 4096 bytes"),
]


def test_a_line_of_4096_bytes_is_read(tmp_path):
    conf = tmp_path / "long.conf"
    conf.write_text("[alerts]\n#" + "x" * 4095 + "\ntakeover_window = 7\n")
    r = subprocess.run([PORTWATCHD, "--check", "--config", str(conf)], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 0, r
    assert "takeover_window = 7" in r.stdout, r.stdout


@pytest.mark.parametrize("text,line,msg", BAD_LINES, ids=[m for _, _, m in BAD_LINES])
def test_bad_line_names_file_and_line(tmp_path, text, line, msg):
    conf = tmp_path / "bad.conf"
    conf.write_text("# a comment first, so line numbers are not all 1\n" + text)
    r = subprocess.run([PORTWATCHD, "--check", "--config", str(conf)], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 2, r
    first = r.stderr.splitlines()[0]
    assert first.startswith("portwatchd: %s:%d: " % (conf, line)), first
    assert msg in first, first


def test_bad_file_stops_startup_before_anything_is_made(tmp_path):
    conf = tmp_path / "bad.conf"
    sock = tmp_path / "never.sock"
    conf.write_text("[control]\nsocket = %s\n[alerts]\nallow = udp 53 exe=nope\n" % sock)
    r = subprocess.run([PORTWATCHD, "--foreground", "--config", str(conf)], capture_output=True,
                       text=True, timeout=20)
    assert r.returncode == 2, r
    assert "%s:4: allow: 'exe=nope': exe= needs an absolute path" % conf in r.stderr
    assert not sock.exists()


def test_a_directory_is_no_configuration_file(tmp_path):
    r = subprocess.run([PORTWATCHD, "--check", "--config", str(tmp_path)],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 2 and "Is a directory" in r.stderr, r


def test_socket_path_naming_a_file_leaves_the_file_alone(tmp_path):
    precious = tmp_path / "precious.conf"
    precious.write_text("keep me\n")
    conf = tmp_path / "c.conf"
    conf.write_text("[control]\nsocket = %s\n" % precious)
    r = subprocess.run([PORTWATCHD, "--foreground", "--config", str(conf)], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1, r
    assert "exists and is not a socket" in r.stderr
    assert precious.read_text() == "keep me\n"


def test_missing_file_named_on_the_command_line_is_an_error(tmp_path):
    r = subprocess.run([PORTWATCHD, "--check", "--config", str(tmp_path / "absent.conf")],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 2
    assert "absent.conf: No such file or directory" in r.stderr


def test_command_line_overrides_the_file(tmp_path):
    conf = tmp_path / "c.conf"
    conf.write_text("[alerts]\ntakeover_window = 30\n[daemon]\nreconcile_interval = 9\n")
    r = subprocess.run([PORTWATCHD, "--check", "--config", str(conf), "--takeover-window", "7"],
                       capture_output=True, text=True, timeout=10, check=True)
    assert "takeover_window = 7\n" in r.stdout and "reconcile_interval = 9\n" in r.stdout
    assert "# configuration file: %s" % conf in r.stdout


def test_shipped_example_is_valid_and_means_the_defaults():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    example = os.path.join(root, "docs", "portwatch.conf.example")
    empty = tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False)
    empty.close()
    try:
        a = subprocess.run([PORTWATCHD, "--check", "--config", example], capture_output=True,
                           text=True, timeout=10, check=True).stdout
        b = subprocess.run([PORTWATCHD, "--check", "--config", empty.name],
                           capture_output=True, text=True, timeout=10, check=True).stdout
    finally:
        os.unlink(empty.name)
    strip = lambda s: s.split("\n", 1)[1]  # noqa: E731 - the first line names the file
    assert strip(a) == strip(b)
    # ... and uncommenting every setting gives a file the daemon accepts.
    text = open(example).read()
    live = re.sub(r"(?m)^#(\w+ = )", r"\1", text)
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as fh:
        fh.write(live)
    try:
        subprocess.run([PORTWATCHD, "--check", "--config", fh.name], capture_output=True,
                       text=True, timeout=10, check=True)
    finally:
        os.unlink(fh.name)


# ----------------------------------------------------------------- every setting

def ringbuf_sizes(pid):
    """max_entries of the BPF ring buffers the process holds (fdinfo)."""
    sizes = []
    fddir = "/proc/%d/fdinfo" % pid
    for fd in os.listdir(fddir):
        try:
            info = open(os.path.join(fddir, fd)).read()
        except OSError:
            continue
        if re.search(r"(?m)^map_type:\s+27$", info):  # BPF_MAP_TYPE_RINGBUF
            sizes.append(int(re.search(r"(?m)^max_entries:\s+(\d+)$", info).group(1)))
    return sizes


def possible_cpus():
    """How many CPUs the kernel may bring up (/sys/devices/system/cpu/possible, e.g. "0-7")."""
    n = 0
    for part in open("/sys/devices/system/cpu/possible").read().strip().split(","):
        lo, _, hi = part.partition("-")
        n += int(hi or lo) - int(lo) + 1
    return n


def test_daemon_and_control_settings_take_effect(daemon_factory, tmp_path):
    os.chmod(tmp_path, 0o755)
    sock = str(tmp_path / "custom.sock")
    d = daemon_factory(base_args=False, socket_path=sock, config=(
        "[daemon]\nlog_level = notice\nreconcile_interval = 1\nring_size = 2\n"
        "[control]\nsocket = %s\nmode = 0600\ngroup = root\n" % sock))
    st = os.stat(sock)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    assert st.st_gid == 0
    # ring_size is shared by the rings, one per possible CPU (up to 16)
    rings = d.stats()["rings"]
    assert rings["count"] == min(possible_cpus(), 16)
    assert ringbuf_sizes(d.pid) == [rings["bytes"]] * rings["count"]
    assert rings["count"] * rings["bytes"] <= 2 << 20 < 2 * rings["count"] * rings["bytes"]
    # a reconciliation a second
    n0 = d.stats()["reconciliations"]
    wait_until(lambda: d.stats()["reconciliations"] >= n0 + 2, timeout=5,
               what="two periodic reconciliations")
    # log_level = notice: none of the info lines of start-up
    log = d.log()
    assert "attached " not in log and "snapshot:" not in log, log[-2000:]


def test_alert_settings_take_effect(daemon_factory, actors, other_exe, rsyslog, tmp_path):
    port = free_port()
    os.chmod(tmp_path, 0o755)
    sock = str(tmp_path / "a.sock")
    # log_level = error: the daemon's own messages are quiet, alerts are not
    d = daemon_factory(base_args=False, socket_path=sock, config=(
        "[daemon]\nlog_level = error\n[control]\nsocket = %s\n"
        "[syslog]\nfacility = local5\nformat = json\n"
        "[alerts]\nalert_history = 2\nconflict_history = 2\ntakeover_window = 0\n" % sock))
    # three alerts: uid 1234 then 1235, 1236, 1237 share UDP port
    share_udp(actors, port, (1234, None), (1235, None), (1236, None), (1237, other_exe))
    wait_until(lambda: d.stats()["alerts"] >= 3, what="three alerts")
    d.sync()
    kept = d.alerts()
    assert len(kept) == 2 and d.stats()["alerts"] >= 3, kept
    assert kept[0]["id"] < kept[1]["id"] == d.stats()["alerts"]

    # syslog: facility local5, the contract's alert object as JSON
    last = kept[-1]
    line = rsyslog.wait_line(lambda l: l.startswith("local5.") and '"id":%d,' % last["id"] in l,
                             daemon=d)
    obj = json.loads(line.split("]: ", 1)[1])
    assert obj == last
    assert not any(l.startswith("daemon.") for l in rsyslog.lines_of(d))

    # conflict_history = 2: three refused binds keep two; the one across uids
    # is a notice-level alert, which reaches syslog although log_level = error
    cport = free_port()
    holder = actors(uid=1300)
    holder.bound("t", "127.0.0.1", cport, listen=True)
    for uid in (1300, 1300, 1301):
        c = actors(uid=uid)
        c.socket("t", "inet", "tcp")
        assert not c.bind("t", "127.0.0.1", cport)["ok"]
    wait_until(lambda: d.stats()["conflicts"] >= 3, what="three conflicts")
    assert len(d.conflicts()) == 2
    rsyslog.wait_line(lambda l: l.startswith("local5.notice") and '"reason":"blocked"' in l
                      and '"port":%d,' % cport in l, daemon=d)
    assert "snapshot:" not in d.log()

    # takeover_window = 0: a bind right after another program's listener left
    # is no takeover
    tport = free_port()
    a = actors(uid=1400)
    ra = a.bound("l", "127.0.0.1", tport, listen=True)
    d.wait_inode(ra["inode"], port=tport)
    a.exit_now()
    d.wait_gone([ra["inode"]], port=tport)
    b = actors(uid=1401)
    b.bound("l", "127.0.0.1", tport)
    d.assert_no_alert(tport)


def test_takeover_window_from_the_file_is_used(daemon_factory, actors):
    """The counterpart of takeover_window = 0 above: with a file setting 3600
    the same sequence is a takeover, so the 0 above was the file's doing."""
    d = daemon_factory(config="[alerts]\ntakeover_window = 3600\n")
    tport = free_port()
    a = actors(uid=1400)
    ra = a.bound("l", "127.0.0.1", tport, listen=True)
    d.wait_inode(ra["inode"], port=tport)
    a.exit_now()
    d.wait_gone([ra["inode"]], port=tport)
    b = actors(uid=1401)
    b.bound("l", "127.0.0.1", tport)
    d.wait_alert(lambda al: al["port"] == tport and al["reason"] == "takeover")


# ----------------------------------------------------------------- allow / ignore

def test_allow_rule_silences_exactly_the_alert_it_names(daemon_factory, actors, other_exe,
                                                        third_exe):
    port, other_port = free_port(), free_port()
    a, b = actors(uid=1234), actors(uid=1235, exe=other_exe)
    d = daemon_factory(config="[alerts]\nallow = udp %d exe=%s exe=%s\n" % (port, a.exe, b.exe))
    # python (uid 1234) and nginx-like (uid 1235) share the port: allowed
    for x in (a, b):
        x.bound("u", "0.0.0.0", port, type="udp", reuseaddr=True)
    wait_until(lambda: d.stats()["alerts_silenced"] == 1, what="one silenced alert")
    d.sync()
    assert alerts_on(d, port) == []

    # a third program joins: not covered by the rule, alerted
    share_udp(actors, port, (1236, third_exe))
    al = d.wait_alert(lambda x: x["port"] == port and x["reason"] == "udp_share")
    assert al["contender"]["exe"] == third_exe

    # the same two programs on another port: alerted
    for x in (a, b):
        x.bound("o", "0.0.0.0", other_port, type="udp", reuseaddr=True)
    d.wait_alert(lambda x: x["port"] == other_port and x["reason"] == "udp_share")

    # the same two programs, same port, TCP: the rule is UDP's, so the refused
    # bind across uids is alerted
    ra = a.bound("t", "0.0.0.0", port, listen=True)
    d.wait_inode(ra["inode"], port=port, proto="tcp")
    b.socket("t", "inet", "tcp")
    assert not b.bind("t", "0.0.0.0", port)["ok"]
    d.wait_alert(lambda x: x["port"] == port and x["proto"] == "tcp"
                 and x["reason"] == "blocked")
    d.sync()
    assert d.stats()["alerts_silenced"] == 1


def test_ignored_port_raises_and_records_nothing_but_is_still_owned(daemon_factory, actors):
    port, watched = free_port(), free_port()
    d = daemon_factory(config="[alerts]\nignore_ports = %d\n" % port)
    for p in (port, watched):
        a = actors(uid=1234)
        ra = a.bound("u", "0.0.0.0", p, type="udp", reuseaddr=True)
        d.wait_inode(ra["inode"], port=p)
        b = actors(uid=1235)
        b.bound("u", "127.0.0.1", p, type="udp", reuseaddr=True)  # shadow_wildcard
        c = actors(uid=1236)
        c.bound("t", "127.0.0.1", p, listen=True)
        e = actors(uid=1237)
        e.socket("t", "inet", "tcp")
        assert not e.bind("t", "127.0.0.1", p)["ok"]  # EADDRINUSE: a conflict (and blocked)
    d.wait_alert(lambda x: x["port"] == watched and x["reason"] == "shadow_wildcard")
    d.wait_alert(lambda x: x["port"] == watched and x["reason"] == "blocked")
    d.wait_conflict(lambda x: x["port"] == watched)
    d.sync()
    assert alerts_on(d, port) == [] and d.conflicts_on_port(port) == []
    st = d.stats()
    assert st["alerts_silenced"] == 1 and st["conflicts_ignored"] == 1
    assert len(d.owners(port=port)) == 3  # both UDP sockets and the listener


# ----------------------------------------------------------------- reload

def test_reload_with_a_broken_file_keeps_serving_the_old_configuration(daemon_factory, actors,
                                                                       other_exe):
    p1, p2 = free_port(), free_port()
    d = daemon_factory(config="[alerts]\nallow = udp %d-%d\n" % (min(p1, p2), max(p1, p2)))
    with open(d.config_path, "w") as fh:
        fh.write("[alerts]\nallow = udp nonsense\n")
    os.kill(d.pid, signal.SIGHUP)
    wait_until(lambda: "portwatch.conf:2: allow: 'nonsense' is not a port" in d.log()
               and "keeping the running configuration" in d.log(), what="the reload error")
    assert d.running()
    # the old allow rule still silences p1
    share_udp(actors, p1, (1234, None), (1235, other_exe))
    wait_until(lambda: d.stats()["alerts_silenced"] == 1, what="a silenced alert")

    # the control socket's reload says the same, and also keeps the old one
    r = subprocess.run([PORTWATCHCTL, "-s", d.socket_path, "reload"], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 1 and "portwatch.conf:2:" in r.stderr, r

    # a good file without the rule: now p2 alerts
    with open(d.config_path, "w") as fh:
        fh.write("[daemon]\nlog_level = debug\n")
    r = subprocess.run([PORTWATCHCTL, "-s", d.socket_path, "reload"], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 0 and "configuration reloaded from %s" % d.config_path in r.stdout, r
    share_udp(actors, p2, (1234, None), (1235, other_exe))
    d.wait_alert(lambda a: a["port"] == p2 and a["reason"] == "udp_share")


def test_readme_configuration_example_is_accepted():
    """The ```ini block of the README, as a user would paste it."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    readme = open(os.path.join(root, "README.md")).read()
    blocks = re.findall(r"```ini\n(.*?)```", readme, re.S)
    assert blocks, "no ```ini block in the README"
    for text in blocks:
        with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as fh:
            fh.write(text)
        try:
            r = subprocess.run([PORTWATCHD, "--check", "--config", fh.name],
                               capture_output=True, text=True, timeout=10)
        finally:
            os.unlink(fh.name)
        assert r.returncode == 0, r.stderr
        if "[protect]" in text:  # "Protect ports": the worked example, as understood
            assert "\n[protect]\nmode = enforce\n" in r.stdout, r.stdout
            assert "protect = udp 53 exe=/usr/sbin/unbound  # line" in r.stdout, r.stdout
            assert "protect = tcp 443 unit=nginx.service  # line" in r.stdout, r.stdout
        elif "[syslog]" in text:  # "Configure"
            assert "format = json" in r.stdout and "2 allow rules" in r.stdout, r.stdout


def test_reload_applies_the_new_file_and_keeps_command_line_overrides(daemon_factory, actors):
    """--log-level debug (the test daemon's command line) outlives a file
    that says error; takeover_window changes at run time."""
    d = daemon_factory(config="[alerts]\ntakeover_window = 0\n")

    def takeover_sequence():
        port = free_port()
        a = actors(uid=1400)
        ra = a.bound("l", "127.0.0.1", port, listen=True)
        d.wait_inode(ra["inode"], port=port)
        a.exit_now()
        d.wait_gone([ra["inode"]], port=port)
        actors(uid=1401).bound("l", "127.0.0.1", port)
        return port

    p0 = takeover_sequence()
    d.assert_no_alert(p0)
    with open(d.config_path, "w") as fh:
        fh.write("[daemon]\nlog_level = error\n[alerts]\ntakeover_window = 3600\n")
    r = subprocess.run([PORTWATCHCTL, "-s", d.socket_path, "reload"], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 0, r
    mark = len(d.log())
    p1 = takeover_sequence()
    d.wait_alert(lambda x: x["port"] == p1 and x["reason"] == "takeover")
    # debug lines still come: the command line's --log-level debug won over
    # the file's error (a refused bind logs "conflict: ..." at debug)
    cport = free_port()
    h = actors(uid=1500)
    h.bound("t", "127.0.0.1", cport, listen=True)
    c = actors(uid=1500)
    c.socket("t", "inet", "tcp")
    assert not c.bind("t", "127.0.0.1", cport)["ok"]
    wait_until(lambda: re.search(r"(?m)^portwatchd: conflict: bind 127\.0\.0\.1:%d/tcp" % cport,
                                 d.log()[mark:]), what="the debug line of the conflict")
