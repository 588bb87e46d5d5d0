/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ifaddr.h - would bind(2) of a local address pass the kernel's address
 * check in the calling thread's current network namespace? (issue 18:
 * `check` predicts EADDRNOTAVAIL.) The caller enters the namespace, e.g.
 * through snap_netns_call(); every netlink socket here is opened, used and
 * closed inside the call, so it speaks to that namespace. Uses libmnl.
 *
 * IPv4 (__inet_bind() in net/ipv4/af_inet.c, inet_addr_valid_or_nonlocal()
 * in include/net/inet_sock.h, __inet_dev_addr_type() in
 * net/ipv4/fib_frontend.c; the same in Linux 6.1 and 6.12): 0.0.0.0 and
 * 255.255.255.255 are RTN_BROADCAST, 224/4 is RTN_MULTICAST, both pass;
 * otherwise the type of the address in the LOCAL routing table decides:
 * RTN_LOCAL or RTN_BROADCAST pass, anything else (no route, unicast,
 * unreachable...) is EADDRNOTAVAIL. Two kernel details that a plain
 * "is the address on an interface" test gets wrong, both reproduced here:
 *  - a namespace that never had a route has no local table at all, and
 *    then every address is RTN_BROADCAST and passes (a fresh netns with
 *    lo down binds 127.0.0.1 and 192.0.2.7 alike);
 *  - while no policy rule was ever added (fib_has_custom_rules false) the
 *    local table is merged into the main table's trie (fib_new_table(),
 *    fib_trie_table() aliasing), and fib_table_lookup() does not look at
 *    an entry's table: a main route more specific than a local one wins
 *    (`ip route add 127.9.9.0/24 dev lo` makes 127.9.9.9 unbindable).
 *    Once a rule is added the tables are split for good (fib_unmerge()).
 * How each case is found: see ifaddr.c.
 *
 * IPv6 (__inet6_bind() in net/ipv6/af_inet6.c, ipv6_chk_addr() and
 * __ipv6_chk_addr_and_flags() in net/ipv6/addrconf.c, identical in 6.1
 * and 6.12): :: passes; ::ffff:a.b.c.d takes the IPv4 rule; a link-local
 * unicast address (fe80::/10) or an interface- or link-local multicast
 * one (ff01::/16, ff02::/16) needs a device (EINVAL without one); a
 * device that does not exist is ENODEV; any other multicast address
 * passes; otherwise the address must be one of the namespace's IPv6
 * addresses, not tentative (an optimistic address counts), and when the
 * socket has a device (ifindex), on that device unless its scope is
 * wider than link.
 *
 * Not modelled, the caller's part: net.ipv4.ip_nonlocal_bind,
 * net.ipv6.ip_nonlocal_bind, IP_FREEBIND and IP_TRANSPARENT (they skip
 * the address check); EINVAL for a v4-mapped address on an IPV6_V6ONLY
 * socket and for a multicast address on a SOCK_STREAM socket; VRF (l3mdev)
 * devices, whose own tables and address domains the kernel uses instead.
 */
#ifndef PORTWATCH_IFADDR_H
#define PORTWATCH_IFADDR_H

#include <stddef.h>
#include <stdint.h>

enum ifaddr_verdict {
	IFADDR_OK,	     /* the address check passes */
	IFADDR_NOT_LOCAL,    /* bind(2) fails with EADDRNOTAVAIL */
	IFADDR_NEEDS_DEVICE, /* IPv6 link-local without a device: EINVAL */
	IFADDR_NO_DEVICE,    /* IPv6: ifindex names no device of the namespace: ENODEV */
};

/* The errno bind(2) fails with for a verdict (0 for IFADDR_OK). */
int ifaddr_verdict_errno(enum ifaddr_verdict v);

/*
 * Check addr (family AF_INET or AF_INET6; 16 bytes, network order, an
 * IPv4 address in bytes 0..3) as bind(2) would in the current network
 * namespace. ifindex: the device the socket is bound to (SO_BINDTODEVICE,
 * or the sin6_scope_id of the bind), 0 for none; used by IPv6 only.
 * Sets *verdict and, when why is not NULL, a sentence for the user in why
 * ("no interface of this namespace has 2001:db8::7"). Returns 0, -EINVAL
 * for another family, or -errno of netlink.
 */
int ifaddr_check(int family, const uint8_t addr[16], int ifindex, enum ifaddr_verdict *verdict,
		 char *why, size_t whylen);

/*
 * The addresses of the current namespace for advice text, IPv4 then IPv6,
 * as "127.0.0.1 (lo), 10.0.0.2 (eth0), ::1 (lo)" ("none" when there are
 * none), truncated to len. Returns 0 or -errno of netlink.
 */
int ifaddr_list(char *buf, size_t len);

/*
 * Follow the addresses added to the current namespace: a non-blocking
 * NETLINK_ROUTE socket subscribed to RTMGRP_IPV4_IFADDR and
 * RTMGRP_IPV6_IFADDR (rtmsg_ifa() in net/ipv4/devinet.c, inet6_ifa_notify()
 * in net/ipv6/addrconf.c send RTM_NEWADDR to them). The socket keeps the
 * namespace it was opened in. Returns the fd or -errno.
 */
int ifaddr_watch_open(void);

/* Called per address added: family, addr (16 bytes, IPv4 in 0..3), ifindex. */
typedef void (*ifaddr_new_fn)(int family, const uint8_t addr[16], int ifindex, void *arg);

/*
 * Read every notification queued on a socket of ifaddr_watch_open() and
 * call fn for each RTM_NEWADDR (an IPv6 address is notified again when
 * its duplicate address detection ends: callers see it more than once).
 * Returns 0 once the queue is empty, -ENOBUFS when notifications were
 * lost (the socket's buffer overran: the caller must look again, e.g.
 * with ifaddr_check()), or another -errno.
 */
int ifaddr_watch_read(int fd, ifaddr_new_fn fn, void *arg);

/*
 * Is one of the n devices ifindex[] (0 entries skipped) of the current
 * namespace a VRF (an l3mdev master: rtnetlink IFLA_INFO_KIND "vrf") or
 * enslaved to one (IFLA_INFO_SLAVE_KIND "vrf")? Sockets bound to such a
 * device use the VRF's TCP bind buckets (inet_bind_bucket.l3mdev,
 * inet_sk_bound_l3mdev() unless net.ipv4.tcp_l3mdev_accept), which
 * portwatch does not model. Returns 1 and its name in name (truncated to
 * namelen), 0 when none is, or -errno of netlink.
 */
int ifaddr_l3mdev(const uint32_t *ifindex, size_t n, char *name, size_t namelen);

#endif /* PORTWATCH_IFADDR_H */
