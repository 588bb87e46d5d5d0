// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sockop.c - socket operations for the kernel matrix checks (guest.sh).
 *
 *   sockop [-u UID] [-t tcp|udp] [-6] [-a] [-p] [-v] [-l] [-c] [-s SECONDS] ADDR PORT
 *   sockop [-u UID] -b
 *   sockop -F raw|packet [-s SECONDS] PORT
 *
 * Switches to UID (gid UID too, no supplementary groups) first, then
 * creates the socket: the kernel records the creator's uid in the socket
 * (sk_uid), and that is the uid it compares for SO_REUSEPORT. Then sets
 * SO_REUSEADDR (-a), SO_REUSEPORT (-p), IPV6_V6ONLY (-v, with -6), binds
 * ADDR:PORT, listens (-l, TCP only) and prints one line on stdout; with
 * -c it connects to ADDR:PORT instead of binding it (PORT is then the local
 * port the kernel chose, of no interest but to be printed):
 *
 *   ok PORT          the port bound (the kernel's choice for PORT 0)
 *   err ERRNO_NAME   the first call that failed, e.g. "err EADDRINUSE"
 *
 * then keeps the socket open SECONDS seconds (default 0: exits at once)
 * and closes it by exiting. Exit status: 0 ok, 1 a socket call failed,
 * 2 usage or a failed uid switch.
 *
 * Batch mode (-b): one process does many operations and holds their
 * sockets, so that a series of binds on one port does not need one process
 * per socket. Each line read from stdin is either
 *
 *   [-t tcp|udp] [-6] [-a] [-p] [-v] [-l] ADDR PORT
 *                    one operation, as on the command line above: the
 *                    answer is "ok PORT" or "err ERRNO_NAME" ("err usage"
 *                    for a line that cannot be parsed), and a socket that
 *                    succeeded stays open
 *   close            closes every socket held; the answer is "closed N"
 *
 * and gets exactly one line in answer, flushed at once (stdout is a pipe
 * or a FIFO that the caller reads line by line). At EOF every socket is
 * closed and sockop exits 0. -u applies to the whole process, before the
 * first line is read.
 *
 * Sniffer mode (-F): a raw socket (AF_INET, IPPROTO_TCP) or a packet
 * socket (AF_PACKET, ETH_P_ALL) with a classic BPF filter that accepts the
 * IPv4 TCP segments to PORT (SO_ATTACH_FILTER), as a socket-filter
 * backdoor makes; prints "ok PORT" once attached and holds it as above.
 * The program reads a bare IPv4 header (a raw socket's view): the X
 * register gets the header length, then the destination port is compared.
 *
 * Built statically by tests/kernels/run.sh so that it runs in the guest's
 * initramfs without a C library.
 */
#define _GNU_SOURCE /* setresuid, setresgid, setgroups, strerrorname_np */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <grp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_HELD 1024 /* sockets batch mode holds at once */
#define MAX_ARGS 16   /* words in one batch line */

/* One socket operation: what to create, set, bind and maybe listen. */
struct op {
	int tcp, inet6, reuseaddr, reuseport, v6only, listening, connecting;
	struct sockaddr_storage ss;
	socklen_t len;
};

static void usage(void)
{
	fprintf(stderr, "usage: sockop [-u UID] [-t tcp|udp] [-6] [-a] [-p] [-v] [-l] [-c] "
			"[-s SECONDS] ADDR PORT\n"
			"       sockop [-u UID] -b   (operations read from stdin, one a line)\n"
			"       sockop -F raw|packet [-s SECONDS] PORT\n");
	exit(2);
}

/* A non-negative decimal number no larger than max, or -1. */
static long number(const char *s, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > max)
		return -1;
	return v;
}

/* Apply one of the per-operation options (t 6 a p v l) to op: 0, or -1 when
 * opt is not one of them or its argument is bad. */
static int op_option(struct op *op, int opt, const char *arg)
{
	switch (opt) {
	case 't':
		if (!strcmp(arg, "tcp"))
			op->tcp = 1;
		else if (!strcmp(arg, "udp"))
			op->tcp = 0;
		else
			return -1;
		return 0;
	case '6': op->inet6 = 1; return 0;
	case 'a': op->reuseaddr = 1; return 0;
	case 'p': op->reuseport = 1; return 0;
	case 'v': op->v6only = 1; return 0;
	case 'l': op->listening = 1; return 0;
	case 'c': op->connecting = 1; return 0;
	default: return -1;
	}
}

/* Check the options' combination and fill in op's address from the
 * operands ADDR and PORT: 0, or -1 when they are bad. */
static int op_address(struct op *op, const char *addr, const char *portstr)
{
	long port = number(portstr, 65535);

	if (port < 0 || (op->listening && !op->tcp) || (op->v6only && !op->inet6) ||
	    (op->connecting && op->listening))
		return -1;
	memset(&op->ss, 0, sizeof(op->ss));
	if (op->inet6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&op->ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((unsigned short)port);
		if (inet_pton(AF_INET6, addr, &a->sin6_addr) != 1)
			return -1;
		op->len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&op->ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((unsigned short)port);
		if (inet_pton(AF_INET, addr, &a->sin_addr) != 1)
			return -1;
		op->len = sizeof(*a);
	}
	return 0;
}

/* Do op: socket, options, bind, listen. The socket, with the port it is
 * bound to in *port; or -1 with errno set and the call that failed in
 * *call (the socket is closed then). */
static int op_run(const struct op *op, unsigned short *port, const char **call)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd, one = 1, e;

	*call = "socket";
	fd = socket(op->inet6 ? AF_INET6 : AF_INET, op->tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
	if (fd < 0)
		return -1;
	if (op->reuseaddr &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one))) {
		*call = "setsockopt(SO_REUSEADDR)";
		goto fail;
	}
	if (op->reuseport &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one))) {
		*call = "setsockopt(SO_REUSEPORT)";
		goto fail;
	}
	if (op->v6only && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) {
		*call = "setsockopt(IPV6_V6ONLY)";
		goto fail;
	}
	*call = op->connecting ? "connect" : "bind";
	if (op->connecting ? connect(fd, (const struct sockaddr *)&op->ss, op->len) :
			     bind(fd, (const struct sockaddr *)&op->ss, op->len))
		goto fail;
	*call = "listen";
	if (op->listening && listen(fd, 16))
		goto fail;
	/* The port the kernel bound (PORT 0: its choice). */
	*call = "getsockname";
	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		goto fail;
	*port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
						 ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
fail:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

/* Print "err NAME" for errno on stdout, and the call and message on stderr. */
static void report_err(const char *call)
{
	int e = errno;
	const char *name = strerrorname_np(e);

	if (name)
		printf("err %s\n", name);
	else
		printf("err E%d\n", e);
	fprintf(stderr, "sockop: %s: %s\n", call, strerror(e));
}

/* Sleep the whole interval, even across signals that do not kill us. */
static void hold(long seconds)
{
	struct timespec left = { .tv_sec = seconds, .tv_nsec = 0 };

	while (nanosleep(&left, &left) && errno == EINTR)
		;
}

/* Batch mode: operations from stdin, one answer line each (see the top). */
static int batch(void)
{
	static int held[MAX_HELD];
	int nheld = 0;
	char line[512];

	while (fgets(line, sizeof(line), stdin)) {
		char *argv[MAX_ARGS + 2], *save = NULL, *w;
		int argc = 0, opt, bad = 0, fd;
		struct op op = { .tcp = 1 };
		unsigned short port;
		const char *call;

		/* Split the line into words; argv[0] is a name for getopt. */
		argv[argc++] = "sockop";
		for (w = strtok_r(line, " \t\r\n", &save); w; w = strtok_r(NULL, " \t\r\n", &save)) {
			if (argc > MAX_ARGS) {
				bad = 1;
				break;
			}
			argv[argc++] = w;
		}
		argv[argc] = NULL;
		if (argc == 1)
			continue; /* an empty line gets no answer */

		if (!bad && argc == 2 && !strcmp(argv[1], "close")) {
			for (int i = 0; i < nheld; i++)
				close(held[i]);
			printf("closed %d\n", nheld);
			nheld = 0;
		} else {
			optind = 0; /* glibc: a fresh scan of the new argv */
			while (!bad && (opt = getopt(argc, argv, "+t:6apvlc")) != -1)
				bad = op_option(&op, opt, optarg) != 0;
			if (bad || argc - optind != 2 ||
			    op_address(&op, argv[optind], argv[optind + 1])) {
				fprintf(stderr, "sockop: bad line (%d words)\n", argc - 1);
				printf("err usage\n");
			} else if ((fd = op_run(&op, &port, &call)) < 0) {
				report_err(call);
			} else if (nheld == MAX_HELD) {
				close(fd);
				errno = EMFILE;
				report_err("holding the socket");
			} else {
				held[nheld++] = fd;
				printf("ok %u\n", port);
			}
		}
		fflush(stdout); /* the caller waits for this line */
	}
	for (int i = 0; i < nheld; i++)
		close(held[i]);
	return 0;
}

/* -F: the sniffer socket with its filter; the fd, or -1 with the call that failed in *call. */
static int sniffer(const char *kind, unsigned short port, const char **call)
{
	struct sock_filter prog[] = {
		BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),    /* X = IPv4 header length */
		BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),     /* A = TCP destination port */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, port, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0xffff),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog fp = { .len = sizeof(prog) / sizeof(prog[0]), .filter = prog };
	int fd = !strcmp(kind, "raw") ? socket(AF_INET, SOCK_RAW, IPPROTO_TCP) :
					socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));

	*call = "socket";
	if (fd < 0)
		return -1;
	*call = "setsockopt";
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp))) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	long uid = -1, seconds = 0;
	int opt, fd, batch_mode = 0, nopts = 0;
	struct op op = { .tcp = 1 };
	unsigned short port;
	const char *call, *sniff = NULL;

	while ((opt = getopt(argc, argv, "u:t:6apvlcs:bF:")) != -1) {
		switch (opt) {
		case 'F':
			if (strcmp(optarg, "raw") && strcmp(optarg, "packet"))
				usage();
			sniff = optarg;
			break;
		case 'u':
			if ((uid = number(optarg, 0x7fffffff)) < 0)
				usage();
			break;
		case 's':
			if ((seconds = number(optarg, 86400)) < 0)
				usage();
			break;
		case 'b': batch_mode = 1; break;
		default:
			if (op_option(&op, opt, optarg))
				usage();
			nopts++;
		}
	}
	if (sniff) {
		long p = argc - optind == 1 ? number(argv[optind], 65535) : -1;

		if (p < 0 || nopts || batch_mode || uid >= 0)
			usage();
		fd = sniffer(sniff, (unsigned short)p, &call);
		if (fd < 0) {
			report_err(call);
			return 1;
		}
		printf("ok %ld\n", p);
		fflush(stdout);
		hold(seconds);
		close(fd);
		return 0;
	}
	if (batch_mode) {
		if (argc != optind || nopts || seconds)
			usage();
	} else {
		/* The address, parsed before dropping privileges (nothing needs them). */
		if (argc - optind != 2 || op_address(&op, argv[optind], argv[optind + 1]))
			usage();
	}

	/* Become UID before socket(2): the socket's sk_uid is its creator's. */
	if (uid >= 0) {
		if (setgroups(0, NULL) || setresgid((gid_t)uid, (gid_t)uid, (gid_t)uid) ||
		    setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid)) {
			perror("sockop: switching uid");
			exit(2);
		}
	}

	if (batch_mode)
		return batch();

	fd = op_run(&op, &port, &call);
	if (fd < 0) {
		report_err(call);
		return 1;
	}
	printf("ok %u\n", port);
	fflush(stdout); /* stdout is a file in guest.sh: say it before holding */

	hold(seconds);
	close(fd);
	return 0;
}
