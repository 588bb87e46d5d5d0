#!/usr/bin/python3
"""actor.py - performs real socket operations for the end-to-end tests.

Run as root; it drops to --uid/--gid (setgroups, setresgid, setresuid)
*before* creating any socket, since the kernel's SO_REUSEPORT check
compares the uid that created the socket (sk_uid), not the caller of bind().

Operations are JSON objects. Those given with --ops (a JSON array) run at
start; then one operation per stdin line runs as it arrives. Every
operation prints exactly one JSON result line on stdout:

    {"op": "bind", "name": "a", "ok": true, "errno": null, "errno_num": 0,
     "addr": "127.0.0.1", "port": 40000, "inode": 123456, "fd": 3}

After the start operations it prints {"op": "ready", "pid": ..., ...}. It
holds its sockets until stdin closes (exit 0) or SIGTERM (exit 0).

Operations:
    {"op":"socket","name":"a","family":"inet|inet6","type":"tcp|udp"}
    {"op":"setsockopt","name":"a","opt":"reuseaddr|reuseport|v6only|freebind|transparent","value":1}
    {"op":"bindtodevice","name":"a","device":"lo"}
    {"op":"bind","name":"a","addr":"127.0.0.1","port":N}
    {"op":"listen","name":"a","backlog":16}
    {"op":"connect","name":"a","addr":"127.0.0.1","port":N}
    {"op":"accept","name":"a","as":"c"}          (blocks up to "wait" s, default 10;
                                                   0: EAGAIN at once when none is queued)
    {"op":"sendto","name":"a","addr":"127.0.0.1","port":N,"fastopen":false}
                                                   (one byte; "fastopen": MSG_FASTOPEN,
                                                   a TCP connect without connect(2))
    {"op":"close","name":"a"}
    {"op":"info","name":"a"}                      (port, inode, ... of a socket)
    {"op":"reuseport_cbpf","name":"a","index":0}  (SO_ATTACH_REUSEPORT_CBPF: a classic
                                                   BPF program that sends everything to
                                                   member `index` of the socket's group)
    {"op":"comm","hex":"..."}                      (rename the actor: prctl(PR_SET_NAME),
                                                   the bytes given in hex, any bytes)
    {"op":"sysctl","key":"net.ipv4.ip_local_port_range","value":"40000 40011"}
                                                   (of the actor's netns; root actors)
    {"op":"fork"}                                  (child holds copies of every fd)
    {"op":"exit","code":0}                         (leave now, without closing first)
Only the standard library is used.
"""
import argparse
import ctypes
import errno
import json
import os
import signal
import socket
import struct
import sys
import time

FAMILIES = {"inet": socket.AF_INET, "inet6": socket.AF_INET6}
TYPES = {"tcp": socket.SOCK_STREAM, "udp": socket.SOCK_DGRAM}
OPTS = {
    "reuseaddr": (socket.SOL_SOCKET, socket.SO_REUSEADDR),
    "reuseport": (socket.SOL_SOCKET, socket.SO_REUSEPORT),
    "v6only": (socket.IPPROTO_IPV6, socket.IPV6_V6ONLY),
    # ip(7); an AF_INET6 socket takes SOL_IP options too (ipv6_setsockopt() -> ip_setsockopt())
    "freebind": (socket.SOL_IP, 15),     # IP_FREEBIND
    "transparent": (socket.SOL_IP, 19),  # IP_TRANSPARENT
    "local_port_range": (socket.SOL_IP, 51),  # IP_LOCAL_PORT_RANGE: value (hi << 16) | lo
}

SO_ATTACH_REUSEPORT_CBPF = 51  # asm-generic/socket.h


class SockFilter(ctypes.Structure):  # struct sock_filter, linux/filter.h
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                ("k", ctypes.c_uint32)]


class SockFprog(ctypes.Structure):  # struct sock_fprog
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(SockFilter))]


socks = {}
children = []


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def describe(name, s):
    """Local address, port and inode of socket s."""
    out = {"name": name, "fd": s.fileno(), "inode": os.fstat(s.fileno()).st_ino}
    try:
        local = s.getsockname()
        out["addr"], out["port"] = local[0], local[1]
    except OSError:
        out["addr"], out["port"] = None, None
    try:
        peer = s.getpeername()
        out["raddr"], out["rport"] = peer[0], peer[1]
    except OSError:
        out["raddr"], out["rport"] = None, None
    return out


def run(op):
    kind = op.get("op")
    name = op.get("name")
    res = {"op": kind, "ok": True, "errno": None, "errno_num": 0}
    try:
        if kind == "socket":
            s = socket.socket(FAMILIES[op.get("family", "inet")], TYPES[op.get("type", "tcp")])
            socks[name] = s
        elif kind == "setsockopt":
            level, opt = OPTS[op["opt"]]
            value = int(op.get("value", 1))
            if value > 0x7fffffff:  # a u32 (IP_LOCAL_PORT_RANGE): past a C int
                value = struct.pack("I", value)
            socks[name].setsockopt(level, opt, value)
        elif kind == "bindtodevice":
            socks[name].setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE,
                                   op["device"].encode())
        elif kind == "bind":
            socks[name].bind((op["addr"], int(op["port"])))
        elif kind == "listen":
            socks[name].listen(int(op.get("backlog", 16)))
        elif kind == "connect":
            socks[name].settimeout(5)
            try:
                socks[name].connect((op["addr"], int(op["port"])))
            finally:
                socks[name].settimeout(None)
        elif kind == "sendto":
            flags = 0x20000000 if op.get("fastopen") else 0  # MSG_FASTOPEN
            socks[name].sendto(b"x", flags, (op["addr"], int(op["port"])))
        elif kind == "accept":
            timeout = float(op.get("wait", 10))
            socks[name].settimeout(timeout if timeout > 0 else 0.0)
            try:
                conn, peer = socks[name].accept()
            finally:
                socks[name].settimeout(None)
            socks[op["as"]] = conn
            name = op["as"]
            res["peer"] = list(peer[:2])
        elif kind == "close":
            s = socks.pop(name)
            res.update(describe(name, s))
            s.close()
            emit(res)
            return
        elif kind == "info":
            pass
        elif kind == "reuseport_cbpf":
            # BPF_RET | BPF_K: the index of the group member that gets it
            insns = (SockFilter * 1)(SockFilter(0x06, 0, 0, int(op.get("index", 0))))
            prog = SockFprog(1, insns)
            socks[name].setsockopt(socket.SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, bytes(prog))
        elif kind == "comm":
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(15, ctypes.c_char_p(bytes.fromhex(op["hex"])), 0, 0, 0):  # PR_SET_NAME
                raise OSError(ctypes.get_errno(), "prctl(PR_SET_NAME)")
        elif kind == "sysctl":
            path = "/proc/sys/" + op["key"].replace(".", "/")
            if ".." in path:
                raise ValueError("bad key")
            with open(path, "w") as fh:
                fh.write(str(op["value"]))
        elif kind == "fork":
            pid = os.fork()
            if pid == 0:
                # The child holds copies of every socket until its parent is gone.
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                while os.getppid() == ppid:
                    time.sleep(0.1)
                os._exit(0)
            signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # no zombies to reap
            children.append(pid)
            res["child"] = pid
        elif kind == "exit":
            sys.stdout.flush()
            os._exit(int(op.get("code", 0)))
        else:
            raise ValueError("unknown op %r" % kind)
    except OSError as e:
        res["ok"] = False
        res["errno_num"] = e.errno or 0
        res["errno"] = errno.errorcode.get(e.errno, str(e.errno)) if e.errno else type(e).__name__
        res["error"] = str(e)
    except (KeyError, ValueError, TypeError) as e:
        res["ok"] = False
        res["errno"] = "EINVAL"
        res["error"] = "bad op: %r" % (e,)
    if name is not None and name in socks:
        res.update(describe(name, socks[name]))
    elif name is not None:
        res["name"] = name
    emit(res)


def on_term(signum, frame):
    for pid in children:
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
    os._exit(0)


def main():
    global ppid
    ap = argparse.ArgumentParser()
    ap.add_argument("--uid", type=int)
    ap.add_argument("--gid", type=int)
    ap.add_argument("--ops", default="[]", help="JSON array of operations to run at start")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, on_term)
    if args.uid is not None or args.gid is not None:
        gid = args.gid if args.gid is not None else args.uid
        uid = args.uid if args.uid is not None else os.getuid()
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
    ppid = os.getpid()
    for op in json.loads(args.ops):
        run(op)
    emit({"op": "ready", "ok": True, "pid": os.getpid(), "uid": os.getuid(),
          "gid": os.getgid(), "exe": os.readlink("/proc/self/exe"),
          "netns": os.stat("/proc/self/ns/net").st_ino})
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            op = json.loads(line)
        except ValueError as e:
            emit({"op": None, "ok": False, "errno": "EINVAL", "error": str(e)})
            continue
        run(op)
    on_term(None, None)


if __name__ == "__main__":
    main()
