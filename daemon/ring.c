// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* ring.c - the last `cap` items of one type, by id; see ring.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"

int ring_init(struct pw_ring *r, size_t item_size, size_t cap)
{
	r->items = calloc(cap, item_size);
	if (!r->items)
		return -ENOMEM;
	r->item_size = item_size;
	r->cap = cap;
	r->next_id = 1;
	return 0;
}

void ring_free(struct pw_ring *r)
{
	free(r->items);
	r->items = NULL;
}

void *ring_push(struct pw_ring *r)
{
	void *slot = (char *)r->items + (r->next_id % r->cap) * r->item_size;

	memset(slot, 0, r->item_size);
	return slot;
}

uint64_t ring_first_id(const struct pw_ring *r)
{
	return r->next_id > r->cap ? r->next_id - r->cap : 1;
}

void *ring_get(const struct pw_ring *r, uint64_t id)
{
	if (id < ring_first_id(r) || id >= r->next_id)
		return NULL;
	return (char *)r->items + (id % r->cap) * r->item_size;
}
