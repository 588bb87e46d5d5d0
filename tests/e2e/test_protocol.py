"""The control socket as a trust boundary (docs/protocol.md): bad requests get
{"ok": false, "error": ...} and the connection stays usable; many clients,
slow clients and stuck clients do not stop the loop; subscribe streams alerts."""
import errno
import json
import socket
import time

import pytest

from pwe2e import ALERT_KEYS, WAIT, free_port, wait_until

BAD_REQUESTS = [
    b"{not json",
    b"[1, 2, 3]",
    b"42",
    b'"stats"',
    b"null",
    b"{}",
    b'{"cmd": "frobnicate"}',
    b'{"cmd": 7}',
    b'{"cmd": "owners", "port": "80"}',
    b'{"cmd": "owners", "port": 80.5}',
    b'{"cmd": "owners", "port": true}',
    b'{"cmd": "owners", "proto": 6}',
    b'{"cmd": "owners", "pid": "1"}',
    b'{"cmd": "owners", "addr": 127}',
    b'{"cmd": "alerts", "limit": "5"}',
    b'{"cmd": "alerts", "since": [1]}',
    b'{"cmd": "conflicts", "since": {}}',
    b'{"cmd": "why"}',
    b'{"cmd": "why", "port": "http"}',
    b'{"cmd": "stats", "version": 99}',
    b'{"cmd": "stats", "version": "1"}',
]


def assert_error(resp, what):
    assert resp.get("ok") is False, "%r: expected an error, got %r" % (what, resp)
    assert isinstance(resp.get("error"), str) and resp["error"], resp
    assert resp.get("version") == 1, resp


@pytest.mark.parametrize("payload", BAD_REQUESTS, ids=[p.decode() for p in BAD_REQUESTS])
def test_bad_request_keeps_the_connection(daemon, payload):
    with daemon.connect() as c:
        c.send_raw(payload + b"\n")
        assert_error(c.recv(), payload)
        resp = c.request({"cmd": "stats"})
        assert resp["ok"] is True and "stats" in resp


def test_all_bad_requests_on_one_connection_then_other_clients(daemon):
    with daemon.connect() as c:
        for p in BAD_REQUESTS:
            c.send_raw(p + b"\n")
            assert_error(c.recv(), p)
        assert c.request({"cmd": "stats"})["ok"] is True
    assert daemon.ok({"cmd": "owners"})["sockets"] is not None
    assert daemon.running()


def test_oversized_request(daemon):
    big = b'{"cmd": "stats", "pad": "' + b"x" * 70000 + b'"}'
    with daemon.connect() as c:
        c.send_raw(big + b"\n")
        assert_error(c.recv(), "70000-byte request")
        assert c.request({"cmd": "stats"})["ok"] is True, "connection unusable after oversize"
    # The same, arriving in pieces, with other clients served meanwhile.
    with daemon.connect() as c:
        for i in range(0, len(big), 8192):
            c.send_raw(big[i:i + 8192])
            if i % (8192 * 4) == 0:
                assert daemon.ok({"cmd": "stats"})
        c.send_raw(b"\n")
        assert_error(c.recv(), "oversized request in pieces")
        assert c.request({"cmd": "stats"})["ok"] is True


def test_pipelined_and_split_requests(daemon):
    with daemon.connect() as c:
        c.send_raw(b'{"cmd": "owners"}\n{"cmd": "stats"}\n{"cmd": "alerts"}\n'
                   b'{"cmd": "conflicts"}\n{"cmd": "stats", "version": 1}\n')
        first = [c.recv() for _ in range(5)]
        assert [sorted(set(r) & {"sockets", "stats", "alerts", "conflicts"}) for r in first] == \
            [["sockets"], ["stats"], ["alerts"], ["conflicts"], ["stats"]]
        assert all(r["ok"] is True and r["version"] == 1 for r in first)
        # One request split across writes, another client served in between.
        c.send_raw(b'{"cmd": ')
        time.sleep(0.2)
        assert daemon.ok({"cmd": "stats"})
        c.send_raw(b'"stats"}\n')
        assert c.recv()["ok"] is True


def test_100_concurrent_clients(daemon):
    conns = [daemon.connect(timeout=10) for _ in range(100)]
    try:
        for i, c in enumerate(conns):
            c.send({"cmd": "stats"} if i % 2 else {"cmd": "owners"})
        for i, c in enumerate(conns):
            resp = c.recv(timeout=10)
            assert resp["ok"] is True, resp
            assert ("stats" if i % 2 else "sockets") in resp
        clients = daemon.stats()["clients"]
        assert clients == 101, "stats.clients = %d with 101 clients connected" % clients
    finally:
        for c in conns:
            c.close()
    # all gone but the one asking
    wait_until(lambda: daemon.stats()["clients"] == 1, what="stats.clients to drop to 1")


def test_clients_that_vanish(daemon, actors):
    # A client that leaves before its answer, and a subscriber that leaves
    # before an alert: writing to them must not hurt the daemon (EPIPE, not SIGPIPE).
    for _ in range(50):
        with daemon.connect() as c:
            c.send({"cmd": "owners"})
    subs = [daemon.connect() for _ in range(5)]
    for s in subs:
        assert s.request({"cmd": "subscribe"})["subscribed"] is True
        s.close()
    port = free_port()
    a, b = actors(uid=1234), actors(uid=1235)
    ra = a.bound("u", "0.0.0.0", port, type="udp", reuseaddr=True)
    daemon.wait_inode(ra["inode"], port=port)
    b.bound("u", "0.0.0.0", port, type="udp", reuseaddr=True)
    daemon.wait_alert(lambda x: x["port"] == port)
    assert daemon.running()
    assert daemon.ok({"cmd": "stats"})


def stuff(sock, line, seconds):
    """Send `line` over and over without reading, until the kernel buffer is
    full or time is up. Returns the number of bytes sent."""
    sock.setblocking(False)
    sent = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            sent += sock.send(line * 64)
        except BlockingIOError:
            time.sleep(0.01)
            continue
        except OSError as e:
            if e.errno in (errno.EPIPE, errno.ECONNRESET):
                break  # the daemon dropped the greedy client: fine
            raise
    return sent


# Alerts of one pair of owner groups on many ports, each to be seen on its
# own: folding (fold_window, test_alert_storm.py) off.
NO_FOLD = "[alerts]\nfold_window = 0\n"


def test_stuck_clients_do_not_block_the_loop(daemon_factory, actors):
    # A subscriber that never reads, and a client that floods requests and
    # never reads the answers; alerts are raised meanwhile.
    daemon = daemon_factory(config=NO_FOLD)
    stuck_sub = daemon.connect()
    assert stuck_sub.request({"cmd": "subscribe"})["subscribed"] is True
    flood = daemon.connect()
    stuff(flood.sock, b'{"cmd": "owners"}\n', 1.5)

    n = 150
    ports = [free_port() for _ in range(n)]
    holder_ops, contender_ops = [], []
    for i, p in enumerate(ports):
        for ops in (holder_ops, contender_ops):
            ops += [{"op": "socket", "name": "u%d" % i, "family": "inet", "type": "udp"},
                    {"op": "setsockopt", "name": "u%d" % i, "opt": "reuseaddr", "value": 1},
                    {"op": "bind", "name": "u%d" % i, "addr": "0.0.0.0", "port": p}]
    try:
        a = actors(uid=1234, ops=holder_ops, timeout=30)
        assert all(r["ok"] for r in a.start_results)
        # Every holder socket is in before the contenders come.
        wait_until(lambda: len(daemon.owners(pid=a.pid)) == n, timeout=10,
                   what="the holder's %d sockets" % n)
        t0 = time.monotonic()
        b = actors(uid=1235, ops=contender_ops, timeout=30)
        assert all(r["ok"] for r in b.start_results)
        worst = 0.0
        while time.monotonic() - t0 < 3.0:
            t = time.monotonic()
            assert daemon.ok({"cmd": "stats"}, timeout=WAIT)
            worst = max(worst, time.monotonic() - t)
            time.sleep(0.05)
        assert worst < 1.0, "a stats request took %.2f s while clients were stuck" % worst
        last = ports[-1]
        daemon.wait_alert(lambda x: x["port"] == last and x["reason"] == "udp_share")
        assert daemon.stats()["alerts"] >= n
    finally:
        stuck_sub.close()
        flood.close()
    assert daemon.ok({"cmd": "stats"})


def test_subscribe_delivers_alerts(daemon, actors, port):
    with daemon.connect() as sub:
        resp = sub.request({"cmd": "subscribe"})
        assert resp["ok"] is True and resp["subscribed"] is True and resp["version"] == 1
        a, b = actors(uid=1234), actors(uid=1235)
        ra = a.bound("u", "0.0.0.0", port, type="udp", reuseaddr=True)
        daemon.wait_inode(ra["inode"], port=port)
        rb = b.bound("u", "0.0.0.0", port, type="udp", reuseaddr=True)
        deadline = time.monotonic() + WAIT
        while True:
            msg = sub.recv(timeout=max(0.1, deadline - time.monotonic()))
            assert msg.get("version") == 1 and "alert" in msg, msg
            if msg["alert"]["port"] == port:
                break
        al = msg["alert"]
        assert ALERT_KEYS <= set(al)
        assert (al["kind"], al["reason"]) == ("hijack_attempt", "udp_share")
        assert al["contender"]["inode"] == rb["inode"]
        # The same alert is in `alerts`, with the same id.
        assert al["id"] in [x["id"] for x in daemon.alerts_on_port(port)]
        # The subscribed connection still answers nothing else unasked; a new
        # connection serves requests as usual.
        assert daemon.ok({"cmd": "stats"})["stats"]["clients"] >= 2


def test_alerts_since_and_limit(daemon_factory, actors):
    daemon = daemon_factory(config=NO_FOLD)
    a, b = actors(uid=1234), actors(uid=1235)
    ports = [free_port() for _ in range(3)]
    for i, p in enumerate(ports):
        ra = a.bound("u%d" % i, "0.0.0.0", p, type="udp", reuseaddr=True)
        daemon.wait_inode(ra["inode"], port=p)
        b.bound("u%d" % i, "0.0.0.0", p, type="udp", reuseaddr=True)
        daemon.wait_alert(lambda x, p=p: x["port"] == p)
    ours = [x for x in daemon.alerts() if x["port"] in ports]
    assert [x["port"] for x in ours] == ports, "alerts are oldest first"
    ids = [x["id"] for x in ours]
    assert ids == sorted(ids) and len(set(ids)) == 3

    newer = daemon.alerts(since=ids[0])
    assert ids[0] not in [x["id"] for x in newer]
    assert ids[1:] == [x["id"] for x in newer if x["id"] in ids]
    assert all(x["id"] > ids[0] for x in newer)

    last = daemon.alerts(limit=1)
    assert len(last) == 1 and last[0]["id"] >= ids[-1], "limit keeps the newest"


def test_conflicts_since_and_limit(daemon, actors):
    a, b = actors(uid=1234), actors(uid=1234)
    ports = [free_port() for _ in range(3)]
    for i, p in enumerate(ports):
        ra = a.bound("l%d" % i, "127.0.0.1", p, listen=True)
        daemon.wait_inode(ra["inode"], port=p)
        b.socket("l%d" % i)
        assert b.bind("l%d" % i, "127.0.0.1", p)["errno"] == "EADDRINUSE"
        daemon.wait_conflict(lambda c, p=p: c["port"] == p)
    ours = [c for c in daemon.conflicts() if c["port"] in ports]
    assert [c["port"] for c in ours] == ports
    ids = [c["id"] for c in ours]  # protocol.md: a conflict has `id` in version 1
    newer = daemon.conflicts(since=ids[0])
    assert [c["id"] for c in newer if c["id"] in ids] == ids[1:]
    last = daemon.conflicts(limit=1)
    assert len(last) == 1 and last[0]["id"] >= ids[-1]


def test_stats(daemon, actors, port):
    s0 = daemon.stats()
    for k in ("uptime_s", "dropped", "filtered", "table_size", "netns", "reconciliations",
              "last_reconcile_ms", "alerts", "conflicts", "clients", "bind_buckets",
              "bind_buckets_over"):
        assert isinstance(s0[k], (int, float)) and not isinstance(s0[k], bool), (k, s0.get(k))
    assert set(s0["events"]) >= {"bind", "listen", "connect", "sockopt", "state", "release"}
    assert isinstance(s0["alerts_by_kind"], dict)
    assert s0["hooks"] and all(isinstance(h, str) for h in s0["hooks"])
    assert s0["clients"] >= 1

    a = actors(uid=1234)
    r = a.bound("t", "127.0.0.1", port, listen=True)
    daemon.wait_owner(lambda s: s["inode"] == r["inode"] and s["state"] == "LISTEN", port=port)
    s1 = daemon.stats()
    assert s1["events"]["bind"] >= s0["events"]["bind"] + 1
    assert s1["events"]["listen"] >= s0["events"]["listen"] + 1
    assert s1["table_size"] >= 1


def test_why(daemon, actors, port):
    a = actors(uid=1234)
    r = a.bound("t", "127.0.0.1", port, listen=True)
    daemon.wait_owner(lambda s: s["inode"] == r["inode"] and s["state"] == "LISTEN", port=port)
    resp = daemon.ok({"cmd": "why", "port": port})
    assert resp["port"] == port
    assert [h["inode"] for h in resp["holders"]] == [r["inode"]]
    assert resp["holders"][0]["pid"] == a.pid
    # the prediction is made from the holders listed (one state, one answer)
    pred = resp["prediction"]
    assert pred["ok"] is False and pred["rule"] == "listener", pred
    assert [b["inode"] for b in pred["blockers"]] == [r["inode"]]
    for k in ("time_wait", "conflicts", "alerts"):
        assert isinstance(resp[k], list), k
    assert isinstance(resp["explanation"], str) and resp["explanation"]


def test_raw_socket_json_per_line(daemon):
    # Every response is exactly one line of JSON, "\n"-terminated.
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(WAIT)
    s.connect(daemon.socket_path)
    try:
        s.sendall(b'{"cmd": "stats"}\n')
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(65536)
            assert chunk, "connection closed"
            data += chunk
        assert data.count(b"\n") == 1
        assert json.loads(data)["ok"] is True
    finally:
        s.close()
