// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_ephemeral.c - ephemeral-port exhaustion (daemon/ephemeral.c) on its
 * own: when a failure starts an episode (the quiet gap to the ns, a clock
 * that went back, a successful bind(0)), what the conflict's details
 * count (the range's ends included, toward the destination for a
 * connect), the top owners, and the alert text. test_monitor.c checks
 * that the monitor raises one alert per episode.
 */
#include <errno.h>
#include <stdlib.h>

#include "helpers.h"
#include "ephemeral.h"

#define S 1000000000ULL
#define T0 (1700000000ULL * S) /* some CLOCK_REALTIME ns */
#define LO 40000
#define HI 40009

struct fixture {
	struct ephemeral_episodes eps;
	struct pw_conflict cf;
	struct rules_ports ports;
	struct pw_table *table;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->table = table_new();
	assert_non_null(f->table);
	assert_int_equal(rules_ports_parse(&f->ports, "40000\t40009", ""), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	table_free(f->table);
	free(f);
	return 0;
}

/* A failed call of pid 7 ("c", uid 1000) in PWT_NS1: bind of port 0, or connect to 10.0.0.1:443. */
static void failed(struct fixture *f, enum rules_op op)
{
	struct pw_sock c = pwt_tcp("0.0.0.0", 0, PW_TCP_CLOSE, 0, 1000);

	if (op == RULES_OP_CONNECT) {
		assert_int_equal(pw_addr_pton("10.0.0.1", &c.family, c.raddr), 0);
		c.rport = 443;
	}
	memset(&f->cf, 0, sizeof(f->cf));
	f->cf.op = op;
	f->cf.err = op == RULES_OP_CONNECT ? EADDRNOTAVAIL : EADDRINUSE;
	f->cf.contender = pwt_entry(&c, PWT_NS1, 900, 7, 1000, "c");
	f->cf.rule = RULES_RULE_EPHEMERAL_EXHAUSTED;
}

/* Call ephemeral_conflict() for a failure at now, range unknown. */
static int failure_at(struct fixture *f, uint32_t netns, uint64_t now)
{
	struct pw_entry top;

	failed(f, RULES_OP_CONNECT);
	f->cf.contender.sk.netns = netns;
	return ephemeral_conflict(&f->eps, &f->cf, RULES_OP_CONNECT, NULL, f->table, NULL, 0, now,
				  &top);
}

/*
 * Failures EPHEMERAL_QUIET_NS apart are still one episode; one ns more
 * starts another. A clock that went back starts one too, and a bind(0)
 * that succeeded ends the episode of its own netns only.
 */
static void test_episode_quiet_edge(void **state)
{
	struct fixture *f = *state;
	uint64_t t = T0;

	assert_int_equal(failure_at(f, PWT_NS1, t), 1);
	assert_true(f->cf.has_eph);
	assert_int_equal(f->cf.eph.lo, 0); /* the range unknown: no details */
	assert_int_equal(f->cf.eph.in_use, 0);
	t += EPHEMERAL_QUIET_NS;
	assert_int_equal(failure_at(f, PWT_NS1, t), 0);
	t += EPHEMERAL_QUIET_NS + 1;
	assert_int_equal(failure_at(f, PWT_NS1, t), 1);
	assert_int_equal(failure_at(f, PWT_NS1, t), 0); /* the same ns: still it */
	assert_int_equal(failure_at(f, PWT_NS1, t - 1), 1);

	/* another netns has its own episode, and ending it leaves PWT_NS1's alone */
	assert_int_equal(failure_at(f, PWT_NS2, t), 1);
	ephemeral_end(&f->eps, PWT_NS2);
	assert_int_equal(failure_at(f, PWT_NS1, t), 0);
	/* nor does ending any other, whichever shares its slot */
	for (uint32_t ns = 1; ns <= 1000; ns++)
		ephemeral_end(&f->eps, ns);
	assert_int_equal(failure_at(f, PWT_NS1, t), 0);
	ephemeral_end(&f->eps, PWT_NS1);
	assert_int_equal(failure_at(f, PWT_NS1, t + 1), 1);
}

/*
 * Add to the table a socket of proto on 127.0.0.1:port of netns, connected
 * to raddr:443, owned by pid (comm, uid 1000).
 */
static void hold(struct fixture *f, uint32_t netns, uint8_t proto, uint16_t port, uint64_t inode,
		 uint32_t pid, const char *comm, const char *raddr)
{
	struct pw_sock s = pwt_sock(proto, "127.0.0.1", port, PW_TCP_ESTABLISHED, 0, 1000);
	struct pw_entry e;

	assert_int_equal(pw_addr_pton(raddr, &s.family, s.raddr), 0);
	s.rport = 443;
	e = pwt_entry(&s, netns, inode, pid, 1000, comm);
	assert_non_null(table_upsert(f->table, &e, 0));
}

/*
 * A bind(0): every port of the range in use counts, its ends included,
 * from the table and the walk's extra sockets (owned by nobody: counted
 * by their creator uid); other netns, protocols and ports outside the
 * range do not. The top owner comes first, and its socket is *top.
 */
static void test_fill_bind(void **state)
{
	struct fixture *f = *state;
	struct pw_sock tw[3];
	struct pw_entry top;
	char msg[PW_MSG_LEN];

	hold(f, PWT_NS1, IPPROTO_TCP, LO, 1, 100, "a", "10.0.0.1");
	hold(f, PWT_NS1, IPPROTO_TCP, HI, 2, 100, "a", "10.0.0.2");
	hold(f, PWT_NS1, IPPROTO_TCP, LO + 4, 3, 100, "a", "10.0.0.1");
	hold(f, PWT_NS1, IPPROTO_TCP, LO + 6, 4, 100, "a", "10.0.0.1");
	hold(f, PWT_NS1, IPPROTO_TCP, LO + 5, 5, 200, "b", "10.0.0.1");
	hold(f, PWT_NS1, IPPROTO_TCP, LO - 1, 6, 200, "b", "10.0.0.1"); /* below the range */
	hold(f, PWT_NS1, IPPROTO_TCP, HI + 1, 7, 200, "b", "10.0.0.1"); /* above it */
	hold(f, PWT_NS2, IPPROTO_TCP, LO + 1, 8, 200, "b", "10.0.0.1"); /* another netns */
	hold(f, PWT_NS1, IPPROTO_UDP, LO + 2, 9, 200, "b", "10.0.0.1"); /* another protocol */
	for (int i = 0; i < 3; i++) {
		tw[i] = pwt_tcp("127.0.0.1", (uint16_t)(LO + 1 + i), PW_TCP_TIME_WAIT, 0, 0);
		tw[i].netns = PWT_NS1;
	}

	failed(f, RULES_OP_BIND);
	assert_int_equal(ephemeral_conflict(&f->eps, &f->cf, RULES_OP_BIND, &f->ports, f->table,
					    tw, 3, T0, &top),
			 1);
	assert_true(f->cf.has_eph);
	assert_int_equal(f->cf.eph.lo, LO);
	assert_int_equal(f->cf.eph.hi, HI);
	assert_int_equal(f->cf.eph.rport, 0);
	assert_int_equal(f->cf.eph.in_use, 8);
	assert_int_equal(f->cf.eph.ntop, 3);
	assert_int_equal(f->cf.eph.top[0].pid, 100);
	assert_int_equal(f->cf.eph.top[0].count, 4);
	assert_string_equal(f->cf.eph.top[0].comm, "a");
	assert_int_equal(f->cf.eph.top[1].pid, 0); /* TIME_WAIT: nobody's, creator uid 0 */
	assert_int_equal(f->cf.eph.top[1].uid, 0);
	assert_int_equal(f->cf.eph.top[1].count, 3);
	assert_string_equal(f->cf.eph.top[1].comm, "");
	assert_int_equal(f->cf.eph.top[2].pid, 200);
	assert_int_equal(f->cf.eph.top[2].count, 1);
	assert_int_equal(top.owner.pid, 100);
	assert_true(top.sk.lport >= LO && top.sk.lport <= HI);
	assert_null(top.next_id);

	ephemeral_message(msg, sizeof(msg), &f->cf, RULES_OP_BIND);
	assert_string_equal(msg, "ephemeral_exhausted: bind 0.0.0.0:0 by pid 7 (c, uid 1000) "
				 "failed with EADDRINUSE: 8 ports of ip_local_port_range "
				 "40000-40009 in use; top owner pid 100 (a, uid 1000) with 4");
}

/* A connect: only the sockets toward its destination count, and it is in the details. */
static void test_fill_connect(void **state)
{
	struct fixture *f = *state;
	struct pw_entry top;
	char msg[PW_MSG_LEN];

	hold(f, PWT_NS1, IPPROTO_TCP, LO, 1, 100, "a", "10.0.0.1");
	hold(f, PWT_NS1, IPPROTO_TCP, LO + 1, 2, 200, "b", "10.0.0.1");
	hold(f, PWT_NS1, IPPROTO_TCP, LO + 2, 3, 200, "b", "10.0.0.1");
	hold(f, PWT_NS1, IPPROTO_TCP, LO + 3, 4, 100, "a", "10.0.0.2"); /* elsewhere */

	failed(f, RULES_OP_CONNECT);
	assert_int_equal(ephemeral_conflict(&f->eps, &f->cf, RULES_OP_CONNECT, &f->ports, f->table,
					    NULL, 0, T0, &top),
			 1);
	assert_int_equal(f->cf.eph.in_use, 3);
	assert_int_equal(f->cf.eph.rport, 443);
	assert_memory_equal(f->cf.eph.raddr, f->cf.contender.sk.raddr, 16);
	assert_int_equal(f->cf.eph.ntop, 2);
	assert_int_equal(f->cf.eph.top[0].pid, 200);
	assert_int_equal(f->cf.eph.top[0].count, 2);
	assert_int_equal(top.owner.pid, 200);

	ephemeral_message(msg, sizeof(msg), &f->cf, RULES_OP_CONNECT);
	assert_string_equal(msg, "ephemeral_exhausted: connect 10.0.0.1:443 by pid 7 (c, uid 1000) "
				 "failed with EADDRNOTAVAIL: 3 ports of ip_local_port_range "
				 "40000-40009 in use toward that destination; top owner pid 200 "
				 "(b, uid 1000) with 2");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_episode_quiet_edge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fill_bind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fill_connect, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
