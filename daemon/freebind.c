// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* freebind.c - free binds of missing addresses, until the address comes; see freebind.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "freebind.h"
#include "ifaddr.h"
#include "log.h"
#include "pwname.h"
#include "report.h"
#include "rules.h"
#include "snap.h"

int freebind_init(struct freebind *f, struct pw_monitor *mon, struct snap *snap)
{
	memset(f, 0, sizeof(*f));
	f->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (f->epfd < 0)
		return -errno;
	f->v = calloc(FREEBIND_MAX_PENDING, sizeof(*f->v));
	if (!f->v) {
		close(f->epfd);
		return -ENOMEM;
	}
	f->mon = mon;
	f->snap = snap;
	return 0;
}

void freebind_free(struct freebind *f)
{
	if (!f->mon)
		return;
	for (size_t i = 0; i < f->nw; i++)
		close(f->w[i].fd);
	close(f->epfd);
	free(f->v);
	memset(f, 0, sizeof(*f));
}

int freebind_fd(const struct freebind *f)
{
	return f->epfd;
}

static size_t addr_len(uint16_t family)
{
	return family == AF_INET6 ? 16 : 4;
}

/* A specific address: not the family's wildcard (the only addresses a free bind matters for). */
static int specific(const struct pw_sock *sk)
{
	static const uint8_t zero[16];

	return memcmp(sk->laddr, zero, addr_len(sk->family)) != 0;
}

static struct freebind_watch *watch_of(struct freebind *f, uint32_t netns)
{
	for (size_t i = 0; i < f->nw; i++)
		if (f->w[i].netns == netns)
			return &f->w[i];
	return NULL;
}

static int pending_in(const struct freebind *f, uint32_t netns)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].netns == netns)
			return 1;
	return 0;
}

static void drop_at(struct freebind *f, size_t i)
{
	f->v[i] = f->v[--f->n];
}

/* Close the watches of namespaces that have nothing pending any more. */
static void close_idle(struct freebind *f)
{
	for (size_t i = 0; i < f->nw;) {
		if (pending_in(f, f->w[i].netns)) {
			i++;
			continue;
		}
		epoll_ctl(f->epfd, EPOLL_CTL_DEL, f->w[i].fd, NULL);
		close(f->w[i].fd);
		f->w[i] = f->w[--f->nw];
	}
}

/* freebind_message(), or with unfollowed set the limits' version (not_followed()). */
static void message(char *buf, size_t len, const struct pw_entry *holder,
		    const struct pw_entry *other, int unfollowed)
{
	const struct pw_owner *h = &holder->owner;
	char addr[64], when[32], then[PW_COMM_LEN + PW_EXE_LEN + 96];
	int v6 = holder->sk.family == AF_INET6;

	pw_addr_ntop(holder->sk.family, holder->sk.laddr, addr);
	if (unfollowed)
		snprintf(then, sizeof(then),
			 "portwatch cannot follow it (%d free binds or %d namespaces followed "
			 "already), so this is said now, before the address comes",
			 FREEBIND_MAX_PENDING, FREEBIND_MAX_WATCH);
	else if (other)
		snprintf(then, sizeof(then),
			 "now pid %u (%s, uid %u) binds it (port %u), so the address is in use",
			 other->owner.pid, other->owner.comm, other->owner.uid, other->sk.lport);
	else
		snprintf(then, sizeof(then), "the address is now configured");
	snprintf(buf, len,
		 "freebind: pid %u (%s, uid %u, %s) bound %s%s%s:%u/%s with %s at %s, before "
		 "network namespace %u had that address; %s: what is sent to port %u of it goes "
		 "to that socket",
		 h->pid, h->comm, h->uid, *pw_owner_exe(h) ? pw_owner_exe(h) : "?", v6 ? "[" : "", addr,
		 v6 ? "]" : "", holder->sk.lport, pw_proto_name(holder->sk.protocol),
		 (holder->sk.ipflags & PW_IPF_TRANSPARENT) ? "IP_TRANSPARENT" : "IP_FREEBIND",
		 pw_time_rfc3339(holder->since_ns, when), holder->sk.netns, then,
		 holder->sk.lport);
}

void freebind_message(char *buf, size_t len, const struct pw_entry *holder,
		      const struct pw_entry *other)
{
	message(buf, len, holder, other, 0);
}

/*
 * diversion/freebind (warning) for pending entry i, then drop it. The
 * holder is the free-bound socket; the contender the other program's
 * socket, or, when the address was configured, the holder itself (so that
 * an allow rule for the load balancer that binds virtual addresses ahead
 * of their failover silences it).
 */
static void report_at(struct freebind *f, size_t i, const struct pw_entry *other, uint64_t now)
{
	struct rules_alert ra = { RULES_KIND_DIVERSION, RULES_REASON_FREEBIND, RULES_SEV_WARNING };
	const struct pw_entry *h = table_lookup(f->mon->table, f->v[i].netns, f->v[i].inode);
	char msg[PW_MSG_LEN];

	if (h) {
		freebind_message(msg, sizeof(msg), h, other);
		monitor_raise(f->mon, &ra, h, other ? other : h, 0, msg, now);
		f->reported++;
	}
	drop_at(f, i);
}

/*
 * diversion/freebind at once for the free bind of e that cannot be kept
 * (the limits): counted in not_kept, and not left unsaid, or filling the
 * pending list first would hide the next free bind.
 */
static void not_followed(struct freebind *f, const struct pw_event *e)
{
	struct rules_alert ra = { RULES_KIND_DIVERSION, RULES_REASON_FREEBIND, RULES_SEV_WARNING };
	const struct pw_entry *h = table_lookup(f->mon->table, e->sk.netns, e->sk.inode);
	char msg[PW_MSG_LEN];

	f->not_kept++;
	if (!h)
		return;
	message(msg, sizeof(msg), h, NULL, 1);
	monitor_raise(f->mon, &ra, h, h, 0, msg, monitor_realtime(f->mon, e->ts_ns));
	f->reported++;
}

/* What a bind's namespace says of its address, found inside it. */
struct check_call {
	struct freebind *f;
	const struct pw_sock *sk;
	int watch_fd;           /* opened here when the namespace had none; -1 */
	enum ifaddr_verdict verdict;
};

static int check_fn(void *arg)
{
	struct check_call *c = arg;

	/* subscribe first: an address added between the check and the watch is not missed */
	if (!watch_of(c->f, c->sk->netns)) {
		c->watch_fd = ifaddr_watch_open();
		if (c->watch_fd < 0)
			return c->watch_fd;
	}
	return ifaddr_check(c->sk->family, c->sk->laddr, (int)c->sk->bound_dev_if, &c->verdict,
			    NULL, 0);
}

/* Keep the free bind of e when its namespace lacks the address. */
static void keep_if_missing(struct freebind *f, const struct pw_event *e)
{
	struct check_call c = { .f = f, .sk = &e->sk, .watch_fd = -1, .verdict = IFADDR_OK };
	struct freebind_pending *p;
	int err;

	err = f->snap ? snap_netns_call(f->snap, e->sk.netns, check_fn, &c) : check_fn(&c);
	if (err || c.verdict != IFADDR_NOT_LOCAL) {
		if (err)
			log_debug("freebind: netns %u: the address check failed: %s", e->sk.netns,
				  strerror(-err));
		if (c.watch_fd >= 0)
			close(c.watch_fd);
		return;
	}
	f->seen++;
	if (f->n == FREEBIND_MAX_PENDING ||
	    (c.watch_fd >= 0 && f->nw == FREEBIND_MAX_WATCH)) {
		if (c.watch_fd >= 0)
			close(c.watch_fd);
		not_followed(f, e);
		return;
	}
	if (c.watch_fd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = e->sk.netns };

		if (epoll_ctl(f->epfd, EPOLL_CTL_ADD, c.watch_fd, &ev)) {
			close(c.watch_fd);
			not_followed(f, e);
			return;
		}
		f->w[f->nw++] = (struct freebind_watch){ .netns = e->sk.netns, .fd = c.watch_fd };
	}
	p = &f->v[f->n++];
	*p = (struct freebind_pending){ .inode = e->sk.inode, .netns = e->sk.netns,
					.family = e->sk.family };
	memcpy(p->addr, e->sk.laddr, addr_len(e->sk.family));
}

void freebind_on_event(struct freebind *f, const struct pw_event *e)
{
	const struct pw_entry *b;
	uint64_t now;
	size_t before = f->n;
	int dropped;

	if (!f->mon || e->type != PW_EV_BIND || e->err || !e->sk.inode || !specific(&e->sk))
		return;
	b = f->n ? table_lookup(f->mon->table, e->sk.netns, e->sk.inode) : NULL;
	now = monitor_realtime(f->mon, e->ts_ns);
	for (size_t i = 0; b && i < f->n;) {
		const struct freebind_pending *p = &f->v[i];
		const struct pw_entry *h;

		if (p->netns != e->sk.netns || p->family != e->sk.family ||
		    p->inode == e->sk.inode ||
		    memcmp(p->addr, e->sk.laddr, addr_len(p->family))) {
			i++;
			continue;
		}
		h = table_lookup(f->mon->table, p->netns, p->inode);
		if (h && monitor_same_group(&h->owner, &b->owner)) {
			i++; /* the same program binding more of its addresses */
			continue;
		}
		report_at(f, i, b, now);
	}
	dropped = f->n != before; /* keep_if_missing() only adds */
	if (e->sk.ipflags & (PW_IPF_FREEBIND | PW_IPF_TRANSPARENT))
		keep_if_missing(f, e);
	/* up to FREEBIND_MAX_WATCH x FREEBIND_MAX_PENDING comparisons: not for every bind */
	if (dropped)
		close_idle(f);
}

struct added {
	struct freebind *f;
	uint32_t netns;
	uint64_t now;
};

static void on_added(int family, const uint8_t addr[16], int ifindex, void *arg)
{
	struct added *a = arg;
	struct freebind *f = a->f;

	(void)ifindex;
	for (size_t i = 0; i < f->n;) {
		const struct freebind_pending *p = &f->v[i];

		if (p->netns == a->netns && p->family == family &&
		    !memcmp(p->addr, addr, addr_len(p->family)))
			report_at(f, i, NULL, a->now);
		else
			i++;
	}
}

/* Look again at every pending address of netns (notifications were lost). */
struct recheck_call {
	struct freebind *f;
	uint32_t netns;
	uint64_t now;
};

static int recheck_fn(void *arg)
{
	struct recheck_call *c = arg;
	struct freebind *f = c->f;

	for (size_t i = 0; i < f->n;) {
		enum ifaddr_verdict v = IFADDR_NOT_LOCAL;
		struct freebind_pending *p = &f->v[i];

		if (p->netns == c->netns && !ifaddr_check(p->family, p->addr, 0, &v, NULL, 0) &&
		    v == IFADDR_OK)
			p->configured = 1; /* reported once home: alerts write to sinks */
		i++;
	}
	return 0;
}

/* Report the entries a recheck found configured. */
static void report_configured(struct freebind *f, uint64_t now)
{
	for (size_t i = 0; i < f->n;) {
		if (f->v[i].configured)
			report_at(f, i, NULL, now);
		else
			i++;
	}
}

void freebind_on_ready(struct freebind *f)
{
	struct epoll_event evs[16];
	int n = epoll_wait(f->epfd, evs, 16, 0);

	for (int i = 0; i < n; i++) {
		struct added a = { .f = f, .netns = evs[i].data.u32, .now = monitor_now() };
		struct freebind_watch *w = watch_of(f, a.netns);
		int err;

		if (!w)
			continue;
		err = ifaddr_watch_read(w->fd, on_added, &a);
		if (err == -ENOBUFS) {
			struct recheck_call c = { .f = f, .netns = a.netns, .now = a.now };

			err = f->snap ? snap_netns_call(f->snap, a.netns, recheck_fn, &c) :
					recheck_fn(&c);
			report_configured(f, a.now);
		}
		if (err)
			log_debug("freebind: netns %u: reading its addresses: %s", a.netns,
				  strerror(-err));
	}
	close_idle(f);
}

void freebind_housekeeping(struct freebind *f)
{
	for (size_t i = 0; i < f->n;) {
		if (table_lookup(f->mon->table, f->v[i].netns, f->v[i].inode))
			i++;
		else
			drop_at(f, i);
	}
	close_idle(f);
}
