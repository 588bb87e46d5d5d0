// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_journal.c - unit tests of daemon/journal.c: the fields of an
 * alert's journal entry, its MESSAGE_ID table, and hostile names.
 */
#include <ctype.h>
#include <errno.h>
#include <syslog.h>

#include "helpers.h"
#include "journal.h"
#include "msgid.h"
#include "report.h"
#include "rules.h"

/* The handle of the longest string a buffer of len bytes holds: len - 1 bytes of c. */
static uint32_t longest(int c, size_t len)
{
	char buf[1024];

	assert_true(len <= sizeof(buf));
	memset(buf, c, len - 1);
	buf[len - 1] = '\0';
	return strpool_intern(buf);
}

/* The value of field name in e, or NULL; each field must be there once. */
static const char *field(const struct journal_entry *e, const char *name)
{
	size_t len = strlen(name);
	const char *found = NULL;

	for (size_t i = 0; i < e->n; i++) {
		const char *f = e->iov[i].iov_base;

		if (e->iov[i].iov_len > len && !strncmp(f, name, len) && f[len] == '=') {
			assert_null(found);
			found = f + len + 1;
		}
	}
	return found;
}

static void assert_field(const struct journal_entry *e, const char *name, const char *want)
{
	const char *v = field(e, name);

	if (!v)
		fail_msg("field %s missing", name);
	assert_string_equal(v, want);
}

static void test_fields(void **state)
{
	static struct journal_entry e;
	struct pw_alert a;

	(void)state;
	pwt_alert(&a, "0.0.0.0", "127.0.0.1");
	a.holder.owner.unit = pwt_str("nginx.service");
	journal_entry_build(&e, &a, "kind=hijack_attempt the line", LOG_LOCAL3);
	assert_false(e.truncated);
	assert_field(&e, "MESSAGE", "kind=hijack_attempt the line");
	assert_field(&e, "PRIORITY", "2");
	assert_field(&e, "SYSLOG_FACILITY", "19");
	assert_field(&e, "SYSLOG_IDENTIFIER", "portwatchd");
	assert_field(&e, "MESSAGE_ID", PW_MSGID_SHADOW_WILDCARD);
	assert_field(&e, "PORTWATCH_ALERT_ID", "7");
	assert_field(&e, "PORTWATCH_KIND", "hijack_attempt");
	assert_field(&e, "PORTWATCH_REASON", "shadow_wildcard");
	assert_field(&e, "PORTWATCH_SEVERITY", "critical");
	assert_field(&e, "PORTWATCH_PROTO", "tcp");
	assert_field(&e, "PORTWATCH_LOCAL_ADDR", "127.0.0.1");
	assert_field(&e, "PORTWATCH_LOCAL_PORT", "8080");
	assert_field(&e, "PORTWATCH_NETNS", "4026531840");
	assert_field(&e, "PORTWATCH_RESULT", "ok");
	assert_field(&e, "PORTWATCH_HOLDER_PID", "10");
	assert_field(&e, "PORTWATCH_HOLDER_UID", "33");
	assert_field(&e, "PORTWATCH_HOLDER_COMM", "nginx");
	assert_field(&e, "PORTWATCH_HOLDER_EXE", "/usr/sbin/nginx");
	assert_field(&e, "PORTWATCH_HOLDER_UNIT", "nginx.service");
	assert_field(&e, "PORTWATCH_CONTENDER_PID", "20");
	assert_field(&e, "PORTWATCH_CONTENDER_UID", "1000");
	assert_field(&e, "PORTWATCH_CONTENDER_COMM", "evil");
	assert_field(&e, "PORTWATCH_CONTENDER_EXE", "/tmp/evil");
	assert_null(field(&e, "PORTWATCH_CONTENDER_UNIT")); /* none: left out */
	assert_field(&e, "PORTWATCH_MESSAGE", "shadow_wildcard: test");
	assert_null(field(&e, "PORTWATCH_FOLDED"));
	assert_null(field(&e, "PORTWATCH_RANGE"));

	/* a refused IPv6 attempt (notice), then a folded summary */
	pwt_alert(&a, "::", "::1");
	a.result = EADDRINUSE;
	a.severity = RULES_SEV_NOTICE;
	a.reason = RULES_REASON_BLOCKED;
	a.fold_count = 41;
	a.fold_of = 3;
	a.fold_first_ns = 1795438118000000000ULL;
	a.fold_last_ns = 1795438119500000000ULL;
	a.fold_ports[0] = 8080;
	a.fold_ports[1] = 8081;
	a.fold_nports = 2;
	a.fold_more = 1;
	journal_entry_build(&e, &a, "x", LOG_DAEMON);
	assert_field(&e, "PRIORITY", "5");
	assert_field(&e, "SYSLOG_FACILITY", "3");
	assert_field(&e, "MESSAGE_ID", PW_MSGID_BLOCKED);
	assert_field(&e, "PORTWATCH_LOCAL_ADDR", "::1");
	assert_field(&e, "PORTWATCH_RESULT", "EADDRINUSE");
	assert_field(&e, "PORTWATCH_FOLDED", "41");
	assert_field(&e, "PORTWATCH_FOLDED_OF", "3");
	assert_field(&e, "PORTWATCH_FIRST", "2026-11-23T12:48:38.000000Z");
	assert_field(&e, "PORTWATCH_LAST", "2026-11-23T12:48:39.500000Z");
	assert_field(&e, "PORTWATCH_PORTS", "8080,8081,more");

	/* ephemeral exhaustion: warning, range and destination */
	pwt_alert(&a, "0.0.0.0", "10.0.0.1");
	a.kind = RULES_KIND_RESOURCE;
	a.reason = RULES_REASON_EPHEMERAL_EXHAUSTED;
	a.severity = RULES_SEV_WARNING;
	a.has_eph = 1;
	a.eph.lo = 32768;
	a.eph.hi = 60999;
	a.eph.in_use = 28232;
	a.eph.rport = 443;
	assert_int_equal(pw_addr_pton("192.0.2.1", &(uint16_t){ 0 }, a.eph.raddr), 0);
	journal_entry_build(&e, &a, "x", LOG_DAEMON);
	assert_field(&e, "PRIORITY", "4");
	assert_field(&e, "MESSAGE_ID", PW_MSGID_EPHEMERAL_EXHAUSTED);
	assert_field(&e, "PORTWATCH_RANGE", "32768-60999");
	assert_field(&e, "PORTWATCH_IN_USE", "28232");
	assert_field(&e, "PORTWATCH_DESTINATION", "192.0.2.1:443");
}

/* issue 17: names that would split a field, color a viewer or break UTF-8 */
static void test_hostile_names(void **state)
{
	static struct journal_entry e;
	struct pw_alert a;

	(void)state;
	pwt_alert(&a, "0.0.0.0", "127.0.0.1");
	snprintf(a.contender.owner.comm, sizeof(a.contender.owner.comm), "x\" uid=0\n\x1b[1m\xff");
	a.contender.owner.exe = pwt_str("/tmp/a b\\c\r\xc3\xa9");
	snprintf(a.message, sizeof(a.message), "shadow_wildcard: pid 20 (x\" uid=0\n\x1b[1m\xff)");
	journal_entry_build(&e, &a, "line", LOG_DAEMON);
	assert_field(&e, "PORTWATCH_CONTENDER_COMM", "x\" uid=0\\x0a\\x1b[1m\\xff");
	assert_field(&e, "PORTWATCH_CONTENDER_EXE", "/tmp/a b\\x5cc\\x0d\xc3\xa9");
	assert_field(&e, "PORTWATCH_MESSAGE", "shadow_wildcard: pid 20 (x\" uid=0\\x0a\\x1b[1m\\xff)");
	/* no field holds a control byte; each is its own iovec, NAME=value */
	for (size_t i = 0; i < e.n; i++) {
		const unsigned char *f = e.iov[i].iov_base;

		for (size_t j = 0; j < e.iov[i].iov_len; j++)
			assert_true(f[j] >= 0x20 && f[j] != 0x7f);
		for (size_t j = 0; f[j] != '='; j++)
			assert_true(isupper(f[j]) || isdigit(f[j]) || f[j] == '_');
	}

	/* the longest names still fit: nothing is left out */
	a.holder.owner.exe = longest(0xff, PW_EXE_LEN);
	a.contender.owner.exe = longest(0x01, PW_EXE_LEN);
	a.holder.owner.unit = longest('\n', PW_UNIT_LEN);
	a.contender.owner.unit = longest('\\', PW_UNIT_LEN);
	memset(a.message, 0x7f, sizeof(a.message) - 1);
	a.message[sizeof(a.message) - 1] = '\0';
	journal_entry_build(&e, &a, "line", LOG_DAEMON);
	assert_false(e.truncated);
	assert_int_equal(strlen(field(&e, "PORTWATCH_HOLDER_EXE")), 4 * (PW_EXE_LEN - 1));
	assert_int_equal(strlen(field(&e, "PORTWATCH_MESSAGE")), 4 * (PW_MSG_LEN - 1));
}

/* One id per reason, under the kind it is raised with; all distinct, 32 hex digits. */
static void test_msgids(void **state)
{
	static const struct {
		enum rules_alert_kind kind;
		enum rules_alert_reason reason;
	} raised[] = {
		{ RULES_KIND_HIJACK_ATTEMPT, RULES_REASON_SHADOW_WILDCARD },
		{ RULES_KIND_HIJACK_ATTEMPT, RULES_REASON_REUSEPORT_JOIN },
		{ RULES_KIND_HIJACK_ATTEMPT, RULES_REASON_UDP_SHARE },
		{ RULES_KIND_REUSE_COLLISION, RULES_REASON_SHARED_BIND },
		{ RULES_KIND_HIJACK_ATTEMPT, RULES_REASON_TAKEOVER },
		{ RULES_KIND_HIJACK_ATTEMPT, RULES_REASON_BLOCKED },
		{ RULES_KIND_HIJACK_ATTEMPT, RULES_REASON_REUSEPORT_STEER },
		{ RULES_KIND_RESOURCE, RULES_REASON_EPHEMERAL_EXHAUSTED },
		{ RULES_KIND_HIJACK_ATTEMPT, RULES_REASON_PROTECTED_PORT },
		{ RULES_KIND_DIVERSION, RULES_REASON_SK_LOOKUP },
		{ RULES_KIND_HIJACK_ATTEMPT, RULES_REASON_SQUATTED },
		{ RULES_KIND_DIVERSION, RULES_REASON_NAT_REDIRECT },
		{ RULES_KIND_EXPOSURE, RULES_REASON_PORT_SHADOW },
		{ RULES_KIND_DIVERSION, RULES_REASON_PACKET_SNIFFER },
		{ RULES_KIND_DIVERSION, RULES_REASON_FREEBIND },
	};
	const char *ids[RULES_REASON_COUNT] = { 0 };

	(void)state;
	assert_int_equal(sizeof(raised) / sizeof(raised[0]), RULES_REASON_COUNT - 1);
	for (size_t i = 0; i < sizeof(raised) / sizeof(raised[0]); i++) {
		const char *id = journal_msgid(raised[i].kind, raised[i].reason);

		assert_non_null(id);
		assert_int_equal(strlen(id), 32);
		for (const char *p = id; *p; p++)
			assert_true(isdigit((unsigned char)*p) || (*p >= 'a' && *p <= 'f'));
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(ids[j], id);
		ids[i] = id;
	}
	/* the wrong kind, none, out of range */
	assert_null(journal_msgid(RULES_KIND_RESOURCE, RULES_REASON_SHADOW_WILDCARD));
	assert_null(journal_msgid(RULES_KIND_NONE, RULES_REASON_NONE));
	assert_null(journal_msgid(RULES_KIND_HIJACK_ATTEMPT, RULES_REASON_COUNT));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_hostile_names),
		cmocka_unit_test(test_msgids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
