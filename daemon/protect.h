/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * protect.h - protected ports: who may bind a port (portwatch.conf(5),
 * section [protect]). Pure: parsing, printing and matching.
 *
 *   [protect]
 *   mode = off | monitor | enforce
 *   takeover = protected | listeners | off
 *   protect = PROTO PORT[-PORT] [ADDR] [netns=NS] SELECTOR...
 *
 * SELECTOR is exe=PATH, unit=NAME, uid=UID|USER (as in allow rules) or
 * cgroup=PATH, a cgroup v2 directory and its subtree ("/system.slice/
 * nginx.service" holds ".../nginx.service/worker" too). A rule protects
 * its ports on every address that overlaps ADDR (default: every address of
 * both families) in netns NS (an inode number, or a name of
 * /run/netns; default: every namespace). A bind there is the owner's when
 * one selector matches the caller; anybody else's is a hijack attempt:
 * mode monitor raises hijack_attempt/protected_port, mode enforce also
 * makes the kernel refuse it with EPERM (protectload.h).
 */
#ifndef PORTWATCH_PROTECT_H
#define PORTWATCH_PROTECT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "table.h"

enum pw_protect_mode {
	PW_PROTECT_OFF = 0, /* rules parsed and shown, nothing else */
	PW_PROTECT_MONITOR, /* alert on a non-owner's bind */
	PW_PROTECT_ENFORCE, /* and refuse it in the kernel */
};

/*
 * Takeover protection in mode enforce (hold.h): which ports are kept for
 * their owner during the takeover window after the owner's socket went away.
 */
enum pw_protect_takeover {
	PW_TAKEOVER_PROTECTED = 0, /* default: protected addresses (TCP listener, UDP socket) */
	PW_TAKEOVER_LISTENERS,     /* and the port of every TCP listener (opt-in) */
	PW_TAKEOVER_OFF,           /* none */
};

enum pw_psel_type {
	PW_PSEL_EXE,    /* owner.exe equals value, or its (dev, inode) the file's at value */
	PW_PSEL_UNIT,   /* owner.unit equals value */
	PW_PSEL_UID,    /* owner.uid equals uid */
	PW_PSEL_CGROUP, /* the caller's cgroup v2 path is value or below it */
};

struct pw_psel {
	enum pw_psel_type type;
	uint32_t uid;
	uint64_t exe_ino; /* PW_PSEL_EXE: the file at value, 0 until protect_resolve_exes() */
	uint32_t exe_dev; /* kernel encoding */
	char value[PW_EXE_LEN];
};

/* Counters of one rule since the daemon started or the rule was loaded. */
struct pw_protect_counts {
	uint64_t allowed; /* owner's binds seen */
	uint64_t refused; /* non-owner binds the kernel refused (enforce) */
	uint64_t alerted; /* protected_port alerts raised */
};

struct pw_protect_rule {
	uint8_t protocol;          /* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t port_lo, port_hi; /* host order, inclusive */
	uint16_t family;           /* 0: every address; AF_INET/AF_INET6: addr */
	uint8_t addr[16];          /* network order, IPv4 in bytes 0..3 (v4-mapped given: IPv4) */
	uint32_t netns;            /* netns inode, 0: every namespace */
	char netns_text[64];       /* as written ("" none) */
	struct pw_psel *sel;       /* owned; nsel >= 1 entries */
	size_t nsel;
	unsigned int line;         /* of the configuration file */
	struct pw_protect_counts n;
};

struct pw_protect {
	enum pw_protect_mode mode;
	enum pw_protect_takeover takeover;
	uint32_t takeover_netns;       /* listeners: only this netns inode; 0 every one */
	char takeover_netns_text[64];  /* as written ("" none) */
	struct pw_protect_rule *rules; /* owned; nrules entries, in file order */
	size_t nrules;
	char path[4096];               /* the file the rules come from ("" none) */
};

/* Free what p owns and zero it (mode off); accepts a zeroed p. */
void protect_free(struct pw_protect *p);

/* "off", "monitor", "enforce"; parse: the mode or -EINVAL. */
const char *protect_mode_name(enum pw_protect_mode mode);
int protect_parse_mode(const char *text);
/* "protected", "listeners", "off". */
const char *protect_takeover_name(enum pw_protect_takeover t);
/*
 * Parse the value of `takeover`: "protected", "off", or "listeners"
 * optionally followed by " netns=NS" (an inode number or a name of
 * netns_dir) into p. Returns 0, or -EINVAL with what is wrong in err.
 */
int protect_set_takeover(struct pw_protect *p, const char *value, const char *netns_dir,
			 char *err, size_t errlen);
/* The value of `takeover` in the file's own syntax, e.g. "listeners netns=web". */
void protect_takeover_text(const struct pw_protect *p, char *buf, size_t len);

/*
 * Parse the value of a `protect` line and append the rule (line recorded).
 * netns names are looked up under netns_dir (normally /run/netns), uid
 * names with getpwnam(3). Returns 0, or -EINVAL (-ENOMEM) with what is
 * wrong in err.
 */
int protect_add(struct pw_protect *p, const char *value, unsigned int line,
		const char *netns_dir, char *err, size_t errlen);

/* The rule in the file's own syntax, e.g. "udp 53 127.0.0.1 exe=/usr/sbin/unbound". */
void protect_rule_text(const struct pw_protect_rule *r, char *buf, size_t len);

/* (dev, inode) of every exe= selector from the file at its path; missing ones get 0. */
void protect_resolve_exes(struct pw_protect *p);

/*
 * Does rule r cover a bind of sk (protocol, lport, netns, family, laddr,
 * v6only)? Port, netns and address overlap: a wildcard bind overlaps
 * every address of its family, [::] every IPv4 address too (even with
 * IPV6_V6ONLY, which the kernel's cgroup/bind6 hook cannot see), and a
 * v4-mapped IPv6 address is its IPv4 address.
 */
int protect_covers(const struct pw_protect_rule *r, const struct pw_sock *sk);

/* Is o (cgroup: its cgroup v2 path, NULL when unknown) one of r's owners? */
int protect_owner_allowed(const struct pw_protect_rule *r, const struct pw_owner *o,
			  const char *cgroup);

/*
 * The first rule that covers a bind of sk, or NULL when the address is
 * not protected. *allowed says whether o may bind it: when several rules
 * cover sk, o must be an owner under each of them, and the rule returned
 * is the first that refuses o (the first rule when none does).
 */
struct pw_protect_rule *protect_match(const struct pw_protect *p, const struct pw_sock *sk,
				      const struct pw_owner *o, const char *cgroup, int *allowed);

/* Counters of the rules of old that are in p too (same text), carried over a reload. */
void protect_keep_counts(struct pw_protect *p, const struct pw_protect *old);

/* Is any rule's port in lo..hi (host order) for protocol (0: either)? The first, or NULL. */
const struct pw_protect_rule *protect_in_range(const struct pw_protect *p, uint8_t protocol,
					       uint16_t lo, uint16_t hi);

#endif /* PORTWATCH_PROTECT_H */
