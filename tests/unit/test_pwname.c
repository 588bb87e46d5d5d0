// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Unit tests of pwname.c: RFC 3339 times, state and errno names. */
#include <errno.h>
#include <time.h>

#include "helpers.h"
#include "pwname.h"

static void test_time_rfc3339(void **state)
{
	uint64_t ns = 1795438118123456789ULL;
	time_t sec = 1795438118;
	char buf[32], want[64];
	struct tm tm;

	(void)state;
	gmtime_r(&sec, &tm);
	snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.123456Z", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	assert_ptr_equal(pw_time_rfc3339(ns, buf), buf);
	assert_string_equal(buf, want);
	assert_string_equal(buf, "2026-11-23T12:48:38.123456Z");
	assert_string_equal(pw_time_rfc3339(0, buf), "1970-01-01T00:00:00.000000Z");
	/* microseconds are truncated, not rounded */
	assert_string_equal(pw_time_rfc3339(999999999ULL, buf), "1970-01-01T00:00:00.999999Z");
	assert_string_equal(pw_time_rfc3339(86400000001000ULL, buf), "1970-01-02T00:00:00.000001Z");
}

static void test_state_names(void **state)
{
	struct pw_sock sk = pwt_tcp("127.0.0.1", 80, PW_TCP_CLOSE, 0, 0);

	(void)state;
	assert_string_equal(pw_state_name(&sk), "BOUND");
	sk.lport = 0;
	assert_string_equal(pw_state_name(&sk), "CLOSE");
	sk.state = PW_TCP_TIME_WAIT;
	assert_string_equal(pw_state_name(&sk), "TIME_WAIT");
	sk.state = PW_TCP_ESTABLISHED;
	assert_string_equal(pw_state_name(&sk), "ESTABLISHED");
	sk.state = PW_TCP_NEW_SYN_RECV;
	assert_string_equal(pw_state_name(&sk), "NEW_SYN_RECV");
	sk.state = 0;
	assert_string_equal(pw_state_name(&sk), "UNKNOWN");
	sk.state = 200;
	assert_string_equal(pw_state_name(&sk), "UNKNOWN");
}

static void test_errno_name(void **state)
{
	char b[16];

	(void)state;
	assert_string_equal(pw_errno_name(0, b), "ok");
	assert_string_equal(pw_errno_name(EADDRINUSE, b), "EADDRINUSE");
	assert_string_equal(pw_errno_name(EADDRNOTAVAIL, b), "EADDRNOTAVAIL");
	assert_string_equal(pw_errno_name(200, b), "E200");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_rfc3339),
		cmocka_unit_test(test_state_names),
		cmocka_unit_test(test_errno_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
