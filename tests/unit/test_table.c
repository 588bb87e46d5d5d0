// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_table.c - unit tests of daemon/table.c: the (netns, inode) and
 * (proto, port) indexes, in-place updates, growth and sweeps.
 */
#include <errno.h>
#include <stdlib.h>

#include "helpers.h"
#include "strpool.h"
#include "table.h"

/* Inodes seen by a walk, in the order seen. */
struct seen {
	uint64_t inode[64];
	size_t n;
	size_t stop_at; /* return 1 when the n-th entry is seen; 0: never */
};

static int record(struct pw_entry *e, void *arg)
{
	struct seen *s = arg;

	assert_true(s->n < sizeof(s->inode) / sizeof(s->inode[0]));
	s->inode[s->n++] = e->sk.inode;
	return s->stop_at && s->n == s->stop_at ? 7 : 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The inodes foreach_port sees on (netns, proto, port), sorted, must be want[0..n). */
static void check_port(const struct pw_table *t, uint32_t netns, uint8_t proto, uint16_t port,
		       const uint64_t *want, size_t n)
{
	struct seen s = { .n = 0 };

	assert_int_equal(table_foreach_port(t, netns, proto, port, record, &s), 0);
	qsort(s.inode, s.n, sizeof(s.inode[0]), cmp_u64);
	assert_int_equal(s.n, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(s.inode[i], want[i]);
}

/* Insert a TCP entry on addr:port and return the stored one. */
static struct pw_entry *put(struct pw_table *t, uint32_t netns, uint64_t inode, uint8_t proto,
			    const char *addr, uint16_t port, uint32_t pid)
{
	struct pw_sock sk = pwt_sock(proto, addr, port, PW_TCP_CLOSE, 0, 1000);
	struct pw_entry e = pwt_entry(&sk, netns, inode, pid, 1000, "app");
	struct pw_entry *got = table_upsert(t, &e, 0);

	assert_non_null(got);
	return got;
}

static void test_insert_lookup_remove(void **state)
{
	struct pw_table *t = table_new();
	struct pw_entry *a, *b, *got;

	(void)state;
	assert_non_null(t);
	assert_int_equal(table_size(t), 0);
	assert_null(table_lookup(t, PWT_NS1, 10));

	a = put(t, PWT_NS1, 10, IPPROTO_TCP, "127.0.0.1", 80, 100);
	b = put(t, PWT_NS2, 10, IPPROTO_TCP, "::1", 80, 200); /* same inode, other netns */
	assert_ptr_not_equal(a, b);
	assert_int_equal(table_size(t), 2);

	got = table_lookup(t, PWT_NS1, 10);
	assert_ptr_equal(got, a);
	assert_int_equal(got->owner.pid, 100);
	assert_int_equal(got->sk.lport, 80);
	assert_int_equal(got->sk.family, AF_INET);
	got = table_lookup(t, PWT_NS2, 10);
	assert_ptr_equal(got, b);
	assert_int_equal(got->owner.pid, 200);
	assert_int_equal(got->sk.family, AF_INET6);
	assert_null(table_lookup(t, PWT_NS1, 11));
	assert_null(table_lookup(t, 1, 10));

	assert_int_equal(table_remove(t, PWT_NS1, 10), 0);
	assert_int_equal(table_size(t), 1);
	assert_null(table_lookup(t, PWT_NS1, 10));
	assert_ptr_equal(table_lookup(t, PWT_NS2, 10), b);
	assert_int_equal(table_remove(t, PWT_NS1, 10), -ENOENT);
	assert_int_equal(table_remove(t, PWT_NS2, 99), -ENOENT);
	assert_int_equal(table_size(t), 1);
	check_port(t, PWT_NS1, IPPROTO_TCP, 80, NULL, 0);
	check_port(t, PWT_NS2, IPPROTO_TCP, 80, (uint64_t[]){ 10 }, 1);
	table_free(t);
	table_free(NULL);
}

static void test_upsert(void **state)
{
	struct pw_table *t = table_new();
	struct pw_sock sk = pwt_tcp("0.0.0.0", 80, PW_TCP_CLOSE, 0, 33);
	struct pw_entry e = pwt_entry(&sk, PWT_NS1, 42, 100, 33, "nginx"), *first, *got;

	(void)state;
	e.since_ns = 1000;
	e.seen_gen = 1;
	first = table_upsert(t, &e, 0);
	assert_non_null(first);
	assert_ptr_not_equal(first, &e); /* a copy */

	/* keep_owner: the socket and generation change, owner and since stay */
	e.sk.state = PW_TCP_LISTEN;
	e.sk.reuseaddr = 1;
	e.owner.pid = 999;
	snprintf(e.owner.comm, sizeof(e.owner.comm), "other");
	e.since_ns = 2000;
	e.seen_gen = 2;
	got = table_upsert(t, &e, 1);
	assert_ptr_equal(got, first);
	assert_int_equal(table_size(t), 1);
	assert_int_equal(got->sk.state, PW_TCP_LISTEN);
	assert_int_equal(got->sk.reuseaddr, 1);
	assert_int_equal(got->seen_gen, 2);
	assert_int_equal(got->owner.pid, 100);
	assert_string_equal(got->owner.comm, "nginx");
	assert_int_equal(got->since_ns, 1000);

	/* without keep_owner the owner and since are replaced */
	e.seen_gen = 3;
	got = table_upsert(t, &e, 0);
	assert_ptr_equal(got, first);
	assert_int_equal(table_size(t), 1);
	assert_int_equal(got->owner.pid, 999);
	assert_string_equal(got->owner.comm, "other");
	assert_int_equal(got->since_ns, 2000);
	assert_int_equal(got->seen_gen, 3);
	check_port(t, PWT_NS1, IPPROTO_TCP, 80, (uint64_t[]){ 42 }, 1);

	/* an upsert that moves the port rehashes too */
	e.sk.lport = 81;
	got = table_upsert(t, &e, 1);
	assert_ptr_equal(got, first);
	check_port(t, PWT_NS1, IPPROTO_TCP, 80, NULL, 0);
	check_port(t, PWT_NS1, IPPROTO_TCP, 81, (uint64_t[]){ 42 }, 1);
	table_free(t);
}

static void test_inode_zero_refused(void **state)
{
	struct pw_table *t = table_new();
	struct pw_sock sk = pwt_tcp("127.0.0.1", 80, PW_TCP_TIME_WAIT, 0, 0);
	struct pw_entry e = pwt_entry(&sk, PWT_NS1, 0, 0, 0, NULL);

	(void)state;
	errno = 0;
	assert_null(table_upsert(t, &e, 0));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(table_size(t), 0);
	assert_null(table_lookup(t, PWT_NS1, 0));
	check_port(t, PWT_NS1, IPPROTO_TCP, 80, NULL, 0);
	table_free(t);
}

static void test_foreach_port(void **state)
{
	struct pw_table *t = table_new();
	struct seen s = { .stop_at = 2 };

	(void)state;
	put(t, PWT_NS1, 1, IPPROTO_TCP, "0.0.0.0", 80, 1);
	put(t, PWT_NS1, 2, IPPROTO_TCP, "::", 80, 2);
	put(t, PWT_NS1, 3, IPPROTO_TCP, "127.0.0.1", 80, 3);
	put(t, PWT_NS1, 4, IPPROTO_UDP, "0.0.0.0", 80, 4);  /* other protocol */
	put(t, PWT_NS2, 5, IPPROTO_TCP, "0.0.0.0", 80, 5);  /* other netns */
	put(t, PWT_NS1, 6, IPPROTO_TCP, "0.0.0.0", 81, 6);  /* other port */
	put(t, PWT_NS1, 7, IPPROTO_TCP, "0.0.0.0", 336, 7); /* 80 + 256: other high byte */

	check_port(t, PWT_NS1, IPPROTO_TCP, 80, (uint64_t[]){ 1, 2, 3 }, 3);
	check_port(t, PWT_NS1, IPPROTO_UDP, 80, (uint64_t[]){ 4 }, 1);
	check_port(t, PWT_NS2, IPPROTO_TCP, 80, (uint64_t[]){ 5 }, 1);
	check_port(t, PWT_NS1, IPPROTO_TCP, 81, (uint64_t[]){ 6 }, 1);
	check_port(t, PWT_NS1, IPPROTO_TCP, 336, (uint64_t[]){ 7 }, 1);
	check_port(t, PWT_NS1, IPPROTO_TCP, 82, NULL, 0);
	check_port(t, PWT_NS2, IPPROTO_UDP, 80, NULL, 0);

	/* a non-zero return stops the walk and is passed back */
	assert_int_equal(table_foreach_port(t, PWT_NS1, IPPROTO_TCP, 80, record, &s), 7);
	assert_int_equal(s.n, 2);
	memset(&s, 0, sizeof(s));
	assert_int_equal(table_foreach(t, record, &s), 0);
	assert_int_equal(s.n, 7);
	qsort(s.inode, s.n, sizeof(s.inode[0]), cmp_u64);
	for (size_t i = 0; i < 7; i++)
		assert_int_equal(s.inode[i], i + 1);
	table_free(t);
}

/* owners PORT: one port in every namespace, through the port index. */
static void test_foreach_lport(void **state)
{
	struct pw_table *t = table_new();
	struct seen s = { .n = 0 };

	(void)state;
	put(t, PWT_NS1, 1, IPPROTO_TCP, "0.0.0.0", 80, 1);
	put(t, PWT_NS2, 2, IPPROTO_TCP, "127.0.0.1", 80, 2);
	put(t, PWT_NS1, 3, IPPROTO_UDP, "0.0.0.0", 80, 3);  /* other protocol */
	put(t, PWT_NS2, 4, IPPROTO_TCP, "0.0.0.0", 336, 4); /* other port */
	/* enough entries on other ports to grow the indexes a few times */
	for (uint64_t i = 0; i < 5000; i++)
		put(t, PWT_NS1, 100 + i, IPPROTO_TCP, "127.0.0.1", 1000 + i, 9);

	assert_int_equal(table_foreach_lport(t, IPPROTO_TCP, 80, record, &s), 0);
	qsort(s.inode, s.n, sizeof(s.inode[0]), cmp_u64);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.inode[0], 1);
	assert_int_equal(s.inode[1], 2);
	memset(&s, 0, sizeof(s));
	assert_int_equal(table_foreach_lport(t, IPPROTO_UDP, 80, record, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.inode[0], 3);
	memset(&s, 0, sizeof(s));
	assert_int_equal(table_foreach_lport(t, IPPROTO_TCP, 1000 + 4321, record, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.inode[0], 100 + 4321);
	/* the per-namespace walk still tells the namespaces apart */
	check_port(t, PWT_NS1, IPPROTO_TCP, 80, (uint64_t[]){ 1 }, 1);
	check_port(t, PWT_NS2, IPPROTO_TCP, 80, (uint64_t[]){ 2 }, 1);
	table_free(t);
}

static void test_update_sock_rehash(void **state)
{
	struct pw_table *t = table_new();
	struct pw_entry *mid;
	struct pw_sock sk;

	(void)state;
	put(t, PWT_NS1, 1, IPPROTO_TCP, "0.0.0.0", 80, 1);
	mid = put(t, PWT_NS1, 2, IPPROTO_TCP, "127.0.0.1", 80, 2);
	put(t, PWT_NS1, 3, IPPROTO_TCP, "127.0.0.2", 80, 3);

	/* same port, new state and flags: still listed, no duplicate */
	sk = mid->sk;
	sk.state = PW_TCP_LISTEN;
	sk.reuseport = 1;
	table_update_sock(t, mid, &sk);
	assert_int_equal(mid->sk.state, PW_TCP_LISTEN);
	assert_int_equal(mid->sk.reuseport, 1);
	check_port(t, PWT_NS1, IPPROTO_TCP, 80, (uint64_t[]){ 1, 2, 3 }, 3);

	/* the middle entry of the port moves to 8080 */
	sk.lport = 8080;
	table_update_sock(t, mid, &sk);
	assert_int_equal(mid->sk.lport, 8080);
	check_port(t, PWT_NS1, IPPROTO_TCP, 80, (uint64_t[]){ 1, 3 }, 2);
	check_port(t, PWT_NS1, IPPROTO_TCP, 8080, (uint64_t[]){ 2 }, 1);
	assert_ptr_equal(table_lookup(t, PWT_NS1, 2), mid);
	assert_int_equal(table_size(t), 3);

	/* and to the other protocol's index */
	sk.protocol = IPPROTO_UDP;
	table_update_sock(t, mid, &sk);
	check_port(t, PWT_NS1, IPPROTO_TCP, 8080, NULL, 0);
	check_port(t, PWT_NS1, IPPROTO_UDP, 8080, (uint64_t[]){ 2 }, 1);

	/* removal after the move unlinks it from the new port */
	assert_int_equal(table_remove(t, PWT_NS1, 2), 0);
	check_port(t, PWT_NS1, IPPROTO_UDP, 8080, NULL, 0);
	check_port(t, PWT_NS1, IPPROTO_TCP, 80, (uint64_t[]){ 1, 3 }, 2);
	table_free(t);
}

/* Entry i of the growth test: two namespaces, 1000 ports, both protocols. */
static void growth_entry(struct pw_entry *e, uint64_t i)
{
	struct pw_sock sk = pwt_sock(i % 3 ? IPPROTO_TCP : IPPROTO_UDP, "10.0.0.1",
				     (uint16_t)(1000 + i % 1000), PW_TCP_CLOSE, 0, 0);

	*e = pwt_entry(&sk, i % 2 ? PWT_NS1 : PWT_NS2, 1000000 + i * 7, (uint32_t)i + 1, 0, NULL);
}

static int count(struct pw_entry *e, void *arg)
{
	(void)e;
	++*(size_t *)arg;
	return 0;
}

static void check_all(const struct pw_table *t, uint64_t n, uint64_t removed_below)
{
	for (uint64_t i = 0; i < n; i++) {
		struct pw_entry *got = table_lookup(t, i % 2 ? PWT_NS1 : PWT_NS2, 1000000 + i * 7);

		if (i < removed_below && i % 2 == 0) {
			assert_null(got);
			continue;
		}
		assert_non_null(got);
		assert_int_equal(got->owner.pid, i + 1);
		assert_int_equal(got->sk.lport, 1000 + i % 1000);
	}
	assert_null(table_lookup(t, PWT_NS1, 1000000 + 2 * 7)); /* i = 2 is in NS2 */
}

static void test_growth(void **state)
{
	static const uint64_t steps[] = { 1023, 1024, 1025, 5000, 100000 };
	struct pw_table *t = table_new();
	struct pw_entry e;
	uint64_t i = 0;
	size_t n;

	(void)state;
	for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		for (; i < steps[s]; i++) {
			growth_entry(&e, i);
			assert_non_null(table_upsert(t, &e, 0));
		}
		assert_int_equal(table_size(t), steps[s]);
		check_all(t, steps[s], 0);
	}
	/* (NS1, tcp, 1001): i odd, i % 3 != 0, i % 1000 == 1, i < 100000 */
	n = 0;
	assert_int_equal(table_foreach_port(t, PWT_NS1, IPPROTO_TCP, 1001, count, &n), 0);
	for (i = 1; i < 100000; i += 1000)
		n -= i % 2 && i % 3;
	assert_int_equal(n, 0);
	n = 0;
	table_foreach(t, count, &n);
	assert_int_equal(n, 100000);

	/* remove the NS2 half of the first 50000 */
	for (i = 0; i < 50000; i += 2)
		assert_int_equal(table_remove(t, PWT_NS2, 1000000 + i * 7), 0);
	assert_int_equal(table_size(t), 100000 - 25000);
	check_all(t, 100000, 50000);
	table_free(t);
}

static void gone(struct pw_entry *e, void *arg)
{
	struct seen *s = arg;

	assert_true(s->n < sizeof(s->inode) / sizeof(s->inode[0]));
	assert_int_not_equal(e->seen_gen, 3);
	s->inode[s->n++] = e->sk.inode;
}

static void test_sweep(void **state)
{
	struct pw_table *t = table_new();
	struct seen s = { .n = 0 };

	(void)state;
	for (uint64_t i = 1; i <= 9; i++) {
		struct pw_entry *e = put(t, PWT_NS1, i, IPPROTO_TCP, "0.0.0.0", 80, (uint32_t)i);

		e->seen_gen = i % 3 + 1; /* 1: 3 6 9, 2: 1 4 7, 3: 2 5 8 */
	}
	assert_int_equal(table_sweep(t, 3, gone, &s), 6);
	assert_int_equal(table_size(t), 3);
	qsort(s.inode, s.n, sizeof(s.inode[0]), cmp_u64);
	assert_int_equal(s.n, 6);
	assert_memory_equal(s.inode, ((uint64_t[]){ 1, 3, 4, 6, 7, 9 }), 6 * sizeof(uint64_t));
	for (uint64_t i = 1; i <= 9; i++)
		if (i % 3 == 2)
			assert_non_null(table_lookup(t, PWT_NS1, i));
		else
			assert_null(table_lookup(t, PWT_NS1, i));
	check_port(t, PWT_NS1, IPPROTO_TCP, 80, (uint64_t[]){ 2, 5, 8 }, 3);

	/* nothing older left; then everything goes, without a callback */
	assert_int_equal(table_sweep(t, 3, NULL, NULL), 0);
	assert_int_equal(table_sweep(t, 4, NULL, NULL), 3);
	assert_int_equal(table_size(t), 0);
	check_port(t, PWT_NS1, IPPROTO_TCP, 80, NULL, 0);
	table_free(t);
}

/* Make STRPOOL_KEEP other strings held once and then unheld. */
static void churn_strings(const char *prefix)
{
	char buf[64];

	for (int i = 0; i < STRPOOL_KEEP; i++) {
		snprintf(buf, sizeof(buf), "%s%d", prefix, i);
		strpool_intern(buf);
	}
}

/*
 * A pinned copy of an owner (the alert and conflict histories) keeps its
 * strings however many others come and go; unpinned, they go the way of
 * any unheld string.
 */
static void test_owner_pin(void **state)
{
	struct pw_owner o = { .pid = 1, .uid = 1000 };
	struct pw_owner_pin pin = { 0 };

	(void)state;
	o.exe = strpool_intern("/tmp/pwt-pinned-exe");
	o.unit = strpool_intern("pwt-pinned.service");
	pw_owner_pin(&o, &pin);
	churn_strings("/tmp/pwt-churn-a");
	assert_string_equal(pw_owner_exe(&o), "/tmp/pwt-pinned-exe");
	assert_string_equal(pw_owner_unit(&o), "pwt-pinned.service");
	pw_owner_unpin(&pin);
	assert_int_equal(pin.exe, 0);
	pw_owner_unpin(&pin); /* a zeroed pin: nothing more is let go */
	churn_strings("/tmp/pwt-churn-b");
	assert_string_equal(pw_owner_exe(&o), "");
	assert_string_equal(pw_owner_unit(&o), "");
	strpool_free();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_insert_lookup_remove),
		cmocka_unit_test(test_upsert),
		cmocka_unit_test(test_inode_zero_refused),
		cmocka_unit_test(test_foreach_port),
		cmocka_unit_test(test_foreach_lport),
		cmocka_unit_test(test_update_sock_rehash),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_sweep),
		cmocka_unit_test(test_owner_pin),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
