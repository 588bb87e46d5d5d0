/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * expected.h - the expected owner of a port: the owner group (uid,
 * executable) of the last TCP listener the table saw on a (netns, port)
 * before it went away. When that owner later asks for the port again and
 * is refused with EADDRINUSE by another owner group's socket, the port
 * was squatted while its service was down (hijack_attempt/squatted,
 * monitor.c; issue 19, item 5).
 *
 * Bounded: EXPECTED_SLOTS records, direct-mapped by (netns, protocol,
 * port); two ports that share a slot keep the one that went away last.
 * Kept across restarts in a small text file (expected_save(), written
 * atomically: FILE.tmp, fsync, rename), read at start (expected_load()).
 * File format, one record a line after the header line
 * "portwatch-expected-owners 1":
 *   NETNS PROTO PORT UID EXE_DEV EXE_INO GONE_S COMM EXE
 * numbers in decimal (PROTO 6 or 17, GONE_S the Unix time the listener
 * went away), COMM and EXE with every byte outside '!'..'~' and '%'
 * written as %XX ("-" for an empty one). Lines that do not parse are
 * skipped and counted. At most EXPECTED_SLOTS lines of at most
 * EXPECTED_LINE_MAX bytes: ~400 KiB.
 */
#ifndef PORTWATCH_EXPECTED_H
#define PORTWATCH_EXPECTED_H

#include <stddef.h>
#include <stdint.h>

#include "table.h"

#define EXPECTED_SLOTS 1024
#define EXPECTED_LINE_MAX (64 + 3 * (PW_COMM_LEN + PW_EXE_LEN))
#define EXPECTED_FILE "last_listeners"

struct expected_owner {
	uint64_t gone_ns;  /* CLOCK_REALTIME ns the listener went away; 0: empty slot */
	uint64_t exe_ino;  /* 0 unknown */
	uint32_t exe_dev;
	uint32_t netns;
	uint32_t uid;
	uint16_t port;     /* host order */
	uint8_t protocol;  /* IPPROTO_TCP */
	char comm[PW_COMM_LEN];
	/*
	 * The executable's path: a strpool handle (strpool.h), 0 when
	 * unknown. A record in a struct expected_owners holds a reference
	 * (48-byte records instead of 304: the table stays in cache, where
	 * writing a path per departed listener was 15 % of the daemon's CPU
	 * under churn); one from expected_parse() holds none.
	 */
	uint32_t exe;
};

/* r's executable path, "" when unknown. */
const char *expected_exe(const struct expected_owner *r);

struct expected_owners {
	struct expected_owner *slots; /* EXPECTED_SLOTS */
	int dirty;                    /* changed since the last save or load */
};

/* 0 or -ENOMEM. */
int expected_init(struct expected_owners *x);
/* Drops the records' references to their paths. Accepts a zeroed struct. */
void expected_free(struct expected_owners *x);

/*
 * e, a socket of a known owner (pid set), was the listener of its port
 * and went away at now (CLOCK_REALTIME ns): its owner group is now the
 * port's expected owner.
 */
void expected_note(struct expected_owners *x, const struct pw_entry *e, uint64_t now);

/* The expected owner of (netns, protocol, port), or NULL. */
const struct expected_owner *expected_get(const struct expected_owners *x, uint32_t netns,
					  uint8_t protocol, uint16_t port);

/*
 * Is o of r's owner group: same uid, and the same executable (by device
 * and inode when both know them, by path otherwise)?
 */
int expected_is_owner(const struct expected_owner *r, const struct pw_owner *o);

/*
 * One record as a line of the file (with '\n'; NUL-terminated), and the
 * other way: 0, or -EINVAL for a line that does not parse. Pure.
 */
void expected_format(const struct expected_owner *r, char *buf, size_t len);
int expected_parse(const char *line, struct expected_owner *r);

/*
 * Read DIR/EXPECTED_FILE into x (records over a filled slot keep the one
 * that went away last). Returns the number of lines skipped (>= 0), or
 * -errno (-ENOENT: no file yet, nothing to read).
 */
int expected_load(struct expected_owners *x, const char *dir);
/*
 * Write x to DIR/EXPECTED_FILE atomically (creating DIR, 0755, when
 * missing) and clear dirty. 0 or -errno.
 */
int expected_save(struct expected_owners *x, const char *dir);

#endif /* PORTWATCH_EXPECTED_H */
