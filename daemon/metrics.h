/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * metrics.h - the daemon's counters as a node_exporter textfile-collector
 * file (Prometheus text exposition format 0.0.4), `[metrics] textfile` of
 * portwatch.conf(5).
 *
 * The daemon fills a struct metrics_sample with plain numbers; the
 * formatter turns it into text and knows nothing else of the daemon, so
 * that its output can be checked byte for byte (tests/unit/test_metrics.c).
 * metrics_write() puts that text in place atomically: a temporary file in
 * the same directory, fsync(2), rename(2), so that node_exporter reads
 * either the previous file or the new one, never half of one.
 *
 * Labels are bounded: event type, alert kind/reason/severity, protocol
 * and socket state, and the build. Never a pid, port, address or uid:
 * each would make a new series per value.
 */
#ifndef PORTWATCH_METRICS_H
#define PORTWATCH_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "portwatch/event.h"
#include "rules.h"
#include "table.h"

/* (protocol, state) pairs a table can show: pwname.h's TCP names and UDP's two. */
#define METRICS_MAX_SOCKET_STATES 32

struct metrics_sockets {
	uint8_t protocol;  /* IPPROTO_TCP or IPPROTO_UDP */
	const char *state; /* pw_state_name(): "LISTEN", "BOUND", ... (static) */
	uint64_t count;
};

struct metrics_sample {
	uint64_t events[PW_EV_RELEASE + 1]; /* by enum pw_event_type */
	uint64_t dropped, filtered;         /* the BPF side's counters */
	int dropped_ok, filtered_ok;        /* 0: the map could not be read, no sample */
	/* alerts raised, folded ones included; series only for non-zero counts */
	uint64_t alerts[RULES_KIND_COUNT][RULES_REASON_COUNT][RULES_SEV_COUNT];
	uint64_t alerts_folded;
	uint64_t conflicts;
	/* sorted by protocol name, then state; non-zero counts only */
	struct metrics_sockets sockets[METRICS_MAX_SOCKET_STATES];
	size_t nsockets;
	uint32_t netns;
	uint64_t reconciliations;
	uint64_t last_reconcile_ms;
	uint64_t control_clients;
	uint64_t write_errors;              /* failed metrics_write() calls before this one */
	/* portwatch_build_info labels; NULL is written as "" */
	const char *version, *kernel, *fd_to_socket;
};

/*
 * Count the table's sockets by protocol and state into s->sockets and
 * s->nsockets (sorted). 0, or -E2BIG if more pairs than
 * METRICS_MAX_SOCKET_STATES (those are left out).
 */
int metrics_count_sockets(struct metrics_sample *s, const struct pw_table *t);

/*
 * Write s in the text format to f: # HELP and # TYPE of every family,
 * then its samples. 0, or -EIO when f reports an error.
 */
int metrics_format(FILE *f, const struct metrics_sample *s);

/*
 * Write s to path atomically, mode 0644: path.tmp.XXXXXX in the same
 * directory (node_exporter reads only *.prom), fsync(2), rename(2). On
 * failure the temporary file is removed, path is left as it was, and
 * *what names the step that failed ("create a temporary file in the
 * directory of", "write", "fsync", "rename to"). 0 or -errno.
 */
int metrics_write(const char *path, const struct metrics_sample *s, const char **what);

#endif /* PORTWATCH_METRICS_H */
