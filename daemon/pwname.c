// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* pwname.c - names of reported values and RFC 3339 times; see pwname.h. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>

#include "pwname.h"

const char *pw_time_rfc3339(uint64_t ns, char buf[32])
{
	time_t sec = ns / 1000000000ULL;
	struct tm tm;
	size_t n;

	gmtime_r(&sec, &tm);
	n = strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, 32 - n, ".%06uZ", (unsigned)(ns % 1000000000ULL / 1000));
	return buf;
}

const char *pw_proto_name(uint8_t protocol)
{
	return protocol == IPPROTO_UDP ? "udp" : "tcp";
}

const char *pw_family_name(uint16_t family)
{
	return family == AF_INET6 ? "inet6" : "inet";
}

/* names[]: include/net/tcp_states.h by PW_TCP_* value. What comes out: pwname.h. */
const char *pw_state_name(const struct pw_sock *sk)
{
	static const char *const names[] = {
		[PW_TCP_ESTABLISHED] = "ESTABLISHED", [PW_TCP_SYN_SENT] = "SYN_SENT",
		[PW_TCP_SYN_RECV] = "SYN_RECV",       [PW_TCP_FIN_WAIT1] = "FIN_WAIT1",
		[PW_TCP_FIN_WAIT2] = "FIN_WAIT2",     [PW_TCP_TIME_WAIT] = "TIME_WAIT",
		[PW_TCP_CLOSE] = "CLOSE",             [PW_TCP_CLOSE_WAIT] = "CLOSE_WAIT",
		[PW_TCP_LAST_ACK] = "LAST_ACK",       [PW_TCP_LISTEN] = "LISTEN",
		[PW_TCP_CLOSING] = "CLOSING",         [PW_TCP_NEW_SYN_RECV] = "NEW_SYN_RECV",
	};

	if (sk->state == PW_TCP_CLOSE && sk->lport)
		return "BOUND";
	if (sk->protocol == IPPROTO_UDP)
		return sk->state == PW_TCP_ESTABLISHED ? "ESTABLISHED" : "BOUND";
	if (sk->state < sizeof(names) / sizeof(names[0]) && names[sk->state])
		return names[sk->state];
	return "UNKNOWN";
}

const char *pw_errno_name(int err, char buf[16])
{
	switch (err) {
	case 0:
		return "ok";
	case EADDRINUSE:
		return "EADDRINUSE";
	case EADDRNOTAVAIL:
		return "EADDRNOTAVAIL";
	case EACCES:
		return "EACCES";
	case EPERM:
		return "EPERM";
	case EINVAL:
		return "EINVAL";
	}
	snprintf(buf, 16, "E%d", err);
	return buf;
}
