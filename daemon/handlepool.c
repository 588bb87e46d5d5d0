// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* handlepool.c - interned records with generation handles; see handlepool.h. */
#include <errno.h>
#include <stdlib.h>

#include "handlepool.h"

#define NIL UINT32_MAX

/*
 * The header of each record; its payload follows at HDR_SIZE. A slot is
 * used from intern to free_rec(); next links a used slot's bucket chain
 * and a free slot's free list.
 */
struct rec {
	uint64_t idle_seq; /* when it last entered the keep ring */
	uint32_t hash;	   /* ops->hash of its key */
	uint32_t next;
	uint32_t refs;
	uint32_t gen : 31; /* 32 - idx_bits bits of it used */
	uint32_t used : 1;
};

#define HDR_SIZE ((sizeof(struct rec) + 7) & ~(size_t)7)

static inline uint32_t idx_mask(const struct handlepool *p)
{
	return (1u << p->idx_bits) - 1;
}

static inline struct rec *rec_at(const struct handlepool *p, uint32_t idx)
{
	return (struct rec *)(p->recs + (size_t)idx * p->stride);
}

static inline void *payload(struct rec *r)
{
	return (unsigned char *)r + HDR_SIZE;
}

uint32_t handlepool_max_recs(const struct handlepool *p)
{
	return idx_mask(p) - 1;
}

/* The index of h's record, or NIL (0, or its record freed). */
static uint32_t resolve(const struct handlepool *p, uint32_t h)
{
	uint32_t idx = (h & idx_mask(p)) - 1;
	struct rec *r;

	if ((h & idx_mask(p)) == 0 || idx >= p->nrecs)
		return NIL;
	r = rec_at(p, idx);
	return r->used && r->gen == h >> p->idx_bits ? idx : NIL;
}

static uint32_t handle(const struct handlepool *p, uint32_t idx)
{
	return (idx + 1) | (uint32_t)rec_at(p, idx)->gen << p->idx_bits;
}

/* Free a record nothing holds: its slot gets the next generation. */
static void free_rec(struct handlepool *p, uint32_t idx)
{
	struct rec *r = rec_at(p, idx);
	uint32_t *pp = &p->buckets[r->hash & (p->nbuckets - 1)];

	while (*pp != idx)
		pp = &rec_at(p, *pp)->next;
	*pp = r->next;
	if (p->ops->release)
		p->ops->release(payload(r));
	r->used = 0;
	r->gen = (r->gen + 1) & ((1u << (32 - p->idx_bits)) - 1);
	r->next = p->free_head;
	p->free_head = idx;
	p->count--;
}

/* idx has no holder now: keep it among the last p->keep such, freeing the oldest. */
static void keep(struct handlepool *p, uint32_t idx)
{
	struct handlepool_kept *k;
	uint32_t tail;

	if (p->kept_len == p->keep) {
		struct rec *r;

		k = &p->kept[p->kept_head];
		p->kept_head = p->kept_head + 1 == p->keep ? 0 : p->kept_head + 1;
		p->kept_len--;
		r = rec_at(p, k->idx);
		/* still unheld since it was queued (not taken and dropped again since) */
		if (r->used && !r->refs && r->idle_seq == k->seq)
			free_rec(p, k->idx);
	}
	tail = p->kept_head + p->kept_len++;
	k = &p->kept[tail >= p->keep ? tail - p->keep : tail];
	k->idx = idx;
	k->seq = rec_at(p, idx)->idle_seq = ++p->seq;
}

static int grow_buckets(struct handlepool *p)
{
	uint32_t n = p->nbuckets ? p->nbuckets * 2 : 256, *b;

	b = malloc(n * sizeof(*b));
	if (!b)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		b[i] = NIL;
	for (uint32_t i = 0; i < p->nrecs; i++) {
		struct rec *r = rec_at(p, i);

		if (!r->used)
			continue;
		r->next = b[r->hash & (n - 1)];
		b[r->hash & (n - 1)] = i;
	}
	free(p->buckets);
	p->buckets = b;
	p->nbuckets = n;
	return 0;
}

/*
 * The slot the next record goes into (the head of the free list, else
 * the first never used), growing the array if needed; NIL on ENOMEM or
 * when max_recs are in use. Not taken until take_slot().
 */
static uint32_t next_slot(struct handlepool *p)
{
	if (p->free_head != NIL)
		return p->free_head;
	if (p->nrecs == p->cap) {
		uint32_t max = handlepool_max_recs(p), ncap = p->cap ? p->cap * 2 : 64;
		unsigned char *nr;

		if (p->cap >= max)
			return NIL;
		if (ncap > max)
			ncap = max;
		if (!p->stride)
			p->stride = HDR_SIZE + ((p->payload_size + 7) & ~(size_t)7);
		nr = realloc(p->recs, (size_t)ncap * p->stride);
		if (!nr)
			return NIL;
		p->recs = nr;
		p->cap = ncap;
	}
	return p->nrecs;
}

static void take_slot(struct handlepool *p, uint32_t idx)
{
	if (idx == p->free_head) {
		p->free_head = rec_at(p, idx)->next;
	} else {
		rec_at(p, idx)->gen = 0;
		p->nrecs++;
	}
}

uint32_t handlepool_intern(struct handlepool *p, const void *key)
{
	uint32_t hash, idx, *bucket;
	struct rec *r;

	if (p->count >= p->nbuckets && grow_buckets(p))
		return 0;
	hash = p->ops->hash(key);
	bucket = &p->buckets[hash & (p->nbuckets - 1)];
	for (idx = *bucket; idx != NIL; idx = r->next) {
		r = rec_at(p, idx);
		if (r->hash == hash && p->ops->equal(payload(r), key))
			return handle(p, idx);
	}
	idx = next_slot(p);
	if (idx == NIL)
		return 0;
	r = rec_at(p, idx);
	if (p->ops->init(payload(r), key))
		return 0;
	take_slot(p, idx);
	r->hash = hash;
	r->refs = 0;
	r->used = 1;
	r->next = *bucket;
	*bucket = idx;
	p->count++;
	keep(p, idx); /* unheld until a holder takes it */
	return handle(p, idx);
}

void *handlepool_get(const struct handlepool *p, uint32_t h)
{
	uint32_t idx = resolve(p, h);

	return idx != NIL ? payload(rec_at(p, idx)) : NULL;
}

void handlepool_ref(struct handlepool *p, uint32_t h)
{
	uint32_t idx = resolve(p, h);

	if (idx != NIL)
		rec_at(p, idx)->refs++;
}

void handlepool_unref(struct handlepool *p, uint32_t h)
{
	uint32_t idx = resolve(p, h);
	struct rec *r;

	if (idx == NIL)
		return;
	r = rec_at(p, idx);
	if (r->refs && !--r->refs)
		keep(p, idx);
}

size_t handlepool_count(const struct handlepool *p)
{
	return p->count;
}

void handlepool_free(struct handlepool *p)
{
	for (uint32_t i = 0; p->ops->release && i < p->nrecs; i++)
		if (rec_at(p, i)->used)
			p->ops->release(payload(rec_at(p, i)));
	free(p->recs);
	free(p->buckets);
	p->recs = NULL;
	p->buckets = NULL;
	p->stride = 0;
	p->nrecs = p->cap = p->count = p->nbuckets = 0;
	p->kept_head = p->kept_len = 0;
	p->seq = 0;
	p->free_head = NIL;
}
