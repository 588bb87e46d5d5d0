// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* ringmerge.c - per-CPU ring records back into one ordered stream; see ringmerge.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ringmerge.h"

#define RM_ALIGN 8
#define RM_ROUND(x) (((x) + RM_ALIGN - 1) & ~(size_t)(RM_ALIGN - 1))
/* each record: its size (8 bytes, so that the data stays 8-aligned), then the data */
#define RM_HDR sizeof(uint64_t)

int ringmerge_init(struct ringmerge *m, unsigned int n)
{
	memset(m, 0, sizeof(*m));
	if (!n)
		return -EINVAL;
	m->q = calloc(n, sizeof(*m->q));
	if (!m->q)
		return -ENOMEM;
	m->n = n;
	return 0;
}

void ringmerge_free(struct ringmerge *m)
{
	for (unsigned int i = 0; m->q && i < m->n; i++)
		free(m->q[i].buf);
	free(m->q);
	memset(m, 0, sizeof(*m));
}

/*
 * Room for need more bytes at the tail: slide the live records to the
 * front when the consumed part is at least half the buffer, else grow
 * (doubling). A FIFO drained to empty starts again at 0 (ringmerge_apply()).
 */
static int reserve(struct ringmerge_q *q, size_t need)
{
	size_t cap;
	unsigned char *p;

	if (q->tail + need <= q->cap)
		return 0;
	if (q->head && q->head >= q->cap / 2 && q->tail - q->head + need <= q->cap) {
		memmove(q->buf, q->buf + q->head, q->tail - q->head);
		q->tail -= q->head;
		q->head = 0;
		return 0;
	}
	cap = q->cap ? q->cap : 64 * 1024;
	while (cap < q->tail + need)
		cap *= 2;
	p = realloc(q->buf, cap);
	if (!p)
		return -ENOMEM;
	q->buf = p;
	q->cap = cap;
	return 0;
}

int ringmerge_push(struct ringmerge *m, unsigned int ring, const void *data, size_t size)
{
	struct ringmerge_q *q;
	uint64_t sz = size;

	if (ring >= m->n)
		return -EINVAL;
	q = &m->q[ring];
	if (reserve(q, RM_HDR + RM_ROUND(size)))
		return -ENOMEM;
	memcpy(q->buf + q->tail, &sz, RM_HDR);
	memcpy(q->buf + q->tail + RM_HDR, data, size);
	q->tail += RM_HDR + RM_ROUND(size);
	if (++m->queued > m->queued_max)
		m->queued_max = m->queued;
	return 0;
}

void ringmerge_clean(struct ringmerge *m, unsigned int ring, uint64_t t_ns)
{
	if (ring < m->n && t_ns > m->q[ring].clean_ns)
		m->q[ring].clean_ns = t_ns;
}

uint64_t ringmerge_watermark(const struct ringmerge *m)
{
	uint64_t w = UINT64_MAX;

	for (unsigned int i = 0; i < m->n; i++)
		if (m->q[i].clean_ns < w)
			w = m->q[i].clean_ns;
	return m->n ? w : 0;
}

/* The head record's timestamp; the FIFO is not empty. */
static uint64_t head_ts(const struct ringmerge_q *q)
{
	uint64_t size, ts = 0;

	memcpy(&size, q->buf + q->head, RM_HDR);
	if (size >= sizeof(ts))
		memcpy(&ts, q->buf + q->head + RM_HDR, sizeof(ts));
	return ts;
}

uint64_t ringmerge_apply(struct ringmerge *m, uint64_t before_ns, ringmerge_fn fn, void *ctx)
{
	uint64_t handed = 0;

	while (m->queued) {
		struct ringmerge_q *best = NULL;
		uint64_t best_ts = 0, size;
		unsigned char *rec;

		for (unsigned int i = 0; i < m->n; i++) {
			struct ringmerge_q *q = &m->q[i];
			uint64_t ts;

			if (q->head == q->tail)
				continue;
			ts = head_ts(q);
			if (!best || ts < best_ts) {
				best = q;
				best_ts = ts;
			}
		}
		if (!best || best_ts >= before_ns)
			break;
		rec = best->buf + best->head;
		memcpy(&size, rec, RM_HDR);
		best->head += RM_HDR + RM_ROUND(size);
		m->queued--;
		/*
		 * The record stays where it is during the call: nothing is
		 * pushed while records are applied (the caller drains, then
		 * applies), so the buffer neither moves nor grows under fn.
		 */
		fn(ctx, rec + RM_HDR, size);
		handed++;
		if (best->head == best->tail)
			best->head = best->tail = 0;
	}
	return handed;
}
