/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * sniff.h - packet sniffers: raw (SOCK_RAW of AF_INET/AF_INET6) and packet
 * (AF_PACKET) sockets with a socket filter attached (SO_ATTACH_FILTER, a
 * classic BPF program, or SO_ATTACH_BPF, an eBPF one; sk_attach_filter()
 * and sk_attach_bpf() in net/core/filter.c). Such a socket reads the
 * packets of any port without binding it, so the ownership table never
 * sees it: this is a side table of them, keyed by (netns, socket inode).
 *
 * New ones come from the setsockopt tracepoint (event.h,
 * PW_SOCKOPT_FILTER_*); the ones that exist at start-up from sock_diag
 * (sniffscan.c). The filter itself is read from the owner's fd
 * (proc_sock_filter(): SO_GET_FILTER), and for a classic program the
 * ports it compares against are decoded (sniff_cbpf_ports()). A sniffer
 * is dropped when its owner's fd no longer holds it (sniff_prune()):
 * packet sockets are not released through inet_release(), so the
 * cgroup/sock_release hook never sees them.
 *
 * Pure but for sniff_prune() (reads /proc).
 */
#ifndef PORTWATCH_SNIFF_H
#define PORTWATCH_SNIFF_H

#include <stddef.h>
#include <stdint.h>

#include <linux/filter.h>

#include "table.h"

#define SNIFF_MAX_PORTS 8    /* decoded ports kept per sniffer */
#define SNIFF_PROG_MAX 4096  /* BPF_MAXINSNS: the longest classic program */
/*
 * Sniffers kept at most. Any user can make raw and packet sockets in a
 * network namespace of its own (CAP_NET_RAW of its user namespace): past
 * this, new ones are still alerted on but not kept (sniff_set.not_kept),
 * so that memory, the lookups of each event and sniff_prune()'s readlink
 * calls stay bounded.
 */
#define SNIFF_MAX 4096

/* What filter a sniffer has (sniffer.filter). */
enum sniff_filter {
	SNIFF_FILTER_CBPF = 1, /* classic BPF, SO_ATTACH_FILTER: "cbpf" */
	SNIFF_FILTER_EBPF = 2, /* eBPF, SO_ATTACH_BPF: "ebpf" */
};

/* One sniffer. */
struct sniffer {
	uint64_t inode;        /* socket inode */
	uint32_t netns;        /* inode of its network namespace */
	uint32_t ifindex;      /* the interface it reads, in netns; 0: all ("any") */
	char ifname[16];       /* name of ifindex in netns; "" unknown or any */
	uint16_t family;       /* AF_INET, AF_INET6 or AF_PACKET */
	uint16_t type;         /* SOCK_RAW or SOCK_DGRAM */
	uint16_t protocol;     /* host order: IPPROTO_* (raw) or ETH_P_* (packet) */
	uint8_t filter;        /* enum sniff_filter */
	uint8_t ports_known;   /* 1: ports[] decoded from a classic program */
	uint8_t nports;        /* entries of ports[] (host order, ascending) */
	uint8_t accepts_none;  /* 1: the classic program returns 0 on every path */
	uint8_t alert_due;     /* 1: its alert waits for a program that accepts packets */
	uint16_t ports[SNIFF_MAX_PORTS];
	int32_t fd;            /* the owner's fd of it; -1 unknown */
	struct pw_owner owner; /* pid 0: no process found */
	uint64_t first_ns;     /* CLOCK_REALTIME ns when it was first seen */
	uint64_t alert_id;     /* its diversion/packet_sniffer alert; 0: none (allowed,
				* folded, or seen at start-up before alerts) */
};

/* The side table: unordered, small (a host has a handful of sniffers). */
struct sniff_set {
	struct sniffer *v;     /* owned; n used of cap */
	size_t n, cap;
	uint64_t found;        /* sniffers seen new, in all */
	uint64_t not_kept;     /* new ones refused: SNIFF_MAX reached, or ENOMEM */
	uint64_t read_errors;  /* filters the daemon could not read (owner gone, EPERM):
				* their ports are "unknown" */
};

/*
 * Decode the TCP/UDP/SCTP ports a classic BPF program compares against,
 * as libpcap compiles "port N", "tcp dst port N", "udp src port N" and
 * their or-combinations, for any link header (Ethernet, Linux cooked,
 * none). prog: len instructions (linux/filter.h). Up to max distinct
 * ports into ports[] (host order, ascending; more are not kept), *n their
 * number. Returns 1 when decoded (*n >= 1), 0 when the program does not
 * read as port comparisons ("unknown": no transport port is loaded, or one
 * is tested other than for equality, e.g. a portrange). Pure.
 */
int sniff_cbpf_ports(const struct sock_filter *prog, size_t len, uint16_t *ports, size_t max,
		     size_t *n);

/*
 * 1 when the classic program prog (len instructions) accepts no packet:
 * every return is "ret #0" (sk_filter_trim_cap() in net/core/filter.c
 * drops a packet whose filter returns 0). libpcap attaches such a program
 * first and its real filter right after (set_kernel_filter() in
 * pcap-linux.c: drain the socket in between), so a socket holding one
 * reads nothing yet. 0 otherwise, and for an empty program. Pure.
 */
int sniff_cbpf_accepts_none(const struct sock_filter *prog, size_t len);

/* The sniffer of (netns, inode), or NULL. */
struct sniffer *sniff_find(struct sniff_set *s, uint32_t netns, uint64_t inode);

/*
 * Add a sniffer (copied) unless (netns, inode) is there already. Returns
 * the entry in the set (valid until the set changes) and *is_new; NULL
 * (*is_new 1, not_kept counted) when the set holds SNIFF_MAX already or
 * on ENOMEM.
 */
struct sniffer *sniff_add(struct sniff_set *s, const struct sniffer *n, int *is_new);

/*
 * Drop the sniffers whose owner's fd no longer holds them (closed, the
 * process gone); the ones without a known owner fd are kept. Returns the
 * number dropped.
 */
size_t sniff_prune(struct sniff_set *s);

/* "raw" (SOCK_RAW inet), "packet" (AF_PACKET SOCK_RAW), "packet_dgram". Pure. */
const char *sniff_type_name(const struct sniffer *f);
/* "cbpf", "ebpf". Pure. */
const char *sniff_filter_name(const struct sniffer *f);
/*
 * The protocol as text: "tcp", "udp", "icmp", "ip" ... for raw sockets,
 * "all" (ETH_P_ALL), "ip", "ipv6", "arp" or "0xNNNN" for packet sockets.
 * buf: at least 8 bytes, used for the numeric forms. Pure.
 */
const char *sniff_proto_name(const struct sniffer *f, char *buf, size_t len);
/* The decoded ports as "22,443", or "unknown"; truncated to len. Pure. */
void sniff_ports_text(const struct sniffer *f, char *buf, size_t len);
/* The alert message (NUL-terminated, truncated to len). Pure. */
void sniff_message(char *buf, size_t len, const struct sniffer *f);

/* Free the set; accepts a zeroed one. */
void sniff_free(struct sniff_set *s);

#endif /* PORTWATCH_SNIFF_H */
