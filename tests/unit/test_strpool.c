// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_strpool.c - unit tests of daemon/strpool.c: one handle per distinct
 * string, references, the keep ring of unheld strings, and handles that
 * outlive their string.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "strpool.h"

static int teardown(void **state)
{
	(void)state;
	strpool_free();
	return 0;
}

static void test_same_string_same_handle(void **state)
{
	char buf[32];
	uint32_t a = strpool_intern("/usr/sbin/nginx");

	(void)state;
	snprintf(buf, sizeof(buf), "/usr/sbin/%s", "nginx"); /* another copy of the text */
	assert_int_not_equal(a, 0);
	assert_int_equal(strpool_intern(buf), a);
	assert_string_equal(strpool_get(a), "/usr/sbin/nginx");
	assert_int_not_equal(strpool_intern("nginx.service"), a);
	assert_int_equal(strpool_count(), 2);
}

static void test_empty_is_zero(void **state)
{
	(void)state;
	assert_int_equal(strpool_intern(""), 0);
	assert_int_equal(strpool_intern(NULL), 0);
	assert_string_equal(strpool_get(0), "");
	strpool_ref(0); /* ignored */
	strpool_unref(0);
	assert_int_equal(strpool_count(), 0);
}

/* Fill the keep ring with STRPOOL_KEEP other unheld strings. */
static void churn(const char *prefix)
{
	char buf[64];

	for (int i = 0; i < STRPOOL_KEEP; i++) {
		snprintf(buf, sizeof(buf), "%s%d", prefix, i);
		assert_int_not_equal(strpool_intern(buf), 0);
	}
}

static void test_held_string_stays(void **state)
{
	uint32_t h = strpool_intern("/usr/bin/held");

	(void)state;
	strpool_ref(h);
	churn("/tmp/x");
	assert_string_equal(strpool_get(h), "/usr/bin/held");
	/* two holders: it stays until both let go */
	strpool_ref(h);
	strpool_unref(h);
	churn("/tmp/y");
	assert_string_equal(strpool_get(h), "/usr/bin/held");
}

static void test_unheld_string_kept_then_freed(void **state)
{
	uint32_t h = strpool_intern("/usr/bin/gone"), again;

	(void)state;
	strpool_ref(h);
	strpool_unref(h);
	/* kept for the copies that hold no reference (alert history) */
	assert_string_equal(strpool_get(h), "/usr/bin/gone");
	churn("/tmp/z");
	/* freed: the old handle reads "", never another string */
	assert_string_equal(strpool_get(h), "");
	churn("/tmp/w");
	assert_string_equal(strpool_get(h), "");
	again = strpool_intern("/usr/bin/gone");
	assert_int_not_equal(again, h);
	assert_string_equal(strpool_get(again), "/usr/bin/gone");
	assert_string_equal(strpool_get(h), "");
}

static void test_taken_again_before_eviction(void **state)
{
	uint32_t h = strpool_intern("/usr/bin/back");

	(void)state;
	strpool_ref(h);
	strpool_unref(h); /* queued as unheld */
	strpool_ref(h);   /* taken again: its old place in the ring must not free it */
	churn("/tmp/v");
	assert_string_equal(strpool_get(h), "/usr/bin/back");
	strpool_unref(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_same_string_same_handle, teardown),
		cmocka_unit_test_teardown(test_empty_is_zero, teardown),
		cmocka_unit_test_teardown(test_held_string_stays, teardown),
		cmocka_unit_test_teardown(test_unheld_string_kept_then_freed, teardown),
		cmocka_unit_test_teardown(test_taken_again_before_eviction, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
