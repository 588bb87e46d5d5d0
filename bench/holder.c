// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * holder - holds many sockets for the scale and alert benchmarks
 * (bench/run.py).
 *
 *   holder MODE N ADDR PORT [--netns NAME]
 *
 *   tcp_listen  N TCP listeners on ADDR:PORT .. ADDR:PORT+N-1
 *   tcp_pairs   one listener on ADDR:PORT and N established loopback
 *               connections to it, both ends held (2N + 1 sockets)
 *   udp         N UDP sockets bound to ADDR:PORT .. ADDR:PORT+N-1
 * Every socket has SO_REUSEADDR. ADDR is an IPv4 address (0.0.0.0 for
 * the wildcard). The fd limit is raised to what N needs (setrlimit; above
 * the hard limit that needs CAP_SYS_RESOURCE, which a container may lack:
 * the driver keeps every holder under 20,000 fds).
 * Prints "ready COUNT" when every socket is open, then holds them until
 * stdin reaches EOF. Exit status 0, 1 on a failed call (named on stderr).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static void die(const char *what)
{
	perror(what);
	exit(1);
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

static int new_sock(int type, const struct sockaddr_in *sin)
{
	int one = 1, fd = socket(AF_INET, type, 0);

	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (sin && bind(fd, (const struct sockaddr *)sin, sizeof(*sin)))
		die("bind");
	return fd;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct rlimit rl;
	long n, need, count = 0;
	char buf[64];

	if (argc != 5 && !(argc == 7 && !strcmp(argv[5], "--netns"))) {
		fprintf(stderr, "usage: holder tcp_listen|tcp_pairs|udp N ADDR PORT [--netns NAME]\n");
		return 2;
	}
	n = atol(argv[2]);
	if (n < 1 || inet_pton(AF_INET, argv[3], &sin.sin_addr) != 1 || atoi(argv[4]) < 1 ||
	    atoi(argv[4]) + (strcmp(argv[1], "tcp_pairs") ? n : 1) > 65536) {
		fprintf(stderr, "holder: bad count, address or port range\n");
		return 2;
	}
	if (argc == 7)
		enter_netns(argv[6]);
	/* the soft limit up to the hard one; above it needs CAP_SYS_RESOURCE */
	if (getrlimit(RLIMIT_NOFILE, &rl))
		die("getrlimit");
	need = (strcmp(argv[1], "tcp_pairs") ? n : 2 * n + 1) + 64;
	rl.rlim_cur = need;
	if (rl.rlim_max < rl.rlim_cur)
		rl.rlim_max = rl.rlim_cur;
	if (setrlimit(RLIMIT_NOFILE, &rl)) {
		fprintf(stderr, "holder: RLIMIT_NOFILE %ld: %m\n", need);
		return 1;
	}

	if (!strcmp(argv[1], "tcp_listen") || !strcmp(argv[1], "udp")) {
		int tcp = argv[1][0] == 't';

		for (long i = 0; i < n; i++) {
			int fd;

			sin.sin_port = htons(atoi(argv[4]) + i);
			fd = new_sock(tcp ? SOCK_STREAM : SOCK_DGRAM, &sin);
			if (tcp && listen(fd, 1))
				die("listen");
			count++;
		}
	} else if (!strcmp(argv[1], "tcp_pairs")) {
		int lfd;

		sin.sin_port = htons(atoi(argv[4]));
		lfd = new_sock(SOCK_STREAM, &sin);
		if (listen(lfd, 4096))
			die("listen");
		count = 1;
		/* connect in batches below the backlog, then accept the batch */
		for (long done = 0; done < n;) {
			long batch = n - done < 1024 ? n - done : 1024;

			for (long i = 0; i < batch; i++)
				if (connect(new_sock(SOCK_STREAM, NULL), (struct sockaddr *)&sin,
					    sizeof(sin)))
					die("connect");
			for (long i = 0; i < batch; i++)
				if (accept(lfd, NULL, NULL) < 0)
					die("accept");
			done += batch;
			count += 2 * batch;
		}
	} else {
		fprintf(stderr, "holder: unknown mode %s\n", argv[1]);
		return 2;
	}
	printf("ready %ld\n", count);
	fflush(stdout);
	while (read(0, buf, sizeof(buf)) > 0)
		;
	return 0;
}
