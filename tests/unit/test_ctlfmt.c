// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_ctlfmt.c - unit tests of portwatchctl's output helpers (cli/ctlfmt.c):
 * strict numbers, RFC 3339 times shown in local time, ss-style addresses,
 * table alignment, control characters, and the rows made of protocol
 * objects. Runs with TZ=UTC so that local time is predictable.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "ctlfmt.h"

/* 2026-11-23T13:08:38Z */
#define NOW ((time_t)1795439318)

/* Run fn(out) and return what it printed (to free). */
#define CAPTURE(expr)                                          \
	({                                                     \
		char *_buf = NULL;                             \
		size_t _len = 0;                               \
		FILE *out = open_memstream(&_buf, &_len);      \
		assert_non_null(out);                          \
		expr;                                          \
		fclose(out);                                   \
		_buf;                                          \
	})

static void test_parse_ulong(void **state)
{
	unsigned long v = 7;

	(void)state;
	assert_int_equal(ctlfmt_parse_ulong("80", 0, 65535, &v), 0);
	assert_int_equal(v, 80);
	assert_int_equal(ctlfmt_parse_ulong("0", 0, 65535, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(ctlfmt_parse_ulong("65535", 1, 65535, &v), 0);
	assert_int_equal(ctlfmt_parse_ulong("0", 1, 65535, &v), -ERANGE);
	assert_int_equal(ctlfmt_parse_ulong("65536", 0, 65535, &v), -ERANGE);
	assert_int_equal(ctlfmt_parse_ulong("99999999999999999999999", 0, 65535, &v), -ERANGE);
	assert_int_equal(ctlfmt_parse_ulong("", 0, 65535, &v), -EINVAL);
	assert_int_equal(ctlfmt_parse_ulong("-1", 0, 65535, &v), -EINVAL);
	assert_int_equal(ctlfmt_parse_ulong("+1", 0, 65535, &v), -EINVAL);
	assert_int_equal(ctlfmt_parse_ulong(" 1", 0, 65535, &v), -EINVAL);
	assert_int_equal(ctlfmt_parse_ulong("1 ", 0, 65535, &v), -EINVAL);
	assert_int_equal(ctlfmt_parse_ulong("0x10", 0, 65535, &v), -EINVAL);
	assert_int_equal(ctlfmt_parse_ulong("8o", 0, 65535, &v), -EINVAL);
	assert_int_equal(ctlfmt_parse_ulong(NULL, 0, 65535, &v), -EINVAL);
	assert_int_equal(v, 65535);
}

static void test_parse_time(void **state)
{
	time_t t = 0;

	(void)state;
	assert_int_equal(ctlfmt_parse_time("2026-11-23T13:08:38.123456Z", &t), 0);
	assert_int_equal(t, NOW);
	assert_int_equal(ctlfmt_parse_time("2026-11-23T13:08:38Z", &t), 0);
	assert_int_equal(t, NOW);
	assert_int_equal(ctlfmt_parse_time("2026-11-23T14:08:38+01:00", &t), 0);
	assert_int_equal(t, NOW);
	assert_int_equal(ctlfmt_parse_time("2026-11-23T08:38:38.5-04:30", &t), 0);
	assert_int_equal(t, NOW);
	assert_int_equal(ctlfmt_parse_time("2026-11-23T13:08:38", &t), -EINVAL);
	assert_int_equal(ctlfmt_parse_time("2026-11-23T13:08:38.Z", &t), -EINVAL);
	assert_int_equal(ctlfmt_parse_time("2026-11-23T13:08:38Zjunk", &t), -EINVAL);
	assert_int_equal(ctlfmt_parse_time("2026-11-23 13:08:38Z", &t), -EINVAL);
	assert_int_equal(ctlfmt_parse_time("yesterday", &t), -EINVAL);
	assert_int_equal(ctlfmt_parse_time("", &t), -EINVAL);
}

static void test_time(void **state)
{
	char buf[32];

	(void)state;
	ctlfmt_time("2026-11-23T01:00:00.000001Z", NOW, false, buf, sizeof(buf));
	assert_string_equal(buf, "01:00:00");
	ctlfmt_time("2026-11-22T23:59:59.999999Z", NOW, false, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-22 23:59:59");
	ctlfmt_time("2026-11-22T23:59:59.999999Z", NOW, true, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-22");
	ctlfmt_time("2025-11-23T13:08:38Z", NOW, true, buf, sizeof(buf));
	assert_string_equal(buf, "2025-11-23");
	ctlfmt_time(NULL, NOW, true, buf, sizeof(buf));
	assert_string_equal(buf, "-");
	ctlfmt_time("", NOW, true, buf, sizeof(buf));
	assert_string_equal(buf, "-");
	ctlfmt_time("soon", NOW, true, buf, sizeof(buf));
	assert_string_equal(buf, "soon");
	ctlfmt_time("2026-11-23T01:00:00Z", NOW, false, buf, 4);
	assert_string_equal(buf, "");

	/* UTC+9: NOW is 22:08:38 local; 16:00Z is already tomorrow there. */
	setenv("TZ", "JST-9", 1);
	tzset();
	ctlfmt_time("2026-11-23T16:00:00Z", NOW, false, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-24 01:00:00");
	ctlfmt_time("2026-11-23T14:59:59Z", NOW, false, buf, sizeof(buf));
	assert_string_equal(buf, "23:59:59");
	setenv("TZ", "UTC", 1);
	tzset();
}

static void test_duration(void **state)
{
	char buf[32];

	(void)state;
	ctlfmt_duration(0, buf, sizeof(buf));
	assert_string_equal(buf, "00:00:00");
	ctlfmt_duration(3723, buf, sizeof(buf));
	assert_string_equal(buf, "01:02:03");
	ctlfmt_duration(93784, buf, sizeof(buf));
	assert_string_equal(buf, "1d 02:03:04");
	ctlfmt_duration(-5, buf, sizeof(buf));
	assert_string_equal(buf, "00:00:00");
}

static void test_addr_flags(void **state)
{
	char buf[64];

	(void)state;
	ctlfmt_addr_port("127.0.0.1", 80, buf, sizeof(buf));
	assert_string_equal(buf, "127.0.0.1:80");
	ctlfmt_addr_port("::1", 80, buf, sizeof(buf));
	assert_string_equal(buf, "[::1]:80");
	ctlfmt_addr_port("::ffff:127.0.0.1", 8080, buf, sizeof(buf));
	assert_string_equal(buf, "[::ffff:127.0.0.1]:8080");
	ctlfmt_addr_port(NULL, 53, buf, sizeof(buf));
	assert_string_equal(buf, "*:53");
	ctlfmt_addr_port("::", -1, buf, sizeof(buf));
	assert_string_equal(buf, "[::]:*");

	ctlfmt_flags(false, false, false, buf, sizeof(buf));
	assert_string_equal(buf, "-");
	ctlfmt_flags(true, true, true, buf, sizeof(buf));
	assert_string_equal(buf, "RA,RP,V6");
	ctlfmt_flags(true, false, true, buf, sizeof(buf));
	assert_string_equal(buf, "RA,V6");
	ctlfmt_flags(false, true, false, buf, sizeof(buf));
	assert_string_equal(buf, "RP");
	ctlfmt_flags(false, true, true, buf, sizeof(buf));
	assert_string_equal(buf, "RP,V6");
}

static void test_table(void **state)
{
	static const struct ctlfmt_col cols[] = { { "A", 0 }, { "Bee", 4 }, { "C", 0 } };
	const char *r1[] = { "xx", "y", "last" };
	const char *r2[] = { "x\x1b[2Jz", NULL, "\xc3\xa9t\xc3\xa9" };
	const char *r3[] = { "wider-than-all", "b", "c" };
	struct ctlfmt_table *t = ctlfmt_table_new(cols, 3);
	char *s;

	(void)state;
	assert_non_null(t);
	assert_int_equal(ctlfmt_table_add(t, r1), 0);
	assert_int_equal(ctlfmt_table_add(t, r2), 0);
	assert_int_equal(ctlfmt_table_rows(t), 2);
	s = CAPTURE(ctlfmt_table_print(t, out, true));
	/* Column 1 is as wide as "x?[2Jz" (6), column 2 has its minimum 4. */
	assert_string_equal(s, "A       Bee   C\n"
			       "xx      y     last\n"
			       "x?[2Jz  -     \xc3\xa9t\xc3\xa9\n");
	free(s);
	assert_int_equal(ctlfmt_table_rows(t), 0);
	/* Printed rows are forgotten; the widths reached stay and can grow. */
	assert_int_equal(ctlfmt_table_add(t, r3), 0);
	s = CAPTURE(ctlfmt_table_print(t, out, false));
	assert_string_equal(s, "wider-than-all  b     c\n");
	free(s);
	ctlfmt_table_free(t);
	ctlfmt_table_free(NULL);
}

static struct json_object *parse(const char *s)
{
	struct json_object *o = json_tokener_parse(s);

	assert_non_null(o);
	return o;
}

static void test_socket_row(void **state)
{
	struct json_object *sk = parse(
		"{\"netns\":4026531840,\"proto\":\"tcp\",\"family\":\"inet6\",\"addr\":\"::\","
		"\"port\":443,\"state\":\"LISTEN\",\"reuseaddr\":true,\"reuseport\":true,"
		"\"v6only\":false,\"inode\":1,\"pid\":812,\"comm\":\"nginx\",\"exe\":\"\","
		"\"uid\":33,\"unit\":null,\"since\":\"2026-11-23T12:00:00.000001Z\"}");
	struct json_object *bare = parse("{\"proto\":\"udp\",\"addr\":\"0.0.0.0\",\"port\":53}");
	struct ctlfmt_table *t = ctlfmt_table_new(ctlfmt_socket_cols, CTLFMT_SOCKET_NCOLS);
	char *s;

	(void)state;
	assert_int_equal(ctlfmt_socket_row(t, sk, NOW), 0);
	assert_int_equal(ctlfmt_socket_row(t, bare, NOW), 0);
	s = CAPTURE(ctlfmt_table_print(t, out, true));
	assert_string_equal(s,
		"Netid  State   Local-Address:Port  Flags  Uid  Pid/Comm   Exe  Unit  Since\n"
		"tcp    LISTEN  [::]:443            RA,RP  33   812/nginx  -    -     12:00:00\n"
		"udp    -       0.0.0.0:53          -      -    -          -    -     -\n");
	free(s);
	ctlfmt_table_free(t);
	json_object_put(sk);
	json_object_put(bare);
}

/* The Container column: runtime and 12 digits of an id, names whole, "-" outside. */
static void test_socket_container(void **state)
{
	struct json_object *arr = parse(
		"[{\"proto\":\"tcp\",\"addr\":\"0.0.0.0\",\"port\":80,\"container\":{\"id\":"
		"\"3f0c1a9e5b7d4c2a8e6f1b3d5a7c9e0f2b4d6a8c0e1f3a5b7d9c1e3f5a7b9d0c\","
		"\"runtime\":\"containerd\"},\"pod\":{\"uid\":\"0d2e4a4b-9d2f-4c7e-8b7a-1c2d3e4f5a6b\","
		"\"namespace\":null,\"name\":null}},"
		"{\"proto\":\"tcp\",\"addr\":\"0.0.0.0\",\"port\":81,"
		"\"container\":{\"id\":\"web\",\"runtime\":\"systemd-nspawn\"},\"pod\":null},"
		"{\"proto\":\"udp\",\"addr\":\"0.0.0.0\",\"port\":53,\"container\":null}]");
	struct json_object *plain = parse("[{\"proto\":\"udp\",\"container\":null},{}]");
	char *s;

	(void)state;
	assert_true(ctlfmt_any_container(arr));
	assert_false(ctlfmt_any_container(plain));
	s = CAPTURE(ctlfmt_print_list(out, arr, ctlfmt_socket_ctr_cols, CTLFMT_SOCKET_NCOLS + 1,
				      ctlfmt_socket_ctr_row, NOW, true));
	assert_string_equal(s,
		"Netid  State  Local-Address:Port  Flags  Uid  Pid/Comm  Exe  Unit  Container"
		"                Since\n"
		"tcp    -      0.0.0.0:80          -      -    -         -    -     containerd:3f0c1a9e5b7d  -\n"
		"tcp    -      0.0.0.0:81          -      -    -         -    -     systemd-nspawn:web       -\n"
		"udp    -      0.0.0.0:53          -      -    -         -    -     -                        -\n");
	free(s);
	json_object_put(arr);
	json_object_put(plain);
}

/* ctlfmt_print_list() with and without its header (owners -H). */
static void test_print_list_header(void **state)
{
	struct json_object *arr = parse("[{\"proto\":\"udp\",\"addr\":\"0.0.0.0\",\"port\":53,"
				       "\"state\":\"BOUND\"}]");
	char *s;

	(void)state;
	s = CAPTURE(ctlfmt_print_list(out, arr, ctlfmt_socket_cols, CTLFMT_SOCKET_NCOLS,
				      ctlfmt_socket_row, NOW, false));
	assert_string_equal(s, "udp    BOUND  0.0.0.0:53          -      -    -         -    -     -\n");
	free(s);
	s = CAPTURE(ctlfmt_print_list(out, arr, ctlfmt_socket_cols, CTLFMT_SOCKET_NCOLS,
				      ctlfmt_socket_row, NOW, true));
	assert_ptr_equal(strstr(s, "Netid  State  "), s);
	free(s);
	json_object_put(arr);
}

/* --state names: as the State column prints them, any case, ss's '-' for '_'. */
static void test_state_index(void **state)
{
	(void)state;
	assert_string_equal(ctlfmt_states[ctlfmt_state_index("LISTEN")], "LISTEN");
	assert_string_equal(ctlfmt_states[ctlfmt_state_index("listen")], "LISTEN");
	assert_string_equal(ctlfmt_states[ctlfmt_state_index("time-wait")], "TIME_WAIT");
	assert_string_equal(ctlfmt_states[ctlfmt_state_index("Time_Wait")], "TIME_WAIT");
	assert_string_equal(ctlfmt_states[ctlfmt_state_index("BOUND")], "BOUND");
	assert_string_equal(ctlfmt_states[ctlfmt_state_index("new_syn_recv")], "NEW_SYN_RECV");
	for (int i = 0; i < CTLFMT_NSTATES; i++)
		assert_int_equal(ctlfmt_state_index(ctlfmt_states[i]), i);
	assert_int_equal(ctlfmt_state_index("LISTENING"), -1);
	assert_int_equal(ctlfmt_state_index("LISTE"), -1);
	assert_int_equal(ctlfmt_state_index(""), -1);
	assert_int_equal(ctlfmt_state_index("estab"), -1);
}

static void test_alert_conflict_rows(void **state)
{
	struct json_object *a = parse(
		"{\"id\":7,\"time\":\"2026-11-23T13:00:00.000001Z\",\"severity\":\"critical\","
		"\"kind\":\"hijack_attempt\",\"reason\":\"shadow_wildcard\",\"proto\":\"tcp\","
		"\"addr\":\"127.0.0.1\",\"port\":80,\"result\":\"ok\","
		"\"holder\":{\"pid\":812,\"comm\":\"nginx\",\"uid\":33},"
		"\"contender\":{\"pid\":4242,\"comm\":\"evil\",\"uid\":1000},\"message\":\"m\"}");
	struct json_object *c = parse(
		"{\"id\":3,\"time\":\"2026-11-20T10:00:00.000000Z\",\"op\":\"bind\",\"errno\":98,"
		"\"errno_name\":\"EADDRINUSE\",\"pid\":999,\"comm\":\"python3\",\"uid\":1000,"
		"\"proto\":\"udp\",\"addr\":\"::\",\"port\":53,\"rule\":\"no_reuseaddr\","
		"\"explanation\":\"e\"}");
	struct ctlfmt_table *ta = ctlfmt_table_new(ctlfmt_alert_cols, CTLFMT_ALERT_NCOLS);
	struct ctlfmt_table *tc = ctlfmt_table_new(ctlfmt_conflict_cols, CTLFMT_CONFLICT_NCOLS);
	char *s;

	(void)state;
	assert_int_equal(ctlfmt_alert_row(ta, a, NOW), 0);
	s = CAPTURE(ctlfmt_table_print(ta, out, false));
	assert_string_equal(s, "7   13:00:00  critical  hijack_attempt/shadow_wildcard  tcp    "
			       "127.0.0.1:80  812/nginx uid=33  4242/evil uid=1000  ok      m\n");
	free(s);
	assert_int_equal(ctlfmt_conflict_row(tc, c, NOW), 0);
	s = CAPTURE(ctlfmt_table_print(tc, out, false));
	assert_string_equal(s, "3   2026-11-20 10:00:00  bind  EADDRINUSE  no_reuseaddr  udp    "
			       "[::]:53  999/python3  1000  e\n");
	free(s);
	ctlfmt_table_free(ta);
	ctlfmt_table_free(tc);
	json_object_put(a);
	json_object_put(c);
}

static void test_stats(void **state)
{
	struct json_object *st = parse(
		"{\"uptime_s\":3723,\"events\":{\"bind\":10,\"listen\":5},\"table_size\":4,"
		"\"hooks\":[\"tp/a\",\"tp/b\"],\"alerts_by_kind\":{\"hijack_attempt\":2},"
		"\"last_reconcile_ms\":110}");
	char *s;

	(void)state;
	s = CAPTURE(assert_int_equal(ctlfmt_print_stats(out, st), 0));
	assert_string_equal(s, "uptime:                 01:02:03\n"
			       "events bind:            10\n"
			       "events listen:          5\n"
			       "table size:             4\n"
			       "hook:                   tp/a\n"
			       "hook:                   tp/b\n"
			       "alerts hijack_attempt:  2\n"
			       "last reconcile ms:      110\n");
	free(s);
	json_object_put(st);
}

static void test_why(void **state)
{
	struct json_object *resp = parse(
		"{\"port\":80,\"holders\":[],\"time_wait\":[],\"explanation\":\"one two\\nthree\"}");
	char *s;

	(void)state;
	s = CAPTURE(assert_int_equal(ctlfmt_print_why(out, resp, NOW), 0));
	assert_string_equal(s, "one two three\n\nHolders: none\n\nTIME_WAIT: none\n");
	free(s);
	json_object_put(resp);
}

static void test_wrap(void **state)
{
	char *s;

	(void)state;
	s = CAPTURE(ctlfmt_wrap(out, "aaa bbb ccc dddd e", 2, 10));
	assert_string_equal(s, "  aaa bbb\n  ccc dddd\n  e\n");
	free(s);
	s = CAPTURE(ctlfmt_wrap(out, "averyveryverylongword x", 0, 10));
	assert_string_equal(s, "averyveryverylongword\nx\n");
	free(s);
	s = CAPTURE(ctlfmt_wrap(out, "", 0, 10));
	assert_string_equal(s, "\n");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ulong),
		cmocka_unit_test(test_parse_time),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_addr_flags),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_socket_row),
		cmocka_unit_test(test_socket_container),
		cmocka_unit_test(test_print_list_header),
		cmocka_unit_test(test_state_index),
		cmocka_unit_test(test_alert_conflict_rows),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_why),
		cmocka_unit_test(test_wrap),
	};

	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
