// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Unit tests of sniff.c's pure parts: the classic-BPF port decoder on the
 * exact programs tcpdump 4.99 (libpcap 1.10, Debian 12) prints with -ddd
 * for an Ethernet interface, the side table (one entry per socket), and
 * the names and message an alert shows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "sniff.h"
#include "strpool.h"

/* tcpdump -ddd 'tcp port 22' */
static const char TCP_PORT_22[] = "20 40 0 0 12 21 0 6 34525 48 0 0 20 21 0 15 6 40 0 0 54 21 12 0 22 40 0 0 56 21 10 11 22 21 0 10 2048 48 0 0 23 21 0 8 6 40 0 0 20 69 6 0 8191 177 0 0 14 72 0 0 14 21 2 0 22 72 0 0 16 21 0 1 22 6 0 0 262144 6 0 0 0 ";
/* tcpdump -ddd 'udp dst port 53' */
static const char UDP_DST_PORT_53[] = "16 40 0 0 12 21 0 4 34525 48 0 0 20 21 0 11 17 40 0 0 56 21 8 9 53 21 0 8 2048 48 0 0 23 21 0 6 17 40 0 0 20 69 4 0 8191 177 0 0 14 72 0 0 16 21 0 1 53 6 0 0 262144 6 0 0 0 ";
/* tcpdump -ddd 'tcp port 22 or tcp port 443' */
static const char TCP_22_OR_443[] = "23 40 0 0 12 21 0 7 34525 48 0 0 20 21 0 18 6 40 0 0 54 21 15 0 22 21 14 0 443 40 0 0 56 21 12 11 22 21 0 12 2048 48 0 0 23 21 0 10 6 40 0 0 20 69 8 0 8191 177 0 0 14 72 0 0 14 21 4 0 22 21 3 0 443 72 0 0 16 21 1 0 22 21 0 1 443 6 0 0 262144 6 0 0 0 ";
/* tcpdump -ddd 'tcp portrange 20-30': a range, not equalities */
static const char TCP_PORTRANGE[] = "23 40 0 0 12 21 0 7 34525 48 0 0 20 21 0 18 6 40 0 0 54 53 0 1 20 37 0 14 30 40 0 0 56 53 11 13 20 21 0 12 2048 48 0 0 23 21 0 10 6 40 0 0 20 69 8 0 8191 177 0 0 14 72 0 0 14 53 0 1 20 37 0 3 30 72 0 0 16 53 0 2 20 37 1 0 30 6 0 0 262144 6 0 0 0 ";
/* tcpdump -ddd 'tcp': no port at all */
static const char TCP_ONLY[] = "12 40 0 0 12 21 0 2 2048 48 0 0 23 21 6 7 6 21 0 6 34525 48 0 0 20 21 3 0 6 21 0 3 44 48 0 0 54 21 0 1 6 6 0 0 262144 6 0 0 0 ";

/* Parse -ddd text (a count, then code jt jf k per instruction) into prog; returns the count. */
static size_t parse_ddd(const char *text, struct sock_filter *prog, size_t cap)
{
	unsigned int n, code, jt, jf, k;
	int used;
	size_t i;

	assert_int_equal(sscanf(text, "%u%n", &n, &used), 1);
	text += used;
	assert_true(n <= cap);
	for (i = 0; i < n; i++) {
		assert_int_equal(sscanf(text, "%u %u %u %u%n", &code, &jt, &jf, &k, &used), 4);
		text += used;
		prog[i] = (struct sock_filter){ (uint16_t)code, (uint8_t)jt, (uint8_t)jf, k };
	}
	return n;
}

static int decode(const char *text, uint16_t *ports, size_t max, size_t *n)
{
	struct sock_filter prog[64];
	size_t len = parse_ddd(text, prog, 64);

	return sniff_cbpf_ports(prog, len, ports, max, n);
}

static void test_tcp_port_22(void **state)
{
	uint16_t ports[SNIFF_MAX_PORTS];
	size_t n;

	(void)state;
	assert_int_equal(decode(TCP_PORT_22, ports, SNIFF_MAX_PORTS, &n), 1);
	assert_int_equal(n, 1);
	assert_int_equal(ports[0], 22); /* not 0x800: that jeq sees the ethertype */
}

static void test_accepts_none(void **state)
{
	struct sock_filter prog[64];
	const struct sock_filter drop = BPF_STMT(BPF_RET | BPF_K, 0);
	const struct sock_filter ret_a = BPF_STMT(BPF_RET | BPF_A, 0);

	(void)state;
	assert_int_equal(sniff_cbpf_accepts_none(&drop, 1), 1); /* libpcap's first program */
	assert_int_equal(sniff_cbpf_accepts_none(&ret_a, 1), 0); /* A may be non-zero */
	assert_int_equal(sniff_cbpf_accepts_none(&drop, 0), 0);
	assert_int_equal(sniff_cbpf_accepts_none(prog, parse_ddd(TCP_PORT_22, prog, 64)), 0);
}

static void test_udp_dst_port_53(void **state)
{
	uint16_t ports[SNIFF_MAX_PORTS];
	size_t n;

	(void)state;
	assert_int_equal(decode(UDP_DST_PORT_53, ports, SNIFF_MAX_PORTS, &n), 1);
	assert_int_equal(n, 1);
	assert_int_equal(ports[0], 53);
}

static void test_two_ports_sorted_and_capped(void **state)
{
	uint16_t ports[SNIFF_MAX_PORTS];
	size_t n;

	(void)state;
	assert_int_equal(decode(TCP_22_OR_443, ports, SNIFF_MAX_PORTS, &n), 1);
	assert_int_equal(n, 2);
	assert_int_equal(ports[0], 22);
	assert_int_equal(ports[1], 443);
	/* room for one: the lowest is kept */
	assert_int_equal(decode(TCP_22_OR_443, ports, 1, &n), 1);
	assert_int_equal(n, 1);
	assert_int_equal(ports[0], 22);
}

static void test_unknown(void **state)
{
	uint16_t ports[SNIFF_MAX_PORTS];
	struct sock_filter accept_all = BPF_STMT(BPF_RET | BPF_K, 0xffff);
	size_t n = 7;

	(void)state;
	assert_int_equal(decode(TCP_PORTRANGE, ports, SNIFF_MAX_PORTS, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(decode(TCP_ONLY, ports, SNIFF_MAX_PORTS, &n), 0);
	assert_int_equal(sniff_cbpf_ports(&accept_all, 1, ports, SNIFF_MAX_PORTS, &n), 0);
	assert_int_equal(sniff_cbpf_ports(&accept_all, 0, ports, SNIFF_MAX_PORTS, &n), 0);
}

/* A raw IPv4 socket's packets start at the IP header: "ldxb 4*([0]&0xf)". */
static void test_bare_ipv4(void **state)
{
	struct sock_filter prog[] = {
		BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),
		BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 8443, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0xffff),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	uint16_t ports[SNIFF_MAX_PORTS];
	size_t n;

	(void)state;
	assert_int_equal(sniff_cbpf_ports(prog, 5, ports, SNIFF_MAX_PORTS, &n), 1);
	assert_int_equal(n, 1);
	assert_int_equal(ports[0], 8443);
	/* the same load without the header length in X is some other halfword */
	prog[0] = (struct sock_filter)BPF_STMT(BPF_LDX | BPF_IMM, 0);
	assert_int_equal(sniff_cbpf_ports(prog, 5, ports, SNIFF_MAX_PORTS, &n), 0);
}

static void test_set_once_per_socket(void **state)
{
	struct sniff_set s = { 0 };
	struct sniffer a = { .inode = 10, .netns = 1, .fd = -1 }, b = a;
	struct sniffer *f;
	int is_new;

	(void)state;
	f = sniff_add(&s, &a, &is_new);
	assert_non_null(f);
	assert_true(is_new);
	assert_non_null(sniff_add(&s, &a, &is_new));
	assert_false(is_new);
	b.netns = 2; /* same inode, another namespace: another socket */
	assert_non_null(sniff_add(&s, &b, &is_new));
	assert_true(is_new);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.found, 2);
	assert_ptr_equal(sniff_find(&s, 1, 10), &s.v[0]);
	assert_null(sniff_find(&s, 3, 10));
	assert_int_equal(sniff_prune(&s), 0); /* no owner fd known: kept */
	sniff_free(&s);
}

/* Another user's 100k sniffers in its own namespace: the set stops at SNIFF_MAX and counts. */
static void test_set_bounded(void **state)
{
	struct sniff_set s = { 0 };
	struct sniffer a = { .netns = 7, .fd = -1 };
	int is_new;

	(void)state;
	for (uint64_t i = 1; i <= SNIFF_MAX; i++) {
		a.inode = i;
		assert_non_null(sniff_add(&s, &a, &is_new));
	}
	a.inode = SNIFF_MAX + 1;
	assert_null(sniff_add(&s, &a, &is_new));
	assert_true(is_new);
	assert_int_equal(s.n, SNIFF_MAX);
	assert_int_equal(s.not_kept, 1);
	assert_int_equal(s.found, SNIFF_MAX);
	a.inode = 1; /* one already kept is still found */
	assert_non_null(sniff_add(&s, &a, &is_new));
	assert_false(is_new);
	assert_int_equal(s.not_kept, 1);
	sniff_free(&s);
}

static void test_names_and_message(void **state)
{
	struct sniffer f = {
		.inode = 5, .netns = 4026531840u, .family = AF_INET, .type = SOCK_RAW,
		.protocol = 6, .filter = SNIFF_FILTER_CBPF, .ports_known = 1, .nports = 2,
		.ports = { 22, 443 }, .owner = { .pid = 42, .uid = 0, .comm = "bd" },
	};
	char buf[512], pb[8];

	(void)state;
	f.owner.exe = strpool_intern("/tmp/bd");
	assert_string_equal(sniff_type_name(&f), "raw");
	assert_string_equal(sniff_proto_name(&f, pb, sizeof(pb)), "tcp");
	sniff_ports_text(&f, buf, sizeof(buf));
	assert_string_equal(buf, "22,443");
	sniff_message(buf, sizeof(buf), &f);
	assert_non_null(strstr(buf, "raw socket (protocol tcp) on interface any"));
	assert_non_null(strstr(buf, "comparing ports 22,443"));
	assert_non_null(strstr(buf, "pid 42 (bd, uid 0, /tmp/bd)"));

	f.family = AF_PACKET;
	f.type = SOCK_DGRAM;
	f.protocol = 0x0003; /* ETH_P_ALL */
	f.ifindex = 3;
	snprintf(f.ifname, sizeof(f.ifname), "eth0");
	f.ports_known = 0;
	assert_string_equal(sniff_type_name(&f), "packet_dgram");
	assert_string_equal(sniff_proto_name(&f, pb, sizeof(pb)), "all");
	sniff_ports_text(&f, buf, sizeof(buf));
	assert_string_equal(buf, "unknown");
	sniff_message(buf, sizeof(buf), &f);
	assert_non_null(strstr(buf, "on interface eth0"));
	assert_non_null(strstr(buf, "comparing ports unknown"));
	f.filter = SNIFF_FILTER_EBPF;
	assert_string_equal(sniff_filter_name(&f), "ebpf");
	sniff_message(buf, sizeof(buf), &f);
	assert_non_null(strstr(buf, "has an eBPF filter: it reads the traffic of any port"));
	f.protocol = 0x88cc; /* LLDP */
	assert_string_equal(sniff_proto_name(&f, pb, sizeof(pb)), "0x88cc");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_port_22),
		cmocka_unit_test(test_udp_dst_port_53),
		cmocka_unit_test(test_accepts_none),
		cmocka_unit_test(test_two_ports_sorted_and_capped),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_bare_ipv4),
		cmocka_unit_test(test_set_once_per_socket),
		cmocka_unit_test(test_set_bounded),
		cmocka_unit_test(test_names_and_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
