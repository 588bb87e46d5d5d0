// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* diag.c - bound-only TCP sockets through NETLINK_SOCK_DIAG; see diag.h. */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>

#include "diag.h"

/* include/net/tcp_states.h, Linux 6.5+; not in the uapi headers of Debian 12. */
#define PW_TCP_BOUND_INACTIVE 13

struct dump {
	uint32_t netns;
	diag_sock_fn fn;
	diag_tw_fn tw_fn; /* set: a TIME_WAIT dump */
	uint16_t port;
	void *arg;
	int ret; /* fn's non-zero return */
};

int diag_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);

	return fd < 0 ? -errno : fd;
}

static int on_msg(const struct nlmsghdr *nlh, void *data)
{
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);
	struct dump *d = data;
	struct pw_sock sk;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*m))
		return MNL_CB_ERROR;
	memset(&sk, 0, sizeof(sk));
	if (d->tw_fn) {
		if (ntohs(m->id.idiag_sport) != d->port)
			return MNL_CB_OK;
		sk.netns = d->netns;
		sk.family = m->idiag_family;
		sk.protocol = IPPROTO_TCP;
		sk.state = PW_TCP_TIME_WAIT;
		sk.lport = d->port;
		sk.rport = ntohs(m->id.idiag_dport);
		memcpy(sk.laddr, m->id.idiag_src, m->idiag_family == AF_INET6 ? 16 : 4);
		memcpy(sk.raddr, m->id.idiag_dst, m->idiag_family == AF_INET6 ? 16 : 4);
		d->ret = d->tw_fn(&sk, m->idiag_expires, d->arg);
		return d->ret ? MNL_CB_STOP : MNL_CB_OK;
	}
	sk.netns = d->netns;
	sk.family = m->idiag_family;
	sk.protocol = IPPROTO_TCP;
	sk.state = PW_TCP_CLOSE;
	sk.lport = ntohs(m->id.idiag_sport);
	sk.sk_uid = m->idiag_uid;
	sk.inode = m->idiag_inode;
	sk.bound_dev_if = m->id.idiag_if; /* sk_bound_dev_if (inet_diag_msg_common_fill()) */
	sk.flags_unknown = 1;
	memcpy(sk.laddr, m->id.idiag_src, m->idiag_family == AF_INET6 ? 16 : 4);
	d->ret = d->fn(&sk, d->arg);
	return d->ret ? MNL_CB_STOP : MNL_CB_OK;
}

/* Send the dump request nlh and run on_msg over its answer; 0, or -errno. */
static int dump_run(int fd, struct nlmsghdr *nlh, char *buf, struct dump *d)
{
	unsigned int seq = nlh->nlmsg_seq;
	ssize_t n;
	int ret;

	if (send(fd, nlh, nlh->nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		n = recv(fd, buf, MNL_SOCKET_BUFFER_SIZE, 0);
		if (n < 0)
			return errno == EINTR ? 0 : -errno;
		ret = mnl_cb_run(buf, n, seq, 0, on_msg, d);
		if (ret == MNL_CB_ERROR)
			return errno ? -errno : -EPROTO;
		if (ret <= MNL_CB_STOP) /* NLMSG_DONE, or fn stopped */
			return 0;
	}
}

/*
 * The TCP states a dump asks for. inet_diag_dump_icsk() filters a
 * TIME_WAIT entry by its tw_substate: an orphaned connection closed in
 * FIN_WAIT2 becomes a TIME_WAIT entry whose substate stays FIN_WAIT2
 * (tcp_time_wait()). The callback keeps the sockets that match the
 * walk's TIME_WAIT records.
 */
static uint32_t dump_states(const struct dump *d)
{
	return d->tw_fn ? 1u << PW_TCP_TIME_WAIT | 1u << PW_TCP_FIN_WAIT2 :
			  1u << PW_TCP_BOUND_INACTIVE;
}

/* One dump request (inet_diag_req_v2) for family; 0, or -errno. */
static int dump_family(int fd, uint8_t family, unsigned int seq, struct dump *d)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct inet_diag_req_v2 *req;

	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = family;
	req->sdiag_protocol = IPPROTO_TCP;
	req->idiag_states = dump_states(d);
	return dump_run(fd, nlh, buf, d);
}

/*
 * Both families in one dump: the request of the older TCPDIAG_GETSOCK
 * interface (struct inet_diag_req), which the kernel runs as a v2 dump of
 * family AF_UNSPEC (inet_diag_dump_compat() in net/ipv4/inet_diag.c).
 * Every dump walks the bind hash and the whole established hash of the
 * host, whatever the states asked for (inet_diag_dump_icsk() skips the
 * established hash only for LISTEN alone): one walk per namespace
 * instead of one per family, ~20 ms less per namespace at 110k sockets.
 * 0, or -errno (e.g. a kernel built without the compatibility interface:
 * the caller asks per family then).
 */
static int dump_both(int fd, unsigned int seq, struct dump *d)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct inet_diag_req *req;

	nlh->nlmsg_type = TCPDIAG_GETSOCK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->idiag_states = dump_states(d);
	return dump_run(fd, nlh, buf, d);
}

/* Dump both families, in one request where the kernel takes it; 0, or -errno. */
static int dump_all(int fd, struct dump *d)
{
	int err = dump_both(fd, 1, d);

	if (!err || d->ret || (err != -EINVAL && err != -EOPNOTSUPP && err != -ENOENT))
		return err;
	err = dump_family(fd, AF_INET, 2, d);
	if (!err && !d->ret)
		err = dump_family(fd, AF_INET6, 3, d);
	return err;
}

int diag_bound_tcp(int fd, uint32_t netns, diag_sock_fn fn, void *arg)
{
	struct dump d = { .netns = netns, .fn = fn, .arg = arg };
	int err = dump_all(fd, &d);

	close(fd);
	if (d.ret)
		return d.ret < 0 ? d.ret : 1;
	return err;
}

int diag_time_wait(int fd, uint32_t netns, uint16_t port, diag_tw_fn fn, void *arg)
{
	struct dump d = { .netns = netns, .tw_fn = fn, .port = port, .arg = arg };
	int err = dump_all(fd, &d);

	close(fd);
	if (d.ret)
		return d.ret;
	return err;
}

/* One diag_sockopt() dump: the socket sought and what was found. */
struct sockopt_dump {
	uint16_t port;
	uint64_t inode;
	uint8_t flags;
	int found;
};

static int sockopt_attr(const struct nlattr *a, void *data)
{
	struct sockopt_dump *s = data;

	if (mnl_attr_get_type(a) == INET_DIAG_SOCKOPT &&
	    mnl_attr_get_payload_len(a) >= sizeof(struct inet_diag_sockopt)) {
		struct inet_diag_sockopt o;

		memcpy(&o, mnl_attr_get_payload(a), sizeof(o));
		s->flags = (o.transparent ? DIAG_SOCKOPT_TRANSPARENT : 0) |
			   (o.freebind ? DIAG_SOCKOPT_FREEBIND : 0);
		s->found = 1;
	}
	return MNL_CB_OK;
}

static int on_sockopt_msg(const struct nlmsghdr *nlh, void *data)
{
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);
	struct sockopt_dump *s = data;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*m))
		return MNL_CB_ERROR;
	if (ntohs(m->id.idiag_sport) != s->port || m->idiag_inode != s->inode)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*m), sockopt_attr, s);
	return s->found ? MNL_CB_STOP : MNL_CB_OK;
}

static int sockopt_family(int fd, uint8_t family, uint8_t protocol, unsigned int seq,
			  struct sockopt_dump *s)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct inet_diag_req_v2 *req;
	ssize_t n;
	int ret;

	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = family;
	req->sdiag_protocol = protocol;
	req->idiag_states = protocol == IPPROTO_TCP ? 1u << PW_TCP_LISTEN : ~0u;
	if (send(fd, nlh, nlh->nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			return errno == EINTR ? 0 : -errno;
		ret = mnl_cb_run(buf, n, seq, 0, on_sockopt_msg, s);
		if (ret == MNL_CB_ERROR)
			return errno ? -errno : -EPROTO;
		if (ret <= MNL_CB_STOP)
			return 0;
	}
}

int diag_sockopt(int fd, uint8_t protocol, uint16_t port, uint64_t inode, uint8_t *flags)
{
	struct sockopt_dump s = { .port = port, .inode = inode };
	int err = sockopt_family(fd, AF_INET, protocol, 1, &s);

	if (!err && !s.found)
		err = sockopt_family(fd, AF_INET6, protocol, 2, &s);
	close(fd);
	if (s.found)
		*flags = s.flags;
	return err ? err : s.found;
}
