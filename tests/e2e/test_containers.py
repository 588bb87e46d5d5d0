# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Container and pod attribution (issue 15, item 4) with real cgroup v2
directories named as the runtimes name them: a Docker container under the
systemd driver (/system.slice/docker-<id>.scope) and a Kubernetes pod's
container under containerd's CRI and kubelet's systemd driver
(/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod<uid>.slice/
cri-containerd-<id>.scope). No runtime runs: the daemon reads only the
names. Every directory made is removed at teardown, once its processes are
gone."""
import json
import os
import re
import secrets
import subprocess
import uuid

import pytest

from pwe2e import PORTWATCHCTL, cgroup2_mount, enter_cgroup, remove_cgroups


@pytest.fixture
def runtime_cgroup():
    """make(relpath) -> directory: the cgroup relpath under the cgroup2 root,
    parents made as needed. Ask for it before `actors`, so that it is torn
    down after them: the directories this test made are removed deepest
    first, each once empty (processes still there after 5 s are moved back
    to the root and reported)."""
    root = cgroup2_mount()
    if root is None:
        pytest.fail("no cgroup2 mount in /proc/self/mounts")
    made = []

    def make(relpath):
        path = root
        for comp in relpath.strip("/").split("/"):
            path = os.path.join(path, comp)
            if not os.path.isdir(path):
                os.mkdir(path)
                made.append(path)
        return path

    yield make
    problems = remove_cgroups(root, list(reversed(made)))
    assert not problems, "\n".join(problems)


def docker_path(cid):
    return "/system.slice/docker-%s.scope" % cid


def pod_path(pod_uid, cid):
    u = pod_uid.replace("-", "_")  # kubelet's systemd driver: '-' separates slices
    return ("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod%s.slice/"
            "cri-containerd-%s.scope" % (u, cid))


@pytest.fixture
def two_containers(runtime_cgroup, daemon, actors, port):
    """A Docker container's process (uid 1234) holding UDP 0.0.0.0:port with
    SO_REUSEADDR, then a pod container's process (uid 1235) binding the same:
    a udp_share hijack between two containers."""
    dock_id, pod_cid = secrets.token_hex(32), secrets.token_hex(32)
    pod_uid = str(uuid.uuid4())
    dock_dir = runtime_cgroup(docker_path(dock_id))
    pod_dir = runtime_cgroup(pod_path(pod_uid, pod_cid))
    a = actors(uid=1234)
    b = actors(uid=1235)
    enter_cgroup(dock_dir, a.pid)  # before they bind: attribution is read at the bind
    enter_cgroup(pod_dir, b.pid)
    with open("/proc/%d/cgroup" % b.pid) as fh:
        assert "0::" + pod_path(pod_uid, pod_cid) in fh.read().splitlines()
    ra = a.bound("u", "0.0.0.0", port, type="udp", reuseaddr=True)
    daemon.wait_inode(ra["inode"], port=port)
    rb = b.bound("u", "0.0.0.0", port, type="udp", reuseaddr=True)
    daemon.wait_inode(rb["inode"], port=port)
    return dict(a=a, b=b, ra=ra, rb=rb, dock_id=dock_id, pod_cid=pod_cid, pod_uid=pod_uid)


def ctl(daemon, *args):
    r = subprocess.run([PORTWATCHCTL, "--socket", daemon.socket_path] + list(args),
                       capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, (args, r.returncode, r.stderr)
    return r.stdout


def test_owners_name_container_and_pod(two_containers, daemon, port):
    t = two_containers
    by_inode = {s["inode"]: s for s in daemon.owners(port=port)}
    a, b = by_inode[t["ra"]["inode"]], by_inode[t["rb"]["inode"]]
    assert a["container"] == {"id": t["dock_id"], "runtime": "docker"}
    assert a["pod"] is None
    assert a["unit"] == "docker-%s.scope" % t["dock_id"]
    assert b["container"] == {"id": t["pod_cid"], "runtime": "containerd"}
    assert b["pod"] == {"uid": t["pod_uid"], "namespace": None, "name": None}
    assert (a["pid"], b["pid"]) == (t["a"].pid, t["b"].pid)


def test_alert_names_both_containers(two_containers, daemon, rsyslog, port):
    t = two_containers
    al = daemon.wait_alert(lambda x: x["port"] == port and x["reason"] == "udp_share")
    assert al["holder"]["inode"] == t["ra"]["inode"]
    assert al["holder"]["container"] == {"id": t["dock_id"], "runtime": "docker"}
    assert al["holder"]["pod"] is None
    assert al["contender"]["inode"] == t["rb"]["inode"]
    assert al["contender"]["container"] == {"id": t["pod_cid"], "runtime": "containerd"}
    assert al["contender"]["pod"]["uid"] == t["pod_uid"]
    # syslog: the short id (docker ps's 12 digits) and the pod uid, inside holder="..."
    line = rsyslog.wait_line(lambda l: "id=%d" % al["id"] in l and "kind=" in l,
                             daemon=daemon)
    m = re.search(r'holder="([^"]*)" contender="([^"]*)"', line)
    assert m, line
    assert "container=docker:%s " % t["dock_id"][:12] in m.group(1), line
    assert "pod=" not in m.group(1), line
    assert "container=containerd:%s pod=%s " % (t["pod_cid"][:12], t["pod_uid"]) \
        in m.group(2), line


def test_cli_container_column_and_filter(two_containers, daemon, port):
    t = two_containers
    # a prefix of the id selects that container's sockets only
    only = json.loads(ctl(daemon, "--json", "owners", str(port), "--container",
                          t["pod_cid"][:8]))
    assert [s["inode"] for s in only] == [t["rb"]["inode"]]
    full = json.loads(ctl(daemon, "--json", "owners", "--container", t["dock_id"]))
    assert [s["inode"] for s in full] == [t["ra"]["inode"]]
    assert json.loads(ctl(daemon, "--json", "owners", str(port), "--container", "zz")) == []
    # the table grows a Container column: runtime and the short id
    out = ctl(daemon, "owners", str(port))
    header, *rows = out.splitlines()
    assert "Container" in header.split(), out
    assert any("docker:%s" % t["dock_id"][:12] in r.split() for r in rows), out
    assert any("containerd:%s" % t["pod_cid"][:12] in r.split() for r in rows), out
    # a bad filter is a usage error, said before asking the daemon
    r = subprocess.run([PORTWATCHCTL, "--socket", daemon.socket_path, "owners", "--container",
                        ""], capture_output=True, text=True, timeout=10)
    assert r.returncode != 0 and "--container" in r.stderr


def test_no_container_column_outside_containers(daemon, actors, port):
    a = actors(uid=1234)
    r = a.bound("t", "127.0.0.1", port, listen=True)
    s = daemon.wait_inode(r["inode"], port=port)
    assert s["container"] is None and s["pod"] is None
    assert "Container" not in ctl(daemon, "owners", str(port)).splitlines()[0].split()


def test_why_container_filter(two_containers, daemon, port):
    """why --container lists and explains only the holders of that
    container: the Docker one's socket, not the pod's, and the reverse."""
    t = two_containers
    dock = json.loads(ctl(daemon, "--json", "why", str(port), "--proto", "udp",
                          "--container", t["dock_id"][:12]))
    assert [h["inode"] for h in dock["holders"]] == [t["ra"]["inode"]], dock["holders"]
    holds = "pid %d (python3, uid %d) holds"
    assert holds % (t["a"].pid, 1234) in dock["explanation"], dock["explanation"]
    assert holds % (t["b"].pid, 1235) not in dock["explanation"], dock["explanation"]
    pod = json.loads(ctl(daemon, "--json", "why", str(port), "--proto", "udp",
                         "--container", t["pod_cid"][:12]))
    assert [h["inode"] for h in pod["holders"]] == [t["rb"]["inode"]], pod["holders"]
    text = ctl(daemon, "why", str(port), "--container", t["pod_cid"][:12])
    assert holds % (t["b"].pid, 1235) in text and holds % (t["a"].pid, 1234) not in text, text
