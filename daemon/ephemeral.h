/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ephemeral.h - ephemeral-port exhaustion: a connect() that needed a
 * local port (__inet_hash_connect() in net/ipv4/inet_hashtables.c, for
 * TCP) or a bind() of port 0 (inet_csk_find_open_port() in
 * net/ipv4/inet_connection_sock.c; udp_lib_get_port() for UDP) found every
 * port of ip_local_port_range taken or reserved. Failures of one netns
 * less than EPHEMERAL_QUIET_NS apart are one episode, which deserves one
 * alert; this module says when one starts and fills the conflict's
 * details (struct pw_ephemeral), and the caller raises the alert.
 *
 * Times are CLOCK_REALTIME ns; ports in host order, addresses in network
 * order (struct pw_sock); netns is the namespace's inode number.
 */
#ifndef PORTWATCH_EPHEMERAL_H
#define PORTWATCH_EPHEMERAL_H

#include <stddef.h>
#include <stdint.h>

#include "report.h"
#include "rules.h"
#include "table.h"

#define EPHEMERAL_SLOTS 64
/* Failures this far apart (or less) are one episode; a gap longer than this starts another. */
#define EPHEMERAL_QUIET_NS (30ULL * 1000000000ULL)

/* The episode of one netns. */
struct ephemeral_episode {
	uint32_t netns;
	uint64_t last_ns; /* CLOCK_REALTIME ns of the last failure; 0 = none */
};

/*
 * One episode per netns, direct-mapped by netns (a collision replaces the
 * other netns's episode, which then starts again). Zeroed: no episode.
 * Fixed size, embedded by the caller: nothing to free.
 */
struct ephemeral_episodes {
	struct ephemeral_episode slot[EPHEMERAL_SLOTS];
};

/*
 * cf is a conflict of op (RULES_OP_CONNECT from an unbound socket, or
 * RULES_OP_BIND of port 0) whose rule is ephemeral_exhausted, at now: the
 * failure joins its netns's episode or starts one. Fills cf->eph (has_eph
 * set) with the range, the ports of it in use (toward cf's destination for
 * a connect, at all for a bind) and their top PW_EPH_TOP owners, counting
 * the sockets of table and extra (the netns's sockets table does not hold,
 * from a namespace walk; borrowed, may be NULL with nextra 0). ports: the
 * netns's range (sysctl_read_ports()); NULL when it could not be read,
 * which leaves cf->eph zeroed. When an episode starts, sockets no table
 * entry owns are attributed through one /proc scan (proc_sockmap_scan()).
 *
 * Returns 1 when the failure starts an episode, the caller's cue for one
 * resource/ephemeral_exhausted alert, with *top (the top owner's socket
 * and owner; zeroed, owner.pid 0, when none) as its holder and
 * ephemeral_message() as its text; 0 when it continues one.
 */
int ephemeral_conflict(struct ephemeral_episodes *t, struct pw_conflict *cf, enum rules_op op,
		       const struct rules_ports *ports, const struct pw_table *table,
		       const struct pw_sock *extra, size_t nextra, uint64_t now,
		       struct pw_entry *top);

/*
 * A bind() of port 0 in netns succeeded: the range has room again, and the
 * netns's episode ends (the next failure starts another).
 */
void ephemeral_end(struct ephemeral_episodes *t, uint32_t netns);

/*
 * The alert text of an episode that cf (filled by ephemeral_conflict())
 * starts: who failed, with what errno, how much of the range is in use and
 * by whom. NUL-terminated, truncated to len.
 */
void ephemeral_message(char *buf, size_t len, const struct pw_conflict *cf, enum rules_op op);

#endif /* PORTWATCH_EPHEMERAL_H */
