// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* kbehavior.c - kernel behaviours found by trial; see kbehavior.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "diag.h"
#include "kbehavior.h"

/* Any port: the trial's namespace is new and empty. */
#define TRIAL_PORT 4242

void kbehavior_unknown(struct kbehavior *kb)
{
	kb->udp_walk = RULES_UDP_WALK_UNKNOWN;
	kb->diag_bound_inactive = -1;
	kb->tcp_mapped_any_unseen = -1;
	kb->reuseport_uid = RULES_REUSEPORT_UID_UNKNOWN;
	kb->tcp_bhash2_meets = 0;
	kb->tcp_bhash2_unsure = 0x1ff;
}

/*
 * A UDP (or TCP) IPv4 socket with these options, bound to addr:port (addr
 * in host order). 1 bound, 0 EADDRINUSE, <0 -errno.
 */
static int bind4(int type, int reuseaddr, int reuseport, uint32_t addr, uint16_t port,
		 int *fd_out)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(addr) };
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0), ret;

	*fd_out = fd;
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuseaddr, sizeof(reuseaddr)) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &reuseport, sizeof(reuseport)))
		return -errno;
	ret = bind(fd, (struct sockaddr *)&a, sizeof(a));
	if (!ret)
		return 1;
	return errno == EADDRINUSE ? 0 : -errno;
}

static int set_flag(int fd, int opt, int value)
{
	return setsockopt(fd, SOL_SOCKET, opt, &value, sizeof(value)) ? -errno : 0;
}

#define LOOPBACK2 0x7f000002 /* 127.0.0.2 */

/*
 * One round of the UDP trial, all sockets of this uid on TRIAL_PORT:
 * holder A on 0.0.0.0 with SO_REUSEADDR only, and holder B, reuseport-
 * compatible with the new socket C (SO_REUSEPORT only). b_first: B comes
 * first in the port chain, i.e. was bound last (IPv4 sockets go to the
 * head: sk_add_node_rcu()); else A does.
 *   specific = 0: B and C on 0.0.0.0, B with SO_REUSEADDR + SO_REUSEPORT;
 *   specific = 1: B and C on 127.0.0.2, B bound with SO_REUSEADDR, then
 *                 (both holders bound) given SO_REUSEPORT and stripped of
 *                 SO_REUSEADDR.
 * 1 C was admitted, 0 refused, <0 -errno.
 */
static int udp_round(int b_first, int specific)
{
	int fds[3] = { -1, -1, -1 }, ret = 1;
	uint32_t baddr = specific ? LOOPBACK2 : 0;

	for (int i = 0; i < 2 && ret == 1; i++) {
		if ((i == 0) == (b_first != 0))
			ret = bind4(SOCK_DGRAM, 1, 0, 0, TRIAL_PORT, &fds[0]);
		else
			ret = bind4(SOCK_DGRAM, 1, !specific, baddr, TRIAL_PORT, &fds[1]);
	}
	if (ret == 1 && specific)
		ret = set_flag(fds[1], SO_REUSEPORT, 1) ?: set_flag(fds[1], SO_REUSEADDR, 0) ?: 1;
	if (ret == 1)
		ret = bind4(SOCK_DGRAM, 0, 1, baddr, TRIAL_PORT, &fds[2]);
	else if (ret == 0)
		ret = -EPROTO; /* two SO_REUSEADDR sockets always share a UDP port */
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return ret;
}

/*
 * FIRST_DECIDES admits C in both rounds where B comes first, ANY_REFUSES
 * refuses it in both; with A first every kernel refuses it. A kernel that
 * answers otherwise is UNKNOWN: Linux 6.18.44 admits the specific round
 * and refuses the wildcard one, so `check` says "uncertain" there where
 * the two known walks disagree, and is sure where they agree.
 */
static enum rules_udp_walk trial_udp_walk(void)
{
	int wild = udp_round(1, 0), specific = udp_round(1, 1);

	if (udp_round(0, 0) != 0 || udp_round(0, 1) != 0)
		return RULES_UDP_WALK_UNKNOWN;
	if (wild == 1 && specific == 1)
		return RULES_UDP_WALK_FIRST_DECIDES;
	if (wild == 0 && specific == 0)
		return RULES_UDP_WALK_ANY_REFUSES;
	return RULES_UDP_WALK_UNKNOWN;
}

/* A plain TCP AF_INET6 socket bound to ::ffff:a.b.c.d (host order) port. As bind4(). */
static int bind_mapped(uint32_t addr, uint16_t port, int *fd_out)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);

	*fd_out = fd;
	if (fd < 0)
		return -errno;
	a.sin6_addr.s6_addr[10] = a.sin6_addr.s6_addr[11] = 0xff;
	addr = htonl(addr);
	memcpy(&a.sin6_addr.s6_addr[12], &addr, 4);
	if (!bind(fd, (struct sockaddr *)&a, sizeof(a)))
		return 1;
	return errno == EADDRINUSE ? 0 : -errno;
}

static int trial_tcp_mapped_any(void)
{
	int any = -1, mapped = -1, v4 = -1, r_any, r_mapped = -1, r_v4 = -1;

	r_any = bind_mapped(0, TRIAL_PORT + 1, &any);
	if (r_any == 1) {
		r_mapped = bind_mapped(LOOPBACK2, TRIAL_PORT + 1, &mapped);
		r_v4 = bind4(SOCK_STREAM, 0, 0, LOOPBACK2, TRIAL_PORT + 1, &v4);
	}
	if (any >= 0)
		close(any);
	if (mapped >= 0)
		close(mapped);
	if (v4 >= 0)
		close(v4);
	if (r_any != 1 || r_v4 != 0 || r_mapped < 0)
		return -1;
	return r_mapped == 1;
}

/* Any uid but root's: the trial's sockets are created with it as fsuid. */
#define TRIAL_UID 65534

/* Bring the trial namespace's loopback up (a new namespace has it down). */
static int loopback_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = 0;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		ret = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!ret && ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/*
 * bind4() of a TCP socket created by TRIAL_UID (sock_alloc() takes the
 * inode's uid from the fsuid; sock_init_data() copies it into sk_uid).
 */
static int bind4_as_trial_uid(int reuseport, uint32_t addr, uint16_t port, int *fd_out)
{
	int ret;

	/* setfsuid(2) reports no error: without CAP_SETUID (the shipped unit's
	 * bounding set lacks it) the fsuid stays 0, and the trial cannot run */
	setfsuid(TRIAL_UID);
	if (setfsuid((uid_t)-1) != TRIAL_UID) {
		*fd_out = -1;
		return -EPERM;
	}
	ret = bind4(SOCK_STREAM, 0, reuseport, addr, port, fd_out);
	setfsuid(0);
	return ret;
}

/*
 * One round of the reuseport-uid trial on port (kbehavior.h). child: 0
 * no connection, 1 one left in the accept queue, 2 one accepted by root.
 * 1 C admitted, 0 refused, <0 -errno.
 */
static int reuseport_uid_round(uint16_t port, int child)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(0x7f000001) };
	int fds[5] = { -1, -1, -1, -1, -1 }, ret;
	struct pollfd pfd;

	ret = bind4_as_trial_uid(1, 0x7f000001, port, &fds[0]);
	if (ret == 1)
		ret = listen(fds[0], 4) ? -errno : 1;
	if (ret == 1)
		ret = bind4_as_trial_uid(0, LOOPBACK2, port, &fds[1]);
	if (ret == 1 && child) {
		fds[2] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fds[2] < 0 || connect(fds[2], (struct sockaddr *)&a, sizeof(a)))
			ret = -errno;
		/* the handshake is done once the listener is readable (bounded) */
		pfd = (struct pollfd){ .fd = fds[0], .events = POLLIN };
		if (ret == 1 && poll(&pfd, 1, 1000) != 1)
			ret = -ETIMEDOUT;
		if (ret == 1 && child == 2) {
			fds[3] = accept4(fds[0], NULL, NULL, SOCK_CLOEXEC);
			if (fds[3] < 0)
				ret = -errno;
		}
	}
	if (ret == 1)
		ret = bind4_as_trial_uid(1, 0x7f000001, port, &fds[4]);
	for (int i = 0; i < 5; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return ret;
}

static enum rules_reuseport_uid trial_reuseport_uid(void)
{
	int queued, accepted, none;

	queued = reuseport_uid_round(TRIAL_PORT + 2, 1);
	accepted = reuseport_uid_round(TRIAL_PORT + 3, 2);
	none = reuseport_uid_round(TRIAL_PORT + 4, 0);
	if (accepted != 0 || none != 1 || queued < 0)
		return RULES_REUSEPORT_UID_UNKNOWN;
	return queued ? RULES_REUSEPORT_UID_SK : RULES_REUSEPORT_UID_INODE;
}

/*
 * A plain TCP socket bound to addr (text: "0.0.0.0", "::", "::ffff:...";
 * AF_INET6 when it has a ':') port, with IPV6_V6ONLY = v6only. As bind4().
 */
static int bind_text(const char *addr, int v6only, uint16_t port, int *fd_out)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	int v6 = strchr(addr, ':') != NULL, fd;
	socklen_t len = v6 ? sizeof(*a6) : sizeof(*a4);

	*fd_out = fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (v6) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		if (inet_pton(AF_INET6, addr, &a6->sin6_addr) != 1)
			return -EINVAL;
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)))
			return -errno;
	} else {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		if (inet_pton(AF_INET, addr, &a4->sin_addr) != 1)
			return -EINVAL;
	}
	if (!bind(fd, (struct sockaddr *)&ss, len))
		return 1;
	return errno == EADDRINUSE ? 0 : -errno;
}

static int tw_seen(const struct pw_sock *sk, uint32_t expires_ms, void *arg)
{
	(void)sk;
	(void)expires_ms;
	(void)arg;
	return 1;
}

/*
 * A TIME_WAIT entry on 127.0.0.1:cport: a connection from there to a
 * listener on 127.0.0.1:lport, closed by the client first. Then a plain
 * 0.0.0.0:cport bind (the control: refused on every kernel) and a plain
 * 127.0.0.1:cport bind. 1 the latter met the entry (refused), 0 it did
 * not, <0 the round failed.
 */
static int tw_round(uint16_t lport, uint16_t cport)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(lport),
				 .sin_addr.s_addr = htonl(0x7f000001) };
	int l = -1, k = -1, acc = -1, w = -1, t = -1, ret, found = 0;
	struct pollfd pfd;

	ret = bind4(SOCK_STREAM, 0, 0, 0x7f000001, lport, &l);
	if (ret == 1)
		ret = listen(l, 4) ? -errno : 1;
	if (ret == 1)
		ret = bind4(SOCK_STREAM, 0, 0, 0x7f000001, cport, &k);
	if (ret == 1 && connect(k, (struct sockaddr *)&a, sizeof(a)))
		ret = -errno;
	pfd = (struct pollfd){ .fd = l, .events = POLLIN };
	if (ret == 1 && poll(&pfd, 1, 1000) != 1)
		ret = -ETIMEDOUT;
	if (ret == 1 && (acc = accept4(l, NULL, NULL, SOCK_CLOEXEC)) < 0)
		ret = -errno;
	if (ret == 1) {
		close(k); /* the active close: k's port keeps the entry */
		k = -1;
		close(acc);
		acc = -1;
		/* the FIN exchange runs in softirq: wait for the entry (bounded) */
		for (int i = 0; i < 100 && !found; i++) {
			int dfd = diag_open();

			found = dfd >= 0 && diag_time_wait(dfd, 0, cport, tw_seen, NULL) == 1;
			if (!found)
				usleep(10000);
		}
		ret = found ? 1 : -ETIMEDOUT;
	}
	if (ret == 1)
		ret = bind4(SOCK_STREAM, 0, 0, 0, cport, &w) == 0 ?
			      bind4(SOCK_STREAM, 0, 0, 0x7f000001, cport, &t) :
			      -EPROTO;
	if (ret >= 0)
		ret = ret == 0; /* refused: met */
	{
		int fds[5] = { l, k, acc, w, t };

		for (int i = 0; i < 5; i++)
			if (fds[i] >= 0)
				close(fds[i]);
	}
	return ret;
}

/* kbehavior.tcp_bhash2_meets and _unsure. */
static void trial_bhash2(struct kbehavior *kb)
{
	static const char *const contender[2] = { "127.0.0.1", "::ffff:127.0.0.1" };
	static const struct {
		const char *addr;
		int v6only;
	} holder[4] = { { "0.0.0.0", 0 }, { "::", 0 }, { "::", 1 }, { "::ffff:0.0.0.0", 0 } };
	uint16_t port = TRIAL_PORT + 10;
	int r;

	kb->tcp_bhash2_meets = 0;
	kb->tcp_bhash2_unsure = 0;
	for (int ck = 0; ck < 2; ck++)
		for (int hk = 0; hk < 4; hk++, port++) {
			int h = -1, c = -1;

			r = bind_text(holder[hk].addr, holder[hk].v6only, port, &h);
			if (r == 1)
				r = bind_text(contender[ck], 0, port, &c);
			else if (r == 0)
				r = -EPROTO; /* a fresh port */
			if (r < 0)
				kb->tcp_bhash2_unsure |= RULES_B2_BIT(ck, hk);
			else if (r == 0)
				kb->tcp_bhash2_meets |= RULES_B2_BIT(ck, hk);
			if (h >= 0)
				close(h);
			if (c >= 0)
				close(c);
		}
	r = tw_round(port, port + 1);
	if (r < 0)
		kb->tcp_bhash2_unsure |= RULES_B2_TW;
	else if (r)
		kb->tcp_bhash2_meets |= RULES_B2_TW;
}

static int seen_inode(const struct pw_sock *sk, void *arg)
{
	return sk->inode == *(uint64_t *)arg ? 1 : 0;
}

static int trial_diag_bound(void)
{
	struct stat st;
	int fd, dfd, ret;
	uint64_t ino;

	ret = bind4(SOCK_STREAM, 0, 0, 0, TRIAL_PORT, &fd);
	if (ret != 1 || fstat(fd, &st)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	ino = (uint64_t)st.st_ino;
	dfd = diag_open();
	ret = dfd < 0 ? -1 : diag_bound_tcp(dfd, 0, seen_inode, &ino);
	close(fd);
	if (ret < 0)
		return -1;
	return ret == 1;
}

/* What the child sends back: its error, or the answers. */
struct trial_report {
	int err; /* 0, or -errno of unshare() */
	struct kbehavior kb;
};

int kbehavior_probe(struct kbehavior *kb)
{
	struct trial_report r;
	int p[2], status;
	pid_t pid;
	ssize_t n;

	kbehavior_unknown(kb);
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		r.err = -errno;
		close(p[0]);
		close(p[1]);
		return r.err;
	}
	if (pid == 0) {
		close(p[0]);
		memset(&r, 0, sizeof(r));
		kbehavior_unknown(&r.kb);
		if (unshare(CLONE_NEWNET)) {
			r.err = -errno;
		} else {
			r.kb.udp_walk = trial_udp_walk();
			r.kb.diag_bound_inactive = trial_diag_bound();
			r.kb.tcp_mapped_any_unseen = trial_tcp_mapped_any();
			/* the rest connect over loopback, down in a new namespace */
			if (!loopback_up()) {
				r.kb.reuseport_uid = trial_reuseport_uid();
				trial_bhash2(&r.kb);
			}
		}
		_exit(write(p[1], &r, sizeof(r)) == (ssize_t)sizeof(r) ? 0 : 1);
	}
	close(p[1]);
	do
		n = read(p[0], &r, sizeof(r));
	while (n < 0 && errno == EINTR);
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(r))
		return -EIO;
	if (r.err)
		return r.err;
	*kb = r.kb;
	return 0;
}
