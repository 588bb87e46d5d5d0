// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sockop.c - one socket operation for the kernel matrix checks (guest.sh).
 *
 *   sockop [-u UID] [-t tcp|udp] [-6] [-a] [-p] [-v] [-l] [-s SECONDS] ADDR PORT
 *
 * Switches to UID (gid UID too, no supplementary groups) first, then
 * creates the socket: the kernel records the creator's uid in the socket
 * (sk_uid), and that is the uid it compares for SO_REUSEPORT. Then sets
 * SO_REUSEADDR (-a), SO_REUSEPORT (-p), IPV6_V6ONLY (-v, with -6), binds
 * ADDR:PORT, listens (-l, TCP only) and prints one line on stdout:
 *
 *   ok PORT          the port bound (the kernel's choice for PORT 0)
 *   err ERRNO_NAME   the first call that failed, e.g. "err EADDRINUSE"
 *
 * then keeps the socket open SECONDS seconds (default 0: exits at once)
 * and closes it by exiting. Exit status: 0 ok, 1 a socket call failed,
 * 2 usage or a failed uid switch.
 *
 * Built statically by tests/kernels/run.sh so that it runs in the guest's
 * initramfs without a C library.
 */
#define _GNU_SOURCE /* setresuid, setresgid, setgroups, strerrorname_np */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void usage(void)
{
	fprintf(stderr, "usage: sockop [-u UID] [-t tcp|udp] [-6] [-a] [-p] [-v] [-l] "
			"[-s SECONDS] ADDR PORT\n");
	exit(2);
}

/* A non-negative decimal number no larger than max, or usage(). */
static long number(const char *s, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > max)
		usage();
	return v;
}

/* Print "err NAME" for the current errno and exit 1. */
static void fail(const char *call)
{
	int e = errno;
	const char *name = strerrorname_np(e);

	if (name)
		printf("err %s\n", name);
	else
		printf("err E%d\n", e);
	fprintf(stderr, "sockop: %s: %s\n", call, strerror(e));
	exit(1);
}

/* Sleep the whole interval, even across signals that do not kill us. */
static void hold(long seconds)
{
	struct timespec left = { .tv_sec = seconds, .tv_nsec = 0 };

	while (nanosleep(&left, &left) && errno == EINTR)
		;
}

int main(int argc, char **argv)
{
	long uid = -1, seconds = 0;
	int tcp = 1, inet6 = 0, reuseaddr = 0, reuseport = 0, v6only = 0, listening = 0;
	int opt, fd, one = 1;
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	unsigned short port;

	while ((opt = getopt(argc, argv, "u:t:6apvls:")) != -1) {
		switch (opt) {
		case 'u': uid = number(optarg, 0x7fffffff); break;
		case 't':
			if (!strcmp(optarg, "tcp"))
				tcp = 1;
			else if (!strcmp(optarg, "udp"))
				tcp = 0;
			else
				usage();
			break;
		case '6': inet6 = 1; break;
		case 'a': reuseaddr = 1; break;
		case 'p': reuseport = 1; break;
		case 'v': v6only = 1; break;
		case 'l': listening = 1; break;
		case 's': seconds = number(optarg, 86400); break;
		default: usage();
		}
	}
	if (argc - optind != 2 || (listening && !tcp) || (v6only && !inet6))
		usage();
	port = (unsigned short)number(argv[optind + 1], 65535);

	/* The address, parsed before dropping privileges (nothing needs them). */
	if (inet6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		if (inet_pton(AF_INET6, argv[optind], &a->sin6_addr) != 1)
			usage();
		len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		if (inet_pton(AF_INET, argv[optind], &a->sin_addr) != 1)
			usage();
		len = sizeof(*a);
	}

	/* Become UID before socket(2): the socket's sk_uid is its creator's. */
	if (uid >= 0) {
		if (setgroups(0, NULL) || setresgid((gid_t)uid, (gid_t)uid, (gid_t)uid) ||
		    setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid)) {
			perror("sockop: switching uid");
			exit(2);
		}
	}

	fd = socket(inet6 ? AF_INET6 : AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
	if (fd < 0)
		fail("socket");
	if (reuseaddr && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		fail("setsockopt(SO_REUSEADDR)");
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)))
		fail("setsockopt(SO_REUSEPORT)");
	if (v6only && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)))
		fail("setsockopt(IPV6_V6ONLY)");
	if (bind(fd, (struct sockaddr *)&ss, len))
		fail("bind");
	if (listening && listen(fd, 16))
		fail("listen");

	/* Report the port the kernel bound (PORT 0: its choice). */
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		fail("getsockname");
	port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
						((struct sockaddr_in *)&ss)->sin_port);
	printf("ok %u\n", port);
	fflush(stdout); /* stdout is a file in guest.sh: say it before holding */

	hold(seconds);
	close(fd);
	return 0;
}
