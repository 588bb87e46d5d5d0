/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * helpers.h - builders of struct pw_sock / struct pw_entry / struct
 * pw_alert shared by the unit tests. Included by one test file at a time,
 * so everything here is static inline.
 */
#ifndef PORTWATCH_TEST_HELPERS_H
#define PORTWATCH_TEST_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "addr.h"
#include "report.h"
#include "table.h"

/* Two network namespaces, as their inode numbers look on a real system. */
#define PWT_NS1 4026531840u
#define PWT_NS2 4026532001u

/* Flags of pwt_sock(). */
enum {
	PWT_RA = 1,     /* SO_REUSEADDR */
	PWT_RP = 2,     /* SO_REUSEPORT */
	PWT_V6ONLY = 4, /* IPV6_V6ONLY */
};

/*
 * A socket of protocol proto (IPPROTO_TCP/UDP) bound to addr:port in
 * PWT_NS1, family taken from the text ("127.0.0.1", "::", "[::1]",
 * "::ffff:127.0.0.1"). As inet6_bind() does, a specific non-mapped IPv6
 * address gets IPV6_V6ONLY whatever flags say. state is a PW_TCP_* value
 * (UDP: PW_TCP_CLOSE unconnected). sk_uid is the creator uid.
 */
static inline struct pw_sock pwt_sock(uint8_t proto, const char *addr, uint16_t port,
				      uint8_t state, unsigned int flags, uint32_t sk_uid)
{
	struct pw_sock s;

	memset(&s, 0, sizeof(s));
	assert_int_equal(pw_addr_pton(addr, &s.family, s.laddr), 0);
	s.netns = PWT_NS1;
	s.protocol = proto;
	s.lport = port;
	s.state = state;
	s.sk_uid = sk_uid;
	s.reuseaddr = !!(flags & PWT_RA);
	s.reuseport = !!(flags & PWT_RP);
	s.v6only = !!(flags & PWT_V6ONLY);
	if (s.family == AF_INET6 && !pw_addr_is_any(AF_INET6, s.laddr) &&
	    !pw_addr_is_v4mapped(s.laddr))
		s.v6only = 1;
	return s;
}

static inline struct pw_sock pwt_tcp(const char *addr, uint16_t port, uint8_t state,
				     unsigned int flags, uint32_t sk_uid)
{
	return pwt_sock(IPPROTO_TCP, addr, port, state, flags, sk_uid);
}

static inline struct pw_sock pwt_udp(const char *addr, uint16_t port, unsigned int flags,
				     uint32_t sk_uid)
{
	return pwt_sock(IPPROTO_UDP, addr, port, PW_TCP_CLOSE, flags, sk_uid);
}

/* The strpool.h handle of a formatted string (an owner's exe or unit). */
static inline uint32_t pwt_str(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline uint32_t pwt_str(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return strpool_intern(buf);
}

/*
 * A table entry for sk with identity (netns, inode), owned by pid/uid
 * with comm and exe "/usr/bin/<comm>" (comm NULL: no owner known).
 */
static inline struct pw_entry pwt_entry(const struct pw_sock *sk, uint32_t netns, uint64_t inode,
					uint32_t pid, uint32_t uid, const char *comm)
{
	struct pw_entry e;

	memset(&e, 0, sizeof(e));
	e.sk = *sk;
	e.sk.netns = netns;
	e.sk.inode = inode;
	e.owner.pid = pid;
	e.owner.uid = uid;
	if (comm) {
		snprintf(e.owner.comm, sizeof(e.owner.comm), "%s", comm);
		e.owner.exe = pwt_str("/usr/bin/%s", comm);
	}
	return e;
}

/* An alert of contender (pid 20, uid 1000) over holder (pid 10, uid 33). */
static inline void pwt_alert(struct pw_alert *a, const char *holder_addr, const char *addr)
{
	struct pw_sock hs = pwt_tcp(holder_addr, 8080, PW_TCP_LISTEN, 0, 33);
	struct pw_sock cs = pwt_tcp(addr, 8080, PW_TCP_CLOSE, 0, 1000);

	memset(a, 0, sizeof(*a));
	a->id = 7;
	a->time_ns = 1795438118123456789ULL;
	a->severity = RULES_SEV_CRITICAL;
	a->kind = RULES_KIND_HIJACK_ATTEMPT;
	a->reason = RULES_REASON_SHADOW_WILDCARD;
	a->holder = pwt_entry(&hs, PWT_NS1, 100, 10, 33, "nginx");
	a->holder.owner.exe = pwt_str("/usr/sbin/nginx");
	a->contender = pwt_entry(&cs, PWT_NS1, 200, 20, 1000, "evil");
	a->contender.owner.exe = pwt_str("/tmp/evil");
	snprintf(a->message, sizeof(a->message), "shadow_wildcard: test");
}

#endif /* PORTWATCH_TEST_HELPERS_H */
