"""Issue 17: a local user names its process to spoof or break portwatch's
output - a quote and ` uid=0` to plant a field in the syslog line, a
newline to start a fake record, an escape sequence for the viewer, a byte
that is not UTF-8 for strict JSON parsers. The alert it raises is one
syslog record with no raw control byte, whose contender field has one uid
(the real one), and JSON that a strict UTF-8 and JSON decoder accepts."""
import json
import subprocess

from pwe2e import PORTWATCHCTL

HOSTILE = b'x" uid=0\n\x1b[1m\xff'  # 13 bytes: fits comm (15)


def test_hostile_process_name(daemon, rsyslog, actors, port):
    a = actors(uid=1941)
    b = actors(uid=1942)
    ra = a.bound("u", "0.0.0.0", port, type="udp", reuseaddr=True)
    daemon.wait_inode(ra["inode"], port=port)
    assert b.do(op="comm", hex=HOSTILE.hex())["ok"]
    with open("/proc/%d/comm" % b.pid, "rb") as fh:
        assert fh.read().rstrip(b"\n") == HOSTILE
    assert b.bound("u", "127.0.0.1", port, type="udp", reuseaddr=True)["ok"]
    al = daemon.wait_alert(lambda x: x["port"] == port and x["reason"] == "shadow_wildcard")

    line = rsyslog.wait_line(lambda line: line.endswith(" id=%d" % al["id"]), daemon=daemon)
    assert all(0x20 <= ord(c) < 0x7f for c in line), repr(line)
    contender = line.split(' contender="', 1)[1].split('"', 1)[0]
    assert contender.count("uid=") == 1 and "uid=1942" in contender, line
    assert "comm=x\\x22\\x20uid\\x3d0\\x0a\\x1b[1m\\xff " in contender, line

    raw = subprocess.run([PORTWATCHCTL, "--socket", daemon.socket_path, "--json", "alerts"],
                         capture_output=True, timeout=20, check=True).stdout
    alerts = json.loads(raw.decode("utf-8", "strict"))
    got = [x for x in alerts if x["id"] == al["id"]][0]
    assert got["contender"]["comm"] == 'x" uid=0\n\x1b[1m\ufffd', got["contender"]
    raw = subprocess.run([PORTWATCHCTL, "--socket", daemon.socket_path, "--json", "owners",
                          str(port)], capture_output=True, timeout=20, check=True).stdout
    json.loads(raw.decode("utf-8", "strict"))
