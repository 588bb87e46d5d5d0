/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ring.h - a history of the last `cap` items of one type, in memory.
 * Items get ids 1, 2, ... in the order they are pushed; once the ring is
 * full each push overwrites the oldest item. portwatchd keeps its recent
 * alerts and conflicts in two of these (struct pw_monitor, monitor.h) and
 * the `alerts` / `conflicts` requests page through them by id.
 *
 * Items are plain bytes: the ring frees nothing an item points to, so
 * items must not own memory. No locking: one thread (the event loop).
 */
#ifndef PORTWATCH_RING_H
#define PORTWATCH_RING_H

#include <stddef.h>
#include <stdint.h>

/*
 * The item with id N lives in slot N % cap, so ids first_id..next_id-1
 * are held and nothing else. The fields are read by callers (next_id
 * gives the newest id: next_id - 1) and next_id is written by whoever
 * pushes (ring_push()).
 */
struct pw_ring {
	void *items;      /* cap * item_size bytes, owned by the ring (ring_free()) */
	size_t item_size; /* bytes per item */
	size_t cap;       /* items held at most, > 0 */
	uint64_t next_id; /* id the next pushed item gets; 1 in an empty ring */
};

/*
 * Allocate a ring of cap (> 0) zeroed items of item_size bytes each, ids
 * from 1. Returns 0, or -ENOMEM with r->items NULL (ring_free() is then
 * still safe).
 */
int ring_init(struct pw_ring *r, size_t item_size, size_t cap);

/*
 * Free the items (not what they point to) and set r->items to NULL; safe
 * on a ring whose ring_init() failed and on one already freed. Pointers
 * from ring_push() / ring_get() are invalid afterwards.
 */
void ring_free(struct pw_ring *r);

/*
 * The slot for the next item, item_size zero bytes inside r->items (never
 * NULL); when the ring is full it is the oldest item's slot, which is
 * overwritten (that id is gone from then on). The caller fills it and
 * assigns the id from r->next_id++: until then ring_get() does not return
 * it and another push returns the same slot. The slot is borrowed: valid
 * until cap more pushes or ring_free().
 */
void *ring_push(struct pw_ring *r);

/*
 * The item with this id, or NULL when it was never pushed (id 0, id >=
 * next_id) or has been overwritten (id < ring_first_id()). Borrowed, like
 * ring_push()'s slot.
 */
void *ring_get(const struct pw_ring *r, uint64_t id);

/* The oldest id still held: 1 until the ring has wrapped; next_id when empty. */
uint64_t ring_first_id(const struct pw_ring *r);

#endif /* PORTWATCH_RING_H */
