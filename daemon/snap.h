/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * snap.h - snapshots of every TCP and UDP socket of the host, in every
 * network namespace, through the BPF socket iterators of
 * bpf/snapshot.bpf.c (reuse flags and inode included).
 *
 * Network namespaces are found through /proc/[0-9]+/ns/net and the bind
 * mounts of /run/netns/ (ip-netns(8)); each distinct namespace (by inode)
 * is entered with setns(2), its iter/tcp and iter/udp iterators are read,
 * and the daemon returns to its own namespace before the call returns.
 * The daemon is single-threaded, so entering a namespace affects nothing
 * else. Needs CAP_SYS_ADMIN (setns) and CAP_BPF/CAP_PERFMON.
 */
#ifndef PORTWATCH_SNAP_H
#define PORTWATCH_SNAP_H

#include <stddef.h>
#include <stdint.h>

#include "portwatch/event.h"

struct snap;

/* Callback per socket record: return 0 to go on, non-zero to stop the walk. */
typedef int (*snap_fn)(const struct pw_sock *sk, void *arg);

/* Load the iterator programs. Returns 0 and *out, or -errno (logged by caller). */
int snap_open(struct snap **out);
/* Destroy; accepts NULL. */
void snap_close(struct snap *s);

/*
 * Walk every socket of every network namespace. Records of TIME_WAIT
 * entries are included (inode 0), and so are TCP sockets that are only
 * bound, which iter/tcp does not list: those come from sock_diag (diag.h)
 * with flags_unknown set. Returns the number of namespaces walked
 * (>= 1), or -errno when even the daemon's own namespace could not be read.
 * A namespace that vanishes mid-walk is skipped.
 */
int snap_walk(struct snap *s, snap_fn fn, void *arg);

/*
 * Walk the sockets of one namespace (by netns inode), e.g. to find the
 * TIME_WAIT entries on a port when explaining a conflict. Returns 0,
 * -ENOENT when no process or /run/netns mount holds that namespace any
 * more, or -errno.
 */
int snap_walk_netns(struct snap *s, uint32_t netns, snap_fn fn, void *arg);

/*
 * Did the last snap_walk() read the sockets of this namespace? (A namespace
 * held only by an open fd cannot be found, one can vanish mid-walk: the
 * table keeps what it knows of those rather than drop it.) Valid until the
 * next walk or snap_walk_netns().
 */
int snap_walked(const struct snap *s, uint32_t netns);

/*
 * Call fn(inode, pid, arg) for every socket file every process holds
 * (iter/task_file; struct pw_sock_owner), in no set order; a socket held
 * by several processes comes once per process. One pass over the kernel's
 * task list, no /proc reads. Returns 0, 1 when fn stopped the walk (by
 * returning non-zero), fn's negative return, or -errno (-ENOTSUP when the
 * iterator could not be attached at snap_open()).
 */
int snap_sock_owners(struct snap *s, int (*fn)(uint64_t inode, uint32_t pid, void *arg),
		     void *arg);

/*
 * The network namespaces the last snap_walk() listed: the daemon's own
 * first, then the others by inode, into out[0..max). Returns how many
 * there are (may exceed max: only max are written).
 */
size_t snap_netns_list(const struct snap *s, uint32_t *out, size_t max);

/*
 * Call fn(arg) with the daemon inside network namespace netns (by inode),
 * and come back: for what must be opened there, such as
 * /proc/sys/net/ipv4/ip_local_port_range (procfs shows the sysctls of the
 * opener's namespace) or a NETLINK_SOCK_DIAG socket (diag_open()). fn must
 * only open files or sockets: reading them can wait until home again.
 * Returns fn's value, -ENOENT when no process or /run/netns mount holds
 * netns, -ENOTRECOVERABLE when the way home failed, or -errno.
 */
int snap_netns_call(struct snap *s, uint32_t netns, int (*fn)(void *arg), void *arg);

/* Inode of the daemon's own network namespace (cached at snap_open()). */
uint32_t snap_self_netns(const struct snap *s);

#endif /* PORTWATCH_SNAP_H */
