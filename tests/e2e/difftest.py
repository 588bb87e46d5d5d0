"""difftest.py - differential testing of portwatch's rule engine against the kernel.

A seeded generator makes random sequences of socket operations - sockets of
both families and protocols, SO_REUSEADDR / SO_REUSEPORT / IPV6_V6ONLY (and
SO_REUSEADDR / SO_REUSEPORT turned on or off after bind),
binds to wildcards, 127.0.0.1, 127.0.0.2, ::1 and v4-mapped addresses on a
few ports and port 0, listen, connect to the listeners, accept, close
(an active close of a connection leaves a TIME_WAIT entry) - under several
uids (one actor.py process per uid, which drops to that uid before making
any socket, so sk_uid is that uid) in one fresh network namespace.

And what bind(2) checks before any conflict (docs/semantics.md, rules 6
and 7), so that each check is met by real sockets too:
- devices: some sockets are bound to lo, pwd0 or pwd1 (two tun devices of
  the namespace) before bind, or after it (SO_BINDTODEVICE; changing a
  device once set needs CAP_NET_RAW: root only);
- addresses the namespace does not have (192.0.2.1, 2001:db8::1 and its
  v4-mapped twin), IPv4 multicast, IPv6 link-local and multicast ones,
  some sockets with IP_FREEBIND, root's with IP_TRANSPARENT too;
- privileged ports (PRIV_PORTS) under the run's ip_unprivileged_port_start,
  asked by root, by uids without capabilities and by an actor of uid 1001
  with an ambient CAP_NET_BIND_SERVICE;
- per-run sysctls drawn from the seed (draw_sysctls()):
  ip_unprivileged_port_start, net.ipv4 and net.ipv6 ip_nonlocal_bind;
- protected ports: the daemon runs with the [protect] rules of
  protect_config() in mode enforce (its cgroup/bind4|6 programs refuse a
  non-owner with EPERM) on PROTECTED_PORT of the run's namespace only,
  owners by uid and by executable (one actor runs a copy of the
  interpreter under another name), one rule on every address and one on
  127.0.0.1 alone; takeover protection keeps a protected port for the
  owner whose socket left for TAKEOVER_WINDOW_S, which refuses even the
  rule's other owners until then. `check` names the caller by pid, so that
  the daemon sees its executable as the kernel does.

Before every bind, listen and connect the driver asks the daemon for its
`check` prediction (docs/protocol.md), then performs the call and compares
with what the kernel answered: success or failure, and the errno. The
driver itself decides nothing about addresses: it only keeps track of which
socket is bound, listening or connected so as to make valid calls.

The test gives the namespace a narrow ip_local_port_range with a reserved
port, so that binds of port 0 and autobinding connects use it up, and
net.ipv4.tcp_tw_reuse = 0: with the default (2) a
connect() may take over a loopback TIME_WAIT 4-tuple depending on whether
a second has passed since its last timestamp (tcp_twsk_unique()), which
no observer can predict to the second.
"""
import contextlib
import datetime
import ipaddress
import json
import os
import random
import time

from pwe2e import Actor

PORTS = (7101, 7102, 7103)
PROTECTED_PORT = 7103  # the prelude's rules use the first two ports, unprotected
TAKEOVER_WINDOW_S = 10
# privileged or not by the run's ip_unprivileged_port_start (draw_sysctls())
PRIV_PORTS = (80, 1500)
# the actors: (uid, CAP_NET_BIND_SERVICE). Root holds every capability;
# the second actor of uid 1001 has CAP_NET_BIND_SERVICE ambient (setpriv),
# and shares SO_REUSEPORT groups with the first (one sk_uid).
# The fifth runs another executable (ALT, the alt_exe of Run): another
# owner group of uid 1002, which the UDP protect rule names by exe=.
ACTORS = ((0, True), (1001, False), (1002, False), (1001, True), (1002, False, "alt"))
ROOT = ACTORS[0]
ADDRS = {
    "inet": ("0.0.0.0", "127.0.0.1", "127.0.0.2"),
    "inet6": ("::", "::1", "::ffff:127.0.0.1", "::ffff:0.0.0.0", "::ffff:127.0.0.2"),
}
# addresses the namespace does not have (EADDRNOTAVAIL unless non-local binds
# are allowed), and those bind(2) treats apart: IPv4 multicast (allowed),
# IPv6 link-local and link-scoped multicast (EINVAL without a device),
# global IPv6 multicast (no address check; EINVAL for TCP)
ABSENT = {"inet": ("192.0.2.1",), "inet6": ("2001:db8::1", "::ffff:192.0.2.1")}
SPECIAL = {"inet": ("224.0.0.9",), "inet6": ("fe80::1", "ff02::1", "ff0e::1")}
# the devices of the run's namespace (test_differential.py makes pwd0, pwd1)
DEVICES = ("lo", "pwd0", "pwd1")
TUN_DEVICES = ("pwd0", "pwd1")
MAX_OPEN = 22          # sockets open at once
EPH_LO, EPH_HI = 40000, 40011  # the test's ip_local_port_range (test_differential.py)
ADDR_ERRORS = ("EADDRINUSE", "EADDRNOTAVAIL", "EACCES", "EINVAL")
SYSCTL_START = "net.ipv4.ip_unprivileged_port_start"
SYSCTL_NONLOCAL4 = "net.ipv4.ip_nonlocal_bind"
SYSCTL_NONLOCAL6 = "net.ipv6.ip_nonlocal_bind"


def draw_sysctls(seed):
    """The run's per-namespace sysctls, from the seed alone (its own stream,
    so that the operations do not depend on them being drawn).
    ip_unprivileged_port_start goes round with the seed, so that the four
    seeds of `make test` meet every value: 0 (no port is privileged, as
    rootless container engines set it), 1024 (the default: port 80 is) and
    2000 (both PRIV_PORTS are)."""
    rng = random.Random("sysctls-%d" % seed)
    return {SYSCTL_START: (0, 1024, 2000)[seed % 3],
            SYSCTL_NONLOCAL4: int(rng.random() < 0.3),
            SYSCTL_NONLOCAL6: int(rng.random() < 0.3)}


def protect_config(netns_name, alt_exe):
    """The daemon's configuration for a run in netns_name: mode enforce and
    two rules on PROTECTED_PORT of that namespace. TCP: the uid 1001
    actors own every address. UDP: root and the ALT executable own
    127.0.0.1 and what overlaps it (0.0.0.0, [::], their v4-mapped forms);
    127.0.0.2 stays anybody's."""
    return ("[alerts]\ntakeover_window = %d\n[protect]\nmode = enforce\n"
            "protect = tcp %d netns=%s uid=1001\n"
            "protect = udp %d 127.0.0.1 netns=%s uid=0 exe=%s\n"
            % (TAKEOVER_WINDOW_S, PROTECTED_PORT, netns_name, PROTECTED_PORT, netns_name,
               alt_exe))


def _rfc3339(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


class Disagreement(AssertionError):
    pass


class Diverged(AssertionError):
    """A replay met a kernel choice other than the recorded one."""


class Sock:
    def __init__(self, actor, name, family, type_, ra, rp, v6only, inode, dev=None,
                 freebind=False, transparent=False):
        self.actor, self.name, self.family, self.type = actor, name, family, type_
        self.ra, self.rp, self.v6only, self.inode = ra, rp, v6only, inode
        self.dev, self.freebind, self.transparent = dev, freebind, transparent
        self.addr = None      # bound local address and port (getsockname)
        self.port = None
        self.state = "new"    # new, bound, listen, conn, closing
        self.peer = None      # the Sock at the other end of a connection
        self.raddr = None
        self.rport = None

    def __repr__(self):
        return "%s/%s:%s uid=%d%s %s%s%s%s%s%s %s %s:%s" % (
            self.name, self.type, self.family, self.actor.uid,
            "+cap" if self.actor.caps else "", "RA" if self.ra else "",
            "RP" if self.rp else "", "V6" if self.v6only else "",
            "FB" if self.freebind else "", "TP" if self.transparent else "",
            "%" + self.dev if self.dev else "", self.state, self.addr, self.port)

    def request(self, addr, port, **more):
        """The `check` request for this socket (docs/protocol.md)."""
        # pid: the caller's namespace, executable and cgroup (protect rules
        # match them); uid and capability are given, and win over the pid's
        args = dict(proto=self.type, addr=addr, port=port, reuseaddr=self.ra,
                    reuseport=self.rp, v6only=self.v6only, uid=self.actor.uid,
                    cap_net_bind_service=self.actor.cap, freebind=self.freebind,
                    transparent=self.transparent, pid=self.actor.pid)
        if self.dev:
            args["device"] = self.dev
        args.update(more)
        return args

    def reaches_lo(self):
        """Whether connections from or to it go over lo: bound to no device
        or to lo, on a loopback or wildcard address."""
        return self.dev in (None, "lo") and (
            self.addr is None or _norm(self.addr) in ("0.0.0.0", "::", "127.0.0.1",
                                                      "127.0.0.2", "::1"))


def _norm(addr):
    """An address as text, v4-mapped IPv6 as its IPv4 address."""
    a = ipaddress.ip_address(addr)
    if a.version == 6 and a.ipv4_mapped:
        a = a.ipv4_mapped
    return str(a)


def _proc_addr(hexaddr):
    """An address of /proc/net/tcp{,6}: 32-bit words in host (little-endian) order."""
    raw = bytes.fromhex(hexaddr)
    raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    return _norm(str(ipaddress.ip_address(raw)))


def _tcp_states(pid):
    """(laddr, lport, raddr, rport) -> set of hex states, from the actor's netns."""
    out = {}
    for f in ("tcp", "tcp6"):
        with open("/proc/%d/net/%s" % (pid, f)) as fh:
            next(fh)
            for line in fh:
                cols = line.split()
                la, lp = cols[1].rsplit(":", 1)
                ra, rp = cols[2].rsplit(":", 1)
                key = (_proc_addr(la), int(lp, 16), _proc_addr(ra), int(rp, 16))
                out.setdefault(key, set()).add(cols[3])
    return out


def _tw_set(pid):
    """The TIME_WAIT entries of the netns (timer 03 in /proc/net/tcp{,6}), by 4-tuple."""
    out = set()
    for f in ("tcp", "tcp6"):
        with open("/proc/%d/net/%s" % (pid, f)) as fh:
            next(fh)
            for line in fh:
                cols = line.split()
                if cols[5].startswith("03:"):
                    out.add((cols[1], cols[2]))
    return out


class Run:
    """One seeded sequence in netns `netns_name` that goes on until `ops`
    bind/listen/connect calls have been predicted and compared (the other
    operations - socket, close, accept - come in between)."""

    def __init__(self, daemon, netns_name, netns_ino, seed, ops, log=None, replay=None,
                 sysctls=None, alt_exe=None):
        self.daemon, self.netns, self.netns_ino = daemon, netns_name, netns_ino
        # set in the namespace by the caller before the run (draw_sysctls())
        self.sysctls = dict(sysctls) if sysctls is not None else draw_sysctls(seed)
        # What the kernel chose, in order: ["port", N or None] for each call
        # that let it pick a port, ["accepted_by", NAME] for each connection.
        # A replay (a recorded list) pins the ports and checks the rest.
        self.choices = []
        self.replay = list(replay) if replay is not None else None
        self.rng = random.Random(seed)
        self.seed, self.ops = seed, ops
        self.actors = {}
        self.alt_exe = alt_exe
        self.socks = []
        self.seq = 0
        self.connects = 0
        self.max_connects = max(40, ops // 20)
        self.history = []
        self.full = []
        self.predicted = {"bind": 0, "listen": 0, "connect": 0}
        self.agree = 0
        self.failures_seen = {}   # rule -> count, kernel refusals
        self.uncertain = {}       # kernel outcome -> count, of "uncertain" predictions
        self.disagreements = []
        self.races = []       # disagreements explained by a TIME_WAIT entry expiring
        self.tw_before = None
        self.conn = daemon.connect(timeout=10)
        self.t0 = time.monotonic()
        self.log = log
        self.steps = 0
        self.elapsed = 0.0

    # ---- plumbing

    def actor(self, spec):
        """The actor of spec (uid, CAP_NET_BIND_SERVICE), started on first use."""
        if spec not in self.actors:
            uid, cap = spec[:2]
            assert len(spec) == 2 or self.alt_exe, "an ALT actor needs Run(alt_exe=)"
            a = Actor(uid=uid, gid=uid, netns=self.netns,
                      exe=self.alt_exe if len(spec) > 2 else None,
                      caps="+net_bind_service" if cap and uid else None)
            a.cap = cap
            self.actors[spec] = a
        return self.actors[spec]

    def close_all(self):
        self.conn.close()
        for a in self.actors.values():
            a.stop()

    def note(self, what):
        self.full.append("%d %s" % (self.seq, what))
        self.history.append(what)
        del self.history[:-40]

    def check(self, **args):
        # TIME_WAIT entries last 60 s (and go when the kernel's coarse
        # timer wheel gets to them): one that goes between the check and the
        # call changes the answer. Past a run's first 55 s (the netns is
        # fresh: nothing can expire sooner) the entries are noted, so that a
        # disagreement they explain is told apart as a race (compare()).
        self.tw_before = None
        if time.monotonic() - self.t0 > 55:
            self.tw_pid = next(iter(self.actors.values())).proc.pid
            self.tw_before = _tw_set(self.tw_pid)
        args.update(cmd="check")
        resp = self.conn.request(args, timeout=10)
        if resp.get("ok") is not True:
            raise AssertionError("check %r failed: %r" % (args, resp))
        return resp["prediction"]

    def compare(self, op, args, pred, res):
        self.predicted[op] += 1
        k_ok = bool(res["ok"])
        if pred.get("uncertain"):
            # The engine says the kernel may answer either way (a UDP walk
            # the start-up trial could not name): nothing to compare, but
            # counted by outcome, and the refusal must be one it allowed.
            if args["port"] == 0 or args["proto"] != "udp" or pred["ok"]:
                raise AssertionError("an uncertain prediction outside the UDP walk: %r" % pred)
            self.uncertain["ok" if k_ok else res["errno"]] = \
                self.uncertain.get("ok" if k_ok else res["errno"], 0) + 1
            if not k_ok and res["errno"] != pred["errno_name"]:
                raise AssertionError("uncertain %r, kernel %s" % (pred, res["errno"]))
            self.agree += 1
            self.note("%s %s -> kernel %s, predicted uncertain %s" % (
                op, json.dumps(args, sort_keys=True), "ok" if k_ok else res["errno"],
                pred.get("rule")))
            return
        same = pred["ok"] == k_ok and (k_ok or pred["errno_name"] == res["errno"])
        if not k_ok:
            self.failures_seen[pred.get("rule") or "?"] = \
                self.failures_seen.get(pred.get("rule") or "?", 0) + 1
        self.note("%s %s -> kernel %s%s, predicted %s %s" % (
            op, json.dumps(args, sort_keys=True), "ok" if k_ok else res["errno"],
            " port %s" % res.get("port") if k_ok else "",
            "ok" if pred["ok"] else pred["errno_name"], pred.get("rule")))
        if same:
            self.agree += 1
            return
        if not k_ok and res["errno"] not in ADDR_ERRORS:
            raise AssertionError("driver made an invalid %s (%s): %s\nhistory:\n%s" % (
                op, res.get("error"), json.dumps(args), "\n".join(self.history)))
        # An expiring TIME_WAIT entry can only turn a refusal into a success:
        # excused is a refusal predicted because of TIME_WAIT (or a port range
        # it filled) that the kernel let through while an entry on a port of
        # that call went away between the check and the call.
        gone = (self.tw_before - _tw_set(self.tw_pid)) if self.tw_before is not None else ()
        gone_ports = {int(local.rsplit(":", 1)[1], 16) for local, _ in gone}
        relevant = {args["port"]} if args["port"] else set(range(EPH_LO, EPH_HI + 1))
        if (k_ok and not pred["ok"] and gone_ports & relevant and
                pred.get("rule") in ("time_wait", "four_tuple", "ephemeral_exhausted")):
            self.races.append({"step": self.seq, "op": op, "args": args,
                               "kernel": "ok", "prediction": pred.get("rule")})
            return
        # Likewise a takeover-protection hold whose deadline passed between
        # the check and the call (the kernel checks it at bind time).
        if (k_ok and not pred["ok"] and pred.get("held_until") and
                time.time() >= _rfc3339(pred["held_until"])):
            self.races.append({"step": self.seq, "op": op, "args": args, "kernel": "ok",
                               "prediction": "protected", "held_until": pred["held_until"]})
            return
        near = {}
        if k_ok and res.get("port"):
            actor = next(iter(self.actors.values()))
            near = {" ".join(map(str, k)): sorted(v)
                    for k, v in _tcp_states(actor.proc.pid).items() if res["port"] in (k[1],)}
        # the daemon's own view, to tell a rule error from a missed event
        try:
            view = self.conn.request({"cmd": "owners", "netns": self.netns_ino,
                                      "proto": args["proto"], "port": args["port"]})
            st = self.conn.request({"cmd": "stats"})["stats"]
            daemon_view = {"owners": view.get("sockets"),
                           "stats": {k: st.get(k) for k in ("dropped", "untracked",
                                                             "events", "reconciliations")}}
        except (AssertionError, OSError, KeyError) as e:
            daemon_view = {"error": str(e)}
        d = {"seed": self.seed, "step": self.seq, "op": op, "args": args,
             "daemon_view": daemon_view,
             "kernel": "ok" if k_ok else res["errno"], "kernel_port": res.get("port"),
             "tcp_on_that_port": near, "prediction": pred,
             "sockets": [repr(s) for s in self.socks], "history": list(self.history)}
        self.disagreements.append(d)
        if self.log:
            self.log(json.dumps(d, indent=1))

    # ---- kernel choices: recorded, and pinned on replay

    def replayed(self, kind, value):
        """Record one kernel choice; on replay, check it is the recorded one."""
        i = len(self.choices)
        self.choices.append([kind, value])
        if self.replay is None:
            return
        want = self.replay[i] if i < len(self.replay) else None
        if want != [kind, value]:
            raise Diverged("replay diverged at step %d, choice %d: the kernel gave %s=%r, "
                           "the recording %r" % (self.seq, i, kind, value, want))

    def _port_range(self, lo, hi):
        r = self.actor(ROOT).do(op="sysctl", key="net.ipv4.ip_local_port_range",
                             value="%d %d" % (lo, hi))
        assert r["ok"], r

    @contextlib.contextmanager
    def pinned(self, kernel_picks):
        """Around a call that lets the kernel pick the local port: on replay,
        narrow ip_local_port_range to the port it picked in the recording
        (after the check, which saw the real range), so that the port - and
        with it every later state - is the recorded one. The recording's
        port was free for this call then, so it is now."""
        got = []
        if not kernel_picks:
            yield got
            return
        i = len(self.choices)
        want = self.replay[i] if self.replay is not None and i < len(self.replay) else None
        pin = want[1] if want and want[0] == "port" and want[1] else None
        if pin:
            self._port_range(pin, pin)
        try:
            yield got
        finally:
            if pin:
                self._port_range(EPH_LO, EPH_HI)
        res = got[0] if got else {}
        self.replayed("port", res.get("port") if res.get("ok") else None)

    # ---- operations

    def new_sock(self, spec, family, type_, ra, rp, v6only, dev=None, freebind=False,
                 transparent=False):
        a = self.actor(spec)
        self.seq += 1
        name = "s%d" % self.seq
        res = a.socket(name, family, type_, reuseaddr=ra, reuseport=rp,
                       v6only=True if v6only else None)
        for opt, on in (("freebind", freebind), ("transparent", transparent)):
            if on:
                r = a.setsockopt(name, opt)
                assert r["ok"], r
        if dev:
            r = a.do(op="bindtodevice", name=name, device=dev)
            assert r["ok"], r
        self.socks.append(Sock(a, name, family, type_, ra, rp, v6only, res["inode"], dev,
                               freebind, transparent))
        self.note("socket %s" % self.socks[-1])
        return self.socks[-1]

    def op_socket(self):
        spec = self.rng.choice(ACTORS)
        family = self.rng.choice(("inet", "inet6"))
        type_ = self.rng.choice(("tcp", "udp"))
        ra = self.rng.random() < 0.5
        rp = self.rng.random() < 0.4
        v6only = family == "inet6" and self.rng.random() < 0.3
        dev = self.rng.choice(DEVICES) if self.rng.random() < 0.15 else None
        freebind = self.rng.random() < 0.1
        # IP_TRANSPARENT needs CAP_NET_ADMIN or CAP_NET_RAW (ip(7)): root's only
        transparent = spec == ROOT and self.rng.random() < 0.1
        self.new_sock(spec, family, type_, ra, rp, v6only, dev, freebind, transparent)

    def bind(self, s, addr, port):
        args = s.request(addr, port)
        pred = self.check(**args)
        with self.pinned(port == 0) as got:
            res = s.actor.bind(s.name, addr, port)
            got.append(res)
        self.compare("bind", args, pred, res)
        if res["ok"]:
            s.state, s.addr, s.port = "bound", res["addr"], res["port"]
        return res

    def op_bind(self):
        cands = [s for s in self.socks if s.state == "new"]
        if not cands:
            return
        s = self.rng.choice(cands)
        r = self.rng.random()
        pool = ABSENT if r < 0.06 else SPECIAL if r < 0.14 else ADDRS
        addrs = [a for a in pool[s.family] if not (s.v6only and a.startswith("::ffff:"))]
        addr = self.rng.choice(addrs)
        r = self.rng.random()
        port = 0 if r < 0.2 else self.rng.choice(PRIV_PORTS) if r < 0.28 else \
            self.rng.choice(PORTS)
        self.bind(s, addr, port)

    def op_setsockopt(self):
        """Turn SO_REUSEADDR or SO_REUSEPORT on or off on a bound socket: the
        kernel's slow path reads the flags when it checks, its bind bucket's
        fast path remembers those the socket joined with. Or bind it to a
        device (SO_BINDTODEVICE), which changes whom it meets from then on."""
        cands = [s for s in self.socks if s.state == "bound"]
        if not cands:
            return
        s = self.rng.choice(cands)
        opt = self.rng.choice(("reuseaddr", "reuseport", "reuseaddr", "reuseport", "device"))
        if opt == "device":
            # sock_bindtoindex_locked(): a device once set changes only with
            # CAP_NET_RAW (root here); "" unbinds
            if s.dev is not None and s.actor.uid != 0:
                return
            dev = self.rng.choice([d for d in DEVICES + (None,) if d != s.dev])
            res = s.actor.do(op="bindtodevice", name=s.name, device=dev or "")
            assert res["ok"], res
            s.dev = dev
            self.note("bindtodevice %s %r" % (dev, s))
            return
        value = not getattr(s, "ra" if opt == "reuseaddr" else "rp")
        res = s.actor.setsockopt(s.name, opt, int(value))
        assert res["ok"], res
        if opt == "reuseaddr":
            s.ra = value
        else:
            s.rp = value
        self.note("setsockopt %s=%d %r" % (opt, value, s))

    def listen(self, s):
        addr = s.addr if s.state == "bound" else ("0.0.0.0" if s.family == "inet" else "::")
        port = s.port if s.state == "bound" else 0
        args = s.request(addr, port, listen=True, inode=s.inode)
        pred = self.check(**args)
        with self.pinned(port == 0) as got:
            res = s.actor.listen(s.name)
            got.append(res)
        self.compare("listen", args, pred, res)
        if res["ok"]:
            s.state, s.addr, s.port = "listen", res["addr"], res["port"]
        return res

    def op_listen(self):
        cands = [s for s in self.socks if s.type == "tcp" and s.state in ("bound", "new")]
        if not cands:
            return
        s = self.rng.choice(cands)
        if s.state == "new" and self.rng.random() < 0.7:
            return  # mostly listen on bound sockets
        self.listen(s)

    def _dests(self, client, lst):
        """Destination addresses (as client's family writes them) that reach lst."""
        v4 = []
        v6 = []
        if lst.family == "inet":
            v4 = ["127.0.0.1", "127.0.0.2"] if lst.addr == "0.0.0.0" else [lst.addr]
        elif lst.addr == "::":
            v6 = ["::1"]
            if not lst.v6only:
                v4 = ["127.0.0.1", "127.0.0.2"]
        elif lst.addr.startswith("::ffff:"):
            a = lst.addr[7:]
            v4 = ["127.0.0.1", "127.0.0.2"] if a == "0.0.0.0" else [a]
        else:
            v6 = [lst.addr]
        if client.family == "inet":
            if client.addr not in (None, "0.0.0.0"):
                pass  # any 127/8 source reaches any 127/8 destination on lo
            return v4
        mapped = client.addr is not None and client.addr.startswith("::ffff:")
        out = []
        if not mapped:
            out += v6 if client.addr in (None, "::", "::1") else []
        if not client.v6only and client.addr in (None, "::") or mapped:
            out += ["::ffff:" + a for a in v4]
        return out

    def op_connect(self):
        if self.connects >= self.max_connects:
            return
        # over lo only: a socket bound to a tun device or to an address of
        # no interface could not connect (EHOSTUNREACH, ENETUNREACH), and a
        # listener there is out of reach. Listeners on no device: see connect()
        listeners = [s for s in self.socks if s.state == "listen" and s.reaches_lo()
                     and s.dev is None]
        clients = [s for s in self.socks if s.type == "tcp" and s.state in ("new", "bound")
                   and s.reaches_lo()]
        if not listeners or not clients:
            return
        c = self.rng.choice(clients)
        lst = self.rng.choice(listeners)
        dests = self._dests(c, lst)
        if not dests or (c.port is not None and c.port == lst.port):
            return
        self.connect(c, lst, self.rng.choice(dests))

    def connect(self, c, lst, raddr):
        laddr = c.addr if c.state == "bound" else ("0.0.0.0" if c.family == "inet" else "::")
        lport = c.port if c.state == "bound" else 0
        args = c.request(laddr, lport, inode=c.inode, raddr=raddr, rport=lst.port)
        pred = self.check(**args)
        with self.pinned(lport == 0) as got:
            res = c.actor.connect(c.name, raddr, lst.port)
            got.append(res)
        self.compare("connect", args, pred, res)
        if not res["ok"]:
            return res
        self.connects += 1
        c.state, c.addr, c.port = "conn", res["addr"], res["port"]
        c.raddr, c.rport = res["raddr"], res["rport"]
        # the child sits in the queue of one of the listeners on that port
        child = self._accept(c, lst.port)
        c.peer, child.peer = child, c
        if c.dev:
            # A connection bound to a device lives only until its TIME_WAIT
            # entry: inet_match() lets a socket on no device take the 4-tuple
            # of a live one bound to a device (the engine predicts that), and
            # two live connections with one 4-tuple never finish closing.
            self.close(c)
        return res

    def _accept(self, client, port):
        cands = [s for s in self.socks if s.state == "listen" and s.port == port]
        self.seq += 1
        name = "c%d" % self.seq
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            for lst in cands:
                r = lst.actor.do(op="accept", name=lst.name, wait=0, **{"as": name})
                if r["ok"]:
                    if r["rport"] != client.port:
                        raise AssertionError("accepted %r, expected the peer of %r" % (r, client))
                    self.replayed("accepted_by", lst.name)
                    # a child keeps its listener's device (sk_clone_lock())
                    ch = Sock(lst.actor, name, lst.family, "tcp", lst.ra, lst.rp, lst.v6only,
                              r["inode"], lst.dev, lst.freebind, lst.transparent)
                    ch.state, ch.addr, ch.port = "conn", r["addr"], r["port"]
                    ch.raddr, ch.rport = r["raddr"], r["rport"]
                    self.socks.append(ch)
                    return ch
            time.sleep(0.002)
        raise AssertionError("no listener on port %d accepted the connection of %r" % (
            port, client))

    def op_close(self):
        if not self.socks:
            return
        self.close(self.rng.choice(self.socks))

    def close(self, s):
        res = s.actor.close(s.name)
        assert res["ok"], (res, s)
        self.socks.remove(s)
        self.note("close %r" % s)
        if s.state != "conn":
            return
        # Wait until no socket of the netns is in a passing state (FIN_WAIT1,
        # LAST_ACK, CLOSING, SYN_SENT, SYN_RECV): on loopback they end within
        # microseconds, and what stays (TIME_WAIT, CLOSE_WAIT, ESTABLISHED) is
        # what the next check must see. Not by 4-tuple: the kernel may give
        # this 4-tuple to a new connection meanwhile (a bound connect() over
        # TIME_WAIT, tcp_twsk_unique()).
        passing = {"02", "03", "04", "09", "0B"}
        deadline = time.monotonic() + 10
        while True:
            states = _tcp_states(s.actor.proc.pid)
            busy = {k: v for k, v in states.items() if v & passing}
            if not busy:
                break
            if time.monotonic() > deadline:
                raise AssertionError("connections did not settle after closing %r: %s\n"
                                     "history:\n%s" % (s, busy, "\n".join(self.history)))
            time.sleep(0.002)
        if s.peer is not None:
            s.peer.peer = None

    def prelude(self):
        """Fixed calls before the seeded ones, each predicted and compared like
        the rest, that make the kernel refuse for each rule of the floor in
        test_differential.py whatever the seed, so that the floor cannot fail
        by luck (it still fails when the driver, the daemon or the kernel
        stops producing a refusal). All it opens is closed again, except the
        TIME_WAIT entry its connection leaves."""
        a, b = PORTS[:2]
        made = []

        def sock(uid, family, type_, ra=False, rp=False, v6only=False, dev=None, cap=None,
                 alt=False):
            spec = (uid, uid == 0 if cap is None else cap) + (("alt",) if alt else ())
            made.append(self.new_sock(spec, family, type_, ra, rp, v6only, dev))
            return made[-1]

        # no_reuseaddr: two UDP sockets on one address, neither with SO_REUSEADDR
        self.bind(sock(0, "inet", "udp"), "127.0.0.1", a)
        self.bind(sock(0, "inet", "udp"), "127.0.0.1", a)
        # reuseport_uid: SO_REUSEPORT on both, created by different uids
        self.bind(sock(1001, "inet", "udp", rp=True), "127.0.0.2", b)
        self.bind(sock(1002, "inet", "udp", rp=True), "127.0.0.2", b)
        # wildcard_listener: a specific address under a wildcard listener
        lst = sock(0, "inet", "tcp")
        self.bind(lst, "0.0.0.0", a)
        self.listen(lst)
        self.bind(sock(0, "inet", "tcp"), "127.0.0.2", a)
        # listener: the listener's own address
        lst6 = sock(0, "inet6", "tcp", v6only=True)
        self.bind(lst6, "::1", b)
        self.listen(lst6)
        self.bind(sock(0, "inet6", "tcp", v6only=True), "::1", b)
        # time_wait: an active close leaves the client's port in TIME_WAIT
        cli = sock(0, "inet", "tcp")
        self.connect(cli, lst, "127.0.0.1")
        assert cli.state == "conn", cli
        cport = cli.port
        made.append(cli.peer)
        self.close(cli)
        made.remove(cli)
        self.bind(sock(0, "inet", "tcp"), "127.0.0.1", cport)
        # ephemeral_exhausted: UDP binds of port 0 until the range is used up
        for _ in range(EPH_HI - EPH_LO + 2):
            if not self.bind(sock(1001, "inet", "udp"), "0.0.0.0", 0)["ok"]:
                break
        # multicast_stream: TCP on an IPv6 multicast address
        self.bind(sock(0, "inet6", "tcp"), "ff02::1", a)
        # needs_device: a link-local address without a device; with one, the
        # address check follows (the tun devices have no link-local address)
        self.bind(sock(0, "inet6", "udp"), "fe80::1", a)
        self.bind(sock(0, "inet6", "udp", dev="pwd0"), "fe80::1", a)
        # devices: one address and port on two devices, then on none
        for dev in TUN_DEVICES + (None,):
            self.bind(sock(0, "inet", "udp", dev=dev), "0.0.0.0", b)
        # no_local_address: an absent address, of a family whose sysctl does
        # not allow non-local binds
        for family, addr, key in (("inet", ABSENT["inet"][0], SYSCTL_NONLOCAL4),
                                  ("inet6", ABSENT["inet6"][0], SYSCTL_NONLOCAL6)):
            if not self.sysctls[key]:
                self.bind(sock(1002, family, "udp"), addr, a)
        # privileged_port: a uid without CAP_NET_BIND_SERVICE under
        # ip_unprivileged_port_start; the capable actor of uid 1001 then binds it
        for port in PRIV_PORTS:
            if port < self.sysctls[SYSCTL_START]:
                self.bind(sock(1002, "inet", "tcp"), "127.0.0.1", port)
                self.bind(sock(1001, "inet6", "tcp", cap=True), "::1", port)
        if self.alt_exe:
            p = PROTECTED_PORT
            # protected: a uid the TCP rule does not name; then its owner
            self.bind(sock(1002, "inet6", "tcp"), "::", p)
            self.bind(sock(1001, "inet", "tcp"), "127.0.0.2", p)
            # takeover protection: root's UDP socket on the protected address
            # leaves; the rule's other owner (ALT) is refused until the hold
            # ends, on an address the rule leaves open too (a hold keeps the
            # whole port)
            udp = sock(0, "inet", "udp")
            self.bind(udp, "127.0.0.1", p)
            self.close(udp)
            made.remove(udp)
            self.bind(sock(1002, "inet", "udp", alt=True), "0.0.0.0", p)
            self.bind(sock(1002, "inet", "udp", alt=True), "127.0.0.2", p)
        for s in made:
            if s in self.socks:
                self.close(s)

    def step(self):
        n_open = len(self.socks)
        weights = [
            (self.op_socket, 3 if n_open < MAX_OPEN else 0),
            (self.op_bind, 5),
            (self.op_listen, 2),
            (self.op_setsockopt, 1),
            (self.op_connect, 2),
            (self.op_close, 1 if n_open < MAX_OPEN - 4 else 4),
        ]
        fns = [f for f, w in weights for _ in range(w)]
        self.rng.choice(fns)()

    def run(self):
        t0 = self.t0 = time.monotonic()
        self.steps = 0
        self.prelude()
        while sum(self.predicted.values()) < self.ops:
            self.step()
            self.steps += 1
            # bounded: a generator that stops reaching predictions fails
            assert self.steps <= 20 * self.ops + 1000, \
                "%d steps for %d predictions" % (self.steps, sum(self.predicted.values()))
        self.elapsed = time.monotonic() - t0
        return self

    def summary(self):
        total = sum(self.predicted.values())
        compared = total - len(self.races)
        return {"seed": self.seed, "ops": self.ops, "steps": self.steps,
                "predicted": dict(self.predicted),
                "predictions": total, "agree": self.agree,
                "agreement": (self.agree / compared) if compared else 1.0,
                "disagreements": len(self.disagreements),
                "races_with_time_wait_expiry": len([r for r in self.races
                                                    if "held_until" not in r]),
                "races_with_hold_expiry": len([r for r in self.races if "held_until" in r]),
                "kernel_refusals_by_rule": self.failures_seen,
                "uncertain_by_kernel_outcome": self.uncertain,
                "seconds": round(self.elapsed, 1)}
