/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ctl_cmd.h - the commands of the control protocol (docs/protocol.md):
 * request text in, response object out. Separate from the socket
 * handling in ctl.c so the request checks can be unit-tested.
 */
#ifndef PORTWATCH_CTL_CMD_H
#define PORTWATCH_CTL_CMD_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "bpfload.h"
#include "monitor.h"

struct ctl_cmd_ctx {
	struct pw_monitor *mon; /* borrowed */
	struct pw_bpf *bpf;     /* borrowed; NULL in unit tests */
	uint64_t start_ns;      /* CLOCK_REALTIME ns at daemon start */
	size_t nclients;
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

/* Socket filter of `owners` and `why`; a field < 0 (0 for proto) means "any". */
struct ctl_filter {
	int64_t port, pid, netns;
	int proto; /* IPPROTO_TCP/UDP, 0 any */
	int has_addr;
	uint16_t family;
	uint8_t addr[16]; /* network order */
};

/*
 * Read the optional members port, pid, netns, proto, addr of req into *f.
 * Returns 0, or writes a message naming the member into err and returns
 * -EINVAL.
 */
int ctl_filter_parse(json_object *req, struct ctl_filter *f, char *err, size_t errlen);
/* Does the table entry pass the filter? (An IPv4 addr matches its v4-mapped form.) */
int ctl_filter_match(const struct ctl_filter *f, const struct pw_entry *e);

/*
 * Read an optional integer member in [lo, hi] into *out (left alone when
 * absent). Returns 0, or writes a message into err and returns -EINVAL.
 */
int ctl_opt_int(json_object *req, const char *key, int64_t lo, int64_t hi, int64_t *out,
		char *err, size_t errlen);

/*
 * The `check` prediction object (docs/protocol.md) for q: q->c names the
 * netns (inode), protocol, address, port, flags and creator uid of the
 * socket asked about (rules.h struct rules_query). Pending events are
 * consumed first; the holders are the table's plus a fresh walk of the
 * netns. Caller owns the result; NULL on ENOMEM. Used by check and why.
 */
json_object *ctl_check_predict(struct ctl_cmd_ctx *ctx, const struct rules_query *q);

/* {"version": 1, "ok": false, "error": msg}; caller owns it. */
json_object *ctl_cmd_error(const char *msg);

#endif /* PORTWATCH_CTL_CMD_H */
