"""`owners` of a big table is streamed (issue 13, item 4): written to the
client a piece at a time between turns of the daemon's loop, so that a
client reading a dump of tens of thousands of sockets neither holds the
whole answer in the daemon's memory nor keeps the other clients waiting,
and the answer is still one complete JSON line, sorted as docs/protocol.md
says."""
import json
import os
import socket
import subprocess
import sys
import time

from pwe2e import Conn, netns_inode, sanitized, wait_until

HOLDERS = 3        # processes, each under RLIMIT_NOFILE (often 20,000 in containers)
PER_HOLDER = 15000
N = HOLDERS * PER_HOLDER  # UDP sockets in the namespace: ~19 MB of `owners` answer
# What the daemon may grow by while that answer waits unread: main's whole-answer
# queue grew by the answer's size; a stream holds a window and 16 bytes a socket.
# The slack is for what other programs on the host make the daemon do meanwhile
# (a /proc scan for an ephemeral-port conflict holds a 4 MiB map at 110k sockets).
RSS_GROWTH_KIB = 9 * 1024
BASE_PORT = 10000  # ports BASE_PORT .. BASE_PORT + N - 1, a fresh namespace's own

# A process in the namespace holding N UDP sockets on fixed ports; prints
# "ready" and holds them until its stdin closes.
HOLDER = r"""
import resource, socket, sys
n, base = int(sys.argv[1]), int(sys.argv[2])
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
held = []
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", base + i))
    held.append(s)
print("ready", flush=True)
sys.stdin.read()
"""



def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


def read_line(sock, timeout=60):
    """One whole line from sock (bytes, without the newline)."""
    buf = bytearray()
    deadline = time.monotonic() + timeout
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        assert left > 0, "no complete answer within %d s (%d bytes)" % (timeout, len(buf))
        sock.settimeout(left)
        chunk = sock.recv(1 << 20)
        assert chunk, "daemon closed the connection after %d bytes" % len(buf)
        buf += chunk
    assert buf.count(b"\n") == 1
    return bytes(buf[:-1])


def test_full_dump_streams_while_others_are_served(daemon, netns):
    ns = netns()
    nsino = netns_inode(ns)
    holders = []
    slow = None
    try:
        for i in range(HOLDERS):
            holders.append(subprocess.Popen(
                ["ip", "netns", "exec", ns, sys.executable, "-c", HOLDER, str(PER_HOLDER),
                 str(BASE_PORT + i * PER_HOLDER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE))
        for h in holders:
            assert h.stdout.readline().strip() == b"ready"
        # every bind reached the table (one `owners` of the namespace: itself streamed)
        wait_until(lambda: len(daemon.owners(netns=nsino)) == N, timeout=60,
                   what="the %d sockets in the table" % N)
        rss_before = rss_kib(daemon.pid)

        # a client asks for everything and reads nothing for now
        slow = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        slow.connect(daemon.socket_path)
        slow.sendall(b'{"cmd":"owners"}\n')

        # another client is answered meanwhile, more than once, while the dump
        # cannot be complete: its reader has taken none of its ~19 MB
        with Conn(daemon.socket_path) as other:
            for port in (BASE_PORT, BASE_PORT + N - 1):
                r = other.request({"cmd": "owners", "port": port, "netns": nsino})
                assert r["ok"] and [s["port"] for s in r["sockets"]] == [port]
            assert other.request({"cmd": "stats"})["ok"]
        peek = slow.recv(1 << 22, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        assert b"\n" not in peek, "the dump was complete before it was read"

        # the daemon holds a piece of the answer, not all of it
        grown = rss_kib(daemon.pid) - rss_before
        assert grown < RSS_GROWTH_KIB or sanitized(daemon.pid), \
            "RSS grew by %d KiB during an unread dump" % grown

        line = read_line(slow)
    finally:
        if slow:
            slow.close()
        for h in holders:
            h.stdin.close()
            h.wait(timeout=30)

    dump = json.loads(line)
    assert dump["ok"] is True and dump["version"] == 1
    mine = [s for s in dump["sockets"] if s["netns"] == nsino]
    assert sorted(s["port"] for s in mine) == list(range(BASE_PORT, BASE_PORT + N))
    assert all(s["proto"] == "udp" and s["addr"] == "127.0.0.1" for s in mine)
    # sorted by netns, proto, port (docs/protocol.md)
    keys = [(s["netns"], s["proto"] == "udp", s["port"]) for s in dump["sockets"]]
    assert keys == sorted(keys)
    # the key order of each object is the contract's, as json-c writes it
    # for a small answer too
    first = line.index(b'"sockets":[') + len(b'"sockets":[')
    assert line.startswith(b'{"version":1,"ok":true,"diverted":[],"sockets":[{')
    assert line[first:first + 1] == b"{"
    wait_until(lambda: not daemon.owners(netns=nsino), timeout=30,
               what="the holder's sockets to leave the table")


def test_small_answer_is_one_line_as_before(daemon, netns):
    # an `owners` that matches nothing: the members are still there, empty
    # (`diverted`, the nftables diversions of the listeners asked about, first)
    nsino = netns_inode(netns())
    with Conn(daemon.socket_path) as c:
        c.send_raw(b'{"cmd":"owners","netns":%d}\n' % nsino)
        assert c.recv_line() == b'{"version":1,"ok":true,"diverted":[],"sockets":[]}'
        # answers come in order behind a stream: two requests, two lines
        c.send_raw(b'{"cmd":"owners","netns":%d}\n{"cmd":"stats"}\n' % nsino)
        assert c.recv_line() == b'{"version":1,"ok":true,"diverted":[],"sockets":[]}'
        assert json.loads(c.recv_line())["stats"]["clients"] >= 1


def test_subscriber_gets_whole_lines(daemon, netns, actors, port):
    """A subscriber's alerts never land inside its `owners` answer: the
    answer (2.5 MB here, under a subscriber's 4 MiB bound) is written whole,
    and an alert raised while it waits unread comes after it, on its own line."""
    ns = netns()
    nsino = netns_inode(ns)
    n = 6000
    holder = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", HOLDER, str(n),
                               str(BASE_PORT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == b"ready"
        wait_until(lambda: len(daemon.owners(netns=nsino)) == n, timeout=60,
                   what="the %d sockets in the table" % n)
        a = actors(uid=1234)
        b = actors(uid=1235)
        ra = a.bound("u", "0.0.0.0", port, type="udp", reuseaddr=True)
        daemon.wait_inode(ra["inode"], port=port)
        with Conn(daemon.socket_path) as sub:
            assert sub.request({"cmd": "subscribe"})["subscribed"] is True
            sub.send({"cmd": "owners", "netns": nsino})
            # the answer has begun (bytes wait in the socket) before the alert is raised
            wait_until(lambda: sub.sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT),
                       what="the start of the owners answer")
            b.bound("u", "127.0.0.1", port, type="udp", reuseaddr=True)
            # every line parses (recv() asserts it); other programs' alerts on this
            # host may come too, each on its own line
            answer, mine, deadline = None, None, time.monotonic() + 60
            while answer is None or mine is None:
                assert time.monotonic() < deadline, "answer %s, alert %s" % (
                    answer is not None, mine is not None)
                line = sub.recv(timeout=60)
                if "alert" in line:
                    if line["alert"]["port"] == port:
                        mine = line
                else:
                    assert answer is None, str(line)[:300]
                    answer = line
            assert answer.get("ok") is True and len(answer["sockets"]) == n, str(answer)[:300]
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
