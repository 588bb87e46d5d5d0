"""A packet sniffer for the end-to-end tests: a raw or AF_PACKET socket with
a classic BPF filter attached (SO_ATTACH_FILTER), as BPFDoor-like programs
make. Usage: sniffer.py raw|packet PROGRAM [NEXT], where PROGRAM is what
`tcpdump -ddd EXPR` prints (a count, then code jt jf k per instruction).
Prints {"pid", "inode"} once the filter is attached, attaches it a second
time (or NEXT, when given) on "again" from stdin, and exits when stdin
closes."""
import ctypes
import json
import os
import socket
import struct
import sys

SO_ATTACH_FILTER = 26
ETH_P_ALL = 0x0003


def fprog(text):
    nums = [int(x) for x in text.split()]
    n, ins = nums[0], nums[1:]
    assert len(ins) == 4 * n, "truncated program"
    raw = b"".join(struct.pack("HBBI", *ins[4 * i:4 * i + 4]) for i in range(n))
    buf = ctypes.create_string_buffer(raw, len(raw))
    # struct sock_fprog { unsigned short len; struct sock_filter *filter; }
    return buf, struct.pack("HxxxxxxQ", n, ctypes.addressof(buf))


def main():
    kind, text = sys.argv[1], sys.argv[2]
    if kind == "raw":
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    else:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    buf, prog = fprog(text)
    nbuf, nprog = fprog(sys.argv[3]) if len(sys.argv) > 3 else (buf, prog)
    s.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, prog)
    print(json.dumps({"pid": os.getpid(), "inode": os.fstat(s.fileno()).st_ino}), flush=True)
    for line in sys.stdin:
        if line.strip() == "again":
            s.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, nprog)
            print("ok", flush=True)
    del buf, nbuf
    s.close()


if __name__ == "__main__":
    main()
