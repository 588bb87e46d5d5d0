/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * sniffdiag.h - the raw and packet sockets of a network namespace through
 * NETLINK_SOCK_DIAG, for the sniffers that exist before the daemon starts
 * (sniff.h). Uses libmnl.
 *
 * Packet sockets: packet_diag (net/packet/diag.c, CONFIG_PACKET_DIAG),
 * with PACKET_SHOW_INFO (the bound ifindex) and PACKET_SHOW_FILTER (the
 * classic program, reported only to CAP_NET_ADMIN and only when one was
 * attached with SO_ATTACH_FILTER: sock_diag_put_filterinfo() in
 * net/core/sock_diag.c); the owner comes from /proc, not from the dump.
 * Raw sockets: raw_diag (net/ipv4/raw_diag.c, CONFIG_INET_RAW_DIAG), an
 * inet_diag dump with sdiag_protocol IPPROTO_RAW that lists every raw
 * socket of the family, the protocol in INET_DIAG_PROTOCOL
 * (inet_diag_msg_attrs_fill()). A kernel without raw_diag answers ENOENT.
 * Neither says whether a raw socket, or a packet socket with an eBPF
 * filter, has a filter: the caller asks the owner's fd (proc_sock_filter()).
 */
#ifndef PORTWATCH_SNIFFDIAG_H
#define PORTWATCH_SNIFFDIAG_H

#include <stddef.h>
#include <stdint.h>

#include <linux/filter.h>

/* One raw or packet socket of a dump. */
struct sniffdiag_sock {
	uint64_t inode;
	uint32_t ifindex;   /* packet: the bound interface, raw: sk_bound_dev_if; 0 all */
	uint16_t family;    /* AF_INET, AF_INET6, AF_PACKET */
	uint16_t type;      /* SOCK_RAW, SOCK_DGRAM */
	uint16_t protocol;  /* host order: IPPROTO_* or ETH_P_* */
	const struct sock_filter *cbpf; /* packet: the classic filter, NULL none reported */
	size_t cbpf_len;    /* its instructions */
};

typedef int (*sniffdiag_fn)(const struct sniffdiag_sock *s, void *arg);

/*
 * Dump the packet sockets (when packet is non-zero) or the raw sockets
 * (AF_INET then AF_INET6) of the namespace of fd, a NETLINK_SOCK_DIAG
 * socket made there (diag_open()), calling fn for each (its value: 0 to go
 * on, else stop). Does not close fd. Returns 0, -ENOENT when the kernel
 * has no such dump (raw_diag not built), or -errno.
 */
int sniffdiag_dump(int fd, int packet, sniffdiag_fn fn, void *arg);

#endif /* PORTWATCH_SNIFFDIAG_H */
