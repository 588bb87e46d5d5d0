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
#include "ctl_req.h"
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
	 * and leaves here the sockets to write (caller frees it with
	 * ctl_stream_free()), so that a dump of 100k sockets is written a
	 * piece at a time and never exists whole: neither as one json-c
	 * tree (~3 KB a socket) nor as one 30 MB string.
	 */
	struct ctl_stream *stream;
};

/*
 * An answer whose last member is an array written one element at a time,
 * across turns of the event loop (ctl.c). It holds the identities
 * (netns inode, socket inode) of the sockets the request matched, in the
 * answer's order, 16 bytes each, not pointers: the table changes between
 * two pieces. Each socket is looked up again when its turn comes, so a
 * socket closed meanwhile is left out, one whose filter members changed
 * is checked again, and one opened after the request is not in the answer.
 */
struct ctl_stream_key {
	uint64_t inode;
	uint32_t netns;
	uint32_t pad;
};

struct ctl_stream {
	const char *member;            /* the array's name in the answer, e.g. "sockets" */
	struct ctl_filter f;           /* the request's filter, checked again per socket */
	struct ctl_stream_key *keys;   /* [0, n), owned */
	size_t n, next;                /* next: index of the next key to look up */
};

/*
 * The next element of s still in m's table and still matching, as an
 * object the caller owns; NULL when s is done (or an encoding failed:
 * ENOMEM, the element is skipped).
 */
json_object *ctl_stream_next(struct ctl_stream *s, const struct pw_monitor *m);

/* Heap bytes s holds (for the control socket's output budget); 0 for NULL. */
size_t ctl_stream_bytes(const struct ctl_stream *s);

/* Free s. Accepts NULL. */
void ctl_stream_free(struct ctl_stream *s);

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
