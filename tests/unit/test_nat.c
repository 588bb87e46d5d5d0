// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_nat.c - when nat_tick() walks the table for namespaces it does not
 * follow: only after an event named one (nat_note_netns()), not each
 * second (a walk of 110k sockets costs milliseconds); how long a namespace
 * whose reads are slow waits between two (nat_read_pause_ms()).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "nat.h"

static void test_walk_only_for_unseen(void **state)
{
	struct nat n;

	(void)state;
	assert_int_equal(nat_init(&n, NULL, NULL), 0);
	assert_true(n.unseen); /* the first tick walks */
	n.unseen = 0;          /* as after that walk */
	n.known[7 % 64] = 7;   /* namespace 7 seen followed recently */
	nat_note_netns(&n, 7);
	assert_false(n.unseen);
	nat_note_netns(&n, 0); /* no namespace known */
	assert_false(n.unseen);
	nat_note_netns(&n, 9); /* followed by nothing */
	assert_true(n.unseen);

	n.unseen = 0; /* one that could not be entered waits for its retry */
	n.failed[9 % 16].netns = 9;
	n.failed[9 % 16].until = n.ticks + 60;
	nat_note_netns(&n, 9);
	assert_false(n.unseen);
	n.ticks += 60;
	nat_note_netns(&n, 9);
	assert_true(n.unseen);
	nat_free(&n);
}

/* A namespace whose reads are slow is read at most a tenth of the time. */
static void test_read_pause(void **state)
{
	(void)state;
	assert_int_equal(nat_read_pause_ms(0), 0);
	assert_int_equal(nat_read_pause_ms(NAT_COALESCE_MS), 0);
	assert_int_equal(nat_read_pause_ms(2000), 18000); /* 30,000 rules: ~2 s a read */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_walk_only_for_unseen),
		cmocka_unit_test(test_read_pause),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
