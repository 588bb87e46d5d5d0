"""Issue 15 item 2: alerts reach a real systemd-journald as native entries -
MESSAGE_ID per reason, PRIORITY from severity, the PORTWATCH_* fields - with
hostile names clean (issue 17 item 3), and `journalctl -x` explains them
from systemd/portwatch.catalog as `make install` installs it.

The journald is Debian's /lib/systemd/systemd-journald, started by the test
without systemd as PID 1, in a mount namespace of its own: /run is a tmpfs
there, /run/systemd/journal (its sockets) and /run/log/journal (its files,
Storage=volatile) are directories of the test, so it touches nothing of the
host. The daemon gets a private mount namespace too (Daemon `wrap`) in which
that socket directory is /run/systemd/journal: it finds journald where it
would on a systemd host. journalctl reads the files with --directory; for
-x, whose catalog database path is fixed (/var/lib/systemd/catalog/database),
it runs in a mount namespace where the test's database is bind-mounted there.
"""
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from pwe2e import ROOT, own_netns, wait_until

JOURNALD = "/lib/systemd/systemd-journald"
MSGID_H = os.path.join(ROOT, "daemon", "msgid.h")
HOSTILE = b'x" uid=0\n\x1b[1m\xff'  # as test_hostile_names.py: fits comm (15)

JOURNALD_CONF = """[Journal]
Storage=volatile
ReadKMsg=no
ForwardToSyslog=no
ForwardToKMsg=no
ForwardToConsole=no
ForwardToWall=no
RateLimitBurst=0
"""

# In journald's own mount namespace: a tmpfs over /run (and over
# /var/log/journal, should the configuration be ignored), our directories
# bind-mounted where journald puts its sockets and files, our drop-in.
JOURNALD_SCRIPT = r"""set -e
sock=$1 logdir=$2 conf=$3
mount -t tmpfs -o mode=0755 pwt-run /run
if [ -d /var/log/journal ]; then mount -t tmpfs pwt-varlog /var/log/journal; fi
mkdir -p /run/systemd/journal /run/log/journal /run/systemd/journald.conf.d
mount --bind "$sock" /run/systemd/journal
mount --bind "$logdir" /run/log/journal
cp "$conf" /run/systemd/journald.conf.d/50-pwt.conf
exec "$4"
"""

# The daemon's wrap: /run/systemd/journal is the test journald's socket
# directory; the rest of /run stays the host's.
DAEMON_WRAP = r"""set -e
mount -t tmpfs -o mode=0755 pwt-run-systemd /run/systemd
mkdir /run/systemd/journal
mount --bind "$0" /run/systemd/journal
exec "$@"
"""


def msgids():
    """reason -> MESSAGE_ID, from daemon/msgid.h."""
    with open(MSGID_H) as fh:
        return {m.group(1).lower(): m.group(2)
                for m in re.finditer(r'#define PW_MSGID_(\w+)\s+"([0-9a-f]{32})"', fh.read())}


class Journald:
    def __init__(self, workdir):
        self.workdir = workdir
        self.sockdir = os.path.join(workdir, "sock")
        self.logdir = os.path.join(workdir, "log")
        os.mkdir(self.sockdir)
        os.mkdir(self.logdir)
        os.chmod(workdir, 0o755)
        conf = os.path.join(workdir, "journald.conf")
        with open(conf, "w") as fh:
            fh.write(JOURNALD_CONF)
        self.stderr = open(os.path.join(workdir, "journald.log"), "wb")
        # unshare and sh exec: the pid we hold is journald's
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", JOURNALD_SCRIPT,
             "sh", self.sockdir, self.logdir, conf, JOURNALD],
            stdin=subprocess.DEVNULL, stdout=self.stderr, stderr=subprocess.STDOUT,
            start_new_session=True)
        self.socket = os.path.join(self.sockdir, "socket")
        self.devlog = os.path.join(self.sockdir, "dev-log")
        try:
            self.sync(timeout=15)
        except BaseException:
            self.stop()
            raise

    def send(self, **fields):
        """A native entry of ours (the journal's text protocol, one datagram)."""
        data = "".join("%s=%s\n" % kv for kv in fields.items()).encode()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            s.sendto(data, self.socket)
        finally:
            s.close()

    def sync(self, timeout=10):
        """A barrier: our entry, sent to the native socket after what the
        daemon sent there, is in the files, so the daemon's is too (one
        socket, read in order)."""
        token = "pwt-sync-" + secrets.token_hex(4)

        def probe():
            if self.proc.poll() is not None:
                raise AssertionError("systemd-journald exited with %s:\n%s"
                                     % (self.proc.returncode, self.log()))
            if os.path.exists(self.socket):
                self.send(MESSAGE=token, PWT_SYNC=token)
                return self.entries("PWT_SYNC=" + token)
            return None
        wait_until(probe, timeout, interval=0.1, what="our probe entry in the journal")

    def entries(self, *matches):
        """The entries matching (journalctl FIELD=VALUE), as -o json gives them."""
        if not any(os.scandir(self.logdir)):
            return []
        r = subprocess.run(["journalctl", "--directory", self.logdir, "-o", "json",
                            "--no-pager", *matches], capture_output=True, timeout=20)
        assert r.returncode == 0, r.stderr
        return [json.loads(line) for line in r.stdout.decode("utf-8", "strict").splitlines()]

    def wait_entry(self, *matches, timeout=5):
        return wait_until(lambda: self.entries(*matches), timeout, interval=0.1,
                          what="a journal entry with %s" % " ".join(matches))[0]

    def journal_files_dir(self):
        return self.logdir

    def log(self):
        with open(self.stderr.name, "rb") as fh:
            return fh.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()  # by the pid we started
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.stderr.close()


@pytest.fixture
def journald():
    if not os.access(JOURNALD, os.X_OK):
        pytest.fail("%s is missing: the systemd package (make deps) provides it" % JOURNALD)
    workdir = tempfile.mkdtemp(prefix="pwt-journal-")
    j = Journald(workdir)
    yield j
    j.stop()
    shutil.rmtree(workdir, ignore_errors=True)


def daemon_wrap(j):
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", DAEMON_WRAP,
            j.sockdir]


def hijack(daemon, actors, port, comm=None):
    """A uid binds UDP 0.0.0.0:port, another shadows it on 127.0.0.1 (critical
    shadow_wildcard, the README scenario); comm: the contender's name, bytes."""
    a = actors(uid=1934)
    b = actors(uid=1935)
    ra = a.bound("u", "0.0.0.0", port, type="udp", reuseaddr=True)
    daemon.wait_inode(ra["inode"], port=port)
    if comm is not None:
        assert b.do(op="comm", hex=comm.hex())["ok"]
    b.bound("u", "127.0.0.1", port, type="udp", reuseaddr=True)
    al = daemon.wait_alert(lambda x: x["port"] == port and x["reason"] == "shadow_wildcard")
    return a, b, al


def assert_clean(entry):
    """Every field is text (-o json shows others as arrays of bytes), valid
    UTF-8 (decoded strictly above), with no control character."""
    for k, v in entry.items():
        assert isinstance(v, str), "field %s is not text: %r" % (k, v)
        if k.startswith("PORTWATCH_") or k in ("MESSAGE", "MESSAGE_ID", "SYSLOG_IDENTIFIER"):
            assert not any(ord(c) < 0x20 or ord(c) == 0x7f for c in v), (k, v)


def test_alert_is_a_native_journal_entry_beside_a_foreign_syslog(daemon_factory, rsyslog,
                                                                journald, actors, port):
    # /dev/log is our rsyslogd's, not journald's: the syslog line goes there
    # too, and the journal entry carries the same line as MESSAGE.
    d = daemon_factory(wrap=daemon_wrap(journald))
    a, b, al = hijack(d, actors, port)
    e = journald.wait_entry("PORTWATCH_ALERT_ID=%d" % al["id"], "_PID=%d" % d.pid)
    assert_clean(e)
    want = {
        "MESSAGE_ID": msgids()["shadow_wildcard"],
        "PRIORITY": "2",
        "SYSLOG_FACILITY": "3",
        "SYSLOG_IDENTIFIER": "portwatchd",
        "_TRANSPORT": "journal",
        "PORTWATCH_KIND": "hijack_attempt",
        "PORTWATCH_REASON": "shadow_wildcard",
        "PORTWATCH_SEVERITY": "critical",
        "PORTWATCH_PROTO": "udp",
        "PORTWATCH_LOCAL_ADDR": "127.0.0.1",
        "PORTWATCH_LOCAL_PORT": str(port),
        "PORTWATCH_NETNS": str(own_netns()),
        "PORTWATCH_RESULT": "ok",
        "PORTWATCH_HOLDER_PID": str(a.pid),
        "PORTWATCH_HOLDER_UID": "1934",
        "PORTWATCH_HOLDER_COMM": "python3",
        "PORTWATCH_HOLDER_EXE": a.exe,
        "PORTWATCH_CONTENDER_PID": str(b.pid),
        "PORTWATCH_CONTENDER_UID": "1935",
        "PORTWATCH_CONTENDER_COMM": "python3",
        "PORTWATCH_CONTENDER_EXE": b.exe,
        "PORTWATCH_MESSAGE": al["message"],
    }
    got = {k: e.get(k) for k in want}
    assert got == want, json.dumps(e, indent=1)
    assert "PORTWATCH_FOLDED" not in e
    # the holder's and contender's units are those of the alert (or absent)
    for side in ("holder", "contender"):
        assert e.get("PORTWATCH_%s_UNIT" % side.upper()) == al[side]["unit"], (side, e)

    line = e["MESSAGE"]
    assert line.startswith("kind=hijack_attempt reason=shadow_wildcard severity=critical "
                           "proto=udp local=127.0.0.1:%d " % port), line
    assert line.endswith(" id=%d" % al["id"]), line
    # the same line reached syslog, once
    rec = rsyslog.wait_line(lambda s: s.endswith(" id=%d" % al["id"]), daemon=d)
    assert rec == "daemon.crit portwatchd[%d]: %s" % (d.pid, line), rec
    journald.sync()
    assert len(journald.entries("PORTWATCH_ALERT_ID=%d" % al["id"], "_PID=%d" % d.pid)) == 1


def test_journal_only_when_syslog_leads_to_the_same_journald(daemon_factory, rsyslog, journald,
                                                             actors, port):
    # A systemd host: /dev/log is journald's dev-log. The alert is one
    # entry, the native one; a syslog line would be the same alert twice.
    # The daemon's own messages still go through /dev/log into the journal.
    d = daemon_factory(wrap=daemon_wrap(journald), devlog_source=journald.devlog)
    _, _, al = hijack(d, actors, port)
    e = journald.wait_entry("PORTWATCH_ALERT_ID=%d" % al["id"], "_PID=%d" % d.pid)
    assert e["MESSAGE_ID"] == msgids()["shadow_wildcard"] and e["PRIORITY"] == "2"
    d.sync()
    journald.sync()
    mine = journald.entries("_PID=%d" % d.pid)
    about = [x for x in mine if x.get("MESSAGE", "").endswith(" id=%d" % al["id"])]
    assert [x["_TRANSPORT"] for x in about] == ["journal"], json.dumps(about, indent=1)
    assert any(x["_TRANSPORT"] == "syslog" and re.match(r"portwatchd \S+ ready", x["MESSAGE"])
               for x in mine), "the daemon's start message is not in the journal"
    rsyslog.sync()
    assert not [s for s in rsyslog.lines_of(d) if " id=%d" % al["id"] in s]


def test_journal_no_keeps_the_syslog_line_alone(daemon_factory, rsyslog, journald, actors,
                                                port):
    d = daemon_factory(wrap=daemon_wrap(journald), config="[syslog]\njournal = no\n")
    _, _, al = hijack(d, actors, port)
    rsyslog.wait_line(lambda s: s.endswith(" id=%d" % al["id"]), daemon=d)
    d.sync()
    journald.sync()
    assert journald.entries("_PID=%d" % d.pid, "PORTWATCH_ALERT_ID=%d" % al["id"]) == []


def test_hostile_comm_arrives_clean(daemon_factory, rsyslog, journald, actors, port):
    d = daemon_factory(wrap=daemon_wrap(journald))
    _, b, al = hijack(d, actors, port, comm=HOSTILE)
    e = journald.wait_entry("PORTWATCH_ALERT_ID=%d" % al["id"], "_PID=%d" % d.pid)
    assert_clean(e)
    # one field, not split by the newline; no quote-spoofed uid anywhere else
    assert e["PORTWATCH_CONTENDER_COMM"] == 'x" uid=0\\x0a\\x1b[1m\\xff', e
    assert e["PORTWATCH_CONTENDER_UID"] == "1935" and "UID" not in e
    assert "x\" uid=0\\x0a\\x1b[1m\\xff" in e["PORTWATCH_MESSAGE"], e["PORTWATCH_MESSAGE"]
    assert "comm=x\\x22\\x20uid\\x3d0\\x0a\\x1b[1m\\xff " in e["MESSAGE"], e["MESSAGE"]
    # journalctl shows it as text, not "[N blob data]"
    r = subprocess.run(["journalctl", "--directory", journald.logdir, "--no-pager", "-o", "cat",
                        "PORTWATCH_ALERT_ID=%d" % al["id"], "_PID=%d" % d.pid],
                       capture_output=True, timeout=20, check=True)
    assert r.stdout.decode("utf-8", "strict") == e["MESSAGE"] + "\n"


def test_catalog_explains_every_alert_with_journalctl_x(daemon_factory, rsyslog, journald,
                                                        actors, port, tmp_path):
    # `make install` into a temporary root puts the catalog where
    # `journalctl --update-catalog` looks; every id of msgid.h has a section
    dest = str(tmp_path / "root")
    r = subprocess.run(["make", "-C", ROOT, "--no-print-directory", "install", "DESTDIR=" + dest,
                        "PREFIX=/usr"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert os.path.isfile(os.path.join(dest, "usr/lib/systemd/catalog/portwatch.catalog"))
    r = subprocess.run(["journalctl", "--root", dest, "--update-catalog"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    listed = subprocess.run(["journalctl", "--root", dest, "--list-catalog"],
                            capture_output=True, text=True, timeout=60, check=True).stdout
    in_catalog = {line.split()[0] for line in listed.splitlines()
                  if line.split()[1:2] == ["portwatch:"]}
    assert in_catalog == set(msgids().values()), listed

    d = daemon_factory(wrap=daemon_wrap(journald))
    _, b, al = hijack(d, actors, port)
    journald.wait_entry("PORTWATCH_ALERT_ID=%d" % al["id"], "_PID=%d" % d.pid)
    # -x reads /var/lib/systemd/catalog/database: ours, in a namespace of its own
    database = os.path.join(dest, "var/lib/systemd/catalog")
    assert os.path.isdir("/var/lib/systemd/catalog"), "no mount point for the catalog database"
    r = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c",
         'mount --bind "$0" /var/lib/systemd/catalog && exec "$@"', database, "journalctl", "--directory", journald.logdir, "-x",
         "--no-pager", "PORTWATCH_ALERT_ID=%d" % al["id"], "_PID=%d" % d.pid],
        capture_output=True, timeout=30)
    out = r.stdout.decode("utf-8", "strict")
    assert r.returncode == 0, r.stderr
    assert ("Subject: Port hijack attempt: 127.0.0.1 port %d/udp shadows another program's "
            "wildcard" % port) in out, out
    assert "Defined-By: portwatch" in out and "Documentation: man:portwatchd(8)" in out, out
    body = re.sub(r"\s*\n░░ ", " ", out)
    assert "Process %d (python3, uid 1935, executable %s)" % (b.pid, b.exe) in body, out
    assert "What to do:" in out and "portwatchctl why %d" % port in body, out
