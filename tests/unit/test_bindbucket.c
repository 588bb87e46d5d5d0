// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_bindbucket.c - the bind-bucket records (daemon/bindbucket.c) on
 * their own: which join makes a new bucket, and the edges of the three
 * times that decide it, each to the ns: the keep-alive end of a departed
 * connection (join, left, sweep), and the age of the namespace walk.
 * rules_tb_join() itself is tested in test_rules.c; the kernel agrees in
 * tests/e2e/test_differential.py.
 */
#include <stdlib.h>

#include "helpers.h"
#include "bindbucket.h"

#define S 1000000000ULL
#define T0 (1700000000ULL * S) /* some CLOCK_REALTIME ns */

struct fixture {
	struct bindbucket_table tbs;
	struct pw_table *table;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(bindbucket_init(&f->tbs), 0);
	f->table = table_new();
	assert_non_null(f->table);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	bindbucket_free(&f->tbs);
	bindbucket_free(&f->tbs); /* twice: a freed table is empty */
	table_free(f->table);
	free(f);
	return 0;
}

/* The first bind makes the bucket; only TCP and a real port are recorded; forget drops it. */
static void test_join_get_forget(void **state)
{
	struct fixture *f = *state;
	struct pw_sock a = pwt_tcp("127.0.0.1", 9000, PW_TCP_CLOSE, PWT_RA, 1000);
	struct pw_sock u = pwt_udp("127.0.0.1", 9000, PWT_RA, 1000);
	struct pw_sock zero = pwt_tcp("127.0.0.1", 0, PW_TCP_CLOSE, PWT_RA, 1000);
	const struct rules_tb *tb;

	a.inode = 1;
	assert_null(bindbucket_get(&f->tbs, PWT_NS1, 9000));
	bindbucket_join(&f->tbs, &a, 0, 0, NULL, T0);
	tb = bindbucket_get(&f->tbs, PWT_NS1, 9000);
	assert_non_null(tb);
	assert_int_equal(tb->fastreuse, 1); /* a new bucket takes the socket's SO_REUSEADDR */
	assert_int_equal(tb->fastreuseport, 0);
	assert_null(bindbucket_get(&f->tbs, PWT_NS2, 9000));

	bindbucket_join(&f->tbs, &u, 0, 0, NULL, T0);
	bindbucket_join(&f->tbs, &zero, 0, 0, NULL, T0);
	assert_null(bindbucket_get(&f->tbs, PWT_NS1, 0));

	/* a bucket that already had sockets, first seen now: connect()-made, then joined */
	a.lport = 9001;
	bindbucket_join(&f->tbs, &a, 1, 0, NULL, T0);
	tb = bindbucket_get(&f->tbs, PWT_NS1, 9001);
	assert_non_null(tb);
	assert_int_equal(tb->fastreuse, -1);
	assert_int_equal(tb->fastreuseport, 0);

	bindbucket_forget(&f->tbs, PWT_NS1, 9000);
	assert_null(bindbucket_get(&f->tbs, PWT_NS1, 9000));
	assert_non_null(bindbucket_get(&f->tbs, PWT_NS1, 9001));
	bindbucket_forget(&f->tbs, PWT_NS1, 9000); /* no record: nothing happens */
}

/*
 * A departed connection keeps the bucket until T0 + BINDBUCKET_ALIVE_NS:
 * a bind before that joins the old bucket, one at that ns makes a new one.
 */
static void test_join_keep_alive_edge(void **state)
{
	struct fixture *f = *state;
	struct pw_sock a = pwt_tcp("127.0.0.1", 9100, PW_TCP_CLOSE, 0, 1000);
	struct pw_sock b = pwt_tcp("127.0.0.1", 9100, PW_TCP_CLOSE, PWT_RA, 1000);
	const struct rules_tb *tb;

	a.inode = 1;
	b.inode = 2;
	bindbucket_join(&f->tbs, &a, 0, 0, NULL, T0);
	assert_int_equal(bindbucket_get(&f->tbs, PWT_NS1, 9100)->fastreuse, 0);
	a.state = PW_TCP_ESTABLISHED;
	bindbucket_keep_alive(&f->tbs, &a, T0);
	bindbucket_keep_alive(&f->tbs, &a, T0 - S); /* never shortened */

	/* one ns before the end: the old bucket, whose fastreuse stays 0 */
	bindbucket_join(&f->tbs, &b, 0, 0, NULL, T0 + BINDBUCKET_ALIVE_NS - 1);
	tb = bindbucket_get(&f->tbs, PWT_NS1, 9100);
	assert_int_equal(tb->fastreuse, 0);
	/* at the end: a new bucket, made by b alone */
	bindbucket_join(&f->tbs, &b, 0, 0, NULL, T0 + BINDBUCKET_ALIVE_NS);
	tb = bindbucket_get(&f->tbs, PWT_NS1, 9100);
	assert_int_equal(tb->fastreuse, 1);
	/* a listen never makes a new bucket: it joins (fastreuse off for a listener) */
	b.state = PW_TCP_LISTEN;
	bindbucket_join(&f->tbs, &b, 0, 1, NULL, T0 + 2 * BINDBUCKET_ALIVE_NS);
	assert_int_equal(bindbucket_get(&f->tbs, PWT_NS1, 9100)->fastreuse, 0);
}

/*
 * A walk of the namespace shows sockets only the kernel knows: they keep
 * the bucket while the walk is less than BINDBUCKET_ALIVE_NS old (from its
 * own time on), and only in the namespace walked.
 */
static void test_join_walk_age_edge(void **state)
{
	struct fixture *f = *state;
	struct pw_sock tw = pwt_tcp("127.0.0.1", 9200, PW_TCP_TIME_WAIT, 0, 1000);
	struct pw_sock b = pwt_tcp("127.0.0.1", 9200, PW_TCP_CLOSE, PWT_RA, 1000);
	struct bindbucket_walk w = { .socks = &tw, .n = 1, .netns = PWT_NS1, .time_ns = T0 };
	const uint64_t at[] = { T0, T0 + BINDBUCKET_ALIVE_NS - 1, T0 + BINDBUCKET_ALIVE_NS,
				T0 - 1 };
	const int8_t fastreuse[] = { -1, -1, 1, 1 }; /* -1: an old bucket joined */

	tw.inode = 1;
	b.inode = 2;
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		bindbucket_join(&f->tbs, &b, 0, 0, &w, at[i]);
		assert_int_equal(bindbucket_get(&f->tbs, PWT_NS1, 9200)->fastreuse, fastreuse[i]);
		bindbucket_forget(&f->tbs, PWT_NS1, 9200);
	}
	/* the socket itself, or a walk of another namespace, keeps nothing */
	tw.inode = b.inode;
	bindbucket_join(&f->tbs, &b, 0, 0, &w, T0);
	assert_int_equal(bindbucket_get(&f->tbs, PWT_NS1, 9200)->fastreuse, 1);
	bindbucket_forget(&f->tbs, PWT_NS1, 9200);
	tw.inode = 1;
	w.netns = PWT_NS2;
	bindbucket_join(&f->tbs, &b, 0, 0, &w, T0);
	assert_int_equal(bindbucket_get(&f->tbs, PWT_NS1, 9200)->fastreuse, 1);
}

/*
 * A bind()-bound socket leaves: the record goes when nothing else can
 * hold the bucket, not before the keep-alive end, not while the table or
 * the walk shows another socket on the port.
 */
static void test_left_edges(void **state)
{
	struct fixture *f = *state;
	struct pw_sock a = pwt_tcp("127.0.0.1", 9300, PW_TCP_CLOSE, 0, 1000);
	struct pw_sock other = pwt_tcp("127.0.0.1", 9300, PW_TCP_TIME_WAIT, 0, 1000);
	struct pw_entry e = pwt_entry(&a, PWT_NS1, 1, 100, 1000, "a");
	struct pw_entry e2 = pwt_entry(&a, PWT_NS1, 2, 100, 1000, "a");
	struct bindbucket_walk w = { .socks = &other, .n = 1, .netns = PWT_NS1, .time_ns = T0 };
	struct pw_sock est = e.sk;

	assert_non_null(table_upsert(f->table, &e, 0));
	bindbucket_join(&f->tbs, &e.sk, 0, 0, NULL, T0);
	est.state = PW_TCP_ESTABLISHED;
	bindbucket_keep_alive(&f->tbs, &est, T0); /* a connection of the port left at T0 */

	bindbucket_left(&f->tbs, f->table, &e, NULL, T0 + BINDBUCKET_ALIVE_NS - 1);
	assert_non_null(bindbucket_get(&f->tbs, PWT_NS1, 9300));
	/* at the end, but another socket of the table is on the port */
	assert_non_null(table_upsert(f->table, &e2, 0));
	bindbucket_left(&f->tbs, f->table, &e, NULL, T0 + BINDBUCKET_ALIVE_NS);
	assert_non_null(bindbucket_get(&f->tbs, PWT_NS1, 9300));
	table_remove(f->table, PWT_NS1, 2);
	/* or the walk shows one (its age does not matter here) */
	other.inode = 3;
	bindbucket_left(&f->tbs, f->table, &e, &w, T0 + 10 * BINDBUCKET_ALIVE_NS);
	assert_non_null(bindbucket_get(&f->tbs, PWT_NS1, 9300));
	/* a listener leaving is not a bound socket leaving */
	e.sk.state = PW_TCP_LISTEN;
	bindbucket_left(&f->tbs, f->table, &e, NULL, T0 + BINDBUCKET_ALIVE_NS);
	assert_non_null(bindbucket_get(&f->tbs, PWT_NS1, 9300));
	e.sk.state = PW_TCP_CLOSE;
	/* nothing else: gone at the keep-alive end */
	bindbucket_left(&f->tbs, f->table, &e, NULL, T0 + BINDBUCKET_ALIVE_NS);
	assert_null(bindbucket_get(&f->tbs, PWT_NS1, 9300));
}

/* The sweep drops a record at the keep-alive end, not before, and never one the table holds. */
static void test_sweep_edge(void **state)
{
	struct fixture *f = *state;
	struct pw_sock a = pwt_tcp("127.0.0.1", 9400, PW_TCP_ESTABLISHED, 0, 1000);
	struct pw_sock held = pwt_tcp("127.0.0.1", 9401, PW_TCP_CLOSE, 0, 1000);
	struct pw_entry e = pwt_entry(&held, PWT_NS1, 2, 100, 1000, "a");

	a.inode = 1;
	bindbucket_join(&f->tbs, &a, 0, 0, NULL, T0);
	bindbucket_keep_alive(&f->tbs, &a, T0);
	assert_non_null(table_upsert(f->table, &e, 0));
	bindbucket_join(&f->tbs, &e.sk, 0, 0, NULL, T0);

	bindbucket_sweep(&f->tbs, f->table, T0 + BINDBUCKET_ALIVE_NS - 1);
	assert_non_null(bindbucket_get(&f->tbs, PWT_NS1, 9400));
	bindbucket_sweep(&f->tbs, f->table, T0 + BINDBUCKET_ALIVE_NS);
	assert_null(bindbucket_get(&f->tbs, PWT_NS1, 9400));
	assert_non_null(bindbucket_get(&f->tbs, PWT_NS1, 9401));
	table_remove(f->table, PWT_NS1, 2);
	bindbucket_sweep(&f->tbs, f->table, T0);
	assert_null(bindbucket_get(&f->tbs, PWT_NS1, 9401));
}

/*
 * Records on every port of many namespaces: the chains double as the
 * records grow and every record is still found, with its own fields;
 * past BINDBUCKET_MAX a new bucket gets no record and is counted, and
 * forget and sweep keep the count.
 */
static void test_grow_and_cap(void **state)
{
	struct fixture *f = *state;
	struct pw_sock a = pwt_tcp("127.0.0.1", 1, PW_TCP_CLOSE, PWT_RA, 1000);
	uint32_t nns = BINDBUCKET_MAX / 65535 + 1;
	size_t n = 0;

	for (uint32_t ns = 1; ns <= nns; ns++)
		for (uint32_t port = 1; port <= 65535; port++) {
			a.netns = ns;
			a.lport = (uint16_t)port;
			a.reuseaddr = (port & 1) != 0;
			a.inode = n + 1;
			bindbucket_join(&f->tbs, &a, 0, 0, NULL, T0);
			n++;
		}
	assert_int_equal(f->tbs.n, BINDBUCKET_MAX);
	assert_int_equal(f->tbs.over, n - BINDBUCKET_MAX);
	assert_true(f->tbs.nslots >= BINDBUCKET_MAX / 2);
	assert_int_equal(f->tbs.nslots & (f->tbs.nslots - 1), 0);
	for (uint32_t port = 1; port <= 65535; port += 7) {
		const struct rules_tb *tb = bindbucket_get(&f->tbs, 1, (uint16_t)port);

		assert_non_null(tb);
		assert_int_equal(tb->fastreuse, (port & 1) != 0);
	}
	/* the last namespace's ports came after the cap: none recorded */
	assert_null(bindbucket_get(&f->tbs, nns, 65535));
	bindbucket_forget(&f->tbs, 1, 7);
	assert_null(bindbucket_get(&f->tbs, 1, 7));
	assert_int_equal(f->tbs.n, BINDBUCKET_MAX - 1);
	bindbucket_sweep(&f->tbs, f->table, T0);
	assert_int_equal(f->tbs.n, 0);
}

/*
 * Records deleted from the middle of probe runs (forget) leave every other
 * record findable with its own fields, through growth and wrap-around:
 * 30,000 records in four namespaces, every third forgotten in a shuffled
 * order, then the rest checked one by one.
 */
static void test_delete_keeps_others(void **state)
{
	struct fixture *f = *state;
	struct pw_sock a = pwt_tcp("127.0.0.1", 1, PW_TCP_CLOSE, PWT_RA, 1000);
	enum { N = 30000 };
	static uint32_t order[N / 3];
	uint32_t seed = 12345;

	for (uint32_t i = 0; i < N; i++) {
		a.netns = 1 + i % 4;
		a.lport = (uint16_t)(1 + i / 4);
		a.reuseaddr = (i & 1) != 0;
		bindbucket_join(&f->tbs, &a, 0, 0, NULL, T0);
	}
	assert_int_equal(f->tbs.n, N);
	for (uint32_t k = 0; k < N / 3; k++)
		order[k] = 3 * k;
	for (uint32_t k = N / 3 - 1; k > 0; k--) { /* Fisher-Yates, fixed seed */
		uint32_t j, tmp;

		seed = seed * 1103515245 + 12345;
		j = (seed >> 8) % (k + 1);
		tmp = order[k];
		order[k] = order[j];
		order[j] = tmp;
	}
	for (uint32_t k = 0; k < N / 3; k++)
		bindbucket_forget(&f->tbs, 1 + order[k] % 4, (uint16_t)(1 + order[k] / 4));
	assert_int_equal(f->tbs.n, N - N / 3);
	for (uint32_t i = 0; i < N; i++) {
		const struct rules_tb *tb = bindbucket_get(&f->tbs, 1 + i % 4, (uint16_t)(1 + i / 4));

		if (i % 3 == 0) {
			assert_null(tb);
		} else {
			assert_non_null(tb);
			assert_int_equal(tb->fastreuse, (i & 1) != 0);
		}
	}
	bindbucket_forget(&f->tbs, 9, 9); /* not there: nothing changes */
	assert_int_equal(f->tbs.n, N - N / 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_join_get_forget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_join_keep_alive_edge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_join_walk_age_edge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_left_edges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sweep_edge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grow_and_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_keeps_others, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
