// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_protect.c - protect rules (protect.c): parsing and its errors, the
 * text --check prints, address overlap and owner matching; and the
 * [protect] section of portwatch.conf (config.c) with FILE:LINE errors.
 */
#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "helpers.h"

#include "config.h"
#include "protect.h"

static void test_parse_and_text(void **state)
{
	struct pw_protect p = { 0 };
	char err[400], text[600];

	(void)state;
	assert_int_equal(protect_add(&p, "udp 53 127.0.0.1 exe=/usr/sbin/unbound uid=0", 3,
				     "/nonexistent", err, sizeof(err)), 0);
	assert_int_equal(protect_add(&p, "TCP 443 unit=nginx.service cgroup=/system.slice/x/", 4,
				     "/nonexistent", err, sizeof(err)), 0);
	assert_int_equal(protect_add(&p, "tcp 8000-8010 ::ffff:10.0.0.1 netns=4026531840 uid=0",
				     5, "/nonexistent", err, sizeof(err)), 0);
	assert_int_equal(protect_add(&p, "tcp 80 [::1] uid=root", 6, "/nonexistent", err,
				     sizeof(err)), 0);
	assert_int_equal(p.nrules, 4);
	assert_int_equal(p.rules[0].protocol, IPPROTO_UDP);
	assert_int_equal(p.rules[0].family, AF_INET);
	assert_int_equal(p.rules[0].nsel, 2);
	assert_int_equal(p.rules[0].line, 3);
	protect_rule_text(&p.rules[0], text, sizeof(text));
	assert_string_equal(text, "udp 53 127.0.0.1 exe=/usr/sbin/unbound uid=0");
	protect_rule_text(&p.rules[1], text, sizeof(text));
	assert_string_equal(text, "tcp 443 unit=nginx.service cgroup=/system.slice/x");
	/* a v4-mapped address is its IPv4 address */
	protect_rule_text(&p.rules[2], text, sizeof(text));
	assert_string_equal(text, "tcp 8000-8010 10.0.0.1 netns=4026531840 uid=0");
	assert_int_equal(p.rules[2].netns, 4026531840u);
	protect_rule_text(&p.rules[3], text, sizeof(text));
	assert_string_equal(text, "tcp 80 [::1] uid=0");
	protect_free(&p);
	assert_int_equal(p.nrules, 0);
}

static void test_parse_errors(void **state)
{
	static const struct {
		const char *line, *msg;
	} bad[] = {
		{ "sctp 53 uid=0", "expected 'tcp' or 'udp'" },
		{ "tcp", "a port or LO-HI range" },
		{ "tcp 0 uid=0", "is not a port" },
		{ "tcp 10-5 uid=0", "is not a port" },
		{ "tcp 443", "no owner" },
		{ "tcp 443 127.0.0.1", "no owner" },
		{ "tcp 443 nowhere uid=0", "not an IPv4 or IPv6 address" },
		{ "tcp 443 exe=relative", "absolute path" },
		{ "tcp 443 cgroup=system.slice", "cgroup v2 path" },
		{ "tcp 443 cgroup=/a/../b", "cgroup v2 path" },
		{ "tcp 443 unit=a/b", "no '/'" },
		{ "tcp 443 uid=no-such-user-here", "no such user" },
		{ "tcp 443 color=red", "unknown selector" },
		{ "tcp 443 netns=nope uid=0", "netns=nope" },
		{ "tcp 443 netns=1 netns=2 uid=0", "twice" },
		{ "tcp 443 uid=0 127.0.0.1", "expected exe=PATH" },
	};
	struct pw_protect p = { 0 };
	char err[400];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(protect_add(&p, bad[i].line, 1, "/nonexistent", err, sizeof(err)),
				 -EINVAL);
		if (!strstr(err, bad[i].msg))
			fail_msg("'%s': '%s' does not say '%s'", bad[i].line, err, bad[i].msg);
	}
	assert_int_equal(p.nrules, 0);
	assert_int_equal(protect_parse_mode("enforce"), PW_PROTECT_ENFORCE);
	assert_int_equal(protect_parse_mode("monitor"), PW_PROTECT_MONITOR);
	assert_int_equal(protect_parse_mode("off"), PW_PROTECT_OFF);
	assert_int_equal(protect_parse_mode("on"), -EINVAL);
}

static void test_covers(void **state)
{
	struct pw_protect p = { 0 };
	char err[400];
	struct pw_sock s;

	(void)state;
	assert_int_equal(protect_add(&p, "udp 53 127.0.0.1 uid=0", 1, "/x", err, sizeof(err)), 0);
	assert_int_equal(protect_add(&p, "tcp 443 uid=0", 2, "/x", err, sizeof(err)), 0);
	assert_int_equal(protect_add(&p, "tcp 8080 [::1] netns=4026531840 uid=0", 3, "/x", err,
				     sizeof(err)), 0);

	/* rule 1: 127.0.0.1 and what overlaps it */
	s = pwt_udp("127.0.0.1", 53, 0, 0);
	assert_true(protect_covers(&p.rules[0], &s));
	s = pwt_udp("0.0.0.0", 53, 0, 0);
	assert_true(protect_covers(&p.rules[0], &s));
	s = pwt_udp("::", 53, 0, 0); /* dual-stack */
	assert_true(protect_covers(&p.rules[0], &s));
	s = pwt_udp("::", 53, PWT_V6ONLY, 0); /* as the cgroup/bind6 hook sees it */
	assert_true(protect_covers(&p.rules[0], &s));
	s = pwt_udp("::ffff:127.0.0.1", 53, 0, 0);
	assert_true(protect_covers(&p.rules[0], &s));
	s = pwt_udp("127.0.0.2", 53, 0, 0);
	assert_false(protect_covers(&p.rules[0], &s));
	s = pwt_udp("::1", 53, 0, 0);
	assert_false(protect_covers(&p.rules[0], &s));
	s = pwt_tcp("127.0.0.1", 53, PW_TCP_CLOSE, 0, 0); /* the rule is UDP's */
	assert_false(protect_covers(&p.rules[0], &s));
	s = pwt_udp("127.0.0.1", 54, 0, 0);
	assert_false(protect_covers(&p.rules[0], &s));

	/* rule 2: every address, every namespace */
	s = pwt_tcp("10.1.2.3", 443, PW_TCP_CLOSE, 0, 0);
	s.netns = PWT_NS2;
	assert_true(protect_covers(&p.rules[1], &s));
	s = pwt_tcp("::1", 443, PW_TCP_CLOSE, 0, 0);
	assert_true(protect_covers(&p.rules[1], &s));

	/* rule 3: [::1] in one netns; an IPv4 wildcard does not meet it */
	s = pwt_tcp("::", 8080, PW_TCP_CLOSE, PWT_V6ONLY, 0);
	assert_true(protect_covers(&p.rules[2], &s));
	s = pwt_tcp("0.0.0.0", 8080, PW_TCP_CLOSE, 0, 0);
	assert_false(protect_covers(&p.rules[2], &s));
	s = pwt_tcp("::1", 8080, PW_TCP_CLOSE, 0, 0);
	s.netns = PWT_NS2;
	assert_false(protect_covers(&p.rules[2], &s));
	protect_free(&p);
}

static void test_match_owners(void **state)
{
	struct pw_protect p = { 0 };
	struct pw_owner o = { 0 };
	const struct pw_protect_rule *r;
	char err[400];
	struct pw_sock s;
	int allowed;

	(void)state;
	assert_int_equal(protect_add(&p, "udp 53 exe=/usr/sbin/unbound", 1, "/x", err,
				     sizeof(err)), 0);
	assert_int_equal(protect_add(&p, "tcp 443 unit=nginx.service uid=33", 2, "/x", err,
				     sizeof(err)), 0);
	assert_int_equal(protect_add(&p, "tcp 443 127.0.0.1 cgroup=/system.slice", 3, "/x", err,
				     sizeof(err)), 0);
	assert_int_equal(protect_add(&p, "tcp 9000 exe=/bin/sh", 4, "/x", err, sizeof(err)), 0);

	s = pwt_tcp("10.0.0.1", 80, PW_TCP_CLOSE, 0, 0);
	assert_null(protect_match(&p, &s, &o, NULL, &allowed)); /* not protected */
	assert_true(allowed);

	s = pwt_udp("0.0.0.0", 53, 0, 0);
	o.exe = pwt_str("/usr/sbin/unbound");
	r = protect_match(&p, &s, &o, NULL, &allowed);
	assert_non_null(r);
	assert_int_equal(r->line, 1);
	assert_true(allowed);
	o.exe = pwt_str("/usr/sbin/dnsmasq");
	r = protect_match(&p, &s, &o, NULL, &allowed);
	assert_int_equal(r->line, 1);
	assert_false(allowed);

	/* exe by identity: a process whose path was not read */
	protect_resolve_exes(&p);
	{
		struct stat st;

		assert_int_equal(stat("/bin/sh", &st), 0);
		o.exe = 0;
		o.exe_ino = st.st_ino;
		o.exe_dev = pw_kernel_dev(major(st.st_dev), minor(st.st_dev));
		s = pwt_tcp("0.0.0.0", 9000, PW_TCP_CLOSE, 0, 0);
		assert_int_equal(protect_match(&p, &s, &o, NULL, &allowed)->line, 4);
		assert_true(allowed);
		o.exe_ino++;
		protect_match(&p, &s, &o, NULL, &allowed);
		assert_false(allowed);
	}

	/* 443 on 127.0.0.1 falls under two rules: the owner must pass both */
	memset(&o, 0, sizeof(o));
	o.uid = 33;
	s = pwt_tcp("10.0.0.1", 443, PW_TCP_CLOSE, 0, 0);
	assert_int_equal(protect_match(&p, &s, &o, NULL, &allowed)->line, 2);
	assert_true(allowed);
	s = pwt_tcp("0.0.0.0", 443, PW_TCP_CLOSE, 0, 0);
	r = protect_match(&p, &s, &o, "/user.slice/user-33.slice", &allowed);
	assert_int_equal(r->line, 3); /* the rule that refuses */
	assert_false(allowed);
	protect_match(&p, &s, &o, "/system.slice/nginx.service", &allowed);
	assert_true(allowed);
	protect_match(&p, &s, &o, "/system.slice.evil/x", &allowed); /* not a component prefix */
	assert_false(allowed);
	protect_match(&p, &s, &o, NULL, &allowed); /* cgroup unknown */
	assert_false(allowed);
	o.uid = 0;
	o.unit = pwt_str("nginx.service");
	protect_match(&p, &s, &o, "/system.slice/nginx.service", &allowed);
	assert_true(allowed);
	assert_non_null(protect_in_range(&p, IPPROTO_TCP, 400, 500));
	assert_null(protect_in_range(&p, IPPROTO_UDP, 400, 500));
	assert_null(protect_in_range(&p, 0, 32768, 60999));
	protect_free(&p);
}

static void test_config_section(void **state)
{
	char path[] = "/tmp/pwt-protect-XXXXXX", err[600];
	static const char good[] = "[protect]\nmode = enforce\n"
				   "protect = udp 53 127.0.0.1 exe=/usr/sbin/unbound\n"
				   "protect = tcp 443 unit=nginx.service\n";
	static const char bad[] = "[protect]\nmode = monitor\n\nprotect = tcp 443\n";
	struct pw_config c;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, good, sizeof(good) - 1), (ssize_t)sizeof(good) - 1);
	close(fd);
	config_defaults(&c);
	assert_int_equal(c.protect.mode, PW_PROTECT_OFF);
	assert_int_equal(config_load(&c, path, 0, err, sizeof(err)), 0);
	assert_int_equal(c.protect.mode, PW_PROTECT_ENFORCE);
	assert_int_equal(c.protect.takeover, PW_TAKEOVER_PROTECTED); /* the default */
	assert_int_equal(c.protect.nrules, 2);
	assert_int_equal(c.protect.rules[1].line, 4);
	assert_string_equal(c.protect.path, path);
	config_free(&c);

	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, bad, sizeof(bad) - 1), (ssize_t)sizeof(bad) - 1);
	close(fd);
	config_defaults(&c);
	assert_int_equal(config_load(&c, path, 0, err, sizeof(err)), -EINVAL);
	if (!strstr(err, ":4: protect: no owner"))
		fail_msg("'%s'", err);
	config_free(&c);

	config_defaults(&c);
	assert_int_equal(config_set(&c, "protect", "mode", "on", 2, err, sizeof(err)), -EINVAL);
	assert_int_equal(config_set(&c, "protect", "other", "x", 2, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unknown key 'other' in section [protect]"));
	config_free(&c);
	unlink(path);
}

static void test_takeover(void **state)
{
	struct pw_protect p;
	char err[300], text[100];

	(void)state;
	memset(&p, 0, sizeof(p));
	assert_int_equal(protect_set_takeover(&p, "off", "/nonexistent", err, sizeof(err)), 0);
	assert_int_equal(p.takeover, PW_TAKEOVER_OFF);
	assert_int_equal(protect_set_takeover(&p, "listeners netns=4026532001", "/nonexistent",
					      err, sizeof(err)), 0);
	assert_int_equal(p.takeover, PW_TAKEOVER_LISTENERS);
	assert_int_equal(p.takeover_netns, 4026532001u);
	protect_takeover_text(&p, text, sizeof(text));
	assert_string_equal(text, "listeners netns=4026532001");
	/* a plain value clears the namespace of an earlier one */
	assert_int_equal(protect_set_takeover(&p, "protected", "/nonexistent", err, sizeof(err)),
			 0);
	assert_int_equal(p.takeover, PW_TAKEOVER_PROTECTED);
	assert_int_equal(p.takeover_netns, 0);
	protect_takeover_text(&p, text, sizeof(text));
	assert_string_equal(text, "protected");
	assert_int_equal(protect_set_takeover(&p, "all", "/nonexistent", err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "'all' is not 'protected', 'listeners [netns=NS]' or 'off'"));
	assert_int_equal(protect_set_takeover(&p, "listeners netns=web", "/nonexistent", err,
					      sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "'netns=web': /nonexistent/web:"));
	assert_int_equal(protect_set_takeover(&p, "protected netns=1", "/nonexistent", err,
					      sizeof(err)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_and_text),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_covers),
		cmocka_unit_test(test_match_owners),
		cmocka_unit_test(test_config_section),
		cmocka_unit_test(test_takeover),
	};

	return cmocka_run_group_tests_name("protect", tests, NULL, NULL);
}
