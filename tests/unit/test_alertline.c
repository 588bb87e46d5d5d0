// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_alertline.c - unit tests of daemon/alertline.c: the syslog
 * key=value line of an alert.
 */
#include <errno.h>

#include "alertline.h"
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
	snprintf(a.contender.owner.exe, sizeof(a.contender.owner.exe), "/tmp/x\"y");
	a.holder.owner.comm[0] = '\0';
	a.holder.owner.exe[0] = '\0';
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alert_kv),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
