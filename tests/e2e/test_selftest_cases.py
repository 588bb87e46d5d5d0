"""An outside oracle for `check`: the scenarios of the kernel's own bind
selftests (tools/testing/selftests/net/ in the Linux sources: bind_wildcard.c,
bind_timewait.c, reuseaddr_conflict.c, reuseport_dualstack.c,
reuseport_addr_any.c), rebuilt here from what they do - which sockets,
addresses, options and order - and run in a fresh network namespace with
`check` asked before every bind and listen. The judge is the kernel under
the test, not the selftests' tables of expected errnos (those change from
one kernel version to the next): each call's prediction must match what the
kernel then answers, or be `uncertain` with the errno the kernel gave.
Each test prints how many calls it compared."""
import pytest

from pwe2e import netns_inode

WILDCARD_KINDS = (
    # (family, address, IPV6_V6ONLY): the address kinds bind_wildcard.c pairs
    ("inet", "0.0.0.0", False),
    ("inet", "127.0.0.1", False),
    ("inet6", "::", False),
    ("inet6", "::", True),
    ("inet6", "::1", False),
    ("inet6", "::ffff:0.0.0.0", False),
    ("inet6", "::ffff:127.0.0.1", False),
)


class Oracle:
    """One root actor in a fresh netns; every bind and listen is checked first."""

    def __init__(self, daemon, actor, ino):
        self.daemon, self.actor, self.ino = daemon, actor, ino
        self.conn = daemon.connect(timeout=10)
        self.calls = 0
        self.uncertain = 0
        self.socks = {}  # name -> (family, type, ra, rp, v6only, addr, port, inode)
        self.n = 0

    def close_conn(self):
        self.conn.close()

    def _check(self, **args):
        args.update(cmd="check", netns=self.ino, uid=0)
        resp = self.conn.request(args, timeout=10)
        assert resp.get("ok") is True, (args, resp)
        return resp["prediction"]

    def _compare(self, what, pred, res):
        self.calls += 1
        if pred["uncertain"]:
            self.uncertain += 1
            assert not pred["ok"] and pred["blockers"], (what, pred)
            assert res["ok"] or res["errno"] == pred["errno_name"], (what, pred, res)
            return
        assert pred["ok"] is bool(res["ok"]), "%s: check said %s, the kernel %s (%r)" % (
            what, "ok" if pred["ok"] else pred["errno_name"], res["errno"] or "ok", pred)
        if not res["ok"]:
            assert pred["errno_name"] == res["errno"], (what, pred, res)

    def bind(self, family, type_, addr, port, ra=False, rp=False, v6only=False, listen=False):
        """socket + options, then bind (and listen), each checked first. The
        name of the socket, and the kernel's bind result."""
        self.n += 1
        name = "s%d" % self.n
        r = self.actor.socket(name, family, type_, reuseaddr=ra, reuseport=rp,
                              v6only=True if v6only else None)
        assert r["ok"], r
        args = dict(proto=type_, addr=addr, port=port, reuseaddr=ra, reuseport=rp,
                    v6only=v6only)
        what = "bind %s%s %s:%d%s%s%s" % (type_, "6" if family == "inet6" else "", addr, port,
                                         " RA" if ra else "", " RP" if rp else "",
                                         " V6ONLY" if v6only else "")
        pred = self._check(**args)
        res = self.actor.bind(name, addr, port)
        self._compare(what, pred, res)
        if res["ok"] and listen:
            pred = self._check(listen=True, inode=res["inode"], **dict(args, port=res["port"]))
            lres = self.actor.listen(name)
            self._compare("listen after " + what, pred, lres)
        self.socks[name] = res
        return name, res

    def close(self, name):
        assert self.actor.close(name)["ok"]
        del self.socks[name]

    def close_all(self):
        for name in list(self.socks):
            self.close(name)


@pytest.fixture
def oracle(daemon, actors, netns):
    name = netns()
    o = Oracle(daemon, actors(netns=name, uid=0, gid=0), netns_inode(name))
    yield o
    o.close_conn()


@pytest.mark.parametrize("mode", ("plain", "reuseaddr", "reuseport"))
def test_bind_wildcard(oracle, mode):
    """Two sockets of every ordered pair of address kinds (the first on port
    0, the second on its port), both with SO_REUSEADDR or SO_REUSEPORT or
    neither, then one socket of each of the six plain kinds on that port."""
    flags = dict(ra=mode == "reuseaddr", rp=mode == "reuseport")
    for first in WILDCARD_KINDS:
        for second in WILDCARD_KINDS:
            _, r0 = oracle.bind(first[0], "tcp", first[1], 0, v6only=first[2], **flags)
            port = r0["port"]
            oracle.bind(second[0], "tcp", second[1], port, v6only=second[2], **flags)
            for fam, addr in (("inet", "0.0.0.0"), ("inet", "127.0.0.1"), ("inet6", "::"),
                              ("inet6", "::1"), ("inet6", "::ffff:0.0.0.0"),
                              ("inet6", "::ffff:127.0.0.1")):
                oracle.bind(fam, "tcp", addr, port)
            oracle.close_all()
    print("bind_wildcard/%s: %d calls compared, %d uncertain" % (mode, oracle.calls,
                                                                 oracle.uncertain))
    assert oracle.calls == len(WILDCARD_KINDS) ** 2 * 8


@pytest.mark.parametrize("addr", ("127.0.0.1", "0.0.0.0"))
def test_bind_timewait(oracle, daemon, addr):
    """A server's port left in TIME_WAIT (the server side closes first),
    then a plain bind of the same address and port."""
    a = oracle.actor
    srv, r = oracle.bind("inet", "tcp", addr, 0, listen=True)
    port = r["port"]
    cli = "cli"
    assert a.socket(cli, "inet", "tcp")["ok"]
    assert a.connect(cli, "127.0.0.1", port)["ok"]
    assert a.do(op="accept", name=srv, **{"as": "child"})["ok"]
    assert a.close("child")["ok"]
    assert a.close(cli)["ok"]
    oracle.close(srv)
    daemon.sync()
    _, res = oracle.bind("inet", "tcp", addr, port)
    assert not res["ok"]
    print("bind_timewait/%s: %d calls compared" % (addr, oracle.calls))


def test_reuseaddr_conflict(oracle):
    """127.0.0.1 listening with SO_REUSEADDR; 0.0.0.0 with SO_REUSEADDR; [::]
    IPV6_V6ONLY with SO_REUSEADDR; 0.0.0.0 again; [::] closed; 0.0.0.0 once
    more (the bucket must not forget the listener)."""
    lst, r = oracle.bind("inet", "tcp", "127.0.0.1", 0, ra=True, listen=True)
    port = r["port"]
    oracle.bind("inet", "tcp", "0.0.0.0", port, ra=True)
    v6, _ = oracle.bind("inet6", "tcp", "::", port, ra=True, v6only=True)
    oracle.bind("inet", "tcp", "0.0.0.0", port, ra=True)
    oracle.close(v6)
    oracle.bind("inet", "tcp", "0.0.0.0", port, ra=True)
    print("reuseaddr_conflict: %d calls compared" % oracle.calls)
    assert oracle.calls == 6


@pytest.mark.parametrize("proto,count", (("udp", 5), ("udp", 16), ("tcp", 5)))
@pytest.mark.parametrize("v4_first", (True, False))
def test_reuseport_dualstack(oracle, proto, count, v4_first):
    """count IPv4 0.0.0.0 and count dual-stack [::] sockets with SO_REUSEPORT
    on one port, TCP ones listening; 16 puts more than 10 UDP sockets in one
    hash slot (the kernel's other walk)."""
    fams = [("inet", "0.0.0.0"), ("inet6", "::")]
    if not v4_first:
        fams.reverse()
    port = 0
    for fam, addr in fams:
        for _ in range(count):
            _, r = oracle.bind(fam, proto, addr, port, rp=True, listen=proto == "tcp")
            port = port or r["port"]
    print("reuseport_dualstack/%s/%d/%s: %d calls compared" % (
        proto, count, "v4 first" if v4_first else "v6 first", oracle.calls))


@pytest.mark.parametrize("proto", ("udp", "tcp"))
@pytest.mark.parametrize("fam,addr", (("inet", "127.0.0.1"), ("inet6", "::1"),
                                      ("inet6", "::ffff:127.0.0.1")))
def test_reuseport_addr_any(oracle, proto, fam, addr):
    """SO_REUSEPORT sockets on one port: two on 0.0.0.0, two on [::], one on
    a specific address, then two more of each wildcard."""
    port = 0
    for f, a, n in (("inet", "0.0.0.0", 2), ("inet6", "::", 2), (fam, addr, 1),
                    ("inet", "0.0.0.0", 2), ("inet6", "::", 2)):
        for _ in range(n):
            _, r = oracle.bind(f, proto, a, port, rp=True, listen=proto == "tcp")
            assert r["ok"], r
            port = port or r["port"]
    print("reuseport_addr_any/%s/%s: %d calls compared" % (proto, addr, oracle.calls))
