// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * monitor_ports.c - the per-port kernel state the monitor follows beyond
 * its table: the bind buckets' fast-path fields (replayed from bind and
 * listen events, rules_tb_join()) and ephemeral-port exhaustion
 * episodes with their one alert each. See monitor.h and monitor_int.h.
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

/* ---- Bind buckets: the kernel's fast-path state per (netns, TCP port) ---- */

/* How long a connected or listening socket's departure may keep its bucket: TCP_TIMEWAIT_LEN. */
#define TB_ALIVE_NS (60ULL * 1000000000ULL)

static struct tb_rec **tb_slot(const struct pw_monitor *m, uint32_t netns, uint16_t port)
{
	uint64_t h = ((uint64_t)netns * 0x9e3779b97f4a7c15ULL) ^ (port * 0xff51afd7ed558ccdULL);

	return &m->tbs[(h >> 24) % MONITOR_TB_SLOTS];
}

static struct tb_rec *tb_find(const struct pw_monitor *m, uint32_t netns, uint16_t port)
{
	struct tb_rec *r;

	if (!m->tbs)
		return NULL;
	for (r = *tb_slot(m, netns, port); r; r = r->next)
		if (r->netns == netns && r->port == port)
			return r;
	return NULL;
}

const struct rules_tb *monitor_tb(const struct pw_monitor *m, uint32_t netns, uint16_t port)
{
	struct tb_rec *r = tb_find(m, netns, port);

	return r ? &r->tb : NULL;
}

void monitor_tb_forget(struct pw_monitor *m, uint32_t netns, uint16_t port)
{
	struct tb_rec **pp;

	if (!m->tbs)
		return;
	for (pp = tb_slot(m, netns, port); *pp; pp = &(*pp)->next)
		if ((*pp)->netns == netns && (*pp)->port == port) {
			struct tb_rec *r = *pp;

			*pp = r->next;
			free(r);
			return;
		}
}

/*
 * sk joined its bucket (a bind, or a listen when listen is set). The
 * bucket is new when no other socket the table holds is on the port and
 * no departed connected or listening socket may still keep it (TIME_WAIT
 * entries, accepted children: alive_until_ns). A record made for a bucket
 * that already had sockets starts as connect()-made (-1: no fast path),
 * the state that never admits anyone the slow path refuses.
 */
void monitor_tb_join(struct pw_monitor *m, const struct pw_sock *sk, int others, int listen,
		    uint64_t now)
{
	struct tb_rec *r = tb_find(m, sk->netns, sk->lport);

	if (sk->protocol != IPPROTO_TCP || !sk->lport || !m->tbs)
		return;
	/*
	 * Sockets only the kernel knows (autobound connections, accepted
	 * children, TIME_WAIT entries) keep a bucket too: the last walk of
	 * this netns, when recent, shows those.
	 */
	int only_connect = 1; /* every such socket autobound by connect() (PW_BIND_KNOWN) */

	if (!others && m->kcache_ns && m->kcache_netns == sk->netns && now >= m->kcache_ns &&
	    now - m->kcache_ns < TB_ALIVE_NS) {
		for (size_t i = 0; i < m->kcache_n; i++) {
			const struct pw_sock *k = &m->kcache[i];

			if (k->protocol != IPPROTO_TCP || k->lport != sk->lport || k->inode == sk->inode)
				continue;
			others = 1;
			if ((k->bind_origin & (PW_BIND_KNOWN | PW_BIND_CONNECT)) !=
			    (PW_BIND_KNOWN | PW_BIND_CONNECT))
				only_connect = 0;
		}
		/* Linux 6.18+ reset the bucket to connect()-made when its last
		 * bind()-bound socket left (inet_bind_bucket_destroy()) */
		if (others && only_connect && r && !listen)
			r->tb.fastreuse = r->tb.fastreuseport = -1;
	}
	if (!r) {
		struct tb_rec **slot = tb_slot(m, sk->netns, sk->lport);

		r = calloc(1, sizeof(*r));
		if (!r)
			return;
		r->netns = sk->netns;
		r->port = sk->lport;
		r->tb.fastreuse = r->tb.fastreuseport = -1;
		r->next = *slot;
		*slot = r;
		if (!listen && !others) {
			rules_tb_join(&r->tb, 1, sk);
			return;
		}
	} else if (!listen && !others && now >= r->alive_until_ns) {
		rules_tb_join(&r->tb, 1, sk);
		return;
	}
	rules_tb_join(&r->tb, 0, sk);
}

static int count_entry(struct pw_entry *e, void *arg)
{
	(void)e;
	++*(size_t *)arg;
	return 1;
}

static int count_all(struct pw_entry *e, void *arg)
{
	(void)e;
	++*(size_t *)arg;
	return 0;
}

/*
 * A held TCP socket left its port. When it was only bound, the table has
 * no other socket there, no departed connection may keep the bucket and
 * the last walk shows no socket only the kernel knows on the port, the
 * kernel freed the bucket (inet_put_port()): forget its record, so that a
 * connect() that makes the port's next bucket is not taken for bind().
 */
void monitor_tb_left(struct pw_monitor *m, const struct pw_entry *e, uint64_t now)
{
	struct tb_rec *r = tb_find(m, e->sk.netns, e->sk.lport);
	size_t n = 0;

	if (!r || e->sk.protocol != IPPROTO_TCP || e->sk.state != PW_TCP_CLOSE ||
	    now < r->alive_until_ns)
		return;
	table_foreach_port(m->table, e->sk.netns, IPPROTO_TCP, e->sk.lport, count_all, &n);
	if (n > 1) /* e itself is still in the table */
		return;
	for (size_t i = 0; m->kcache_netns == e->sk.netns && i < m->kcache_n; i++)
		if (m->kcache[i].protocol == IPPROTO_TCP && m->kcache[i].lport == e->sk.lport &&
		    m->kcache[i].inode != e->sk.inode)
			return;
	monitor_tb_forget(m, e->sk.netns, e->sk.lport);
}

void monitor_tb_keep_alive(struct pw_monitor *m, const struct pw_sock *sk, uint64_t now)
{
	struct tb_rec *r;

	if (sk->protocol != IPPROTO_TCP)
		return;
	r = tb_find(m, sk->netns, sk->lport);
	if (r && r->alive_until_ns < now + TB_ALIVE_NS)
		r->alive_until_ns = now + TB_ALIVE_NS;
}

/* Drop the records of buckets nothing can hold any more (reconciliation). */
void monitor_tb_sweep(struct pw_monitor *m, uint64_t now)
{
	for (size_t i = 0; m->tbs && i < MONITOR_TB_SLOTS; i++) {
		struct tb_rec **pp = &m->tbs[i];

		while (*pp) {
			struct tb_rec *r = *pp;
			size_t n = 0;

			table_foreach_port(m->table, r->netns, IPPROTO_TCP, r->port, count_entry, &n);
			if (!n && now >= r->alive_until_ns) {
				*pp = r->next;
				free(r);
			} else {
				pp = &r->next;
			}
		}
	}
}

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

