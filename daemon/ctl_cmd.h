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
	int subscribe;          /* out: the request was a valid `subscribe` */
};

/*
 * Parse one request line (len bytes, no newline, not NUL-terminated) and
 * run it. Always returns a response object owned by the caller, with
 * "version"; malformed requests get {"ok": false, "error": ...}.
 */
json_object *ctl_cmd_dispatch(struct ctl_cmd_ctx *ctx, const char *line, size_t len);

/* {"version": 1, "ok": false, "error": msg}; caller owns it. */
json_object *ctl_cmd_error(const char *msg);

#endif /* PORTWATCH_CTL_CMD_H */
