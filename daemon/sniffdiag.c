// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* sniffdiag.c - raw and packet sockets through NETLINK_SOCK_DIAG; see sniffdiag.h. */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/packet_diag.h>
#include <linux/sock_diag.h>

#include "sniffdiag.h"

struct dump {
	int packet;
	uint16_t family; /* raw: the family asked */
	sniffdiag_fn fn;
	void *arg;
	int ret;         /* fn's non-zero value */
};

/* Attributes of one packet_diag_msg: the interface and the filter. */
static int packet_attr(const struct nlattr *a, void *data)
{
	struct sniffdiag_sock *s = data;

	switch (mnl_attr_get_type(a)) {
	case PACKET_DIAG_INFO:
		if (mnl_attr_get_payload_len(a) >= sizeof(struct packet_diag_info))
			s->ifindex = ((const struct packet_diag_info *)mnl_attr_get_payload(a))
					     ->pdi_index;
		break;
	case PACKET_DIAG_FILTER:
		s->cbpf = mnl_attr_get_payload(a);
		s->cbpf_len = mnl_attr_get_payload_len(a) / sizeof(struct sock_filter);
		if (!s->cbpf_len)
			s->cbpf = NULL;
		break;
	}
	return MNL_CB_OK;
}

static int raw_attr(const struct nlattr *a, void *data)
{
	struct sniffdiag_sock *s = data;

	if (mnl_attr_get_type(a) == INET_DIAG_PROTOCOL &&
	    mnl_attr_get_payload_len(a) >= sizeof(uint8_t))
		s->protocol = mnl_attr_get_u8(a);
	return MNL_CB_OK;
}

static int on_msg(const struct nlmsghdr *nlh, void *data)
{
	struct dump *d = data;
	struct sniffdiag_sock s;

	memset(&s, 0, sizeof(s));
	if (d->packet) {
		const struct packet_diag_msg *m = mnl_nlmsg_get_payload(nlh);

		if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*m))
			return MNL_CB_ERROR;
		s.inode = m->pdiag_ino;
		s.family = AF_PACKET;
		s.type = m->pdiag_type;
		s.protocol = m->pdiag_num; /* host order: ntohs(po->num), pdiag_put_info() */
		mnl_attr_parse(nlh, sizeof(*m), packet_attr, &s);
	} else {
		const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);

		if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*m))
			return MNL_CB_ERROR;
		s.inode = m->idiag_inode;
		s.family = m->idiag_family;
		s.type = SOCK_RAW;
		s.ifindex = m->id.idiag_if;
		mnl_attr_parse(nlh, sizeof(*m), raw_attr, &s);
	}
	if (!s.inode)
		return MNL_CB_OK;
	d->ret = d->fn(&s, d->arg);
	return d->ret ? MNL_CB_STOP : MNL_CB_OK;
}

/* Send one dump request and run the answers through on_msg. 0 or -errno. */
static int run(int fd, struct nlmsghdr *nlh, unsigned int seq, struct dump *d)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	ssize_t n;
	int ret;

	if (send(fd, nlh, nlh->nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			return -errno;
		ret = mnl_cb_run(buf, n, seq, 0, on_msg, d);
		if (ret == MNL_CB_ERROR)
			return errno ? -errno : -EPROTO;
		if (ret <= MNL_CB_STOP) /* NLMSG_DONE, or fn stopped */
			return 0;
	}
}

int sniffdiag_dump(int fd, int packet, sniffdiag_fn fn, void *arg)
{
	char buf[256];
	struct dump d = { .packet = packet, .fn = fn, .arg = arg };
	struct nlmsghdr *nlh;
	int err = 0;

	if (packet) {
		struct packet_diag_req *req;

		nlh = mnl_nlmsg_put_header(buf);
		nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
		nlh->nlmsg_seq = 1;
		req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
		req->sdiag_family = AF_PACKET;
		req->pdiag_show = PACKET_SHOW_INFO | PACKET_SHOW_FILTER;
		err = run(fd, nlh, 1, &d);
	} else {
		static const uint8_t families[] = { AF_INET, AF_INET6 };

		for (size_t i = 0; i < sizeof(families) && !err && !d.ret; i++) {
			struct inet_diag_req_v2 *req;

			nlh = mnl_nlmsg_put_header(buf);
			nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
			nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
			nlh->nlmsg_seq = 2 + i;
			req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
			req->sdiag_family = families[i];
			req->sdiag_protocol = IPPROTO_RAW; /* raw_diag's handler: every raw socket */
			req->idiag_states = ~0u;
			d.family = families[i];
			err = run(fd, nlh, 2 + i, &d);
		}
	}
	if (d.ret)
		return d.ret < 0 ? d.ret : 0;
	return err;
}
