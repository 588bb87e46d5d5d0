// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_ifaddr.c - daemon/ifaddr.c against the kernel's own bind(2).
 *
 * A forked child enters a fresh network namespace (unshare(CLONE_NEWNET);
 * the namespace dies with it) and changes it step by step with ip(8): lo
 * down, lo up and down, addresses on lo and on a veth whose peer is down
 * (so its addresses stay tentative), a main route inside 127/8, policy
 * rules added and removed. In each state every address of the row is
 * given to ifaddr_check() and to bind(2) of a UDP socket on port 0; the
 * test fails when ifaddr_check()'s errno differs from the kernel's. No
 * expectation is hard-coded: the kernel is the oracle. Needs root.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "addr.h"
#include "ifaddr.h"

#define TIMEOUT_S 60

static void ip(const char *fmt, ...)
{
	char cmd[256];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	if (st)
		fail_msg("`%s` failed (status %d)", cmd, st);
}

/* bind(2) of a UDP socket to (text, port 0), device ifindex (0 none): 0 or errno. */
static int kernel_bind(const char *text, int ifindex)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	int fd, err = 0, v6 = strchr(text, ':') != NULL;

	fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	if (v6) {
		sin6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, text, &sin6->sin6_addr), 1);
		if (ifindex && (IN6_IS_ADDR_LINKLOCAL(&sin6->sin6_addr) ||
				IN6_IS_ADDR_MC_LINKLOCAL(&sin6->sin6_addr) ||
				IN6_IS_ADDR_MC_NODELOCAL(&sin6->sin6_addr)))
			sin6->sin6_scope_id = ifindex;
		else if (ifindex && setsockopt(fd, SOL_SOCKET, SO_BINDTOIFINDEX, &ifindex,
					       sizeof(ifindex)))
			err = errno;
	} else {
		sin->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, text, &sin->sin_addr), 1);
		if (ifindex && setsockopt(fd, SOL_SOCKET, SO_BINDTOIFINDEX, &ifindex,
					  sizeof(ifindex)))
			err = errno;
	}
	if (!err && bind(fd, (struct sockaddr *)&ss, v6 ? sizeof(*sin6) : sizeof(*sin)))
		err = errno;
	close(fd);
	return err;
}

static int mismatches;

/* ifaddr_check() and the kernel on one address; a mismatch is counted and printed. */
static void compare(const char *text, int ifindex)
{
	enum ifaddr_verdict v;
	char why[256];
	uint8_t addr[16];
	uint16_t family;
	int kernel, ours, err;

	assert_int_equal(pw_addr_pton(text, &family, addr), 0);
	err = ifaddr_check(family, addr, ifindex, &v, why, sizeof(why));
	if (err)
		fail_msg("ifaddr_check(%s): %s", text, strerror(-err));
	ours = ifaddr_verdict_errno(v);
	kernel = kernel_bind(text, ifindex);
	printf("    %-4s %-22s dev %-2d kernel %-14s ifaddr %-14s %s\n",
	       ours == kernel ? "ok" : "DIFF", text, ifindex, kernel ? strerrorname_np(kernel) : "0",
	       ours ? strerrorname_np(ours) : "0", why);
	mismatches += ours != kernel;
}

static void rows(const char *const *texts, int ifindex)
{
	for (; *texts; texts++)
		compare(*texts, ifindex);
}

static const char *const common[] = {
	"0.0.0.0",	  "127.0.0.1",	"127.9.9.9", "127.255.255.255", "192.0.2.7",
	"255.255.255.255", "224.0.0.1", "::",	     "::1",		"::ffff:127.0.0.1",
	"::ffff:192.0.2.7", "2001:db8::7", "ff02::1", "ff0e::1",	NULL,
};

static int reset_count(void **state)
{
	(void)state;
	mismatches = 0;
	return 0;
}

/* The end of each step: every row printed, then the verdict. */
static void no_mismatch(void)
{
	if (mismatches)
		fail_msg("%d verdicts differ from the kernel's", mismatches);
}

/* A fresh namespace: lo down, no routing table yet. */
static void test_fresh_netns(void **state)
{
	(void)state;
	rows(common, 0);
	no_mismatch();
}

static void test_lo_up_down(void **state)
{
	int lo = (int)if_nametoindex("lo");
	static const char *const dev_rows[] = { "ff02::1", "::1", "fe80::1", NULL };

	(void)state;
	ip("ip link set lo up");
	rows(common, 0);
	rows(dev_rows, lo);
	compare("::1", 9999); /* no such device */
	ip("ip link set lo down");
	rows(common, 0);
	ip("ip link set lo up");
	no_mismatch();
}

static void test_ipv4_on_lo(void **state)
{
	static const char *const r[] = { "10.77.0.1", "10.77.0.9", "10.77.0.0", "10.77.0.255",
					 "10.78.0.1", "::ffff:10.77.0.1", NULL };

	(void)state;
	ip("ip addr add 10.77.0.1/24 dev lo");
	rows(r, 0);
	no_mismatch();
}

static void test_veth(void **state)
{
	static const char *const r[] = { "10.88.0.1", "10.88.0.7", "10.88.0.255", "2001:db8:1::1",
					 "2001:db8:3::1", "2001:db8::1", "fe80::77", "::1", NULL };
	int v0;

	(void)state;
	ip("ip link add pwv0 type veth peer name pwv1");
	ip("ip link set pwv0 up"); /* pwv1 stays down: no carrier, DAD never ends */
	ip("ip addr add 10.88.0.1/24 dev pwv0");
	ip("ip addr add 2001:db8::1/64 dev lo nodad");
	ip("ip addr add 2001:db8:1::1/64 dev pwv0");
	ip("ip addr add 2001:db8:3::1/64 dev pwv0 nodad");
	ip("ip addr add fe80::77/64 dev pwv0 nodad");
	v0 = (int)if_nametoindex("pwv0");
	assert_true(v0 > 0);
	rows(r, 0);
	rows(r, v0);
	rows(r, (int)if_nametoindex("lo"));
	/* optimistic DAD: the address counts while tentative */
	if (!system("sysctl -qw net.ipv6.conf.pwv0.optimistic_dad=1 && "
		    "ip addr add 2001:db8:2::1/64 dev pwv0 optimistic 2>/dev/null"))
		compare("2001:db8:2::1", 0);
	else
		printf("    skip optimistic: ip(8) or the kernel refused it\n");
	no_mismatch();
}

/* While no rule was added, local and main share one trie: a main route can win. */
static void test_merged_tables(void **state)
{
	static const char *const r[] = { "127.9.9.9", "127.9.8.1", "10.9.1.1", "10.77.0.1", NULL };

	(void)state;
	ip("ip route add 127.9.9.0/24 dev lo");
	ip("ip route add local 10.9.0.0/16 dev lo table main");
	rows(r, 0);
	no_mismatch();
}

/* A rule splits the tables for good, even once it is deleted. */
static void test_split_tables(void **state)
{
	static const char *const r[] = { "127.9.9.9", "127.9.8.1", "10.9.1.1", "10.77.0.1",
					 "10.77.0.200", "::ffff:127.9.9.9", NULL };

	(void)state;
	ip("ip rule add from 198.51.100.1 lookup 100");
	ip("ip route add unreachable 10.77.0.128/25 table local");
	rows(r, 0);
	ip("ip rule del from 198.51.100.1 lookup 100");
	rows(r, 0);
	no_mismatch();
}

static void test_list(void **state)
{
	char buf[512];

	(void)state;
	assert_int_equal(ifaddr_list(buf, sizeof(buf)), 0);
	printf("    list: %s\n", buf);
	assert_non_null(strstr(buf, "127.0.0.1 (lo)"));
	assert_non_null(strstr(buf, "2001:db8::1 (lo)"));
	assert_non_null(strstr(buf, "10.88.0.1 (pwv0)"));
}

#define STEP(f) cmocka_unit_test_setup(f, reset_count)

static int run(void)
{
	const struct CMUnitTest tests[] = {
		STEP(test_fresh_netns), STEP(test_lo_up_down),	  STEP(test_ipv4_on_lo),
		STEP(test_veth),	STEP(test_merged_tables), STEP(test_split_tables),
		cmocka_unit_test(test_list),
	};

	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "unshare(CLONE_NEWNET): %s (run as root)\n", strerror(errno));
		return 1;
	}
	return cmocka_run_group_tests_name("ifaddr", tests, NULL, NULL);
}

int main(void)
{
	int status;
	pid_t pid;

	setvbuf(stdout, NULL, _IOLBF, 0);
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		alarm(TIMEOUT_S); /* bounded: SIGALRM ends the child, and its namespace */
		_exit(run() ? 1 : 0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return 1;
	if (WIFSIGNALED(status))
		fprintf(stderr, "test_ifaddr: child killed by signal %d\n", WTERMSIG(status));
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
