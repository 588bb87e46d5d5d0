/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * diag.h - what the BPF socket iterators cannot list: TCP sockets that
 * are bound but neither listening nor connected. They live only in the
 * kernel's bind hash, which iter/tcp does not walk; NETLINK_SOCK_DIAG
 * dumps them since Linux 6.5 (state TCP_BOUND_INACTIVE, inet_diag_dump_
 * bound_inactive... in net/ipv4/inet_diag.c). Uses libmnl.
 * Each dump asks for IPv4 and IPv6 at once (the TCPDIAG_GETSOCK request,
 * run by the kernel as family AF_UNSPEC), since every dump walks the
 * host's whole bind and established hashes; per family where the kernel
 * refuses that request.
 */
#ifndef PORTWATCH_DIAG_H
#define PORTWATCH_DIAG_H

#include <stdint.h>

#include "portwatch/event.h"

/* Callback per socket: 0 to go on, non-zero to stop (the shape of snap.h snap_fn). */
typedef int (*diag_sock_fn)(const struct pw_sock *sk, void *arg);

/*
 * A NETLINK_SOCK_DIAG socket in the calling thread's current network
 * namespace (a netlink socket keeps the namespace it was created in).
 * Returns the fd or -errno.
 */
int diag_open(void);

/*
 * Dump the bound-only TCP sockets (IPv4 and IPv6) of fd's namespace and
 * call fn for each as a struct pw_sock: netns set to `netns`, state
 * PW_TCP_CLOSE, sk_uid and inode from inet_diag_msg, flags_unknown set
 * (sock_diag does not report SO_REUSEADDR/SO_REUSEPORT/IPV6_V6ONLY).
 * Closes fd. Returns 0, 1 when fn stopped, fn's negative value, or -errno.
 * A kernel older than 6.5 ignores the state and reports none: 0.
 */
int diag_bound_tcp(int fd, uint32_t netns, diag_sock_fn fn, void *arg);

/*
 * Dump the TIME_WAIT entries on local port `port` (host order) of fd's
 * namespace (IPv4 and IPv6) and call fn(sk, expires_ms, arg) for each
 * (FIN_WAIT2 sockets too: an entry in the FIN_WAIT2 substate is reported
 * so; callers match the 4-tuple against TIME_WAIT records they have):
 * sk with netns, family, laddr/lport, raddr/rport and state
 * PW_TCP_TIME_WAIT; expires_ms is idiag_expires, the milliseconds left
 * before the entry goes. Closes fd. Returns 0, fn's non-zero value, or
 * -errno. (inet_diag_dump_icsk() and inet_twsk_diag_fill() in
 * net/ipv4/inet_diag.c.)
 */
typedef int (*diag_tw_fn)(const struct pw_sock *sk, uint32_t expires_ms, void *arg);
int diag_time_wait(int fd, uint32_t netns, uint16_t port, diag_tw_fn fn, void *arg);

/*
 * The INET_DIAG_SOCKOPT flags (struct inet_diag_sockopt: transparent,
 * freebind, ...; Linux 5.10+, put for every socket by
 * inet_diag_msg_attrs_fill() in net/ipv4/inet_diag.c) of the socket with
 * this inode on (protocol, local port `port`, host order) in fd's
 * namespace, IPv4 and IPv6, TCP listeners or UDP sockets: *flags gets
 * DIAG_SOCKOPT_* bits. Closes fd. Returns 1 found, 0 not found or no
 * such attribute (older kernel), or -errno.
 */
#define DIAG_SOCKOPT_TRANSPARENT 0x01 /* IP_TRANSPARENT (inet_sk(sk)->transparent) */
#define DIAG_SOCKOPT_FREEBIND 0x02    /* IP_FREEBIND */
int diag_sockopt(int fd, uint8_t protocol, uint16_t port, uint64_t inode, uint8_t *flags);

#endif /* PORTWATCH_DIAG_H */
