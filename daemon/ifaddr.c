// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ifaddr.c - the kernel's bind(2) address check, asked of rtnetlink; see
 * ifaddr.h for the rules.
 *
 * IPv4: the verdict is the type of the address in the local table, as
 * __inet_dev_addr_type() finds it with fib_table_lookup(). A single
 * RTM_GETROUTE cannot ask for that: inet_rtm_getroute() (net/ipv4/route.c,
 * the same in 6.1 and 6.12) does an output route lookup through the
 * policy rules, ignores rtm_table without NETLINK_GET_STRICT_CHK and
 * refuses it (and RTA_TABLE) with it; RTM_F_LOOKUP_TABLE only reports the
 * table the rules reached and RTM_F_FIB_MATCH the route that matched. So:
 *  1. dump the local table (RTM_GETROUTE, NLM_F_DUMP, RTA_TABLE =
 *     RT_TABLE_LOCAL under NETLINK_GET_STRICT_CHK: ip_valid_fib_dump_req(),
 *     inet_dump_fib() in net/ipv4/fib_frontend.c). -ENOENT ("FIB table
 *     does not exist") means no local table: everything is RTN_BROADCAST.
 *  2. Are local and main merged? Policy rules other than the three
 *     defaults mean they are not (fib4_rule_configure() unmerges); with
 *     the defaults only, RTM_GETROUTE | RTM_F_LOOKUP_TABLE for the address
 *     of a local route tells: table local when split (the rule of priority
 *     0 found it there), main when merged (fib_lookup() in
 *     include/net/ip_fib.h reports the main table for the merged trie).
 *  3. Split: longest-prefix match over the local table's routes, skipping
 *     what fib_table_lookup() skips (a TOS other than 0, dead next hops).
 *     Merged: RTM_GETROUTE | RTM_F_FIB_MATCH | RTM_F_LOOKUP_TABLE for the
 *     address: with no custom rules the output lookup is fib_table_lookup()
 *     of that same merged trie, then of the default table on a miss (table
 *     RT_TABLE_DEFAULT in the answer: a miss for bind). This costs one
 *     request whatever the size of the main table.
 * IPv6: a dump of the addresses (RTM_GETADDR) and of the links.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "addr.h"
#include "ifaddr.h"

/* Large enough for one skb of a dump (netlink_dump() allocates up to 32 KiB). */
#define NL_BUF 32768

struct link {
	int ifindex;
	char name[IF_NAMESIZE];
	uint8_t l3mdev; /* a VRF device (IFLA_INFO_KIND "vrf", an l3mdev master) or
			 * enslaved to one (IFLA_INFO_SLAVE_KIND "vrf") */
};

/* IFLA_LINKINFO: is the kind, or the slave kind, "vrf"? */
static int vrf_info(const struct nlattr *info)
{
	const struct nlattr *a;

	mnl_attr_for_each_nested(a, info)
		if ((mnl_attr_get_type(a) == IFLA_INFO_KIND ||
		     mnl_attr_get_type(a) == IFLA_INFO_SLAVE_KIND) &&
		    !mnl_attr_validate(a, MNL_TYPE_NUL_STRING) && !strcmp(mnl_attr_get_str(a), "vrf"))
			return 1;
	return 0;
}

struct ifa {
	uint8_t family;
	uint8_t scope; /* ifa_scope: RT_SCOPE_HOST, RT_SCOPE_LINK, ... */
	uint8_t addr[16];
	uint32_t flags; /* IFA_FLAGS, or ifa_flags */
	int ifindex;
};

struct route {
	uint32_t dst; /* host order */
	uint32_t table;
	uint32_t flags; /* rtm_flags: RTNH_F_DEAD, ... */
	uint8_t len, type, tos;
};

/* A growing array of n elements of size bytes. */
struct vec {
	void *v;
	size_t n, cap, size;
};

static void *vec_push(struct vec *a)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;
		void *v = realloc(a->v, cap * a->size);

		if (!v)
			return NULL;
		a->v = v;
		a->cap = cap;
	}
	return memset((char *)a->v + a->n++ * a->size, 0, a->size);
}

static unsigned int nl_seq;

static int nl_open(void)
{
	int one = 1;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	if (fd < 0)
		return -errno;
	/* Dump filters (RTA_TABLE) apply, and malformed requests fail, only in strict mode. */
	if (setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof(one))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static int on_error(const struct nlmsghdr *nlh, void *data)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

	(void)data;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e)) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (!e->error)
		return MNL_CB_STOP; /* the ACK */
	errno = e->error < 0 ? -e->error : e->error;
	return MNL_CB_ERROR;
}

/* A dump that fails reports its error in NLMSG_DONE (netlink_dump()). */
static int on_done(const struct nlmsghdr *nlh, void *data)
{
	int e;

	(void)data;
	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(e)) {
		memcpy(&e, mnl_nlmsg_get_payload(nlh), sizeof(e));
		if (e < 0) {
			errno = -e;
			return MNL_CB_ERROR;
		}
	}
	return MNL_CB_STOP;
}

/* Send nlh (its seq set here) and run cb on the answers to the end. 0 or -errno. */
static int nl_run(int fd, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	static mnl_cb_t ctl[NLMSG_MIN_TYPE] = { /* mnl_cb_run2() takes no const */
		[NLMSG_ERROR] = on_error,
		[NLMSG_DONE] = on_done,
	};
	char *buf = malloc(NL_BUF);
	unsigned int seq = ++nl_seq;
	int err = 0;
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	nlh->nlmsg_seq = seq;
	if (send(fd, nlh, nlh->nlmsg_len, 0) < 0) {
		err = -errno;
		goto out_free;
	}
	for (;;) {
		int ret;

		n = recv(fd, buf, NL_BUF, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			break;
		}
		errno = 0;
		ret = mnl_cb_run2(buf, n, seq, 0, cb, data, ctl, MNL_ARRAY_SIZE(ctl));
		if (ret == MNL_CB_ERROR) {
			err = errno ? -errno : -EPROTO;
			break;
		}
		if (ret == MNL_CB_STOP)
			break;
	}
out_free:
	free(buf);
	return err;
}

/* --- links and addresses --- */

static int on_link(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	struct link *l;

	if (nlh->nlmsg_type != RTM_NEWLINK || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifi))
		return MNL_CB_OK;
	l = vec_push(data);
	if (!l) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	l->ifindex = ifi->ifi_index;
	mnl_attr_for_each(a, nlh, sizeof(*ifi)) {
		if (mnl_attr_get_type(a) == IFLA_IFNAME && !mnl_attr_validate(a, MNL_TYPE_NUL_STRING))
			snprintf(l->name, sizeof(l->name), "%s", mnl_attr_get_str(a));
		else if (mnl_attr_get_type(a) == IFLA_LINKINFO && !mnl_attr_validate(a, MNL_TYPE_NESTED))
			l->l3mdev = (uint8_t)vrf_info(a);
	}
	return MNL_CB_OK;
}

static int dump_links(int fd, struct vec *links)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
	links->size = sizeof(struct link);
	return nl_run(fd, nlh, on_link, links);
}

static int on_addr(const struct nlmsghdr *nlh, void *data)
{
	const struct ifaddrmsg *ifm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a, *local = NULL, *address = NULL;
	size_t alen;
	struct ifa *x;

	if (nlh->nlmsg_type != RTM_NEWADDR || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifm) ||
	    (ifm->ifa_family != AF_INET && ifm->ifa_family != AF_INET6))
		return MNL_CB_OK;
	alen = ifm->ifa_family == AF_INET6 ? 16 : 4;
	x = vec_push(data);
	if (!x) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	x->family = ifm->ifa_family;
	x->scope = ifm->ifa_scope;
	x->flags = ifm->ifa_flags;
	x->ifindex = (int)ifm->ifa_index;
	mnl_attr_for_each(a, nlh, sizeof(*ifm)) {
		switch (mnl_attr_get_type(a)) {
		case IFA_LOCAL:
			local = a;
			break;
		case IFA_ADDRESS:
			address = a;
			break;
		case IFA_FLAGS: /* all 32 bits of the flags; ifa_flags has 8 */
			if (!mnl_attr_validate(a, MNL_TYPE_U32))
				x->flags = mnl_attr_get_u32(a);
			break;
		default:
			break;
		}
	}
	/* With a peer, IFA_LOCAL is ours and IFA_ADDRESS the peer's (inet6_fill_ifaddr()). */
	a = local ? local : address;
	if (!a || mnl_attr_get_payload_len(a) != alen) {
		((struct vec *)data)->n--;
		return MNL_CB_OK;
	}
	memcpy(x->addr, mnl_attr_get_payload(a), alen);
	return MNL_CB_OK;
}

static int dump_addrs(int fd, uint8_t family, struct vec *addrs)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifm;

	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifa_family = family;
	addrs->size = sizeof(struct ifa);
	return nl_run(fd, nlh, on_addr, addrs);
}

static const char *link_name(const struct vec *links, int ifindex)
{
	const struct link *l = links->v;

	for (size_t i = 0; i < links->n; i++)
		if (l[i].ifindex == ifindex)
			return l[i].name;
	return NULL;
}

/* --- IPv4 routes and rules --- */

static int on_route(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	struct route r = { 0 };
	struct vec *routes = data;
	struct route *x;

	if (nlh->nlmsg_type != RTM_NEWROUTE || mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm) ||
	    rtm->rtm_family != AF_INET || rtm->rtm_dst_len > 32)
		return MNL_CB_OK;
	r.table = rtm->rtm_table;
	r.len = rtm->rtm_dst_len;
	r.type = rtm->rtm_type;
	r.tos = rtm->rtm_tos;
	r.flags = rtm->rtm_flags;
	mnl_attr_for_each(a, nlh, sizeof(*rtm)) {
		if (mnl_attr_get_type(a) == RTA_TABLE && !mnl_attr_validate(a, MNL_TYPE_U32))
			r.table = mnl_attr_get_u32(a);
		else if (mnl_attr_get_type(a) == RTA_DST && mnl_attr_get_payload_len(a) == 4)
			r.dst = ntohl(mnl_attr_get_u32(a));
	}
	x = vec_push(routes);
	if (!x) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	*x = r;
	return MNL_CB_OK;
}

/* The routes of the local table; -ENOENT when the namespace has none. */
static int dump_local_table(int fd, struct vec *routes)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct route *r;
	struct rtmsg *rtm;
	size_t i, n;
	int err;

	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	mnl_attr_put_u32(nlh, RTA_TABLE, RT_TABLE_LOCAL);
	routes->size = sizeof(struct route);
	err = nl_run(fd, nlh, on_route, routes);
	if (err)
		return err;
	/* the filter is the kernel's; keep only what it promised all the same */
	r = routes->v;
	for (i = n = 0; i < routes->n; i++)
		if (r[i].table == RT_TABLE_LOCAL)
			r[n++] = r[i];
	routes->n = n;
	return 0;
}

/*
 * The route fib_table_lookup() finds for a (host order) in these routes:
 * the longest prefix, the first of equal ones, skipping those it skips
 * with an all-zero flow (a TOS, dead next hops). NULL when none matches.
 */
static const struct route *route_match(const struct vec *routes, uint32_t a)
{
	const struct route *r = routes->v, *best = NULL;

	for (size_t i = 0; i < routes->n; i++) {
		uint32_t mask = r[i].len ? ~0u << (32 - r[i].len) : 0;

		if (r[i].tos || (r[i].flags & RTNH_F_DEAD) || (a & mask) != (r[i].dst & mask))
			continue;
		if (!best || r[i].len > best->len)
			best = &r[i];
	}
	return best;
}

struct get_answer {
	int found;
	struct route r;
};

static int on_get(const struct nlmsghdr *nlh, void *data)
{
	struct get_answer *g = data;
	struct vec one = { .v = &g->r, .cap = 1, .size = sizeof(g->r) };

	if (g->found)
		return MNL_CB_OK;
	if (on_route(nlh, &one) != MNL_CB_OK)
		return MNL_CB_ERROR;
	g->found = one.n == 1;
	return MNL_CB_OK;
}

/*
 * The route the output lookup finds for a (host order), with the table it
 * was found in (RTM_F_LOOKUP_TABLE) and the prefix that matched
 * (RTM_F_FIB_MATCH). 1 and *r, 0 when the lookup failed (no route,
 * unreachable, prohibit, blackhole), or -errno.
 */
static int route_get(int fd, uint32_t a, struct route *r)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct get_answer g = { 0 };
	struct rtmsg *rtm;
	int err;

	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = 32;
	rtm->rtm_flags = RTM_F_FIB_MATCH | RTM_F_LOOKUP_TABLE;
	mnl_attr_put_u32(nlh, RTA_DST, htonl(a));
	err = nl_run(fd, nlh, on_get, &g);
	/* fib_props[].error of the route types, -ENETUNREACH for no route */
	if (err == -ENETUNREACH || err == -EHOSTUNREACH || err == -EACCES || err == -EINVAL)
		return 0;
	if (err)
		return err;
	if (!g.found)
		return -EPROTO;
	*r = g.r;
	return 1;
}

struct rules {
	int n, defaults;
};

static int on_rule(const struct nlmsghdr *nlh, void *data)
{
	const struct fib_rule_hdr *frh = mnl_nlmsg_get_payload(nlh);
	struct rules *rs = data;
	uint32_t pref = 0, table;
	const struct nlattr *a;

	if (nlh->nlmsg_type != RTM_NEWRULE || mnl_nlmsg_get_payload_len(nlh) < sizeof(*frh))
		return MNL_CB_OK;
	table = frh->table;
	mnl_attr_for_each(a, nlh, sizeof(*frh)) {
		if (mnl_attr_validate(a, MNL_TYPE_U32))
			continue;
		if (mnl_attr_get_type(a) == FRA_PRIORITY)
			pref = mnl_attr_get_u32(a);
		else if (mnl_attr_get_type(a) == FRA_TABLE)
			table = mnl_attr_get_u32(a);
	}
	rs->n++;
	/* fib_default_rules_init() in net/ipv4/fib_rules.c */
	rs->defaults += frh->action == FR_ACT_TO_TBL && !frh->src_len && !frh->dst_len &&
			((pref == 0 && table == RT_TABLE_LOCAL) ||
			 (pref == 0x7FFE && table == RT_TABLE_MAIN) ||
			 (pref == 0x7FFF && table == RT_TABLE_DEFAULT));
	return MNL_CB_OK;
}

/* 1 when the IPv4 policy rules are other than the three defaults, 0, or -errno. */
static int custom_rules(int fd)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct fib_rule_hdr *frh;
	struct rules rs = { 0 };
	int err;

	nlh->nlmsg_type = RTM_GETRULE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	frh->family = AF_INET;
	err = nl_run(fd, nlh, on_rule, &rs);
	if (err)
		return err;
	return rs.n != 3 || rs.defaults != 3;
}

/* Is the local table merged into the main table's trie? 1, 0, or -errno. */
static int tables_merged(int fd, const struct vec *local)
{
	const struct route *r = local->v;
	struct route got;
	int ret = custom_rules(fd);

	if (ret)
		return ret < 0 ? ret : 0;
	for (size_t i = 0; i < local->n; i++) {
		if (r[i].type != RTN_LOCAL || r[i].tos || (r[i].flags & RTNH_F_DEAD))
			continue;
		ret = route_get(fd, r[i].dst, &got);
		if (ret < 0)
			return ret;
		return !(ret && got.table == RT_TABLE_LOCAL);
	}
	return 1; /* no local route to ask with; default rules: most likely never split */
}

static const char *rtn_name(uint8_t type)
{
	static const char *const names[] = {
		[RTN_UNSPEC] = "none",	      [RTN_UNICAST] = "unicast",
		[RTN_LOCAL] = "local",	      [RTN_BROADCAST] = "broadcast",
		[RTN_ANYCAST] = "anycast",    [RTN_MULTICAST] = "multicast",
		[RTN_BLACKHOLE] = "blackhole", [RTN_UNREACHABLE] = "unreachable",
		[RTN_PROHIBIT] = "prohibit",  [RTN_THROW] = "throw",
		[RTN_NAT] = "nat",	      [RTN_XRESOLVE] = "xresolve",
	};

	return type < MNL_ARRAY_SIZE(names) && names[type] ? names[type] : "other";
}

static const char *table_name(uint32_t table)
{
	return table == RT_TABLE_LOCAL ? "local" : table == RT_TABLE_MAIN ? "main" :
	       table == RT_TABLE_DEFAULT ? "default" : "other";
}

static int check4(const uint8_t addr[4], enum ifaddr_verdict *verdict, char *why, size_t whylen)
{
	char text[PW_ADDRSTRLEN], dst[PW_ADDRSTRLEN];
	struct vec local = { 0 };
	const struct route *r;
	struct route got;
	uint32_t a;
	int fd, err, merged;

	memcpy(&a, addr, 4);
	a = ntohl(a);
	inet_ntop(AF_INET, addr, text, sizeof(text));
	/* __inet_dev_addr_type() before any table */
	if (a == 0 || a == 0xFFFFFFFF || (a >> 28) == 0xE) {
		*verdict = IFADDR_OK;
		snprintf(why, whylen, "%s is %s", text,
			 a == 0 ? "the wildcard" :
			 a == 0xFFFFFFFF ? "the limited broadcast address" : "a multicast address");
		return 0;
	}
	fd = nl_open();
	if (fd < 0)
		return fd;
	err = dump_local_table(fd, &local);
	if (err == -ENOENT) {
		*verdict = IFADDR_OK;
		snprintf(why, whylen, "this namespace has no local routing table yet (no route was "
			 "ever added): the kernel takes %s for a broadcast address", text);
		err = 0;
		goto out;
	}
	if (err)
		goto out;
	merged = tables_merged(fd, &local);
	if (merged < 0) {
		err = merged;
		goto out;
	}
	if (merged) {
		int ret = route_get(fd, a, &got);

		if (ret < 0) {
			err = ret;
			goto out;
		}
		/* a hit in the default table is a miss of the merged trie */
		r = ret && got.table != RT_TABLE_DEFAULT ? &got : NULL;
	} else {
		r = route_match(&local, a);
	}
	*verdict = r && (r->type == RTN_LOCAL || r->type == RTN_BROADCAST) ? IFADDR_OK :
									    IFADDR_NOT_LOCAL;
	if (r) {
		uint32_t d = htonl(r->dst);

		inet_ntop(AF_INET, &d, dst, sizeof(dst));
	}
	if (*verdict == IFADDR_OK)
		snprintf(why, whylen, "%s is a %s address of this namespace (route %s/%u)", text,
			 rtn_name(r->type), dst, r->len);
	else if (r)
		snprintf(why, whylen, "no interface of this namespace has %s: its route %s/%u in "
			 "table %s is %s, not local", text, dst, r->len,
			 table_name(merged ? got.table : RT_TABLE_LOCAL), rtn_name(r->type));
	else
		snprintf(why, whylen, "no interface of this namespace has %s (no local route "
			 "covers it)", text);
out:
	free(local.v);
	close(fd);
	return err;
}

/* --- IPv6 --- */

static int check6(const uint8_t addr[16], int ifindex, enum ifaddr_verdict *verdict, char *why,
		  size_t whylen)
{
	struct vec links = { 0 }, addrs = { 0 };
	char text[PW_ADDRSTRLEN];
	const struct ifa *x;
	const char *dev = NULL;
	int fd, err, linklocal, mcast = addr[0] == 0xff;
	size_t i;

	inet_ntop(AF_INET6, addr, text, sizeof(text));
	/* __ipv6_addr_needs_scope_id(): fe80::/10, multicast of scope 1 or 2 */
	linklocal = (addr[0] == 0xfe && (addr[1] & 0xc0) == 0x80) ||
		    (mcast && ((addr[1] & 0x0f) == 1 || (addr[1] & 0x0f) == 2));
	if (linklocal && !ifindex) {
		*verdict = IFADDR_NEEDS_DEVICE;
		snprintf(why, whylen, "%s is link-local: bind(2) needs a device (sin6_scope_id "
			 "or SO_BINDTODEVICE)", text);
		return 0;
	}
	fd = nl_open();
	if (fd < 0)
		return fd;
	err = dump_links(fd, &links);
	if (!err && !mcast)
		err = dump_addrs(fd, AF_INET6, &addrs);
	if (err)
		goto out;
	if (ifindex && !(dev = link_name(&links, ifindex))) {
		*verdict = IFADDR_NO_DEVICE;
		snprintf(why, whylen, "this namespace has no device of index %d", ifindex);
		goto out;
	}
	if (mcast) {
		*verdict = IFADDR_OK;
		snprintf(why, whylen, "%s is a multicast address", text);
		goto out;
	}
	*verdict = IFADDR_NOT_LOCAL;
	x = addrs.v;
	for (i = 0; i < addrs.n; i++) {
		/* __ipv6_chk_addr_and_flags(): optimistic is not tentative here */
		uint32_t f = x[i].flags & IFA_F_OPTIMISTIC ? x[i].flags & ~IFA_F_TENTATIVE :
							     x[i].flags;

		if (x[i].family != AF_INET6 || memcmp(x[i].addr, addr, 16))
			continue;
		if (f & IFA_F_TENTATIVE) {
			snprintf(why, whylen, "%s on %s is tentative: duplicate address detection "
				 "has not finished", text, link_name(&links, x[i].ifindex) ?: "?");
			continue;
		}
		/* strict = 0: another device's address counts unless host or link scope */
		if (ifindex && x[i].ifindex != ifindex &&
		    (x[i].scope == RT_SCOPE_HOST || x[i].scope == RT_SCOPE_LINK)) {
			snprintf(why, whylen, "%s is on %s, not on %s, and its scope is %s", text,
				 link_name(&links, x[i].ifindex) ?: "?", dev,
				 x[i].scope == RT_SCOPE_HOST ? "host" : "link");
			continue;
		}
		*verdict = IFADDR_OK;
		snprintf(why, whylen, "%s is an address of %s", text,
			 link_name(&links, x[i].ifindex) ?: "?");
		break;
	}
	if (*verdict == IFADDR_NOT_LOCAL && !*why) /* no reason more precise above */
		snprintf(why, whylen, "no interface of this namespace has %s", text);
out:
	free(links.v);
	free(addrs.v);
	close(fd);
	return err;
}

int ifaddr_verdict_errno(enum ifaddr_verdict v)
{
	switch (v) {
	case IFADDR_OK:
		return 0;
	case IFADDR_NOT_LOCAL:
		return EADDRNOTAVAIL;
	case IFADDR_NEEDS_DEVICE:
		return EINVAL;
	case IFADDR_NO_DEVICE:
		return ENODEV;
	}
	return EINVAL;
}

int ifaddr_check(int family, const uint8_t addr[16], int ifindex, enum ifaddr_verdict *verdict,
		 char *why, size_t whylen)
{
	char scratch[1];

	if (!why || !whylen) {
		why = scratch;
		whylen = sizeof(scratch);
	}
	*why = '\0';
	if (family == AF_INET)
		return check4(addr, verdict, why, whylen);
	if (family != AF_INET6)
		return -EINVAL;
	if (pw_addr_is_any(AF_INET6, addr)) {
		*verdict = IFADDR_OK;
		snprintf(why, whylen, ":: is the wildcard");
		return 0;
	}
	/* __inet6_bind(): "Reproduce AF_INET checks", no device (inet_addr_type_dev_table()) */
	if (pw_addr_is_v4mapped(addr))
		return check4(addr + 12, verdict, why, whylen);
	return check6(addr, ifindex, verdict, why, whylen);
}

int ifaddr_list(char *buf, size_t len)
{
	struct vec links = { 0 }, addrs = { 0 };
	char text[PW_ADDRSTRLEN];
	const struct ifa *x;
	size_t off = 0;
	int fd, err;

	if (!len)
		return 0;
	*buf = '\0';
	fd = nl_open();
	if (fd < 0)
		return fd;
	err = dump_links(fd, &links);
	if (!err)
		err = dump_addrs(fd, AF_INET, &addrs);
	if (!err)
		err = dump_addrs(fd, AF_INET6, &addrs);
	if (err)
		goto out;
	x = addrs.v;
	for (size_t i = 0; i < addrs.n && off < len; i++) {
		int n = snprintf(buf + off, len - off, "%s%s (%s)", off ? ", " : "",
				 pw_addr_ntop(x[i].family, x[i].addr, text),
				 link_name(&links, x[i].ifindex) ?: "?");

		off += n > 0 ? (size_t)n : 0;
	}
	if (!addrs.n)
		snprintf(buf, len, "none");
out:
	free(links.v);
	free(addrs.v);
	close(fd);
	return err;
}

int ifaddr_watch_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK,
				  .nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR };

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int ifaddr_watch_read(int fd, ifaddr_new_fn fn, void *arg)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct vec addrs = { .size = sizeof(struct ifa) };
	int err = 0, lost = 0;

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) { /* overrun: what is queued after it still counts */
				lost = 1;
				continue;
			}
			if (errno != EAGAIN)
				err = -errno;
			break;
		}
		/* notifications: sequence 0, port id 0 (the kernel), so mnl checks neither */
		if (mnl_cb_run(buf, (size_t)n, 0, 0, on_addr, &addrs) == MNL_CB_ERROR &&
		    errno == ENOMEM) {
			err = -ENOMEM;
			break;
		}
	}
	for (size_t i = 0; i < addrs.n; i++) {
		const struct ifa *x = (const struct ifa *)addrs.v + i;

		fn(x->family, x->addr, x->ifindex, arg);
	}
	free(addrs.v);
	return err ? err : lost ? -ENOBUFS : 0;
}

int ifaddr_l3mdev(const uint32_t *ifindex, size_t n, char *name, size_t namelen)
{
	struct vec links = { 0 };
	const struct link *l;
	int fd, err, found = 0;

	fd = nl_open();
	if (fd < 0)
		return fd;
	err = dump_links(fd, &links);
	close(fd);
	l = links.v;
	for (size_t i = 0; !err && !found && i < links.n; i++)
		for (size_t k = 0; l[i].l3mdev && k < n && !found; k++)
			if (ifindex[k] && (int)ifindex[k] == l[i].ifindex) {
				found = 1;
				if (name && namelen)
					snprintf(name, namelen, "%s", l[i].name);
			}
	free(links.v);
	return err ? err : found;
}
