// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_alertline.c - unit tests of daemon/alertline.c: the syslog
 * key=value line of an alert.
 */
#include <errno.h>

#include "alertline.h"
#include "container.h"
#include "helpers.h"
#include "report.h"

static void test_alert_kv(void **state)
{
	struct pw_alert a;
	char buf[1024];

	(void)state;
	pwt_alert(&a, "0.0.0.0", "127.0.0.1");
	pw_alert_kv(&a, buf, sizeof(buf));
	assert_string_equal(buf, "kind=hijack_attempt reason=shadow_wildcard severity=critical "
				 "proto=tcp local=127.0.0.1:8080 netns=4026531840 "
				 "holder=\"pid=10 comm=nginx uid=33 exe=/usr/sbin/nginx\" "
				 "contender=\"pid=20 comm=evil uid=1000 exe=/tmp/evil\" "
				 "result=ok id=7");

	/* IPv6 local in brackets; a refused attempt; quotes and blanks defused */
	pwt_alert(&a, "::", "::1");
	a.result = EADDRINUSE;
	a.severity = RULES_SEV_NOTICE;
	a.reason = RULES_REASON_BLOCKED;
	snprintf(a.contender.owner.comm, sizeof(a.contender.owner.comm), "a \"b\"");
	a.contender.owner.exe = pwt_str("/tmp/x\"y");
	a.holder.owner.comm[0] = '\0';
	a.holder.owner.exe = 0;
	pw_alert_kv(&a, buf, sizeof(buf));
	assert_string_equal(buf, "kind=hijack_attempt reason=blocked severity=notice "
				 "proto=tcp local=[::1]:8080 netns=4026531840 "
				 "holder=\"pid=10 comm=- uid=33 exe=-\" "
				 "contender=\"pid=20 comm=a\\x20\\x22b\\x22 uid=1000 exe=/tmp/x\\x22y\" "
				 "result=EADDRINUSE id=7");

	/* issue 17: a name made to spoof a field, break the line and color it */
	snprintf(a.contender.owner.comm, sizeof(a.contender.owner.comm), "x\" uid=0\n\x1b[1m\xff");
	pw_alert_kv(&a, buf, sizeof(buf));
	assert_non_null(strstr(buf, "comm=x\\x22\\x20uid\\x3d0\\x0a\\x1b[1m\\xff uid=1000"));
	for (const char *p = buf; *p; p++)
		assert_true((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);

	/* truncated to the buffer */
	pw_alert_kv(&a, buf, 20);
	assert_string_equal(buf, "kind=hijack_attempt");
}

/* A container and pod before exe=, short ids, names escaped; none: no keys. */
static void test_alert_kv_container(void **state)
{
	struct pw_container c;
	struct pw_alert a;
	char buf[1024];

	(void)state;
	pwt_alert(&a, "0.0.0.0", "127.0.0.1");
	assert_int_equal(container_from_cgroup(
				 "/kubepods/burstable/pod0d2e4a4b-9d2f-4c7e-8b7a-1c2d3e4f5a6b/"
				 "3f0c1a9e5b7d4c2a8e6f1b3d5a7c9e0f2b4d6a8c0e1f3a5b7d9c1e3f5a7b9d0c",
				 &c),
			 0);
	a.holder.owner.ctr = container_intern(&c);
	memset(&c, 0, sizeof(c));
	snprintf(c.id, sizeof(c.id), "web \"1\"");
	c.runtime = CONTAINER_LXC;
	a.contender.owner.ctr = container_intern(&c);
	pw_alert_kv(&a, buf, sizeof(buf));
	assert_string_equal(buf, "kind=hijack_attempt reason=shadow_wildcard severity=critical "
				 "proto=tcp local=127.0.0.1:8080 netns=4026531840 "
				 "holder=\"pid=10 comm=nginx uid=33 container=containerd:3f0c1a9e5b7d "
				 "pod=0d2e4a4b-9d2f-4c7e-8b7a-1c2d3e4f5a6b exe=/usr/sbin/nginx\" "
				 "contender=\"pid=20 comm=evil uid=1000 container=lxc:web\\x20\\x221\\x22 "
				 "exe=/tmp/evil\" result=ok id=7");
	container_pool_free();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alert_kv),
		cmocka_unit_test(test_alert_kv_container),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
