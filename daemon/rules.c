// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* rules.c - Linux's address-reuse rules; see rules.h for the kernel sources. */
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "addr.h"
#include "rules.h"

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
 * Follows ipv6_rcv_saddr_equal() with both match_wildcard flags set; an
 * IPv4 socket is seen as its mapped address, which is also what
 * ipv4_rcv_saddr_equal() decides for the IPv4 side.
 */
int rules_overlap(const struct pw_sock *a, const struct pw_sock *b)
{
	enum addr_class ta = addr_class(a), tb = addr_class(b);
	static const uint8_t zero4[4];

	if (ta == ADDR_MAPPED && tb == ADDR_MAPPED) {
		/* a mapped address on a v6only socket cannot be bound; still check */
		if (a->v6only || b->v6only)
			return 0;
		return !memcmp(v4_part(a), v4_part(b), 4) || !memcmp(v4_part(a), zero4, 4) ||
		       !memcmp(v4_part(b), zero4, 4);
	}
	if (ta == ADDR_ANY && tb == ADDR_ANY)
		return 1;
	if (tb == ADDR_ANY && !(b->v6only && ta == ADDR_MAPPED))
		return 1;
	if (ta == ADDR_ANY && !(a->v6only && tb == ADDR_MAPPED))
		return 1;
	return ta == ADDR_V6 && tb == ADDR_V6 && pw_addr_equal(AF_INET6, a->laddr, b->laddr);
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

static int both_reuseport_ok(const struct pw_sock *c, const struct pw_sock *h)
{
	return c->reuseport && h->reuseport &&
	       (h->state == PW_TCP_TIME_WAIT || c->sk_uid == h->sk_uid);
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
	return !both_reuseport_ok(c, h);
}

const char *rules_block_rule(const struct pw_sock *c, const struct pw_sock *h)
{
	if (h->protocol == IPPROTO_TCP && h->state == PW_TCP_TIME_WAIT)
		return "time_wait";
	if (c->reuseport && h->reuseport && c->sk_uid != h->sk_uid)
		return "reuseport_uid";
	if (h->protocol == IPPROTO_TCP && h->state == PW_TCP_LISTEN)
		return rules_width(h) > rules_width(c) ? "wildcard_listener" : "listener";
	return "no_reuseaddr";
}

int rules_rule_rank(const char *rule)
{
	static const char *const order[] = {
		"time_wait", "no_reuseaddr", "reuseport_uid", "listener", "wildcard_listener",
	};

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (!strcmp(rule, order[i]))
			return (int)i + 1;
	return 0;
}

int rules_classify_bind(const struct pw_sock *c, uint32_t uid_c, const struct pw_sock *h,
			uint32_t uid_h, struct rules_alert *out)
{
	enum rules_severity hijack = uid_c != uid_h ? RULES_SEV_CRITICAL : RULES_SEV_WARNING;

	if (!rules_overlap(c, h))
		return 0;
	out->kind = "hijack_attempt";
	out->severity = hijack;
	if (rules_width(c) < rules_width(h))
		out->reason = "shadow_wildcard";
	else if (c->reuseport && h->reuseport)
		out->reason = "reuseport_join";
	else if (c->protocol == IPPROTO_UDP)
		out->reason = "udp_share";
	else {
		out->kind = "reuse_collision";
		out->reason = "shared_bind";
		out->severity = RULES_SEV_WARNING;
	}
	return 1;
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

void rules_explain(char *buf, size_t len, const char *rule, const struct pw_entry *holder)
{
	static const struct {
		const char *rule, *text;
	} texts[] = {
		{ "listener", "a listening socket blocks every other bind of its address" },
		{ "wildcard_listener", "a wildcard listener holds every address of its port" },
		{ "no_reuseaddr", "sharing a bound address needs SO_REUSEADDR on both sockets" },
		{ "reuseport_uid",
		  "an SO_REUSEPORT group admits only sockets created by the same uid" },
		{ "time_wait",
		  "TIME_WAIT entries hold the port until they expire unless both sockets set "
		  "SO_REUSEADDR" },
		{ "four_tuple",
		  "that local address is already connected to the same remote address and port" },
		{ "ephemeral_exhausted", "no free port is left in ip_local_port_range" },
		{ "no_local_address",
		  "no interface of that network namespace has the address (see ip_nonlocal_bind in "
		  "ip(7))" },
		{ "unknown_holder", "no socket portwatch can see explains the refusal" },
	};
	const char *text = "the kernel refused the address";
	char who[128] = "", addr[PW_ADDRSTRLEN], peer[PW_ADDRSTRLEN + 16] = "", raddr[PW_ADDRSTRLEN];

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (!strcmp(rule, texts[i].rule))
			text = texts[i].text;
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
