// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * hijack - the actor of the alert-latency benchmark (bench/run.py).
 *
 *   hijack PORT [--netns NAME]
 *
 * For every byte read on stdin: a UDP socket with SO_REUSEADDR binds
 * 127.0.0.1:PORT (shadowing the wildcard another program holds there: a
 * hijack_attempt/shadow_wildcard alert) and the line "T_NS INODE" is
 * printed, T_NS being CLOCK_MONOTONIC right after bind() returned and
 * INODE the socket inode the alert names; the socket is closed at the next
 * byte. Ends at EOF. Exit status 0, 1 on a failed call.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
	perror(what);
	exit(1);
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int one = 1, fd = -1;
	struct timespec ts;
	struct stat st;
	char go;

	if (argc != 2 && !(argc == 4 && !strcmp(argv[2], "--netns"))) {
		fprintf(stderr, "usage: hijack PORT [--netns NAME]\n");
		return 2;
	}
	if (argc == 4) {
		char path[256];
		int nfd;

		snprintf(path, sizeof(path), "/run/netns/%s", argv[3]);
		nfd = open(path, O_RDONLY | O_CLOEXEC);
		if (nfd < 0 || setns(nfd, CLONE_NEWNET))
			die(path);
		close(nfd);
	}
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(atoi(argv[1]));
	while (read(0, &go, 1) == 1) {
		if (fd >= 0)
			close(fd);
		fd = socket(AF_INET, SOCK_DGRAM, 0);
		if (fd < 0)
			die("socket");
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)))
			die("bind");
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if (fstat(fd, &st))
			die("fstat");
		printf("%llu %llu\n", (unsigned long long)ts.tv_sec * 1000000000ULL + ts.tv_nsec,
		       (unsigned long long)st.st_ino);
		fflush(stdout);
	}
	return 0;
}
