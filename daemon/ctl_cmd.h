/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ctl_cmd.h - the commands of the control protocol (docs/protocol.md):
 * request text in, response object out. Separate from the socket
 * handling in ctl.c so the request checks can be unit-tested. The
 * handlers read the daemon's state and never change it: the event loop
 * has brought the table up to date before a request is served (ctl.h).
 */
#ifndef PORTWATCH_CTL_CMD_H
#define PORTWATCH_CTL_CMD_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "bpfload.h"
#include "monitor.h"

struct sklookup;
struct nat;
struct sniff_set;
struct freebind;

/* Counters of the control socket (ctl.c), shown by `stats` as "control". */
struct ctl_stats {
	uint64_t requests;     /* requests answered */
	uint64_t refused;      /* connections refused: client cap, root slots, per-uid limit */
	uint64_t dropped_slow; /* clients dropped for output they did not read */
	uint64_t idle_closed;  /* clients closed by the idle timeout */
};

struct ctl_cmd_ctx {
	struct pw_monitor *mon; /* borrowed */
	struct pw_bpf *bpf;     /* borrowed; NULL in unit tests */
	uint64_t start_ns;      /* CLOCK_REALTIME ns at daemon start */
	size_t nclients;
	const struct ctl_stats *ctl_stats; /* borrowed; NULL in unit tests */
	const struct sklookup *sklookup;   /* borrowed; NULL when not scanned */
	const struct nat *nat;             /* borrowed; NULL when nftables are not followed */
	const struct sniff_set *sniffers;  /* borrowed; NULL when none are kept */
	const struct freebind *freebind;   /* borrowed; NULL when not followed */
	uint32_t peer_uid;      /* SO_PEERCRED of the client; (uint32_t)-1 unknown */
	int32_t peer_pid;
	/* `reload`: 0 or -errno with a message; NULL when reloading is not offered */
	int (*reload)(void *arg, char *msg, size_t msglen);
	void *reload_arg;
	int subscribe;          /* out: the request was a valid `subscribe` */
	int can_stream;         /* in: the caller writes `stream` itself (ctl.c does) */
	/*
	 * out, with can_stream: `owners` answers without its "sockets" member
	 * and leaves here the member's name and the sorted entries (an array
	 * the caller frees; the entries are the table's, valid until the
	 * table changes: write them before handling anything else). Each is
	 * then encoded and queued one at a time, so that 100k sockets never
	 * exist as one json-c tree (~3 KB a socket, which malloc keeps).
	 */
	const char *stream_member;
	const struct pw_entry **stream;
	size_t nstream;
};

/*
 * Parse one request line (len bytes, no newline, not NUL-terminated) and
 * run it. Always returns a response object owned by the caller, with
 * "version"; malformed requests get {"ok": false, "error": ...}.
 */
json_object *ctl_cmd_dispatch(struct ctl_cmd_ctx *ctx, const char *line, size_t len);

/*
 * The command handlers, one per "cmd" of docs/protocol.md, dispatched by
 * the table in ctl_cmd.c (bpftool's main.h/main.c pattern). Each reads
 * the request req (borrowed, already checked to be an object) and the
 * state through ctx, changes nothing but ctx's out members, and returns
 * the answer (ctl_ok() with members, or ctl_error()); caller owns it.
 * check is in ctl_check.c, why in ctl_why.c, the rest in ctl_cmd.c.
 */
json_object *ctl_cmd_owners(struct ctl_cmd_ctx *ctx, json_object *req);
json_object *ctl_cmd_alerts(struct ctl_cmd_ctx *ctx, json_object *req);
json_object *ctl_cmd_conflicts(struct ctl_cmd_ctx *ctx, json_object *req);
json_object *ctl_cmd_why(struct ctl_cmd_ctx *ctx, json_object *req);
json_object *ctl_cmd_check(struct ctl_cmd_ctx *ctx, json_object *req);
json_object *ctl_cmd_stats(struct ctl_cmd_ctx *ctx, json_object *req);
json_object *ctl_cmd_protect(struct ctl_cmd_ctx *ctx, json_object *req);
json_object *ctl_cmd_diversions(struct ctl_cmd_ctx *ctx, json_object *req);
json_object *ctl_cmd_subscribe(struct ctl_cmd_ctx *ctx, json_object *req);
json_object *ctl_cmd_reload(struct ctl_cmd_ctx *ctx, json_object *req);

#endif /* PORTWATCH_CTL_CMD_H */
