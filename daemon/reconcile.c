// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * reconcile.c - make the ownership table match the kernel (monitor.h:
 * monitor_reconcile()). Used for the startup snapshot, every few seconds,
 * and after the ring buffer dropped events. Raises no alerts: it repairs.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "log.h"
#include "monitor.h"
#include "proc.h"
#include "rules.h"

struct collect {
	struct pw_sock *v;
	size_t n, cap;
};

static int collect_one(const struct pw_sock *sk, void *arg)
{
	struct collect *c = arg;

	if (!sk->inode || !sk->lport)
		return 0; /* TIME_WAIT entries and unbound sockets are not held */
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 4096;
		struct pw_sock *v = realloc(c->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n++] = *sk;
	return 0;
}

/* Order by (netns, protocol, port), LISTEN sockets first within a port. */
static int cmp_sock(const void *a, const void *b)
{
	const struct pw_sock *x = a, *y = b;

	if (x->netns != y->netns)
		return x->netns < y->netns ? -1 : 1;
	if (x->protocol != y->protocol)
		return x->protocol - y->protocol;
	if (x->lport != y->lport)
		return x->lport - y->lport;
	return (y->state == PW_TCP_LISTEN) - (x->state == PW_TCP_LISTEN);
}

/* ip_local_port_range of the daemon's netns (ip(7)); 32768-60999 when unreadable. */
static void ephemeral_range(unsigned int *lo, unsigned int *hi)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");

	*lo = 32768;
	*hi = 60999;
	if (!f)
		return;
	if (fscanf(f, "%u %u", lo, hi) != 2) {
		*lo = 32768;
		*hi = 60999;
	}
	fclose(f);
}

/*
 * Does the table hold this socket when events did not show it? Listeners,
 * bound sockets and unconnected UDP sockets, yes. A connected socket only
 * when it looks explicitly bound: not an accepted child of a listener on
 * its port (has_listener) and not on an ephemeral port.
 */
static int wanted(const struct pw_sock *sk, int has_listener, unsigned int lo, unsigned int hi)
{
	int connected = sk->protocol == IPPROTO_UDP ? sk->state == PW_TCP_ESTABLISHED :
						     sk->state != PW_TCP_LISTEN &&
							     sk->state != PW_TCP_CLOSE;

	if (!connected)
		return 1;
	if (sk->protocol == IPPROTO_TCP && has_listener)
		return 0;
	return sk->lport < lo || sk->lport > hi;
}

/*
 * What the walk could not see is kept, not swept: the entries of
 * namespaces it could not read, and TCP sockets that are bound but neither
 * listening nor connected, which iter/tcp does not list (they are only in
 * the bind hash) and whose release the kernel side still tracks.
 */
static int keep_unseen(struct pw_entry *e, void *arg)
{
	struct pw_monitor *m = arg;

	if (e->seen_gen == m->gen)
		return 0;
	if (!snap_walked(m->snap, e->sk.netns) ||
	    (e->sk.protocol == IPPROTO_TCP && e->sk.state == PW_TCP_CLOSE &&
	     monitor_is_tracked(m, e->sk.inode)))
		e->seen_gen = m->gen;
	return 0;
}

/*
 * The owners one reconciliation reads from /proc, by pid: a process that
 * holds 20,000 sockets is read once, not 20,000 times (seven syscalls a
 * read; 70k sockets took ~1 s of /proc reads before this cache).
 * Direct-mapped on the pid; a collision reads again. Lives for one
 * reconciliation only, so a process's exe or unit is never older than it.
 */
struct owner_memo {
	uint32_t pid; /* 0: empty */
	int err;      /* what proc_owner() returned for it */
	struct pw_owner owner;
};

#define OWNER_MEMO_SLOTS 256

/* proc_owner(pid) through memo (NULL: no memo, read /proc). Returns its result. */
static int memo_owner(struct owner_memo *memo, uint32_t pid, struct pw_owner *out)
{
	struct owner_memo *slot = memo ? &memo[pid % OWNER_MEMO_SLOTS] : NULL;
	int err;

	if (slot && slot->pid == pid) {
		*out = slot->owner;
		return slot->err;
	}
	err = proc_owner(pid, out);
	if (slot) {
		slot->pid = pid;
		slot->err = err;
		slot->owner = *out;
	}
	return err;
}

static int owners_add(uint64_t inode, uint32_t pid, void *arg)
{
	return proc_sockmap_add(arg, inode, pid);
}

/*
 * Who holds which socket inode: from the iter/task_file iterator (one pass
 * in the kernel), or, where it is not available or fails, from a scan of
 * every /proc/PID/fd (a readlink(2) per fd: twice as slow at 110k sockets).
 */
static int sock_owners(struct pw_monitor *m, struct proc_sockmap **out)
{
	int ret;

	if (m->snap && !proc_sockmap_new(out)) {
		ret = snap_sock_owners(m->snap, owners_add, *out);
		if (!ret)
			return 0;
		if (ret != -ENOTSUP)
			log_debug("reconcile: socket owners iterator: %s; scanning /proc",
				  strerror(-ret));
		proc_sockmap_free(*out);
		*out = NULL;
	}
	return proc_sockmap_scan(out);
}

/* A socket whose release event was lost: a listener still counts for takeovers. */
static void on_gone(struct pw_entry *e, void *arg)
{
	struct pw_monitor *m = arg;

	log_debug("reconcile: inode %llu (%s:%u) is gone", (unsigned long long)e->sk.inode,
		  e->sk.protocol == IPPROTO_UDP ? "udp" : "tcp", e->sk.lport);
	monitor_listener_gone(m, e, monitor_now());
}

int monitor_reconcile(struct pw_monitor *m)
{
	struct collect c = { 0 };
	struct proc_sockmap *map = NULL;
	struct owner_memo *memo = NULL;
	struct timespec t0, t1;
	unsigned int lo, hi;
	size_t added = 0, removed, i, j;
	int scan_failed = 0;
	uint64_t now = monitor_now();
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	m->gen++;
	ret = snap_walk(m->snap, collect_one, &c);
	if (ret < 0) {
		free(c.v);
		return ret;
	}
	m->stats.netns = ret;
	qsort(c.v, c.n, sizeof(*c.v), cmp_sock);
	ephemeral_range(&lo, &hi);

	for (i = 0; i < c.n; i = j) {
		int has_listener = c.v[i].state == PW_TCP_LISTEN;

		for (j = i; j < c.n && c.v[j].netns == c.v[i].netns &&
			    c.v[j].protocol == c.v[i].protocol && c.v[j].lport == c.v[i].lport;
		     j++) {
			const struct pw_sock *sk = &c.v[j];
			struct pw_entry *e = table_lookup(m->table, sk->netns, sk->inode);
			/* bound before we looked: its flags now stand for those at bind */
			struct pw_entry n = { .sk = *sk, .since_ns = now, .seen_gen = m->gen,
					      .udp_tail = (uint8_t)rules_udp_chain_tail(sk) };

			if (e) {
				/* sock_diag records lack the flags: keep what events said */
				if (!sk->flags_unknown)
					table_update_sock(m->table, e, sk);
				e->seen_gen = m->gen;
				monitor_name_device(m, e);
				continue;
			}
			if (!wanted(sk, has_listener, lo, hi))
				continue;
			if (!map && !scan_failed && (ret = sock_owners(m, &map)) < 0) {
				log_warnx("reconcile: scanning /proc for socket owners: %s",
					  strerror(-ret));
				scan_failed = 1;
			}
			if (!memo)
				memo = calloc(OWNER_MEMO_SLOTS, sizeof(*memo)); /* NULL: no memo */
			n.owner.pid = map ? proc_sockmap_pid(map, sk->inode) : 0;
			if (n.owner.pid && memo_owner(memo, n.owner.pid, &n.owner))
				n.owner.pid = 0;
			if (n.sk.flags_unknown && n.owner.pid &&
			    !proc_sock_flags(n.owner.pid, sk->inode, &n.sk))
				n.sk.flags_unknown = 0;
			e = table_upsert(m->table, &n, 0);
			if (!e)
				continue;
			monitor_name_device(m, e);
			monitor_track(m, sk->inode);
			added++;
		}
	}
	table_foreach(m->table, keep_unseen, m);
	removed = table_sweep(m->table, m->gen, on_gone, m);
	monitor_tb_sweep(m, now);
	proc_sockmap_free(map);
	free(memo);
	free(c.v);

	clock_gettime(CLOCK_MONOTONIC, &t1);
	m->stats.reconciliations++;
	m->stats.reconcile_added += added;
	m->stats.reconcile_removed += removed;
	m->stats.last_reconcile_ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	if (added || removed)
		log_info("reconcile: %zu sockets in %d netns, %zu added, %zu removed, %llu ms",
			 table_size(m->table), (int)m->stats.netns, added, removed,
			 (unsigned long long)m->stats.last_reconcile_ms);
	return 0;
}
