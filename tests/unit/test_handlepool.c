// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_handlepool.c - unit tests of daemon/handlepool.c, the mechanism
 * under strpool.c and container.c: generations of freed slots, the order
 * of the keep ring, references, growth of the records and the buckets
 * (rehash), the bound on records, and a failing ops->init.
 *
 * Records are uint32_t keys; pools are small (a keep ring of KEEP, few
 * index bits) so that every bound is reached in a few steps.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "handlepool.h"

#define KEEP 4
#define BAD_KEY 0xdeadu /* ops->init fails on it */

static unsigned int released;
static uint32_t (*hash_fn)(uint32_t key);

static uint32_t spread(uint32_t key)
{
	return key * 2654435761u;
}

/* Every key in one chain: unlinking must walk it. */
static uint32_t collide(uint32_t key)
{
	(void)key;
	return 7;
}

static uint32_t u32_hash(const void *key)
{
	return hash_fn(*(const uint32_t *)key);
}

static int u32_equal(const void *payload, const void *key)
{
	return *(const uint32_t *)payload == *(const uint32_t *)key;
}

static int u32_init(void *payload, const void *key)
{
	if (*(const uint32_t *)key == BAD_KEY)
		return -ENOMEM;
	*(uint32_t *)payload = *(const uint32_t *)key;
	return 0;
}

static void u32_release(void *payload)
{
	(void)payload;
	released++;
}

static const struct handlepool_ops ops = {
	.hash = u32_hash,
	.equal = u32_equal,
	.init = u32_init,
	.release = u32_release,
};

static struct handlepool_kept kept[KEEP];
static struct handlepool pool = HANDLEPOOL_INIT(&ops, sizeof(uint32_t), 12, kept);

static int setup(void **state)
{
	(void)state;
	hash_fn = spread;
	released = 0;
	pool.idx_bits = 12;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	handlepool_free(&pool);
	return 0;
}

static uint32_t intern(uint32_t key)
{
	return handlepool_intern(&pool, &key);
}

/* The key of h, or 0 when h resolves to nothing. */
static uint32_t key_of(uint32_t h)
{
	const uint32_t *k = handlepool_get(&pool, h);

	return k ? *k : 0;
}

static void test_intern_get(void **state)
{
	uint32_t a = intern(10), b = intern(11);

	(void)state;
	assert_int_not_equal(a, 0);
	assert_int_not_equal(b, a);
	assert_int_equal(intern(10), a);
	assert_int_equal(key_of(a), 10);
	assert_int_equal(key_of(b), 11);
	assert_int_equal(handlepool_count(&pool), 2);
	assert_null(handlepool_get(&pool, 0));
	assert_int_equal(handlepool_max_recs(&pool), (1u << 12) - 2);
}

/* The ring holds the last KEEP unheld records, and frees the oldest first. */
static void test_keep_ring_order(void **state)
{
	uint32_t h[KEEP + 2];

	(void)state;
	for (uint32_t i = 0; i < KEEP; i++)
		h[i] = intern(100 + i);
	assert_int_equal(handlepool_count(&pool), KEEP);
	assert_int_equal(released, 0);
	h[KEEP] = intern(100 + KEEP);
	assert_int_equal(key_of(h[0]), 0); /* the oldest went */
	assert_int_equal(key_of(h[1]), 101);
	assert_int_equal(released, 1);
	h[KEEP + 1] = intern(100 + KEEP + 1);
	assert_int_equal(key_of(h[1]), 0);
	assert_int_equal(key_of(h[2]), 102);
	assert_int_equal(handlepool_count(&pool), KEEP);
}

/* Taken and dropped again: its old ring entry is stale and frees nothing. */
static void test_requeued_entry_is_stale(void **state)
{
	uint32_t a = intern(1);

	(void)state;
	intern(2);
	handlepool_ref(&pool, a);
	handlepool_unref(&pool, a); /* a is queued again, last */
	intern(3); /* ring full: 1 (stale) 2 1 3 */
	intern(4); /* the stale entry of 1 leaves: 1 stays */
	assert_int_equal(key_of(a), 1);
	intern(5); /* 2 leaves, freed */
	assert_int_equal(key_of(a), 1);
	assert_int_equal(released, 1);
	intern(6); /* 1's current entry leaves */
	assert_int_equal(key_of(a), 0);
}

static void test_ref_unref(void **state)
{
	uint32_t a = intern(1);

	(void)state;
	handlepool_ref(&pool, a);
	handlepool_ref(&pool, a);
	for (uint32_t i = 0; i < 3 * KEEP; i++)
		intern(1000 + i);
	handlepool_unref(&pool, a);
	for (uint32_t i = 0; i < 3 * KEEP; i++)
		intern(2000 + i);
	assert_int_equal(key_of(a), 1); /* one holder left */
	handlepool_unref(&pool, a);
	handlepool_unref(&pool, a); /* below 0: ignored, not queued twice */
	for (uint32_t i = 0; i < KEEP - 1; i++)
		intern(3000 + i);
	assert_int_equal(key_of(a), 1);
	intern(4000);
	assert_int_equal(key_of(a), 0);
	handlepool_ref(&pool, a); /* freed: ignored */
	handlepool_ref(&pool, 0);
	handlepool_unref(&pool, 0);
}

/* A freed record's handle resolves to nothing, also once its slot is used again. */
static void test_generation_after_free(void **state)
{
	uint32_t a = intern(1), b;
	uint32_t mask = (1u << pool.idx_bits) - 1;

	(void)state;
	for (uint32_t i = 0; i < KEEP; i++)
		intern(100 + i);
	assert_int_equal(key_of(a), 0);
	b = intern(1); /* the same key, into the slot a had (head of the free list) */
	assert_int_equal(b & mask, a & mask);
	assert_int_equal(b >> pool.idx_bits, (a >> pool.idx_bits) + 1);
	assert_int_equal(key_of(b), 1);
	assert_int_equal(key_of(a), 0);
}

/* Records and buckets grow past their first sizes (64, 256); every key is still found. */
static void check_growth(void)
{
	enum { N = 1500 };
	uint32_t h[N];

	for (uint32_t i = 0; i < N; i++) {
		h[i] = intern(i + 1);
		assert_int_not_equal(h[i], 0);
		handlepool_ref(&pool, h[i]);
	}
	assert_int_equal(handlepool_count(&pool), N);
	for (uint32_t i = 0; i < N; i++) {
		assert_int_equal(intern(i + 1), h[i]);
		assert_int_equal(key_of(h[i]), i + 1);
	}
	/* free every other one, from the middle of the chains */
	for (uint32_t i = 0; i < N; i += 2)
		handlepool_unref(&pool, h[i]);
	for (uint32_t i = 0; i < KEEP; i++)
		intern(100000 + i);
	for (uint32_t i = 0; i < N; i++)
		assert_int_equal(key_of(h[i]), i % 2 ? i + 1 : 0);
	assert_int_equal(handlepool_count(&pool), N / 2 + KEEP);
}

static void test_growth_rehash(void **state)
{
	(void)state;
	check_growth();
}

static void test_growth_one_chain(void **state)
{
	(void)state;
	hash_fn = collide;
	check_growth();
}

/* idx_bits 4: at most 14 records; a freed slot makes room again. */
static void test_max_recs(void **state)
{
	uint32_t h[14];

	(void)state;
	pool.idx_bits = 4;
	assert_int_equal(handlepool_max_recs(&pool), 14);
	for (uint32_t i = 0; i < 14; i++) {
		h[i] = intern(i + 1);
		assert_int_not_equal(h[i], 0);
		handlepool_ref(&pool, h[i]);
	}
	assert_int_equal(intern(99), 0);
	assert_int_equal(handlepool_count(&pool), 14);
	assert_int_equal(intern(5), h[4]); /* lookups still work */
	for (uint32_t i = 0; i < KEEP + 1; i++)
		handlepool_unref(&pool, h[i]); /* the first leaves the ring: freed */
	assert_int_equal(key_of(h[0]), 0);
	assert_int_not_equal(intern(99), 0);
	/* 99 entered the ring too, pushing out (and freeing) the second */
	assert_int_equal(key_of(h[1]), 0);
	assert_int_equal(handlepool_count(&pool), 13);
}

/* A failing ops->init creates nothing and takes no slot. */
static void test_init_fails(void **state)
{
	uint32_t a;

	(void)state;
	pool.idx_bits = 4;
	assert_int_equal(intern(BAD_KEY), 0);
	assert_int_equal(handlepool_count(&pool), 0);
	a = intern(1);
	assert_int_equal(a, 1); /* slot 0, generation 0 */
	handlepool_ref(&pool, a);
	for (uint32_t i = 1; i < 14; i++)
		handlepool_ref(&pool, intern(i + 1));
	assert_int_equal(handlepool_count(&pool), 14);
}

/* handlepool_free() releases every stored payload once, and the pool works again. */
static void test_free_releases(void **state)
{
	(void)state;
	for (uint32_t i = 0; i < KEEP + 3; i++)
		intern(i + 1);
	assert_int_equal(released, 3);
	handlepool_free(&pool);
	assert_int_equal(released, KEEP + 3);
	assert_int_equal(handlepool_count(&pool), 0);
	assert_int_equal(intern(1), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_intern_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keep_ring_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_requeued_entry_is_stale, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ref_unref, setup, teardown),
		cmocka_unit_test_setup_teardown(test_generation_after_free, setup, teardown),
		cmocka_unit_test_setup_teardown(test_growth_rehash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_growth_one_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_recs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_releases, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
