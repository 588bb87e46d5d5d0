// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_ctl_cmd.c - unit tests of daemon/ctl_cmd.c and ctl_why.c: request
 * checking and the owners/alerts/conflicts/stats/subscribe/why commands
 * of docs/protocol.md, against a monitor filled by hand (no BPF, no
 * snapshot).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "container.h"
#include "helpers.h"
#include "ctl_cmd.h"
#include "monitor.h"
#include "pwjson.h"
#include "report.h"
#include "ring.h"

#define HISTORY 16
#define NALERTS 20

struct fixture {
	struct pw_monitor m;
	struct ctl_cmd_ctx ctx;
};

/* Inode, netns, proto, address, port, state, flags, pid, uid, comm. */
static const struct {
	uint64_t inode;
	uint32_t netns;
	uint8_t proto;
	const char *addr;
	uint16_t port;
	uint8_t state;
	unsigned int flags;
	uint32_t pid, uid;
	const char *comm;
} socks[] = {
	{ 106, PWT_NS2, IPPROTO_TCP, "0.0.0.0", 80, PW_TCP_LISTEN, 0, 500, 0, "nginx" },
	{ 104, PWT_NS1, IPPROTO_TCP, "::ffff:127.0.0.1", 8081, PW_TCP_LISTEN, 0, 300, 1000, "java" },
	{ 107, PWT_NS1, IPPROTO_UDP, "127.0.0.1", 80, PW_TCP_CLOSE, 0, 600, 1000, "evil" },
	{ 102, PWT_NS1, IPPROTO_TCP, "::", 80, PW_TCP_LISTEN, PWT_V6ONLY, 100, 33, "nginx" },
	{ 105, PWT_NS1, IPPROTO_UDP, "0.0.0.0", 53, PW_TCP_CLOSE, 0, 400, 0, "dnsmasq" },
	{ 101, PWT_NS1, IPPROTO_TCP, "0.0.0.0", 80, PW_TCP_LISTEN, 0, 100, 33, "nginx" },
	{ 103, PWT_NS1, IPPROTO_TCP, "127.0.0.1", 8080, PW_TCP_CLOSE, PWT_RA, 200, 1000, "app" },
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct monitor_config cfg;

	assert_non_null(f);
	monitor_defaults(&cfg);
	cfg.alert_history = cfg.conflict_history = HISTORY;
	assert_int_equal(monitor_init(&f->m, &cfg, NULL, -1, NULL, NULL), 0);
	for (size_t i = 0; i < sizeof(socks) / sizeof(socks[0]); i++) {
		struct pw_sock sk = pwt_sock(socks[i].proto, socks[i].addr, socks[i].port,
					     socks[i].state, socks[i].flags, socks[i].uid);
		struct pw_entry e = pwt_entry(&sk, socks[i].netns, socks[i].inode, socks[i].pid,
					      socks[i].uid, socks[i].comm);

		e.since_ns = 1795438118000000000ULL;
		if (socks[i].inode == 106 || socks[i].inode == 107) { /* in containers */
			struct pw_container c = { .runtime = CONTAINER_LXC, .id = "evil-box" };

			if (socks[i].inode == 106)
				container_from_cgroup("/system.slice/docker-3f0c1a9e5b7d4c2a8e6f1b3d"
						      "5a7c9e0f2b4d6a8c0e1f3a5b7d9c1e3f5a7b9d0c.scope",
						      &c);
			e.owner.ctr = container_intern(&c);
		}
		assert_non_null(table_upsert(f->m.table, &e, 0));
	}
	/* alerts as raise_alert() records them: a contender on udp 127.0.0.1:80 */
	for (int i = 0; i < NALERTS; i++) {
		struct pw_alert *a = ring_push(&f->m.alerts);

		a->id = f->m.alerts.next_id++;
		a->time_ns = 1795438118000000000ULL + a->id;
		a->severity = RULES_SEV_CRITICAL;
		a->kind = RULES_KIND_HIJACK_ATTEMPT;
		a->reason = RULES_REASON_UDP_SHARE;
		a->holder = *table_lookup(f->m.table, PWT_NS1, 105);
		a->contender = *table_lookup(f->m.table, PWT_NS1, 107);
		a->holder.next_id = a->holder.next_port = NULL;
		a->contender.next_id = a->contender.next_port = NULL;
		snprintf(a->message, sizeof(a->message), "udp_share: alert %llu",
			 (unsigned long long)a->id);
		f->m.stats.alerts++;
		f->m.alerts_by_kind[RULES_KIND_HIJACK_ATTEMPT]++;
	}
	/* conflicts as on_conflict() records them: tcp 0.0.0.0:80 refused */
	for (int i = 0; i < 2; i++) {
		struct pw_conflict *c = ring_push(&f->m.conflicts);
		struct pw_sock sk = pwt_tcp("0.0.0.0", 80, PW_TCP_CLOSE, 0, 1000);

		c->id = f->m.conflicts.next_id++;
		c->time_ns = 1795438118000000000ULL;
		c->op = RULES_OP_BIND;
		c->err = EADDRINUSE;
		c->contender = pwt_entry(&sk, PWT_NS1, 0, 700, 1000, "curl");
		c->holders[0] = *table_lookup(f->m.table, PWT_NS1, 101);
		c->holders[0].next_id = c->holders[0].next_port = NULL;
		c->nholders = 1;
		c->rule = RULES_RULE_LISTENER;
		snprintf(c->explanation, sizeof(c->explanation), "conflict %llu",
			 (unsigned long long)c->id);
		f->m.stats.conflicts++;
	}
	f->m.stats.events[PW_EV_BIND] = 5;
	f->m.stats.events[PW_EV_RELEASE] = 2;
	f->m.stats.netns = 3;
	f->m.stats.reconciliations = 4;
	f->m.stats.last_reconcile_ms = 12;
	f->ctx.mon = &f->m;
	f->ctx.start_ns = monitor_now() - 5000000000ULL;
	f->ctx.nclients = 2;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	monitor_free(&f->m);
	container_pool_free();
	free(f);
	return 0;
}

static json_object *member(json_object *o, const char *key, json_type type)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("no \"%s\" in %s", key, json_object_to_json_string(o));
	if (!json_object_is_type(v, type))
		fail_msg("\"%s\" is a %s", key, json_type_to_name(json_object_get_type(v)));
	return v;
}

static int64_t int_member(json_object *o, const char *key)
{
	return json_object_get_int64(member(o, key, json_type_int));
}

/* Run a request and check the envelope; the caller puts the result. */
static json_object *run(struct fixture *f, const char *line, size_t len, int ok)
{
	json_object *o = ctl_cmd_dispatch(&f->ctx, line, len);

	assert_non_null(o);
	assert_int_equal(int_member(o, "version"), 1);
	if (json_object_get_boolean(member(o, "ok", json_type_boolean)) != ok)
		fail_msg("%.*s -> %s", (int)len, line, json_object_to_json_string(o));
	if (!ok) {
		assert_true(strlen(json_object_get_string(member(o, "error", json_type_string))) > 0);
		assert_int_equal(json_object_object_length(o), 3);
	}
	return o;
}

static json_object *req(struct fixture *f, const char *line, int ok)
{
	return run(f, line, strlen(line), ok);
}

static void test_bad_requests(void **state)
{
	static const char *const bad[] = {
		"", "{", "{\"cmd\":", "{\"cmd\":\"stats\"", "not json", "[1,2]", "\"owners\"", "42 ",
		"null", "{}", "{\"cmd\":5}", "{\"cmd\":null}", "{\"cmd\":\"nope\"}",
		"{\"cmd\":\"owners\",\"port\":\"80\"}", "{\"cmd\":\"owners\",\"port\":-1}",
		"{\"cmd\":\"owners\",\"port\":70000}", "{\"cmd\":\"owners\",\"port\":80.5}",
		"{\"cmd\":\"owners\",\"proto\":\"sctp\"}", "{\"cmd\":\"owners\",\"proto\":6}",
		"{\"cmd\":\"owners\",\"addr\":\"not-an-ip\"}", "{\"cmd\":\"owners\",\"addr\":5}",
		"{\"cmd\":\"owners\",\"netns\":0}", "{\"cmd\":\"owners\",\"pid\":0}",
		"{\"cmd\":\"owners\",\"pid\":\"1\"}", "{\"cmd\":\"owners\",\"version\":2}",
		"{\"version\":\"1\",\"cmd\":\"owners\"}", "{\"version\":0,\"cmd\":\"stats\"}",
		"{\"cmd\":\"alerts\",\"since\":-1}", "{\"cmd\":\"alerts\",\"limit\":0}",
		"{\"cmd\":\"alerts\",\"limit\":\"5\"}", "{\"cmd\":\"conflicts\",\"since\":\"x\"}",
		"{\"cmd\":\"stats\"} x", "{\"cmd\":\"stats\"}{\"cmd\":\"stats\"}",
		"{\"cmd\":\"stats\"},", "{\"cmd\":\"owners\",\"container\":\"\"}",
		"{\"cmd\":\"owners\",\"container\":5}",
		"{\"cmd\":\"owners\",\"container\":\"0123456789012345678901234567890123456789"
		"0123456789012345678901234\"}",
	};
	struct fixture *f = *state;
	json_object *o;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		json_object_put(req(f, bad[i], 0));
	assert_int_equal(f->ctx.subscribe, 0);

	/* messages that say what was wrong */
	o = req(f, "{\"cmd\":\"nope\"}", 0);

	assert_non_null(strstr(json_object_get_string(member(o, "error", json_type_string)),
			       "nope"));
	json_object_put(o);
	o = req(f, "{\"cmd\":\"owners\",\"port\":70000}", 0);
	assert_non_null(strstr(json_object_get_string(member(o, "error", json_type_string)),
			       "port"));
	json_object_put(o);
}

/*
 * A member named twice is refused, whatever the members: json-c would
 * run the last one (reload hidden behind stats). Keys inside strings,
 * nested objects and escaped quotes are not keys of the request.
 */
static void test_duplicate_keys(void **state)
{
	static const char *const dup[] = {
		"{\"cmd\":\"stats\",\"cmd\":\"reload\"}",
		"{\"cmd\":\"stats\", \"cmd\" : \"stats\"}",
		"{\"cmd\":\"owners\",\"port\":80,\"port\":81}",
		"{\"cmd\":\"owners\",\"x\":{\"a\":1},\"x\":[1]}",
		"{\"c\\u006dd\":\"stats\",\"cmd\":\"stats\"}", /* json-c decodes both to cmd */
	};
	static const char *const fine[] = {
		"{\"cmd\":\"stats\",\"x\":{\"cmd\":1,\"cmd\":2}}",
		"{\"cmd\":\"stats\",\"x\":\"\\\"cmd\\\":\"}",
		"{\"cmd\":\"stats\",\"x\":[\"cmd\",\"cmd\"]}",
		" { \"cmd\" :\"stats\" } ",
	};
	struct fixture *f = *state;
	json_object *o;

	for (size_t i = 0; i < sizeof(dup) / sizeof(dup[0]); i++) {
		o = req(f, dup[i], 0);
		if (!strstr(json_object_get_string(member(o, "error", json_type_string)),
			    "duplicate"))
			fail_msg("%s -> %s", dup[i], json_object_to_json_string(o));
		json_object_put(o);
	}
	for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++)
		json_object_put(req(f, fine[i], 1));
}

static void test_framing(void **state)
{
	static const char line[] = "{\"cmd\":\"stats\"}GARBAGE";
	struct fixture *f = *state;

	/* only len bytes are read; trailing blanks are fine */
	json_object_put(run(f, line, strlen("{\"cmd\":\"stats\"}"), 1));
	json_object_put(req(f, "{\"cmd\":\"stats\"} \t\r", 1));
	json_object_put(req(f, " {\"cmd\":\"stats\",\"version\":1}", 1));
	json_object_put(run(f, line, strlen("{\"cmd\":\"stats\"}G"), 0));
}

/* Run owners with args and check the inodes, in order. */
static void check_owners(struct fixture *f, const char *args, const uint64_t *want, size_t n)
{
	char line[256];
	json_object *o, *arr;

	snprintf(line, sizeof(line), "{\"cmd\":\"owners\"%s}", args);
	o = req(f, line, 1);
	arr = member(o, "sockets", json_type_array);
	if (json_object_array_length(arr) != n)
		fail_msg("%s: %s", line, json_object_to_json_string(arr));
	for (size_t i = 0; i < n; i++) {
		json_object *s = json_object_array_get_idx(arr, i);
		json_object *ref;

		assert_int_equal(int_member(s, "inode"), want[i]);
		ref = pwj_socket(table_lookup(f->m.table, (uint32_t)int_member(s, "netns"),
					      want[i]));
		assert_true(json_object_equal(s, ref));
		json_object_put(ref);
	}
	json_object_put(o);
}

#define OWNERS(args, ...)                                                              \
	check_owners(f, args, (const uint64_t[]){ __VA_ARGS__ },                        \
		     sizeof((const uint64_t[]){ __VA_ARGS__ }) / sizeof(uint64_t))

static void test_owners(void **state)
{
	struct fixture *f = *state;
	char args[64];

	OWNERS("", 101, 102, 103, 104, 105, 107, 106);
	OWNERS(",\"port\":80", 101, 102, 107, 106);
	OWNERS(",\"port\":80,\"proto\":\"tcp\"", 101, 102, 106);
	snprintf(args, sizeof(args), ",\"port\":80,\"proto\":\"tcp\",\"netns\":%u", PWT_NS1);
	OWNERS(args, 101, 102);
	snprintf(args, sizeof(args), ",\"netns\":%u", PWT_NS2);
	OWNERS(args, 106);
	OWNERS(",\"proto\":\"udp\"", 105, 107);
	OWNERS(",\"pid\":100", 101, 102);
	OWNERS(",\"addr\":\"127.0.0.1\"", 103, 104, 107); /* 104 is ::ffff:127.0.0.1 */
	OWNERS(",\"addr\":\"::ffff:127.0.0.1\"", 104);
	OWNERS(",\"addr\":\"[::]\"", 102);
	OWNERS(",\"addr\":\"0.0.0.0\",\"port\":80", 101, 106);
	OWNERS(",\"addr\":\"127.0.0.1\",\"proto\":\"tcp\",\"port\":8081", 104);
	check_owners(f, ",\"port\":81", NULL, 0);
	check_owners(f, ",\"pid\":4194304", NULL, 0);
	check_owners(f, ",\"netns\":12345", NULL, 0);
	check_owners(f, ",\"addr\":\"::1\"", NULL, 0);
	/* a prefix of the container id; sockets in no container never match */
	OWNERS(",\"container\":\"3f0c1a9e5b7d\"", 106);
	OWNERS(",\"container\":\"3\"", 106);
	OWNERS(",\"container\":\"evil\"", 107);
	OWNERS(",\"container\":\"evil\",\"proto\":\"udp\"", 107);
	check_owners(f, ",\"container\":\"evil\",\"proto\":\"tcp\"", NULL, 0);
	check_owners(f, ",\"container\":\"3f0d\"", NULL, 0);
}

/* Run cmd (alerts/conflicts) with args and check the ids, oldest first. */
static void check_history(struct fixture *f, const char *cmd, const char *args, uint64_t first,
			  uint64_t last)
{
	char line[128];
	json_object *o, *arr;
	size_t n = last >= first ? last - first + 1 : 0;

	snprintf(line, sizeof(line), "{\"cmd\":\"%s\"%s}", cmd, args);
	o = req(f, line, 1);
	arr = member(o, cmd, json_type_array);
	if (json_object_array_length(arr) != n)
		fail_msg("%s: %zu items, want %zu", line, json_object_array_length(arr), n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(int_member(json_object_array_get_idx(arr, i), "id"), first + i);
	json_object_put(o);
}

/*
 * With can_stream, `owners` answers without "sockets" and leaves the
 * matching identities in order; ctl_stream_next() looks each up when its
 * turn comes: a socket removed meanwhile is skipped, one that no longer
 * matches the filter too, and each is encoded as pwj_socket() does.
 */
static void test_owners_stream(void **state)
{
	struct fixture *f = *state;
	static const char line[] = "{\"cmd\":\"owners\",\"port\":80}";
	const uint64_t want[] = { 101, 106 }; /* as the table changed meanwhile */
	struct pw_entry *e;
	json_object *o, *x;
	size_t n = 0;

	f->ctx.can_stream = 1;
	o = ctl_cmd_dispatch(&f->ctx, line, sizeof(line) - 1);
	assert_true(json_object_get_boolean(member(o, "ok", json_type_boolean)));
	assert_false(json_object_object_get_ex(o, "sockets", NULL));
	json_object_put(o);
	assert_non_null(f->ctx.stream);
	assert_string_equal(f->ctx.stream->member, "sockets");
	assert_int_equal(f->ctx.stream->n, 4); /* 101, 102, 107, 106 */
	assert_int_equal(ctl_stream_bytes(f->ctx.stream),
			 sizeof(struct ctl_stream) + 4 * sizeof(struct ctl_stream_key));

	/*
	 * Between two pieces: 102 closes, 107 moves off port 80 (it no longer
	 * matches), 103 moves onto it (it was not in the table's answer then).
	 */
	assert_int_equal(table_remove(f->m.table, PWT_NS1, 102), 0);
	for (int i = 0; i < 2; i++) {
		struct pw_sock sk;

		e = table_lookup(f->m.table, PWT_NS1, i ? 103 : 107);
		sk = e->sk;
		sk.lport = i ? 80 : 81;
		table_update_sock(f->m.table, e, &sk);
	}
	while ((x = ctl_stream_next(f->ctx.stream, &f->m))) {
		json_object *ref;

		assert_true(n < 2);
		assert_int_equal(int_member(x, "inode"), want[n]);
		ref = pwj_socket(table_lookup(f->m.table, (uint32_t)int_member(x, "netns"), want[n]));
		assert_true(json_object_equal(x, ref));
		json_object_put(ref);
		json_object_put(x);
		n++;
	}
	assert_int_equal(n, 2);
	assert_null(ctl_stream_next(f->ctx.stream, &f->m)); /* done stays done */
	ctl_stream_free(f->ctx.stream);
	f->ctx.stream = NULL;
	ctl_stream_free(NULL);
	assert_int_equal(ctl_stream_bytes(NULL), 0);
}

static void test_alerts(void **state)
{
	struct fixture *f = *state;
	json_object *o, *a;

	/* 20 raised, the last 16 kept */
	check_history(f, "alerts", "", NALERTS - HISTORY + 1, NALERTS);
	check_history(f, "alerts", ",\"since\":0", 5, 20);
	check_history(f, "alerts", ",\"since\":2", 5, 20);
	check_history(f, "alerts", ",\"since\":17", 18, 20);
	check_history(f, "alerts", ",\"since\":20", 1, 0);
	check_history(f, "alerts", ",\"since\":1000", 1, 0);
	check_history(f, "alerts", ",\"limit\":3", 18, 20);
	check_history(f, "alerts", ",\"since\":10,\"limit\":2", 19, 20);
	check_history(f, "alerts", ",\"since\":10,\"limit\":100", 11, 20);
	check_history(f, "conflicts", "", 1, 2);
	check_history(f, "conflicts", ",\"since\":1", 2, 2);
	check_history(f, "conflicts", ",\"limit\":1", 2, 2);

	o = req(f, "{\"cmd\":\"alerts\",\"limit\":1}", 1);
	a = json_object_array_get_idx(member(o, "alerts", json_type_array), 0);
	assert_string_equal(json_object_get_string(member(a, "message", json_type_string)),
			    "udp_share: alert 20");
	assert_int_equal(int_member(member(a, "holder", json_type_object), "inode"), 105);
	json_object_put(o);
	o = req(f, "{\"cmd\":\"conflicts\",\"limit\":1}", 1);
	a = json_object_array_get_idx(member(o, "conflicts", json_type_array), 0);
	assert_string_equal(json_object_get_string(member(a, "rule", json_type_string)),
			    "listener");
	json_object_put(o);
}

static void test_stats(void **state)
{
	static const char *const events[] = { "bind", "listen", "connect", "sockopt", "state",
					      "release" };
	static const int64_t counts[] = { 5, 0, 0, 0, 0, 2 };
	struct fixture *f = *state;
	json_object *o = req(f, "{\"cmd\":\"stats\"}", 1), *s, *ev, *kinds;

	s = member(o, "stats", json_type_object);
	assert_in_range(int_member(s, "uptime_s"), 5, 6);
	ev = member(s, "events", json_type_object);
	assert_int_equal(json_object_object_length(ev), 6);
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(int_member(ev, events[i]), counts[i]);
	assert_int_equal(int_member(s, "dropped"), 0);
	assert_int_equal(int_member(s, "filtered"), 0);
	assert_int_equal(int_member(s, "table_size"), 7);
	assert_int_equal(int_member(s, "netns"), 3);
	assert_int_equal(int_member(s, "reconciliations"), 4);
	assert_int_equal(int_member(s, "last_reconcile_ms"), 12);
	assert_int_equal(json_object_array_length(member(s, "hooks", json_type_array)), 0);
	assert_int_equal(int_member(s, "alerts"), NALERTS);
	kinds = member(s, "alerts_by_kind", json_type_object);
	assert_int_equal(int_member(kinds, "hijack_attempt"), NALERTS);
	assert_int_equal(int_member(kinds, "reuse_collision"), 0);
	assert_int_equal(int_member(s, "conflicts"), 2);
	assert_int_equal(int_member(s, "clients"), 2);
	json_object_put(o);
}

static void test_subscribe(void **state)
{
	struct fixture *f = *state;
	json_object *o;

	json_object_put(req(f, "{\"cmd\":\"subscribe\",\"version\":2}", 0));
	assert_int_equal(f->ctx.subscribe, 0);
	json_object_put(req(f, "{\"cmd\":\"owners\"}", 1));
	assert_int_equal(f->ctx.subscribe, 0);
	o = req(f, "{\"cmd\":\"subscribe\"}", 1);
	assert_true(json_object_get_boolean(member(o, "subscribed", json_type_boolean)));
	assert_int_equal(f->ctx.subscribe, 1);
	json_object_put(o);
}

/*
 * Run why and check the holders (any order), the numbers of conflicts and
 * alerts (SIZE_MAX: not checked), and a piece of the explanation.
 */
static void check_why(struct fixture *f, const char *args, const uint64_t *want, size_t n,
		      size_t nconflicts, size_t nalerts, const char *text)
{
	char line[128];
	json_object *o, *h;
	uint64_t seen = 0;

	snprintf(line, sizeof(line), "{\"cmd\":\"why\"%s}", args);
	o = req(f, line, 1);
	h = member(o, "holders", json_type_array);
	if (json_object_array_length(h) != n)
		fail_msg("%s: %s", line, json_object_to_json_string(h));
	for (size_t i = 0; i < n; i++) {
		uint64_t ino = (uint64_t)int_member(json_object_array_get_idx(h, i), "inode");
		size_t j = 0;

		while (j < n && want[j] != ino)
			j++;
		assert_true(j < n);
		seen |= 1ULL << j;
	}
	assert_int_equal(seen, n ? (1ULL << n) - 1 : 0);
	assert_int_equal(json_object_array_length(member(o, "time_wait", json_type_array)), 0);
	if (nconflicts != SIZE_MAX)
		assert_int_equal(json_object_array_length(member(o, "conflicts", json_type_array)),
				 nconflicts);
	if (nalerts != SIZE_MAX)
		assert_int_equal(json_object_array_length(member(o, "alerts", json_type_array)),
				 nalerts);
	if (!strstr(json_object_get_string(member(o, "explanation", json_type_string)), text))
		fail_msg("%s: no \"%s\" in %s", line, text, json_object_to_json_string(o));
	json_object_put(o);
}

static void test_why(void **state)
{
	static const char *const bad[] = {
		"{\"cmd\":\"why\"}", "{\"cmd\":\"why\",\"port\":0}", "{\"cmd\":\"why\",\"port\":\"80\"}",
		"{\"cmd\":\"why\",\"port\":70000}", "{\"cmd\":\"why\",\"port\":80,\"proto\":\"sctp\"}",
		"{\"cmd\":\"why\",\"port\":80,\"proto\":6}", "{\"cmd\":\"why\",\"port\":80,\"netns\":0}",
		"{\"cmd\":\"why\",\"port\":80,\"netns\":8321499136}",
		"{\"cmd\":\"why\",\"port\":80,\"addr\":5}",
		"{\"cmd\":\"why\",\"port\":80,\"addr\":\"not-an-ip\"}",
	};
	struct fixture *f = *state;
	char args[64];
	json_object *o;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		json_object_put(req(f, bad[i], 0));

	check_why(f, ",\"port\":80", (const uint64_t[]){ 101, 102, 107, 106 }, 4, 2, HISTORY,
		  "pid 100 (nginx, uid 33)");
	check_why(f, ",\"port\":80,\"proto\":\"udp\"", (const uint64_t[]){ 107 }, 1, 0, HISTORY,
		  "pid 600 (evil, uid 1000) holds 127.0.0.1:80/udp");
	snprintf(args, sizeof(args), ",\"port\":80,\"netns\":%u", PWT_NS2);
	check_why(f, args, (const uint64_t[]){ 106 }, 1, SIZE_MAX, SIZE_MAX,
		  "pid 500 (nginx, uid 0)");
	check_why(f, ",\"port\":80,\"addr\":\"0.0.0.0\"", (const uint64_t[]){ 101, 106 }, 2,
		  SIZE_MAX, SIZE_MAX, "pid 100 (nginx, uid 33) holds 0.0.0.0:80/tcp");
	check_why(f, ",\"port\":8081", (const uint64_t[]){ 104 }, 1, 0, 0,
		  "holds [::ffff:127.0.0.1]:8081/tcp (LISTEN)");
	check_why(f, ",\"port\":9999", NULL, 0, 0, 0, "Nothing holds port 9999");

	o = req(f, "{\"cmd\":\"why\",\"port\":80}", 1);
	assert_int_equal(int_member(o, "port"), 80);
	json_object_put(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_framing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_owners, setup, teardown),
		cmocka_unit_test_setup_teardown(test_owners_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alerts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subscribe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_why, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
