/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ringmerge.h - puts the records of several BPF ring buffers (one per CPU,
 * bpf/portwatch.bpf.c) back into one stream in the order they happened.
 *
 * Each ring is in reservation order, but two rings say nothing of each
 * other: a record consumed from ring 1 may be older than one consumed
 * from ring 0 a moment before. So the consumer (bpfload.c) copies what it
 * drains into one FIFO per ring and hands on, in timestamp order, only
 * the records no record still in a ring can precede.
 *
 * The bound that makes that safe (pwbpf_consume() establishes it, this
 * module only keeps it): a ring is "clean at t" when t (CLOCK_BOOTTIME
 * ns) was read before the ring's producer position P, and every record
 * below P has since been consumed. A record reserved later stamps its
 * ts_ns after its reservation (event_reserve()), so after t. The
 * watermark is the oldest of the rings' latest clean times: every record
 * still in any ring, or yet to come, is stamped after it, and the queued
 * records stamped before it can be applied. Merging takes the head of
 * the FIFO with the smallest timestamp each time, so records of one ring
 * keep their ring order (a program interrupted between its reservation
 * and its timestamp by one on the same CPU stamps later than the record
 * behind it: the one ring of before gave that same order).
 *
 * A record is read as a struct pw_event or struct pw_release_record
 * (include/portwatch/event.h): both start with ts_ns, which is all this
 * module reads. Records shorter than 8 bytes sort as ts 0 (the caller's
 * callback refuses them as it did before). Pure logic: no BPF, no clock.
 */
#ifndef PORTWATCH_RINGMERGE_H
#define PORTWATCH_RINGMERGE_H

#include <stddef.h>
#include <stdint.h>

/* What a merged record is handed to; ring_buffer_sample_fn's shape. */
typedef int (*ringmerge_fn)(void *ctx, void *data, size_t size);

/* One ring's drained records not applied yet, in ring order. */
struct ringmerge_q {
	unsigned char *buf; /* records: a uint64_t size, then the data padded to 8 bytes */
	size_t head;        /* byte offset of the oldest record */
	size_t tail;        /* byte offset past the newest */
	size_t cap;         /* bytes allocated */
	uint64_t clean_ns;  /* latest time the ring was clean (CLOCK_BOOTTIME ns) */
};

struct ringmerge {
	unsigned int n;          /* rings */
	struct ringmerge_q *q;   /* n FIFOs, owned */
	uint64_t queued;         /* records in all FIFOs */
	uint64_t queued_max;     /* the most ever queued at once (stats) */
};

/* n FIFOs, empty, every clean time 0. 0 or -ENOMEM (-EINVAL for n = 0). */
int ringmerge_init(struct ringmerge *m, unsigned int n);
/* Free the FIFOs; accepts a zeroed struct. Queued records are dropped. */
void ringmerge_free(struct ringmerge *m);
/*
 * Copy a record of size bytes drained from ring into its FIFO. 0, or
 * -ENOMEM (nothing queued: the caller applies the record at once rather
 * than lose it) or -EINVAL (ring out of range).
 */
int ringmerge_push(struct ringmerge *m, unsigned int ring, const void *data, size_t size);
/* Ring was clean at t_ns (see above); an older t_ns than known is ignored. */
void ringmerge_clean(struct ringmerge *m, unsigned int ring, uint64_t t_ns);
/* The oldest of the rings' clean times: queued records stamped before it are final. */
uint64_t ringmerge_watermark(const struct ringmerge *m);
/*
 * Hand fn every queued record stamped before before_ns, oldest head
 * first, removing each before the call. fn's return value is ignored (a
 * record is applied or counted by fn itself). Returns how many it handed.
 */
uint64_t ringmerge_apply(struct ringmerge *m, uint64_t before_ns, ringmerge_fn fn, void *ctx);

#endif
