// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * monitor_ports.c - ephemeral-port exhaustion episodes with their one
 * alert each. See monitor.h and monitor_int.h.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "monitor_int.h"
#include "proc.h"
#include "rules.h"

static struct eph_episode *eph_slot(struct pw_monitor *m, uint32_t netns)
{
	return &m->episodes[(netns * 0x9e3779b97f4a7c15ULL >> 32) % MONITOR_EPISODE_SLOTS];
}

void monitor_eph_end(struct pw_monitor *m, uint32_t netns)
{
	struct eph_episode *ep = eph_slot(m, netns);

	if (ep->netns == netns)
		ep->last_ns = 0;
}

/* ---- Ephemeral-port exhaustion ---- */

/* Per-owner counts while filling struct pw_ephemeral. */
struct eph_count {
	struct pw_monitor *m;
	struct pw_ephemeral *x;
	const struct pw_sock *c;   /* the failing socket: protocol, family, destination */
	int connect;
	struct proc_sockmap *map;  /* socket inode -> pid, when attributing; NULL else */
	struct {
		uint32_t pid, uid, count;
		char comm[PW_COMM_LEN];
		struct pw_entry sample;
	} acc[32];
	size_t nacc;
};

static void eph_count(struct eph_count *ec, const struct pw_entry *e)
{
	const struct pw_sock *s = &e->sk;
	struct pw_owner o = e->owner;
	size_t i;

	if (s->protocol != ec->c->protocol || s->lport < ec->x->lo || s->lport > ec->x->hi)
		return;
	if (ec->connect && !rules_same_remote(s, ec->c))
		return;
	ec->x->in_use++;
	if (!o.pid && ec->map && s->inode) {
		o.pid = proc_sockmap_pid(ec->map, s->inode);
		if (o.pid && proc_owner(o.pid, &o))
			o.pid = 0;
	}
	if (!o.pid)
		o.uid = s->sk_uid;
	for (i = 0; i < ec->nacc; i++)
		if (ec->acc[i].pid == o.pid && (o.pid || ec->acc[i].uid == o.uid))
			break;
	if (i == ec->nacc) {
		if (ec->nacc == sizeof(ec->acc) / sizeof(ec->acc[0]))
			return;
		ec->nacc++;
		ec->acc[i].pid = o.pid;
		ec->acc[i].uid = o.uid;
		ec->acc[i].count = 0;
		snprintf(ec->acc[i].comm, sizeof(ec->acc[i].comm), "%s", o.pid ? o.comm : "");
		ec->acc[i].sample = *e;
		ec->acc[i].sample.owner = o;
		ec->acc[i].sample.next_id = ec->acc[i].sample.next_port = NULL;
	}
	ec->acc[i].count++;
}

static int eph_count_entry(struct pw_entry *e, void *arg)
{
	eph_count(arg, e);
	return 0;
}

/*
 * Fill x for a failed connect/bind(0) of c: the range, the ports of it in
 * use toward c's destination (or at all, for a bind) and the top owners.
 * With attribute set, sockets no table entry owns are attributed through
 * one /proc scan (done once per episode). *top gets the top owner's
 * socket (owner.pid 0 when none).
 */
static void eph_fill(struct pw_monitor *m, const struct pw_sock *c, int connect, int attribute,
		     uint64_t now, struct pw_ephemeral *x, struct pw_entry *top)
{
	struct eph_count *ec = calloc(1, sizeof(*ec));
	struct rules_ports *ports = malloc(sizeof(*ports));
	const struct pw_sock *v;
	size_t n;

	memset(x, 0, sizeof(*x));
	memset(top, 0, sizeof(*top));
	if (!ec || !ports || monitor_ports(m, c->netns, ports)) {
		free(ec);
		free(ports);
		return;
	}
	x->lo = ports->lo;
	x->hi = ports->hi;
	if (connect) {
		memcpy(x->raddr, c->raddr, 16);
		x->rport = c->rport;
	}
	ec->m = m;
	ec->x = x;
	ec->c = c;
	ec->connect = connect;
	if (attribute && proc_sockmap_scan(&ec->map) < 0)
		ec->map = NULL;
	for (uint32_t p = x->lo; p <= x->hi; p++)
		table_foreach_port(m->table, c->netns, c->protocol, (uint16_t)p, eph_count_entry, ec);
	v = monitor_kernel_extra(m, c->netns, now, KCACHE_NS, &n);
	for (size_t i = 0; i < n; i++) {
		struct pw_entry e = { .sk = v[i] };

		eph_count(ec, &e);
	}
	/* the top PW_EPH_TOP owners by count */
	for (uint32_t k = 0; k < PW_EPH_TOP && k < ec->nacc; k++) {
		size_t best = k;

		for (size_t i = k + 1; i < ec->nacc; i++)
			if (ec->acc[i].count > ec->acc[best].count)
				best = i;
		if (best != k) {
			__typeof__(ec->acc[0]) t = ec->acc[k];

			ec->acc[k] = ec->acc[best];
			ec->acc[best] = t;
		}
		x->top[k].pid = ec->acc[k].pid;
		x->top[k].uid = ec->acc[k].uid;
		x->top[k].count = ec->acc[k].count;
		memcpy(x->top[k].comm, ec->acc[k].comm, sizeof(x->top[k].comm));
		x->ntop = k + 1;
	}
	if (ec->nacc)
		*top = ec->acc[0].sample;
	proc_sockmap_free(ec->map);
	free(ec);
	free(ports);
}

/*
 * A connect() or bind(port 0) found no free port: fill the conflict's
 * details, and raise one resource/ephemeral_exhausted alert per episode.
 */
void monitor_on_ephemeral(struct pw_monitor *m, struct pw_conflict *cf, enum rules_op op,
			 uint64_t now)
{
	struct eph_episode *ep = eph_slot(m, cf->contender.sk.netns);
	int new_episode = ep->netns != cf->contender.sk.netns || !ep->last_ns ||
			  now < ep->last_ns || now - ep->last_ns > MONITOR_EPISODE_QUIET_NS;
	struct pw_entry top;
	char addr[PW_ADDRSTRLEN], eb[16];

	ep->netns = cf->contender.sk.netns;
	ep->last_ns = now;
	cf->has_eph = 1;
	eph_fill(m, &cf->contender.sk, op == RULES_OP_CONNECT, new_episode, now, &cf->eph, &top);
	if (new_episode) {
		struct rules_alert ra = { "resource", "ephemeral_exhausted", RULES_SEV_WARNING };
		struct pw_alert *a;

		a = monitor_alert_new(m, &ra, &top, &cf->contender, cf->err, now);
		if (!a)
			return; /* silenced by the configuration: counted */
		a->has_eph = 1;
		a->eph = cf->eph;
		snprintf(a->message, sizeof(a->message),
			 "ephemeral_exhausted: %s %s%s%s:%u by pid %u (%s, uid %u) failed with "
			 "%s: %u ports of ip_local_port_range %u-%u in use%s; top owner pid %u "
			 "(%s, uid %u) with %u",
			 rules_op_name(op), cf->contender.sk.family == AF_INET6 ? "[" : "",
			 pw_addr_ntop(cf->contender.sk.family,
				      op == RULES_OP_CONNECT ? cf->contender.sk.raddr :
							       cf->contender.sk.laddr,
				      addr),
			 cf->contender.sk.family == AF_INET6 ? "]" : "",
			 op == RULES_OP_CONNECT ? cf->contender.sk.rport : 0,
			 cf->contender.owner.pid, cf->contender.owner.comm,
			 cf->contender.owner.uid, pw_errno_name(cf->err, eb), cf->eph.in_use,
			 cf->eph.lo, cf->eph.hi,
			 op == RULES_OP_CONNECT ? " toward that destination" : "",
			 cf->eph.ntop ? cf->eph.top[0].pid : 0,
			 cf->eph.ntop ? cf->eph.top[0].comm : "-",
			 cf->eph.ntop ? cf->eph.top[0].uid : 0,
			 cf->eph.ntop ? cf->eph.top[0].count : 0);
		monitor_alert_raise(m, a);
	}
}

