/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * nat.h - the nftables rulesets of every watched network namespace, and
 * the traffic they take from local listeners without a bind conflict
 * (issue 19, items 2, 4 and 6).
 *
 * Reading: for each read, a libnftables context made inside the namespace
 * (nft_ctx_new() opens its NETLINK_NETFILTER socket at once, and a netlink
 * socket keeps the namespace it was created in), asked for "list ruleset"
 * in JSON (natrule.h parses it) and, when the ruleset diverts anything, in
 * text with handles (the rules' text as `nft -a list ruleset` prints it),
 * then freed: a followed namespace costs one fd, its notification socket
 * (at most NAT_MAX_NS of them; past that, or past RLIMIT_NOFILE, a
 * namespace is not followed and stats.nat.error says why).
 *
 * Following: per namespace, a NETLINK_NETFILTER socket (libmnl) made
 * inside it and subscribed to NFNLGRP_NFTABLES: the kernel sends every
 * committed change, and NFT_MSG_NEWGEN at the end of each transaction
 * (nf_tables_commit() -> nf_tables_gen_notify(), net/netfilter/
 * nf_tables_api.c). A NEWGEN, or a lost notification (ENOBUFS), marks the
 * namespace dirty and arms a NAT_COALESCE_MS timer; the timer re-reads
 * every dirty namespace once, so a burst of transactions costs one read
 * (and one whose reads are slow waits nat_read_pause_ms() between them).
 * No polling: an unchanged ruleset is never read again.
 *
 * Namespaces, synced by nat_tick() at each housekeeping tick (each second,
 * every PW_IDLE_TICK_S seconds while the daemon is idle): the ones the snapshots
 * listed (snap_netns_list()), the nsfs mounts of /run/netns visible here,
 * and the namespaces of the table's sockets (the daemon may run in a mount
 * namespace of its own, where later ip-netns mounts do not show; a socket
 * of the namespace does): the table is walked for those only after an
 * event named a namespace not followed (nat_note_netns()), and once every
 * NAT_RETRY_TICKS seconds. Our own sockets keep a followed namespace alive,
 * so every NAT_XT_EVERY seconds each is entered again: one that nothing else
 * holds any more is dropped, and its diversions are cleared.
 *
 * What the rules do to the table's listeners (diversions, tproxy targets,
 * Port Shadow) is natdiv.h's: nat.c calls it after each read and, for
 * namespaces with diverting rules, at each tick (nat_tick()).
 *
 * iptables-legacy: x_tables rules are not in the nftables ruleset. The
 * names in /proc/net/ip_tables_names and ip6_tables_names (opened inside
 * the namespace; procfs shows the opener's namespace) say which legacy
 * tables exist: they are named in `stats` as not visible, read at each
 * sync. Their rules are not read.
 *
 * Forwarding (net.ipv4.ip_forward, net.ipv6.conf.all.forwarding) is read
 * with each ruleset, for Port Shadow.
 *
 * Single-threaded, like the rest of the daemon; needs CAP_SYS_ADMIN
 * (setns) and CAP_NET_ADMIN (nftables listing and notifications).
 */
#ifndef PORTWATCH_NAT_H
#define PORTWATCH_NAT_H

#include <stddef.h>
#include <stdint.h>

#include "monitor.h"
#include "natdiv.h"
#include "natrule.h"
#include "snap.h"
#include "table.h"

#define NAT_COALESCE_MS 20
/*
 * A namespace's ruleset is read at most once per NAT_READ_SHARE times the
 * time its last read took (nat_read_pause_ms()): a read of a ruleset of
 * 30,000 rules blocks the loop for about two seconds, and its owner can
 * commit a change every few milliseconds.
 */
#define NAT_READ_SHARE 10
#define NAT_MAX_NS 1024 /* namespaces followed at most: one notification socket each */
#define NAT_XT_LEN 96

struct nat_ns;

struct nat {
	int epoll_fd;  /* the namespaces' notification sockets and timer_fd: one fd for the loop */
	int timer_fd;  /* NAT_COALESCE_MS one-shot after a change */
	struct snap *snap;       /* borrowed */
	struct pw_monitor *mon;  /* borrowed: the table, and monitor_raise() */
	struct nat_ns **ns;      /* owned; by netns */
	size_t nns;
	struct natdiv div;        /* the diversions (natdiv.h) */
	uint64_t reads;           /* rulesets read */
	uint64_t notifications;   /* transactions notified (NEWGEN) */
	uint64_t overruns;        /* notification sockets that overflowed (ENOBUFS) */
	unsigned int ticks;       /* seconds of nat_tick() calls */
	struct {
		uint32_t netns;
		unsigned int until;   /* tick before which it is not tried again */
	} failed[16];             /* namespaces that could not be entered, by slot */
	uint32_t known[64];       /* followed namespaces, direct-mapped by netns % 64: a hint */
	int unseen;               /* a socket of a namespace not followed came since the walk */
	uint64_t walks;           /* walks of the table for such namespaces */
	int last_err;             /* -errno of the last failed read or watch; 0 none */
	uint32_t last_err_netns;
};

/*
 * Set n up (zeroed first): its epoll and timer fds. snap and mon are
 * borrowed for the daemon's lifetime. Returns 0 or -errno.
 */
int nat_init(struct nat *n, struct snap *snap, struct pw_monitor *mon);

/* The fd for the daemon's epoll loop: readable when nat_handle() has work. */
int nat_fd(const struct nat *n);

/*
 * Serve what made nat_fd() readable: drain the notification sockets
 * (marking namespaces dirty, arming the timer) and, on the timer, re-read
 * the dirty namespaces. Alerts are raised through monitor_raise().
 */
void nat_handle(struct nat *n);

/*
 * Once a second: follow the namespace list (new ones are watched and
 * read, gone ones dropped) and re-match the diversions of namespaces
 * whose ruleset diverts.
 */
void nat_tick(struct nat *n, unsigned int secs);

/*
 * A ring event's socket is in network namespace netns: when that one is
 * not followed, the next nat_tick() walks the table for such namespaces
 * (otherwise it does so once every NAT_RETRY_TICKS seconds only, for the
 * sockets a reconciliation added). O(1) for a namespace seen recently.
 */
void nat_note_netns(struct nat *n, uint32_t netns);

/*
 * How long after a read that took read_ms (CLOCK_MONOTONIC ms) the same
 * namespace is read again at the earliest, changes or not: (NAT_READ_SHARE
 * - 1) * read_ms, so that one namespace's reads take at most
 * 1/NAT_READ_SHARE of the loop. 0 for a read within NAT_COALESCE_MS. Pure.
 */
uint64_t nat_read_pause_ms(uint64_t read_ms);

/* Free everything; accepts a zeroed struct. */
void nat_free(struct nat *n);

/* Read-only views for the control commands. */

/* Namespaces watched, and the rules of natrule.h they hold, in all. */
size_t nat_namespaces(const struct nat *n);
size_t nat_rules(const struct nat *n);

/*
 * Call fn for each namespace watched: its inode, the diverting rules of
 * its last read, the x_tables tables found ("ip:nat,filter ip6:mangle",
 * "" none), its forwarding state and the -errno of its last read (0 ok).
 */
typedef void (*nat_ns_fn)(uint32_t netns, const struct natrule_set *rules, const char *xt_tables,
			  int forwarding, int err, void *arg);
void nat_foreach_ns(const struct nat *n, nat_ns_fn fn, void *arg);

/*
 * The diverting rules of namespace sk->netns that cover a socket like sk
 * (protocol, family, v6only, address, port): fn per rule, with, for a
 * tproxy rule, the inode of the socket listening on its target port as
 * last looked up (0 none or not known) and whether it is transparent (1,
 * 0, -1 not known). For `why`: a transparent socket a tproxy rule feeds
 * holds the ports the rule matches, listener or not.
 */
void nat_rules_on(const struct nat *n, const struct pw_sock *sk,
		  void (*fn)(const struct natrule *r, uint64_t target_inode, int transparent,
			     void *arg),
		  void *arg);

#endif /* PORTWATCH_NAT_H */
