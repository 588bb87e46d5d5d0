// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Unit tests of ring.c: ids, wrap-around and what ring_get() still finds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ring.h"

static void test_ring(void **state)
{
	struct pw_ring r;
	uint64_t *item;

	(void)state;
	assert_int_equal(ring_init(&r, sizeof(uint64_t), 4), 0);
	assert_int_equal(ring_first_id(&r), 1);
	assert_int_equal(r.next_id, 1);
	assert_null(ring_get(&r, 0));
	assert_null(ring_get(&r, 1));

	for (uint64_t id = 1; id <= 3; id++) {
		item = ring_push(&r);
		assert_int_equal(*item, 0); /* slots come zeroed */
		*item = r.next_id++ * 100;
	}
	assert_int_equal(ring_first_id(&r), 1);
	for (uint64_t id = 1; id <= 3; id++)
		assert_int_equal(*(uint64_t *)ring_get(&r, id), id * 100);
	assert_null(ring_get(&r, 4));

	for (uint64_t id = 4; id <= 10; id++) {
		item = ring_push(&r);
		assert_int_equal(*item, 0);
		*item = r.next_id++ * 100;
	}
	/* exactly the last 4 */
	assert_int_equal(ring_first_id(&r), 7);
	for (uint64_t id = 1; id <= 6; id++)
		assert_null(ring_get(&r, id));
	for (uint64_t id = 7; id <= 10; id++)
		assert_int_equal(*(uint64_t *)ring_get(&r, id), id * 100);
	assert_null(ring_get(&r, 11));
	assert_null(ring_get(&r, UINT64_MAX));
	ring_free(&r);
	assert_null(r.items);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
