// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* bindbucket.c - the kernel's TCP bind buckets as events show them; see bindbucket.h. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>

#include "bindbucket.h"

struct bindbucket_rec {
	struct bindbucket_rec *next;
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
	t->nslots = BINDBUCKET_SLOTS;
	t->slots = calloc(t->nslots, sizeof(*t->slots));
	return t->slots ? 0 : -ENOMEM;
}

void bindbucket_free(struct bindbucket_table *t)
{
	for (size_t i = 0; t->slots && i < t->nslots; i++)
		while (t->slots[i]) {
			struct bindbucket_rec *r = t->slots[i];

			t->slots[i] = r->next;
			free(r);
		}
	free(t->slots);
	t->slots = NULL;
	t->n = t->nslots = 0;
}

static size_t tb_hash(uint32_t netns, uint16_t port, size_t nslots)
{
	uint64_t h = ((uint64_t)netns * 0x9e3779b97f4a7c15ULL) ^ (port * 0xff51afd7ed558ccdULL);

	return (size_t)(h >> 24) & (nslots - 1);
}

static struct bindbucket_rec **tb_slot(const struct bindbucket_table *t, uint32_t netns,
				       uint16_t port)
{
	return &t->slots[tb_hash(netns, port, t->nslots)];
}

/* Twice the chains, when there is memory for them (else the chains just grow longer). */
static void tb_grow(struct bindbucket_table *t)
{
	size_t nslots = t->nslots * 2;
	struct bindbucket_rec **slots = calloc(nslots, sizeof(*slots));

	if (!slots)
		return;
	for (size_t i = 0; i < t->nslots; i++)
		while (t->slots[i]) {
			struct bindbucket_rec *r = t->slots[i];
			struct bindbucket_rec **to = &slots[tb_hash(r->netns, r->port, nslots)];

			t->slots[i] = r->next;
			r->next = *to;
			*to = r;
		}
	free(t->slots);
	t->slots = slots;
	t->nslots = nslots;
}

static struct bindbucket_rec *tb_find(const struct bindbucket_table *t, uint32_t netns,
				      uint16_t port)
{
	struct bindbucket_rec *r;

	if (!t->slots)
		return NULL;
	for (r = *tb_slot(t, netns, port); r; r = r->next)
		if (r->netns == netns && r->port == port)
			return r;
	return NULL;
}

const struct rules_tb *bindbucket_get(const struct bindbucket_table *t, uint32_t netns,
				      uint16_t port)
{
	struct bindbucket_rec *r = tb_find(t, netns, port);

	return r ? &r->tb : NULL;
}

void bindbucket_forget(struct bindbucket_table *t, uint32_t netns, uint16_t port)
{
	struct bindbucket_rec **pp;

	if (!t->slots)
		return;
	for (pp = tb_slot(t, netns, port); *pp; pp = &(*pp)->next)
		if ((*pp)->netns == netns && (*pp)->port == port) {
			struct bindbucket_rec *r = *pp;

			*pp = r->next;
			free(r);
			t->n--;
			return;
		}
}

void bindbucket_join(struct bindbucket_table *t, const struct pw_sock *sk, int others,
		     int listen, const struct bindbucket_walk *w, uint64_t now)
{
	struct bindbucket_rec *r = tb_find(t, sk->netns, sk->lport);

	if (sk->protocol != IPPROTO_TCP || !sk->lport || !t->slots)
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
		struct bindbucket_rec **slot = tb_slot(t, sk->netns, sk->lport);

		if (t->n >= BINDBUCKET_MAX) {
			t->over++;
			return;
		}
		if (t->n >= 2 * t->nslots) {
			tb_grow(t);
			slot = tb_slot(t, sk->netns, sk->lport);
		}
		r = calloc(1, sizeof(*r));
		if (!r)
			return;
		t->n++;
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
	for (size_t i = 0; t->slots && i < t->nslots; i++) {
		struct bindbucket_rec **pp = &t->slots[i];

		while (*pp) {
			struct bindbucket_rec *r = *pp;
			size_t n = 0;

			table_foreach_port(table, r->netns, IPPROTO_TCP, r->port, count_first, &n);
			if (!n && now >= r->alive_until_ns) {
				*pp = r->next;
				free(r);
				t->n--;
			} else {
				pp = &r->next;
			}
		}
	}
}
