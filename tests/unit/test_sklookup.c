// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Unit tests of sklookup.c's pure parts: a link is reported once, the
 * first time a scan finds it; links that are gone are forgotten; the
 * fdinfo text of a link fd gives its id; the message names what the
 * alert must name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sklookup.h"

struct seen {
	uint32_t ids[8];
	size_t n;
};

static void on_new(struct sklookup_link *l, void *arg)
{
	struct seen *s = arg;

	s->ids[s->n++] = l->link_id;
	l->alert_id = 100 + l->link_id; /* what the daemon keeps */
}

static struct sklookup_link lnk(uint32_t id, uint32_t netns)
{
	struct sklookup_link l = { .link_id = id, .prog_id = id + 1000, .netns = netns };

	strcpy(l.prog_name, "prog");
	return l;
}

static void test_merge_reports_each_link_once(void **state)
{
	struct sklookup s = { 0 };
	struct seen seen = { 0 };
	struct sklookup_link v[3] = { lnk(9, 1), lnk(4, 2) };

	(void)state;
	assert_int_equal(sklookup_merge(&s, v, 2, 10, on_new, &seen), 0);
	assert_int_equal(seen.n, 2);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.links[0].link_id, 4); /* kept by id */
	assert_int_equal(s.links[1].link_id, 9);
	assert_int_equal(s.links[0].first_ns, 10);
	assert_int_equal(s.found, 2);

	/* the same links again, one more: only the new one is reported */
	v[2] = lnk(5, 1);
	seen.n = 0;
	assert_int_equal(sklookup_merge(&s, v, 3, 20, on_new, &seen), 0);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.ids[0], 5);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.links[0].first_ns, 10); /* what the first scan recorded stays */
	assert_int_equal(s.links[0].alert_id, 104);
	assert_int_equal(s.found, 3);

	/* link 4 detached, link 9's namespace went away */
	v[0] = lnk(9, 0);
	v[1] = lnk(5, 1);
	seen.n = 0;
	assert_int_equal(sklookup_merge(&s, v, 2, 30, on_new, &seen), 0);
	assert_int_equal(seen.n, 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.links[0].link_id, 5);
	assert_int_equal(s.links[1].link_id, 9);
	assert_int_equal(s.links[1].netns, 0);
	assert_int_equal(s.links[1].alert_id, 109);

	/* none left */
	assert_int_equal(sklookup_merge(&s, NULL, 0, 40, on_new, &seen), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(seen.n, 0);
	sklookup_free(&s);
	sklookup_free(&s); /* twice: a zeroed set */
}

static void test_fdinfo_link_id(void **state)
{
	static const char text[] = "pos:\t0\nflags:\t02000000\nmnt_id:\t15\nino:\t1057\n"
				   "link_type:\tnetns\nlink_id:\t41733\nprog_tag:\t"
				   "3b185187f1855c4c\nprog_id:\t76652\nnetns_ino:\t4026532174\n";
	uint32_t id = 0;

	(void)state;
	assert_int_equal(sklookup_fdinfo_link_id(text, &id), 1);
	assert_int_equal(id, 41733);
	assert_int_equal(sklookup_fdinfo_link_id("pos:\t0\nprog_id:\t3\n", &id), 0);
	assert_int_equal(sklookup_fdinfo_link_id("", &id), 0);
	assert_int_equal(sklookup_fdinfo_link_id("xlink_id:\t5\n", &id), 0);
}

static void test_message(void **state)
{
	struct sklookup_link l = lnk(41733, 4026532174u);
	char buf[320];

	(void)state;
	strcpy(l.prog_name, "pwt_sk_pass");
	l.owner.pid = 1603;
	l.owner.uid = 0;
	strcpy(l.owner.comm, "sklookup_attach");
	l.owner.exe = strpool_intern("/usr/bin/x");
	sklookup_message(buf, sizeof(buf), &l);
	assert_non_null(strstr(buf, "pwt_sk_pass (id 42733)"));
	assert_non_null(strstr(buf, "link 41733"));
	assert_non_null(strstr(buf, "namespace 4026532174"));
	assert_non_null(strstr(buf, "pid 1603 (sklookup_attach, uid 0, /usr/bin/x)"));
	l.owner.pid = 0;
	l.prog_name[0] = '\0';
	sklookup_message(buf, sizeof(buf), &l);
	assert_non_null(strstr(buf, "(unnamed) (id 42733)"));
	assert_non_null(strstr(buf, "held by no process"));
	sklookup_message(buf, 8, &l); /* truncated, terminated */
	assert_int_equal(strlen(buf), 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge_reports_each_link_once),
		cmocka_unit_test(test_fdinfo_link_id),
		cmocka_unit_test(test_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
