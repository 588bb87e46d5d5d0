/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ctlfmt.h - portwatchctl's output helpers: aligned text tables, local
 * times from the protocol's RFC 3339 stamps, ss-style addresses, and the
 * rows that the socket, alert and conflict objects of docs/protocol.md
 * become. No I/O on sockets and no global state, so that the unit tests
 * (tests/unit/test_ctlfmt.c) can drive them directly.
 */
#ifndef PORTWATCH_CTLFMT_H
#define PORTWATCH_CTLFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

struct json_object;

/* One column of a table: header text and a minimum width (0: none). */
struct ctlfmt_col {
	const char *name;
	int min_width;
};

struct ctlfmt_table;

/*
 * A table of ncols columns. The col array must outlive the table.
 * Returns NULL when out of memory.
 */
struct ctlfmt_table *ctlfmt_table_new(const struct ctlfmt_col *cols, size_t ncols);
/* Destroy a table; NULL is accepted. */
void ctlfmt_table_free(struct ctlfmt_table *t);
/*
 * Append a row of ncols cells (copied; NULL prints as "-").
 * Returns 0 or -ENOMEM.
 */
int ctlfmt_table_add(struct ctlfmt_table *t, const char *const *cells);
/* Number of rows added since the last ctlfmt_table_print(). */
size_t ctlfmt_table_rows(const struct ctlfmt_table *t);
/*
 * Print the header line (when header) and the pending rows, every column
 * but the last padded to the widest of its header, minimum and cells,
 * columns separated by two spaces; then forget the rows, keeping the
 * widths reached, so that a later call continues the same layout.
 */
void ctlfmt_table_print(struct ctlfmt_table *t, FILE *out, bool header);

/*
 * Parse an RFC 3339 time ("2026-11-23T13:08:38.123456Z", or with a
 * "+hh:mm" offset) into *t. Returns 0 or -EINVAL.
 */
int ctlfmt_parse_time(const char *s, time_t *t);
/*
 * Format an RFC 3339 time in local time: "13:08:38" when it falls on the
 * same local day as now, else "2026-11-22" (date_only) or
 * "2026-11-22 13:08:38". NULL or "" gives "-"; an unparsable string is
 * copied as is. Always NUL-terminates buf (len > 0).
 */
void ctlfmt_time(const char *s, time_t now, bool date_only, char *buf, size_t len);
/* "1d 02:03:04" or "02:03:04" for a duration in seconds. */
void ctlfmt_duration(long long secs, char *buf, size_t len);

/*
 * "addr:port" as ss prints it: IPv6 addresses (any addr with a ':') in
 * brackets, "[::1]:80". A NULL addr prints as "*", a negative port as "*".
 */
void ctlfmt_addr_port(const char *addr, long long port, char *buf, size_t len);
/* "RA,RP,V6" for the flags that are set, "-" for none. */
void ctlfmt_flags(bool reuseaddr, bool reuseport, bool v6only, char *buf, size_t len);

/*
 * Parse a decimal number in [min, max]: digits only, no sign, no space,
 * nothing after. Returns 0, -EINVAL (not a number) or -ERANGE.
 */
int ctlfmt_parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out);

/* Columns of a socket table (owners, why): see ctlfmt_socket_row(). */
#define CTLFMT_SOCKET_NCOLS 9
extern const struct ctlfmt_col ctlfmt_socket_cols[CTLFMT_SOCKET_NCOLS];
/*
 * The same with a Container column after Unit ("RUNTIME:ID", the first 12
 * digits of a 64-digit id, a machine or LXC name whole; "-" outside
 * containers): CTLFMT_SOCKET_NCOLS + 1 of them, rows by ctlfmt_socket_ctr_row().
 */
extern const struct ctlfmt_col ctlfmt_socket_ctr_cols[CTLFMT_SOCKET_NCOLS + 1];
/* Does any socket object of arr have a non-null "container"? */
bool ctlfmt_any_container(struct json_object *arr);
/* "docker:3f0c1a9e5b7d" for a socket object's container, NULL when it has none. */
const char *ctlfmt_container(struct json_object *sk, char *buf, size_t len);
/* Columns of an alert table (alerts, why, watch). */
#define CTLFMT_ALERT_NCOLS 10
extern const struct ctlfmt_col ctlfmt_alert_cols[CTLFMT_ALERT_NCOLS];
/* Columns of a conflict table (conflicts, why). */
#define CTLFMT_CONFLICT_NCOLS 10
extern const struct ctlfmt_col ctlfmt_conflict_cols[CTLFMT_CONFLICT_NCOLS];

/* Columns of the blocking sockets of a check prediction: see ctlfmt_blocker_row(). */
#define CTLFMT_BLOCKER_NCOLS 10
extern const struct ctlfmt_col ctlfmt_blocker_cols[CTLFMT_BLOCKER_NCOLS];
/* One blocker (a socket object with "rule" and, for TIME_WAIT, "expires_s"). */
int ctlfmt_blocker_row(struct ctlfmt_table *t, struct json_object *sk, time_t now);

/*
 * Print a check prediction (docs/protocol.md, `check`) for people: what
 * was asked (what, e.g. "bind 127.0.0.1:80/tcp"), would succeed or fail
 * with which errno and rule, the explanation, the blocking sockets and the
 * advice, wrapped to 78 columns. 0 or -ENOMEM.
 */
int ctlfmt_print_check(FILE *out, struct json_object *pred, const char *what, time_t now);

/*
 * Add one socket, alert or conflict object of the protocol as a row of a
 * table made with the matching columns; missing or null members print as
 * "-". now decides which times are "today". Returns 0 or -ENOMEM.
 */
int ctlfmt_socket_row(struct ctlfmt_table *t, struct json_object *sk, time_t now);
int ctlfmt_socket_ctr_row(struct ctlfmt_table *t, struct json_object *sk, time_t now);
int ctlfmt_alert_row(struct ctlfmt_table *t, struct json_object *alert, time_t now);
int ctlfmt_conflict_row(struct ctlfmt_table *t, struct json_object *c, time_t now);

/* Columns of `owners --sniffers`, rows by ctlfmt_sniffer_row(). */
#define CTLFMT_SNIFFER_NCOLS 10
extern const struct ctlfmt_col ctlfmt_sniffer_cols[CTLFMT_SNIFFER_NCOLS];
/* One sniffer object (docs/protocol.md, owners --sniffers); 0 or -ENOMEM. */
int ctlfmt_sniffer_row(struct ctlfmt_table *t, struct json_object *f, time_t now);

/* Makes one row of a table from an object: ctlfmt_socket_row() and co. */
typedef int (*ctlfmt_row_fn)(struct ctlfmt_table *t, struct json_object *o, time_t now);

/*
 * Print a header (when header) and one row per object of the array arr,
 * made by fn for the columns cols. Returns 0 or -ENOMEM (nothing printed).
 */
int ctlfmt_print_list(FILE *out, struct json_object *arr, const struct ctlfmt_col *cols,
		      size_t ncols, ctlfmt_row_fn fn, time_t now, bool header);

/*
 * The states a socket object's "state" holds, as the State column prints
 * them (docs/protocol.md: the kernel's TCP state names, BOUND, UNKNOWN).
 */
#define CTLFMT_NSTATES 14
extern const char *const ctlfmt_states[CTLFMT_NSTATES];
/*
 * The index in ctlfmt_states of name, in any case and with '-' for '_'
 * as ss(8) writes them ("time-wait" is TIME_WAIT); -1 when it is none.
 */
int ctlfmt_state_index(const char *name);
/*
 * Print a why response for people: the explanation wrapped, then the
 * holders, TIME_WAIT entries, conflicts and alerts, each a titled table
 * or "none". Members missing from resp are skipped. 0 or -ENOMEM.
 */
int ctlfmt_print_why(FILE *out, struct json_object *resp, time_t now);
/*
 * Print a stats object as aligned "key: value" lines in the daemon's
 * order: objects (events, alerts_by_kind) one line per member, arrays
 * (hooks) one line per element, uptime_s as a duration. 0 or -ENOMEM.
 */
int ctlfmt_print_stats(FILE *out, struct json_object *stats);

/*
 * Print text word-wrapped to width columns, every line indented by
 * indent spaces, ending with a newline. Words longer than a line are
 * printed whole.
 */
void ctlfmt_wrap(FILE *out, const char *text, int indent, int width);

#endif /* PORTWATCH_CTLFMT_H */
