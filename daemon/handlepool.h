/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * handlepool.h - a pool of interned records named by 4-byte handles with
 * a generation, counted by their holders, the unheld ones kept for a
 * while before they are freed. The mechanism under the string pool
 * (strpool.h) and the container pool (container.h); each of them is one
 * static struct handlepool and a few lines of glue.
 *
 * Shapes. Each record is a fixed header and payload_size bytes of
 * payload (8-byte aligned), in one array grown by doubling (64 records
 * first) up to handlepool_max_recs(). A distinct key is stored once: the
 * caller's hash of it (any 32 bits) picks a chain of a power-of-two
 * bucket array, doubled (256 first) whenever the records reach the
 * number of buckets; the caller's equality confirms a hit.
 *
 * Handles. 0 is "none" and never given out. A handle is
 * (index + 1) | generation << idx_bits: the generation of a slot goes up
 * (modulo 2^(32 - idx_bits)) each time its record is freed, so a handle
 * of a freed record resolves to NULL, never to a newer record in the
 * same slot (until the generation wraps).
 *
 * Lifetime. A new record and one whose count drops to 0 join the keep
 * ring: when a record enters a full ring, the oldest entry leaves it and
 * is freed if it has stayed unheld since it entered (an entry of a record
 * taken and dropped again since is stale; the newer entry counts). So a
 * record nothing holds survives until `keep` later records became unheld.
 *
 * Memory. The pool owns the record array, the buckets and, through
 * ops->release, whatever a payload owns; handlepool_get()'s pointer is
 * into the record array and moves on the next handlepool_intern().
 * Nothing is allocated per record beyond what ops->init allocates.
 * Single-threaded, like the daemon.
 */
#ifndef PORTWATCH_HANDLEPOOL_H
#define PORTWATCH_HANDLEPOOL_H

#include <stddef.h>
#include <stdint.h>

/* What a pool's records are; all callbacks but release are required. */
struct handlepool_ops {
	/* The hash of a key (as passed to handlepool_intern()). */
	uint32_t (*hash)(const void *key);
	/* Nonzero when the stored payload holds key. */
	int (*equal)(const void *payload, const void *key);
	/*
	 * Fill the payload of a new record from key (payload_size bytes,
	 * uninitialised); 0, or a negative errno (-ENOMEM): the record is
	 * then not created.
	 */
	int (*init)(void *payload, const void *key);
	/* Free what a payload owns, when its record is freed; NULL: nothing. */
	void (*release)(void *payload);
};

/* One entry of the keep ring: a record that became unheld at seq. */
struct handlepool_kept {
	uint32_t idx;
	uint64_t seq;
};

/*
 * One pool. Set the first five members (HANDLEPOOL_INIT()); the rest is
 * the pool's own state, zero/NIL when empty.
 */
struct handlepool {
	const struct handlepool_ops *ops;
	size_t payload_size;	      /* bytes of each record's payload */
	unsigned int idx_bits;	      /* index bits of a handle: 2..24 */
	struct handlepool_kept *kept; /* the keep ring: `keep` entries */
	uint32_t keep;		      /* >= 1 */

	unsigned char *recs; /* cap records of stride bytes */
	size_t stride;
	uint32_t nrecs, cap, count, free_head;
	uint32_t *buckets; /* nbuckets, a power of two */
	uint32_t nbuckets;
	uint32_t kept_head, kept_len; /* ring of kept[], oldest first */
	uint64_t seq;		      /* last seq given to a kept entry */
};

/*
 * A static pool with ops, payload of payload_size bytes, handles of
 * idx_bits index bits and the keep ring ring[], an array (its length is
 * the keep count).
 */
#define HANDLEPOOL_INIT(ops_, payload_size_, idx_bits_, ring)                                      \
	{                                                                                          \
		.ops = (ops_), .payload_size = (payload_size_), .idx_bits = (idx_bits_),           \
		.kept = (ring), .keep = sizeof(ring) / sizeof((ring)[0]), .free_head = UINT32_MAX, \
	}

/* The most records p stores at once: 2^idx_bits - 2. */
uint32_t handlepool_max_recs(const struct handlepool *p);

/*
 * The handle of the record holding key: found by ops->hash and
 * ops->equal, or created unheld (ops->init, then the keep ring). 0 when
 * the buckets or records cannot grow (ENOMEM), when max_recs are stored,
 * or when ops->init fails; nothing changes then but possibly the
 * capacity.
 */
uint32_t handlepool_intern(struct handlepool *p, const void *key);
/* The payload of h, or NULL (0, or its record freed). Valid until the next intern. */
void *handlepool_get(const struct handlepool *p, uint32_t h);
/* A holder took / dropped h (the count drops no lower than 0). 0 and freed handles are ignored. */
void handlepool_ref(struct handlepool *p, uint32_t h);
void handlepool_unref(struct handlepool *p, uint32_t h);
/* Records stored (held or kept). */
size_t handlepool_count(const struct handlepool *p);
/*
 * Free every record (ops->release on each) and the arrays; p is empty
 * again, its configuration kept. Handles given out before must not be used.
 */
void handlepool_free(struct handlepool *p);

#endif /* PORTWATCH_HANDLEPOOL_H */
