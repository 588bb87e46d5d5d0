"""Free binds past portwatchd's limits (FREEBIND_MAX_PENDING, 4096, in
daemon/freebind.h): IP_FREEBIND needs no privilege, so anyone could fill
the pending list with decoys and then free-bind the address that matters
unseen. A free bind that cannot be followed is alerted on at once
(diversion/freebind, saying so) and counted in stats.freebind.not_kept."""
import subprocess
import sys

from pwe2e import netns_inode, wait_until

MAX_PENDING = 4096
BINDS = MAX_PENDING + 1  # more than the limit, whatever other tests keep pending
PORT = 5000

HOLDER = r"""
import resource, socket, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (8192, 8192))
socks = []
for i in range(%d):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_IP, 15, 1)  # IP_FREEBIND
    s.bind(("10.77.%%d.%%d" %% (i // 250, 1 + i %% 250), %d))
    socks.append(s)
print("ready", flush=True)
sys.stdin.read()
""" % (BINDS, PORT)


def test_a_free_bind_past_the_limit_is_alerted_at_once(daemon, netns):
    name = netns()
    ino = netns_inode(name)
    holder = subprocess.Popen(["ip", "netns", "exec", name, sys.executable, "-c", HOLDER],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        # no address of 10.77.0.0/16 is ever configured in the namespace
        al = daemon.wait_alert(lambda a: (a["kind"], a["reason"], a["netns"], a["port"]) ==
                               ("diversion", "freebind", ino, PORT), timeout=60)
        assert al["holder"]["pid"] == holder.pid, al["holder"]
        assert al["holder"]["addr"].startswith("10.77."), al["holder"]
        assert "cannot follow it" in al["message"], al["message"]
        assert daemon.stats()["freebind"]["not_kept"] >= 1
    finally:
        holder.kill()
        holder.wait(timeout=10)
