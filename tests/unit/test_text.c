// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Unit tests of text.c: the escaping rules text.h states. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "text.h"

static void test_utf8_len(void **state)
{
	(void)state;
	assert_int_equal(text_utf8_len((const unsigned char *)"a", 1), 1);
	assert_int_equal(text_utf8_len((const unsigned char *)"\xc3\xa9", 2), 2);     /* é */
	assert_int_equal(text_utf8_len((const unsigned char *)"\xe2\x82\xac", 3), 3); /* € */
	assert_int_equal(text_utf8_len((const unsigned char *)"\xf0\x9f\x98\x80", 4), 4);
	assert_int_equal(text_utf8_len((const unsigned char *)"\xc0\xaf", 2), 0); /* overlong */
	assert_int_equal(text_utf8_len((const unsigned char *)"\xe0\x80\xaf", 3), 0);
	assert_int_equal(text_utf8_len((const unsigned char *)"\xed\xa0\x80", 3), 0); /* surrogate */
	assert_int_equal(text_utf8_len((const unsigned char *)"\xf4\x90\x80\x80", 4), 0);
	assert_int_equal(text_utf8_len((const unsigned char *)"\x80", 1), 0);
	assert_int_equal(text_utf8_len((const unsigned char *)"\xc3", 1), 0); /* cut short */
	assert_int_equal(text_utf8_len((const unsigned char *)"\xc3(", 2), 0);
}

static void test_kv_escape(void **state)
{
	char buf[128];

	(void)state;
	/* a name that tries to end the field and plant another */
	assert_string_equal(text_kv_escape(buf, sizeof(buf), "evil\" uid=0 x=\"y"),
			    "evil\\x22\\x20uid\\x3d0\\x20x\\x3d\\x22y");
	assert_string_equal(text_kv_escape(buf, sizeof(buf), "a\nb\x1b[31m\\"),
			    "a\\x0ab\\x1b[31m\\x5c");
	assert_string_equal(text_kv_escape(buf, sizeof(buf), "caf\xc3\xa9 \xff"),
			    "caf\xc3\xa9\\x20\\xff");
	assert_string_equal(text_kv_escape(buf, sizeof(buf), "/usr/bin/nginx"), "/usr/bin/nginx");
	/* truncation never cuts an escape or a character in half */
	assert_string_equal(text_kv_escape(buf, 6, "ab\ncd"), "ab");
	assert_string_equal(text_kv_escape(buf, 4, "a\xc3\xa9z"), "a\xc3\xa9");
	assert_string_equal(text_kv_escape(buf, 3, "a\xc3\xa9z"), "a");
}

static void test_utf8_clean(void **state)
{
	char buf[64];

	(void)state;
	assert_string_equal(text_utf8_clean(buf, sizeof(buf), "ok \xc3\xa9"), "ok \xc3\xa9");
	assert_string_equal(text_utf8_clean(buf, sizeof(buf), "a\xff" "b\xc0\xaf"),
			    "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd");
	/* control characters stay: json-c escapes them */
	assert_string_equal(text_utf8_clean(buf, sizeof(buf), "a\nb"), "a\nb");
	assert_string_equal(text_utf8_clean(buf, 4, "ab\xff"), "ab");
}

static void test_journal_escape(void **state)
{
	char buf[128];

	(void)state;
	/* quotes, blanks and '=' are plain text in a journal value */
	assert_string_equal(text_journal_escape(buf, sizeof(buf), "evil\" uid=0"), "evil\" uid=0");
	assert_string_equal(text_journal_escape(buf, sizeof(buf), "a\nb\x1b[31m\\\x7f"),
			    "a\\x0ab\\x1b[31m\\x5c\\x7f");
	assert_string_equal(text_journal_escape(buf, sizeof(buf), "caf\xc3\xa9 \xff"),
			    "caf\xc3\xa9 \\xff");
	/* truncated at a whole escape */
	assert_string_equal(text_journal_escape(buf, 6, "ab\n"), "ab");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_len),
		cmocka_unit_test(test_kv_escape),
		cmocka_unit_test(test_journal_escape),
		cmocka_unit_test(test_utf8_clean),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
