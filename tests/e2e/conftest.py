"""End-to-end fixtures: the real portwatchd, a real rsyslogd, real sockets.

Everything here runs as root on the real kernel:
  - `rsyslog` (session): an rsyslogd of our own (own config, pid file, work
    directory, foreground) listening on /dev/log, writing
    "facility.severity programname: msg" lines to a temporary file;
  - `daemon_factory` / `daemon`: build/portwatchd --foreground on a temporary
    control socket, started after rsyslog, ready once `stats` answers;
    stopped with SIGTERM by pid, which must give exit code 0 and remove the
    socket file. The periodic reconciliation is off (--reconcile-interval 0)
    unless a test asks for an interval: it would otherwise repair, within
    seconds, whatever the event path got wrong, and hide it;
  - `actors`: helper processes (actor.py) doing real socket operations as a
    chosen uid, optionally inside a network namespace and optionally under
    another executable (a copy of the python interpreter named nginx-like);
  - `netns`: fresh network namespaces with lo up, deleted at teardown;
  - `unit_cgroup`: cgroup v2 directories named like systemd services, for
    the `unit` attribution, removed at teardown.
Only one daemon runs at a time: the tests are sequential.
"""
import os
import secrets
import shutil
import subprocess
import tempfile

import pytest

from pwe2e import (PORTWATCHCTL, PORTWATCHD, PYTHON, Actor, Daemon, Rsyslog, cgroup2_mount,
                   remove_cgroups,
                   free_port)


def pytest_sessionstart(session):
    if os.geteuid() != 0:
        pytest.exit("the end-to-end tests need root (BPF, setresuid, ip netns)", returncode=2)


@pytest.fixture(scope="session")
def rsyslog():
    workdir = tempfile.mkdtemp(prefix="pwt-rsyslog-")
    r = Rsyslog(workdir)
    yield r
    r.stop()
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def daemon_factory(rsyslog):
    """start(*extra_args) -> a ready Daemon. One at a time; every daemon
    started is stopped at teardown with SIGTERM, which must exit 0 and remove
    the socket file."""
    if not (os.access(PORTWATCHD, os.X_OK) and os.access(PORTWATCHCTL, os.X_OK)):
        pytest.fail("build/portwatchd and build/portwatchctl must be built first (make)")
    started = []
    workdirs = []

    def start(*extra_args, ready=True, before_start=None, **kw):
        """kw: config, env, wrap, base_args, socket_path, devlog_source (see Daemon)."""
        assert not any(d.running() for d in started), "only one daemon at a time"
        if (not any(str(a).split("=", 1)[0] == "--reconcile-interval" for a in extra_args)
                and "reconcile_interval" not in kw.get("config", "")):
            extra_args = ("--reconcile-interval", "0") + extra_args
        workdir = tempfile.mkdtemp(prefix="pwt-d-")  # short: sun_path holds 108 bytes
        os.chmod(workdir, 0o755)  # so that non-root clients can reach the socket
        workdirs.append(workdir)
        if before_start:
            before_start(os.path.join(workdir, "pw.sock"))
        syslog_start = len(rsyslog.lines())
        kw.setdefault("devlog_source", rsyslog.devlog_source())
        d = Daemon(workdir, extra_args, **kw)
        d.syslog_start = syslog_start  # its records are the lines from here on
        started.append(d)
        if ready:
            d.wait_ready()
        return d

    yield start
    problems = []
    for d in started:
        was_stopped = d.stopped
        try:
            rc = d.stop()
        except AssertionError as e:
            problems.append(str(e))
            continue
        try:
            log = d.log()
        except OSError:
            log = ""
        if "Sanitizer" in log or "runtime error:" in log:
            problems.append("portwatchd (pid %d) reported a sanitizer error:\n%s"
                            % (d.pid, d.log_tail(80)))
        if not was_stopped:
            print("---- portwatchd log tail (pid %d) ----\n%s" % (d.pid, d.log_tail(60)))
            if rc != 0:
                problems.append("portwatchd exited with %s on SIGTERM, not 0:\n%s"
                                % (rc, d.log_tail()))
            if os.path.lexists(d.socket_path) and not d.keeps_socket:
                problems.append("portwatchd left its socket file %s behind" % d.socket_path)
    for w in workdirs:
        shutil.rmtree(w, ignore_errors=True)
    assert not problems, "\n".join(problems)


@pytest.fixture
def daemon(daemon_factory):
    return daemon_factory()


@pytest.fixture
def netns():
    """make() -> name of a fresh network namespace with lo up."""
    made = []

    def make():
        name = "pwt-" + secrets.token_hex(4)
        subprocess.run(["ip", "netns", "add", name], check=True, timeout=10)
        made.append(name)
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True, timeout=10)
        return name

    yield make
    for name in made:
        subprocess.run(["ip", "netns", "del", name], timeout=10)


@pytest.fixture
def unit_cgroup():
    """make() -> (unit name, directory): a fresh cgroup v2 child of the root
    named pwt-<random>.service. enter(directory, pid) moves a process in.
    Ask for this fixture before `actors`, so that it is torn down after them:
    at teardown every directory is removed once its processes are gone (any
    left over are moved back to the root first)."""
    root = cgroup2_mount()
    if root is None:
        pytest.fail("no cgroup2 mount in /proc/self/mounts")
    made = []

    def make():
        name = "pwt-%s.service" % secrets.token_hex(4)
        path = os.path.join(root, name)
        os.mkdir(path)
        made.append(path)
        return name, path

    yield make
    problems = remove_cgroups(root, made)
    assert not problems, "\n".join(problems)


@pytest.fixture
def actors(netns):
    """spawn(uid=, gid=, netns=, exe=, ops=) -> a ready Actor, stopped at teardown.
    Depends on `netns` so that namespaces are deleted after their actors."""
    started = []

    def spawn(**kw):
        a = Actor(**kw)
        started.append(a)
        return a

    yield spawn
    for a in reversed(started):
        a.stop()


@pytest.fixture(scope="session")
def other_exe():
    """A copy of the python interpreter under another name: a different
    executable (and comm) for the same actor code, hence another owner group."""
    d = tempfile.mkdtemp(prefix="pwt-exe-")
    os.chmod(d, 0o755)
    path = os.path.join(d, "nginx-like")
    shutil.copy2(os.path.realpath(PYTHON), path)
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def port():
    return free_port()
