/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * report.h - the records of what portwatchd reports: alerts and conflicts
 * (the DESIGN.md contract) and the details of an ephemeral-port
 * exhaustion either can carry. Data only: monitor.c fills them, two rings
 * keep the recent ones (ring.h, struct pw_monitor in monitor.h), pwjson.h
 * encodes them as JSON and alertline.h an alert as its syslog line.
 *
 * A record owns no memory: its text is in arrays inside it (NUL-terminated,
 * truncated to fit) and its kind, reason and rule are enums (rules.h,
 * named where the record is written out), so it is copied by assignment
 * or memcpy() and dropped without freeing.
 */
#ifndef PORTWATCH_REPORT_H
#define PORTWATCH_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "rules.h"
#include "table.h"

#define PW_MAX_HOLDERS 4 /* holders a conflict records; more are not listed */
#define PW_MSG_LEN 320    /* bytes of an alert's message, a conflict's explanation */

/*
 * Details of an ephemeral-port exhaustion (rule / reason
 * ephemeral_exhausted): the netns's ip_local_port_range, how many of its
 * ports are in use toward the destination (connect) or at all (bind of
 * port 0), and who holds the most of them.
 */
#define PW_EPH_TOP 3
struct pw_ephemeral {
	uint16_t lo, hi;     /* range, host order; both 0 when unreadable */
	uint32_t in_use;     /* ports */
	uint8_t raddr[16];   /* destination (connect), network order; family of the contender */
	uint16_t rport;      /* host order; 0 for a bind */
	uint32_t ntop;       /* entries of top[] set, most ports first */
	struct {
		uint32_t pid, uid, count; /* count: ports; pid 0: sockets no process holds (TIME_WAIT) */
		char comm[PW_COMM_LEN];
	} top[PW_EPH_TOP];
};

/* An alert. holder/contender are copies taken when it was raised. */
struct pw_alert {
	uint64_t id;      /* 1, 2, ... in order of raising */
	uint64_t time_ns; /* CLOCK_REALTIME ns */
	enum rules_severity severity;
	enum rules_alert_kind kind;
	enum rules_alert_reason reason;
	int result; /* 0 = the contender's call succeeded, else its errno (> 0) */
	struct pw_entry holder;
	struct pw_entry contender;
	char message[PW_MSG_LEN];
	int has_eph;              /* reason ephemeral_exhausted: eph is set */
	struct pw_ephemeral eph;
	/*
	 * A summary of folded repeats (monitor.h, alert storms): fold_count
	 * alerts like alert fold_of (same kind, reason, owner groups, netns)
	 * raised between fold_first_ns and fold_last_ns (CLOCK_REALTIME ns)
	 * on the ports fold_ports[0..fold_nports) (host order; fold_more: on
	 * others too). fold_count 0: an ordinary alert.
	 */
	uint64_t fold_count;
	uint64_t fold_of;
	uint64_t fold_first_ns, fold_last_ns;
	uint16_t fold_ports[8];
	uint8_t fold_nports;
	uint8_t fold_more;
	/*
	 * Reason protected_port (protect.h): the line of the protect rule
	 * and whether the kernel refused the bind (mode enforce, result
	 * EPERM). A holder with family 0: no owner's socket is bound.
	 */
	uint8_t enforced;
	unsigned int protect_line;
	struct pw_owner_pin pins[2]; /* holder's, contender's (monitor.c) */
};

/* A failed bind/listen/connect (EADDRINUSE / EADDRNOTAVAIL). */
struct pw_conflict {
	uint64_t id;      /* 1, 2, ... in order of recording */
	uint64_t time_ns; /* CLOCK_REALTIME ns */
	enum rules_op op;
	int err;                   /* positive errno */
	struct pw_entry contender; /* sk: requested address/port and flags; owner: caller */
	struct pw_entry holders[PW_MAX_HOLDERS]; /* sockets in the way, copies */
	size_t nholders;                         /* of holders[], 0..PW_MAX_HOLDERS */
	enum rules_rule rule;
	char explanation[PW_MSG_LEN];
	/*
	 * Rule protected: the line of the protect rule that refused the
	 * caller (0: none did), or, when takeover protection refused it,
	 * the hold's deadline (CLOCK_REALTIME ns, 0: no hold) with the
	 * departed socket the port is kept for as holders[0].
	 */
	unsigned int protect_line;
	uint64_t held_until_ns;
	int has_eph;      /* rule ephemeral_exhausted: eph is set */
	struct pw_ephemeral eph;
	struct pw_owner_pin pins[1 + PW_MAX_HOLDERS]; /* contender's, holders' (monitor.c) */
};

#endif /* PORTWATCH_REPORT_H */
