// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_ringmerge.c - ringmerge.c: records of several rings come out in
 * timestamp order, only once every ring is clean past them, each ring's
 * own order kept; the FIFOs grow, slide and stay exact over many
 * records. That bpfload.c feeds it the right clean times, and that the
 * daemon's table stays exact under churn on two CPUs, are tests/bpf's and
 * the e2e and bench runs'.
 */
#include <errno.h>
#include <string.h>

#include "helpers.h"
#include "ringmerge.h"
#include "portwatch/event.h"

#define MAXSEEN 200000

struct seen {
	uint64_t ts[MAXSEEN];
	uint32_t pid[MAXSEEN];
	size_t size[MAXSEEN];
	size_t n;
};

static int collect(void *ctx, void *data, size_t size)
{
	struct seen *s = ctx;
	uint64_t ts;

	assert_true(s->n < MAXSEEN);
	assert_int_equal((uintptr_t)data % 8, 0); /* handed 8-aligned, as libbpf does */
	memcpy(&ts, data, sizeof(ts));
	s->ts[s->n] = ts;
	s->size[s->n] = size;
	s->pid[s->n] = size == sizeof(struct pw_event) ? ((struct pw_event *)data)->pid :
			size == sizeof(struct pw_release_record) ? ((struct pw_release_record *)data)->pid : 0;
	s->n++;
	return 0;
}

static void push_event(struct ringmerge *m, unsigned int ring, uint64_t ts, uint32_t pid)
{
	struct pw_event e;

	memset(&e, 0, sizeof(e));
	e.ts_ns = ts;
	e.pid = pid;
	assert_int_equal(ringmerge_push(m, ring, &e, sizeof(e)), 0);
}

static void push_release(struct ringmerge *m, unsigned int ring, uint64_t ts, uint32_t pid)
{
	struct pw_release_record r = { .ts_ns = ts, .type = PW_EV_RELEASE, .pid = pid };

	assert_int_equal(ringmerge_push(m, ring, &r, sizeof(r)), 0);
}

static struct seen S;

static void test_interleaves_by_timestamp(void **state)
{
	struct ringmerge m;

	(void)state;
	memset(&S, 0, sizeof(S));
	assert_int_equal(ringmerge_init(&m, 2), 0);
	push_event(&m, 0, 10, 1);
	push_release(&m, 0, 30, 2);
	push_event(&m, 0, 50, 3);
	push_release(&m, 1, 20, 4);
	push_event(&m, 1, 40, 5);
	assert_int_equal(m.queued, 5);
	/* no ring clean yet: nothing is final */
	assert_int_equal(ringmerge_watermark(&m), 0);
	assert_int_equal(ringmerge_apply(&m, ringmerge_watermark(&m), collect, &S), 0);
	/* ring 0 clean at 100, ring 1 at 45: what ring 1 may still bring is stamped after 45 */
	ringmerge_clean(&m, 0, 100);
	ringmerge_clean(&m, 1, 45);
	assert_int_equal(ringmerge_watermark(&m), 45);
	assert_int_equal(ringmerge_apply(&m, ringmerge_watermark(&m), collect, &S), 4);
	assert_int_equal(S.n, 4);
	assert_int_equal(S.ts[0], 10);
	assert_int_equal(S.ts[1], 20);
	assert_int_equal(S.ts[2], 30);
	assert_int_equal(S.ts[3], 40);
	assert_int_equal(S.pid[1], 4);
	assert_int_equal(S.size[1], sizeof(struct pw_release_record));
	assert_int_equal(S.size[3], sizeof(struct pw_event));
	assert_int_equal(m.queued, 1); /* ts 50 waits for ring 1 to be clean past it */
	/* a ring's clean time never goes back */
	ringmerge_clean(&m, 1, 30);
	assert_int_equal(ringmerge_watermark(&m), 45);
	ringmerge_clean(&m, 1, 60);
	assert_int_equal(ringmerge_apply(&m, ringmerge_watermark(&m), collect, &S), 1);
	assert_int_equal(S.ts[4], 50);
	assert_int_equal(m.queued, 0);
	assert_int_equal(m.queued_max, 5);
	ringmerge_free(&m);
}

static void test_ring_order_kept(void **state)
{
	struct ringmerge m;

	(void)state;
	memset(&S, 0, sizeof(S));
	assert_int_equal(ringmerge_init(&m, 2), 0);
	/*
	 * Ring 0 holds 30 before 20: a program interrupted between its
	 * reservation and its timestamp. Ring order stands, and ring 1's 25
	 * still comes before the 30 that heads ring 0.
	 */
	push_event(&m, 0, 30, 1);
	push_event(&m, 0, 20, 2);
	push_event(&m, 1, 25, 3);
	ringmerge_clean(&m, 0, 100);
	ringmerge_clean(&m, 1, 100);
	assert_int_equal(ringmerge_apply(&m, 100, collect, &S), 3);
	assert_int_equal(S.pid[0], 3);
	assert_int_equal(S.pid[1], 1);
	assert_int_equal(S.pid[2], 2);
	ringmerge_free(&m);
}

static void test_before_is_exclusive(void **state)
{
	struct ringmerge m;

	(void)state;
	memset(&S, 0, sizeof(S));
	assert_int_equal(ringmerge_init(&m, 1), 0);
	push_event(&m, 0, 7, 1);
	assert_int_equal(ringmerge_apply(&m, 7, collect, &S), 0);
	assert_int_equal(ringmerge_apply(&m, 8, collect, &S), 1);
	/* a record too short to hold a timestamp sorts first; the callback judges it */
	assert_int_equal(ringmerge_push(&m, 0, "abc", 3), 0);
	assert_int_equal(ringmerge_apply(&m, 1, collect, &S), 1);
	assert_int_equal(S.size[1], 3);
	ringmerge_free(&m);
}

static void test_bad_arguments(void **state)
{
	struct ringmerge m;
	struct pw_event e = { 0 };

	(void)state;
	assert_int_equal(ringmerge_init(&m, 0), -EINVAL);
	ringmerge_free(&m); /* a zeroed struct */
	assert_int_equal(ringmerge_init(&m, 3), 0);
	assert_int_equal(ringmerge_push(&m, 3, &e, sizeof(e)), -EINVAL);
	ringmerge_clean(&m, 3, 5); /* ignored */
	assert_int_equal(ringmerge_watermark(&m), 0);
	ringmerge_free(&m);
}

/* A deterministic generator: the same sequence every run. */
static uint64_t lcg(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return *s >> 33;
}

/*
 * Three rings fed in bursts, applied in steps as their clean times move:
 * every record comes out once, in timestamp order (each ring's stamps
 * rise here), across growth and the slide of each FIFO to its front.
 */
static void test_many_records_in_order(void **state)
{
	struct ringmerge m;
	uint64_t seed = 12345, next[3] = { 0 }, total = 0, clock = 0;

	(void)state;
	memset(&S, 0, sizeof(S));
	assert_int_equal(ringmerge_init(&m, 3), 0);
	for (int round = 0; round < 400; round++) {
		for (unsigned int r = 0; r < 3; r++) {
			int k = (int)(lcg(&seed) % 200);

			for (int i = 0; i < k; i++) {
				/* stamps rise per ring; rings interleave */
				next[r] = (next[r] > clock ? next[r] : clock) + 1 + lcg(&seed) % 5;
				if (lcg(&seed) % 3)
					push_event(&m, r, next[r] * 3 + r, (uint32_t)total);
				else
					push_release(&m, r, next[r] * 3 + r, (uint32_t)total);
				total++;
			}
		}
		clock += 300;
		for (unsigned int r = 0; r < 3; r++)
			if (lcg(&seed) % 4) /* a ring is not clean at every drain */
				ringmerge_clean(&m, r, next[r] * 3 + 3);
		ringmerge_apply(&m, ringmerge_watermark(&m), collect, &S);
	}
	for (unsigned int r = 0; r < 3; r++)
		ringmerge_clean(&m, r, UINT64_MAX);
	ringmerge_apply(&m, UINT64_MAX, collect, &S);
	assert_int_equal(S.n, total);
	assert_int_equal(m.queued, 0);
	for (size_t i = 1; i < S.n; i++)
		assert_true(S.ts[i - 1] < S.ts[i]);
	ringmerge_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interleaves_by_timestamp),
		cmocka_unit_test(test_ring_order_kept),
		cmocka_unit_test(test_before_is_exclusive),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_many_records_in_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
