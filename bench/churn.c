// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * churn - one socket-churn worker of the benchmark (bench/run.py).
 *
 *   churn MODE SECONDS [--netns NAME] [--port N]
 *
 * Prints "ready" once set up, waits for one byte (or EOF) on stdin, then
 * repeats the operation of MODE for SECONDS of wall time and prints
 * "OPS ELAPSED_NS". MODE is one of:
 *   tcp_bind      socket(TCP) + SO_REUSEADDR + bind(127.0.0.1:0) + listen + close
 *   udp_bind      socket(UDP) + SO_REUSEADDR + bind(127.0.0.1:0) + close
 *   connect       socket(TCP) + connect(own listener) + accept + close both
 *   bind_connect  as connect, with bind(127.0.0.1:0) before connect
 * The connect modes close both ends with SO_LINGER {1, 0} (an RST), so no
 * TIME_WAIT entry piles up and the ephemeral range never runs dry; on
 * loopback the handshake completes inside connect(), so the accept that
 * follows never blocks. --netns enters /run/netns/NAME first (setns(2)).
 * --port N: the bind modes bind 127.0.0.1:N instead of port 0 (a port of
 * the caller's choosing, as a service binds; one worker per port), so
 * that a protect rule on N is met on every bind.
 * Exit status 0, 1 on a failed call (the message names it).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum mode { TCP_BIND, UDP_BIND, CONNECT, BIND_CONNECT };

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void enter_netns(const char *name)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET))
		die(path);
	close(fd);
}

static void rst_close(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

/* One operation of mode m; lfd is the listener of the connect modes. */
static void op(enum mode m, int lfd, const struct sockaddr_in *any, const struct sockaddr_in *dst)
{
	int one = 1, fd, afd;

	fd = socket(AF_INET, m == UDP_BIND ? SOCK_DGRAM : SOCK_STREAM, 0);
	if (fd < 0)
		die("socket");
	switch (m) {
	case TCP_BIND:
	case UDP_BIND:
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (const struct sockaddr *)any, sizeof(*any)))
			die("bind");
		if (m == TCP_BIND && listen(fd, 1))
			die("listen");
		close(fd);
		return;
	case BIND_CONNECT:
		if (bind(fd, (const struct sockaddr *)any, sizeof(*any)))
			die("bind");
		/* fall through */
	case CONNECT:
		if (connect(fd, (const struct sockaddr *)dst, sizeof(*dst)))
			die("connect");
		afd = accept(lfd, NULL, NULL);
		if (afd < 0)
			die("accept");
		rst_close(fd);
		rst_close(afd);
		return;
	}
}

int main(int argc, char **argv)
{
	static const char *const names[] = { "tcp_bind", "udp_bind", "connect", "bind_connect" };
	struct sockaddr_in any = { .sin_family = AF_INET }, dst;
	socklen_t len = sizeof(dst);
	uint64_t ops = 0, t0, end, t;
	const char *netns = NULL;
	int lfd = -1, m = -1, port = 0;
	double secs;
	char go;

	for (int i = 3; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--netns"))
			netns = argv[i + 1];
		else if (!strcmp(argv[i], "--port"))
			port = atoi(argv[i + 1]);
		else
			argc = 0; /* usage */
	}
	if (argc < 3 || argc % 2 == 0 || port < 0 || port > 65535) {
		fprintf(stderr, "usage: churn tcp_bind|udp_bind|connect|bind_connect SECONDS "
				"[--netns NAME] [--port N]\n");
		return 2;
	}
	for (int i = 0; i < 4; i++)
		if (!strcmp(argv[1], names[i]))
			m = i;
	secs = atof(argv[2]);
	if (m < 0 || secs <= 0) {
		fprintf(stderr, "churn: bad mode or duration\n");
		return 2;
	}
	if (netns)
		enter_netns(netns);
	any.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (m == TCP_BIND || m == UDP_BIND)
		any.sin_port = htons((uint16_t)port);
	if (m == CONNECT || m == BIND_CONNECT) {
		lfd = socket(AF_INET, SOCK_STREAM, 0);
		if (lfd < 0 || bind(lfd, (struct sockaddr *)&any, sizeof(any)) || listen(lfd, 128) ||
		    getsockname(lfd, (struct sockaddr *)&dst, &len))
			die("listener");
	}
	printf("ready\n");
	fflush(stdout);
	if (read(0, &go, 1) < 0)
		die("read stdin");

	t0 = now_ns();
	end = t0 + (uint64_t)(secs * 1e9);
	do {
		for (int i = 0; i < 64; i++)
			op(m, lfd, &any, &dst);
		ops += 64;
		t = now_ns();
	} while (t < end);
	printf("%llu %llu\n", (unsigned long long)ops, (unsigned long long)(t - t0));
	return 0;
}
