// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* ephemeral.c - ephemeral-port exhaustion episodes and their details; see ephemeral.h. */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "ephemeral.h"
#include "proc.h"
#include "pwname.h"

static struct ephemeral_episode *episode_slot(struct ephemeral_episodes *t, uint32_t netns)
{
	return &t->slot[(netns * 0x9e3779b97f4a7c15ULL >> 32) % EPHEMERAL_SLOTS];
}

void ephemeral_end(struct ephemeral_episodes *t, uint32_t netns)
{
	struct ephemeral_episode *ep = episode_slot(t, netns);

	if (ep->netns == netns)
		ep->last_ns = 0;
}

/* Per-owner counts while filling struct pw_ephemeral. */
struct eph_count {
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
static void eph_fill(const struct pw_sock *c, int connect, int attribute,
		     const struct rules_ports *ports, const struct pw_table *table,
		     const struct pw_sock *extra, size_t nextra, struct pw_ephemeral *x,
		     struct pw_entry *top)
{
	struct eph_count *ec = calloc(1, sizeof(*ec));

	memset(x, 0, sizeof(*x));
	memset(top, 0, sizeof(*top));
	if (!ec || !ports) {
		free(ec);
		return;
	}
	x->lo = ports->lo;
	x->hi = ports->hi;
	if (connect) {
		memcpy(x->raddr, c->raddr, 16);
		x->rport = c->rport;
	}
	ec->x = x;
	ec->c = c;
	ec->connect = connect;
	if (attribute && proc_sockmap_scan(&ec->map) < 0)
		ec->map = NULL;
	for (uint32_t p = x->lo; p <= x->hi; p++)
		table_foreach_port(table, c->netns, c->protocol, (uint16_t)p, eph_count_entry, ec);
	for (size_t i = 0; i < nextra; i++) {
		struct pw_entry e = { .sk = extra[i] };

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
}

int ephemeral_conflict(struct ephemeral_episodes *t, struct pw_conflict *cf, enum rules_op op,
		       const struct rules_ports *ports, const struct pw_table *table,
		       const struct pw_sock *extra, size_t nextra, uint64_t now,
		       struct pw_entry *top)
{
	uint32_t netns = cf->contender.sk.netns;
	struct ephemeral_episode *ep = episode_slot(t, netns);
	int new_episode = ep->netns != netns || !ep->last_ns || now < ep->last_ns ||
			  now - ep->last_ns > EPHEMERAL_QUIET_NS;

	ep->netns = netns;
	ep->last_ns = now;
	cf->has_eph = 1;
	eph_fill(&cf->contender.sk, op == RULES_OP_CONNECT, new_episode, ports, table, extra,
		 nextra, &cf->eph, top);
	return new_episode;
}

void ephemeral_message(char *buf, size_t len, const struct pw_conflict *cf, enum rules_op op)
{
	const struct pw_entry *c = &cf->contender;
	const struct pw_ephemeral *x = &cf->eph;
	char addr[PW_ADDRSTRLEN], eb[16];

	snprintf(buf, len,
		 "ephemeral_exhausted: %s %s%s%s:%u by pid %u (%s, uid %u) failed with "
		 "%s: %u ports of ip_local_port_range %u-%u in use%s; top owner pid %u "
		 "(%s, uid %u) with %u",
		 rules_op_name(op), c->sk.family == AF_INET6 ? "[" : "",
		 pw_addr_ntop(c->sk.family, op == RULES_OP_CONNECT ? c->sk.raddr : c->sk.laddr,
			      addr),
		 c->sk.family == AF_INET6 ? "]" : "", op == RULES_OP_CONNECT ? c->sk.rport : 0,
		 c->owner.pid, c->owner.comm, c->owner.uid, pw_errno_name(cf->err, eb), x->in_use,
		 x->lo, x->hi, op == RULES_OP_CONNECT ? " toward that destination" : "",
		 x->ntop ? x->top[0].pid : 0, x->ntop ? x->top[0].comm : "-",
		 x->ntop ? x->top[0].uid : 0, x->ntop ? x->top[0].count : 0);
}
