/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * bindbucket.h - what portwatchd knows of the kernel's TCP bind buckets
 * (struct inet_bind_bucket, include/net/inet_hashtables.h; "tb" in the
 * kernel): one record per (netns, TCP port) holding the bucket's
 * fast-path fields (struct rules_tb), replayed from bind and listen events
 * in the order the kernel saw them, as inet_csk_update_fastreuse() in
 * net/ipv4/inet_connection_sock.c sets them. inet_csk_get_port() admits a
 * socket through those fields without a conflict check, so predictions
 * (rules_predict()) need them.
 *
 * The table knows nothing of the monitor: what it needs of the ownership
 * table and of the last namespace walk is passed in. All times are
 * CLOCK_REALTIME ns; ports are in host order; netns is the namespace's
 * inode number.
 */
#ifndef PORTWATCH_BINDBUCKET_H
#define PORTWATCH_BINDBUCKET_H

#include <stddef.h>
#include <stdint.h>

#include "portwatch/event.h"
#include "rules.h"
#include "table.h"

/*
 * Slots of a new struct bindbucket_table. The records sit in the slots
 * (open addressing), which double whenever three quarters are in use:
 * under bind churn on kernel-chosen ports a departed listener's record
 * stays BINDBUCKET_ALIVE_NS, so one busy namespace alone can hold a record
 * for each of its ~28k ephemeral ports (ip_local_port_range), and the
 * fixed 4,096 hash chains this replaced made every lookup walk several
 * cache misses (perf under 2-process TCP bind churn: tb_find() 14-27 %
 * of the daemon's CPU).
 */
#define BINDBUCKET_SLOTS 4096

/*
 * At most this many records (96 bytes each, in at most 2^19 slots: 48
 * MiB): past it a new bucket gets no record, as after a restart of the
 * daemon (the prediction then has no fast-path fields for that port), so
 * that a user binding ports in many namespaces cannot grow the daemon
 * without bound. Counted in bindbucket_table.over.
 */
#define BINDBUCKET_MAX (1U << 18)

/*
 * How long a connected or listening socket's departure may keep its
 * bucket: TCP_TIMEWAIT_LEN (60 s, include/net/tcp.h) for its TIME_WAIT
 * entries, and as long for the last walk's view of the namespace.
 */
#define BINDBUCKET_ALIVE_NS (60ULL * 1000000000ULL)

struct bindbucket_rec; /* one bucket, private to bindbucket.c */

/*
 * The records, keyed by (netns, TCP port); owned by whoever embeds it
 * (bindbucket_init() / bindbucket_free()). A table whose slots are NULL
 * (zeroed, or freed) is empty and every call on it does nothing.
 */
struct bindbucket_table {
	struct bindbucket_rec *slots;  /* nslots records, private to bindbucket.c */
	size_t nslots;                 /* a power of two, >= BINDBUCKET_SLOTS */
	size_t n;                      /* records held, <= BINDBUCKET_MAX */
	uint64_t over;                 /* buckets not recorded: BINDBUCKET_MAX reached, or no memory to grow */
};

/*
 * The sockets of one netns that the ownership table does not hold
 * (TIME_WAIT entries, autobound connections, accepted children), from the
 * caller's last namespace walk (monitor_kernel_extra()): borrowed for the
 * duration of one call. The functions below take NULL for "no walk".
 */
struct bindbucket_walk {
	const struct pw_sock *socks;
	size_t n;
	uint32_t netns;   /* the namespace walked */
	uint64_t time_ns; /* CLOCK_REALTIME ns of the walk; 0: none was made */
};

/* An empty table: 0 or -ENOMEM. */
int bindbucket_init(struct bindbucket_table *t);
/* Free every record and the slots; t is empty afterwards. */
void bindbucket_free(struct bindbucket_table *t);

/*
 * The fast-path fields of the bucket of (netns, TCP port), or NULL when no
 * bind was seen there. Points into t: valid until the next call that
 * changes t.
 */
const struct rules_tb *bindbucket_get(const struct bindbucket_table *t, uint32_t netns,
				      uint16_t port);

/* The kernel has no socket on (netns, TCP port) any more: its bucket is gone. */
void bindbucket_forget(struct bindbucket_table *t, uint32_t netns, uint16_t port);

/*
 * sk joined its TCP port at now, by bind() (listen 0) or listen() (listen
 * 1); others: the ownership table holds other sockets on that port. As
 * inet_csk_get_port() -> inet_csk_update_fastreuse(): the bucket is new
 * (rules_tb_join() first) when no other socket is on the port, no
 * departed connected or listening socket may still keep it (now >= the
 * record's keep-alive end, bindbucket_keep_alive()) and the walk, when of
 * sk's netns and less than BINDBUCKET_ALIVE_NS old, shows no other TCP
 * socket on the port. A bucket that had sockets but no record starts
 * connect()-made (-1: no fast path), which admits nobody the slow path
 * refuses. Not TCP, port 0, or no memory: nothing recorded.
 */
void bindbucket_join(struct bindbucket_table *t, const struct pw_sock *sk, int others,
		     int listen, const struct bindbucket_walk *w, uint64_t now);

/*
 * A held TCP socket e (as the ownership table has it, still in table)
 * left its port at now. When it was only bound (PW_TCP_CLOSE), nothing
 * keeps the bucket (now >= keep-alive end), the table holds no other
 * socket on the port and the walk, when of e's netns, shows none either,
 * the kernel freed the bucket (inet_put_port() -> inet_bind_bucket_destroy()
 * in net/ipv4/inet_hashtables.c): its record goes, so that a connect()
 * that makes the port's next bucket is not taken for a bind().
 */
void bindbucket_left(struct bindbucket_table *t, const struct pw_table *table,
		     const struct pw_entry *e, const struct bindbucket_walk *w, uint64_t now);

/*
 * A connected or listening TCP socket sk went away at now: its TIME_WAIT
 * entries or accepted children may keep its bucket until now +
 * BINDBUCKET_ALIVE_NS (never shortened).
 */
void bindbucket_keep_alive(struct bindbucket_table *t, const struct pw_sock *sk, uint64_t now);

/*
 * Drop the records of buckets nothing can hold at now: no socket of table
 * on the port and the keep-alive end reached (now >= it). Reconciliation
 * calls it once the table matches the kernel.
 */
void bindbucket_sweep(struct bindbucket_table *t, const struct pw_table *table, uint64_t now);

#endif /* PORTWATCH_BINDBUCKET_H */
