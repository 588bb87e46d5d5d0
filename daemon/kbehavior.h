/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * kbehavior.h - what the running kernel does where kernel versions
 * differ, found by trial at start-up: real sockets in a private network
 * namespace that exists only for the trial, never the version number
 * (a stable update can change a rule without changing "6.x").
 *
 * Each answer has an "unknown" value for a trial that could not run or
 * gave an answer no known kernel gives; the users of an unknown answer
 * compute every known behaviour and say "uncertain" where they differ.
 */
#ifndef PORTWATCH_KBEHAVIOR_H
#define PORTWATCH_KBEHAVIOR_H

#include "rules.h"

struct kbehavior {
	/*
	 * udp_lib_lport_inuse() (net/ipv4/udp.c) and a compatible
	 * SO_REUSEPORT socket met before a conflicting one (rules.h).
	 * Trial, all sockets of one uid, on one port: A binds 0.0.0.0 with
	 * SO_REUSEADDR, then B 0.0.0.0 with SO_REUSEADDR + SO_REUSEPORT (it
	 * goes to the head of the chain: IPv4); C binds 0.0.0.0 with
	 * SO_REUSEPORT only. C meets B first: a FIRST_DECIDES kernel admits
	 * it, an ANY_REFUSES one refuses it because of A. The control, A and
	 * B bound the other way round, must refuse C on both.
	 */
	enum rules_udp_walk udp_walk;
	/*
	 * 1: NETLINK_SOCK_DIAG lists TCP sockets that are bound but neither
	 * listening nor connected (state TCP_BOUND_INACTIVE, added in Linux
	 * 6.5); 0: it does not; -1 unknown. Trial: bind one, dump, look for
	 * its inode.
	 */
	int diag_bound_inactive;
	/*
	 * 1: the TCP bind check does not see an AF_INET6 socket on
	 * ::ffff:0.0.0.0 when an AF_INET6 socket binds a specific v4-mapped
	 * address (Linux 6.1's inet_bind2_bucket_match_addr_any(); fixed
	 * later); 0: it refuses that bind; -1 unknown (then taken as 0).
	 * Trial: TCP ::ffff:0.0.0.0:P bound, then ::ffff:127.0.0.2:P; the
	 * control, 127.0.0.2:P from an AF_INET socket, must be refused.
	 */
	int tcp_mapped_any_unseen;
	/*
	 * The uid the TCP bind check compares for SO_REUSEPORT (rules.h enum
	 * rules_reuseport_uid): sock_i_uid() or sk_uid. Trial, three rounds
	 * on three ports, the sockets created by a non-root uid U (setfsuid):
	 * listener L (SO_REUSEPORT) on 127.0.0.1:P, a plain socket on
	 * 127.0.0.2:P (it clears the bucket's fast path, so the conflict
	 * check runs), a connection to L left in its accept queue (a socket
	 * without struct socket, sk_uid U), then C of U with SO_REUSEPORT binds
	 * 127.0.0.1:P: refused on an INODE kernel (the child counts as uid 0),
	 * admitted on an SK_UID one. Controls, which every kernel answers
	 * alike: the child accepted by root (refused: sock_graft() gives it
	 * uid 0 both ways), and no connection (admitted). Needs CAP_SETUID
	 * (setfsuid(2)); without it the answer is unknown.
	 */
	enum rules_reuseport_uid reuseport_uid;
	/*
	 * What the TCP bind check of a contender on a specific address meets
	 * (rules.h RULES_B2_*): bit RULES_B2_BIT(ck, hk) set when a plain
	 * contender of kind ck (127.0.0.1 from AF_INET, ::ffff:127.0.0.1 from
	 * AF_INET6) is refused by a plain holder of kind hk (0.0.0.0, [::],
	 * [::] with IPV6_V6ONLY, ::ffff:0.0.0.0), each pair on a port of its
	 * own; RULES_B2_TW set when a plain 127.0.0.1 bind is refused by a
	 * TIME_WAIT entry of 127.0.0.1 (a loopback connection closed first by
	 * the side on that port; the control, 0.0.0.0 on that port, must be
	 * refused). tcp_bhash2_unsure: the bits whose round could not run.
	 */
	uint16_t tcp_bhash2_meets, tcp_bhash2_unsure;
};

/*
 * Run the trials in a child process inside a new network namespace
 * (unshare(CLONE_NEWNET): CAP_SYS_ADMIN) and fill *kb. The trials touch
 * no namespace but their own, which goes away with the child. Returns 0,
 * or -errno when the child could not run (fork, unshare, pipe): *kb
 * then holds the unknown values.
 */
int kbehavior_probe(struct kbehavior *kb);

/* The unknown values (unit tests, and before the probe). */
void kbehavior_unknown(struct kbehavior *kb);

#endif /* PORTWATCH_KBEHAVIOR_H */
