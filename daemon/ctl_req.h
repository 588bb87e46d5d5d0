/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ctl_req.h - what the control commands share: reading the members of a
 * request (checked, with an error message naming the member) and
 * building the answers of docs/protocol.md, including the `prediction`
 * object of `check` and `why` from a struct pw_prediction (predict.h).
 * Answers are json-c objects owned by the caller.
 */
#ifndef PORTWATCH_CTL_REQ_H
#define PORTWATCH_CTL_REQ_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "predict.h"
#include "table.h"

/* {"version": 1, "ok": true}; caller owns it. */
json_object *ctl_ok(void);
/* {"version": 1, "ok": false, "error": msg}; caller owns it. */
json_object *ctl_error(const char *msg);

/*
 * Optional members of a request object: left alone when absent; 0, or a
 * message naming the member in err and -EINVAL when of the wrong type or
 * (integers) outside [lo, hi]. A string stays owned by req.
 */
int ctl_opt_int(json_object *req, const char *key, int64_t lo, int64_t hi, int64_t *out,
		char *err, size_t errlen);
int ctl_opt_string(json_object *req, const char *key, const char **out, char *err,
		   size_t errlen);
int ctl_opt_bool(json_object *req, const char *key, uint8_t *out, char *err, size_t errlen);

/* Socket filter of `owners` and `why`; a field < 0 (0 for proto) means "any". */
struct ctl_filter {
	int64_t port, pid, netns;
	int proto; /* IPPROTO_TCP/UDP, 0 any */
	int has_addr;
	uint16_t family;
	uint8_t addr[16]; /* network order */
	char container[65]; /* a prefix of the owner's container id; "" any */
};

/*
 * Read the optional members port, pid, netns, proto, addr, container (a
 * non-empty prefix of a container id, at most 64 bytes) of req into *f.
 * Returns 0, or writes a message naming the member into err and returns
 * -EINVAL.
 */
int ctl_filter_parse(json_object *req, struct ctl_filter *f, char *err, size_t errlen);
/*
 * Does the table entry pass the filter? (An IPv4 addr matches its v4-mapped
 * form; a container prefix matches no socket outside a container.)
 */
int ctl_filter_match(const struct ctl_filter *f, const struct pw_entry *e);

/*
 * The "prediction" object of docs/protocol.md (`check`, `why`) for p;
 * caller owns it.
 */
json_object *ctl_prediction_json(const struct pw_prediction *p);

#endif /* PORTWATCH_CTL_REQ_H */
