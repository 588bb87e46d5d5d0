/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * hold.h - takeover protection (portwatch.conf(5) [protect] takeover, mode
 * enforce): ports kept for the owner whose socket went away, until the
 * takeover window ends. Pure: a table keyed by (netns, protocol, port);
 * the monitor (monitor.c) writes it, `check` reads it, and portwatchd
 * mirrors every change into protect.bpf.c's protect_holds map
 * (protectload.h), where the kernel refuses anyone else's bind with EPERM.
 *
 * A hold covers the whole port in its namespace, every address of both
 * families. Its owner is an owner group: the real uid and the executable's
 * (device, inode) of the process whose socket left.
 */
#ifndef PORTWATCH_HOLD_H
#define PORTWATCH_HOLD_H

#include <stddef.h>
#include <stdint.h>

#include "portwatch/protect.h"
#include "table.h"

struct pw_hold {
	uint32_t netns;        /* netns inode */
	uint16_t port;         /* host order */
	uint8_t protocol;      /* IPPROTO_TCP or IPPROTO_UDP; 0 = free slot */
	uint8_t pad;
	uint64_t since_ns;     /* CLOCK_REALTIME ns: the owner's socket went away */
	uint64_t until_ns;     /* CLOCK_REALTIME ns: the hold ends (since + takeover window) */
	uint64_t until_boot_ns; /* the same deadline, CLOCK_BOOTTIME ns (the kernel's clock) */
	uint64_t netns_cookie; /* the kernel's key, set when it was written (0: not written) */
	unsigned int line;     /* the protect rule covering the port, 0: takeover = listeners */
	uint64_t refused;      /* binds of others the kernel refused (seen as EPERM events) */
	struct pw_entry gone;  /* the socket that went away, with its owner */
};

/* Open addressing, linear probing; at most PW_PROTECT_MAX_HOLDS holds. */
#define HOLD_SLOTS (2 * PW_PROTECT_MAX_HOLDS)

struct pw_holds {
	struct pw_hold *slot; /* HOLD_SLOTS, owned */
	size_t n;             /* holds in use */
	uint64_t evicted;     /* holds removed before their end to make room (hold_victim()) */
	uint64_t not_kept;    /* listeners' holds not made: every slot a protect rule's */
};

/* Allocate the slots; 0 or -ENOMEM. */
int hold_init(struct pw_holds *t);
/* Free the slots; accepts a zeroed t. */
void hold_free(struct pw_holds *t);

/* The hold of (netns, protocol, port), or NULL. O(1) expected; NULL at once when empty. */
struct pw_hold *hold_find(const struct pw_holds *t, uint32_t netns, uint8_t protocol,
			  uint16_t port);

/*
 * A slot for (netns, protocol, port): the existing hold, or a new zeroed
 * one with its key set. NULL when PW_PROTECT_MAX_HOLDS are in use (the
 * caller may remove one, e.g. hold_soonest(), and try again).
 */
struct pw_hold *hold_get(struct pw_holds *t, uint32_t netns, uint8_t protocol, uint16_t port);

/* The hold whose deadline comes first, NULL when none. O(slots). */
struct pw_hold *hold_soonest(const struct pw_holds *t);

/*
 * The hold to remove when t is full, to make room for a new one of protect
 * rule `line` (0: a listener's port under takeover = listeners): the one
 * of a listener's port that ends first; for a protect rule's, when there
 * is none, the one that ends first. NULL when the new one is a listener's
 * and every hold is a protect rule's: under takeover = listeners anyone's
 * listeners make holds, and their churn must not end the holds of the
 * addresses protect rules name. O(slots).
 */
struct pw_hold *hold_victim(const struct pw_holds *t, unsigned int line);

/* Remove h (a pointer into t); pointers to other holds may move. */
void hold_remove(struct pw_holds *t, struct pw_hold *h);

/*
 * Is o the hold's owner: the same uid and the same executable (device and
 * inode), as protect.bpf.c compares them? An owner whose executable is
 * unknown (exe_ino 0) is not.
 */
int hold_is_owner(const struct pw_hold *h, const struct pw_owner *o);

/*
 * The hold in one sentence (conflicts, `why`): who the port is kept for,
 * since and until when (RFC 3339 UTC). Always NUL-terminated.
 */
void hold_explain(char *buf, size_t len, const struct pw_hold *h);

#endif /* PORTWATCH_HOLD_H */
