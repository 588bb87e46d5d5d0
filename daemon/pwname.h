/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * pwname.h - the words portwatchd writes for the values it reports:
 * protocol, address family, socket state and errno names, and times in
 * RFC 3339. The JSON objects (pwjson.h), the syslog line of an alert
 * (alertline.h) and the messages of alerts and conflicts (monitor.c) all
 * spell values through these, so that they agree.
 *
 * Every result is a static string or the caller's buffer: nothing to
 * free. None of these can fail.
 */
#ifndef PORTWATCH_PWNAME_H
#define PORTWATCH_PWNAME_H

#include <stdint.h>

#include "portwatch/event.h"

/*
 * realtime_ns (CLOCK_REALTIME, ns since the epoch) as RFC 3339 UTC with
 * microseconds, truncated, not rounded: "2026-11-23T13:08:38.123456Z"
 * (27 characters and the NUL: a uint64_t of ns ends in 2554). Writes buf,
 * the caller's 32 bytes, and returns it.
 */
const char *pw_time_rfc3339(uint64_t realtime_ns, char buf[32]);

/* "udp" for IPPROTO_UDP, "tcp" for anything else (IPPROTO_TCP). */
const char *pw_proto_name(uint8_t protocol);

/* "inet6" for AF_INET6, "inet" for anything else (AF_INET). */
const char *pw_family_name(uint16_t family);

/*
 * The state of sk as the "state" member of a socket shows it: the kernel's
 * TCP state names (include/net/tcp_states.h) without the TCP_ prefix,
 * underscores kept: "ESTABLISHED", "TIME_WAIT", "NEW_SYN_RECV", not
 * ss(8)'s ESTAB, TIME-WAIT, UNCONN. Except: "BOUND" for a TCP_CLOSE socket
 * with a local port (TCP or UDP) and for any UDP socket not connected,
 * "ESTABLISHED" for a connected UDP socket (TCP_ESTABLISHED), "UNKNOWN" for
 * a state outside the table. A TCP_CLOSE socket without a port is "CLOSE".
 */
const char *pw_state_name(const struct pw_sock *sk);

/*
 * The name of err, a positive errno or 0: "ok" for 0; "EADDRINUSE",
 * "EADDRNOTAVAIL", "EACCES", "EPERM", "EINVAL" (static strings); any other
 * value as "E<number>" ("E200"), written to buf, the caller's 16 bytes.
 * Returns the static string or buf.
 */
const char *pw_errno_name(int err, char buf[16]);

#endif /* PORTWATCH_PWNAME_H */
