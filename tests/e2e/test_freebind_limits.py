"""Free binds past portwatchd's limits (FREEBIND_MAX_PENDING, 4096, in
daemon/freebind.h): IP_FREEBIND needs no privilege, so anyone could fill
the pending list with decoys and then free-bind the address that matters
unseen. A free bind that cannot be followed is alerted on at once
(diversion/freebind, saying so) and counted in stats.freebind.not_kept."""
from pwe2e import netns_inode, netns_script

MAX_PENDING = 4096
BINDS = MAX_PENDING + 1  # more than the limit, whatever other tests keep pending
PORT = 5000

HOLDER = r"""
socks = []
for i in range(%d):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_IP, 15, 1)  # IP_FREEBIND
    s.bind(("10.77.%%d.%%d" %% (i // 250, 1 + i %% 250), %d))
    socks.append(s)
""" % (BINDS, PORT)


def test_a_free_bind_past_the_limit_is_alerted_at_once(daemon, netns):
    name = netns()
    ino = netns_inode(name)
    with netns_script(name, HOLDER, nofile=8192) as holder:
        # no address of 10.77.0.0/16 is ever configured in the namespace
        al = daemon.wait_alert(lambda a: (a["kind"], a["reason"], a["netns"], a["port"]) ==
                               ("diversion", "freebind", ino, PORT), timeout=60)
        assert al["holder"]["pid"] == holder.pid, al["holder"]
        assert al["holder"]["addr"].startswith("10.77."), al["holder"]
        assert "cannot follow it" in al["message"], al["message"]
        assert daemon.stats()["freebind"]["not_kept"] >= 1
