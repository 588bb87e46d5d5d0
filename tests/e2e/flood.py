#!/usr/bin/python3
"""flood.py - one uid's control-socket flood, for tests/e2e/test_ctl_flood.py
and the "flood" measurement of bench/run.py (issue 17).

    flood.py --socket PATH [--uid U --gid G --groups G1,G2] [--nofile N]
             [--nonread N --nonread-requests K] [--idle N]
             [--hangup N --hangup-requests R --waves W]

Run as root: it raises RLIMIT_NOFILE, then drops to --uid/--gid with
exactly --groups as supplementary groups (the control socket's group makes
a "group member") before it opens anything. In this order:
  1. N non-reading clients: each sends K `owners` requests at once and
     never reads an answer;
  2. N idle connections: connect, send nothing;
  3. then it waits until the daemon has taken or refused every connection
     of 1 and 2 (a refused connection is accepted and closed at once: the
     client reads EOF or ECONNRESET; a taken non-reader has an answer to
     read; a taken idle one shows nothing) and prints
       {"op":"ready", "nonread_open", "nonread_refused", "nonread_pending",
        "idle_open", "idle_refused", "idle_pending", "connect_timeouts"}
     (pending: neither within the settle deadline; for idle ones, those
     still in the listener's backlog then, `ss -xl`);
  4. after a "go" line on stdin, waves of hung-up clients: each connects,
     sends R `owners` requests and closes at once. One wave is N clients;
     it runs W waves (0: until stdin says "stop"), then prints
       {"op":"hangup", "waves", "clients", "refused"}
     refused: the daemon closed it before the client could send (EPIPE,
     ECONNRESET, EOF); a client refused after its send succeeded is not
     seen here - the daemon's own counter has it.
Then one command per stdin line, one JSON answer line each:
  "count"  how many connections of 1 and 2 are still open:
           {"op":"count","idle_open","nonread_open","idle_closed","nonread_closed"}
           (a non-reader's pending answers are read and thrown away to see
           whether EOF follows, so run it once the flood is over)
  "stop"   (during the waves) end them.
It closes everything and exits 0 at EOF on stdin or on SIGTERM.
Only the standard library is used.
"""
import argparse
import errno
import json
import os
import resource
import select
import signal
import socket
import struct
import subprocess
import sys
import time

OWNERS = b'{"cmd":"owners"}\n'
CONNECT_TIMEOUT = 2.0  # a connect that waits longer: the listener is not served
SETTLE = 20.0          # bound of the wait for the daemon to take or refuse a connection
                       # (it ends as soon as each is decided: a loaded host is slower)
GONE = (errno.ECONNRESET, errno.EPIPE, errno.ECONNREFUSED, errno.ENOTCONN)


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def connect(path):
    """A connected socket, or None when the connect waited CONNECT_TIMEOUT
    (the listen backlog stayed full: the daemon takes no connection).
    Blocking, with SO_SNDTIMEO: a Unix connect waits for room in the
    backlog that long (unix_stream_connect()), where a non-blocking one
    fails at once with EAGAIN."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sec = int(CONNECT_TIMEOUT)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO,
                 struct.pack("ll", sec, int((CONNECT_TIMEOUT - sec) * 1e6)))
    try:
        s.connect(path)
    except BlockingIOError:
        s.close()
        return None
    s.setblocking(False)
    return s


def state(s):
    """'eof' (closed by the daemon), 'data' (an answer to read) or 'quiet'."""
    try:
        b = s.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return "quiet"
    except OSError as e:
        if e.errno in GONE:
            return "eof"
        raise
    return "data" if b else "eof"


def settle(path, nonread, idle):
    """Wait until each connection is taken or refused; the counts of 3."""
    res = {"nonread_open": 0, "nonread_refused": 0, "nonread_pending": 0,
           "idle_open": 0, "idle_refused": 0, "idle_pending": 0}
    undecided = set(range(len(nonread)))
    deadline = time.monotonic() + SETTLE
    while undecided and time.monotonic() < deadline:
        for i in list(undecided):
            st = state(nonread[i])
            if st != "quiet":
                res["nonread_" + ("open" if st == "data" else "refused")] += 1
                undecided.discard(i)
        if undecided:
            time.sleep(0.02)
    res["nonread_pending"] = len(undecided)
    # idle ones: refused ones read EOF soon after the daemon accepts them;
    # the rest are taken once the listener's backlog is empty and a quiet
    # second has passed with no new EOF among them
    refused, quiet_since = set(), time.monotonic()
    deadline = quiet_since + SETTLE  # a bound of their own, and one pass at least
    while True:
        for i, s in enumerate(idle):
            if i not in refused and state(s) == "eof":
                refused.add(i)
                quiet_since = time.monotonic()
        if time.monotonic() >= deadline or (time.monotonic() - quiet_since >= 1.0
                                            and backlog(path) == 0):
            break
        time.sleep(0.05)
    res["idle_refused"] = len(refused)
    # still in the backlog at the deadline: not taken (the newest are last)
    res["idle_pending"] = min(backlog(path), len(idle) - len(refused)) if idle else 0
    res["idle_open"] = len(idle) - len(refused) - res["idle_pending"]
    return res


def backlog(path):
    """Connections waiting in the listener's backlog (ss: Recv-Q of a
    listening Unix socket); others' connections count too."""
    out = subprocess.run(["ss", "-xlH", "src", path], capture_output=True, text=True,
                         timeout=10).stdout.split()
    return int(out[2]) if len(out) > 2 else 0


def still_open(s):
    """Read and drop what is pending; False once EOF (or a reset) is seen."""
    while True:
        try:
            b = s.recv(1 << 20)
        except BlockingIOError:
            return True
        except OSError as e:
            if e.errno in GONE:
                return False
            raise
        if not b:
            return False


_stdin = b""


def stdin_line(timeout):
    """The next stdin line (stripped), "eof" at its end, None after timeout
    seconds without one (None: wait)."""
    global _stdin
    deadline = None if timeout is None else time.monotonic() + timeout
    while b"\n" not in _stdin:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        r, _, _ = select.select([0], [], [], left)
        if not r:
            return None
        chunk = os.read(0, 4096)
        if not chunk:
            return "eof"
        _stdin += chunk
    line, _stdin = _stdin.split(b"\n", 1)
    return line.decode().strip()


def hangup_wave(path, n, requests):
    clients = refused = 0
    payload = OWNERS * requests
    for _ in range(n):
        s = connect(path)
        if s is None:
            refused += 1
            continue
        try:
            s.setblocking(True)  # the payload is small: the send does not wait
            s.sendall(payload)
            clients += 1
        except OSError as e:
            if e.errno not in GONE:
                raise
            refused += 1
        finally:
            s.close()
    return clients, refused


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--socket", required=True)
    ap.add_argument("--uid", type=int)
    ap.add_argument("--gid", type=int)
    ap.add_argument("--groups", default="", help="supplementary gids, comma-separated")
    ap.add_argument("--nofile", type=int, default=4096)
    ap.add_argument("--nonread", type=int, default=0)
    ap.add_argument("--nonread-requests", type=int, default=16)
    ap.add_argument("--idle", type=int, default=0)
    ap.add_argument("--hangup", type=int, default=0)
    ap.add_argument("--hangup-requests", type=int, default=16)
    ap.add_argument("--waves", type=int, default=1, help="0: until stdin says stop")
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_NOFILE, (a.nofile, a.nofile))
    if a.uid is not None:
        gid = a.gid if a.gid is not None else a.uid
        os.setgroups([int(g) for g in a.groups.split(",") if g])
        os.setresgid(gid, gid, gid)
        os.setresuid(a.uid, a.uid, a.uid)

    nonread, idle, timeouts = [], [], 0
    for _ in range(a.nonread):
        s = connect(a.socket)
        if s is None:
            timeouts += 1
            continue
        try:
            s.sendall(OWNERS * a.nonread_requests)  # small: fits the socket buffer
        except BlockingIOError:
            pass
        except OSError as e:
            if e.errno not in GONE:
                raise
        nonread.append(s)
    for _ in range(a.idle):
        s = connect(a.socket)
        if s is None:
            timeouts += 1
            continue
        idle.append(s)
    res = settle(a.socket, nonread, idle)
    res.update(op="ready", connect_timeouts=timeouts, pid=os.getpid(), uid=os.getuid())
    emit(res)

    cmd = None
    if a.hangup:
        while cmd not in ("go", "eof"):
            cmd = stdin_line(None)
        waves = clients = refused = 0
        while cmd != "eof" and (a.waves == 0 or waves < a.waves):
            c, r = hangup_wave(a.socket, a.hangup, a.hangup_requests)
            waves, clients, refused = waves + 1, clients + c, refused + r
            cmd = stdin_line(0)
            if cmd in ("stop", "eof"):
                break
        emit({"op": "hangup", "waves": waves, "clients": clients, "refused": refused})
    while cmd != "eof":
        cmd = stdin_line(None)
        if cmd == "count":
            i = sum(1 for s in idle if state(s) != "eof")
            n = sum(1 for s in nonread if still_open(s))
            emit({"op": "count", "idle_open": i, "nonread_open": n,
                  "idle_closed": len(idle) - i, "nonread_closed": len(nonread) - n})
        elif cmd not in ("eof", "stop", "go", ""):
            emit({"op": cmd, "error": "unknown command"})
    for s in nonread + idle:
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
