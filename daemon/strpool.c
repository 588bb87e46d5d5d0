// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* strpool.c - interned strings with generation handles; see strpool.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "strpool.h"

#define NIL UINT32_MAX
#define IDX_BITS 22 /* 4M strings; the rest of a handle is the generation */
#define IDX_MASK ((1u << IDX_BITS) - 1)
#define GEN_MASK ((1u << (32 - IDX_BITS)) - 1)
#define MAX_RECS (IDX_MASK - 1)

struct rec {
	char *s;           /* owned; NULL when the slot is free */
	uint32_t hash;
	uint32_t next;     /* bucket chain, or free list */
	uint32_t refs;
	uint32_t gen;      /* generation of the slot's current string */
	uint64_t idle_seq; /* when it was last queued as unheld */
};

struct kept {
	uint32_t idx;
	uint64_t seq;
};

static struct {
	struct rec *recs;
	uint32_t nrecs, cap, count, free_head;
	uint32_t *buckets;
	uint32_t nbuckets; /* power of two */
	struct kept kept[STRPOOL_KEEP]; /* ring of unheld strings, oldest first */
	uint32_t kept_head, kept_len;
	uint64_t seq;
} pool = { .free_head = NIL };

/* FNV-1a, 32 bits. */
static uint32_t str_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static struct rec *resolve(uint32_t h)
{
	uint32_t idx = (h & IDX_MASK) - 1;

	if ((h & IDX_MASK) == 0 || idx >= pool.nrecs || !pool.recs[idx].s ||
	    pool.recs[idx].gen != h >> IDX_BITS)
		return NULL;
	return &pool.recs[idx];
}

static uint32_t handle(uint32_t idx)
{
	return (idx + 1) | pool.recs[idx].gen << IDX_BITS;
}

/* Free a string nothing holds: its slot gets the next generation. */
static void free_rec(uint32_t idx)
{
	struct rec *r = &pool.recs[idx];
	uint32_t *pp = &pool.buckets[r->hash & (pool.nbuckets - 1)];

	while (*pp != idx)
		pp = &pool.recs[*pp].next;
	*pp = r->next;
	free(r->s);
	r->s = NULL;
	r->gen = (r->gen + 1) & GEN_MASK;
	r->next = pool.free_head;
	pool.free_head = idx;
	pool.count--;
}

/* idx has no holder now: keep it among the last STRPOOL_KEEP such, freeing the oldest. */
static void keep(uint32_t idx)
{
	struct kept *k;

	if (pool.kept_len == STRPOOL_KEEP) {
		struct rec *r;

		k = &pool.kept[pool.kept_head];
		pool.kept_head = (pool.kept_head + 1) % STRPOOL_KEEP;
		pool.kept_len--;
		r = &pool.recs[k->idx];
		/* still unheld since it was queued (not taken and dropped again since) */
		if (r->s && !r->refs && r->idle_seq == k->seq)
			free_rec(k->idx);
	}
	k = &pool.kept[(pool.kept_head + pool.kept_len++) % STRPOOL_KEEP];
	k->idx = idx;
	k->seq = pool.recs[idx].idle_seq = ++pool.seq;
}

static int grow_buckets(void)
{
	uint32_t n = pool.nbuckets ? pool.nbuckets * 2 : 256, *b;

	b = malloc(n * sizeof(*b));
	if (!b)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		b[i] = NIL;
	for (uint32_t i = 0; i < pool.nrecs; i++) {
		struct rec *r = &pool.recs[i];

		if (!r->s)
			continue;
		r->next = b[r->hash & (n - 1)];
		b[r->hash & (n - 1)] = i;
	}
	free(pool.buckets);
	pool.buckets = b;
	pool.nbuckets = n;
	return 0;
}

/* A free slot index, or NIL on ENOMEM / when MAX_RECS are in use. */
static uint32_t alloc_rec(void)
{
	uint32_t idx;

	if (pool.free_head != NIL) {
		idx = pool.free_head;
		pool.free_head = pool.recs[idx].next;
		return idx;
	}
	if (pool.nrecs == pool.cap) {
		uint32_t ncap = pool.cap ? pool.cap * 2 : 64;
		struct rec *nr;

		if (pool.cap >= MAX_RECS)
			return NIL;
		if (ncap > MAX_RECS)
			ncap = MAX_RECS;
		nr = realloc(pool.recs, ncap * sizeof(*nr));
		if (!nr)
			return NIL;
		pool.recs = nr;
		pool.cap = ncap;
	}
	pool.recs[pool.nrecs].gen = 0;
	pool.recs[pool.nrecs].s = NULL;
	return pool.nrecs++;
}

uint32_t strpool_intern(const char *s)
{
	uint32_t hash, idx;
	struct rec *r;
	char *copy;

	if (!s || !s[0])
		return 0;
	if (pool.count >= pool.nbuckets && grow_buckets())
		return 0;
	hash = str_hash(s);
	for (idx = pool.buckets[hash & (pool.nbuckets - 1)]; idx != NIL; idx = pool.recs[idx].next)
		if (pool.recs[idx].hash == hash && !strcmp(pool.recs[idx].s, s))
			return handle(idx);
	copy = strdup(s);
	if (!copy)
		return 0;
	idx = alloc_rec();
	if (idx == NIL) {
		free(copy);
		return 0;
	}
	r = &pool.recs[idx];
	r->s = copy;
	r->hash = hash;
	r->refs = 0;
	r->next = pool.buckets[hash & (pool.nbuckets - 1)];
	pool.buckets[hash & (pool.nbuckets - 1)] = idx;
	pool.count++;
	keep(idx); /* unheld until a holder takes it */
	return handle(idx);
}

const char *strpool_get(uint32_t h)
{
	struct rec *r = resolve(h);

	return r ? r->s : "";
}

void strpool_ref(uint32_t h)
{
	struct rec *r = resolve(h);

	if (r)
		r->refs++;
}

void strpool_unref(uint32_t h)
{
	struct rec *r = resolve(h);

	if (r && r->refs && !--r->refs)
		keep(r - pool.recs);
}

size_t strpool_count(void)
{
	return pool.count;
}

void strpool_free(void)
{
	for (uint32_t i = 0; i < pool.nrecs; i++)
		free(pool.recs[i].s);
	free(pool.recs);
	free(pool.buckets);
	memset(&pool, 0, sizeof(pool));
	pool.free_head = NIL;
}
