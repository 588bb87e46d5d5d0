/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * table.h - the ownership table: which socket holds which local address.
 *
 * Identity of a socket is (netns inode, socket inode), as `ss -e` and
 * /proc/PID/fd show them. Sockets are also indexed by (protocol, local
 * port), which is all the kernel's own conflict checks look at first
 * (inet_csk_get_port() walks the bind bucket of one port), so every
 * overlap query is one bucket walk, and so is `owners PORT` across every
 * namespace. The namespace is left out of that hash on purpose: the same
 * port in N namespaces (N containers serving :80) shares one chain, which
 * a lookup in one namespace walks in full (the kernel's bhash mixes the
 * netns in and does not have to answer "port P anywhere"). Both indexes
 * are chained hash tables that grow by doubling; insert, lookup and
 * remove are O(1) on average.
 *
 * The table owns its entries: table_insert() copies what it is given,
 * table_remove() frees. Each entry holds a reference on its owner's
 * container record (container_ref(), container.h). Pointers returned by lookups stay valid until the
 * entry is removed or the table is freed.
 */
#ifndef PORTWATCH_TABLE_H
#define PORTWATCH_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "portwatch/event.h"
#include "strpool.h"

#define PW_COMM_LEN 16
#define PW_EXE_LEN 256
#define PW_UNIT_LEN 128

/* dev_t as the kernel encodes it in struct super_block (MKDEV of kdev_t.h). */
static inline uint32_t pw_kernel_dev(unsigned int major, unsigned int minor)
{
	return (major << 20) | minor;
}

/*
 * The process a socket is attributed to: the one that bound it (from the
 * bind event), or for sockets found by a snapshot, the lowest pid holding
 * an fd to it. uid is the real uid of that process. exe is the target of
 * /proc/PID/exe ("" when unreadable; at most PW_EXE_LEN - 1 bytes), unit
 * the systemd unit from /proc/PID/cgroup ("" when none: JSON null; at
 * most PW_UNIT_LEN - 1 bytes): both strpool.h handles, read with
 * pw_owner_exe() and pw_owner_unit(), so that the 74k sockets of a few
 * programs hold 8 bytes of them each, not 384. exe_ino/exe_dev identify
 * the executable even when the process is gone before /proc could be
 * read (the BPF side reads task->mm->exe_file): owner groups compare
 * them. ctr is the container and pod from the same cgroup path, a handle
 * of the pool of container.h (0: none; JSON null). A struct pw_owner is
 * copied by value; only the table's entries (and the monitor's owner
 * cache) hold references on its handles (table.c).
 */
struct pw_owner {
	uint64_t exe_ino; /* inode of the executable, 0 when unknown */
	uint32_t exe_dev; /* its device, kernel encoding (MAJOR << 20 | MINOR) */
	uint32_t pid;
	uint32_t uid;
	uint32_t ctr;  /* container_get() handle, 0 = none */
	uint32_t exe;  /* strpool_get() handle of the executable's path, 0 = "" */
	uint32_t unit; /* strpool_get() handle of the systemd unit, 0 = none */
	char comm[PW_COMM_LEN];
};

/*
 * The interned records (container, exe, unit) a copy of an owner keeps
 * alive: the alert and conflict histories pin their owners' records, so
 * that a history entry still names its programs however many others came
 * and went since (strpool.h, container.h keep an unheld record only
 * until STRPOOL_KEEP later ones are unheld). Zeroed: pins nothing.
 */
struct pw_owner_pin {
	uint32_t ctr, exe, unit;
};

/* Take o's records into *p (which must pin nothing yet). */
void pw_owner_pin(const struct pw_owner *o, struct pw_owner_pin *p);
/* Let go of what *p pins and zero it; a zeroed one is left as it is. */
void pw_owner_unpin(struct pw_owner_pin *p);

/* The owner's executable path; "" when unknown. */
static inline const char *pw_owner_exe(const struct pw_owner *o)
{
	return strpool_get(o->exe);
}

/* The owner's systemd unit; "" when none. */
static inline const char *pw_owner_unit(const struct pw_owner *o)
{
	return strpool_get(o->unit);
}

/* One socket of the table. */
struct pw_entry {
	struct pw_sock sk;      /* as the kernel holds it (event.h: byte orders) */
	struct pw_owner owner;
	uint64_t since_ns;      /* CLOCK_REALTIME ns when it was bound (or first seen) */
	uint64_t seen_gen;      /* reconciliation generation that last saw it */
	uint8_t udp_tail;       /* UDP: bound as IPv6 with SO_REUSEPORT, so at the tail of the
				 * kernel's port chain (rules_udp_chain_tail()), whatever
				 * setsockopt() changed since */
	uint32_t device_ifindex; /* the sk.bound_dev_if that device names */
	char device[16];        /* IFNAMSIZ: name of sk.bound_dev_if in the socket's netns
				 * (monitor_name_device()); "" none or not known */
	struct pw_entry *next_id;   /* chain of the (netns, inode) index */
	struct pw_entry *next_port; /* chain of the (netns, proto, port) index */
};

struct pw_table;

/*
 * Is the socket IP_TRANSPARENT (or IPV6_TRANSPARENT)? Such a socket may
 * receive traffic addressed to other hosts' and programs' addresses that
 * an nftables/iptables tproxy rule hands it (nf_tproxy_get_sock_v4/v6()
 * only pick transparent sockets, net/ipv4/netfilter/nf_tproxy_ipv4.c).
 * As events and snapshots saw it; 0 for sock_diag records (flags_unknown).
 */
static inline int pw_sock_transparent(const struct pw_sock *sk)
{
	return (sk->ipflags & PW_IPF_TRANSPARENT) != 0;
}

/* Is the socket IP_FREEBIND (or IPV6_FREEBIND)? (inet_addr_valid_or_nonlocal()) */
static inline int pw_sock_freebind(const struct pw_sock *sk)
{
	return (sk->ipflags & PW_IPF_FREEBIND) != 0;
}

/* A new empty table; NULL on ENOMEM. */
struct pw_table *table_new(void);
/* Free the table and every entry. Accepts NULL. */
void table_free(struct pw_table *t);

/* Number of entries. */
size_t table_size(const struct pw_table *t);

/*
 * Insert a copy of *e, or update the entry with the same (netns, inode) in
 * place (keeping its since_ns and owner when `keep_owner` is set).
 * Returns the stored entry, or NULL on ENOMEM. An entry with inode 0 is
 * refused (NULL, errno EINVAL): TIME_WAIT entries are not held.
 */
struct pw_entry *table_upsert(struct pw_table *t, const struct pw_entry *e, int keep_owner);

/* The entry with this identity, or NULL. */
struct pw_entry *table_lookup(const struct pw_table *t, uint32_t netns, uint64_t inode);

/* Remove and free the entry with this identity; 0, or -ENOENT. */
int table_remove(struct pw_table *t, uint32_t netns, uint64_t inode);

/*
 * Update an entry's local port/address/state in place; the port index is
 * rehashed when the port changes. sk must describe the same socket:
 * sk->netns and sk->inode equal the entry's (the identity index is not
 * rehashed). Used when a held socket changes (a
 * setsockopt, a listen, a state change).
 */
void table_update_sock(struct pw_table *t, struct pw_entry *e, const struct pw_sock *sk);

/*
 * Call fn for every entry on (netns, protocol, port), in no set order.
 * fn returns 0 to go on, non-zero to stop; that value is returned.
 */
int table_foreach_port(const struct pw_table *t, uint32_t netns, uint8_t protocol, uint16_t port,
		       int (*fn)(struct pw_entry *e, void *arg), void *arg);

/*
 * Call fn for every entry on (protocol, port) in any namespace, in no set
 * order: one bucket walk. Same convention as table_foreach_port().
 */
int table_foreach_lport(const struct pw_table *t, uint8_t protocol, uint16_t port,
			int (*fn)(struct pw_entry *e, void *arg), void *arg);

/* Call fn for every entry; same convention. fn must not remove entries. */
int table_foreach(const struct pw_table *t, int (*fn)(struct pw_entry *e, void *arg), void *arg);

/* Remove every entry whose seen_gen != gen; calls gone(e) first if set. Returns count. */
size_t table_sweep(struct pw_table *t, uint64_t gen, void (*gone)(struct pw_entry *e, void *arg),
		   void *arg);

#endif /* PORTWATCH_TABLE_H */
