/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * pwjson.h - the JSON (json-c) of what portwatchd reports: the socket,
 * alert and conflict objects of the DESIGN.md contract, as the control
 * socket answers them (docs/protocol.md) and `[syslog] format = json`
 * logs an alert.
 *
 * Members come in the order listed below, always: answers and log lines
 * are compared byte for byte. Ports are numbers in host order, addresses
 * inet_ntop(3) text, times RFC 3339 UTC with microseconds (pwname.h), text
 * portwatchd does not control goes through pwj_text().
 *
 * Memory: every function returns a new object holding one reference, which
 * the caller owns: json_object_put() it, or hand it to a container
 * (json_object_object_add() / json_object_array_add() take it over). The
 * input is only read; nothing in the result points into it.
 * Errors: none are reported. json-c's allocation failures are not checked
 * (its constructors then return NULL).
 */
#ifndef PORTWATCH_PWJSON_H
#define PORTWATCH_PWJSON_H

#include <stdint.h>

#include <json-c/json.h>

#include "report.h"
#include "table.h"

/*
 * A JSON string of s (NUL-terminated, not NULL), text portwatchd does not
 * control (names, messages that quote them, requests echoed back): made
 * valid UTF-8, each invalid byte U+FFFD (text_utf8_clean(), text.h). The
 * empty string when s is over 341 bytes and its scratch buffer cannot be
 * allocated.
 */
json_object *pwj_text(const char *s);

/*
 * A socket and its owner: {"netns" (inode), "proto": "tcp"|"udp",
 * "family": "inet"|"inet6", "addr", "port", "state" (pw_state_name()),
 * "reuseaddr", "reuseport", "v6only", "reuseport_bpf" (booleans), "inode",
 * "pid", "comm", "exe", "uid", "unit", "since", "raddr", "rport", "sk_uid",
 * "container": {"id", "runtime"}, "pod": {"uid", "namespace", "name"}}.
 * pid and uid are null when no process is known (pid 0), comm and unit
 * null when empty, exe "" when unreadable, since null when since_ns is 0,
 * raddr and rport null unless connected (rport != 0), container and pod
 * null when the owner's cgroup names none (or its pool record is gone:
 * container.h), a pod's namespace and name always null for now.
 */
json_object *pwj_socket(const struct pw_entry *e);

/*
 * An ephemeral-port exhaustion: {"range": [lo, hi], "in_use",
 * "destination": "addr:port" ("[addr]:port" for inet6) or null for a bind
 * (rport 0), "top_owners": [{"pid", "comm", "uid", "ports"}]} with the first
 * min(ntop, PW_EPH_TOP) of e->top. family (AF_INET / AF_INET6) is the
 * contender's, which e->raddr has.
 */
json_object *pwj_ephemeral(const struct pw_ephemeral *e, uint16_t family);

/*
 * An alert: {"id", "time", "severity", "kind", "reason", "netns", "proto",
 * "addr", "port" (the contender's socket), "result" (pw_errno_name():
 * "ok" or "EADDRINUSE"...), "holder", "contender" (pwj_socket()),
 * "message"}, then "ephemeral" (pwj_ephemeral()) when a->has_eph, then
 * "folded": {"count", "of", "first", "last", "ports": [port...],
 * "more_ports"} when a->fold_count is not 0.
 */
json_object *pwj_alert(const struct pw_alert *a);

/*
 * A conflict: {"id", "time", "op": "bind"|"listen"|"connect", "errno"
 * (positive), "errno_name", "pid", "comm", "uid", "exe" (the caller),
 * "netns", "proto", "addr", "port", "reuseaddr", "reuseport" (the socket
 * of the failed call), "holders": [pwj_socket()...] (c->nholders of them),
 * "rule", "explanation"}, then "ephemeral" (pwj_ephemeral()) when
 * c->has_eph.
 */
json_object *pwj_conflict(const struct pw_conflict *c);

#endif /* PORTWATCH_PWJSON_H */
