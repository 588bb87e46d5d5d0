"""Issue 11: the programs that read the socket behind an fd come in two
sets, bpf_rdonly_cast() (Linux 6.2+) and probe reads (older kernels);
`stats` says which one runs. `make test` runs the end-to-end suites of
alerts, owners, conflicts and autobound holders a second time with
PORTWATCH_PROBE_READ=1, which forces the probe-read set, so that both sets
are proven on this kernel; the kernel matrix (tests/kernels/) proves the
probe-read one where it is the only one."""
import os


def test_stats_names_the_fd_read_in_use(daemon):
    k = daemon.stats()["kernel"]
    forced = bool(os.environ.get("PORTWATCH_PROBE_READ"))
    with open("/sys/kernel/btf/vmlinux", "rb") as fh:
        has_kfunc = b"\0bpf_rdonly_cast\0" in fh.read()
    if forced or not has_kfunc:
        assert k["fd_to_socket"].startswith("bpf_probe_read_kernel"), k
    else:
        assert k["fd_to_socket"] == "bpf_rdonly_cast", k
    hooks = daemon.stats()["hooks"]
    for h in ("tracepoint/syscalls/sys_exit_bind", "tracepoint/syscalls/sys_exit_listen",
              "tracepoint/syscalls/sys_exit_connect", "tracepoint/syscalls/sys_exit_setsockopt",
              "tracepoint/syscalls/sys_enter_connect", "cgroup/sock_release"):
        assert hooks.count(h) == 1, hooks  # one set, never both twins
