// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_ecs.c - unit tests of daemon/ecs.c: an alert as an Elastic Common
 * Schema document, every field name and value of a filled alert, then the
 * fields that depend on the alert (result, family, protocol, severity,
 * folding, ephemeral details, unknown owners, hostile names).
 */
#include <errno.h>

#include "helpers.h"
#include "ecs.h"
#include "portwatch/proto.h"
#include "text.h"

/* Each leaf of o (arrays are leaves) as "dotted.path=JSON", in order, one per line. */
static void flatten(json_object *o, const char *prefix, char *out, size_t len)
{
	json_object_object_foreach(o, key, val) {
		char path[256];
		size_t n = strlen(out);

		snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", key);
		if (json_object_is_type(val, json_type_object))
			flatten(val, path, out, len);
		else
			snprintf(out + n, len - n, "%s=%s\n", path,
				 json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN |
									     JSON_C_TO_STRING_NOSLASHESCAPE));
	}
}

/* The leaf at a dotted path, NULL when missing. */
static json_object *at(json_object *o, const char *path)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save))
		if (!json_object_object_get_ex(o, k, &o))
			return NULL;
	return o;
}

static void check_str(json_object *o, const char *path, const char *want)
{
	json_object *v = at(o, path);

	if (!v || !json_object_is_type(v, json_type_string))
		fail_msg("%s: not a string", path);
	assert_string_equal(json_object_get_string(v), want);
}

static void check_int(json_object *o, const char *path, int64_t want)
{
	json_object *v = at(o, path);

	if (!v || !json_object_is_type(v, json_type_int))
		fail_msg("%s: not a number", path);
	assert_int_equal(json_object_get_int64(v), want);
}

static void check_absent(json_object *o, const char *path)
{
	if (at(o, path))
		fail_msg("%s: present, should not be", path);
}

/* The filled alert of helpers.h, field by field: names, values, order, nothing else. */
static void test_ecs_fields(void **state)
{
	static const char want[] =
		"@timestamp=\"2026-11-23T12:48:38.123456Z\"\n"
		"message=\"shadow_wildcard: test\"\n"
		"log.level=\"critical\"\n"
		"ecs.version=\"8.11.0\"\n"
		"event.kind=\"alert\"\n"
		"event.category=[\"network\"]\n"
		"event.type=[\"allowed\"]\n"
		"event.outcome=\"success\"\n"
		"event.action=\"shadow_wildcard\"\n"
		"event.severity=2\n"
		"event.id=\"7\"\n"
		"event.module=\"portwatch\"\n"
		"event.dataset=\"portwatch.alert\"\n"
		"rule.name=\"shadow_wildcard\"\n"
		"rule.category=\"hijack_attempt\"\n"
		"network.transport=\"tcp\"\n"
		"network.type=\"ipv4\"\n"
		"network.iana_number=\"6\"\n"
		"server.address=\"127.0.0.1\"\n"
		"server.ip=\"127.0.0.1\"\n"
		"server.port=8080\n"
		"host.name=\"web-1\"\n"
		"observer.hostname=\"web-1\"\n"
		"observer.product=\"portwatch\"\n"
		"observer.version=\"" PW_RELEASE "\"\n"
		"process.pid=20\n"
		"process.name=\"evil\"\n"
		"process.executable=\"/tmp/evil\"\n"
		"user.id=\"1000\"\n"
		"labels.netns=\"4026531840\"\n"
		"portwatch.result=\"ok\"\n"
		"portwatch.holder.process.pid=10\n"
		"portwatch.holder.process.name=\"nginx\"\n"
		"portwatch.holder.process.executable=\"/usr/sbin/nginx\"\n"
		"portwatch.holder.user.id=\"33\"\n"
		"portwatch.holder.socket.ip=\"0.0.0.0\"\n"
		"portwatch.holder.socket.port=8080\n"
		"portwatch.holder.socket.state=\"LISTEN\"\n"
		"portwatch.holder.socket.inode=100\n"
		"portwatch.holder.socket.reuseaddr=false\n"
		"portwatch.holder.socket.reuseport=false\n"
		"portwatch.holder.socket.v6only=false\n"
		"portwatch.holder.socket.reuseport_bpf=false\n"
		"portwatch.holder.socket.sk_uid=33\n"
		"portwatch.contender.socket.ip=\"127.0.0.1\"\n"
		"portwatch.contender.socket.port=8080\n"
		"portwatch.contender.socket.state=\"BOUND\"\n"
		"portwatch.contender.socket.inode=200\n"
		"portwatch.contender.socket.reuseaddr=false\n"
		"portwatch.contender.socket.reuseport=false\n"
		"portwatch.contender.socket.v6only=false\n"
		"portwatch.contender.socket.reuseport_bpf=false\n"
		"portwatch.contender.socket.sk_uid=1000\n";
	char got[8192] = "";
	struct pw_alert a;
	json_object *o;

	(void)state;
	pwt_alert(&a, "0.0.0.0", "127.0.0.1");
	o = ecs_alert(&a, "web-1");
	flatten(o, "", got, sizeof(got));
	assert_string_equal(got, want);
	assert_string_equal(PW_ECS_VERSION, "8.11.0");
	/* "@timestamp" first, as ECS loggers write it */
	assert_string_equal(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
			    strstr(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
				   "{\"@timestamp\":"));
	json_object_put(o);
}

/* A refused call over IPv6/UDP: denied, failure, error.code; severities. */
static void test_ecs_result_family_severity(void **state)
{
	struct pw_alert a;
	json_object *o;

	(void)state;
	pwt_alert(&a, "::", "2001:db8::1");
	a.contender.sk.protocol = IPPROTO_UDP;
	a.result = EADDRINUSE;
	a.severity = RULES_SEV_NOTICE;
	a.kind = RULES_KIND_HIJACK_ATTEMPT;
	a.reason = RULES_REASON_BLOCKED;
	o = ecs_alert(&a, "web-1");
	assert_string_equal(json_object_to_json_string_ext(at(o, "event.type"),
							   JSON_C_TO_STRING_PLAIN),
			    "[\"denied\"]");
	check_str(o, "event.outcome", "failure");
	check_str(o, "error.code", "EADDRINUSE");
	check_str(o, "portwatch.result", "EADDRINUSE");
	check_str(o, "event.action", "blocked");
	check_str(o, "rule.name", "blocked");
	check_int(o, "event.severity", 5);
	check_str(o, "log.level", "notice");
	check_str(o, "network.transport", "udp");
	check_str(o, "network.type", "ipv6");
	check_str(o, "network.iana_number", "17");
	check_str(o, "server.ip", "2001:db8::1");
	check_str(o, "portwatch.holder.socket.ip", "::");
	check_absent(o, "destination");
	json_object_put(o);

	a.severity = RULES_SEV_WARNING;
	a.result = 0;
	o = ecs_alert(&a, NULL);
	check_int(o, "event.severity", 4);
	check_str(o, "log.level", "warning");
	check_absent(o, "error");
	check_absent(o, "host");
	check_absent(o, "observer.hostname");
	check_str(o, "observer.product", "portwatch");
	json_object_put(o);
	assert_int_equal(ecs_severity(RULES_SEV_CRITICAL), 2);
	assert_int_equal(ecs_severity(RULES_SEV_NONE), 6);
}

/* Owners unknown or with a unit; ephemeral exhaustion of a connect; a fold summary. */
static void test_ecs_owner_ephemeral_fold(void **state)
{
	struct pw_alert a;
	json_object *o, *v;

	(void)state;
	pwt_alert(&a, "0.0.0.0", "10.0.0.1");
	memset(&a.holder.owner, 0, sizeof(a.holder.owner)); /* TIME_WAIT: no process */
	a.contender.owner.unit = pwt_str("app.service");
	a.contender.owner.exe = 0;
	a.kind = RULES_KIND_RESOURCE;
	a.reason = RULES_REASON_EPHEMERAL_EXHAUSTED;
	a.severity = RULES_SEV_WARNING;
	a.result = EADDRNOTAVAIL;
	a.has_eph = 1;
	a.eph.lo = 32768;
	a.eph.hi = 60999;
	a.eph.in_use = 28232;
	a.eph.rport = 5432;
	assert_int_equal(pw_addr_pton("10.0.0.9", &a.contender.sk.family, a.eph.raddr), 0);
	a.fold_count = 3;
	a.fold_of = 5;
	a.fold_first_ns = 1795438118000000000ULL;
	a.fold_last_ns = 1795438120000000000ULL;
	a.fold_ports[0] = 8080;
	a.fold_ports[1] = 8081;
	a.fold_nports = 2;
	a.fold_more = 1;
	o = ecs_alert(&a, "web-1");
	check_absent(o, "portwatch.holder.process");
	check_absent(o, "portwatch.holder.user");
	check_str(o, "portwatch.holder.socket.state", "LISTEN");
	check_int(o, "process.pid", 20);
	check_absent(o, "process.executable");
	check_str(o, "portwatch.contender.unit", "app.service");
	check_str(o, "rule.category", "resource");
	check_str(o, "rule.name", "ephemeral_exhausted");
	check_str(o, "destination.ip", "10.0.0.9");
	check_int(o, "destination.port", 5432);
	check_str(o, "portwatch.ephemeral.destination", "10.0.0.9:5432");
	check_int(o, "portwatch.ephemeral.in_use", 28232);
	check_int(o, "portwatch.folded.count", 3);
	check_int(o, "portwatch.folded.of", 5);
	check_str(o, "portwatch.folded.first", "2026-11-23T12:48:38.000000Z");
	check_str(o, "portwatch.folded.last", "2026-11-23T12:48:40.000000Z");
	assert_non_null(v = at(o, "portwatch.folded.ports"));
	assert_string_equal(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN),
			    "[8080,8081]");
	assert_true(json_object_get_boolean(at(o, "portwatch.folded.more_ports")));
	check_str(o, "event.start", "2026-11-23T12:48:38.000000Z");
	check_str(o, "event.end", "2026-11-23T12:48:40.000000Z");
	json_object_put(o);

	/* no fold, no connect: neither the summary nor a destination */
	a.fold_count = 0;
	a.eph.rport = 0;
	o = ecs_alert(&a, "web-1");
	check_absent(o, "portwatch.folded");
	check_absent(o, "event.start");
	check_absent(o, "destination");
	assert_non_null(at(o, "portwatch.ephemeral.range"));
	json_object_put(o);
}

/* Names any user picks: the document stays valid UTF-8 JSON, each bad byte U+FFFD. */
static void test_ecs_hostile_names(void **state)
{
	struct pw_alert a;
	const char *s;
	json_object *o, *back;
	size_t n, i;

	(void)state;
	pwt_alert(&a, "0.0.0.0", "127.0.0.1");
	snprintf(a.contender.owner.comm, sizeof(a.contender.owner.comm), "e\xff\"\n}");
	a.contender.owner.exe = pwt_str("/tmp/\xc0\xaf\",\"x");
	a.holder.owner.unit = pwt_str("u\xed\xa0\x80.service");
	snprintf(a.message, sizeof(a.message), "bad \xfe byte");
	o = ecs_alert(&a, "h\xff");
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	n = strlen(s);
	for (i = 0; i < n;) {
		size_t l = text_utf8_len((const unsigned char *)s + i, n - i);

		if (!l)
			fail_msg("invalid UTF-8 at byte %zu of %s", i, s);
		i += l;
	}
	assert_null(strchr(s, '\n'));
	back = json_tokener_parse(s);
	assert_non_null(back);
	check_str(back, "process.name", "e\xef\xbf\xbd\"\n}");
	check_str(back, "process.executable", "/tmp/\xef\xbf\xbd\xef\xbf\xbd\",\"x");
	check_str(back, "portwatch.holder.unit", "u\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd.service");
	check_str(back, "message", "bad \xef\xbf\xbd byte");
	check_str(back, "host.name", "h\xef\xbf\xbd");
	json_object_put(back);
	json_object_put(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ecs_fields),
		cmocka_unit_test(test_ecs_result_family_severity),
		cmocka_unit_test(test_ecs_owner_ephemeral_fold),
		cmocka_unit_test(test_ecs_hostile_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
