"""The start-up snapshot finds TCP sockets that are only bound (neither
listening nor connected), which the socket iterators do not list: one
sock_diag dump per namespace covers IPv4 and IPv6 (diag.c), on kernels that
report bound-only sockets (6.5+; `stats` kernel.diag_bound_inactive)."""
from pwe2e import netns_inode


def test_bound_only_tcp_of_both_families_found_at_start(daemon_factory, actors, netns, port):
    ns = netns()
    nsino = netns_inode(ns)
    a = actors(uid=1234, netns=ns)
    r4 = a.bound("t4", "127.0.0.1", port)
    r6 = a.bound("t6", "::1", port)
    r6w = a.bound("t6w", "::", port + 1, v6only=True)
    d = daemon_factory()
    if d.stats()["kernel"]["diag_bound_inactive"] is False:
        # before 6.5 the kernel cannot list them: nothing to check but that
        # the snapshot went through
        return
    got = {s["inode"]: s for s in d.owners(netns=nsino)}
    for r, family, addr, p in ((r4, "inet", "127.0.0.1", port), (r6, "inet6", "::1", port),
                               (r6w, "inet6", "::", port + 1)):
        s = got.get(r["inode"])
        assert s is not None, "inode %d (%s) not in %s" % (r["inode"], addr, list(got.values()))
        assert (s["proto"], s["family"], s["addr"], s["port"], s["state"]) == \
            ("tcp", family, addr, p, "BOUND")
        assert (s["pid"], s["uid"]) == (a.pid, 1234)
