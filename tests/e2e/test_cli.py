"""portwatchctl against the real daemon: exit codes (0 ok, 1 daemon error,
2 usage, 3 cannot connect), --json output carrying the contract's field
names, `why PORT` naming the holder, `watch` streaming alerts."""
import contextlib
import errno
import json
import os
import re
import select
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest

from pwe2e import (ALERT_KEYS, CONFLICT_KEYS, PORTWATCHCTL, SOCKET_KEYS, free_port, own_netns,
                   wait_until)


def ctl(*args, socket_path=None, timeout=10):
    argv = [PORTWATCHCTL] + (["--socket", socket_path] if socket_path else []) + list(args)
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def ctl_json(daemon, *args):
    r = ctl("--json", *args, socket_path=daemon.socket_path)
    assert r.returncode == 0, (args, r.returncode, r.stderr)
    try:
        return json.loads(r.stdout)
    except ValueError:
        raise AssertionError("--json %s printed no JSON document:\n%s" % (args, r.stdout[:2000]))


def members(doc, key):
    """The list under `key`: assumption (the docs are silent on the shape of
    --json output): either the daemon's response object or the bare list."""
    if isinstance(doc, dict):
        assert key in doc, "no %r in %s" % (key, list(doc))
        return doc[key]
    assert isinstance(doc, list), doc
    return doc


@pytest.fixture
def scene(daemon, actors):
    """A socket, an alert (udp_share across uids) and a conflict (bind under
    a listener) for the CLI to show."""
    port, tport = free_port(), free_port()
    a, b = actors(uid=1234), actors(uid=1235)
    ra = a.bound("u", "0.0.0.0", port, type="udp", reuseaddr=True)
    daemon.wait_inode(ra["inode"], port=port)
    rb = b.bound("u", "0.0.0.0", port, type="udp", reuseaddr=True)
    rl = a.bound("l", "127.0.0.1", tport, listen=True)
    daemon.wait_owner(lambda s: s["inode"] == rl["inode"] and s["state"] == "LISTEN", port=tport)
    b.socket("l")
    assert b.bind("l", "127.0.0.1", tport)["errno"] == "EADDRINUSE"
    alert = daemon.wait_alert(lambda x: x["port"] == port and x["reason"] == "udp_share")
    conflict = daemon.wait_conflict(lambda c: c["port"] == tport and c["pid"] == b.pid)
    return dict(port=port, tport=tport, a=a, b=b, ra=ra, rb=rb, rl=rl, alert=alert,
                conflict=conflict)


def test_exit_0_and_options_after_the_command(daemon):
    r = ctl("stats", socket_path=daemon.socket_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip()
    # DESIGN.md: options are also accepted after the command.
    r = subprocess.run([PORTWATCHCTL, "stats", "--json", "--socket", daemon.socket_path],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    stats = doc.get("stats", doc)
    assert "uptime_s" in stats and "hooks" in stats


@pytest.mark.parametrize("args", [
    [],
    ["frobnicate"],
    ["why"],
    ["why", "http"],
    ["--no-such-option", "stats"],
    ["owners", "extra", "arguments"],
], ids=["no-command", "unknown-command", "why-without-port", "why-bad-port", "bad-option",
        "extra-arguments"])
def test_exit_2_on_usage_errors(daemon, args):
    r = ctl(*args, socket_path=daemon.socket_path)
    assert r.returncode == 2, (args, r.returncode, r.stdout, r.stderr)
    assert r.stderr.strip(), "a usage error says something on stderr"


def test_exit_3_when_the_daemon_cannot_be_reached():
    with tempfile.TemporaryDirectory(prefix="pwt-ctl-") as d:
        missing = os.path.join(d, "nothing.sock")
        r = ctl("stats", socket_path=missing)
        assert r.returncode == 3, (r.returncode, r.stderr)
        assert r.stderr.startswith("portwatchctl: "), r.stderr
        # the message names the path and the errno
        assert missing in r.stderr, r.stderr
        assert os.strerror(errno.ENOENT) in r.stderr, r.stderr

        stale = os.path.join(d, "stale.sock")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(stale)
        s.close()
        r = ctl("owners", socket_path=stale)
        assert r.returncode == 3, (r.returncode, r.stderr)
        assert stale in r.stderr, r.stderr
        assert os.strerror(errno.ECONNREFUSED) in r.stderr, r.stderr


@contextlib.contextmanager
def fake_daemon(reply):
    """A stand-in daemon on a temporary socket that answers one request with
    the line `reply`. Yields (path, got): got receives the request read."""
    with tempfile.TemporaryDirectory(prefix="pwt-ctl-") as d:
        path = os.path.join(d, "fake.sock")
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(path)
        srv.listen(4)
        srv.settimeout(10)
        got = []

        def serve():
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                data = b""
                while b"\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    data += chunk
                got.append(data)
                conn.sendall(reply)

        t = threading.Thread(target=serve, daemon=True)
        t.start()
        try:
            yield path, got
        finally:
            t.join(10)
            srv.close()


def test_exit_1_on_a_daemon_error():
    # A stand-in daemon that refuses everything: exit 1, its error on stderr.
    with fake_daemon(b'{"version": 1, "ok": false, "error": "fake failure 4711"}\n') as (path,
                                                                                        got):
        r = ctl("owners", socket_path=path)
    assert got and json.loads(got[0].split(b"\n")[0])["cmd"] == "owners"
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert "fake failure 4711" in r.stderr
    assert r.stderr.startswith("portwatchctl: "), r.stderr


def test_exit_1_names_a_protocol_version_mismatch():
    # A daemon speaking a version this portwatchctl does not know: the CLI
    # names the mismatch instead of misreading the answer.
    with fake_daemon(b'{"version": 2, "ok": true, "stats": {"uptime_s": 1}}\n') as (path, got):
        r = ctl("stats", socket_path=path)
    assert got, "portwatchctl sent no request"
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert r.stderr.startswith("portwatchctl: "), r.stderr
    assert "daemon speaks protocol version 2" in r.stderr, r.stderr


def test_json_owners_shape(daemon, scene):
    sockets = members(ctl_json(daemon, "owners"), "sockets")
    mine = [s for s in sockets if s["inode"] == scene["ra"]["inode"]]
    assert len(mine) == 1
    s = mine[0]
    assert SOCKET_KEYS <= set(s), SOCKET_KEYS - set(s)
    assert (s["pid"], s["uid"], s["port"], s["proto"]) == (scene["a"].pid, 1234, scene["port"],
                                                           "udp")
    assert isinstance(s["netns"], int) and s["netns"] == own_netns()
    assert isinstance(s["inode"], int)
    assert isinstance(s["reuseaddr"], bool) and s["reuseaddr"] is True


def test_json_alerts_shape(daemon, scene):
    alerts = members(ctl_json(daemon, "alerts"), "alerts")
    mine = [x for x in alerts if x["id"] == scene["alert"]["id"]]
    assert len(mine) == 1
    al = mine[0]
    assert ALERT_KEYS <= set(al), ALERT_KEYS - set(al)
    assert SOCKET_KEYS <= set(al["holder"]) and SOCKET_KEYS <= set(al["contender"])
    assert (al["kind"], al["reason"], al["severity"]) == ("hijack_attempt", "udp_share",
                                                          "critical")
    assert al["holder"]["inode"] == scene["ra"]["inode"]
    assert al["contender"]["inode"] == scene["rb"]["inode"]


def test_json_conflicts_shape(daemon, scene):
    conflicts = members(ctl_json(daemon, "conflicts"), "conflicts")
    mine = [c for c in conflicts if c["port"] == scene["tport"] and c["pid"] == scene["b"].pid]
    assert mine
    c = mine[-1]
    assert CONFLICT_KEYS <= set(c), CONFLICT_KEYS - set(c)
    assert (c["op"], c["errno"], c["rule"]) == ("bind", 98, "listener")
    assert c["holders"] and all(SOCKET_KEYS <= set(h) for h in c["holders"])
    assert scene["rl"]["inode"] in [h["inode"] for h in c["holders"]]


def test_json_why_and_stats(daemon, scene):
    why = ctl_json(daemon, "why", str(scene["tport"]))
    assert why["port"] == scene["tport"]
    assert scene["rl"]["inode"] in [h["inode"] for h in why["holders"]]
    assert any(c["pid"] == scene["b"].pid for c in why["conflicts"])
    assert why["explanation"]
    stats = ctl_json(daemon, "stats")
    stats = stats.get("stats", stats)
    assert stats["alerts"] >= 1 and stats["conflicts"] >= 1


def test_why_names_the_holder(daemon, scene):
    r = ctl("why", str(scene["tport"]), socket_path=daemon.socket_path)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert str(scene["a"].pid) in out, out
    assert "python3" in out, out  # the holder's comm (or its exe, which contains it)
    # and on a port nobody holds: still an answer, exit 0
    r = ctl("why", str(free_port()), socket_path=daemon.socket_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip()


def test_plain_owners_alerts_conflicts(daemon, scene):
    out = ctl("owners", socket_path=daemon.socket_path)
    assert out.returncode == 0 and str(scene["port"]) in out.stdout
    assert str(scene["a"].pid) in out.stdout
    out = ctl("alerts", socket_path=daemon.socket_path)
    assert out.returncode == 0 and "udp_share" in out.stdout
    out = ctl("conflicts", socket_path=daemon.socket_path)
    assert out.returncode == 0 and str(scene["tport"]) in out.stdout


def test_owners_no_header_and_numeric(daemon, scene):
    """-H drops the header line and nothing else; -n is accepted and changes
    nothing (addresses and ports are numeric already), as with ss."""
    full = ctl("owners", "--port", str(scene["tport"]), socket_path=daemon.socket_path)
    assert full.returncode == 0, full.stderr
    lines = full.stdout.splitlines()
    assert lines[0].startswith("Netid  State") and len(lines) >= 2, full.stdout
    for args in (["-H"], ["--no-header"], ["owners", "-H"]):
        argv = (args if args[0] == "owners" else ["owners"] + args) + [
            "--port", str(scene["tport"])]
        r = ctl(*argv, socket_path=daemon.socket_path)
        assert r.returncode == 0, (args, r.stderr)
        assert r.stdout.splitlines() == lines[1:], (args, r.stdout)
    r = ctl("owners", "-n", "--port", str(scene["tport"]), socket_path=daemon.socket_path)
    assert r.returncode == 0 and r.stdout == full.stdout, (r.stderr, r.stdout)
    r = ctl("owners", "-Hn", "--port", str(scene["tport"]), socket_path=daemon.socket_path)
    assert r.returncode == 0 and r.stdout.splitlines() == lines[1:], (r.stderr, r.stdout)
    r = ctl("alerts", "-H", socket_path=daemon.socket_path)
    assert r.returncode == 0 and "udp_share" in r.stdout and "Reason" not in r.stdout.split(
        "\n", 1)[0], r.stdout
    r = ctl("stats", "-H", socket_path=daemon.socket_path)
    assert r.returncode == 2 and "stats does not take --no-header" in r.stderr, r.stderr


def test_owners_state_filter(daemon, scene):
    """--state keeps the sockets in that state as the State column prints it,
    in the table and in --json; repeated, any of them; a state that does not
    exist is a usage error."""
    def rows(*args):
        r = ctl("owners", "-H", *args, socket_path=daemon.socket_path)
        assert r.returncode == 0, (args, r.stderr)
        return [line.split() for line in r.stdout.splitlines()]

    listen = rows("--state", "LISTEN")
    assert listen and all(row[1] == "LISTEN" for row in listen), listen
    assert any(row[2] == "127.0.0.1:%d" % scene["tport"] for row in listen), listen
    assert not any(row[2].endswith(":%d" % scene["port"]) for row in listen), listen
    bound = rows("--state", "bound", "--port", str(scene["port"]))
    assert len(bound) == 2 and all(row[:3] == ["udp", "BOUND", "0.0.0.0:%d" % scene["port"]]
                                   for row in bound), bound
    assert rows("--state", "LISTEN", "--port", str(scene["port"])) == []
    both = rows("--state", "LISTEN", "--state", "BOUND", "--addr", "127.0.0.1",
                "--port", str(scene["tport"]))
    assert [row[1] for row in both] == ["LISTEN"], both
    # ss's spelling: '-' for '_'; nothing in TIME_WAIT is in the table
    assert rows("--state", "time-wait", "--port", str(scene["tport"])) == []

    socks = ctl_json(daemon, "owners", "--state", "LISTEN")
    assert socks and all(sk["state"] == "LISTEN" for sk in socks), socks
    assert scene["rl"]["inode"] in [sk["inode"] for sk in socks]
    assert set(SOCKET_KEYS) <= set(socks[0]), socks[0]

    r = ctl("owners", "--state", "LISTENING", socket_path=daemon.socket_path)
    assert r.returncode == 2 and "invalid --state 'LISTENING'" in r.stderr, r.stderr
    r = ctl("alerts", "--state", "LISTEN", socket_path=daemon.socket_path)
    assert r.returncode == 2 and "alerts does not take --state" in r.stderr, r.stderr


COMPLETION = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "cli", "portwatchctl.bash-completion")


def complete(*words):
    """What the completion script offers for the last of words, in a bash
    without the bash-completion package."""
    script = ('source "$1"; shift; complete -p portwatchctl >/dev/null || exit 9; '
              'COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _portwatchctl; '
              'printf "%s\\n" "${COMPREPLY[@]}"')
    r = subprocess.run(["bash", "--norc", "--noprofile", "-c", script, "bash", COMPLETION,
                        "portwatchctl", *words], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0 and not r.stderr, (words, r.returncode, r.stderr)
    return sorted(r.stdout.split())


def ctl_commands():
    """The commands of portwatchctl's command table (cli/portwatchctl.c), the
    list the completion must offer: a command added there without its
    completion fails the test below."""
    src = os.path.join(os.path.dirname(os.path.dirname(COMPLETION)), "cli", "portwatchctl.c")
    with open(src) as fh:
        names = re.findall(r'^\s*\{ "([a-z]+)", do_[a-z_]+, ', fh.read(), re.M)
    assert len(names) >= 10, names
    return sorted(names)


def test_bash_completion():
    assert complete("ch") == ["check"]
    assert complete("") == ctl_commands()
    assert "diversions" in complete("") and "protect" in complete("")
    assert complete("--socket", "/tmp/x", "-j", "al") == ["alerts"]
    assert complete("check", "") == ["tcp", "udp"]
    assert complete("check", "tcp", "0.0.0.0:80", "--reuse") == ["--reuseaddr", "--reuseport"]
    assert complete("why", "80", "--proto", "") == ["tcp", "udp"]
    assert complete("owners", "--state", "li") == ["LISTEN"]
    assert complete("owners", "--state", "TIME") == ["TIME_WAIT"]
    assert {"-H", "--no-header", "-n", "--numeric", "--state"} <= set(complete("owners", "-"))
    assert "--state" not in complete("alerts", "-") and "-H" in complete("alerts", "-")
    assert complete("stats", "--j") == ["--json"]
    assert "--container" in complete("why", "80", "--c")
    assert {"--device", "--port-range"} <= set(complete("check", "tcp", "0.0.0.0:80", "--"))
    assert "lo" in complete("check", "tcp", "0.0.0.0:80", "--device", "l")
    assert complete("why", "80", "--container", "") == []  # an id: nothing offered


def test_watch_streams_alerts(daemon, actors, port):
    base = daemon.stats()["clients"]
    w = subprocess.Popen([PORTWATCHCTL, "--socket", daemon.socket_path, "watch"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        wait_until(lambda: daemon.stats()["clients"] > base, what="watch to connect")
        a, b = actors(uid=1234), actors(uid=1235)
        ra = a.bound("u", "0.0.0.0", port, type="udp", reuseaddr=True)
        daemon.wait_inode(ra["inode"], port=port)
        b.bound("u", "0.0.0.0", port, type="udp", reuseaddr=True)
        buf = b""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if w.poll() is not None:
                break
            r, _, _ = select.select([w.stdout], [], [], 0.1)
            if r:
                chunk = os.read(w.stdout.fileno(), 65536)
                if not chunk:
                    break
                buf += chunk
                if any(b"udp_share" in line and str(port).encode() in line
                       for line in buf.split(b"\n")):
                    break
        assert any(b"udp_share" in line and str(port).encode() in line
                   for line in buf.split(b"\n")), "watch printed: %r" % buf[-2000:]
    finally:
        if w.poll() is None:
            os.kill(w.pid, signal.SIGTERM)
        try:
            w.wait(5)
        except subprocess.TimeoutExpired:
            os.kill(w.pid, signal.SIGKILL)
            w.wait(5)
        w.stdout.close()
        w.stderr.close()
