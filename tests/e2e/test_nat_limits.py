"""Bounds on what one namespace's nftables ruleset makes portwatchd hold:
anyone can load rules in a namespace of its own, and each (rule, listener)
pair used to be recorded, compared with every other each second, and kept
without limit. Past NAT_NS_MAX_PAIRS pairs in a namespace (daemon/natdiv.h)
the first ones are followed, none is cleared, and stats.nat.not_kept
counts the re-matches that went past the bound."""
from pwe2e import netns_inode, netns_script, wait_until

from test_nat import nat_diversions, nft

NS_MAX_PAIRS = 1024
LISTENERS = 1100
FIRST_PORT = 20000  # in the test's own namespace: no other socket there

HOLDER = r"""
socks = []
for p in range(%d, %d):
    s = socket.socket()
    s.bind(("127.0.0.1", p))
    s.listen(1)
    socks.append(s)
""" % (FIRST_PORT, FIRST_PORT + LISTENERS)


def test_pairs_past_the_bound_are_counted_not_kept(daemon, netns):
    name = netns()
    ino = netns_inode(name)
    with netns_script(name, HOLDER, nofile=4096):
        wait_until(lambda: len(daemon.ok({"cmd": "owners", "netns": ino})["sockets"]) ==
                   LISTENERS, what="the listeners in the table")
        # th dport != 1: wider than NAT_SCAN_PORTS, matched by a walk of the table
        nft(name, "table ip r {\n chain out {\n type nat hook output priority -100;\n"
                  " tcp dport != 1 redirect to :9\n }\n}\n")
        wait_until(lambda: daemon.stats()["nat"].get("not_kept", 0) >= 1,
                   what="pairs past the bound counted")
        d = [x for x in nat_diversions(daemon, ino) if x["state"] == "active"]
        assert len(d) == NS_MAX_PAIRS, len(d)
        assert all(FIRST_PORT <= x["port"] < FIRST_PORT + LISTENERS for x in d)
