// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_rules.c - unit tests of daemon/rules.c: address overlap across
 * families, wildcard widths, the TCP and UDP bind-conflict rules, rule
 * ranks, alert classification and explanations (DESIGN.md "Linux
 * address-reuse rules").
 */
#include <ctype.h>
#include <errno.h>

#include "helpers.h"
#include "rules.h"

enum { T = PW_TCP_CLOSE, L = PW_TCP_LISTEN, TW = PW_TCP_TIME_WAIT };

/* The sockets of the overlap matrix, all TCP port 80. */
enum { A4, B4, W4, L6, D6, W6, W6O, M4, MB4, MW4, NSOCKS };

static struct pw_sock matrix_sock(int i)
{
	switch (i) {
	case A4:
		return pwt_tcp("127.0.0.1", 80, T, 0, 0);
	case B4:
		return pwt_tcp("127.0.0.2", 80, T, 0, 0);
	case W4:
		return pwt_tcp("0.0.0.0", 80, T, 0, 0);
	case L6:
		return pwt_tcp("::1", 80, T, 0, 0); /* V6ONLY on by itself */
	case D6:
		return pwt_tcp("2001:db8::1", 80, T, 0, 0);
	case W6:
		return pwt_tcp("::", 80, T, 0, 0); /* dual-stack */
	case W6O:
		return pwt_tcp("::", 80, T, PWT_V6ONLY, 0);
	case M4:
		return pwt_tcp("::ffff:127.0.0.1", 80, T, 0, 0);
	case MB4:
		return pwt_tcp("::ffff:127.0.0.2", 80, T, 0, 0);
	default:
		return pwt_tcp("::ffff:0.0.0.0", 80, T, 0, 0);
	}
}

static void test_overlap_matrix(void **state)
{
	/* want[i][j]: does socket i overlap socket j (upper triangle, j >= i) */
	static const char *const want[NSOCKS] = {
		/*       A4 B4 W4 L6 D6 W6 W6O M4 MB4 MW4 */
		[A4] = "1  0  1  0  0  1  0   1  0   1",
		[B4] = "   1  1  0  0  1  0   0  1   1",
		[W4] = "      1  0  0  1  0   1  1   1",
		[L6] = "         1  0  1  1   0  0   0",
		[D6] = "            1  1  1   0  0   0",
		[W6] = "               1  1   1  1   1",
		[W6O] = "                 1   0  0   0",
		[M4] = "                      1  0   1",
		[MB4] = "                         1   1",
		[MW4] = "                             1",
	};

	(void)state;
	for (int i = 0; i < NSOCKS; i++) {
		const char *p = want[i];

		for (int j = i; j < NSOCKS; j++) {
			struct pw_sock a = matrix_sock(i), b = matrix_sock(j);
			int expect;

			while (*p == ' ')
				p++;
			expect = *p++ - '0';
			if (rules_overlap(&a, &b) != expect || rules_overlap(&b, &a) != expect)
				fail_msg("overlap(%d, %d): want %d, got %d / %d", i, j, expect,
					 rules_overlap(&a, &b), rules_overlap(&b, &a));
		}
	}
}

/* The cross-family cases named in DESIGN.md, spelled out. */
static void test_overlap_cross_family(void **state)
{
	struct pw_sock any4 = pwt_tcp("0.0.0.0", 443, T, 0, 0);
	struct pw_sock dual = pwt_tcp("::", 443, T, 0, 0);
	struct pw_sock only6 = pwt_tcp("[::]", 443, T, PWT_V6ONLY, 0);
	struct pw_sock lo4 = pwt_tcp("127.0.0.1", 443, T, 0, 0);
	struct pw_sock lo6 = pwt_tcp("[::1]", 443, T, 0, 0);
	struct pw_sock mapped = pwt_tcp("::ffff:127.0.0.1", 443, T, 0, 0);

	(void)state;
	assert_int_equal(lo6.v6only, 1);
	assert_true(rules_overlap(&any4, &dual));
	assert_false(rules_overlap(&any4, &only6));
	assert_false(rules_overlap(&lo4, &lo6));
	assert_true(rules_overlap(&lo4, &mapped));
	assert_true(rules_overlap(&mapped, &lo4));
	assert_true(rules_overlap(&lo4, &dual));
	assert_false(rules_overlap(&lo4, &only6));
	assert_true(rules_overlap(&lo6, &only6));
}

static void test_width(void **state)
{
	static const int want[NSOCKS] = {
		[A4] = 0, [B4] = 0, [W4] = 1, [L6] = 0, [D6] = 0,
		[W6] = 2, [W6O] = 1, [M4] = 0, [MB4] = 0, [MW4] = 1,
	};

	(void)state;
	for (int i = 0; i < NSOCKS; i++) {
		struct pw_sock s = matrix_sock(i);

		if (rules_width(&s) != want[i])
			fail_msg("width(%d): want %d, got %d", i, want[i], rules_width(&s));
	}
}

/* Check rules_blocks(c, h) and, when it blocks, the rule. */
static void check_block(const struct pw_sock *c, const struct pw_sock *h, const char *rule)
{
	if (!rule) {
		assert_int_equal(rules_blocks(c, h), 0);
		return;
	}
	assert_int_equal(rules_blocks(c, h), 1);
	assert_string_equal(rules_rule_name(rules_block_rule(c, h)), rule);
}

static void test_blocks_tcp(void **state)
{
	struct pw_sock c, h;

	(void)state;
	/* both SO_REUSEADDR, holder bound but not listening: shared */
	c = pwt_tcp("127.0.0.1", 80, T, PWT_RA, 1000);
	h = pwt_tcp("127.0.0.1", 80, T, PWT_RA, 33);
	check_block(&c, &h, NULL);
	/* the holder listens: refused even with SO_REUSEADDR on both */
	h.state = L;
	check_block(&c, &h, "listener");
	/* only one side has SO_REUSEADDR, or none */
	h = pwt_tcp("127.0.0.1", 80, T, 0, 33);
	check_block(&c, &h, "no_reuseaddr");
	c.reuseaddr = 0;
	h.reuseaddr = 1;
	check_block(&c, &h, "no_reuseaddr");
	h.reuseaddr = 0;
	check_block(&c, &h, "no_reuseaddr");

	/* SO_REUSEPORT on both: one creator uid joins, even a listener */
	c = pwt_tcp("0.0.0.0", 80, T, PWT_RP, 1000);
	h = pwt_tcp("0.0.0.0", 80, L, PWT_RP, 1000);
	check_block(&c, &h, NULL);
	h.state = T;
	check_block(&c, &h, NULL);
	h.sk_uid = 1001;
	check_block(&c, &h, "reuseport_uid");
	h.state = L;
	check_block(&c, &h, "reuseport_uid");
	/* SO_REUSEPORT on one side only */
	h = pwt_tcp("0.0.0.0", 80, T, 0, 1000);
	check_block(&c, &h, "no_reuseaddr");

	/* TIME_WAIT: both SO_REUSEADDR binds over it, else time_wait */
	h = pwt_tcp("127.0.0.1", 80, TW, PWT_RA, 0);
	c = pwt_tcp("127.0.0.1", 80, T, PWT_RA, 1000);
	check_block(&c, &h, NULL);
	h.reuseaddr = 0;
	check_block(&c, &h, "time_wait");
	h.reuseaddr = 1;
	c.reuseaddr = 0;
	check_block(&c, &h, "time_wait");
	/* SO_REUSEPORT over TIME_WAIT: the uid is not compared */
	h = pwt_tcp("127.0.0.1", 80, TW, PWT_RP, 0);
	c = pwt_tcp("127.0.0.1", 80, T, PWT_RP, 1000);
	check_block(&c, &h, NULL);

	/* a wildcard (or dual-stack) listener blocks a specific contender */
	c = pwt_tcp("127.0.0.1", 80, T, PWT_RA, 1000);
	h = pwt_tcp("0.0.0.0", 80, L, PWT_RA, 33);
	check_block(&c, &h, "wildcard_listener");
	h = pwt_tcp("::", 80, L, 0, 33);
	check_block(&c, &h, "wildcard_listener");
	c = pwt_tcp("0.0.0.0", 80, T, 0, 1000);
	check_block(&c, &h, "wildcard_listener"); /* dual-stack is wider than 0.0.0.0 */
	/* same address, or a wider contender: listener */
	h = pwt_tcp("0.0.0.0", 80, L, 0, 33);
	check_block(&c, &h, "listener");
	h = pwt_tcp("127.0.0.1", 80, L, 0, 33);
	check_block(&c, &h, "listener");
	/* a listen() of c re-checks with c listening: same rules */
	c = pwt_tcp("127.0.0.1", 80, L, PWT_RA, 1000);
	h = pwt_tcp("127.0.0.1", 80, L, PWT_RA, 1000);
	check_block(&c, &h, "listener");

	/* no overlap, no block, whatever the flags and states */
	c = pwt_tcp("127.0.0.2", 80, T, 0, 1000);
	check_block(&c, &h, NULL);
	c = pwt_tcp("::1", 80, T, 0, 1000);
	check_block(&c, &h, NULL);
	h = pwt_tcp("::", 80, L, PWT_V6ONLY, 33);
	c = pwt_tcp("0.0.0.0", 80, T, 0, 1000);
	check_block(&c, &h, NULL);
}

static void test_blocks_udp(void **state)
{
	struct pw_sock c, h;

	(void)state;
	c = pwt_udp("0.0.0.0", 53, PWT_RA, 1000);
	h = pwt_udp("0.0.0.0", 53, PWT_RA, 0);
	check_block(&c, &h, NULL); /* shared whatever the uids */
	c = pwt_udp("127.0.0.1", 53, PWT_RP, 1000);
	h = pwt_udp("0.0.0.0", 53, PWT_RP, 1000);
	check_block(&c, &h, NULL);
	h.sk_uid = 0;
	check_block(&c, &h, "reuseport_uid");
	h = pwt_udp("127.0.0.1", 53, 0, 1000);
	c = pwt_udp("127.0.0.1", 53, 0, 1000);
	check_block(&c, &h, "no_reuseaddr");
	c.reuseaddr = 1;
	check_block(&c, &h, "no_reuseaddr");
	/* a dual-stack [::] holds IPv4 too; a v6only one does not */
	h = pwt_udp("::", 53, 0, 1000);
	check_block(&c, &h, "no_reuseaddr");
	h.v6only = 1;
	check_block(&c, &h, NULL);
	h = pwt_udp("127.0.0.2", 53, 0, 1000);
	check_block(&c, &h, NULL);
}

static void test_rule_rank(void **state)
{
	(void)state;
	assert_true(rules_rule_rank(RULES_RULE_WILDCARD_LISTENER) >
		    rules_rule_rank(RULES_RULE_LISTENER));
	assert_true(rules_rule_rank(RULES_RULE_LISTENER) >
		    rules_rule_rank(RULES_RULE_REUSEPORT_UID));
	assert_true(rules_rule_rank(RULES_RULE_REUSEPORT_UID) >
		    rules_rule_rank(RULES_RULE_NO_REUSEADDR));
	assert_true(rules_rule_rank(RULES_RULE_NO_REUSEADDR) >
		    rules_rule_rank(RULES_RULE_TIME_WAIT));
	assert_true(rules_rule_rank(RULES_RULE_TIME_WAIT) > 0);
	assert_int_equal(rules_rule_rank(RULES_RULE_UNKNOWN_HOLDER), 0);
	assert_int_equal(rules_rule_rank(RULES_RULE_NONE), 0);
	assert_int_equal(rules_rule_rank(RULES_RULE_COUNT), 0);
}

/*
 * The name tables of rules, alert kinds and reasons: every value but NONE
 * has a name of its own (the static asserts in rules.c pin the tables'
 * sizes, this finds a hole inside).
 */
static void test_rule_names(void **state)
{
	(void)state;
	assert_null(rules_rule_name(RULES_RULE_NONE));
	assert_null(rules_rule_name(RULES_RULE_COUNT));
	assert_string_equal(rules_rule_name(RULES_RULE_FAST_PATH), "fast_path");
	assert_string_equal(rules_rule_name(RULES_RULE_UNKNOWN_HOLDER), "unknown_holder");
	for (int i = RULES_RULE_NONE + 1; i < RULES_RULE_COUNT; i++) {
		assert_non_null(rules_rule_name((enum rules_rule)i));
		for (int j = RULES_RULE_NONE + 1; j < i; j++)
			assert_string_not_equal(rules_rule_name((enum rules_rule)i),
						rules_rule_name((enum rules_rule)j));
	}
	assert_null(rules_alert_kind_name(RULES_KIND_NONE));
	assert_null(rules_alert_kind_name(RULES_KIND_COUNT));
	for (int i = RULES_KIND_NONE + 1; i < RULES_KIND_COUNT; i++) {
		assert_non_null(rules_alert_kind_name((enum rules_alert_kind)i));
		for (int j = RULES_KIND_NONE + 1; j < i; j++)
			assert_string_not_equal(rules_alert_kind_name((enum rules_alert_kind)i),
						rules_alert_kind_name((enum rules_alert_kind)j));
	}
	assert_null(rules_alert_reason_name(RULES_REASON_NONE));
	assert_null(rules_alert_reason_name(RULES_REASON_COUNT));
	for (int i = RULES_REASON_NONE + 1; i < RULES_REASON_COUNT; i++) {
		const char *name = rules_alert_reason_name((enum rules_alert_reason)i);

		assert_non_null(name);
		for (int j = RULES_REASON_NONE + 1; j < i; j++)
			assert_string_not_equal(name,
						rules_alert_reason_name((enum rules_alert_reason)j));
	}
}

/* Classify c (uid_c) over h (uid_h); kind NULL: no alert expected. */
static void check_class(const struct pw_sock *c, uint32_t uid_c, const struct pw_sock *h,
			uint32_t uid_h, const char *kind, const char *reason,
			enum rules_severity sev)
{
	struct rules_alert out = { RULES_KIND_NONE, RULES_REASON_NONE, RULES_SEV_NONE };

	if (!kind) {
		assert_int_equal(rules_classify_bind(c, uid_c, h, uid_h, &out), 0);
		return;
	}
	assert_int_equal(rules_classify_bind(c, uid_c, h, uid_h, &out), 1);
	assert_string_equal(rules_alert_kind_name(out.kind), kind);
	assert_string_equal(rules_alert_reason_name(out.reason), reason);
	assert_int_equal(out.severity, sev);
}

static void test_classify_bind(void **state)
{
	struct pw_sock c, h;

	(void)state;
	/* a specific address under another group's wildcard */
	h = pwt_udp("0.0.0.0", 53, PWT_RA, 0);
	c = pwt_udp("127.0.0.1", 53, PWT_RA, 1000);
	check_class(&c, 1000, &h, 0, "hijack_attempt", "shadow_wildcard", RULES_SEV_CRITICAL);
	check_class(&c, 0, &h, 0, "hijack_attempt", "shadow_wildcard", RULES_SEV_WARNING);
	/* the other family's wildcard under a dual-stack [::] */
	h = pwt_tcp("::", 80, L, PWT_RP, 0);
	c = pwt_tcp("0.0.0.0", 80, L, PWT_RP, 1000);
	check_class(&c, 1000, &h, 0, "hijack_attempt", "shadow_wildcard", RULES_SEV_CRITICAL);
	/* joining another group's SO_REUSEPORT group on the same address */
	h = pwt_tcp("0.0.0.0", 80, L, PWT_RP, 1000);
	check_class(&c, 1000, &h, 0, "hijack_attempt", "reuseport_join", RULES_SEV_CRITICAL);
	check_class(&c, 1000, &h, 1000, "hijack_attempt", "reuseport_join", RULES_SEV_WARNING);
	/* UDP address bound again through SO_REUSEADDR */
	h = pwt_udp("127.0.0.1", 53, PWT_RA, 0);
	c = pwt_udp("127.0.0.1", 53, PWT_RA, 1000);
	check_class(&c, 1000, &h, 0, "hijack_attempt", "udp_share", RULES_SEV_CRITICAL);
	check_class(&c, 7, &h, 7, "hijack_attempt", "udp_share", RULES_SEV_WARNING);
	/* TCP SO_REUSEADDR, neither listening: a warning whatever the uids */
	h = pwt_tcp("127.0.0.1", 80, T, PWT_RA, 0);
	c = pwt_tcp("127.0.0.1", 80, T, PWT_RA, 1000);
	check_class(&c, 1000, &h, 0, "reuse_collision", "shared_bind", RULES_SEV_WARNING);
	check_class(&c, 0, &h, 0, "reuse_collision", "shared_bind", RULES_SEV_WARNING);
	/* no overlap: nothing */
	c = pwt_tcp("127.0.0.2", 80, T, PWT_RA, 1000);
	check_class(&c, 1000, &h, 0, NULL, NULL, RULES_SEV_NONE);
	c = pwt_tcp("::1", 80, T, PWT_RA, 1000);
	check_class(&c, 1000, &h, 0, NULL, NULL, RULES_SEV_NONE);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(rules_severity_name(RULES_SEV_CRITICAL), "critical");
	assert_string_equal(rules_severity_name(RULES_SEV_WARNING), "warning");
	assert_string_equal(rules_severity_name(RULES_SEV_NOTICE), "notice");
	assert_null(rules_severity_name(RULES_SEV_NONE));
	assert_string_equal(rules_op_name(RULES_OP_BIND), "bind");
	assert_string_equal(rules_op_name(RULES_OP_LISTEN), "listen");
	assert_string_equal(rules_op_name(RULES_OP_CONNECT), "connect");
}

static void test_explain(void **state)
{
	struct pw_sock sk = pwt_tcp("0.0.0.0", 80, L, 0, 33);
	struct pw_entry h = pwt_entry(&sk, PWT_NS1, 77, 4242, 33, "nginx");
	char buf[320];

	(void)state;
	rules_explain(buf, sizeof(buf), RULES_RULE_WILDCARD_LISTENER, &h);
	assert_non_null(strstr(buf, "pid 4242"));
	assert_non_null(strstr(buf, "nginx"));
	assert_non_null(strstr(buf, "uid 33"));
	assert_non_null(strstr(buf, "0.0.0.0:80/tcp"));
	assert_non_null(strstr(buf, "listens on"));
	assert_non_null(strstr(buf, "wildcard listener"));

	sk = pwt_udp("::1", 5353, 0, 1000);
	h = pwt_entry(&sk, PWT_NS1, 78, 17, 1000, "avahi");
	rules_explain(buf, sizeof(buf), RULES_RULE_NO_REUSEADDR, &h);
	assert_non_null(strstr(buf, "pid 17 (avahi, uid 1000)"));
	assert_non_null(strstr(buf, "[::1]:5353/udp"));
	assert_non_null(strstr(buf, "SO_REUSEADDR"));

	/* no owner: the socket inode, or a closed connection for TIME_WAIT */
	sk = pwt_tcp("127.0.0.1", 80, T, 0, 0);
	h = pwt_entry(&sk, PWT_NS1, 12345, 0, 0, NULL);
	rules_explain(buf, sizeof(buf), RULES_RULE_NO_REUSEADDR, &h);
	assert_non_null(strstr(buf, "socket inode 12345"));
	assert_non_null(strstr(buf, "127.0.0.1:80"));
	sk.state = TW;
	h = pwt_entry(&sk, PWT_NS1, 0, 0, 0, NULL);
	rules_explain(buf, sizeof(buf), RULES_RULE_TIME_WAIT, &h);
	assert_non_null(strstr(buf, "closed connection"));
	assert_non_null(strstr(buf, "TIME_WAIT"));

	/* no holder: the rule alone, as a sentence */
	rules_explain(buf, sizeof(buf), RULES_RULE_LISTENER, NULL);
	assert_true(isupper((unsigned char)buf[0]));
	assert_non_null(strstr(buf, "istening socket"));
	rules_explain(buf, sizeof(buf), RULES_RULE_FAST_PATH, NULL);
	assert_true(isupper((unsigned char)buf[0]));

	/* truncated to len, NUL-terminated */
	memset(buf, 'x', sizeof(buf));
	rules_explain(buf, 12, RULES_RULE_LISTENER, NULL);
	assert_int_equal(strlen(buf), 11);
}

/* ---- Prediction (rules_predict) ---- */

static const struct rules_tb *no_tb(uint16_t port, void *arg)
{
	(void)port;
	return arg;
}

static struct rules_prediction predict(const struct rules_query *q, const struct pw_sock *v,
				       size_t n, const struct rules_tb *tb)
{
	struct rules_ports ports;
	struct rules_prediction p;

	assert_int_equal(rules_ports_parse(&ports, "32768\t60999\n", ""), 0);
	rules_predict(q, v, n, no_tb, (void *)tb, &ports, &p);
	return p;
}

/*
 * Regression (differential test, seed 1, on a FIRST_DECIDES kernel):
 * udp_lib_get_port() puts an IPv6 SO_REUSEPORT socket at the TAIL of the
 * port chain (sk_add_node_rcu()), everything else at the head, and
 * udp_lib_lport_inuse() stops at the first conflicting socket. Kernel: [::] V6ONLY RA uid 1001 bound, then [::1] RA+RP uid 1002;
 * a [::1] RP uid 1002 bind meets [::] first and fails (the engine used to
 * put the newest first and say ok). In IPv4 the newest comes first.
 */
static void test_udp_chain_ipv6_reuseport_tail(void **state)
{
	struct pw_sock x = pwt_udp("::", 7201, PWT_RA | PWT_V6ONLY, 1001);
	struct pw_sock y = pwt_udp("::1", 7201, PWT_RA | PWT_RP, 1002);
	struct rules_query q = { .op = RULES_OP_BIND, .udp_walk = RULES_UDP_WALK_FIRST_DECIDES };
	struct pw_sock v[2];
	struct rules_prediction p;

	(void)state;
	/* x bound at t=1, y at t=2: y (IPv6 + SO_REUSEPORT) goes to the tail */
	assert_int_equal(rules_udp_chain_tail(&x), 0);
	assert_int_equal(rules_udp_chain_tail(&y), 1);
	assert_true(rules_udp_chain_before(0, 1, 1, 2));
	assert_false(rules_udp_chain_before(1, 2, 0, 1));
	v[0] = x;
	v[1] = y;
	q.c = pwt_udp("::1", 7201, PWT_RP, 1002);
	p = predict(&q, v, 2, NULL);
	assert_false(p.ok);
	assert_int_equal(p.err, EADDRINUSE);
	assert_string_equal(rules_rule_name(p.rule), "no_reuseaddr");

	/* IPv4: newest first. 0.0.0.0 RA uid 1001, then 127.0.0.1 RA+RP uid 1002:
	 * a 127.0.0.1 RP uid 1002 bind meets the compatible socket first: ok */
	x = pwt_udp("0.0.0.0", 7203, PWT_RA, 1001);
	y = pwt_udp("127.0.0.1", 7203, PWT_RA | PWT_RP, 1002);
	assert_int_equal(rules_udp_chain_tail(&y), 0); /* IPv4: head, whatever its flags */
	assert_true(rules_udp_chain_before(0, 2, 0, 1));
	v[0] = y;
	v[1] = x;
	q.c = pwt_udp("127.0.0.1", 7203, PWT_RP, 1002);
	p = predict(&q, v, 2, NULL);
	assert_true(p.ok);
	/* the other order (x newer): refused */
	v[0] = x;
	v[1] = y;
	p = predict(&q, v, 2, NULL);
	assert_false(p.ok);

	/* two IPv6 SO_REUSEPORT sockets: the older one first */
	assert_true(rules_udp_chain_before(1, 1, 1, 2));
	assert_false(rules_udp_chain_before(1, 2, 1, 1));
}

/*
 * Regression (differential test, seed 12, with setsockopt after bind): a
 * socket keeps the chain place its flags gave it at bind. ::ffff:127.0.0.1
 * RP uid 0 bound at t=12 (tail), ::ffff:127.0.0.2 RA+RP uid 1002 bound at
 * t=26 (tail) that has since cleared both flags: a 0.0.0.0 RA+RP uid 0
 * bind meets the first (compatible: ok). Ordered by the current flags,
 * the second came first and the engine said EADDRINUSE.
 */
static void test_udp_chain_place_is_fixed_at_bind(void **state)
{
	struct pw_sock a = pwt_udp("::ffff:127.0.0.1", 7102, PWT_RP, 0);
	struct pw_sock b = pwt_udp("::ffff:127.0.0.2", 7102, PWT_RA | PWT_RP, 1002);
	struct rules_query q = { .op = RULES_OP_BIND, .udp_walk = RULES_UDP_WALK_FIRST_DECIDES };
	int a_tail = rules_udp_chain_tail(&a), b_tail = rules_udp_chain_tail(&b);
	struct pw_sock v[2];
	struct rules_prediction p;

	(void)state;
	b.reuseaddr = b.reuseport = 0; /* setsockopt() after bind */
	assert_int_equal(b_tail, 1);
	assert_true(rules_udp_chain_before(a_tail, 12, b_tail, 26));
	v[0] = a;
	v[1] = b;
	q.c = pwt_udp("0.0.0.0", 7102, PWT_RA | PWT_RP, 0);
	p = predict(&q, v, 2, NULL);
	assert_true(p.ok);
	/* the order the current flags would give: refused */
	v[0] = b;
	v[1] = a;
	p = predict(&q, v, 2, NULL);
	assert_false(p.ok);
}

/*
 * Issue 10 (differential test, seeds 1-16 on Linux 6.18.44): this kernel's
 * udp_lib_lport_inuse() passes over a reuseport-compatible socket and is
 * refused by any conflicting one, wherever it is in the chain. Seed 10,
 * step 235: 127.0.0.1 RA+RP uid 1002 and ::ffff:127.0.0.2 (dual-stack)
 * RA+RP uid 0 are held; 0.0.0.0 RP uid 1002 meets the compatible socket
 * first (FIRST_DECIDES: ok) but the other uid's refuses it (ANY_REFUSES:
 * EADDRINUSE, rule reuseport_uid). Unknown walk: uncertain, not ok.
 */
static void test_udp_walk_any_refuses(void **state)
{
	struct pw_sock v[2] = {
		pwt_udp("127.0.0.1", 7102, PWT_RA | PWT_RP, 1002),
		pwt_udp("::ffff:127.0.0.2", 7102, PWT_RA | PWT_RP, 0),
	};
	struct rules_query q = { .op = RULES_OP_BIND };
	struct rules_prediction p;

	(void)state;
	q.c = pwt_udp("0.0.0.0", 7102, PWT_RP, 1002);

	q.udp_walk = RULES_UDP_WALK_FIRST_DECIDES;
	p = predict(&q, v, 2, NULL);
	assert_true(p.ok);
	assert_int_equal(p.nblockers, 0);
	assert_int_equal(p.uncertain, RULES_SURE);

	q.udp_walk = RULES_UDP_WALK_ANY_REFUSES;
	p = predict(&q, v, 2, NULL);
	assert_false(p.ok);
	assert_int_equal(p.uncertain, RULES_SURE);
	assert_int_equal(p.err, EADDRINUSE);
	assert_string_equal(rules_rule_name(p.rule), "reuseport_uid");
	assert_int_equal(p.nblockers, 1);
	assert_int_equal(p.blockers[0], 1);

	q.udp_walk = RULES_UDP_WALK_UNKNOWN;
	p = predict(&q, v, 2, NULL);
	assert_false(p.ok);
	assert_int_equal(p.uncertain, RULES_UNCERTAIN_UDP_WALK);
	assert_int_equal(p.nblockers, 1);

	/* the chain order does not matter to ANY_REFUSES */
	{
		struct pw_sock w[2] = { v[1], v[0] };

		q.udp_walk = RULES_UDP_WALK_ANY_REFUSES;
		p = predict(&q, w, 2, NULL);
		assert_false(p.ok);
		assert_int_equal(p.blockers[0], 0);
		/* and FIRST_DECIDES refuses too when the conflicting one is first;
		 * then the walks agree and even UNKNOWN is sure */
		q.udp_walk = RULES_UDP_WALK_FIRST_DECIDES;
		p = predict(&q, w, 2, NULL);
		assert_false(p.ok);
		q.udp_walk = RULES_UDP_WALK_UNKNOWN;
		p = predict(&q, w, 2, NULL);
		assert_false(p.ok);
		assert_int_equal(p.uncertain, RULES_SURE);
	}

	/* seed 10, step 1945: 0.0.0.0 RA uid 0, 127.0.0.1 RP uid 1001 and
	 * ::ffff:127.0.0.1 RA (SO_REUSEPORT set after bind) uid 1001, newest
	 * first; 0.0.0.0 RP uid 1001: refused by the wildcard without
	 * SO_REUSEPORT (no_reuseaddr), the two compatible sockets pass */
	{
		struct pw_sock w[3] = {
			pwt_udp("::ffff:127.0.0.1", 7101, PWT_RA | PWT_RP, 1001),
			pwt_udp("0.0.0.0", 7101, PWT_RA, 0),
			pwt_udp("127.0.0.1", 7101, PWT_RP, 1001),
		};

		q.c = pwt_udp("0.0.0.0", 7101, PWT_RP, 1001);
		q.udp_walk = RULES_UDP_WALK_ANY_REFUSES;
		p = predict(&q, w, 3, NULL);
		assert_false(p.ok);
		assert_string_equal(rules_rule_name(p.rule), "no_reuseaddr");
		assert_int_equal(p.nblockers, 1);
		assert_int_equal(p.blockers[0], 1);
		/* without the wildcard, both compatible: admitted by either walk */
		w[1] = w[2];
		p = predict(&q, w, 2, NULL);
		assert_true(p.ok);
		q.udp_walk = RULES_UDP_WALK_FIRST_DECIDES;
		p = predict(&q, w, 2, NULL);
		assert_true(p.ok);
	}
}

/*
 * Linux 6.1 (kernel matrix, bind_wildcard oracle): an AF_INET6 socket on
 * ::ffff:127.0.0.1 binds under an AF_INET6 ::ffff:0.0.0.0 holder, which
 * inet_bind2_bucket_match_addr_any() does not take for a wildcard there;
 * later kernels refuse it. An AF_INET 127.0.0.1 bind, and [::ffff:0.0.0.0]
 * binding under a v4-mapped holder, are refused on both.
 */
static void test_tcp_mapped_any_unseen(void **state)
{
	struct pw_sock v[1] = { pwt_tcp("::ffff:0.0.0.0", 7300, PW_TCP_CLOSE, 0, 0) };
	struct rules_query q = { .op = RULES_OP_BIND };
	struct rules_prediction p;

	(void)state;
	q.c = pwt_tcp("::ffff:127.0.0.1", 7300, PW_TCP_CLOSE, 0, 0);
	p = predict(&q, v, 1, NULL);
	assert_false(p.ok);
	q.tcp_mapped_any_unseen = RULES_MAPPED_ANY_V6;
	p = predict(&q, v, 1, NULL);
	assert_true(p.ok);
	/* an AF_INET 0.0.0.0 socket that joined the bucket ::ffff:0.0.0.0 made
	 * is unseen too; with RULES_MAPPED_ANY_V6 (maker unknown) it is seen */
	{
		struct pw_sock w[1] = { pwt_tcp("0.0.0.0", 7300, PW_TCP_CLOSE, PWT_RA, 0) };

		q.tcp_mapped_any_unseen = RULES_MAPPED_ANY_BUCKET;
		p = predict(&q, w, 1, NULL);
		assert_true(p.ok);
		q.tcp_mapped_any_unseen = RULES_MAPPED_ANY_V6;
		p = predict(&q, w, 1, NULL);
		assert_false(p.ok);
	}
	/* an AF_INET contender still meets it */
	q.c = pwt_tcp("127.0.0.1", 7300, PW_TCP_CLOSE, 0, 0);
	p = predict(&q, v, 1, NULL);
	assert_false(p.ok);
	/* and the other way round: the wildcard under a v4-mapped holder */
	v[0] = pwt_tcp("::ffff:127.0.0.1", 7300, PW_TCP_CLOSE, 0, 0);
	q.c = pwt_tcp("::ffff:0.0.0.0", 7300, PW_TCP_CLOSE, 0, 0);
	p = predict(&q, v, 1, NULL);
	assert_false(p.ok);
}

/*
 * The SO_REUSEPORT uid of a TCP holder without a struct socket (here a
 * connection in its listener's accept queue: inode 0, sk_uid of the
 * listener): sock_i_uid() makes it root's on INODE kernels (6.1, 6.12),
 * sk_uid keeps it the creator's on SK_UID kernels (6.17+); an unknown
 * kernel is uncertain exactly where they differ. The kbehavior.c trial.
 */
static void test_reuseport_uid_of_socketless_holder(void **state)
{
	struct pw_sock v[3] = {
		pwt_tcp("127.0.0.1", 7400, PW_TCP_LISTEN, PWT_RP, 1000),
		pwt_tcp("127.0.0.2", 7400, PW_TCP_CLOSE, 0, 1000),
		pwt_tcp("127.0.0.1", 7400, PW_TCP_ESTABLISHED, PWT_RP, 1000),
	};
	struct rules_tb tb = { .fastreuse = 0, .fastreuseport = 0 }; /* no fast path */
	struct rules_query q = { .op = RULES_OP_BIND };
	struct rules_prediction p;

	(void)state;
	v[0].inode = 11;
	v[1].inode = 12;
	v[2].inode = 0; /* not accepted yet */
	v[2].rport = 40000;
	q.c = pwt_tcp("127.0.0.1", 7400, PW_TCP_CLOSE, PWT_RP, 1000);
	q.reuseport_uid = RULES_REUSEPORT_UID_SK;
	p = predict(&q, v, 3, &tb);
	assert_true(p.ok);
	q.reuseport_uid = RULES_REUSEPORT_UID_INODE;
	p = predict(&q, v, 3, &tb);
	assert_false(p.ok);
	assert_int_equal(p.uncertain, RULES_SURE);
	assert_int_equal(p.err, EADDRINUSE);
	assert_int_equal(p.rule, RULES_RULE_REUSEPORT_UID);
	assert_int_equal(p.nblockers, 1);
	assert_int_equal(p.blockers[0], 2);
	q.reuseport_uid = RULES_REUSEPORT_UID_UNKNOWN;
	p = predict(&q, v, 3, &tb);
	assert_false(p.ok);
	assert_int_equal(p.uncertain, RULES_UNCERTAIN_REUSEPORT_UID);
	assert_int_equal(p.blockers[0], 2);
	/* a contender of root's: refused by the listener either way */
	q.c.sk_uid = 0;
	p = predict(&q, v, 3, &tb);
	assert_false(p.ok);
	assert_int_equal(p.uncertain, RULES_SURE);
	assert_int_equal(p.rule, RULES_RULE_REUSEPORT_UID);
	/* accepted (an inode of its own): the same on every kernel */
	q.c.sk_uid = 1000;
	v[2].inode = 13;
	for (int r = RULES_REUSEPORT_UID_UNKNOWN; r <= RULES_REUSEPORT_UID_SK; r++) {
		q.reuseport_uid = (enum rules_reuseport_uid)r;
		p = predict(&q, v, 3, &tb);
		assert_true(p.ok);
		assert_int_equal(p.uncertain, RULES_SURE);
	}
	/* a TIME_WAIT entry (inode 0 too) is exempt from the uid check */
	v[2].inode = 0;
	v[2].state = PW_TCP_TIME_WAIT;
	v[2].sk_uid = 0;
	q.reuseport_uid = RULES_REUSEPORT_UID_INODE;
	p = predict(&q, v, 3, &tb);
	assert_true(p.ok);
	assert_int_equal(rules_reuseport_holder_uid(RULES_REUSEPORT_UID_INODE, &v[0]), 1000);
	assert_string_equal(rules_reuseport_uid_name(RULES_REUSEPORT_UID_INODE), "inode");
	assert_string_equal(rules_reuseport_uid_name(RULES_REUSEPORT_UID_SK), "sk_uid");
	assert_string_equal(rules_reuseport_uid_name(RULES_REUSEPORT_UID_UNKNOWN), "unknown");
}

/*
 * A contender with a reuseport group of its own (a program attached
 * before bind: rules_query.own_group) shares through SO_REUSEPORT with
 * nobody (inet_bind_conflict() reuseport_cb_ok false, udp_lib_lport_inuse()),
 * and gets rule reuseport_own_group where SO_REUSEPORT would have let it
 * join; SO_REUSEADDR sharing and free ports are unchanged.
 */
static void test_reuseport_own_group(void **state)
{
	struct rules_tb any = { .fastreuse = 0, .fastreuseport = RULES_FASTREUSEPORT_ANY,
				.fastuid = 1000 };
	struct rules_query q = { .op = RULES_OP_BIND, .reuseport_uid = RULES_REUSEPORT_UID_SK };
	struct rules_prediction p;
	uint8_t protos[2] = { IPPROTO_TCP, IPPROTO_UDP };

	(void)state;
	for (int i = 0; i < 2; i++) {
		struct pw_sock v[1] = { pwt_sock(protos[i], "127.0.0.1", 7410, PW_TCP_LISTEN, PWT_RP,
						 1000) };

		if (protos[i] == IPPROTO_UDP)
			v[0].state = PW_TCP_CLOSE;
		v[0].inode = 21;
		any.fast = v[0];
		q.c = pwt_sock(protos[i], "127.0.0.1", 7410, PW_TCP_CLOSE, PWT_RP, 1000);
		q.own_group = 0;
		p = predict(&q, v, 1, protos[i] == IPPROTO_TCP ? &any : NULL);
		assert_true(p.ok);
		q.own_group = 1; /* not even the fast path */
		p = predict(&q, v, 1, protos[i] == IPPROTO_TCP ? &any : NULL);
		assert_false(p.ok);
		assert_int_equal(p.err, EADDRINUSE);
		assert_int_equal(p.rule, RULES_RULE_REUSEPORT_OWN_GROUP);
		assert_int_equal(p.nblockers, 1);
		/* another uid: refused anyway, for its own reason */
		q.c.sk_uid = 1001;
		p = predict(&q, v, 1, NULL);
		assert_false(p.ok);
		assert_int_not_equal(p.rule, RULES_RULE_REUSEPORT_OWN_GROUP);
		q.c.sk_uid = 1000;
		/* another port: free */
		q.c.lport = 7411;
		p = predict(&q, v, 1, NULL);
		assert_true(p.ok);
	}
	/* UDP, both SO_REUSEADDR: shared, group or not */
	{
		struct pw_sock v[1] = { pwt_udp("127.0.0.1", 7412, PWT_RA | PWT_RP, 1000) };

		q.c = pwt_udp("127.0.0.1", 7412, PWT_RA | PWT_RP, 1000);
		q.own_group = 1;
		p = predict(&q, v, 1, NULL);
		assert_true(p.ok);
	}
	assert_string_equal(rules_rule_name(RULES_RULE_REUSEPORT_OWN_GROUP), "reuseport_own_group");
}

/*
 * The bhash2 view of the running kernel (rules_query.tcp_bhash2_deviate,
 * kbehavior.c trial_bhash2()): a TCP contender on a specific address
 * meets only the wildcard buckets and TIME_WAIT entries its kernel's
 * inet_bind2_bucket_match_addr_any() / __inet_bhash2_conflict() let it;
 * fixed kernels and each pre-fix form, and unsure pairs as uncertain.
 */
static void test_bhash2_view(void **state)
{
	struct rules_query q = { .op = RULES_OP_BIND, .reuseport_uid = RULES_REUSEPORT_UID_SK };
	struct rules_prediction p;
	struct pw_sock tw[1] = { pwt_tcp("127.0.0.1", 7420, PW_TCP_TIME_WAIT, 0, 1000) };
	struct pw_sock dual[1] = { pwt_tcp("::", 7421, PW_TCP_LISTEN, 0, 1000) };
	struct pw_sock only[1] = { pwt_tcp("::", 7422, PW_TCP_CLOSE, PWT_V6ONLY, 1000) };
	struct pw_sock many[1] = { pwt_tcp("::ffff:0.0.0.0", 7423, PW_TCP_CLOSE, 0, 1000) };

	(void)state;
	/* TIME_WAIT entries: met by a fixed kernel, not before "Add TIME_WAIT
	 * sockets in bhash2"; a wildcard contender meets them on both */
	q.c = pwt_tcp("127.0.0.1", 7420, PW_TCP_CLOSE, 0, 1000);
	p = predict(&q, tw, 1, NULL);
	assert_false(p.ok);
	assert_int_equal(p.rule, RULES_RULE_TIME_WAIT);
	q.tcp_bhash2_deviate = RULES_B2_TW;
	p = predict(&q, tw, 1, NULL);
	assert_true(p.ok);
	q.c = pwt_tcp("0.0.0.0", 7420, PW_TCP_CLOSE, 0, 1000);
	p = predict(&q, tw, 1, NULL);
	assert_false(p.ok);
	q.tcp_bhash2_deviate = 0;
	/* met or not, an entry of another address never refuses (differential
	 * test, seed 1: [::1] and [::ffff:127.0.0.1] entries against 127.0.0.2) */
	q.c = pwt_tcp("127.0.0.2", 7420, PW_TCP_CLOSE, 0, 1000);
	p = predict(&q, tw, 1, NULL);
	assert_true(p.ok);
	q.c.lport = 0; /* nor take its port from a search */
	{
		struct rules_ports ports;

		assert_int_equal(rules_ports_parse(&ports, "7420 7420", ""), 0);
		rules_predict(&q, tw, 1, no_tb, NULL, &ports, &p);
		assert_true(p.ok);
	}
	q.tcp_bhash2_unsure = RULES_B2_TW;
	q.c = pwt_tcp("127.0.0.1", 7420, PW_TCP_CLOSE, 0, 1000);
	p = predict(&q, tw, 1, NULL);
	assert_false(p.ok);
	assert_int_equal(p.uncertain, RULES_UNCERTAIN_BHASH2);
	assert_int_equal(p.nblockers, 1);
	q.tcp_bhash2_unsure = 0;

	/* AF_INET contender, dual-stack [::] listener: a family mismatch
	 * matched no bucket before "Fix bind() conflict check for dual-stack
	 * wildcard address" */
	q.c = pwt_tcp("127.0.0.1", 7421, PW_TCP_CLOSE, 0, 1000);
	p = predict(&q, dual, 1, NULL);
	assert_false(p.ok);
	assert_int_equal(p.rule, RULES_RULE_WILDCARD_LISTENER);
	q.tcp_bhash2_deviate = RULES_B2_BIT(RULES_B2_C_V4, RULES_B2_H_DUAL);
	p = predict(&q, dual, 1, NULL);
	assert_true(p.ok);
	/* the v4-mapped contender is another pair: still met */
	q.c = pwt_tcp("::ffff:127.0.0.1", 7421, PW_TCP_CLOSE, 0, 1000);
	p = predict(&q, dual, 1, NULL);
	assert_false(p.ok);
	q.tcp_bhash2_deviate = 0;

	/* [::] with IPV6_V6ONLY: passed over by a fixed kernel; met before
	 * "Fix bind() regression for v6-only wildcard address", where the
	 * flags alone decide */
	q.c = pwt_tcp("127.0.0.1", 7422, PW_TCP_CLOSE, 0, 1000);
	p = predict(&q, only, 1, NULL);
	assert_true(p.ok);
	q.tcp_bhash2_deviate = RULES_B2_BIT(RULES_B2_C_V4, RULES_B2_H_V6ONLY);
	p = predict(&q, only, 1, NULL);
	assert_false(p.ok);
	assert_int_equal(p.rule, RULES_RULE_NO_REUSEADDR);
	only[0].reuseaddr = 1;
	q.c.reuseaddr = 1;
	p = predict(&q, only, 1, NULL);
	assert_true(p.ok);
	q.c.reuseaddr = 0;
	q.c.bound_dev_if = 2; /* other devices never meet */
	only[0].bound_dev_if = 3;
	only[0].reuseaddr = 0;
	p = predict(&q, only, 1, NULL);
	assert_true(p.ok);
	q.c.bound_dev_if = 0;
	q.tcp_bhash2_deviate = 0;

	/* AF_INET contender, AF_INET6 ::ffff:0.0.0.0 holder */
	q.c = pwt_tcp("127.0.0.1", 7423, PW_TCP_CLOSE, 0, 1000);
	p = predict(&q, many, 1, NULL);
	assert_false(p.ok);
	q.tcp_bhash2_deviate = RULES_B2_BIT(RULES_B2_C_V4, RULES_B2_H_MAPPEDANY);
	p = predict(&q, many, 1, NULL);
	assert_true(p.ok);
	q.tcp_bhash2_deviate = 0;
	assert_string_equal(rules_b2_name(RULES_B2_TW), "time_wait");
	assert_string_equal(rules_b2_name(RULES_B2_BIT(RULES_B2_C_MAPPED, RULES_B2_H_V6ONLY)),
			    "[::ffff:127.0.0.1]/[::]v6only");
	assert_null(rules_b2_name(3));
}

/*
 * ip_autobind_reuse (inet_csk_find_open_port(), relax) and
 * IP_LOCAL_PORT_RANGE (inet_sk_get_local_port_range()).
 */
static void test_autobind_reuse_and_socket_range(void **state)
{
	struct rules_ports ports;
	struct rules_query q = { .op = RULES_OP_BIND };
	struct pw_sock v[3];
	struct rules_prediction p;

	(void)state;
	assert_int_equal(rules_ports_parse(&ports, "40000 40001", NULL), 0);
	v[0] = pwt_tcp("127.0.0.1", 40000, T, PWT_RA, 1);
	v[1] = pwt_tcp("127.0.0.1", 40001, T, PWT_RA, 1);
	q.c = pwt_tcp("127.0.0.1", 0, T, PWT_RA, 2);
	rules_predict(&q, v, 2, NULL, NULL, &ports, &p);
	assert_false(p.ok);
	q.autobind_reuse = 1;
	rules_predict(&q, v, 2, NULL, NULL, &ports, &p);
	assert_true(p.ok);
	/* a listener is never shared, nor a socket without SO_REUSEADDR */
	v[1] = pwt_tcp("127.0.0.1", 40001, L, PWT_RA, 1);
	v[0] = pwt_tcp("127.0.0.1", 40000, T, 0, 1);
	rules_predict(&q, v, 2, NULL, NULL, &ports, &p);
	assert_false(p.ok);
	/* both SO_REUSEPORT with one uid: inet_bind_conflict() says conflict when relaxed */
	v[0] = pwt_tcp("127.0.0.1", 40000, T, PWT_RA | PWT_RP, 2);
	q.c = pwt_tcp("127.0.0.1", 0, T, PWT_RA | PWT_RP, 2);
	rules_predict(&q, v, 2, NULL, NULL, &ports, &p);
	assert_false(p.ok);
	v[0] = pwt_tcp("127.0.0.1", 40000, T, PWT_RA | PWT_RP, 3);
	rules_predict(&q, v, 2, NULL, NULL, &ports, &p);
	assert_true(p.ok);
	/* without SO_REUSEADDR on the new socket: no second search */
	q.c = pwt_tcp("127.0.0.1", 0, T, 0, 2);
	rules_predict(&q, v, 2, NULL, NULL, &ports, &p);
	assert_false(p.ok);

	/* the socket's range: each end that lies in the namespace's replaces it */
	assert_int_equal(rules_ports_parse(&ports, "40000 40009", NULL), 0);
	rules_ports_narrow(&ports, 0, 0);
	assert_int_equal(ports.lo, 40000);
	assert_int_equal(ports.hi, 40009);
	rules_ports_narrow(&ports, 40002, 40005);
	assert_int_equal(ports.lo, 40002);
	assert_int_equal(ports.hi, 40005);
	assert_int_equal(rules_ports_parse(&ports, "40000 40009", NULL), 0);
	rules_ports_narrow(&ports, 30000, 40003);
	assert_int_equal(ports.lo, 40000);
	assert_int_equal(ports.hi, 40003);
	assert_int_equal(rules_ports_parse(&ports, "40000 40009", NULL), 0);
	rules_ports_narrow(&ports, 40009, 50000);
	assert_int_equal(ports.lo, 40009);
	assert_int_equal(ports.hi, 40009);
}

/*
 * Devices (inet_bind_conflict(), udp_lib_lport_inuse()): two sockets meet
 * when either is on no device or both are on the same one.
 */
static void test_devices(void **state)
{
	struct pw_sock a = pwt_udp("0.0.0.0", 53, 0, 0), b = pwt_udp("0.0.0.0", 53, 0, 0);

	(void)state;
	assert_true(rules_overlap(&a, &b));
	a.bound_dev_if = 2;
	assert_true(rules_overlap(&a, &b));
	assert_true(rules_overlap(&b, &a));
	b.bound_dev_if = 3;
	assert_false(rules_overlap(&a, &b));
	assert_false(rules_blocks(&a, &b));
	b.bound_dev_if = 2;
	assert_true(rules_overlap(&a, &b));
	assert_true(rules_blocks(&a, &b));
	/* the device does not make other addresses meet */
	b = pwt_udp("127.0.0.1", 53, 0, 0);
	a = pwt_udp("127.0.0.2", 53, 0, 0);
	a.bound_dev_if = b.bound_dev_if = 1;
	assert_false(rules_overlap(&a, &b));
}

/*
 * The checks bind(2) makes before the conflicts, in each family's order
 * (__inet_bind(): address, then port; __inet6_bind(): multicast on TCP,
 * port, then address), with every way around them.
 */
static void test_bind_checks(void **state)
{
	static const struct {
		const char *addr;
		uint8_t proto;
		uint16_t port;
		int cap, addr_ok, nonlocal_v4, nonlocal_v6, freebind;
		int err;                     /* 0: the conflicts decide */
		enum rules_rule rule;
		enum rules_uncertain uncertain;
	} cases[] = {
		{ "127.0.0.1", IPPROTO_TCP, 80, 0, 1, 0, 0, 0, EACCES, RULES_RULE_PRIVILEGED_PORT, RULES_SURE },
		{ "127.0.0.1", IPPROTO_TCP, 80, 1, 1, 0, 0, 0, 0, RULES_RULE_NONE, RULES_SURE },
		{ "127.0.0.1", IPPROTO_TCP, 1999, 0, 1, 0, 0, 0, EACCES, RULES_RULE_PRIVILEGED_PORT, RULES_SURE },
		{ "127.0.0.1", IPPROTO_TCP, 2000, 0, 1, 0, 0, 0, 0, RULES_RULE_NONE, RULES_SURE },
		{ "127.0.0.1", IPPROTO_TCP, 0, 0, 1, 0, 0, 0, 0, RULES_RULE_NONE, RULES_SURE },
		{ "127.0.0.1", IPPROTO_TCP, 80, -1, 1, 0, 0, 0, EACCES, RULES_RULE_PRIVILEGED_PORT,
		  RULES_UNCERTAIN_PRIVILEGE },
		/* IPv4: the address first */
		{ "192.0.2.7", IPPROTO_TCP, 80, 0, 0, 0, 0, 0, EADDRNOTAVAIL,
		  RULES_RULE_NO_LOCAL_ADDRESS, RULES_SURE },
		{ "192.0.2.7", IPPROTO_UDP, 8080, 1, 0, 1, 0, 0, 0, RULES_RULE_NONE, RULES_SURE },
		{ "192.0.2.7", IPPROTO_UDP, 8080, 1, 0, 0, 1, 0, EADDRNOTAVAIL,
		  RULES_RULE_NO_LOCAL_ADDRESS, RULES_SURE },
		{ "192.0.2.7", IPPROTO_UDP, 8080, 1, 0, 0, 0, 1, 0, RULES_RULE_NONE, RULES_SURE },
		{ "192.0.2.7", IPPROTO_UDP, 8080, 1, -1, 0, 0, 0, EADDRNOTAVAIL,
		  RULES_RULE_NO_LOCAL_ADDRESS, RULES_UNCERTAIN_ADDRESS },
		{ "0.0.0.0", IPPROTO_UDP, 8080, 1, 0, 0, 0, 0, 0, RULES_RULE_NONE, RULES_SURE },
		/* v4-mapped: IPv6's order, IPv4's sysctl */
		{ "::ffff:192.0.2.7", IPPROTO_TCP, 80, 0, 0, 0, 0, 0, EACCES,
		  RULES_RULE_PRIVILEGED_PORT, RULES_SURE },
		{ "::ffff:192.0.2.7", IPPROTO_TCP, 8080, 0, 0, 1, 0, 0, 0, RULES_RULE_NONE, RULES_SURE },
		{ "::ffff:0.0.0.0", IPPROTO_TCP, 8080, 0, 0, 0, 0, 0, 0, RULES_RULE_NONE, RULES_SURE },
		/* IPv6: the port first, then the address, with its own sysctl */
		{ "2001:db8::7", IPPROTO_TCP, 80, 0, 0, 0, 0, 0, EACCES, RULES_RULE_PRIVILEGED_PORT, RULES_SURE },
		{ "2001:db8::7", IPPROTO_TCP, 8080, 0, 0, 1, 0, 0, EADDRNOTAVAIL,
		  RULES_RULE_NO_LOCAL_ADDRESS, RULES_SURE },
		{ "2001:db8::7", IPPROTO_TCP, 8080, 0, 0, 0, 1, 0, 0, RULES_RULE_NONE, RULES_SURE },
		{ "ff0e::1", IPPROTO_UDP, 8080, 0, 0, 0, 0, 0, 0, RULES_RULE_NONE, RULES_SURE },
		{ "ff0e::1", IPPROTO_TCP, 80, 0, 1, 0, 0, 0, EINVAL, RULES_RULE_MULTICAST_STREAM, RULES_SURE },
		{ "fe80::1", IPPROTO_UDP, 8080, 0, RULES_ADDR_NEEDS_DEVICE, 0, 1, 1, EINVAL,
		  RULES_RULE_NEEDS_DEVICE, RULES_SURE },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rules_query q = { .op = RULES_OP_BIND };
		struct rules_prediction p;
		int decided;

		q.c = pwt_sock(cases[i].proto, cases[i].addr, cases[i].port, PW_TCP_CLOSE, 0, 1000);
		q.env.known = 1;
		q.env.prot_sock = 2000;
		q.env.cap_net_bind_service = cases[i].cap;
		q.env.addr_ok = cases[i].addr_ok;
		q.env.nonlocal_v4 = cases[i].nonlocal_v4;
		q.env.nonlocal_v6 = cases[i].nonlocal_v6;
		q.env.freebind = (uint8_t)cases[i].freebind;
		memset(&p, 0, sizeof(p));
		decided = rules_bind_checks(&q, &p);
		if (decided != !!cases[i].err || (decided && (p.err != cases[i].err ||
							     p.rule != cases[i].rule ||
							     p.uncertain != cases[i].uncertain)))
			fail_msg("case %zu (%s port %u): decided %d err %d rule %s uncertain %d", i,
				 cases[i].addr, cases[i].port, decided, p.err,
				 rules_rule_name(p.rule) ? rules_rule_name(p.rule) : "-",
				 p.uncertain);
		/* not gathered: never decided here */
		q.env.known = 0;
		assert_int_equal(rules_bind_checks(&q, &p), 0);
	}
}

/* An unknown capability with a listener in the way: refused either way, uncertain why. */
static void test_bind_checks_then_conflicts(void **state)
{
	struct pw_sock v[1] = { pwt_tcp("0.0.0.0", 80, PW_TCP_LISTEN, 0, 0) };
	struct rules_query q = { .op = RULES_OP_BIND };
	struct rules_prediction p;

	(void)state;
	q.c = pwt_tcp("127.0.0.1", 80, PW_TCP_CLOSE, 0, 1000);
	q.env = (struct rules_bind_env){ .known = 1, .prot_sock = 1024,
					 .cap_net_bind_service = -1, .addr_ok = 1 };
	p = predict(&q, v, 1, NULL);
	assert_false(p.ok);
	assert_int_equal(p.err, EADDRINUSE);
	assert_int_equal(p.uncertain, RULES_UNCERTAIN_PRIVILEGE);
	/* no listener: the capability alone decides, and it is unknown */
	p = predict(&q, v, 0, NULL);
	assert_false(p.ok);
	assert_int_equal(p.err, EACCES);
	assert_int_equal(p.uncertain, RULES_UNCERTAIN_PRIVILEGE);
	/* known to be there: the listener decides, surely */
	q.env.cap_net_bind_service = 1;
	p = predict(&q, v, 1, NULL);
	assert_int_equal(p.err, EADDRINUSE);
	assert_int_equal(p.uncertain, RULES_SURE);
	/* a cgroup/bind program runs first: never a sure "would succeed" */
	q.env.cgroup_progs = 1;
	p = predict(&q, v, 0, NULL);
	assert_false(p.ok);
	assert_int_equal(p.err, EPERM);
	assert_int_equal(p.rule, RULES_RULE_CGROUP_PROGRAM);
	assert_int_equal(p.uncertain, RULES_UNCERTAIN_CGROUP);
	p = predict(&q, v, 1, NULL);
	assert_int_equal(p.err, EADDRINUSE);
	assert_int_equal(p.uncertain, RULES_UNCERTAIN_CGROUP);
}

/*
 * Regression (differential test, seed 1): a connect() from an explicitly
 * bound port may take over a TIME_WAIT entry with the same 4-tuple
 * (tcp_twsk_unique() with no twp, timestamps on) even with tcp_tw_reuse
 * 0; the engine said four_tuple. A live connection with that 4-tuple
 * still refuses it (EADDRNOTAVAIL).
 */
static void test_connect_bound_over_time_wait(void **state)
{
	struct pw_sock tw = pwt_tcp("::1", 7101, TW, PWT_RA, 0);
	struct rules_query q = { .op = RULES_OP_CONNECT, .tw_reuse = 0, .timestamps = 1 };
	struct rules_prediction p;

	(void)state;
	assert_int_equal(pw_addr_pton("::1", &tw.family, tw.raddr), 0);
	tw.rport = 7102;
	q.c = pwt_tcp("::", 7101, T, PWT_RA | PWT_RP | PWT_V6ONLY, 1001);
	memcpy(q.c.raddr, tw.raddr, 16);
	q.c.rport = 7102;
	p = predict(&q, &tw, 1, NULL);
	assert_true(p.ok);
	/* without timestamps the entry holds the 4-tuple */
	q.timestamps = 0;
	p = predict(&q, &tw, 1, NULL);
	assert_false(p.ok);
	assert_string_equal(rules_rule_name(p.rule), "four_tuple");
	assert_int_equal(p.err, EADDRNOTAVAIL);
	/* an established connection always does */
	q.timestamps = 1;
	tw.state = PW_TCP_ESTABLISHED;
	p = predict(&q, &tw, 1, NULL);
	assert_false(p.ok);
	assert_string_equal(rules_rule_name(p.rule), "four_tuple");
}

/*
 * Regression (differential test with devices, seed 1): a TIME_WAIT entry
 * left by a client bound to lo (SO_BINDTODEVICE) does not hold its
 * 4-tuple against a connect() on no device: __inet_check_established()
 * calls inet_match() with the new socket's device as dif, and
 * inet_sk_bound_dev_eq() (include/net/inet_sock.h) matches a holder bound
 * to a device only when dif is that device; a holder on no device matches
 * every dif. The engine took any device as a match and said
 * ephemeral_exhausted; the kernel autobound the port.
 */
static void test_connect_four_tuple_devices(void **state)
{
	struct rules_ports ports;
	struct rules_query q = { .op = RULES_OP_CONNECT, .timestamps = 1 };
	struct pw_sock tw = pwt_tcp("127.0.0.1", 40000, TW, 0, 0);
	struct rules_prediction p;

	(void)state;
	assert_int_equal(rules_ports_parse(&ports, "40000 40000", NULL), 0);
	assert_int_equal(pw_addr_pton("127.0.0.2", &tw.family, tw.raddr), 0);
	tw.rport = 7000;
	tw.bound_dev_if = 1; /* lo */
	tw.bind_origin = PW_BIND_KNOWN | PW_BIND_CONNECT;
	q.c = pwt_tcp("0.0.0.0", 0, T, 0, 1000);
	memcpy(q.c.raddr, tw.raddr, 16);
	q.c.rport = 7000;
	/* a client on no device: the entry on lo does not match it */
	rules_predict(&q, &tw, 1, no_tb, NULL, &ports, &p);
	assert_true(p.ok);
	assert_int_equal(p.free_ports, 1);
	/* a client on lo too: it does (tcp_tw_reuse 0) */
	q.c.bound_dev_if = 1;
	rules_predict(&q, &tw, 1, no_tb, NULL, &ports, &p);
	assert_false(p.ok);
	assert_string_equal(rules_rule_name(p.rule), "ephemeral_exhausted");
	/* a holder on no device matches a client on any device */
	tw.bound_dev_if = 0;
	q.c.bound_dev_if = 3;
	rules_predict(&q, &tw, 1, no_tb, NULL, &ports, &p);
	assert_false(p.ok);
	/* a bound client and an established holder on another device: no match */
	tw.state = PW_TCP_ESTABLISHED;
	tw.bound_dev_if = 1;
	q.c = pwt_tcp("127.0.0.1", 40000, T, PWT_RA, 1000);
	memcpy(q.c.raddr, tw.raddr, 16);
	q.c.rport = 7000;
	p = predict(&q, &tw, 1, NULL);
	assert_true(p.ok);
	q.c.bound_dev_if = 1;
	p = predict(&q, &tw, 1, NULL);
	assert_false(p.ok);
	assert_string_equal(rules_rule_name(p.rule), "four_tuple");
}

/*
 * The bind bucket's fast path (inet_csk_get_port(), sk_reuseport_match()):
 * after an SO_REUSEADDR-only socket A (uid 2) and an RA+RP socket B
 * (uid 1) share 127.0.0.1, the bucket is FASTREUSEPORT_STRICT for uid 1 at
 * that address, so an RP-only socket of uid 1 is admitted without the
 * conflict check that A would fail.
 */
static void test_fast_path_strict(void **state)
{
	struct pw_sock a = pwt_tcp("127.0.0.1", 80, T, PWT_RA, 2);
	struct pw_sock b = pwt_tcp("127.0.0.1", 80, T, PWT_RA | PWT_RP, 1);
	struct pw_sock v[2] = { a, b };
	struct rules_query q = { .op = RULES_OP_BIND };
	struct rules_tb tb;
	struct rules_prediction p;

	(void)state;
	rules_tb_join(&tb, 1, &a);
	assert_int_equal(tb.fastreuse, 1);
	assert_int_equal(tb.fastreuseport, 0);
	rules_tb_join(&tb, 0, &b);
	assert_int_equal(tb.fastreuseport, RULES_FASTREUSEPORT_STRICT);
	assert_int_equal(tb.fastuid, 1);
	q.c = pwt_tcp("127.0.0.1", 80, T, PWT_RP, 1);
	p = predict(&q, v, 2, &tb);
	assert_true(p.ok);
	/* without the bucket's state the slow path refuses (a lacks SO_REUSEPORT) */
	p = predict(&q, v, 2, NULL);
	assert_false(p.ok);
	assert_string_equal(rules_rule_name(p.rule), "no_reuseaddr");
	/* another uid: no fast path */
	q.c.sk_uid = 3;
	p = predict(&q, v, 2, &tb);
	assert_false(p.ok);
	/* a listen() makes fastreuse 0; a first SO_REUSEPORT socket makes it ANY */
	a.state = L;
	rules_tb_join(&tb, 0, &a);
	assert_int_equal(tb.fastreuse, 0);
	assert_int_equal(tb.fastreuseport, 0);
	rules_tb_join(&tb, 1, &b);
	assert_int_equal(tb.fastreuseport, RULES_FASTREUSEPORT_ANY);
}

/* Port 0: free ports of the range, reserved ports, and exhaustion. */
static void test_port_zero_search(void **state)
{
	struct rules_ports ports;
	struct rules_query q = { .op = RULES_OP_BIND };
	struct pw_sock v[4];
	struct rules_prediction p;

	(void)state;
	assert_int_equal(rules_ports_parse(&ports, "40000 40003", "40001"), 0);
	assert_true(rules_port_reserved(&ports, 40001));
	assert_false(rules_port_reserved(&ports, 40002));
	assert_int_equal(rules_ports_parse(&ports, "1 2 3", NULL), -EINVAL);
	assert_int_equal(rules_ports_parse(&ports, "40000 40003", "40001-40002,40004"), 0);
	assert_true(rules_port_reserved(&ports, 40002));
	assert_true(rules_port_reserved(&ports, 40004));

	/* TCP 40000..40003, 40001 reserved: 40000, 40002 and 40003 to take */
	assert_int_equal(rules_ports_parse(&ports, "40000 40003", "40001"), 0);
	v[0] = pwt_tcp("127.0.0.1", 40000, T, PWT_RA, 0);
	v[1] = pwt_tcp("0.0.0.0", 40002, L, 0, 0);
	v[2] = pwt_tcp("127.0.0.2", 40003, T, 0, 0);
	q.c = pwt_tcp("127.0.0.1", 0, T, PWT_RA, 0);
	rules_predict(&q, v, 3, NULL, NULL, &ports, &p);
	/* 127.0.0.2 does not overlap 127.0.0.1: 40003 is free */
	assert_true(p.ok);
	assert_int_equal(p.free_ports, 1);
	v[2] = pwt_tcp("0.0.0.0", 40003, T, PWT_RA, 0);
	rules_predict(&q, v, 3, NULL, NULL, &ports, &p);
	assert_false(p.ok);
	assert_int_equal(p.err, EADDRINUSE);
	assert_string_equal(rules_rule_name(p.rule), "ephemeral_exhausted");
	assert_int_equal(p.in_use, 3);
}

/*
 * Regression (differential test, seeds 31/32, narrow ip_local_port_range):
 * on Linux 6.18+ a port whose bind()-bound sockets have all left goes back
 * to connect()'s use even while TIME_WAIT entries of autobound sockets
 * remain (inet_bind2_bucket_destroy() resets fastreuse/fastreuseport to
 * -1 when every owner has SOCK_CONNECT_BIND). The engine kept treating the
 * bucket as made by bind() and said ephemeral_exhausted.
 */
static void test_autobind_after_binders_left(void **state)
{
	struct rules_ports ports;
	struct rules_query q = { .op = RULES_OP_CONNECT, .timestamps = 1 };
	struct rules_tb stale = { .fastreuse = 0, .fastreuseport = 0 };
	struct pw_sock v[2];
	struct rules_prediction p;

	(void)state;
	assert_int_equal(rules_ports_parse(&ports, "40000 40001", NULL), 0);
	/* both ports hold a TIME_WAIT entry of an autobound connection elsewhere */
	for (int i = 0; i < 2; i++) {
		v[i] = pwt_tcp("127.0.0.1", (uint16_t)(40000 + i), TW, 0, 0);
		assert_int_equal(pw_addr_pton("127.0.0.2", &v[i].family, v[i].raddr), 0);
		v[i].rport = 7000;
		v[i].bind_origin = PW_BIND_KNOWN | PW_BIND_CONNECT;
	}
	q.c = pwt_tcp("0.0.0.0", 0, T, 0, 1000);
	assert_int_equal(pw_addr_pton("127.0.0.1", &q.c.family, q.c.raddr), 0);
	q.c.rport = 7000;
	/* a stale record saying bind() made the buckets does not count */
	rules_predict(&q, v, 2, no_tb, &stale, &ports, &p);
	assert_true(p.ok);
	assert_int_equal(p.free_ports, 2);
	/* one socket there bound with bind(): that port is taken */
	v[0].bind_origin = PW_BIND_KNOWN;
	rules_predict(&q, v, 2, no_tb, &stale, &ports, &p);
	assert_true(p.ok);
	assert_int_equal(p.free_ports, 1);
	v[1].bind_origin = PW_BIND_KNOWN;
	rules_predict(&q, v, 2, no_tb, &stale, &ports, &p);
	assert_false(p.ok);
	assert_string_equal(rules_rule_name(p.rule), "ephemeral_exhausted");
	assert_int_equal(p.err, EADDRNOTAVAIL);
	/* an older kernel (origin unknown): the recorded bucket fields decide */
	v[0].bind_origin = v[1].bind_origin = 0;
	rules_predict(&q, v, 2, no_tb, &stale, &ports, &p);
	assert_false(p.ok);
	rules_predict(&q, v, 2, no_tb, NULL, &ports, &p);
	assert_true(p.ok); /* no record, only TIME_WAIT entries: made by connect() */

	/* the same reset disables the bind fast path */
	{
		struct rules_tb fast = { .fastreuse = 1, .fastreuseport = 0 };
		struct pw_sock h = pwt_tcp("127.0.0.1", 40000, PW_TCP_ESTABLISHED, 0, 0);
		struct rules_query b = { .op = RULES_OP_BIND };

		h.bind_origin = PW_BIND_KNOWN | PW_BIND_CONNECT;
		b.c = pwt_tcp("127.0.0.1", 40000, T, PWT_RA, 0);
		rules_predict(&b, &h, 1, no_tb, &fast, &ports, &p);
		assert_false(p.ok); /* slow path: h lacks SO_REUSEADDR */
		h.bind_origin = 0;
		rules_predict(&b, &h, 1, no_tb, &fast, &ports, &p);
		assert_true(p.ok); /* the fast path of a bucket made by bind() */
	}
}

/*
 * Regression (differential test, seed 32, 11-port range): the TCP port
 * searches step by 2 from a random offset and wrap by an even count, so
 * in a window with an odd number of ports one of its two edge ports is
 * skipped, at random. Only an edge free: "uncertain"; both free: one of
 * them is tried, ok.
 */
static void test_odd_range_edges(void **state)
{
	struct rules_ports ports;
	struct rules_query q = { .op = RULES_OP_BIND };
	struct pw_sock v[11];
	struct rules_prediction p;
	size_t n = 0;

	(void)state;
	assert_int_equal(rules_ports_parse(&ports, "40000 40010", NULL), 0);
	for (int port = 40001; port <= 40009; port++)
		v[n++] = pwt_tcp("0.0.0.0", (uint16_t)port, L, 0, 0);
	q.c = pwt_tcp("0.0.0.0", 0, T, 0, 0);
	rules_predict(&q, v, n, NULL, NULL, &ports, &p); /* 40000 and 40010 free */
	assert_true(p.ok);
	assert_false(p.uncertain);
	v[n++] = pwt_tcp("0.0.0.0", 40010, L, 0, 0);
	rules_predict(&q, v, n, NULL, NULL, &ports, &p); /* only 40000 */
	assert_false(p.ok);
	assert_true(p.uncertain);
	assert_string_equal(rules_rule_name(p.rule), "ephemeral_exhausted");
	/* UDP visits every port: no such edge */
	for (size_t i = 0; i < n; i++)
		v[i].protocol = IPPROTO_UDP;
	q.c.protocol = IPPROTO_UDP;
	rules_predict(&q, v, n, NULL, NULL, &ports, &p);
	assert_true(p.ok);
	/* an even range: every port for sure */
	assert_int_equal(rules_ports_parse(&ports, "40000 40011", NULL), 0);
	v[n++] = pwt_tcp("0.0.0.0", 40011, L, 0, 0);
	q.c.protocol = IPPROTO_TCP;
	for (size_t i = 0; i < n; i++)
		v[i].protocol = IPPROTO_TCP;
	rules_predict(&q, v, n, NULL, NULL, &ports, &p);
	assert_true(p.ok);
	assert_false(p.uncertain);
}

/* Advice names what would change the answer, for each rule. */
static void test_advice(void **state)
{
	struct rules_query q = { .op = RULES_OP_BIND };
	struct pw_sock h = pwt_tcp("0.0.0.0", 80, L, 0, 33);
	struct rules_ports ports;
	char buf[512];

	(void)state;
	q.c = pwt_tcp("127.0.0.1", 80, T, 0, 1000);
	rules_advice(buf, sizeof(buf), RULES_RULE_LISTENER, &q, &h, -1, NULL);
	assert_non_null(strstr(buf, "Stop the listener"));
	assert_non_null(strstr(buf, "SO_REUSEPORT"));
	assert_non_null(strstr(buf, "33"));
	rules_advice(buf, sizeof(buf), RULES_RULE_WILDCARD_LISTENER, &q, &h, -1, NULL);
	assert_non_null(strstr(buf, "Stop the listener"));
	h.state = T;
	rules_advice(buf, sizeof(buf), RULES_RULE_NO_REUSEADDR, &q, &h, -1, NULL);
	assert_non_null(strstr(buf, "SO_REUSEADDR on both"));
	assert_non_null(strstr(buf, "the holder lacks it"));
	rules_advice(buf, sizeof(buf), RULES_RULE_REUSEPORT_UID, &q, &h, -1, NULL);
	assert_non_null(strstr(buf, "uid 33"));
	h.state = TW;
	rules_advice(buf, sizeof(buf), RULES_RULE_TIME_WAIT, &q, &h, 42, NULL);
	assert_non_null(strstr(buf, "Wait 42 s"));
	h.reuseaddr = 1;
	rules_advice(buf, sizeof(buf), RULES_RULE_TIME_WAIT, &q, &h, 42, NULL);
	assert_non_null(strstr(buf, "Set SO_REUSEADDR on the new socket"));
	assert_non_null(strstr(buf, "42 s"));
	rules_advice(buf, sizeof(buf), RULES_RULE_FOUR_TUPLE, &q, NULL, -1, NULL);
	assert_non_null(strstr(buf, "another local port"));
	assert_int_equal(rules_ports_parse(&ports, "40000 40009", NULL), 0);
	rules_advice(buf, sizeof(buf), RULES_RULE_EPHEMERAL_EXHAUSTED, &q, NULL, -1, &ports);
	assert_non_null(strstr(buf, "40000-40009"));
	assert_non_null(strstr(buf, "ip_local_port_range"));
	rules_advice(buf, sizeof(buf), RULES_RULE_NONE, &q, NULL, -1, NULL);
	assert_non_null(strstr(buf, "would accept"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_overlap_matrix),
		cmocka_unit_test(test_overlap_cross_family),
		cmocka_unit_test(test_width),
		cmocka_unit_test(test_blocks_tcp),
		cmocka_unit_test(test_blocks_udp),
		cmocka_unit_test(test_rule_rank),
		cmocka_unit_test(test_rule_names),
		cmocka_unit_test(test_classify_bind),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_explain),
		cmocka_unit_test(test_udp_chain_ipv6_reuseport_tail),
		cmocka_unit_test(test_udp_chain_place_is_fixed_at_bind),
		cmocka_unit_test(test_connect_bound_over_time_wait),
		cmocka_unit_test(test_connect_four_tuple_devices),
		cmocka_unit_test(test_fast_path_strict),
		cmocka_unit_test(test_port_zero_search),
		cmocka_unit_test(test_autobind_after_binders_left),
		cmocka_unit_test(test_odd_range_edges),
		cmocka_unit_test(test_advice),
		cmocka_unit_test(test_udp_walk_any_refuses),
		cmocka_unit_test(test_tcp_mapped_any_unseen),
		cmocka_unit_test(test_reuseport_uid_of_socketless_holder),
		cmocka_unit_test(test_reuseport_own_group),
		cmocka_unit_test(test_bhash2_view),
		cmocka_unit_test(test_devices),
		cmocka_unit_test(test_autobind_reuse_and_socket_range),
		cmocka_unit_test(test_bind_checks),
		cmocka_unit_test(test_bind_checks_then_conflicts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
