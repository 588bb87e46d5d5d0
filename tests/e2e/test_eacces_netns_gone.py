"""Issue 18: a bind refused with EACCES is explained by the refusing
namespace's own ip_unprivileged_port_start even when that namespace is gone
before the daemon handles the event (the kernel side reads
sysctl_ip_prot_sock at the failed bind). The daemon is stopped (SIGSTOP)
while uid 1705 binds port 1500 in a fresh netns whose limit is 2000, the
process exits and the netns is deleted; then it goes on (SIGCONT). Read
from the namespace, the limit would be the default 1024 and the refusal
unexplained."""
import os
import signal
import subprocess

from pwe2e import netns_inode

PORT = 1500
UID = 1705


def test_eacces_after_the_netns_went(daemon, actors, netns):
    name = netns()
    ino = netns_inode(name)
    root = actors(netns=name, uid=0, gid=0)
    assert root.do(op="sysctl", key="net.ipv4.ip_unprivileged_port_start", value="2000")["ok"]
    root.stop()
    me = actors(netns=name, uid=UID, gid=UID)
    me.socket("s", "inet", "tcp")
    os.kill(daemon.pid, signal.SIGSTOP)
    try:
        r = me.bind("s", "127.0.0.1", PORT)
        assert not r["ok"] and r["errno"] == "EACCES", r
        me.stop()
        subprocess.run(["ip", "netns", "del", name], check=True, timeout=10)
        assert not os.path.exists("/run/netns/" + name)
    finally:
        os.kill(daemon.pid, signal.SIGCONT)
    cf = daemon.wait_conflict(lambda c: c["netns"] == ino and c["port"] == PORT)
    assert cf["errno_name"] == "EACCES" and cf["rule"] == "privileged_port", cf
    assert cf["uid"] == UID, cf
