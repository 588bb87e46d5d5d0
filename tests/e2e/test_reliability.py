"""Issue 17's reliability suite, the parts that are about the daemon's own
life: killed with SIGKILL in the middle of churn it leaves nothing of its
BPF side in the kernel, and hundreds of network namespaces created and
destroyed leave its table, its file descriptors and its memory where they
were. (SIGSTOP under churn: test_lifecycle.py's lost-events test; control
socket floods: test_ctl_flood.py, test_ctl_limits.py.)"""
import os
import signal
import subprocess
import sys

from pwe2e import sanitized, wait_until

PYTHON = sys.executable

# bind, listen and close in a loop until killed: churn for the daemon to follow
CHURN = r"""
import socket
while True:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen()
    s.close()
"""

# in a fresh network namespace: bring lo up, hold a TCP listener and a UDP
# socket, say "ready" and wait to be killed
HOLDER = r"""
import socket, subprocess, sys, time
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
t = socket.socket(); t.bind(("127.0.0.1", 0)); t.listen()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 0))
print("ready", flush=True)
time.sleep(120)
"""


def bpf_ids(pid):
    """The BPF programs, maps and links pid holds, from /proc/PID/fdinfo."""
    ids = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as fh:
                info = fh.read()
        except OSError:
            continue
        for line in info.splitlines():
            key, _, val = line.partition(":")
            if key in ("prog_id", "map_id", "link_id"):
                ids.add((key, int(val)))
    return ids


def bpf_exists(kind, ident):
    what = {"prog_id": "prog", "map_id": "map", "link_id": "link"}[kind]
    r = subprocess.run(["bpftool", what, "show", "id", str(ident)], capture_output=True)
    return r.returncode == 0


def test_sigkill_under_churn_leaves_no_bpf_objects(daemon_factory):
    d = daemon_factory()
    held = bpf_ids(d.pid)
    assert {k for k, _ in held} >= {"prog_id", "map_id", "link_id"}, held
    churn = subprocess.Popen([PYTHON, "-c", CHURN])
    try:
        wait_until(lambda: d.stats()["events"]["bind"] > 1000, what="churn seen by the daemon")
        d.stop(signal.SIGKILL)
    finally:
        churn.kill()
        churn.wait(10)
    # the kernel frees them once the last reference (the daemon's fds) is gone
    wait_until(lambda: not [x for x in held if bpf_exists(*x)], timeout=20,
               what="the killed daemon's programs, maps and links to be freed")
    pins = [p for p in os.listdir("/sys/fs/bpf") if "portwatch" in p] \
        if os.path.isdir("/sys/fs/bpf") else []
    assert pins == [], pins


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def ours(d, inodes):
    """The table's sockets in the namespaces of inodes."""
    return [x for x in d.owners() if x["netns"] in inodes]


def test_namespace_churn_returns_to_baseline(daemon_factory):
    """300 namespaces, each with a listener and a UDP socket, made and
    destroyed in rounds of 50: the daemon follows them (two sockets a
    namespace in its table), then forgets them, and ends with the fds and
    about the memory it started with. (Counted by namespace, so that other
    programs' sockets on this host do not matter.)"""
    d = daemon_factory()
    d.sync()
    base = d.stats()
    base_fds, base_rss = fd_count(d.pid), rss_kib(d.pid)
    seen = set()
    for _ in range(6):
        procs, inodes = [], set()
        try:
            for _ in range(50):
                p = subprocess.Popen(["unshare", "--net", PYTHON, "-c", HOLDER],
                                     stdout=subprocess.PIPE, text=True)
                procs.append(p)
            for p in procs:
                assert p.stdout.readline().strip() == "ready"
                inodes.add(os.stat("/proc/%d/ns/net" % p.pid).st_ino)
            wait_until(lambda: len(ours(d, inodes)) == 100, timeout=20,
                       what="the namespaces' 100 sockets in the table")
            seen |= inodes
        finally:
            for p in procs:
                p.kill()
            for p in procs:
                p.wait(10)
                p.stdout.close()
        wait_until(lambda: not ours(d, inodes), timeout=20,
                   what="the namespaces' sockets to leave the table")
    # (inodes of dead namespaces are reused: fewer than 300 distinct ones is normal)
    # a reconciliation walks every namespace there is: none of the dead ones is back
    os.kill(d.pid, signal.SIGHUP)
    wait_until(lambda: d.stats()["reconciliations"] > base["reconciliations"],
               what="a reconciliation")
    assert not ours(d, seen)
    wait_until(lambda: fd_count(d.pid) <= base_fds, timeout=10,
               what="the daemon's fds back to %d (now %d)" % (base_fds, fd_count(d.pid)))
    grown = rss_kib(d.pid) - base_rss
    print("namespace churn: RSS grew by %d KiB" % grown)
    assert grown < 16 * 1024 or sanitized(d.pid), \
        "RSS grew by %d KiB over 300 namespaces" % grown
    assert d.running()
