/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * natdiv.h - what the nftables rules of the followed namespaces (nat.h
 * reads them) do to the table's listeners: diversions, the sockets tproxy
 * rules feed, and Port Shadow exposure, with their alerts (raised through
 * monitor_raise()).
 *
 * Diversions: a (rule, listener address) pair where a rule of natrule.h
 * covers a TCP listener or bound UDP socket of the table (by address, so a
 * service restarting on it keeps its pair). Each new pair raises
 * diversion/nat_redirect once (notice for Docker's and kube-proxy's
 * chains, warning otherwise); a pair whose rule or listener is gone moves
 * to the `cleared` history (NAT_CLEARED entries). natdiv_rematch() runs
 * on every read of a namespace and once a second for namespaces with
 * diverting rules, so a listener that starts after the rule is seen too.
 * The socket that gets the traffic: on the target port in the rule's
 * namespace, or, for a dnat to an address, in the namespace that has that
 * address (a container behind Docker's DNAT).
 *
 * tproxy: the kernel hands tproxied traffic only to a socket with
 * IP_TRANSPARENT (nf_tproxy_get_sock_v4/v6(), net/ipv4/netfilter/
 * nf_tproxy_ipv4.c): a tproxy rule counts only when one listens on its
 * target port, and that socket then holds every port the rule matches.
 *
 * Port Shadow (CVE-2021-3773): a namespace with forwarding on and a
 * masquerade/snat rule gets one exposure/port_shadow advisory per call of
 * natdiv_shadow() (once per ruleset read) whose exposed set - the
 * listeners no mitigation protects, natrule_shadow_mitigated() - is not
 * empty and differs from the one last advised.
 *
 * Enters namespaces (snap_netns_call()) for IP_TRANSPARENT and address
 * look-ups only: not for control requests (ctl_nat.c only reads).
 */
#ifndef PORTWATCH_NATDIV_H
#define PORTWATCH_NATDIV_H

#include <stddef.h>
#include <stdint.h>

#include "monitor.h"
#include "natrule.h"
#include "snap.h"
#include "table.h"

#define NAT_CLEARED 32 /* cleared diversions kept for `diversions` */
/*
 * Bounds on what one namespace's ruleset, which anyone may load in a
 * namespace of its own, makes the daemon hold and compare each second:
 * (rule, listener) pairs per re-match of a namespace, and diversions in
 * force in all. Past them pairs are not recorded (natdiv.not_kept).
 */
#define NAT_NS_MAX_PAIRS 1024
#define NAT_MAX_DIV 8192

/* One diversion: traffic of a listener taken by a rule. */
struct nat_diversion {
	uint32_t netns;
	uint8_t transparent;   /* NATRULE_TPROXY: the target socket has IP_TRANSPARENT
				* (natdiv_target_transparent()) */
	uint8_t target_local;  /* target is a socket of the table (of this namespace, or of
				* the one a dnat's address belongs to) */
	struct natrule rule;   /* copy */
	struct pw_entry listener; /* the socket that loses the traffic (copy) */
	struct pw_entry target;   /* the socket that gets it (copy), when target_local */
	uint64_t first_ns;     /* CLOCK_REALTIME ns it was found */
	uint64_t cleared_ns;   /* in the cleared history: when it ended; 0 in force */
	uint64_t alert_id;     /* its diversion/nat_redirect alert; 0 silenced or folded */
	char cleared_why[32];  /* "rule removed", "listener gone", "namespace gone" */
};

/* The socket a tproxy rule hands traffic to, and whether it is transparent. */
struct natdiv_tproxy {
	uint64_t inode;      /* 0: none listens on the rule's target port (or not looked up) */
	int8_t transparent;  /* 1, 0, or -1 not known (natdiv_target_transparent() failed) */
};

/* What one namespace's ruleset is, for the diversions. */
struct natdiv_ns {
	uint32_t netns;
	int forwarding;             /* ip_forward or ipv6 forwarding, at the last read */
	struct natrule_set rules;   /* of the last read; owned */
	struct natdiv_tproxy *tp;   /* per rule of `rules` (tproxy ones used); owned */
	uint64_t shadow_sig;        /* exposed set last advised; 0 none */
};

/* The diversions of every followed namespace. */
struct natdiv {
	struct snap *snap;          /* borrowed */
	struct pw_monitor *mon;     /* borrowed: the table, and monitor_raise() */
	struct nat_diversion *div;  /* in force; owned */
	size_t ndiv, capdiv;
	struct nat_diversion cleared[NAT_CLEARED]; /* ring, oldest overwritten */
	size_t ncleared;            /* entries ever cleared */
	uint64_t found;             /* diversions found, in all */
	uint64_t advisories;        /* exposure/port_shadow advisories raised */
	uint64_t not_kept;          /* pairs not recorded past NAT_NS_MAX_PAIRS or NAT_MAX_DIV,
				     * counted at each re-match while it lasts */
};

/* A new ruleset for s: takes what *rs owns (zeroed); the tproxy targets are forgotten. */
void natdiv_set_rules(struct natdiv_ns *s, struct natrule_set *rs);
/* Free what s owns; accepts a zeroed struct. */
void natdiv_ns_free(struct natdiv_ns *s);
/* Free what n owns; accepts a zeroed struct. */
void natdiv_free(struct natdiv *n);

/*
 * Match s's rules against the table's sockets of its namespace: new pairs
 * are raised (diversion/nat_redirect) and recorded, pairs that are gone
 * cleared ("rule removed", "listener gone"), the tproxy targets looked up
 * again. now: CLOCK_REALTIME ns. Out of memory keeps what is in force;
 * so do more than NAT_NS_MAX_PAIRS pairs (the first ones are recorded,
 * none cleared, the rest counted in not_kept).
 */
void natdiv_rematch(struct natdiv *n, struct natdiv_ns *s, uint64_t now);

/* Port Shadow of namespace s after a read of its ruleset (see above). */
void natdiv_shadow(struct natdiv *n, struct natdiv_ns *s, uint64_t now);

/* Clear every diversion of netns (it is gone), with why as the reason. */
void natdiv_clear_netns(struct natdiv *n, uint32_t netns, const char *why, uint64_t now);

/*
 * 1 when the table entry e (a socket of its namespace) has IP_TRANSPARENT
 * set, 0 when not, -errno when it cannot be told: the flag the table
 * recorded (pw_sock_transparent()) when set, else asked of the kernel
 * (sock_diag INET_DIAG_SOCKOPT, diag_sockopt(), inside e's namespace),
 * which also covers sock_diag records whose flags are unknown.
 */
int natdiv_target_transparent(struct natdiv *n, const struct pw_entry *e);

/*
 * The rules of s that cover a socket like sk (protocol, family, v6only,
 * address, port): fn per rule, with, for a tproxy rule, the inode of the
 * socket listening on its target port as last looked up (0 none or not
 * known) and whether it is transparent (1, 0, -1 not known).
 */
void natdiv_rules_on(const struct natdiv_ns *s, const struct pw_sock *sk,
		     void (*fn)(const struct natrule *r, uint64_t target_inode, int transparent,
				void *arg),
		     void *arg);

/* The cleared diversion i (0 = the most recent), NULL past the history. */
const struct nat_diversion *natdiv_cleared(const struct natdiv *n, size_t i);

/* The alert message of a diversion (NUL-terminated, truncated to len). Pure. */
void natdiv_message(char *buf, size_t len, const struct nat_diversion *d);

#endif /* PORTWATCH_NATDIV_H */
