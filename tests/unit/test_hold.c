// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Unit tests of hold.c: the table of ports kept for a departed owner
 * (takeover protection). Keys are (netns, protocol, port); removal shifts
 * the probe chain back, so every other hold stays findable; the table
 * stops at PW_PROTECT_MAX_HOLDS; the owner is the uid and executable.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>

#include "helpers.h"
#include "hold.h"
#include "strpool.h"

static void test_get_find_remove(void **state)
{
	struct pw_holds t;
	struct pw_hold *h;

	(void)state;
	assert_int_equal(hold_init(&t), 0);
	assert_null(hold_find(&t, PWT_NS1, IPPROTO_TCP, 443));
	h = hold_get(&t, PWT_NS1, IPPROTO_TCP, 443);
	assert_non_null(h);
	h->until_ns = 5;
	assert_ptr_equal(hold_get(&t, PWT_NS1, IPPROTO_TCP, 443), h); /* the same, not a new one */
	assert_int_equal(t.n, 1);
	assert_ptr_equal(hold_find(&t, PWT_NS1, IPPROTO_TCP, 443), h);
	/* another protocol, namespace or port is another hold */
	assert_null(hold_find(&t, PWT_NS1, IPPROTO_UDP, 443));
	assert_null(hold_find(&t, PWT_NS2, IPPROTO_TCP, 443));
	assert_null(hold_find(&t, PWT_NS1, IPPROTO_TCP, 444));
	hold_remove(&t, h);
	assert_int_equal(t.n, 0);
	assert_null(hold_find(&t, PWT_NS1, IPPROTO_TCP, 443));
	hold_free(&t);
}

/* Many keys, removed in another order: the rest is always found (backward shift). */
static void test_remove_keeps_chains(void **state)
{
	struct pw_holds t;
	const size_t n = PW_PROTECT_MAX_HOLDS;

	(void)state;
	assert_int_equal(hold_init(&t), 0);
	for (size_t i = 0; i < n; i++) {
		struct pw_hold *h = hold_get(&t, PWT_NS1 + (uint32_t)(i % 7), IPPROTO_TCP,
					     (uint16_t)(1000 + i));

		assert_non_null(h);
		h->until_ns = 1000 - i % 1000;
	}
	/* full: no new key, an existing one still answers */
	assert_null(hold_get(&t, PWT_NS2, IPPROTO_UDP, 53));
	assert_non_null(hold_get(&t, PWT_NS1, IPPROTO_TCP, 1000));
	assert_int_equal(hold_soonest(&t)->until_ns, 1);
	for (size_t i = 0; i < n; i += 3)
		hold_remove(&t, hold_find(&t, PWT_NS1 + (uint32_t)(i % 7), IPPROTO_TCP,
					  (uint16_t)(1000 + i)));
	for (size_t i = 0; i < n; i++) {
		struct pw_hold *h = hold_find(&t, PWT_NS1 + (uint32_t)(i % 7), IPPROTO_TCP,
					      (uint16_t)(1000 + i));

		if (i % 3)
			assert_non_null(h);
		else
			assert_null(h);
	}
	assert_int_equal(t.n, n - (n + 2) / 3);
	hold_free(&t);
}

/* Full: a listener's hold (line 0) never ends a protect rule's; a protect rule's ends the first. */
static void test_victim(void **state)
{
	struct pw_holds t;
	struct pw_hold *h;

	(void)state;
	assert_int_equal(hold_init(&t), 0);
	for (size_t i = 0; i < PW_PROTECT_MAX_HOLDS; i++) {
		h = hold_get(&t, PWT_NS1, IPPROTO_TCP, (uint16_t)(1000 + i));
		assert_non_null(h);
		h->line = 7; /* every hold a protect rule's */
		h->until_ns = 5000 + i;
	}
	assert_null(hold_victim(&t, 0));
	assert_int_equal(hold_victim(&t, 7)->until_ns, 5000);
	h = hold_find(&t, PWT_NS1, IPPROTO_TCP, 1500);
	h->line = 0; /* one listener's, ending later than the rules' first */
	assert_ptr_equal(hold_victim(&t, 0), h);
	assert_ptr_equal(hold_victim(&t, 7), h);
	hold_free(&t);
}

static void test_is_owner(void **state)
{
	struct pw_hold h;
	struct pw_owner o;

	(void)state;
	memset(&h, 0, sizeof(h));
	h.gone.owner.uid = 53;
	h.gone.owner.exe_ino = 77;
	h.gone.owner.exe_dev = 2049;
	memset(&o, 0, sizeof(o));
	o.uid = 53;
	o.exe_ino = 77;
	o.exe_dev = 2049;
	assert_true(hold_is_owner(&h, &o));
	o.exe_dev = 2050; /* the same inode on another filesystem */
	assert_false(hold_is_owner(&h, &o));
	o.exe_dev = 2049;
	o.uid = 54;
	assert_false(hold_is_owner(&h, &o));
	o.uid = 53;
	o.exe_ino = 0; /* executable unknown: not the owner, as in the kernel */
	assert_false(hold_is_owner(&h, &o));
}

static void test_explain(void **state)
{
	struct pw_hold h;
	char buf[400];

	(void)state;
	memset(&h, 0, sizeof(h));
	h.protocol = IPPROTO_UDP;
	h.port = 53;
	h.since_ns = 1000000000ULL;
	h.until_ns = 61000000000ULL;
	h.gone.owner.uid = 53;
	h.gone.owner.pid = 99;
	h.gone.owner.exe = strpool_intern("/usr/sbin/unbound");
	snprintf(h.gone.owner.comm, sizeof(h.gone.owner.comm), "unbound");
	hold_explain(buf, sizeof(buf), &h);
	assert_string_equal(buf, "takeover protection keeps port 53/udp until "
				 "1970-01-01T00:01:01.000000Z for uid 53 (/usr/sbin/unbound), "
				 "whose socket (pid 99, unbound) went away at "
				 "1970-01-01T00:00:01.000000Z; anybody else is refused (EPERM) "
				 "until then");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_find_remove),
		cmocka_unit_test(test_remove_keeps_chains),
		cmocka_unit_test(test_victim),
		cmocka_unit_test(test_is_owner),
		cmocka_unit_test(test_explain),
	};

	return cmocka_run_group_tests_name("hold", tests, NULL, NULL);
}
