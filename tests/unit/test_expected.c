// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Unit tests of expected.c: the last listener's owner group per port,
 * who counts as that owner, and the state file (a record survives a
 * round trip through a line, odd names included; bad lines are skipped;
 * save and load through a real directory).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <unistd.h>

#include "helpers.h"
#include "expected.h"

static struct pw_entry listener(uint32_t netns, uint16_t port, uint32_t uid, uint64_t ino,
				const char *exe)
{
	struct pw_entry e;

	memset(&e, 0, sizeof(e));
	e.sk.netns = netns;
	e.sk.protocol = IPPROTO_TCP;
	e.sk.lport = port;
	e.owner.pid = 42;
	e.owner.uid = uid;
	e.owner.exe_ino = ino;
	e.owner.exe_dev = 2049;
	e.owner.exe = pwt_str("%s", exe);
	snprintf(e.owner.comm, sizeof(e.owner.comm), "svc");
	return e;
}

static void test_note_get_owner(void **state)
{
	struct expected_owners x;
	struct pw_entry a = listener(PWT_NS1, 8443, 1234, 77, "/usr/sbin/svc");
	const struct expected_owner *r;
	struct pw_owner o;

	(void)state;
	assert_int_equal(expected_init(&x), 0);
	assert_null(expected_get(&x, PWT_NS1, IPPROTO_TCP, 8443));
	expected_note(&x, &a, 5000000000ULL);
	assert_true(x.dirty);
	r = expected_get(&x, PWT_NS1, IPPROTO_TCP, 8443);
	assert_non_null(r);
	assert_int_equal(r->uid, 1234);
	assert_int_equal(r->gone_ns, 5000000000ULL);
	assert_null(expected_get(&x, PWT_NS2, IPPROTO_TCP, 8443));
	assert_null(expected_get(&x, PWT_NS1, IPPROTO_UDP, 8443));
	assert_null(expected_get(&x, PWT_NS1, IPPROTO_TCP, 8444));

	o = a.owner;
	o.pid = 99; /* the restarted service: another pid, same group */
	assert_true(expected_is_owner(r, &o));
	o.uid = 1235;
	assert_false(expected_is_owner(r, &o));
	o = a.owner;
	o.exe_ino = 78; /* another executable under the same uid */
	assert_false(expected_is_owner(r, &o));
	o.exe_ino = 0; /* unknown identity: the path decides */
	assert_true(expected_is_owner(r, &o));
	o.pid = 0; /* nobody */
	assert_false(expected_is_owner(r, &o));

	/* another owner's listener leaves later: it is the expected owner now */
	a = listener(PWT_NS1, 8443, 1235, 88, "/tmp/squat");
	expected_note(&x, &a, 6000000000ULL);
	assert_int_equal(expected_get(&x, PWT_NS1, IPPROTO_TCP, 8443)->uid, 1235);
	/* an unattributed socket is nobody's */
	a.owner.pid = 0;
	a.sk.lport = 9000;
	expected_note(&x, &a, 7000000000ULL);
	assert_null(expected_get(&x, PWT_NS1, IPPROTO_TCP, 9000));
	expected_free(&x);
	expected_free(&x);
}

static void test_line_round_trip(void **state)
{
	struct pw_entry a = listener(PWT_NS2, 443, 0, 123456789012ULL, "/opt/my app/bin%x");
	struct expected_owners x;
	struct expected_owner r;
	char line[EXPECTED_LINE_MAX + 2];

	(void)state;
	assert_int_equal(expected_init(&x), 0);
	snprintf(a.owner.comm, sizeof(a.owner.comm), "a\tb\xff");
	expected_note(&x, &a, 1700000000ULL * 1000000000ULL + 5);
	expected_format(expected_get(&x, PWT_NS2, IPPROTO_TCP, 443), line, sizeof(line));
	assert_string_equal(line, "4026532001 6 443 0 2049 123456789012 1700000000 a%09b%FF "
				  "/opt/my%20app/bin%25x\n");
	assert_int_equal(expected_parse(line, &r), 0);
	assert_int_equal(r.netns, PWT_NS2);
	assert_int_equal(r.port, 443);
	assert_int_equal(r.exe_ino, 123456789012ULL);
	assert_int_equal(r.gone_ns, 1700000000ULL * 1000000000ULL);
	assert_string_equal(expected_exe(&r), "/opt/my app/bin%x");
	assert_string_equal(r.comm, "a\tb\xff");
	/* empty names */
	assert_int_equal(expected_parse("1 17 53 0 0 0 9 - -\n", &r), 0);
	assert_string_equal(expected_exe(&r), "");
	/* what does not parse */
	assert_int_equal(expected_parse("1 6 80 0 0 0 9 svc\n", &r), -EINVAL);     /* no exe */
	assert_int_equal(expected_parse("1 1 80 0 0 0 9 - -\n", &r), -EINVAL);     /* proto */
	assert_int_equal(expected_parse("1 6 0 0 0 0 9 - -\n", &r), -EINVAL);      /* port 0 */
	assert_int_equal(expected_parse("1 6 70000 0 0 0 9 - -\n", &r), -EINVAL);  /* port */
	assert_int_equal(expected_parse("1 6 80 0 0 0 9 - - x\n", &r), -EINVAL);   /* extra */
	assert_int_equal(expected_parse("1 6 80 0 0 0 9 %G0 -\n", &r), -EINVAL);   /* escape */
	assert_int_equal(expected_parse("1 6 80 0 0 0 9 %00 -\n", &r), -EINVAL);   /* NUL */
	assert_int_equal(expected_parse("", &r), -EINVAL);
	expected_free(&x);
}

static void test_save_load(void **state)
{
	char dir[] = "/tmp/pwt-expected-XXXXXX", sub[64], path[128];
	struct expected_owners x, y;
	struct pw_entry a;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/a/owners", dir); /* made at save */
	assert_int_equal(expected_init(&x), 0);
	assert_int_equal(expected_init(&y), 0);
	assert_int_equal(expected_load(&y, sub), -ENOENT);
	for (uint16_t p = 1000; p < 1010; p++) {
		a = listener(PWT_NS1, p, p, p, "/usr/bin/x");
		expected_note(&x, &a, (uint64_t)p * 1000000000ULL);
	}
	assert_int_equal(expected_save(&x, sub), 0);
	assert_false(x.dirty);
	assert_int_equal(expected_load(&y, sub), 0);
	for (uint16_t p = 1000; p < 1010; p++) {
		const struct expected_owner *r = expected_get(&y, PWT_NS1, IPPROTO_TCP, p);

		assert_non_null(r);
		assert_int_equal(r->uid, p);
		assert_string_equal(expected_exe(r), "/usr/bin/x");
	}
	/* a damaged line is skipped, the others kept */
	snprintf(path, sizeof(path), "%s/%s", sub, EXPECTED_FILE);
	f = fopen(path, "a");
	assert_non_null(f);
	fputs("garbage\n", f);
	fclose(f);
	expected_free(&y);
	assert_int_equal(expected_init(&y), 0);
	assert_int_equal(expected_load(&y, sub), 1);
	assert_non_null(expected_get(&y, PWT_NS1, IPPROTO_TCP, 1009));
	/* another format: not read */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("something else\n", f);
	fclose(f);
	assert_int_equal(expected_load(&y, sub), -EINVAL);
	unlink(path);
	rmdir(sub);
	snprintf(path, sizeof(path), "%s/a", dir);
	rmdir(path);
	rmdir(dir);
	expected_free(&x);
	expected_free(&y);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_note_get_owner),
		cmocka_unit_test(test_line_round_trip),
		cmocka_unit_test(test_save_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
