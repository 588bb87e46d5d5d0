// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* rules.c - Linux's address-reuse rules; see rules.h for the kernel sources. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "addr.h"
#include "rules.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ipv6_addr_type() classes that matter for the conflict checks. */
enum addr_class {
	ADDR_ANY,    /* :: */
	ADDR_MAPPED, /* an IPv4 socket, or ::ffff:a.b.c.d; v4 part may be 0.0.0.0 */
	ADDR_V6,     /* a specific, non-mapped IPv6 address */
};

static enum addr_class addr_class(const struct pw_sock *s)
{
	if (s->family != AF_INET6)
		return ADDR_MAPPED;
	if (pw_addr_is_any(AF_INET6, s->laddr))
		return ADDR_ANY;
	return pw_addr_is_v4mapped(s->laddr) ? ADDR_MAPPED : ADDR_V6;
}

/* The IPv4 address an ADDR_MAPPED socket stands for (network order bytes). */
static const uint8_t *v4_part(const struct pw_sock *s)
{
	return s->family == AF_INET6 ? s->laddr + 12 : s->laddr;
}

/*
 * The two views the kernel keeps of a socket's local address: the IPv4
 * one (sk_rcv_saddr) and, for an AF_INET6 socket, the IPv6 one
 * (sk_v6_rcv_saddr; inet6_rcv_saddr() is NULL for AF_INET). An IPv6
 * socket bound to a non-mapped address has sk_rcv_saddr LOOPBACK4_IPV6
 * (127.0.0.6, __inet6_bind()), one bound to :: has 0.0.0.0.
 */
static uint32_t rcv_saddr4(const struct pw_sock *s)
{
	uint32_t v;

	if (s->family != AF_INET6) {
		memcpy(&v, s->laddr, 4);
		return v;
	}
	if (pw_addr_is_v4mapped(s->laddr)) {
		memcpy(&v, s->laddr + 12, 4);
		return v;
	}
	return pw_addr_is_any(AF_INET6, s->laddr) ? 0 : htonl(0x7f000006);
}

/* ipv4_rcv_saddr_equal() of net/ipv4/inet_connection_sock.c. */
static int ipv4_saddr_equal(uint32_t a, uint32_t b, int b_v6only, int match_a_wild,
			    int match_b_wild)
{
	if (b_v6only)
		return 0;
	return a == b || (match_a_wild && !a) || (match_b_wild && !b);
}

/*
 * ipv6_rcv_saddr_equal() of net/ipv4/inet_connection_sock.c, with a the
 * AF_INET6 side (sk1) and b either family (an AF_INET b counts as mapped).
 */
static int ipv6_saddr_equal(const struct pw_sock *a, const struct pw_sock *b, int match_a_wild,
			    int match_b_wild)
{
	enum addr_class ta = addr_class(a), tb = addr_class(b);

	if (ta == ADDR_MAPPED && tb == ADDR_MAPPED) {
		if (b->v6only)
			return 0;
		return rcv_saddr4(a) == rcv_saddr4(b) || (match_a_wild && !rcv_saddr4(a)) ||
		       (match_b_wild && !rcv_saddr4(b));
	}
	if (ta == ADDR_ANY && tb == ADDR_ANY)
		return 1;
	if (tb == ADDR_ANY && match_b_wild && !(b->v6only && ta == ADDR_MAPPED))
		return 1;
	if (ta == ADDR_ANY && match_a_wild && !(a->v6only && tb == ADDR_MAPPED))
		return 1;
	return b->family == AF_INET6 && pw_addr_equal(AF_INET6, a->laddr, b->laddr);
}

/* inet_rcv_saddr_equal(a, b, match_wildcard) with separate wildcard flags. */
static int saddr_equal(const struct pw_sock *a, const struct pw_sock *b, int match_a_wild,
		       int match_b_wild)
{
	if (a->family == AF_INET6)
		return ipv6_saddr_equal(a, b, match_a_wild, match_b_wild);
	return ipv4_saddr_equal(rcv_saddr4(a), rcv_saddr4(b), b->v6only, match_a_wild,
				match_b_wild);
}

/* inet_rcv_saddr_equal(a, b, true), as the bind conflict checks call it. */
int rules_overlap(const struct pw_sock *a, const struct pw_sock *b)
{
	/* sockets bound to two different devices never meet */
	if (a->bound_dev_if && b->bound_dev_if && a->bound_dev_if != b->bound_dev_if)
		return 0;
	return saddr_equal(a, b, 1, 1);
}

int rules_width(const struct pw_sock *s)
{
	switch (addr_class(s)) {
	case ADDR_ANY:
		return s->v6only ? 1 : 2;
	case ADDR_MAPPED:
		return pw_addr_is_any(AF_INET, v4_part(s)) ? 1 : 0;
	case ADDR_V6:
		return 0;
	}
	return 0;
}

uint32_t rules_reuseport_holder_uid(enum rules_reuseport_uid r, const struct pw_sock *h)
{
	/* sock_i_uid(): GLOBAL_ROOT_UID without sk_socket (pw_sock_inode() 0) */
	if (r == RULES_REUSEPORT_UID_INODE && h->protocol == IPPROTO_TCP && !h->inode &&
	    h->state != PW_TCP_TIME_WAIT)
		return 0;
	return h->sk_uid;
}

/* Both SO_REUSEPORT and one uid (huid: the holder's, as the kernel counts it). */
static int both_reuseport_ok(const struct pw_sock *c, const struct pw_sock *h, uint32_t huid)
{
	return c->reuseport && h->reuseport &&
	       (h->state == PW_TCP_TIME_WAIT || c->sk_uid == huid);
}

/* rules_blocks() without the overlap, with the holder's uid as the kernel counts it. */
static int blocks_flags(const struct pw_sock *c, const struct pw_sock *h, uint32_t huid)
{
	if (c->protocol == IPPROTO_UDP) {
		if (c->reuseaddr && h->reuseaddr)
			return 0;
		return !(c->reuseport && h->reuseport && c->sk_uid == huid);
	}
	if (c->reuseaddr && h->reuseaddr && h->state != PW_TCP_LISTEN)
		return 0;
	return !both_reuseport_ok(c, h, huid);
}

/* rules_blocks() with the holder's uid as the kernel counts it. */
static int blocks_as(const struct pw_sock *c, const struct pw_sock *h, uint32_t huid)
{
	return rules_overlap(c, h) && blocks_flags(c, h, huid);
}

int rules_blocks(const struct pw_sock *c, const struct pw_sock *h)
{
	if (!rules_overlap(c, h))
		return 0;
	if (c->protocol == IPPROTO_UDP) {
		/* udp_lib_lport_inuse(): shared when both SO_REUSEADDR, or both
		 * SO_REUSEPORT with one socket-creator uid */
		if (c->reuseaddr && h->reuseaddr)
			return 0;
		return !(c->reuseport && h->reuseport && c->sk_uid == h->sk_uid);
	}
	/* inet_bind_conflict(), relax = true: SO_REUSEADDR on both sides
	 * shares the port while the holder is not listening; otherwise
	 * SO_REUSEPORT on both with one creator uid (or a TIME_WAIT holder). */
	if (c->reuseaddr && h->reuseaddr && h->state != PW_TCP_LISTEN)
		return 0;
	return !both_reuseport_ok(c, h, h->sk_uid);
}

/* rules_block_rule() with the holder's uid as the kernel counts it. */
static enum rules_rule block_rule_as(const struct pw_sock *c, const struct pw_sock *h,
				     uint32_t huid)
{
	if (h->protocol == IPPROTO_TCP && h->state == PW_TCP_TIME_WAIT)
		return RULES_RULE_TIME_WAIT;
	if (c->reuseport && h->reuseport && c->sk_uid != huid)
		return RULES_RULE_REUSEPORT_UID;
	if (h->protocol == IPPROTO_TCP && h->state == PW_TCP_LISTEN)
		return rules_width(h) > rules_width(c) ? RULES_RULE_WILDCARD_LISTENER :
							 RULES_RULE_LISTENER;
	return RULES_RULE_NO_REUSEADDR;
}

enum rules_rule rules_block_rule(const struct pw_sock *c, const struct pw_sock *h)
{
	return block_rule_as(c, h, h->sk_uid);
}

/*
 * The uid a blocker is explained with: where the kernel may count it as
 * sock_i_uid() (INODE, or UNKNOWN: a holder that refuses only on such a
 * kernel), that one.
 */
static uint32_t explain_uid(const struct rules_query *q, const struct pw_sock *h)
{
	return rules_reuseport_holder_uid(q->reuseport_uid == RULES_REUSEPORT_UID_SK ?
						  RULES_REUSEPORT_UID_SK :
						  RULES_REUSEPORT_UID_INODE,
					  h);
}

enum rules_rule rules_block_rule_q(const struct rules_query *q, const struct pw_sock *h)
{
	struct pw_sock c = q->c;

	if (q->own_group) /* it shares through SO_REUSEPORT with nobody */
		c.reuseport = 0;
	return block_rule_as(&c, h, explain_uid(q, h));
}

/* Every value of enum rules_rule, in its order: each table below lists them all. */
static const char *const rule_names[] = {
	[RULES_RULE_NONE] = NULL,
	[RULES_RULE_FAST_PATH] = "fast_path",
	[RULES_RULE_LISTENER] = "listener",
	[RULES_RULE_WILDCARD_LISTENER] = "wildcard_listener",
	[RULES_RULE_NO_REUSEADDR] = "no_reuseaddr",
	[RULES_RULE_REUSEPORT_UID] = "reuseport_uid",
	[RULES_RULE_TIME_WAIT] = "time_wait",
	[RULES_RULE_FOUR_TUPLE] = "four_tuple",
	[RULES_RULE_EPHEMERAL_EXHAUSTED] = "ephemeral_exhausted",
	[RULES_RULE_NO_LOCAL_ADDRESS] = "no_local_address",
	[RULES_RULE_UNKNOWN_HOLDER] = "unknown_holder",
	[RULES_RULE_PRIVILEGED_PORT] = "privileged_port",
	[RULES_RULE_MULTICAST_STREAM] = "multicast_stream",
	[RULES_RULE_NEEDS_DEVICE] = "needs_device",
	[RULES_RULE_CGROUP_PROGRAM] = "cgroup_program",
	[RULES_RULE_PROTECTED] = "protected",
	[RULES_RULE_REUSEPORT_OWN_GROUP] = "reuseport_own_group",
	[RULES_RULE_VRF_DEVICE] = "vrf_device",
};
_Static_assert(ARRAY_SIZE(rule_names) == RULES_RULE_COUNT, "one name per enum rules_rule");

const char *rules_rule_name(enum rules_rule rule)
{
	return (unsigned int)rule < RULES_RULE_COUNT ? rule_names[rule] : NULL;
}

int rules_rule_rank(enum rules_rule rule)
{
	/* the rules of rules_block_rule(), most telling last */
	static const int rank[] = {
		[RULES_RULE_NONE] = 0,
		[RULES_RULE_FAST_PATH] = 0,
		[RULES_RULE_LISTENER] = 4,
		[RULES_RULE_WILDCARD_LISTENER] = 5,
		[RULES_RULE_NO_REUSEADDR] = 2,
		[RULES_RULE_REUSEPORT_UID] = 3,
		[RULES_RULE_TIME_WAIT] = 1,
		[RULES_RULE_FOUR_TUPLE] = 0,
		[RULES_RULE_EPHEMERAL_EXHAUSTED] = 0,
		[RULES_RULE_NO_LOCAL_ADDRESS] = 0,
		[RULES_RULE_UNKNOWN_HOLDER] = 0,
		[RULES_RULE_PRIVILEGED_PORT] = 0,
		[RULES_RULE_MULTICAST_STREAM] = 0,
		[RULES_RULE_NEEDS_DEVICE] = 0,
		[RULES_RULE_CGROUP_PROGRAM] = 0,
		[RULES_RULE_PROTECTED] = 0,
		[RULES_RULE_REUSEPORT_OWN_GROUP] = 0,
		[RULES_RULE_VRF_DEVICE] = 0,
	};
	_Static_assert(ARRAY_SIZE(rank) == RULES_RULE_COUNT, "one rank per enum rules_rule");

	return (unsigned int)rule < RULES_RULE_COUNT ? rank[rule] : 0;
}

int rules_classify_bind(const struct pw_sock *c, uint32_t uid_c, const struct pw_sock *h,
			uint32_t uid_h, struct rules_alert *out)
{
	enum rules_severity hijack = uid_c != uid_h ? RULES_SEV_CRITICAL : RULES_SEV_WARNING;

	if (!rules_overlap(c, h))
		return 0;
	out->kind = RULES_KIND_HIJACK_ATTEMPT;
	out->severity = hijack;
	if (rules_width(c) < rules_width(h))
		out->reason = RULES_REASON_SHADOW_WILDCARD;
	else if (c->reuseport && h->reuseport)
		out->reason = RULES_REASON_REUSEPORT_JOIN;
	else if (c->protocol == IPPROTO_UDP)
		out->reason = RULES_REASON_UDP_SHARE;
	else {
		out->kind = RULES_KIND_REUSE_COLLISION;
		out->reason = RULES_REASON_SHARED_BIND;
		out->severity = RULES_SEV_WARNING;
	}
	return 1;
}

const char *rules_alert_kind_name(enum rules_alert_kind kind)
{
	static const char *const names[] = {
		[RULES_KIND_NONE] = NULL,
		[RULES_KIND_HIJACK_ATTEMPT] = "hijack_attempt",
		[RULES_KIND_REUSE_COLLISION] = "reuse_collision",
		[RULES_KIND_RESOURCE] = "resource",
		[RULES_KIND_DIVERSION] = "diversion",
		[RULES_KIND_EXPOSURE] = "exposure",
	};
	_Static_assert(ARRAY_SIZE(names) == RULES_KIND_COUNT, "one name per enum rules_alert_kind");

	return (unsigned int)kind < RULES_KIND_COUNT ? names[kind] : NULL;
}

const char *rules_alert_reason_name(enum rules_alert_reason reason)
{
	static const char *const names[] = {
		[RULES_REASON_NONE] = NULL,
		[RULES_REASON_SHADOW_WILDCARD] = "shadow_wildcard",
		[RULES_REASON_REUSEPORT_JOIN] = "reuseport_join",
		[RULES_REASON_UDP_SHARE] = "udp_share",
		[RULES_REASON_SHARED_BIND] = "shared_bind",
		[RULES_REASON_TAKEOVER] = "takeover",
		[RULES_REASON_BLOCKED] = "blocked",
		[RULES_REASON_REUSEPORT_STEER] = "reuseport_steer",
		[RULES_REASON_EPHEMERAL_EXHAUSTED] = "ephemeral_exhausted",
		[RULES_REASON_PROTECTED_PORT] = "protected_port",
		[RULES_REASON_SK_LOOKUP] = "sk_lookup",
		[RULES_REASON_SQUATTED] = "squatted",
		[RULES_REASON_NAT_REDIRECT] = "nat_redirect",
		[RULES_REASON_PORT_SHADOW] = "port_shadow",
		[RULES_REASON_PACKET_SNIFFER] = "packet_sniffer",
		[RULES_REASON_FREEBIND] = "freebind",
	};
	_Static_assert(ARRAY_SIZE(names) == RULES_REASON_COUNT,
		       "one name per enum rules_alert_reason");

	return (unsigned int)reason < RULES_REASON_COUNT ? names[reason] : NULL;
}

const char *rules_severity_name(enum rules_severity sev)
{
	switch (sev) {
	case RULES_SEV_CRITICAL:
		return "critical";
	case RULES_SEV_WARNING:
		return "warning";
	case RULES_SEV_NOTICE:
		return "notice";
	case RULES_SEV_NONE:
	case RULES_SEV_COUNT:
		break;
	}
	return NULL;
}

const char *rules_op_name(enum rules_op op)
{
	switch (op) {
	case RULES_OP_BIND:
		return "bind";
	case RULES_OP_LISTEN:
		return "listen";
	case RULES_OP_CONNECT:
		return "connect";
	}
	return "?";
}

/* What the holder is doing, as a verb phrase: "listens on", "is bound to", ... */
static const char *holder_verb(const struct pw_sock *h)
{
	if (h->protocol == IPPROTO_UDP)
		return "is bound to";
	switch (h->state) {
	case PW_TCP_LISTEN:
		return "listens on";
	case PW_TCP_TIME_WAIT:
		return "left a TIME_WAIT entry on";
	case PW_TCP_CLOSE:
		return "is bound to";
	default:
		return "is connected from";
	}
}

void rules_explain(char *buf, size_t len, enum rules_rule rule, const struct pw_entry *holder)
{
	/* NULL: no refusal of its own, the generic text */
	static const char *const texts[] = {
		[RULES_RULE_NONE] = NULL,
		[RULES_RULE_FAST_PATH] = NULL,
		[RULES_RULE_LISTENER] = "a listening socket blocks every other bind of its address",
		[RULES_RULE_WILDCARD_LISTENER] =
			"a wildcard listener holds every address of its port",
		[RULES_RULE_NO_REUSEADDR] =
			"sharing a bound address needs SO_REUSEADDR on both sockets",
		[RULES_RULE_REUSEPORT_UID] =
			"an SO_REUSEPORT group admits only sockets created by the same uid",
		[RULES_RULE_TIME_WAIT] =
			"TIME_WAIT entries hold the port until they expire unless both sockets "
			"set SO_REUSEADDR",
		[RULES_RULE_FOUR_TUPLE] = "that local address is already connected to the same "
					  "remote address and port",
		[RULES_RULE_EPHEMERAL_EXHAUSTED] = "no free port is left in ip_local_port_range",
		[RULES_RULE_NO_LOCAL_ADDRESS] = "no interface of that network namespace has the "
						"address (see ip_nonlocal_bind in ip(7))",
		[RULES_RULE_UNKNOWN_HOLDER] = "no socket portwatch can see explains the refusal",
		[RULES_RULE_PRIVILEGED_PORT] =
			"a port below net.ipv4.ip_unprivileged_port_start needs "
			"CAP_NET_BIND_SERVICE in the namespace's user namespace",
		[RULES_RULE_MULTICAST_STREAM] = "a TCP socket cannot bind an IPv6 multicast address",
		[RULES_RULE_NEEDS_DEVICE] = "a link-local IPv6 address names no interface without "
					    "a scope id or a bound device",
		[RULES_RULE_CGROUP_PROGRAM] = "a cgroup/bind BPF program runs before bind(2) and "
					      "may refuse it with EPERM or rewrite its address",
		[RULES_RULE_PROTECTED] = "a protect rule of portwatch.conf names the port's owners, "
					 "and portwatchd's cgroup/bind program refuses anybody else "
					 "(EPERM)",
		[RULES_RULE_REUSEPORT_OWN_GROUP] =
			"the new socket attached a reuseport program before bind(2), which gave "
			"it an SO_REUSEPORT group of its own: it cannot join the port's",
		[RULES_RULE_VRF_DEVICE] =
			"a socket bound to a VRF (l3mdev) device uses the VRF's own TCP bind "
			"buckets and address tables, which portwatch does not model",
	};
	_Static_assert(ARRAY_SIZE(texts) == RULES_RULE_COUNT, "one text per enum rules_rule");
	const char *text = "the kernel refused the address";
	char who[128] = "", addr[PW_ADDRSTRLEN], peer[PW_ADDRSTRLEN + 16] = "", raddr[PW_ADDRSTRLEN];

	if ((unsigned int)rule < RULES_RULE_COUNT && texts[rule])
		text = texts[rule];
	if (!holder) {
		snprintf(buf, len, "%c%s", text[0] - 'a' + 'A', text + 1);
		return;
	}
	if (holder->owner.pid)
		snprintf(who, sizeof(who), "pid %u (%s, uid %u)", holder->owner.pid,
			 holder->owner.comm, holder->owner.uid);
	else if (holder->sk.state == PW_TCP_TIME_WAIT)
		snprintf(who, sizeof(who), "a closed connection");
	else
		snprintf(who, sizeof(who), "socket inode %llu",
			 (unsigned long long)holder->sk.inode);
	pw_addr_ntop(holder->sk.family, holder->sk.laddr, addr);
	if (holder->sk.rport)
		snprintf(peer, sizeof(peer), " to %s%s%s:%u", holder->sk.family == AF_INET6 ? "[" : "",
			 pw_addr_ntop(holder->sk.family, holder->sk.raddr, raddr),
			 holder->sk.family == AF_INET6 ? "]" : "", holder->sk.rport);
	snprintf(buf, len, "%s %s %s%s%s:%u/%s%s, and %s.", who, holder_verb(&holder->sk),
		 holder->sk.family == AF_INET6 ? "[" : "", addr,
		 holder->sk.family == AF_INET6 ? "]" : "", holder->sk.lport,
		 holder->sk.protocol == IPPROTO_UDP ? "udp" : "tcp", peer, text);
}

/* ---- Prediction (rules.h) ---- */

int rules_udp_chain_tail(const struct pw_sock *at_bind)
{
	return at_bind->family == AF_INET6 && at_bind->reuseport;
}

int rules_udp_chain_before(int a_tail, uint64_t a_ns, int b_tail, uint64_t b_ns)
{
	if (a_tail != b_tail)
		return !a_tail; /* heads before tails */
	return a_tail ? a_ns < b_ns : a_ns > b_ns;
}

/* sk_reuseport_match() of net/ipv4/inet_connection_sock.c. */
static int tb_reuseport_match(const struct rules_tb *tb, const struct pw_sock *c)
{
	if (tb->fastreuseport <= 0 || !c->reuseport || tb->fastuid != c->sk_uid)
		return 0;
	if (tb->fastreuseport == RULES_FASTREUSEPORT_ANY)
		return 1;
	if (tb->fast.family == AF_INET6)
		return ipv6_saddr_equal(&tb->fast, c, 1, 0);
	return ipv4_saddr_equal(rcv_saddr4(&tb->fast), rcv_saddr4(c), c->v6only, 1, 0);
}

static void tb_set_fast(struct rules_tb *tb, int mode, const struct pw_sock *sk)
{
	tb->fastreuseport = (int8_t)mode;
	tb->fastuid = sk->sk_uid;
	tb->fast = *sk;
}

/* inet_csk_update_fastreuse(); "first" is its hlist_empty() of the bucket. */
void rules_tb_join(struct rules_tb *tb, int first, const struct pw_sock *sk)
{
	int reuse = sk->reuseaddr && sk->state != PW_TCP_LISTEN;

	if (first) {
		tb->fastreuse = (int8_t)reuse;
		if (sk->reuseport)
			tb_set_fast(tb, RULES_FASTREUSEPORT_ANY, sk);
		else
			tb->fastreuseport = 0;
		return;
	}
	if (!reuse)
		tb->fastreuse = 0;
	if (!sk->reuseport)
		tb->fastreuseport = 0;
	else if (!tb_reuseport_match(tb, sk))
		tb_set_fast(tb, RULES_FASTREUSEPORT_STRICT, sk);
}

/* The fast path at tb_found: in inet_csk_get_port(). */
int rules_tb_fast(const struct rules_tb *tb, const struct pw_sock *c)
{
	int reuse = c->reuseaddr && c->state != PW_TCP_LISTEN;

	if (!tb)
		return 0;
	return (tb->fastreuse > 0 && reuse) || tb_reuseport_match(tb, c);
}

int rules_ports_parse(struct rules_ports *p, const char *range, const char *reserved)
{
	unsigned long lo, hi, a, b;
	char *end;

	memset(p, 0, sizeof(*p));
	lo = strtoul(range, &end, 10);
	if (end == range)
		return -EINVAL;
	range = end;
	hi = strtoul(range, &end, 10);
	if (end == range || lo > hi || hi > 65535)
		return -EINVAL;
	while (*end == ' ' || *end == '\t' || *end == '\n')
		end++;
	if (*end)
		return -EINVAL;
	p->lo = (uint16_t)lo;
	p->hi = (uint16_t)hi;
	while (reserved && *reserved && *reserved != '\n') {
		a = strtoul(reserved, &end, 10);
		if (end == reserved || a > 65535)
			return -EINVAL;
		b = a;
		reserved = end;
		if (*reserved == '-') {
			b = strtoul(reserved + 1, &end, 10);
			if (end == reserved + 1 || b > 65535 || b < a)
				return -EINVAL;
			reserved = end;
		}
		for (unsigned long x = a; x <= b; x++)
			p->reserved[x / 8] |= (uint8_t)(1u << (x % 8));
		if (*reserved == ',')
			reserved++;
		else if (*reserved && *reserved != '\n')
			return -EINVAL;
	}
	return 0;
}

int rules_port_reserved(const struct rules_ports *p, uint16_t port)
{
	return p->reserved[port / 8] >> (port % 8) & 1;
}

const char *rules_udp_walk_name(enum rules_udp_walk w)
{
	switch (w) {
	case RULES_UDP_WALK_FIRST_DECIDES:
		return "first_decides";
	case RULES_UDP_WALK_ANY_REFUSES:
		return "any_refuses";
	case RULES_UDP_WALK_UNKNOWN:
		break;
	}
	return "unknown";
}

const char *rules_b2_name(unsigned int b)
{
	static const char *const names[9] = {
		"127.0.0.1/0.0.0.0",
		"127.0.0.1/[::]",
		"127.0.0.1/[::]v6only",
		"127.0.0.1/[::ffff:0.0.0.0]",
		"[::ffff:127.0.0.1]/0.0.0.0",
		"[::ffff:127.0.0.1]/[::]",
		"[::ffff:127.0.0.1]/[::]v6only",
		"[::ffff:127.0.0.1]/[::ffff:0.0.0.0]",
		"time_wait",
	};

	for (unsigned int i = 0; i < 9; i++)
		if (b == 1u << i)
			return names[i];
	return NULL;
}

const char *rules_reuseport_uid_name(enum rules_reuseport_uid r)
{
	switch (r) {
	case RULES_REUSEPORT_UID_INODE:
		return "inode";
	case RULES_REUSEPORT_UID_SK:
		return "sk_uid";
	case RULES_REUSEPORT_UID_UNKNOWN:
		break;
	}
	return "unknown";
}

/* Keep blocker i, highest-ranked rule first (ties: in holder order). */
static void add_blocker(struct rules_prediction *p, const struct rules_query *q,
			const struct pw_sock *v, size_t i)
{
	size_t k, n = p->nblockers < RULES_MAX_BLOCKERS ? p->nblockers : RULES_MAX_BLOCKERS;
	int rank = rules_rule_rank(rules_block_rule_q(q, &v[i]));

	p->nblockers++;
	for (k = 0; k < n; k++)
		if (rank > rules_rule_rank(rules_block_rule_q(q, &v[p->blockers[k]])))
			break;
	if (k == RULES_MAX_BLOCKERS)
		return;
	if (n == RULES_MAX_BLOCKERS)
		n--;
	memmove(&p->blockers[k + 1], &p->blockers[k], (n - k) * sizeof(p->blockers[0]));
	p->blockers[k] = i;
}

static int other(const struct rules_query *q, const struct pw_sock *s)
{
	return !(q->self && s->inode == q->self);
}

/*
 * The windows [a, b) of ports a port search walks. inet_csk_find_open_port()
 * walks [lo, hi] in two halves when the socket has SO_REUSEADDR and the
 * range has 4 ports or more, else in one; __inet_hash_connect() in one;
 * udp_lib_get_port() (udp: set) visits every port. Returns the count.
 */
static int scan_windows(const struct rules_ports *r, int tcp_halves, int win[2][2])
{
	int low = r->lo, high = r->hi + 1, half;

	if (!tcp_halves || high - low < 4) {
		win[0][0] = low;
		win[0][1] = high;
		return 1;
	}
	half = low + (((high - low) >> 2) << 1);
	win[0][0] = low;
	win[0][1] = half;
	win[1][0] = half;
	win[1][1] = high;
	return 2;
}

/*
 * The TCP walks go by steps of 2 from a random odd (then even) offset and
 * wrap by an even count ("remaining &= ~1"): in a window of an odd number
 * of ports (3 or more) they try all but one of its two edge ports, which
 * one depending on the random offset. 1: port is tried for sure, 2: it
 * is such an edge, 0: outside the window.
 */
static int window_class(const int w[2], uint32_t port, int udp)
{
	int size = w[1] - w[0];

	if ((int)port < w[0] || (int)port >= w[1])
		return 0;
	if (udp || size == 1 || !(size & 1))
		return 1;
	return (int)port == w[0] || (int)port == w[1] - 1 ? 2 : 1;
}

/*
 * Decide a port search from the ports that cannot be taken (bad bitmap):
 * ok when a surely tried port is free, or both edges of an odd window are
 * (one of them is tried); uncertain when only one edge is. Reserved ports
 * are skipped by every walk (inet_is_local_reserved_port()).
 */
static void search_decide(const struct rules_ports *r, const uint8_t *bad, int tcp_halves,
			  int udp, struct rules_prediction *p)
{
	int win[2][2], nw = scan_windows(r, tcp_halves, win), ok = 0, uncertain = 0;

	for (int k = 0; k < nw; k++) {
		int edge_free = 0;

		for (int port = win[k][0]; port < win[k][1]; port++) {
			int cls = window_class(win[k], (uint32_t)port, udp);

			if (rules_port_reserved(r, (uint16_t)port))
				continue;
			if (bad[port / 8] >> (port % 8) & 1) {
				p->in_use++;
				continue;
			}
			p->free_ports++;
			if (cls == 1)
				ok = 1;
			else
				edge_free++;
		}
		if (edge_free == 2)
			ok = 1;
		else if (edge_free == 1)
			uncertain = 1;
	}
	p->ok = ok;
	p->uncertain = !ok && uncertain ? RULES_UNCERTAIN_ODD_RANGE : RULES_SURE;
	if (!ok)
		p->rule = RULES_RULE_EPHEMERAL_EXHAUSTED;
}

/* Does s take port s->lport from a port-0 search of q->c? (relax = false) */
/*
 * Is holder h one the TCP bind check of this kernel does not look at for
 * c (rules_query.tcp_mapped_any_unseen): c an AF_INET6 socket on a
 * specific v4-mapped address, which inet_use_hash2_on_bind() sends to the
 * bhash2 buckets of its own address and of the wildcards
 * (inet_bhash2_addr_any_conflict()), h in the IPv4-wildcard bucket that
 * check passes over.
 */
static int mapped_any_unseen(const struct rules_query *q, const struct pw_sock *c,
			     const struct pw_sock *h)
{
	if (!q->tcp_mapped_any_unseen || c->protocol != IPPROTO_TCP || c->family != AF_INET6 ||
	    !pw_addr_is_v4mapped(c->laddr) || rcv_saddr4(c) == 0)
		return 0;
	if (h->family == AF_INET6)
		return pw_addr_is_v4mapped(h->laddr) && rcv_saddr4(h) == 0;
	return q->tcp_mapped_any_unseen == RULES_MAPPED_ANY_BUCKET && rcv_saddr4(h) == 0;
}

/*
 * The RULES_B2_* bit of the pair (c, h) when c takes the bhash2 path (a
 * TCP socket on a specific address: inet_use_hash2_on_bind()) and h is a
 * TIME_WAIT entry or in one of the wildcard buckets
 * inet_bhash2_addr_any_conflict() may walk; 0 otherwise (the overlap
 * decides) and for pairs outside RULES_B2_MODELLED.
 */
static unsigned int b2_bit(const struct pw_sock *c, const struct pw_sock *h)
{
	int ck, hk;

	if (c->protocol != IPPROTO_TCP || rules_width(c) != 0)
		return 0;
	if (h->state == PW_TCP_TIME_WAIT)
		return RULES_B2_TW;
	if (addr_class(c) != ADDR_MAPPED)
		return 0;
	ck = c->family == AF_INET ? RULES_B2_C_V4 : RULES_B2_C_MAPPED;
	switch (addr_class(h)) {
	case ADDR_ANY:
		hk = h->v6only ? RULES_B2_H_V6ONLY : RULES_B2_H_DUAL;
		break;
	case ADDR_MAPPED:
		if (rcv_saddr4(h))
			return 0;
		hk = h->family == AF_INET ? RULES_B2_H_V4ANY : RULES_B2_H_MAPPEDANY;
		break;
	default:
		return 0;
	}
	return RULES_B2_BIT(ck, hk) & RULES_B2_MODELLED;
}

/* The pairs the running kernel meets (alt: with the unsure ones the other way). */
static unsigned int b2_meets(const struct rules_query *q, int alt)
{
	return (RULES_B2_FIXED ^ q->tcp_bhash2_deviate) ^ (alt ? q->tcp_bhash2_unsure : 0u);
}

/*
 * How the TCP bind check meets holder h for c under bhash2 view `meets`:
 * 0 passes over it, 1 meets it without comparing addresses (the flags
 * decide; devices still count: inet_bind_conflict()), -1 as the overlap
 * says.
 */
static int b2_view(const struct rules_query *q, const struct pw_sock *c, const struct pw_sock *h,
		   unsigned int meets)
{
	unsigned int bit = b2_bit(c, h);

	if (mapped_any_unseen(q, c, h))
		return 0;
	if (!bit)
		return -1;
	if (!(meets & bit))
		return 0;
	/* a TIME_WAIT entry is in the bucket of its own address: overlap decides */
	if (bit == RULES_B2_TW || rules_overlap(c, h))
		return -1;
	return !(c->bound_dev_if && h->bound_dev_if && c->bound_dev_if != h->bound_dev_if);
}

/*
 * Does TCP holder h refuse c (inet_csk_bind_conflict(), relax, at bind
 * or listen) on the kernel variant with reuseport uid u and bhash2 view
 * meets?
 */
static int tcp_refuses(const struct rules_query *q, const struct pw_sock *c,
		       const struct pw_sock *h, enum rules_reuseport_uid u, unsigned int meets)
{
	uint32_t huid = rules_reuseport_holder_uid(u, h);
	int view = b2_view(q, c, h, meets);

	if (view == 0)
		return 0;
	return view == 1 ? blocks_flags(c, h, huid) : blocks_as(c, h, huid);
}

/*
 * tcp_refuses() on every kernel variant the start-up trials left open:
 * the reuseport uid (both when unknown) and the unsure bhash2 pairs (both
 * views). *all: h refuses c on every one, *some: on at least one.
 */
static void tcp_variants(const struct rules_query *q, const struct pw_sock *c,
			 const struct pw_sock *h, int *all, int *some)
{
	*all = 1;
	*some = 0;
	for (int u = RULES_REUSEPORT_UID_INODE; u <= RULES_REUSEPORT_UID_SK; u++) {
		if (q->reuseport_uid != RULES_REUSEPORT_UID_UNKNOWN && u != (int)q->reuseport_uid)
			continue;
		for (int alt = 0; alt < (q->tcp_bhash2_unsure ? 2 : 1); alt++) {
			int r = tcp_refuses(q, c, h, (enum rules_reuseport_uid)u, b2_meets(q, alt));

			*all &= r;
			*some |= r;
		}
	}
}

static int blocks_search(const struct rules_query *q, const struct pw_sock *s)
{
	const struct pw_sock *c = &q->c;

	if (c->protocol == IPPROTO_TCP) {
		/* inet_bind_conflict() with relax and reuseport_ok false: any
		 * holder it meets */
		int view = b2_view(q, c, s, b2_meets(q, 0));

		return view < 0 ? rules_overlap(c, s) : view;
	}
	if (!rules_overlap(c, s))
		return 0;
	/* udp_lib_lport_inuse() with a bitmap: reuseport-compatible sockets are skipped */
	if (c->reuseaddr && s->reuseaddr)
		return 0;
	return !(c->reuseport && s->reuseport && c->sk_uid == s->sk_uid);
}

/*
 * An explicit UDP bind: udp_lib_lport_inuse() with bitmap NULL, over the
 * sockets of v in port-chain order. The sockets it stops at are those on
 * the port whose address overlaps and that lack SO_REUSEADDR on either
 * side; of those, a reuseport-compatible one (both SO_REUSEPORT, one
 * creator uid) admits the bind on a FIRST_DECIDES kernel when it comes
 * first, and is passed over on an ANY_REFUSES one (enum rules_udp_walk).
 */
static void predict_udp(const struct rules_query *q, const struct pw_sock *v, size_t n,
			struct rules_prediction *p)
{
	const struct pw_sock *c = &q->c;
	int first_ok = -1; /* FIRST_DECIDES: 1 admitted, 0 refused, -1 nothing met */

	for (size_t i = 0; i < n; i++) {
		const struct pw_sock *s = &v[i];

		if (s->protocol != IPPROTO_UDP || s->lport != c->lport || !other(q, s) ||
		    (s->reuseaddr && c->reuseaddr) || !rules_overlap(c, s))
			continue;
		if (s->reuseport && c->reuseport && s->sk_uid == c->sk_uid) {
			if (first_ok < 0)
				first_ok = 1;
			continue;
		}
		if (first_ok < 0)
			first_ok = 0;
		add_blocker(p, q, v, i);
	}
	switch (q->udp_walk) {
	case RULES_UDP_WALK_FIRST_DECIDES:
		if (first_ok != 0) {
			p->nblockers = 0; /* a compatible socket came first */
			return;
		}
		break;
	case RULES_UDP_WALK_ANY_REFUSES:
		if (!p->nblockers)
			return;
		break;
	case RULES_UDP_WALK_UNKNOWN:
		if (!p->nblockers)
			return;
		if (first_ok == 1)
			p->uncertain = RULES_UNCERTAIN_UDP_WALK;
		break;
	}
	p->ok = 0;
	p->err = EADDRINUSE;
	p->rule = rules_block_rule(c, &v[p->blockers[0]]);
}

/* IPv4 view of an address for the 4-tuple: v4-mapped IPv6 counts as IPv4. */
static void tuple_addr(uint16_t family, const uint8_t a[16], uint8_t out[17])
{
	memset(out, 0, 17);
	if (family == AF_INET6 && !pw_addr_is_v4mapped(a)) {
		out[0] = 6;
		memcpy(out + 1, a, 16);
	} else {
		out[0] = 4;
		memcpy(out + 1, family == AF_INET6 ? a + 12 : a, 4);
	}
}

/*
 * The source address connect() will use for q->c: its bound address, or
 * for a wildcard the loopback source the kernel's route gives a loopback
 * destination (127.0.0.1 / ::1). Returns 0 when unknown (any matches).
 */
static int tuple_saddr(const struct rules_query *q, uint8_t out[17])
{
	uint8_t d[17];

	if (rules_width(&q->c) == 0) {
		tuple_addr(q->c.family, q->c.laddr, out);
		return 1;
	}
	tuple_addr(q->c.family, q->c.raddr, d);
	memset(out, 0, 17);
	out[0] = d[0];
	if (d[0] == 4 && d[1] == 127) {
		out[1] = 127;
		out[4] = 1;
		return 1;
	}
	if (d[0] == 6 && d[16] == 1 && !memcmp(d + 1, out + 1, 15)) {
		out[16] = 1;
		return 1;
	}
	return 0;
}

int rules_same_remote(const struct pw_sock *a, const struct pw_sock *b)
{
	uint8_t x[17], y[17];

	tuple_addr(a->family, a->raddr, x);
	tuple_addr(b->family, b->raddr, y);
	return a->rport == b->rport && !memcmp(x, y, sizeof(x));
}

/*
 * __inet_check_established(): does s hold the 4-tuple q->c would get with
 * port? inet_match() compares the devices one way only
 * (inet_sk_bound_dev_eq() with the new socket's sk_bound_dev_if as dif and
 * no l3mdev, so sdif 0): a holder on no device meets every socket, a
 * holder on a device only a socket bound to that same device.
 */
static int tuple_taken(const struct rules_query *q, const struct pw_sock *s, uint16_t port,
		       const uint8_t saddr[17], int saddr_known)
{
	uint8_t a[17], b[17];

	if (s->protocol != IPPROTO_TCP || s->lport != port || s->rport != q->c.rport ||
	    s->state == PW_TCP_LISTEN || s->state == PW_TCP_CLOSE || !other(q, s))
		return 0;
	if (s->bound_dev_if && s->bound_dev_if != q->c.bound_dev_if)
		return 0;
	tuple_addr(s->family, s->raddr, a);
	tuple_addr(q->c.family, q->c.raddr, b);
	if (memcmp(a, b, 17))
		return 0;
	tuple_addr(s->family, s->laddr, a);
	if (saddr_known && memcmp(a, saddr, 17))
		return 0;
	/*
	 * tcp_twsk_unique(): a TIME_WAIT entry that saw timestamps
	 * (tw_ts_recent_stamp) yields to a socket whose port was bound
	 * explicitly (__inet_hash_connect() passes no twp then), and to
	 * autobind only with tcp_tw_reuse, a second after its last timestamp.
	 */
	if (s->state != PW_TCP_TIME_WAIT)
		return 1;
	if (q->c.lport)
		return !q->timestamps;
	return !(q->tw_reuse && q->timestamps);
}

static void predict_connect(const struct rules_query *q, const struct pw_sock *v, size_t n,
			    const struct rules_tb *(*tb_of)(uint16_t, void *), void *arg,
			    const struct rules_ports *ports, struct rules_prediction *p)
{
	uint8_t saddr[17];
	int known_saddr = tuple_saddr(q, saddr);
	uint8_t *bad, *any, *known, *bound, *lc;

	p->ok = 1;
	if (q->c.lport) {
		/* a bound socket: only the 4-tuple can refuse (__inet_hash_connect) */
		for (size_t i = 0; i < n; i++)
			if (tuple_taken(q, &v[i], q->c.lport, saddr, known_saddr)) {
				p->ok = 0;
				p->err = EADDRNOTAVAIL;
				p->rule = RULES_RULE_FOUR_TUPLE;
				if (p->nblockers < RULES_MAX_BLOCKERS)
					p->blockers[p->nblockers] = i;
				p->nblockers++;
			}
		return;
	}
	/*
	 * Autobind (__inet_hash_connect()): a port is taken when its bucket
	 * counts as made by bind() (tb->fastreuse or fastreuseport >= 0), or
	 * its 4-tuple toward the destination exists. Since Linux 6.18 the
	 * bucket goes back to "made by connect()" (-1) as soon as only sockets
	 * autobound by connect() are left on it (inet_bind2_bucket_destroy()):
	 * where the kernel says how each socket got its port (PW_BIND_KNOWN),
	 * the port is taken while any socket there was bound otherwise (the
	 * table's sockets were all bound with bind()). Elsewhere the recorded
	 * bucket fields decide, or without them a listening or bound-only
	 * socket on the port.
	 */
	bad = calloc(5, 65536 / 8);
	if (!bad)
		return; /* cannot tell: say ok */
	any = bad + 8192;
	known = any + 8192;
	bound = known + 8192;
	lc = bound + 8192;
	for (size_t i = 0; i < n; i++) {
		const struct pw_sock *s = &v[i];
		uint16_t port = s->lport;
		uint8_t bit = (uint8_t)(1u << (port % 8));

		if (s->protocol != IPPROTO_TCP || port < ports->lo || port > ports->hi ||
		    !other(q, s))
			continue;
		any[port / 8] |= bit;
		if (s->bind_origin & PW_BIND_KNOWN)
			known[port / 8] |= bit;
		if (!(s->bind_origin & PW_BIND_CONNECT))
			bound[port / 8] |= bit;
		if (s->state == PW_TCP_LISTEN || s->state == PW_TCP_CLOSE)
			lc[port / 8] |= bit;
		if (tuple_taken(q, s, port, saddr, known_saddr))
			bad[port / 8] |= bit;
	}
	for (uint32_t port = ports->lo; port <= ports->hi; port++) {
		uint8_t bit = (uint8_t)(1u << (port % 8));
		const struct rules_tb *tb;
		int taken;

		if (!(any[port / 8] & bit) || (bad[port / 8] & bit))
			continue;
		if (known[port / 8] & bit) {
			taken = !!(bound[port / 8] & bit);
		} else {
			tb = tb_of ? tb_of((uint16_t)port, arg) : NULL;
			taken = tb ? tb->fastreuse >= 0 || tb->fastreuseport >= 0 :
				     !!(lc[port / 8] & bit);
		}
		if (taken)
			bad[port / 8] |= bit;
	}
	search_decide(ports, bad, 0, 0, p);
	free(bad);
	if (!p->ok)
		p->err = EADDRNOTAVAIL;
}

/* bind/listen with port 0: inet_csk_find_open_port(), udp_lib_get_port(). */
/*
 * The second search of inet_csk_find_open_port() with ip_autobind_reuse:
 * inet_bind_conflict() with relax true and reuseport_ok false. Two
 * SO_REUSEADDR sockets share unless the holder listens, or both set
 * SO_REUSEPORT with one creator uid (or the holder is a TIME_WAIT entry).
 */
static int blocks_search_relaxed(const struct rules_query *q, const struct pw_sock *s)
{
	const struct pw_sock *c = &q->c;

	int view = b2_view(q, c, s, b2_meets(q, 0));

	if (view == 0 || (view < 0 && !rules_overlap(c, s)))
		return 0;
	if (c->reuseaddr && s->reuseaddr && s->state != PW_TCP_LISTEN)
		return both_reuseport_ok(c, s, rules_reuseport_holder_uid(q->reuseport_uid, s));
	return 1;
}

void rules_ports_narrow(struct rules_ports *p, uint16_t lo, uint16_t hi)
{
	uint16_t nlo = p->lo, nhi = p->hi;

	if (!lo && !hi)
		return;
	if (p->lo <= lo && lo <= p->hi)
		nlo = lo;
	if (p->lo <= hi && hi <= p->hi)
		nhi = hi;
	p->lo = nlo;
	p->hi = nhi;
}

static void predict_search(const struct rules_query *q, const struct pw_sock *v, size_t n,
			   const struct rules_ports *ports, struct rules_prediction *p)
{
	int proto = q->c.protocol;
	uint8_t *bad = calloc(65536 / 8, 1);

	p->ok = 1;
	if (!bad)
		return;
	for (size_t i = 0; i < n; i++)
		if (v[i].protocol == proto && other(q, &v[i]) && v[i].lport >= ports->lo &&
		    v[i].lport <= ports->hi && blocks_search(q, &v[i]))
			bad[v[i].lport / 8] |= (uint8_t)(1u << (v[i].lport % 8));
	/* attempt_half: SO_REUSEADDR (SK_CAN_REUSE) sockets search in two halves */
	search_decide(ports, bad, proto == IPPROTO_TCP && q->c.reuseaddr, proto == IPPROTO_UDP, p);
	if (!p->ok && proto == IPPROTO_TCP && q->autobind_reuse && q->c.reuseaddr) {
		memset(bad, 0, 65536 / 8);
		for (size_t i = 0; i < n; i++)
			if (v[i].protocol == proto && other(q, &v[i]) && v[i].lport >= ports->lo &&
			    v[i].lport <= ports->hi && blocks_search_relaxed(q, &v[i]))
				bad[v[i].lport / 8] |= (uint8_t)(1u << (v[i].lport % 8));
		search_decide(ports, bad, 1, 0, p);
	}
	free(bad);
	if (!p->ok)
		p->err = EADDRINUSE;
}

/* EACCES: inet_port_requires_bind_service() and ns_capable(CAP_NET_BIND_SERVICE). */
static int check_privilege(const struct rules_query *q, struct rules_prediction *p)
{
	const struct rules_bind_env *env = &q->env;

	if (!q->c.lport || q->c.lport >= env->prot_sock || env->cap_net_bind_service == 1)
		return 0;
	p->ok = 0;
	p->err = EACCES;
	p->rule = RULES_RULE_PRIVILEGED_PORT;
	p->uncertain = env->cap_net_bind_service < 0 ? RULES_UNCERTAIN_PRIVILEGE : RULES_SURE;
	return 1;
}

/*
 * EADDRNOTAVAIL: inet_addr_valid_or_nonlocal() for IPv4 and v4-mapped
 * addresses (inet_can_nonlocal_bind(): net.ipv4.ip_nonlocal_bind,
 * IP_FREEBIND, IP_TRANSPARENT), ipv6_chk_addr() unless
 * ipv6_can_nonlocal_bind() (net.ipv6.ip_nonlocal_bind) for other IPv6
 * addresses; multicast IPv6 addresses are not checked.
 */
static int check_address(const struct rules_query *q, struct rules_prediction *p)
{
	const struct rules_bind_env *env = &q->env;
	int v4 = q->c.family == AF_INET || pw_addr_is_v4mapped(q->c.laddr);
	const uint8_t *a4 = q->c.family == AF_INET ? q->c.laddr : q->c.laddr + 12;

	if (!v4 && env->addr_ok == RULES_ADDR_NEEDS_DEVICE) {
		/* __inet6_bind(): before the non-local options are looked at */
		p->ok = 0;
		p->err = EINVAL;
		p->rule = RULES_RULE_NEEDS_DEVICE;
		return 1;
	}
	if ((v4 ? !(a4[0] | a4[1] | a4[2] | a4[3]) : pw_addr_is_any(AF_INET6, q->c.laddr)) ||
	    env->addr_ok == 1 || env->freebind ||
	    env->transparent || (v4 ? env->nonlocal_v4 : env->nonlocal_v6))
		return 0;
	if (!v4 && q->c.laddr[0] == 0xff) /* multicast: not looked up */
		return 0;
	p->ok = 0;
	p->err = EADDRNOTAVAIL;
	p->rule = RULES_RULE_NO_LOCAL_ADDRESS;
	p->uncertain = env->addr_ok < 0 ? RULES_UNCERTAIN_ADDRESS : RULES_SURE;
	return 1;
}

int rules_bind_checks(const struct rules_query *q, struct rules_prediction *p)
{
	if (!q->env.known || q->op != RULES_OP_BIND)
		return 0;
	if (q->env.protected) {
		/* portwatch's own cgroup/bind program: its rules are known exactly */
		p->ok = 0;
		p->err = EPERM;
		p->rule = RULES_RULE_PROTECTED;
		p->uncertain = RULES_SURE;
		return 1;
	}
	if (q->env.cgroup_progs > 0) {
		/* inet_bind()/inet6_bind() run it before anything below */
		p->ok = 0;
		p->err = EPERM;
		p->rule = RULES_RULE_CGROUP_PROGRAM;
		p->uncertain = RULES_UNCERTAIN_CGROUP;
		return 1;
	}
	if (q->c.family == AF_INET)
		return check_address(q, p) || check_privilege(q, p);
	if (q->c.laddr[0] == 0xff && q->c.protocol == IPPROTO_TCP) {
		p->ok = 0;
		p->err = EINVAL;
		p->rule = RULES_RULE_MULTICAST_STREAM;
		return 1;
	}
	return check_privilege(q, p) || check_address(q, p);
}

void rules_predict(const struct rules_query *q, const struct pw_sock *v, size_t n,
		   const struct rules_tb *(*tb_of)(uint16_t port, void *arg), void *arg,
		   const struct rules_ports *ports, struct rules_prediction *p)
{
	const struct pw_sock *c = &q->c;
	int any = 0, only_connect = 1, origin_known = 0, maybe = 0;
	enum rules_uncertain why = RULES_UNCERTAIN_BHASH2;

	memset(p, 0, sizeof(*p));
	if (q->op == RULES_OP_CONNECT) {
		predict_connect(q, v, n, tb_of, arg, ports, p);
		return;
	}
	if (q->own_group && c->reuseport && q->op == RULES_OP_BIND) {
		/* no sharing through SO_REUSEPORT: as if it were not set */
		struct rules_query plain = *q, joined = *q;
		struct rules_prediction as_member;

		plain.own_group = 0;
		plain.c.reuseport = 0;
		rules_predict(&plain, v, n, tb_of, arg, ports, p);
		joined.own_group = 0;
		if (p->ok || p->err != EADDRINUSE || !c->lport)
			return;
		rules_predict(&joined, v, n, tb_of, arg, ports, &as_member);
		if (as_member.ok && !as_member.uncertain)
			p->rule = RULES_RULE_REUSEPORT_OWN_GROUP;
		return;
	}
	if (rules_bind_checks(q, p) && !p->uncertain)
		return;
	if (p->uncertain) {
		/*
		 * Refused if the unknown goes one way; the conflicts decide if
		 * it goes the other: say both, keep the refusal's rule.
		 */
		struct rules_prediction r = *p;
		struct rules_query sure = *q;

		sure.env.known = 0;
		rules_predict(&sure, v, n, tb_of, arg, ports, p);
		if (p->ok || p->uncertain) {
			*p = r;
			return;
		}
		p->uncertain = r.uncertain; /* refused either way, for one reason or another */
		return;
	}
	if (!c->lport) {
		predict_search(q, v, n, ports, p);
		return;
	}
	p->ok = 1;
	if (c->protocol == IPPROTO_UDP) {
		predict_udp(q, v, n, p);
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (v[i].protocol == IPPROTO_TCP && v[i].lport == c->lport && other(q, &v[i])) {
			any = 1;
			break;
		}
	if (!any)
		return; /* a new (or empty) bucket */
	/*
	 * Only sockets autobound by connect() left on the port: Linux 6.18+
	 * has reset the bucket's fast-path fields to -1 (see PW_BIND_KNOWN).
	 */
	for (size_t i = 0; i < n; i++)
		if (v[i].protocol == IPPROTO_TCP && v[i].lport == c->lport && other(q, &v[i])) {
			if (!(v[i].bind_origin & PW_BIND_CONNECT))
				only_connect = 0;
			if (v[i].bind_origin & PW_BIND_KNOWN)
				origin_known = 1;
		}
	if (!(origin_known && only_connect) &&
	    rules_tb_fast(tb_of ? tb_of(c->lport, arg) : NULL, c)) {
		p->rule = RULES_RULE_FAST_PATH;
		return;
	}
	/*
	 * inet_csk_bind_conflict() on every variant of the kernel that the
	 * start-up trials left open (the reuseport uid, unsure bhash2 pairs):
	 * a holder that refuses c on all is a blocker; one that refuses it on
	 * some makes the answer uncertain when no holder refuses it for sure.
	 */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			const struct pw_sock *h = &v[i];
			int all, some;

			if (h->protocol != IPPROTO_TCP || h->lport != c->lport || !other(q, h))
				continue;
			tcp_variants(q, c, h, &all, &some);
			if (pass == 0 && all) {
				add_blocker(p, q, v, i);
			} else if (pass == 0 && some) {
				maybe++;
				if (q->reuseport_uid == RULES_REUSEPORT_UID_UNKNOWN &&
				    tcp_refuses(q, c, h, RULES_REUSEPORT_UID_INODE, b2_meets(q, 0)) !=
					    tcp_refuses(q, c, h, RULES_REUSEPORT_UID_SK, b2_meets(q, 0)))
					why = RULES_UNCERTAIN_REUSEPORT_UID;
			} else if (pass == 1 && some) {
				add_blocker(p, q, v, i);
			}
		}
		if (p->nblockers || !maybe)
			break;
		p->uncertain = why; /* pass 1: the holders that may refuse it */
	}
	if (p->nblockers) {
		p->ok = 0;
		p->err = EADDRINUSE;
		p->rule = rules_block_rule_q(q, &v[p->blockers[0]]);
	}
}

void rules_advice(char *buf, size_t len, enum rules_rule rule, const struct rules_query *q,
		  const struct pw_sock *b, long tw_wait_s, const struct rules_ports *ports)
{
	int udp = q && q->c.protocol == IPPROTO_UDP;

	/* every rule a case and no default: -Wswitch names a rule left out */
	switch (rule) {
	case RULES_RULE_NONE:
	case RULES_RULE_FAST_PATH:
		snprintf(buf, len, "Nothing to change: the kernel would accept it.");
		return;
	case RULES_RULE_LISTENER:
	case RULES_RULE_WILDCARD_LISTENER:
		snprintf(buf, len,
			 "Stop the listener, or have both sockets set SO_REUSEPORT and be created "
			 "by the same uid (the listener's is %u)%s; SO_REUSEADDR does not help "
			 "against a listener. Or use another address or port.",
			 b ? b->sk_uid : 0,
			 b && !b->reuseport ? ", which the listener does not set now" : "");
		return;
	case RULES_RULE_NO_REUSEADDR:
		snprintf(buf, len,
			 "Set SO_REUSEADDR on both sockets (%s%s), before bind(); %s"
			 "Or stop the holder, or use another address or port.",
			 b && !b->reuseaddr ? "the holder lacks it" : "the holder has it",
			 q && !q->c.reuseaddr ? ", the new socket lacks it" : "",
			 !udp ? "only one of them may listen() afterwards. " :
				"both then receive datagrams for the address. ");
		return;
	case RULES_RULE_REUSEPORT_UID:
		snprintf(buf, len,
			 "An SO_REUSEPORT group admits only sockets created by one uid: create the "
			 "socket as uid %u (socket(2) before setuid), or use another address or "
			 "port.",
			 b ? b->sk_uid : 0);
		return;
	case RULES_RULE_TIME_WAIT: {
		char wait[64] = "until they expire (at most 60 s)";

		if (tw_wait_s >= 0)
			snprintf(wait, sizeof(wait), "%ld s for these TIME_WAIT entries", tw_wait_s);
		if (b && b->reuseaddr)
			snprintf(buf, len,
				 "Set SO_REUSEADDR on the new socket (the old one had it), or wait "
				 "%s.",
				 wait);
		else
			snprintf(buf, len,
				 "Wait %s: the old socket lacked SO_REUSEADDR, so only an "
				 "SO_REUSEPORT socket binds over them. Set SO_REUSEADDR in the "
				 "server so that the next restart need not wait; or use another "
				 "address or port.",
				 wait);
		return;
	}
	case RULES_RULE_FOUR_TUPLE:
		snprintf(buf, len,
			 "That local address and port are already connected to this destination: "
			 "bind another local port (or port 0 and let the kernel choose), another "
			 "local address, or close the other connection.");
		return;
	case RULES_RULE_EPHEMERAL_EXHAUSTED:
		if (ports)
			snprintf(buf, len,
				 "Every port of ip_local_port_range %u-%u is in use for this "
				 "destination: widen net.ipv4.ip_local_port_range, spread connections "
				 "over more source addresses or destinations, reuse connections "
				 "(keep-alive, pooling), or let TIME_WAIT entries expire.",
				 ports->lo, ports->hi);
		else
			snprintf(buf, len,
				 "Widen net.ipv4.ip_local_port_range, use more source addresses, or "
				 "reuse connections.");
		return;
	case RULES_RULE_NO_LOCAL_ADDRESS:
		snprintf(buf, len, "Add the address to an interface of that namespace, bind the "
				   "wildcard, or bind it before it exists with IP_FREEBIND (systemd: "
				   "FreeBind=yes) or net.ipv%c.ip_nonlocal_bind.",
			 q && q->c.family == AF_INET6 && !pw_addr_is_v4mapped(q->c.laddr) ? '6' : '4');
		return;
	case RULES_RULE_PRIVILEGED_PORT:
		snprintf(buf, len,
			 "Give the service CAP_NET_BIND_SERVICE (systemd: "
			 "AmbientCapabilities=CAP_NET_BIND_SERVICE), let systemd bind the port (a "
			 "socket unit), or use a port of %d or more (ip_unprivileged_port_start).",
			 q && q->env.known ? q->env.prot_sock : 1024);
		return;
	case RULES_RULE_MULTICAST_STREAM:
		snprintf(buf, len, "Bind a unicast address or the wildcard; multicast is for UDP.");
		return;
	case RULES_RULE_CGROUP_PROGRAM:
		snprintf(buf, len, "Ask whoever attached the program what it allows (bpftool "
				   "cgroup tree; systemd: SocketBindAllow=/SocketBindDeny= of the "
				   "caller's unit).");
		return;
	case RULES_RULE_PROTECTED:
		snprintf(buf, len, "Only the owners the protect rule names may bind the port "
				   "(portwatchctl protect); use another port, or change the rule.");
		return;
	case RULES_RULE_REUSEPORT_OWN_GROUP:
		snprintf(buf, len, "Attach the steering program after bind(2) (to a member of the "
				   "port's group: it then steers the whole group), or bind first and "
				   "attach it once bound; or use another address or port.");
		return;
	case RULES_RULE_VRF_DEVICE:
		snprintf(buf, len, "Try it: sockets in one VRF conflict as on any device, and with "
				   "net.ipv4.tcp_l3mdev_accept = 0 a VRF-bound TCP socket does not "
				   "meet sockets outside the VRF.");
		return;
	case RULES_RULE_NEEDS_DEVICE:
		snprintf(buf, len, "Give the interface: a scope id (fe80::1%%eth0) or "
				   "SO_BINDTODEVICE before bind(2).");
		return;
	case RULES_RULE_UNKNOWN_HOLDER:
	case RULES_RULE_COUNT:
		break;
	}
	snprintf(buf, len, "Use another address or port.");
}
