// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_pwjson.c - unit tests of daemon/pwjson.c: the JSON objects of the
 * DESIGN.md contract, key by key.
 */
#include <errno.h>

#include "container.h"
#include "helpers.h"
#include "pwjson.h"
#include "pwname.h"
#include "report.h"

static const char *const socket_keys[] = {
	"netns", "proto", "family", "addr", "port", "state", "reuseaddr", "reuseport",
	"v6only", "inode", "pid", "comm", "exe", "uid", "unit", "since",
	"raddr", "rport", "sk_uid", "reuseport_bpf", /* version 1 additions (docs/protocol.md) */
	"device", "device_ifindex",
	"freebind", "transparent",
	"container", "pod",
	NULL,
};

static const char *const alert_keys[] = {
	"id", "time", "severity", "kind", "reason", "netns", "proto", "addr", "port",
	"result", "holder", "contender", "message", NULL,
};

static const char *const conflict_keys[] = {
	"time", "op", "errno", "pid", "comm", "uid", "netns", "proto", "addr", "port",
	"reuseaddr", "reuseport", "holders", "rule", "explanation",
	"id", "exe", "errno_name", /* version 1 additions (docs/protocol.md) */
	NULL,
};

static int in_list(const char *key, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(key, *list))
			return 1;
	return 0;
}

/* o has every key of list and no other. */
static void check_keys(json_object *o, const char *const *list)
{
	size_t n = 0;

	assert_true(json_object_is_type(o, json_type_object));
	json_object_object_foreach(o, key, val) {
		(void)val;
		if (!in_list(key, list))
			fail_msg("unexpected key \"%s\"", key);
	}
	for (; list[n]; n++)
		if (!json_object_object_get_ex(o, list[n], NULL))
			fail_msg("missing key \"%s\"", list[n]);
	assert_int_equal(json_object_object_length(o), n);
}

static json_object *get(json_object *o, const char *key, json_type type)
{
	json_object *v = NULL;

	assert_true(json_object_object_get_ex(o, key, &v));
	if (!json_object_is_type(v, type))
		fail_msg("\"%s\": type %s, want %s", key,
			 json_type_to_name(json_object_get_type(v)), json_type_to_name(type));
	return v;
}

static void check_str(json_object *o, const char *key, const char *want)
{
	assert_string_equal(json_object_get_string(get(o, key, json_type_string)), want);
}

static void check_int(json_object *o, const char *key, int64_t want)
{
	assert_int_equal(json_object_get_int64(get(o, key, json_type_int)), want);
}

static void check_bool(json_object *o, const char *key, int want)
{
	assert_int_equal(json_object_get_boolean(get(o, key, json_type_boolean)), want);
}

/* A socket in a Kubernetes pod's container: container and pod objects. */
static void test_socket_container(void **state)
{
	struct pw_sock sk = pwt_tcp("0.0.0.0", 80, PW_TCP_LISTEN, 0, 0);
	struct pw_entry e = pwt_entry(&sk, PWT_NS1, 77, 4242, 0, "nginx");
	struct pw_container c;
	json_object *o, *v;

	(void)state;
	assert_int_equal(container_from_cgroup(
				 "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod"
				 "0d2e4a4b_9d2f_4c7e_8b7a_1c2d3e4f5a6b.slice/cri-containerd-"
				 "3f0c1a9e5b7d4c2a8e6f1b3d5a7c9e0f2b4d6a8c0e1f3a5b7d9c1e3f5a7b9d0c.scope",
				 &c),
			 0);
	e.owner.ctr = container_intern(&c);
	o = pwj_socket(&e);
	check_keys(o, socket_keys);
	v = get(o, "container", json_type_object);
	check_str(v, "id", "3f0c1a9e5b7d4c2a8e6f1b3d5a7c9e0f2b4d6a8c0e1f3a5b7d9c1e3f5a7b9d0c");
	check_str(v, "runtime", "containerd");
	assert_int_equal(json_object_object_length(v), 2);
	v = get(o, "pod", json_type_object);
	check_str(v, "uid", "0d2e4a4b-9d2f-4c7e-8b7a-1c2d3e4f5a6b");
	get(v, "namespace", json_type_null);
	get(v, "name", json_type_null);
	assert_int_equal(json_object_object_length(v), 3);
	json_object_put(o);
	container_pool_free();
}

static void test_socket_json(void **state)
{
	struct pw_sock sk = pwt_tcp("127.0.0.1", 8080, PW_TCP_CLOSE, PWT_RA, 1001);
	struct pw_entry e = pwt_entry(&sk, PWT_NS1, 4026532999ULL, 4242, 33, "nginx");
	char t[32];
	json_object *o;

	(void)state;
	e.since_ns = 1795438118123456789ULL;
	o = pwj_socket(&e);
	check_keys(o, socket_keys);
	check_int(o, "netns", PWT_NS1);
	check_str(o, "proto", "tcp");
	check_str(o, "family", "inet");
	check_str(o, "addr", "127.0.0.1");
	check_int(o, "port", 8080);
	check_str(o, "state", "BOUND");
	check_bool(o, "reuseaddr", 1);
	check_bool(o, "reuseport", 0);
	check_bool(o, "v6only", 0);
	check_int(o, "inode", 4026532999LL);
	check_int(o, "pid", 4242);
	check_str(o, "comm", "nginx");
	check_str(o, "exe", "/usr/bin/nginx");
	check_int(o, "uid", 33);
	check_int(o, "sk_uid", 1001);
	get(o, "unit", json_type_null);
	check_str(o, "since", pw_time_rfc3339(e.since_ns, t));
	get(o, "raddr", json_type_null);
	get(o, "rport", json_type_null);
	get(o, "container", json_type_null);
	get(o, "pod", json_type_null);
	json_object_put(o);

	/* IPv6 listener with a unit */
	sk = pwt_tcp("2001:db8::1", 443, PW_TCP_LISTEN, PWT_RP, 0);
	e = pwt_entry(&sk, PWT_NS2, 5, 1, 0, "systemd");
	e.owner.unit = pwt_str("nginx.service");
	o = pwj_socket(&e);
	check_keys(o, socket_keys);
	check_str(o, "family", "inet6");
	check_str(o, "addr", "2001:db8::1");
	check_str(o, "state", "LISTEN");
	check_bool(o, "reuseport", 1);
	check_bool(o, "v6only", 1);
	check_str(o, "unit", "nginx.service");
	get(o, "since", json_type_null);
	json_object_put(o);

	/* v4-mapped and the IPv6 wildcard */
	sk = pwt_tcp("::ffff:127.0.0.1", 80, PW_TCP_LISTEN, 0, 0);
	e = pwt_entry(&sk, PWT_NS1, 6, 1, 0, "x");
	o = pwj_socket(&e);
	check_str(o, "addr", "::ffff:127.0.0.1");
	check_bool(o, "v6only", 0);
	json_object_put(o);
	sk = pwt_tcp("::", 80, PW_TCP_LISTEN, PWT_V6ONLY, 0);
	e = pwt_entry(&sk, PWT_NS1, 6, 1, 0, "x");
	o = pwj_socket(&e);
	check_str(o, "addr", "::");
	check_bool(o, "v6only", 1);
	json_object_put(o);

	/* UDP: BOUND unconnected, ESTABLISHED connected with raddr/rport */
	sk = pwt_udp("0.0.0.0", 53, 0, 0);
	e = pwt_entry(&sk, PWT_NS1, 7, 0, 0, NULL); /* no owner known */
	o = pwj_socket(&e);
	check_keys(o, socket_keys);
	check_str(o, "proto", "udp");
	check_str(o, "state", "BOUND");
	check_str(o, "addr", "0.0.0.0");
	get(o, "pid", json_type_null);
	get(o, "uid", json_type_null);
	get(o, "comm", json_type_null);
	check_str(o, "exe", "");
	json_object_put(o);
	e.sk.state = PW_TCP_ESTABLISHED;
	e.sk.rport = 443;
	assert_int_equal(pw_addr_pton("10.0.0.2", &e.sk.family, e.sk.raddr), 0);
	o = pwj_socket(&e);
	check_str(o, "state", "ESTABLISHED");
	check_str(o, "raddr", "10.0.0.2");
	check_int(o, "rport", 443);
	json_object_put(o);
}

static void test_alert_json(void **state)
{
	struct pw_alert a;
	json_object *o;

	(void)state;
	pwt_alert(&a, "0.0.0.0", "127.0.0.1");
	o = pwj_alert(&a);
	check_keys(o, alert_keys);
	check_int(o, "id", 7);
	check_str(o, "time", "2026-11-23T12:48:38.123456Z");
	check_str(o, "severity", "critical");
	check_str(o, "kind", "hijack_attempt");
	check_str(o, "reason", "shadow_wildcard");
	check_int(o, "netns", PWT_NS1);
	check_str(o, "proto", "tcp");
	check_str(o, "addr", "127.0.0.1");
	check_int(o, "port", 8080);
	check_str(o, "result", "ok");
	check_str(o, "message", "shadow_wildcard: test");
	check_keys(get(o, "holder", json_type_object), socket_keys);
	check_int(get(o, "holder", json_type_object), "pid", 10);
	check_str(get(o, "holder", json_type_object), "addr", "0.0.0.0");
	check_keys(get(o, "contender", json_type_object), socket_keys);
	check_int(get(o, "contender", json_type_object), "uid", 1000);
	json_object_put(o);

	a.result = EADDRINUSE;
	a.severity = RULES_SEV_NOTICE;
	o = pwj_alert(&a);
	check_str(o, "result", "EADDRINUSE");
	check_str(o, "severity", "notice");
	json_object_put(o);
}

static void test_conflict_json(void **state)
{
	struct pw_sock cs = pwt_tcp("::", 80, PW_TCP_CLOSE, PWT_RA, 1000);
	struct pw_sock hs = pwt_tcp("0.0.0.0", 80, PW_TCP_LISTEN, 0, 0);
	struct pw_conflict c;
	json_object *o, *h;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.id = 3;
	c.time_ns = 1795438118123456789ULL;
	c.op = RULES_OP_BIND;
	c.err = EADDRINUSE;
	c.contender = pwt_entry(&cs, PWT_NS1, 0, 20, 1000, "evil");
	c.holders[0] = pwt_entry(&hs, PWT_NS1, 100, 1, 0, "sshd");
	c.holders[1] = pwt_entry(&hs, PWT_NS1, 101, 2, 0, "sshd");
	c.nholders = 2;
	c.rule = RULES_RULE_WILDCARD_LISTENER;
	snprintf(c.explanation, sizeof(c.explanation), "bind [::]:80/tcp failed");
	o = pwj_conflict(&c);
	check_keys(o, conflict_keys);
	check_int(o, "id", 3);
	check_str(o, "time", "2026-11-23T12:48:38.123456Z");
	check_str(o, "op", "bind");
	check_int(o, "errno", EADDRINUSE);
	check_str(o, "errno_name", "EADDRINUSE");
	check_int(o, "pid", 20);
	check_str(o, "comm", "evil");
	check_int(o, "uid", 1000);
	check_str(o, "exe", "/usr/bin/evil");
	check_int(o, "netns", PWT_NS1);
	check_str(o, "proto", "tcp");
	check_str(o, "addr", "::");
	check_int(o, "port", 80);
	check_bool(o, "reuseaddr", 1);
	check_bool(o, "reuseport", 0);
	check_str(o, "rule", "wildcard_listener");
	check_str(o, "explanation", "bind [::]:80/tcp failed");
	h = get(o, "holders", json_type_array);
	assert_int_equal(json_object_array_length(h), 2);
	check_keys(json_object_array_get_idx(h, 0), socket_keys);
	check_int(json_object_array_get_idx(h, 0), "inode", 100);
	check_int(json_object_array_get_idx(h, 1), "inode", 101);
	check_str(json_object_array_get_idx(h, 1), "state", "LISTEN");
	json_object_put(o);

	c.op = RULES_OP_CONNECT;
	c.err = EADDRNOTAVAIL;
	c.nholders = 0;
	o = pwj_conflict(&c);
	check_str(o, "op", "connect");
	check_str(o, "errno_name", "EADDRNOTAVAIL");
	assert_int_equal(json_object_array_length(get(o, "holders", json_type_array)), 0);
	json_object_put(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_socket_json),
		cmocka_unit_test(test_socket_container),
		cmocka_unit_test(test_alert_json),
		cmocka_unit_test(test_conflict_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
