/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * proc.h - attribution of sockets to processes through /proc (proc(5)).
 *
 * Nothing here is on the per-event hot path except proc_owner(), which
 * reads three small files of one process.
 */
#ifndef PORTWATCH_PROC_H
#define PORTWATCH_PROC_H

#include <stddef.h>
#include <stdint.h>

#include "table.h"

/*
 * Fill *out for process pid: comm (/proc/PID/comm), exe (readlink of
 * /proc/PID/exe, "" when unreadable, e.g. kernel threads), uid (the real
 * uid, first field of "Uid:" in /proc/PID/status), unit (see
 * proc_unit_from_cgroup(), "" when none), ctr (the container and pod of
 * the cgroup v2 path, interned: container.h; 0 when none). out->pid = pid.
 * Returns 0, or -errno (-ENOENT/-ESRCH when the process is gone).
 * A comm already set in *out (non-empty) is kept: the event's comm is the
 * one at bind time.
 */
int proc_owner(uint32_t pid, struct pw_owner *out);

/*
 * The systemd unit a process belongs to, from the text of /proc/PID/cgroup
 * (cgroup v2 line "0::/system.slice/nginx.service" or the v1
 * "N:name=systemd:/..." line): the last path component that ends in
 * ".service", ".scope", ".socket" or ".mount" (for
 * "/user.slice/user-0.slice/session-3.scope" that is "session-3.scope";
 * for ".../nginx.service/worker" it is "nginx.service"). Writes "" and
 * returns -ENOENT when there is none. unit is always NUL-terminated.
 * Pure: no I/O. Returns 0 or -ENOENT.
 */
int proc_unit_from_cgroup(const char *cgroup_text, char *unit, size_t len);

/*
 * The cgroup v2 path of process pid ("/system.slice/nginx.service"), from
 * the "0::" line of /proc/PID/cgroup. Returns 0, -ENOENT when there is
 * no such line, or -errno (the process is gone).
 */
int proc_cgroup_path(uint32_t pid, char *path, size_t len);

/*
 * Call fn(procfd, pid, arg) for every process in /proc (procfd: an fd of
 * the /proc directory, for *at() calls relative to "PID/..."). fn returns
 * 0 to go on, non-zero to stop: that value is returned. Returns 0, the
 * stopping value, or -errno when /proc cannot be read.
 */
int proc_foreach_pid(int (*fn)(int procfd, uint32_t pid, void *arg), void *arg);

/*
 * A map from socket inode to the lowest pid that holds an fd on it,
 * built by one scan of /proc/[0-9]+/fd/ (readlink "socket:[INODE]").
 * Processes that vanish during the scan are skipped.
 */
struct proc_sockmap;

/* Scan /proc now. Returns 0 and *out (caller frees), or -errno. */
int proc_sockmap_scan(struct proc_sockmap **out);
/* An empty map, to fill with proc_sockmap_add(). 0 and *out (caller frees), or -ENOMEM. */
int proc_sockmap_new(struct proc_sockmap **out);
/* Record that pid holds inode (the lowest pid is kept). 0 or -ENOMEM. */
int proc_sockmap_add(struct proc_sockmap *m, uint64_t inode, uint32_t pid);
/* The pid holding inode, or 0 when no process holds it. */
uint32_t proc_sockmap_pid(const struct proc_sockmap *m, uint64_t inode);
/* Number of socket inodes found. */
size_t proc_sockmap_size(const struct proc_sockmap *m);
/* Free; accepts NULL. */
void proc_sockmap_free(struct proc_sockmap *m);

/*
 * Read the reuse flags of another process's socket: find the fd of pid
 * that is socket inode `inode` (/proc/PID/fd), duplicate it into this
 * process with pidfd_getfd(2) (needs CAP_SYS_PTRACE, or ptrace rights over
 * pid) and getsockopt(2) SO_REUSEADDR, SO_REUSEPORT and, for AF_INET6,
 * IPV6_V6ONLY into sk (reuseaddr/reuseport/v6only); the copy is closed.
 * For what sock_diag does not report. Returns 0, -ENOENT when pid holds
 * no such socket any more, or -errno.
 */
int proc_sock_flags(uint32_t pid, uint64_t inode, struct pw_sock *sk);

/*
 * Read the socket filter of another process's socket: find pid's fd that
 * is socket inode `inode` (fd_hint first when >= 0, then /proc/PID/fd),
 * copy it with pidfd_getfd(2) and getsockopt(SOL_SOCKET, SO_GET_FILTER)
 * into prog (cap instructions of struct sock_filter; sk_get_filter() in
 * net/core/filter.c: optlen counts instructions, not bytes). *fd_out (when
 * not NULL) gets the fd number found. Returns the number of instructions
 * of a classic program (<= cap), 0 when the socket has no filter, -EACCES
 * when it has an eBPF one (SO_ATTACH_BPF: no original program to give),
 * -EINVAL when the program is longer than cap, -ENOENT when pid holds no
 * such socket any more, or another -errno.
 */
struct sock_filter;
int proc_sock_filter(uint32_t pid, uint64_t inode, int fd_hint, struct sock_filter *prog,
		     unsigned int cap, int *fd_out);

/* Does pid's fd still hold socket inode? 1 yes, 0 no (closed, reused, process gone). */
int proc_fd_is_socket(uint32_t pid, int fd, uint64_t inode);

#endif /* PORTWATCH_PROC_H */
