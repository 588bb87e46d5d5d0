/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * rules.h - Linux's address-reuse rules, as pure functions over struct
 * pw_sock (event.h), and the classification of what portwatch reports.
 *
 * Kernel sources followed (net/ipv4, net/ipv6, Linux 6.x):
 *   overlap       inet_rcv_saddr_equal(), ipv6_rcv_saddr_equal(),
 *                 ipv4_rcv_saddr_equal()       (net/ipv4/inet_connection_sock.c)
 *   TCP bind      inet_bind_conflict(), called from inet_csk_get_port() with
 *                 relax = true at bind(2) and again at listen(2)
 *                 (inet_csk_listen_start()) with the socket already LISTEN
 *   UDP bind      udp_lib_lport_inuse()        (net/ipv4/udp.c)
 *   connect       __inet_check_established()   (net/ipv4/inet_hashtables.c)
 *
 * Sockets are assumed to be in one netns, of one protocol and on one port:
 * callers take them from one table bucket. Device binding
 * (SO_BINDTODEVICE) is not modelled. Nothing here allocates.
 *
 * Known differences, both rare: inet_csk_get_port() first tries fast paths
 * (tb->fastreuse, sk_reuseport_match()) computed from the flags each socket
 * had when it joined the bucket, so a holder that clears SO_REUSEADDR or
 * SO_REUSEPORT after binding may still let a contender in where
 * rules_blocks() says no; and udp_lib_lport_inuse() accepts at the first
 * SO_REUSEPORT-compatible socket without looking at the rest of the port.
 * Both only change which holders a conflict lists.
 */
#ifndef PORTWATCH_RULES_H
#define PORTWATCH_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "portwatch/event.h"
#include "table.h"

/* Operations whose failures are recorded as conflicts. */
enum rules_op {
	RULES_OP_BIND,
	RULES_OP_LISTEN,
	RULES_OP_CONNECT,
};

/* Alert severities (DESIGN.md contract), ordered by urgency. */
enum rules_severity {
	RULES_SEV_NONE = 0,
	RULES_SEV_NOTICE,
	RULES_SEV_WARNING,
	RULES_SEV_CRITICAL,
};

/* What a successful bind of one owner group over another's socket is. */
struct rules_alert {
	const char *kind;   /* "hijack_attempt", "reuse_collision"; NULL: nothing */
	const char *reason; /* "shadow_wildcard", "reuseport_join", "udp_share", "shared_bind", ... */
	enum rules_severity severity;
};

/*
 * Do the local addresses of a and b overlap, as the kernel's bind conflict
 * check sees them (inet_rcv_saddr_equal() with match_wildcard = true)?
 * An IPv4 socket counts as its v4-mapped IPv6 address; a wildcard matches
 * every address of its family, and an IPv6 wildcard without IPV6_V6ONLY
 * also every IPv4 address. Symmetric.
 */
int rules_overlap(const struct pw_sock *a, const struct pw_sock *b);

/*
 * How wide a socket's local address is: 0 a specific address, 1 one
 * family's wildcard (0.0.0.0, or [::] with IPV6_V6ONLY), 2 a dual-stack
 * [::]. A narrower socket overlapping a wider one shadows it: delivery
 * prefers the most specific match (compute_score() in net/ipv4/udp.c and
 * inet_lhash2_lookup() in net/ipv4/inet_hashtables.c).
 */
int rules_width(const struct pw_sock *s);

/*
 * Would holder h make a bind of c fail (EADDRINUSE)? c carries the
 * requested address and c's flags; c->sk_uid is c's creator uid.
 * For TCP this is inet_bind_conflict() with relax = true; for a listen()
 * of c, pass c->state = LISTEN (the kernel re-checks the bucket then).
 * For UDP, udp_lib_lport_inuse(). Overlap is checked too.
 */
int rules_blocks(const struct pw_sock *c, const struct pw_sock *h);

/*
 * The rule (DESIGN.md contract name) by which holder h refuses c, for a
 * holder that rules_blocks(): "listener", "wildcard_listener",
 * "reuseport_uid", "no_reuseaddr", "time_wait".
 */
const char *rules_block_rule(const struct pw_sock *c, const struct pw_sock *h);

/* Rank of a rule name for picking the one to report: higher wins. */
int rules_rule_rank(const char *rule);

/*
 * Classify a successful bind (or listen) of c over holder h of ANOTHER
 * owner group (callers skip same uid + same exe). uid_c/uid_h are the
 * owners' uids, which decide the severity of a hijack: critical across
 * uids, warning under one uid.
 *   - c narrower than h (rules_width) -> hijack_attempt/shadow_wildcard
 *   - both SO_REUSEPORT               -> hijack_attempt/reuseport_join
 *   - UDP, SO_REUSEADDR               -> hijack_attempt/udp_share
 *   - TCP, SO_REUSEADDR, not listening-> reuse_collision/shared_bind (warning)
 * Returns 1 and fills *out when it is an alert, 0 when the addresses do
 * not overlap.
 */
int rules_classify_bind(const struct pw_sock *c, uint32_t uid_c, const struct pw_sock *h,
			uint32_t uid_h, struct rules_alert *out);

/* "critical", "warning", "notice" (NULL for NONE). */
const char *rules_severity_name(enum rules_severity sev);
/* "bind", "listen", "connect". */
const char *rules_op_name(enum rules_op op);

/*
 * One sentence (NUL-terminated, truncated to len) naming what the rule
 * means for this holder, e.g. "pid 17 (nginx, uid 33) listens on
 * 0.0.0.0:80/tcp, and a wildcard listener holds every address of its
 * port". holder may be NULL (then the rule alone is explained).
 */
void rules_explain(char *buf, size_t len, const char *rule, const struct pw_entry *holder);

#endif /* PORTWATCH_RULES_H */
