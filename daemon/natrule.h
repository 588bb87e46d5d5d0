/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * natrule.h - an nftables ruleset, as libnftables prints it in JSON
 * (`nft -j list ruleset`, libnftables-json(5), schema version 1), reduced to
 * what takes a local listener's traffic without a bind conflict, and to what
 * decides a namespace's exposure to Port Shadow (CVE-2021-3773). Pure: no
 * I/O; nat.c feeds it the text libnftables returned.
 *
 * Diversions: every `dnat`, `redirect` or `tproxy` statement (and the
 * iptables-nft compat targets DNAT, REDIRECT, TPROXY, whose arguments
 * libnftables cannot print) in a chain that hook prerouting or output
 * reaches, itself or through `jump`/`goto` from such a base chain of the
 * same table (the kernel evaluates a regular chain only when a rule jumps
 * to it: nft_do_chain(), net/netfilter/nf_tables_core.c). The conditions
 * on the way (the jumping rule's matches) are not kept: a rule is taken to
 * see all the traffic its chain can see. Of a rule's own matches, three
 * decide which listeners it covers: the layer-4 protocol (`meta l4proto`,
 * `ip protocol`, `ip6 nexthdr`, a `tcp`/`udp` payload), the destination
 * port (`tcp|udp|th dport` against a value, range, anonymous set or a
 * named set of the same table, with ==, !=, <, <=, >, >=) and the
 * destination address (`ip|ip6 daddr` against an address, prefix or set
 * of them; != covers everything). Any other match (source address, input
 * interface, marks, xt matches) only narrows which packets are taken: the
 * rule still covers the port, and `conditions` says that it has some.
 *
 * Port Shadow: a masquerade or snat statement in a chain reached from
 * hook postrouting makes a forwarding namespace exposed; the netfilter
 * self-test of the fix's revert (tools/testing/selftests/net/netfilter/
 * nft_nat.sh, test_port_shadow_{filter,notrack,pat}) names the three rule
 * sets that protect a local service port P: a forward-hook rule dropping
 * or rejecting packets whose source port is P; a `notrack` of P (prerouting
 * by destination port, or output by source port); a masquerade/snat whose
 * port range starts above P (the source port is remapped out of reach).
 */
#ifndef PORTWATCH_NATRULE_H
#define PORTWATCH_NATRULE_H

#include <stddef.h>
#include <stdint.h>

#include "portwatch/event.h"

#define NATRULE_NAME_LEN 64   /* table and chain names (nft allows 256: longer ones are cut) */
#define NATRULE_TEXT_LEN 256  /* a rule's text, as `nft list` prints it (cut when longer) */
#define NATRULE_RANGES 16     /* port ranges kept per match; more: truncated, treated as any */
#define NATRULE_ADDRS 8       /* destination addresses kept per rule; more: treated as any */

/* Hooks, as bits of struct natrule.hooks. */
#define NATRULE_HOOK_PREROUTING 0x01
#define NATRULE_HOOK_OUTPUT 0x02
#define NATRULE_HOOK_POSTROUTING 0x04
#define NATRULE_HOOK_FORWARD 0x08
#define NATRULE_HOOK_INPUT 0x10

/* Layer-4 protocols, as bits of natrule_ports.protos; 0 = not matched (any). */
#define NATRULE_TCP 0x01
#define NATRULE_UDP 0x02

enum natrule_action {
	NATRULE_DNAT = 1, /* dnat: to another address and/or port */
	NATRULE_REDIRECT, /* redirect: to a port of the namespace's own address */
	NATRULE_TPROXY,   /* tproxy: to a transparent socket of this namespace */
	NATRULE_XT,       /* an iptables-nft compat target (DNAT, REDIRECT, TPROXY) whose
			   * destination the rule's text did not give either
			   * (natrule_set_text() turns the others into DNAT/REDIRECT,
			   * xt_name kept) */
};

/* Who wrote the rule, from its chain's name. */
enum natrule_origin {
	NATRULE_ORIGIN_OTHER = 0,
	NATRULE_ORIGIN_DOCKER, /* chain DOCKER* (dockerd's own NAT chains) */
	NATRULE_ORIGIN_KUBE,   /* chain KUBE-* (kube-proxy's, and the hostport chains) */
};

struct natrule_range {
	uint16_t lo, hi; /* host order, inclusive */
};

/* Which ports a match admits. */
struct natrule_ports {
	uint8_t any;  /* no port match, or one that could not be read: every port */
	uint8_t neg;  /* the ranges are the ports NOT admitted (op !=) */
	uint8_t n;
	struct natrule_range r[NATRULE_RANGES];
};

struct natrule_addr {
	uint16_t family;  /* AF_INET, AF_INET6 */
	uint8_t plen;     /* prefix length in bits */
	uint8_t addr[16]; /* network order */
};

/* One diverting rule. */
struct natrule {
	char family[8];   /* "ip", "ip6", "inet" */
	char table[NATRULE_NAME_LEN];
	char chain[NATRULE_NAME_LEN];
	uint64_t handle;  /* the rule's handle in its chain (nft -a) */
	uint8_t hooks;    /* NATRULE_HOOK_PREROUTING and/or _OUTPUT that reach it */
	uint8_t action;   /* enum natrule_action */
	uint8_t origin;   /* enum natrule_origin */
	uint8_t protos;   /* NATRULE_TCP|NATRULE_UDP; 0: any */
	uint8_t conditions; /* other matches narrow the packets it takes */
	uint8_t ndaddr;   /* 0: any destination address */
	uint8_t text_exact; /* text is the line `nft -a list ruleset` prints */
	uint8_t to_has_addr;
	uint8_t l3;       /* 4 or 6: an ip/ip6 match (or meta nfproto) limits an inet rule to
			   * one family; 0 none */
	struct natrule_ports dport;
	struct natrule_addr daddr[NATRULE_ADDRS];
	uint16_t to_port;  /* host order; 0: the packet's own port (or not visible: XT) */
	uint16_t to_family;
	uint8_t to_addr[16]; /* network order, when to_has_addr */
	char xt_name[16];    /* an iptables-nft target's name ("REDIRECT"); "" a native statement */
	char text[NATRULE_TEXT_LEN];
};

/* One Port Shadow mitigation (see above). */
struct natrule_mitigation {
	uint8_t kind;     /* NATRULE_MIT_* */
	uint8_t protos;   /* 0: any */
	uint16_t below;   /* NATRULE_MIT_REMAP: ports < below are remapped; else 0 */
	struct natrule_ports ports; /* the local service ports it protects */
};
#define NATRULE_MIT_FILTER 1  /* forward: drop/reject by source port */
#define NATRULE_MIT_NOTRACK 2 /* raw: notrack by port */
#define NATRULE_MIT_REMAP 3   /* postrouting: snat/masquerade to a port range */

struct natrule_set {
	struct natrule *rules; /* owned; in the order of the listing */
	size_t n;
	struct natrule_mitigation *mit; /* owned */
	size_t nmit;
	uint32_t nsnat;      /* masquerade/snat rules reached from postrouting */
	char snat_where[NATRULE_NAME_LEN * 2 + 48]; /* the first: "ip nat POSTROUTING handle 11" */
	uint32_t nrules_all; /* rules in the listing, diverting or not */
};

/*
 * Parse the JSON text of `list ruleset` into *s (zeroed first; free with
 * natrule_set_free() whatever the result). Rules of an unknown shape are
 * skipped, never guessed. Returns 0, -EINVAL when the text is not a
 * libnftables JSON listing, or -ENOMEM.
 */
int natrule_parse(const char *json_text, struct natrule_set *s);

/* Free what *s owns; accepts a zeroed struct. */
void natrule_set_free(struct natrule_set *s);

/*
 * Fill each rule's text from the text listing of the same ruleset with
 * handles (`nft -a list ruleset`: lines "RULE # handle N" inside
 * "table FAMILY NAME {" and "chain NAME {"), marking it text_exact; rules
 * not found there get natrule_summary(). Pure.
 */
void natrule_set_text(struct natrule_set *s, const char *nft_text);

/* A one-line summary of r in nft's syntax, for when its text is not known. Pure. */
void natrule_summary(const struct natrule *r, char *buf, size_t len);

/* Does p admit port (host order)? */
int natrule_ports_has(const struct natrule_ports *p, uint16_t port);

/*
 * Does r take traffic meant for the socket sk (a TCP listener or a bound
 * UDP socket: its protocol, family, v6only, address and port)? A rule of
 * family ip covers IPv4 sockets and dual-stack IPv6 ones (v6only 0); ip6
 * IPv6 ones; inet both. A rule that sends the packet to the same port it
 * matched, without changing its address (redirect or dnat without a
 * port and address), takes nothing and covers nothing.
 */
int natrule_covers(const struct natrule *r, const struct pw_sock *sk);

/* The port a packet for `port` is sent to by r (host order): to_port, or port itself. */
uint16_t natrule_target_port(const struct natrule *r, uint16_t port);

/*
 * Is a local service on (protocol, port) protected against Port Shadow by
 * one of s's mitigations? protocol is IPPROTO_TCP or IPPROTO_UDP. Pure.
 */
int natrule_shadow_mitigated(const struct natrule_set *s, uint8_t protocol, uint16_t port);

/* "dnat", "redirect", "tproxy", "xt"; NULL out of range. */
const char *natrule_action_name(uint8_t action);
/* "docker", "kube-proxy", NULL for NATRULE_ORIGIN_OTHER. */
const char *natrule_origin_name(uint8_t origin);

#endif /* PORTWATCH_NATRULE_H */
