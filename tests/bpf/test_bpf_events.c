// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_bpf_events.c - the real BPF programs against real sockets.
 *
 * Loads bpf/portwatch.bpf.c through daemon/bpfload.c and
 * bpf/snapshot.bpf.c through daemon/snap.c, moves this process into a
 * fresh network namespace (unshare(CLONE_NEWNET), lo up), and checks that
 * each bind/listen/setsockopt/connect/close produces the event the daemon
 * relies on, field by field, in the style of the kernel's
 * tools/testing/selftests/bpf/prog_tests/select_reuseport.c: one subtest
 * per {TCP, UDP} x {IPv4, IPv6} x {specific, wildcard}; then port 0, the
 * connect filter, a connect with no free ephemeral port, and the release of
 * a socket held by a SIGKILLed child. Needs root.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "bpfload.h"
#include "snap.h"

#define MAX_EVENTS 4096

static struct pw_bpf bpf;
static struct snap *snap;
static struct pw_event events[MAX_EVENTS];
static size_t nevents;
static uint32_t self_netns;
static pid_t child_pid; /* a child of the running subtest whose events count too, or 0 */

/* Keep the events of this process (and of child_pid); drop everyone else's. */
static int on_event(void *ctx, void *data, size_t size)
{
	struct pw_event buf;
	const struct pw_event *e = pwbpf_record(data, size, &buf);

	(void)ctx;
	if (e && nevents < MAX_EVENTS &&
	    (e->pid == (uint32_t)getpid() || (child_pid && e->pid == (uint32_t)child_pid)))
		events[nevents++] = *e;
	return 0;
}

/* Drain the rings: every event of a call made so far; this process's land in events[]. */
static void drain(void)
{
	nevents = 0;
	assert_true(pwbpf_consume_sync(&bpf) >= 0);
}

/* The first event of this type on this port (0 = any), or fail. */
static const struct pw_event *find(uint32_t type, uint16_t port, int err)
{
	for (size_t i = 0; i < nevents; i++)
		if (events[i].type == type && events[i].err == err &&
		    (!port || events[i].sk.lport == port || events[i].req_port == port))
			return &events[i];
	fail_msg("no event of type %u on port %u with err %d among %zu", type, port, err, nevents);
	return NULL;
}

static int count(uint32_t type)
{
	int n = 0;

	for (size_t i = 0; i < nevents; i++)
		n += events[i].type == type;
	return n;
}

/* Events of any type about one socket inode. */
static int count_inode(uint64_t inode)
{
	int n = 0;

	for (size_t i = 0; i < nevents; i++)
		n += events[i].sk.inode == inode;
	return n;
}

/* The first event of this type about this socket inode, or NULL. */
static const struct pw_event *find_inode(uint32_t type, uint64_t inode)
{
	for (size_t i = 0; i < nevents; i++)
		if (events[i].type == type && events[i].sk.inode == inode)
			return &events[i];
	return NULL;
}

static uint64_t boottime_ns(void)
{
	struct timespec ts;

	assert_int_equal(clock_gettime(CLOCK_BOOTTIME, &ts), 0);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void lo_up(void)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	assert_true(fd >= 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	assert_int_equal(ioctl(fd, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	assert_int_equal(ioctl(fd, SIOCSIFFLAGS, &ifr), 0);
	close(fd);
}

static int group_setup(void **state)
{
	const char *what = "";
	struct stat st;
	int err;

	(void)state;
	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "unshare(CLONE_NEWNET): %s (run as root)\n", strerror(errno));
		return -1;
	}
	lo_up();
	if (stat("/proc/self/ns/net", &st))
		return -1;
	self_netns = st.st_ino;
	err = pwbpf_open(&bpf, 1 << 22, on_event, NULL, &what);
	if (err) {
		fprintf(stderr, "pwbpf_open: cannot %s: %s\n", what, strerror(-err));
		return -1;
	}
	err = snap_open(&snap);
	if (err) {
		fprintf(stderr, "snap_open: %s\n", strerror(-err));
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	snap_close(snap);
	pwbpf_close(&bpf);
	return 0;
}

/*
 * This process's cgroup v2 id, as bpf_get_current_cgroup_id() gives it:
 * the inode of its directory under the cgroup2 mount (/proc/self/cgroup
 * "0::PATH"). 0 when there is no cgroup v2 hierarchy.
 */
static uint64_t own_cgroup_id(void)
{
	char line[512], mnt[256] = "", path[1024], fs[64], dir[256];
	FILE *f = fopen("/proc/self/mounts", "re");
	struct stat st;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %255s %63s", dir, fs) == 2 && !strcmp(fs, "cgroup2"))
			snprintf(mnt, sizeof(mnt), "%s", dir);
	if (f)
		fclose(f);
	f = fopen("/proc/self/cgroup", "re");
	while (f && mnt[0] && fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(path, sizeof(path), "%s%s", mnt, line + 3);
			fclose(f);
			return stat(path, &st) ? 0 : st.st_ino;
		}
	if (f)
		fclose(f);
	return 0;
}

struct variant {
	int type;      /* SOCK_STREAM, SOCK_DGRAM */
	int family;    /* AF_INET, AF_INET6 */
	const char *addr;
	uint16_t port;
};

static socklen_t make_addr(const struct variant *v, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (v->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(v->port);
		assert_int_equal(inet_pton(AF_INET, v->addr, &sin->sin_addr), 1);
		return sizeof(*sin);
	}
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(v->port);
	assert_int_equal(inet_pton(AF_INET6, v->addr, &sin6->sin6_addr), 1);
	return sizeof(*sin6);
}

struct snap_find {
	uint64_t inode;
	struct pw_sock found;
	int hits;
};

static int snap_match(const struct pw_sock *sk, void *arg)
{
	struct snap_find *f = arg;

	if (sk->inode == f->inode) {
		f->found = *sk;
		f->hits++;
	}
	return 0;
}

/*
 * One variant: bind with SO_REUSEADDR, (listen), setsockopt SO_REUSEPORT,
 * a refused second bind, the snapshot, close.
 */
static void run_variant(void **state)
{
	const struct variant *v = *state;
	int proto = v->type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP;
	struct sockaddr_storage ss;
	socklen_t len = make_addr(v, &ss);
	const struct pw_event *e;
	struct snap_find sf = { 0 };
	uint8_t want[16] = { 0 };
	struct stat st;
	char comm[16] = { 0 };
	uint64_t t0, t1;
	int one = 1, fd, fd2;

	memcpy(want, v->family == AF_INET ? (void *)&((struct sockaddr_in *)&ss)->sin_addr :
					    (void *)&((struct sockaddr_in6 *)&ss)->sin6_addr,
	       v->family == AF_INET ? 4 : 16);

	fd = socket(v->family, v->type, 0);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	drain(); /* setsockopt on an unbound socket is not reported */
	assert_int_equal(count(PW_EV_SOCKOPT), 0);

	assert_int_equal(prctl(PR_GET_NAME, comm), 0);
	t0 = boottime_ns();
	assert_int_equal(bind(fd, (struct sockaddr *)&ss, len), 0);
	t1 = boottime_ns();
	if (v->type == SOCK_STREAM)
		assert_int_equal(listen(fd, 8), 0);
	drain();
	e = find(PW_EV_BIND, v->port, 0);
	assert_int_equal(e->sk.family, v->family);
	assert_int_equal(e->sk.protocol, proto);
	assert_int_equal(e->sk.lport, v->port);
	assert_memory_equal(e->sk.laddr, want, 16);
	/* what was asked for, as a refused bind reports it below (a bound
	 * socket's comes from the socket: bound_sockaddr()) */
	assert_int_equal(e->req_port, v->port);
	assert_int_equal(e->req_family, v->family);
	assert_memory_equal(e->req_addr, want, 16);
	assert_int_equal(e->sk.reuseaddr, 1);
	assert_int_equal(e->sk.reuseport, 0);
	assert_int_equal(e->sk.netns, self_netns);
	assert_int_equal(e->sk.inode, st.st_ino);
	assert_int_equal(e->sk.sk_uid, getuid());
	assert_int_equal(e->uid, getuid());
	assert_int_equal(e->gid, getgid());
	assert_int_equal(e->pid, (uint32_t)getpid());
	assert_int_equal(e->tid, (uint32_t)gettid());
	assert_int_equal(strncmp(e->comm, comm, sizeof(e->comm)), 0);
	assert_int_equal(e->cgroup_id, own_cgroup_id());
	assert_true(e->cgroup_id != 0);
	assert_true(e->exe_ino != 0);
	/* CLOCK_BOOTTIME (event.h), taken during the call */
	assert_in_range(e->ts_ns, t0, t1);
	if (v->family == AF_INET6)
		/* inet6_bind() sets it for ::1; for :: it stays at the default, 0 */
		assert_int_equal(e->sk.v6only, strcmp(v->addr, "::") ? 1 : 0);
	else
		assert_int_equal(e->sk.v6only, 0);
	if (v->type == SOCK_STREAM) {
		e = find(PW_EV_LISTEN, v->port, 0);
		assert_int_equal(e->sk.state, PW_TCP_LISTEN);
		assert_int_equal(e->sk.inode, st.st_ino);
	}

	/* the kernel reads the flags at conflict time: the table must follow */
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)), 0);
	drain();
	e = find(PW_EV_SOCKOPT, v->port, 0);
	assert_int_equal(e->sk.reuseport, 1);
	assert_int_equal(e->sk.inode, st.st_ino);

	/* a refused bind reports what was asked for and the errno */
	fd2 = socket(v->family, v->type, 0);
	assert_true(fd2 >= 0);
	assert_int_equal(bind(fd2, (struct sockaddr *)&ss, len), -1);
	assert_int_equal(errno, EADDRINUSE);
	drain();
	e = find(PW_EV_BIND, v->port, -EADDRINUSE);
	assert_int_equal(e->req_port, v->port);
	assert_int_equal(e->req_family, v->family);
	assert_memory_equal(e->req_addr, want, v->family == AF_INET ? 4 : 16);
	assert_int_equal(e->sk.lport, 0);
	close(fd2);
	drain(); /* fd2 was never bound: its release is not reported */
	assert_int_equal(count(PW_EV_RELEASE), 0);

	/* the iterators see the same socket with the same flags */
	sf.inode = st.st_ino;
	assert_int_equal(snap_walk_netns(snap, self_netns, snap_match, &sf), 0);
	assert_int_equal(sf.hits, 1);
	assert_int_equal(sf.found.lport, v->port);
	assert_int_equal(sf.found.protocol, proto);
	assert_memory_equal(sf.found.laddr, want, 16);
	assert_int_equal(sf.found.reuseaddr, 1);
	assert_int_equal(sf.found.reuseport, 1);
	assert_int_equal(sf.found.netns, self_netns);

	close(fd);
	drain();
	e = find(PW_EV_RELEASE, v->port, 0);
	assert_int_equal(e->sk.inode, st.st_ino);
	/* the releasing task's pid, but no comm or cgroup: the owner came with
	 * the bind (event.h) */
	assert_int_equal(e->pid, (uint32_t)getpid());
	assert_int_equal(e->comm[0], '\0');
	assert_int_equal(e->cgroup_id, 0);
}

/* Port 0: the event carries the port the kernel chose. */
static void test_port_zero(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	const struct pw_event *e;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	(void)state;
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	drain();
	e = find(PW_EV_BIND, ntohs(sin.sin_port), 0);
	assert_int_equal(e->req_port, 0);
	assert_int_not_equal(e->sk.lport, 0);
	close(fd);
}

/*
 * One ring per CPU (bpfload.h): a socket bound on one CPU and put to
 * listen on the other has its two events in two rings, and they must
 * still come out bind first, every event in the order of the calls.
 * The thread moves between the first two online CPUs (sched_setaffinity()
 * returns once it runs on the new one); on a machine of one CPU both
 * events share a ring and the order is the ring's.
 */
static void test_order_across_cpus(void **state)
{
	enum { ROUNDS = 300 };
	uint64_t inodes[ROUNDS];
	int cpus[2], ncpu = 0;
	cpu_set_t all, one;
	size_t k = 0;

	(void)state;
	assert_int_equal(sched_getaffinity(0, sizeof(all), &all), 0);
	for (int c = 0; c < CPU_SETSIZE && ncpu < 2; c++)
		if (CPU_ISSET(c, &all))
			cpus[ncpu++] = c;
	if (ncpu < 2)
		cpus[1] = cpus[0];
	for (int i = 0; i < ROUNDS; i++) {
		struct sockaddr_in sin = { .sin_family = AF_INET,
					   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		struct stat st;

		assert_true(fd >= 0);
		assert_int_equal(fstat(fd, &st), 0);
		inodes[i] = st.st_ino;
		CPU_ZERO(&one);
		CPU_SET(cpus[i % 2], &one);
		assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
		assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
		CPU_ZERO(&one);
		CPU_SET(cpus[(i + 1) % 2], &one);
		assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
		assert_int_equal(listen(fd, 1), 0);
		close(fd);
	}
	assert_int_equal(sched_setaffinity(0, sizeof(all), &all), 0);
	drain();
	/* this process's bind and listen events, in the calls' order, stamps rising */
	for (size_t i = 0; i < nevents; i++) {
		const struct pw_event *e = &events[i];

		if (i)
			assert_true(events[i - 1].ts_ns <= e->ts_ns);
		if (e->type != PW_EV_BIND && e->type != PW_EV_LISTEN)
			continue;
		assert_true(k < 2 * ROUNDS);
		if (e->sk.inode != inodes[k / 2] || e->type != (k % 2 ? PW_EV_LISTEN : PW_EV_BIND))
			fail_msg("event %zu: %s of inode %llu, expected the %s of inode %llu",
				 i, e->type == PW_EV_BIND ? "bind" : "listen",
				 (unsigned long long)e->sk.inode, k % 2 ? "listen" : "bind",
				 (unsigned long long)inodes[k / 2]);
		k++;
	}
	assert_int_equal(k, 2 * ROUNDS);
}

/* connect: nothing for an ordinary one, an event after an explicit bind. */
static void test_connect_filter(void **state)
{
	struct sockaddr_in srv = { .sin_family = AF_INET, .sin_port = htons(7101),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in cli = srv;
	const struct pw_event *e;
	struct stat st1;
	int l = socket(AF_INET, SOCK_STREAM, 0), c1, c2, one = 1;

	(void)state;
	assert_int_equal(bind(l, (struct sockaddr *)&srv, sizeof(srv)), 0);
	assert_int_equal(listen(l, 8), 0);
	drain();

	/* an ordinary outgoing connection: no event at all about its socket,
	 * neither the connect, nor its state changes, nor its close */
	c1 = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(c1 >= 0);
	assert_int_equal(fstat(c1, &st1), 0);
	assert_int_equal(connect(c1, (struct sockaddr *)&srv, sizeof(srv)), 0);
	drain();
	assert_int_equal(count(PW_EV_CONNECT), 0);
	assert_int_equal(count_inode(st1.st_ino), 0);
	close(c1);
	drain();
	assert_int_equal(count_inode(st1.st_ino), 0);

	cli.sin_port = htons(7102);
	c2 = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(c2, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(c2, (struct sockaddr *)&cli, sizeof(cli)), 0);
	assert_int_equal(connect(c2, (struct sockaddr *)&srv, sizeof(srv)), 0);
	drain();
	e = find(PW_EV_CONNECT, 7102, 0);
	assert_int_equal(e->bound_before, 1);
	assert_int_equal(e->sk.rport, 7101);
	assert_int_equal(e->sk.state, PW_TCP_ESTABLISHED);
	close(c2);
	close(l);
	drain();
}

#define PORT_RANGE "/proc/sys/net/ipv4/ip_local_port_range"

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (!f)
		return -1;
	ok = fputs(text, f) >= 0;
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

/*
 * A connect that fails for want of a local port: EADDRNOTAVAIL on a socket
 * nobody bound, reported with its errno and bound_before 0. The port range
 * is per network namespace: in ours it is one port, which a first
 * connection to the same listener holds, so the second connect finds no
 * free 4-tuple (DESIGN rule 7).
 */
static void test_connect_no_free_port(void **state)
{
	struct sockaddr_in srv = { .sin_family = AF_INET, .sin_port = htons(7111),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in got = { 0 };
	socklen_t len = sizeof(got);
	uint8_t lo[16] = { 127, 0, 0, 1 };
	const struct pw_event *e;
	char saved[64] = { 0 };
	struct stat st;
	FILE *f;
	int l, hold, c, rc, err;

	(void)state;
	f = fopen(PORT_RANGE, "r");
	assert_non_null(f);
	assert_non_null(fgets(saved, sizeof(saved), f));
	fclose(f);
	assert_int_equal(write_file(PORT_RANGE, "40000 40000"), 0);

	l = socket(AF_INET, SOCK_STREAM, 0);
	hold = socket(AF_INET, SOCK_STREAM, 0);
	c = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(l >= 0 && hold >= 0 && c >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&srv, sizeof(srv)), 0);
	assert_int_equal(listen(l, 8), 0);
	assert_int_equal(connect(hold, (struct sockaddr *)&srv, sizeof(srv)), 0);
	assert_int_equal(getsockname(hold, (struct sockaddr *)&got, &len), 0);
	assert_int_equal(fstat(c, &st), 0);
	drain();
	rc = connect(c, (struct sockaddr *)&srv, sizeof(srv));
	err = errno;
	/* the namespace is ours alone, but put the range back before asserting */
	assert_int_equal(write_file(PORT_RANGE, saved), 0);
	assert_int_equal(ntohs(got.sin_port), 40000);
	assert_int_equal(rc, -1);
	assert_int_equal(err, EADDRNOTAVAIL);

	drain();
	e = find(PW_EV_CONNECT, 0, -EADDRNOTAVAIL);
	assert_int_equal(e->bound_before, 0);
	assert_int_equal(e->sk.inode, st.st_ino);
	assert_int_equal(e->sk.netns, self_netns);
	assert_int_equal(e->sk.protocol, IPPROTO_TCP);
	assert_int_equal(e->sk.rport, 7111);
	assert_memory_equal(e->sk.raddr, lo, 16);
	assert_int_equal(e->pid, (uint32_t)getpid());
	close(c);
	close(hold);
	close(l);
	drain();
}

/*
 * A child binds a socket and is SIGKILLed while holding it: the release is
 * reported for that inode, from the dying child (cgroup/sock_release runs in
 * its context), which never closed anything itself.
 */
static void test_release_on_sigkilled_child(void **state)
{
	const struct pw_event *e;
	uint64_t inode = 0;
	ssize_t n;
	int p[2], status;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(7121),
					   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		uint64_t ino = 0;
		struct stat st;
		int fd = socket(AF_INET, SOCK_DGRAM, 0);

		close(p[0]);
		if (fd >= 0 && !bind(fd, (struct sockaddr *)&sin, sizeof(sin)) && !fstat(fd, &st))
			ino = st.st_ino;
		if (write(p[1], &ino, sizeof(ino)) != sizeof(ino))
			_exit(1);
		for (;;)
			pause(); /* holds fd until SIGKILL */
	}
	child_pid = pid;
	close(p[1]);
	n = read(p[0], &inode, sizeof(inode));
	close(p[0]);
	drain(); /* the child's bind */
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(n, sizeof(inode));
	assert_true(inode != 0);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	e = find_inode(PW_EV_BIND, inode);
	assert_non_null(e);
	assert_int_equal(e->pid, (uint32_t)pid);
	assert_int_equal(e->err, 0);

	drain();
	child_pid = 0;
	e = find_inode(PW_EV_RELEASE, inode);
	if (!e)
		fail_msg("no release event for inode %llu of SIGKILLed child %d among %zu events",
			 (unsigned long long)inode, pid, nevents);
	assert_int_equal(e->pid, (uint32_t)pid);
	assert_int_equal(e->sk.lport, 7121);
	assert_int_equal(e->sk.protocol, IPPROTO_UDP);
	assert_int_equal(e->sk.netns, self_netns);
}

#define VARIANT(name, type, family, addr, port)                                            \
	static const struct variant name = { type, family, addr, port }
VARIANT(tcp4_specific, SOCK_STREAM, AF_INET, "127.0.0.1", 7001);
VARIANT(tcp4_wildcard, SOCK_STREAM, AF_INET, "0.0.0.0", 7002);
VARIANT(tcp6_specific, SOCK_STREAM, AF_INET6, "::1", 7003);
VARIANT(tcp6_wildcard, SOCK_STREAM, AF_INET6, "::", 7004);
VARIANT(udp4_specific, SOCK_DGRAM, AF_INET, "127.0.0.1", 7005);
VARIANT(udp4_wildcard, SOCK_DGRAM, AF_INET, "0.0.0.0", 7006);
VARIANT(udp6_specific, SOCK_DGRAM, AF_INET6, "::1", 7007);
VARIANT(udp6_wildcard, SOCK_DGRAM, AF_INET6, "::", 7008);

/* A named subtest per variant, like test__start_subtest() in the kernel's test_progs. */
#define SUBTEST(v) { .name = #v, .test_func = run_variant, .initial_state = (void *)&v }

int main(void)
{
	const struct CMUnitTest tests[] = {
		SUBTEST(tcp4_specific), SUBTEST(tcp4_wildcard), SUBTEST(tcp6_specific),
		SUBTEST(tcp6_wildcard), SUBTEST(udp4_specific), SUBTEST(udp4_wildcard),
		SUBTEST(udp6_specific), SUBTEST(udp6_wildcard),
		cmocka_unit_test(test_port_zero), cmocka_unit_test(test_connect_filter),
		cmocka_unit_test(test_connect_no_free_port),
		cmocka_unit_test(test_release_on_sigkilled_child),
		cmocka_unit_test(test_order_across_cpus),
	};

	return cmocka_run_group_tests_name("bpf_events", tests, group_setup, group_teardown);
}
