"""nat_tick() walks the table for namespaces it does not follow only after a
ring event named one (nat_note_netns()), not every second. A namespace
that no snapshot listed and no /run/netns mount visible to the daemon names
(the daemon runs in a mount namespace of its own, as in a container) is
still followed as soon as one of its sockets binds: its nftables diversion
raises diversion/nat_redirect."""
from pwe2e import netns_inode

from test_nat import alert_of, nft, wait_alert


def test_namespace_seen_only_through_its_sockets(daemon_factory, netns, actors):
    # private mounts: the `ip netns add` below is not visible under its /run/netns
    daemon = daemon_factory(wrap=("unshare", "--mount", "--propagation", "private", "--"))
    name = netns()
    ino = netns_inode(name)
    assert ino not in [n["netns"] for n in daemon.ok({"cmd": "owners"})["sockets"]]
    nft(name, "table ip pwt {\n chain pre {\n type nat hook prerouting priority dstnat; "
              "policy accept;\n tcp dport 2222 redirect to :42391\n }\n}\n")
    sshd = actors(uid=1234, netns=name)
    r1 = sshd.bound("s", "0.0.0.0", 2222, listen=True)
    shell = actors(uid=1235, netns=name)
    r2 = shell.bound("s", "0.0.0.0", 42391, listen=True)
    daemon.wait_inode(r1["inode"], port=2222)
    daemon.wait_inode(r2["inode"], port=42391)
    al = wait_alert(daemon, alert_of(ino, 2222), ino)
    assert al["holder"]["inode"] == r1["inode"], al
    assert al["contender"]["pid"] == shell.pid, al
