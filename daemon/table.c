// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* table.c - the ownership table, see table.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "table.h"

struct pw_table {
	struct pw_entry **by_id;   /* (netns, inode) */
	struct pw_entry **by_port; /* (netns, protocol, port) */
	size_t nbuckets;           /* power of two, same for both indexes */
	size_t count;
};

/* An entry takes / drops its owner's interned records (container.h, strpool.h). */
static void owner_ref(const struct pw_owner *o)
{
	container_ref(o->ctr);
	strpool_ref(o->exe);
	strpool_ref(o->unit);
}

static void owner_unref(const struct pw_owner *o)
{
	container_unref(o->ctr);
	strpool_unref(o->exe);
	strpool_unref(o->unit);
}

void pw_owner_pin(const struct pw_owner *o, struct pw_owner_pin *p)
{
	p->ctr = o->ctr;
	p->exe = o->exe;
	p->unit = o->unit;
	owner_ref(o);
}

void pw_owner_unpin(struct pw_owner_pin *p)
{
	struct pw_owner o = { .ctr = p->ctr, .exe = p->exe, .unit = p->unit };

	owner_unref(&o);
	memset(p, 0, sizeof(*p));
}

#define TABLE_MIN_BUCKETS 1024

/* 64-bit mix (splitmix64 finaliser): cheap and spreads sequential inodes. */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static size_t id_bucket(const struct pw_table *t, uint32_t netns, uint64_t inode)
{
	return mix64(inode ^ ((uint64_t)netns << 40)) & (t->nbuckets - 1);
}

/* The port index: (protocol, port) only, see table.h. */
static size_t port_bucket(const struct pw_table *t, uint8_t proto, uint16_t port)
{
	return mix64(((uint64_t)proto << 16) | port) & (t->nbuckets - 1);
}

struct pw_table *table_new(void)
{
	struct pw_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->nbuckets = TABLE_MIN_BUCKETS;
	t->by_id = calloc(t->nbuckets, sizeof(*t->by_id));
	t->by_port = calloc(t->nbuckets, sizeof(*t->by_port));
	if (!t->by_id || !t->by_port) {
		table_free(t);
		return NULL;
	}
	return t;
}

void table_free(struct pw_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; t->by_id && i < t->nbuckets; i++) {
		struct pw_entry *e = t->by_id[i], *next;

		for (; e; e = next) {
			next = e->next_id;
			owner_unref(&e->owner);
			free(e);
		}
	}
	free(t->by_id);
	free(t->by_port);
	free(t);
}

size_t table_size(const struct pw_table *t)
{
	return t->count;
}

static void link_entry(struct pw_table *t, struct pw_entry *e)
{
	size_t i = id_bucket(t, e->sk.netns, e->sk.inode);
	size_t p = port_bucket(t, e->sk.protocol, e->sk.lport);

	e->next_id = t->by_id[i];
	t->by_id[i] = e;
	e->next_port = t->by_port[p];
	t->by_port[p] = e;
}

static void unlink_port(struct pw_table *t, struct pw_entry *e)
{
	struct pw_entry **pp = &t->by_port[port_bucket(t, e->sk.protocol, e->sk.lport)];

	for (; *pp; pp = &(*pp)->next_port)
		if (*pp == e) {
			*pp = e->next_port;
			return;
		}
}

/* Double both indexes when the load factor passes 1; keeps the old ones on ENOMEM. */
static void maybe_grow(struct pw_table *t)
{
	struct pw_entry **old = t->by_id, **nid, **nport;
	size_t oldn = t->nbuckets;

	if (t->count < t->nbuckets)
		return;
	nid = calloc(oldn * 2, sizeof(*nid));
	nport = calloc(oldn * 2, sizeof(*nport));
	if (!nid || !nport) {
		free(nid);
		free(nport);
		return;
	}
	free(t->by_port);
	t->by_id = nid;
	t->by_port = nport;
	t->nbuckets = oldn * 2;
	for (size_t i = 0; i < oldn; i++) {
		struct pw_entry *e = old[i], *next;

		for (; e; e = next) {
			next = e->next_id;
			link_entry(t, e);
		}
	}
	free(old);
}

struct pw_entry *table_lookup(const struct pw_table *t, uint32_t netns, uint64_t inode)
{
	struct pw_entry *e = t->by_id[id_bucket(t, netns, inode)];

	for (; e; e = e->next_id)
		if (e->sk.inode == inode && e->sk.netns == netns)
			return e;
	return NULL;
}

struct pw_entry *table_upsert(struct pw_table *t, const struct pw_entry *in, int keep_owner)
{
	struct pw_entry *e;

	if (!in->sk.inode) {
		errno = EINVAL;
		return NULL;
	}
	e = table_lookup(t, in->sk.netns, in->sk.inode);
	if (e) {
		table_update_sock(t, e, &in->sk);
		if (!keep_owner) {
			owner_ref(&in->owner);
			owner_unref(&e->owner);
			e->owner = in->owner;
			e->since_ns = in->since_ns;
		}
		e->seen_gen = in->seen_gen;
		return e;
	}
	e = malloc(sizeof(*e));
	if (!e)
		return NULL;
	*e = *in;
	owner_ref(&e->owner);
	link_entry(t, e);
	t->count++;
	maybe_grow(t);
	return e;
}

void table_update_sock(struct pw_table *t, struct pw_entry *e, const struct pw_sock *sk)
{
	int rehash = sk->lport != e->sk.lport || sk->protocol != e->sk.protocol;

	if (rehash)
		unlink_port(t, e);
	e->sk = *sk;
	if (rehash) {
		size_t p = port_bucket(t, e->sk.protocol, e->sk.lport);

		e->next_port = t->by_port[p];
		t->by_port[p] = e;
	}
}

int table_remove(struct pw_table *t, uint32_t netns, uint64_t inode)
{
	struct pw_entry **pp = &t->by_id[id_bucket(t, netns, inode)];

	for (; *pp; pp = &(*pp)->next_id) {
		struct pw_entry *e = *pp;

		if (e->sk.inode == inode && e->sk.netns == netns) {
			*pp = e->next_id;
			unlink_port(t, e);
			t->count--;
			owner_unref(&e->owner);
			free(e);
			return 0;
		}
	}
	return -ENOENT;
}

int table_foreach_port(const struct pw_table *t, uint32_t netns, uint8_t protocol, uint16_t port,
		       int (*fn)(struct pw_entry *e, void *arg), void *arg)
{
	struct pw_entry *e = t->by_port[port_bucket(t, protocol, port)], *next;
	int ret;

	for (; e; e = next) {
		next = e->next_port;
		if (e->sk.netns != netns || e->sk.protocol != protocol || e->sk.lport != port)
			continue;
		ret = fn(e, arg);
		if (ret)
			return ret;
	}
	return 0;
}

int table_foreach_lport(const struct pw_table *t, uint8_t protocol, uint16_t port,
			int (*fn)(struct pw_entry *e, void *arg), void *arg)
{
	struct pw_entry *e = t->by_port[port_bucket(t, protocol, port)], *next;
	int ret;

	for (; e; e = next) {
		next = e->next_port;
		if (e->sk.protocol != protocol || e->sk.lport != port)
			continue;
		ret = fn(e, arg);
		if (ret)
			return ret;
	}
	return 0;
}

int table_foreach(const struct pw_table *t, int (*fn)(struct pw_entry *e, void *arg), void *arg)
{
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct pw_entry *e = t->by_id[i], *next;

		for (; e; e = next) {
			int ret;

			next = e->next_id;
			ret = fn(e, arg);
			if (ret)
				return ret;
		}
	}
	return 0;
}

size_t table_sweep(struct pw_table *t, uint64_t gen, void (*gone)(struct pw_entry *e, void *arg),
		   void *arg)
{
	size_t removed = 0;

	for (size_t i = 0; i < t->nbuckets; i++) {
		struct pw_entry **pp = &t->by_id[i];

		while (*pp) {
			struct pw_entry *e = *pp;

			if (e->seen_gen == gen) {
				pp = &e->next_id;
				continue;
			}
			if (gone)
				gone(e, arg);
			*pp = e->next_id;
			unlink_port(t, e);
			t->count--;
			owner_unref(&e->owner);
			free(e);
			removed++;
		}
	}
	return removed;
}
