// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* bindbucket.c - the kernel's TCP bind buckets as events show them; see bindbucket.h. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "bindbucket.h"

/*
 * The records sit in the table's array itself (open addressing, linear
 * probing): a lookup costs one cache miss, where a chain of calloc()ed
 * records cost two or more (tb_find() was a quarter of the daemon's CPU
 * under bind churn on kernel-chosen ports). netns 0 marks a free slot (a
 * namespace's inode number is never 0).
 */
struct bindbucket_rec {
	uint32_t netns;
	uint16_t port;
	uint64_t alive_until_ns; /* CLOCK_REALTIME ns: a connected or listening socket
				  * left, its TIME_WAIT entries or accepted children
				  * may keep the bucket that long */
	struct rules_tb tb;
};

int bindbucket_init(struct bindbucket_table *t)
{
	t->n = 0;
	t->over = 0;
	t->nslots = BINDBUCKET_SLOTS;
	t->slots = calloc(t->nslots, sizeof(*t->slots));
	return t->slots ? 0 : -ENOMEM;
}

void bindbucket_free(struct bindbucket_table *t)
{
	free(t->slots);
	t->slots = NULL;
	t->n = t->nslots = 0;
}

static size_t tb_hash(uint32_t netns, uint16_t port, size_t nslots)
{
	uint64_t h = ((uint64_t)netns * 0x9e3779b97f4a7c15ULL) ^ (port * 0xff51afd7ed558ccdULL);

	return (size_t)(h >> 24) & (nslots - 1);
}

/* The slot of (netns, port), or the free slot where it would go. t->slots != NULL. */
static struct bindbucket_rec *tb_probe(const struct bindbucket_table *t, uint32_t netns,
				       uint16_t port)
{
	size_t mask = t->nslots - 1, i = tb_hash(netns, port, t->nslots);

	/* the load stays under BINDBUCKET_LOAD: a free slot ends every probe */
	for (;; i = (i + 1) & mask) {
		struct bindbucket_rec *r = &t->slots[i];

		if (!r->netns || (r->netns == netns && r->port == port))
			return r;
	}
}

static struct bindbucket_rec *tb_find(const struct bindbucket_table *t, uint32_t netns,
				      uint16_t port)
{
	struct bindbucket_rec *r;

	if (!t->slots || !netns)
		return NULL;
	r = tb_probe(t, netns, port);
	return r->netns ? r : NULL;
}

/* Twice the slots, when there is memory for them: 0 or -ENOMEM. */
static int tb_grow(struct bindbucket_table *t)
{
	struct bindbucket_table g = { .nslots = t->nslots * 2, .n = t->n, .over = t->over };

	g.slots = calloc(g.nslots, sizeof(*g.slots));
	if (!g.slots)
		return -ENOMEM;
	for (size_t i = 0; i < t->nslots; i++)
		if (t->slots[i].netns)
			*tb_probe(&g, t->slots[i].netns, t->slots[i].port) = t->slots[i];
	free(t->slots);
	*t = g;
	return 0;
}

/*
 * Empty slot r and close the gap it leaves in the probe sequences that
 * ran through it (backward-shift deletion, Knuth's Algorithm R).
 */
static void tb_delete(struct bindbucket_table *t, struct bindbucket_rec *r)
{
	size_t mask = t->nslots - 1, i = (size_t)(r - t->slots), j = i;

	for (;;) {
		struct bindbucket_rec *x;
		size_t home;

		j = (j + 1) & mask;
		x = &t->slots[j];
		if (!x->netns)
			break;
		home = tb_hash(x->netns, x->port, t->nslots);
		/* x may move back to i unless its home lies cyclically in (i, j] */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		t->slots[i] = *x;
		i = j;
	}
	memset(&t->slots[i], 0, sizeof(t->slots[i]));
	t->n--;
}

const struct rules_tb *bindbucket_get(const struct bindbucket_table *t, uint32_t netns,
				      uint16_t port)
{
	struct bindbucket_rec *r = tb_find(t, netns, port);

	return r ? &r->tb : NULL;
}

void bindbucket_forget(struct bindbucket_table *t, uint32_t netns, uint16_t port)
{
	struct bindbucket_rec *r = tb_find(t, netns, port);

	if (r)
		tb_delete(t, r);
}

void bindbucket_join(struct bindbucket_table *t, const struct pw_sock *sk, int others,
		     int listen, const struct bindbucket_walk *w, uint64_t now)
{
	struct bindbucket_rec *r = tb_find(t, sk->netns, sk->lport);

	if (sk->protocol != IPPROTO_TCP || !sk->lport || !sk->netns || !t->slots)
		return;
	/*
	 * Sockets only the kernel knows (autobound connections, accepted
	 * children, TIME_WAIT entries) keep a bucket too: the last walk of
	 * this netns, when recent, shows those.
	 */
	int only_connect = 1; /* every such socket autobound by connect() (PW_BIND_KNOWN) */

	if (!others && w && w->time_ns && w->netns == sk->netns && now >= w->time_ns &&
	    now - w->time_ns < BINDBUCKET_ALIVE_NS) {
		for (size_t i = 0; i < w->n; i++) {
			const struct pw_sock *k = &w->socks[i];

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
		/* grow past 3/4 full; when that fails, go on while one slot stays
		 * free (it ends every probe) */
		if (t->n + 1 > t->nslots / 4 * 3)
			(void)tb_grow(t);
		if (t->n >= BINDBUCKET_MAX || t->n + 1 >= t->nslots) {
			t->over++;
			return;
		}
		r = tb_probe(t, sk->netns, sk->lport);
		memset(r, 0, sizeof(*r));
		t->n++;
		r->netns = sk->netns;
		r->port = sk->lport;
		r->tb.fastreuse = r->tb.fastreuseport = -1;
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

/* table_foreach_port() callbacks: count every entry / stop at the first. */
static int count_all(struct pw_entry *e, void *arg)
{
	(void)e;
	++*(size_t *)arg;
	return 0;
}

static int count_first(struct pw_entry *e, void *arg)
{
	(void)e;
	++*(size_t *)arg;
	return 1;
}

void bindbucket_left(struct bindbucket_table *t, const struct pw_table *table,
		     const struct pw_entry *e, const struct bindbucket_walk *w, uint64_t now)
{
	struct bindbucket_rec *r = tb_find(t, e->sk.netns, e->sk.lport);
	size_t n = 0;

	if (!r || e->sk.protocol != IPPROTO_TCP || e->sk.state != PW_TCP_CLOSE ||
	    now < r->alive_until_ns)
		return;
	table_foreach_port(table, e->sk.netns, IPPROTO_TCP, e->sk.lport, count_all, &n);
	if (n > 1) /* e itself is still in the table */
		return;
	for (size_t i = 0; w && w->netns == e->sk.netns && i < w->n; i++)
		if (w->socks[i].protocol == IPPROTO_TCP && w->socks[i].lport == e->sk.lport &&
		    w->socks[i].inode != e->sk.inode)
			return;
	bindbucket_forget(t, e->sk.netns, e->sk.lport);
}

void bindbucket_keep_alive(struct bindbucket_table *t, const struct pw_sock *sk, uint64_t now)
{
	struct bindbucket_rec *r;

	if (sk->protocol != IPPROTO_TCP)
		return;
	r = tb_find(t, sk->netns, sk->lport);
	if (r && r->alive_until_ns < now + BINDBUCKET_ALIVE_NS)
		r->alive_until_ns = now + BINDBUCKET_ALIVE_NS;
}

void bindbucket_sweep(struct bindbucket_table *t, const struct pw_table *table, uint64_t now)
{
	/* a deletion shifts a later record of the run into slot i: slot i is
	 * looked at again after one (records only move back into the hole,
	 * so none is skipped; one from a run that wraps round may be looked
	 * at twice, which decides the same) */
	for (size_t i = 0; t->slots && i < t->nslots;) {
		struct bindbucket_rec *r = &t->slots[i];
		size_t n = 0;

		if (!r->netns) {
			i++;
			continue;
		}
		table_foreach_port(table, r->netns, IPPROTO_TCP, r->port, count_first, &n);
		if (!n && now >= r->alive_until_ns)
			tb_delete(t, r);
		else
			i++;
	}
}
