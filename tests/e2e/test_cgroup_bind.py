"""Issue 18: a cgroup/bind4 or bind6 BPF program attached for the caller's
cgroup runs before bind(2) (inet_bind(): BPF_CGROUP_RUN_PROG_INET_BIND_LOCK)
and decides for itself - systemd's SocketBindDeny= is one. `check` cannot
know what such a program answers, so it must never say "would succeed":
the answer is `uncertain`, rule cgroup_program, naming the program. Here a
real program that refuses every bind (it returns 0) is loaded with the
bpf(2) system call and attached to a fresh cgroup holding a real process."""
import ctypes
import os

import pytest

from pwe2e import ctl_check, enter_cgroup

PORT = 7480

# bpf(2) commands, program and attach types (include/uapi/linux/bpf.h)
BPF_PROG_LOAD, BPF_PROG_ATTACH, BPF_PROG_DETACH = 5, 8, 9
BPF_PROG_TYPE_CGROUP_SOCK_ADDR = 18
BPF_CGROUP_INET4_BIND = 8
SYS_BPF = 321  # x86_64

libc = ctypes.CDLL(None, use_errno=True)


class LoadAttr(ctypes.Structure):
    _fields_ = [("prog_type", ctypes.c_uint32), ("insn_cnt", ctypes.c_uint32),
                ("insns", ctypes.c_uint64), ("license", ctypes.c_uint64),
                ("log_level", ctypes.c_uint32), ("log_size", ctypes.c_uint32),
                ("log_buf", ctypes.c_uint64), ("kern_version", ctypes.c_uint32),
                ("prog_flags", ctypes.c_uint32), ("prog_name", ctypes.c_char * 16),
                ("prog_ifindex", ctypes.c_uint32),
                ("expected_attach_type", ctypes.c_uint32), ("pad", ctypes.c_uint8 * 64)]


class AttachAttr(ctypes.Structure):
    _fields_ = [("target_fd", ctypes.c_uint32), ("attach_bpf_fd", ctypes.c_uint32),
                ("attach_type", ctypes.c_uint32), ("attach_flags", ctypes.c_uint32),
                ("pad", ctypes.c_uint8 * 32)]


def bpf(cmd, attr):
    r = libc.syscall(SYS_BPF, cmd, ctypes.byref(attr), ctypes.sizeof(attr))
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return r


def load_deny_bind4():
    """A cgroup/bind4 program: r0 = 0; exit (refuse: EPERM). Its fd."""
    insns = (ctypes.c_uint64 * 2)(0x00000000000000b7, 0x0000000000000095)  # mov r0,0; exit
    lic = ctypes.create_string_buffer(b"GPL")
    attr = LoadAttr(prog_type=BPF_PROG_TYPE_CGROUP_SOCK_ADDR, insn_cnt=2,
                    insns=ctypes.addressof(insns), license=ctypes.addressof(lic),
                    prog_name=b"pwt_deny_bind",
                    expected_attach_type=BPF_CGROUP_INET4_BIND)
    return bpf(BPF_PROG_LOAD, attr)


@pytest.fixture
def denying_cgroup(unit_cgroup):
    """A fresh cgroup with the deny program attached; detached at teardown."""
    _, path = unit_cgroup()
    prog = load_deny_bind4()
    cg = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    bpf(BPF_PROG_ATTACH, AttachAttr(target_fd=cg, attach_bpf_fd=prog,
                                    attach_type=BPF_CGROUP_INET4_BIND))
    yield path
    try:
        bpf(BPF_PROG_DETACH, AttachAttr(target_fd=cg, attach_bpf_fd=prog,
                                        attach_type=BPF_CGROUP_INET4_BIND))
    finally:
        os.close(cg)
        os.close(prog)


def test_a_bind_program_makes_the_answer_uncertain(daemon, denying_cgroup, actors):
    a = actors(uid=0)
    enter_cgroup(denying_cgroup, a.pid)
    status, p = ctl_check(daemon, "tcp", "127.0.0.1:%d" % PORT, "--pid", str(a.pid))
    assert status == 1 and p["uncertain"] is True, p
    assert p["rule"] == "cgroup_program" and p["errno_name"] == "EPERM", p
    assert "pwt_deny_bind" in p["advice"], p["advice"]
    # the kernel runs it: the bind is refused
    a.socket("s")
    assert a.bind("s", "127.0.0.1", PORT)["errno"] == "EPERM"
    # IPv6 has its own hook, which nothing uses here
    status, p = ctl_check(daemon, "tcp", "[::1]:%d" % PORT, "--pid", str(a.pid))
    assert status == 0 and not p["uncertain"], p
    # a process outside that cgroup: no program, a sure answer
    b = actors(uid=0)
    status, p = ctl_check(daemon, "tcp", "127.0.0.1:%d" % PORT, "--pid", str(b.pid))
    assert status == 0 and not p["uncertain"], p
    b.socket("s")
    assert b.bind("s", "127.0.0.1", PORT)["ok"]
