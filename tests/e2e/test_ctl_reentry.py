"""Issues 12 and 17: `check` and `why` consume the ring buffer before they
answer, so an alert can be raised - and published to subscribers - in the
middle of a request. A subscriber that cannot take the alert used to be
freed right there, under the request that was being served (its own, or
another client's whose index the loop had looked up): a use-after-free
(ASan: ctl.c client_queue <- handle_line; ctl_publish_alert). Dropped
clients are now closed at once and freed by the event loop afterwards.

Both reproductions run here against the real daemon; `make test-sanitize`
runs them (and the rest of the suite) against an ASan+UBSan build, where
any such access fails the run. Each hijack bind is made just before the
request, so that its event is still in the ring buffer when the request
drains it; 40 rounds make that happen many times over. Since issue 13 an event
wakes an idle daemon at once, so the alert often drops the subscriber before
its request is sent: that is allowed (a broken pipe on the send)."""
import json
import socket

from pwe2e import wait_until

ROUNDS = 40


def connect(daemon):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(daemon.socket_path)
    return s


def deaf_subscriber(daemon):
    """A subscriber that will not take anything: shutdown(SHUT_RD) makes the
    daemon's next send to it fail (EPIPE)."""
    s = connect(daemon)
    s.sendall(b'{"cmd":"subscribe"}\n')
    assert b'"ok":true' in s.recv(4096).replace(b" ", b"")
    s.shutdown(socket.SHUT_RD)
    return s


def check_line(port):
    return (json.dumps({"cmd": "check", "proto": "udp", "addr": "127.0.0.1", "port": port})
            + "\n").encode()


def hijack(actor, name, port):
    """A shadow_wildcard hijack: its alert goes to every subscriber."""
    r = actor.bound(name, "127.0.0.1", port, type="udp", reuseaddr=True)
    assert r["ok"], r


# every alert goes out (no folding): each must reach the subscribers mid-request
NO_FOLD = "[alerts]\nfold_window = 0\n"


def test_subscriber_dropped_during_its_own_request(daemon_factory, actors, port):
    daemon = daemon_factory(config=NO_FOLD)
    holder = actors(uid=1910)
    thief = actors(uid=1911)
    holder.bound("w", "0.0.0.0", port, type="udp", reuseaddr=True)
    base = daemon.stats()["alerts"]
    subs = []
    for i in range(ROUNDS):
        s = deaf_subscriber(daemon)
        subs.append(s)
        hijack(thief, "t%d" % i, port)
        try:
            s.sendall(check_line(port))  # the drain inside raises the alert to s
        except (BrokenPipeError, ConnectionResetError):
            pass  # the event woke the daemon first: s was dropped before its request
    # the daemon is alive, answers, and raised every alert
    wait_until(lambda: daemon.stats()["alerts"] >= base + ROUNDS, what="%d alerts" % ROUNDS)
    assert daemon.running()
    for s in subs:
        s.close()


def test_other_subscribers_dropped_during_a_request(daemon_factory, actors, port):
    daemon = daemon_factory(config=NO_FOLD)
    holder = actors(uid=1912)
    thief = actors(uid=1913)
    holder.bound("w", "0.0.0.0", port, type="udp", reuseaddr=True)
    base = daemon.stats()["alerts"]
    keep = []
    for i in range(ROUNDS):
        subs = [deaf_subscriber(daemon) for _ in range(3)]
        hijack(thief, "t%d" % i, port)
        c = connect(daemon)
        c.sendall(check_line(port))  # served while the subscribers are dropped;
        c.shutdown(socket.SHUT_WR)   # its end of input read in the same turn, so
        c.recv(65536)                # the daemon closes it right after answering
        c.close()
        keep += subs
    wait_until(lambda: daemon.stats()["alerts"] >= base + ROUNDS, what="%d alerts" % ROUNDS)
    assert daemon.running()
    # a bystander is still served
    c = connect(daemon)
    c.sendall(b'{"cmd":"stats"}\n')
    assert b'"ok":true' in c.recv(65536).replace(b" ", b"")
    c.close()
    for s in keep:
        s.close()
