// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* sniff.c - packet sniffers and their filters' ports; see sniff.h. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/if_ether.h>

#include "proc.h"
#include "sniff.h"

/*
 * The classic-BPF port decoder.
 *
 * libpcap compiles "tcp port 22" (tcpdump -d, Ethernet) to:
 *
 *   ldh [12]; jeq #0x86dd          ethertype IPv6?
 *     ldb [20]; jeq #0x6            next header (IPv6 header at 14, +6) TCP?
 *     ldh [54]; jeq #0x16           source port: IPv6 header + 40
 *     ldh [56]; jeq #0x16           destination port: IPv6 header + 42
 *   jeq #0x800                      ethertype IPv4?
 *     ldb [23]; jeq #0x6            protocol (IPv4 header at 14, +9) TCP?
 *     ldh [20]; jset #0x1fff        not a fragment
 *     ldxb 4*([14]&0xf)             X = IPv4 header length
 *     ldh [x + 14]; jeq #0x16       source port: X + IPv4 header start
 *     ldh [x + 16]; jeq #0x16       destination port: X + start + 2
 *   ret #262144 / ret #0
 *
 * So a transport port is a halfword loaded either at X + m or X + m + 2,
 * where X came from "ldxb 4*([m]&0xf)" (the IPv4 header length at offset
 * m), or at L + 40 or L + 42, where "ldb [L + 6]" was compared with the
 * number of TCP, UDP or SCTP (an IPv6 header at L, no extension header).
 * The offsets are learnt from the program itself, so Ethernet (L = 14),
 * Linux cooked (16) and bare IP (0) headers decode alike. The ports are
 * the constants such a load is compared equal to ("jeq #K").
 *
 * cBPF jumps only forward (sk_chk_filter() -> bpf_check_classic() in
 * net/core/filter.c rejects anything else), so one pass in program order
 * sees every predecessor of an instruction before the instruction: what A
 * and X hold is tracked per instruction, merged over the paths that reach
 * it (two paths that disagree leave "unknown"). This matters: in the
 * program above "jeq #0x800" follows "jeq #0x16" in the text, but is only
 * reached from "jeq #0x86dd", where A holds the ethertype, not a port.
 */
enum a_kind {
	A_OTHER = 0, /* nothing the decoder follows */
	A_BYTE,      /* "ldb [k]": a byte at an absolute offset */
	A_PORT,      /* a transport port */
};

enum x_kind {
	X_OTHER = 0,
	X_IPHDR,     /* "ldxb 4*([k]&0xf)": the length of an IPv4 header at k */
};

struct abs_state {
	uint8_t reached;
	uint8_t a;   /* enum a_kind */
	uint8_t x;   /* enum x_kind */
	uint32_t ak; /* A_BYTE: its offset */
	uint32_t xk; /* X_IPHDR: the header's offset */
};

#define IP6_CANDIDATES 8 /* distinct IPv6 header offsets a program may use */

/* Join state s into the incoming state of instruction t. */
static void flow(struct abs_state *st, size_t len, size_t t, const struct abs_state *s)
{
	struct abs_state *d;

	if (t >= len)
		return; /* out of the program: the kernel's checker forbids it */
	d = &st[t];
	if (!d->reached) {
		*d = *s;
		d->reached = 1;
		return;
	}
	if (d->a != s->a || d->ak != s->ak)
		d->a = A_OTHER;
	if (d->x != s->x || d->xk != s->xk)
		d->x = X_OTHER;
}

static int is_l4_proto(uint32_t k)
{
	return k == IPPROTO_TCP || k == IPPROTO_UDP || k == IPPROTO_SCTP;
}

static void add_port(uint16_t *ports, size_t max, size_t *n, uint16_t port)
{
	size_t i, j;

	for (i = 0; i < *n && ports[i] < port; i++)
		;
	if ((i < *n && ports[i] == port) || *n == max)
		return;
	for (j = *n; j > i; j--)
		ports[j] = ports[j - 1];
	ports[i] = port;
	(*n)++;
}

int sniff_cbpf_ports(const struct sock_filter *prog, size_t len, uint16_t *ports, size_t max,
		     size_t *n)
{
	uint32_t ip6[IP6_CANDIDATES];
	size_t nip6 = 0, seen_port_loads = 0;
	struct abs_state *st;
	int ok = 1;

	*n = 0;
	if (!len || len > SNIFF_PROG_MAX)
		return 0;
	st = calloc(len, sizeof(*st));
	if (!st)
		return 0;
	st[0].reached = 1;
	for (size_t i = 0; i < len && ok; i++) {
		const struct sock_filter *f = &prog[i];
		struct abs_state s = st[i];
		uint16_t cls = BPF_CLASS(f->code);

		if (!s.reached)
			continue; /* dead code */
		switch (cls) {
		case BPF_LD:
			s.a = A_OTHER;
			if (f->code == (BPF_LD | BPF_B | BPF_ABS)) {
				s.a = A_BYTE;
				s.ak = f->k;
			} else if (f->code == (BPF_LD | BPF_H | BPF_IND) && s.x == X_IPHDR &&
				   (f->k == s.xk || f->k == s.xk + 2)) {
				s.a = A_PORT; /* IPv4: header start + header length (+2) */
			} else if (f->code == (BPF_LD | BPF_H | BPF_ABS)) {
				for (size_t c = 0; c < nip6; c++)
					if (f->k == ip6[c] + 40 || f->k == ip6[c] + 42)
						s.a = A_PORT; /* IPv6: fixed header, 40 bytes */
			}
			seen_port_loads += s.a == A_PORT;
			flow(st, len, i + 1, &s);
			break;
		case BPF_LDX:
			s.x = X_OTHER;
			if (f->code == (BPF_LDX | BPF_B | BPF_MSH)) {
				s.x = X_IPHDR;
				s.xk = f->k;
			}
			flow(st, len, i + 1, &s);
			break;
		case BPF_ALU:
			if (s.a == A_PORT)
				ok = 0; /* arithmetic on a port: not a plain comparison */
			s.a = A_OTHER;
			flow(st, len, i + 1, &s);
			break;
		case BPF_MISC:
			if (f->code == (BPF_MISC | BPF_TAX))
				s.x = X_OTHER;
			else
				s.a = A_OTHER; /* TXA */
			flow(st, len, i + 1, &s);
			break;
		case BPF_JMP:
			if (BPF_OP(f->code) == BPF_JA) {
				flow(st, len, i + 1 + f->k, &s);
				break;
			}
			if (s.a == A_PORT) {
				if (f->code != (BPF_JMP | BPF_JEQ | BPF_K) || f->k > 0xffff) {
					ok = 0; /* a range, a mask or a comparison with X */
					break;
				}
				add_port(ports, max, n, (uint16_t)f->k);
			} else if (s.a == A_BYTE && f->code == (BPF_JMP | BPF_JEQ | BPF_K) &&
				   is_l4_proto(f->k) && s.ak >= 6 && nip6 < IP6_CANDIDATES) {
				uint32_t l = s.ak - 6; /* an IPv6 next-header byte */
				size_t c;

				for (c = 0; c < nip6 && ip6[c] != l; c++)
					;
				if (c == nip6)
					ip6[nip6++] = l;
			}
			flow(st, len, i + 1 + f->jt, &s);
			flow(st, len, i + 1 + f->jf, &s);
			break;
		case BPF_RET:
			break;
		default: /* BPF_ST, BPF_STX: scratch memory, A and X unchanged */
			flow(st, len, i + 1, &s);
			break;
		}
	}
	free(st);
	if (!ok || !seen_port_loads || !*n) {
		*n = 0;
		return 0;
	}
	return 1;
}

struct sniffer *sniff_find(struct sniff_set *s, uint32_t netns, uint64_t inode)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].netns == netns && s->v[i].inode == inode)
			return &s->v[i];
	return NULL;
}

struct sniffer *sniff_add(struct sniff_set *s, const struct sniffer *n, int *is_new)
{
	struct sniffer *f = sniff_find(s, n->netns, n->inode);

	*is_new = !f;
	if (f)
		return f;
	if (s->n >= SNIFF_MAX) {
		s->not_kept++;
		return NULL;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 8;
		struct sniffer *v = realloc(s->v, cap * sizeof(*v));

		if (!v) {
			s->not_kept++;
			return NULL;
		}
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n] = *n;
	s->found++;
	return &s->v[s->n++];
}

size_t sniff_prune(struct sniff_set *s)
{
	size_t k = 0, dropped;

	for (size_t i = 0; i < s->n; i++) {
		const struct sniffer *f = &s->v[i];

		if (f->owner.pid && f->fd >= 0 && !proc_fd_is_socket(f->owner.pid, f->fd, f->inode))
			continue;
		s->v[k++] = *f;
	}
	dropped = s->n - k;
	s->n = k;
	return dropped;
}

const char *sniff_type_name(const struct sniffer *f)
{
	if (f->family != AF_PACKET)
		return "raw";
	return f->type == SOCK_DGRAM ? "packet_dgram" : "packet";
}

const char *sniff_filter_name(const struct sniffer *f)
{
	return f->filter == SNIFF_FILTER_EBPF ? "ebpf" : "cbpf";
}

const char *sniff_proto_name(const struct sniffer *f, char *buf, size_t len)
{
	if (f->family != AF_PACKET) {
		switch (f->protocol) {
		case IPPROTO_IP: return "ip";
		case IPPROTO_ICMP: return "icmp";
		case IPPROTO_TCP: return "tcp";
		case IPPROTO_UDP: return "udp";
		case IPPROTO_ICMPV6: return "icmpv6";
		case IPPROTO_SCTP: return "sctp";
		case IPPROTO_RAW: return "raw";
		}
		snprintf(buf, len, "%u", f->protocol);
		return buf;
	}
	switch (f->protocol) {
	case ETH_P_ALL: return "all";
	case ETH_P_IP: return "ip";
	case ETH_P_IPV6: return "ipv6";
	case ETH_P_ARP: return "arp";
	case 0: return "none"; /* receives nothing until bound to a protocol */
	}
	snprintf(buf, len, "0x%04x", f->protocol);
	return buf;
}

void sniff_ports_text(const struct sniffer *f, char *buf, size_t len)
{
	size_t off = 0;

	if (!len)
		return;
	if (!f->ports_known || !f->nports) {
		snprintf(buf, len, "unknown");
		return;
	}
	buf[0] = '\0';
	for (size_t i = 0; i < f->nports && off < len; i++) {
		int w = snprintf(buf + off, len - off, "%s%u", i ? "," : "", f->ports[i]);

		if (w < 0)
			break;
		off += (size_t)w;
	}
}

void sniff_message(char *buf, size_t len, const struct sniffer *f)
{
	char who[PW_COMM_LEN + PW_EXE_LEN + PW_UNIT_LEN + 64], ports[64], pbuf[8];

	if (f->owner.pid)
		snprintf(who, sizeof(who), "pid %u (%s, uid %u, %s%s%s)", f->owner.pid,
			 f->owner.comm, f->owner.uid,
			 *pw_owner_exe(&f->owner) ? pw_owner_exe(&f->owner) : "?",
			 *pw_owner_unit(&f->owner) ? ", " : "", pw_owner_unit(&f->owner));
	else
		snprintf(who, sizeof(who), "no process found");
	sniff_ports_text(f, ports, sizeof(ports));
	snprintf(buf, len,
		 "packet_sniffer: %s socket (protocol %s) on interface %s in network namespace %u "
		 "has %s filter%s%s: it reads the traffic of %s without binding a port; held by %s",
		 sniff_type_name(f), sniff_proto_name(f, pbuf, sizeof(pbuf)),
		 f->ifindex ? (f->ifname[0] ? f->ifname : "?") : "any", f->netns,
		 f->filter == SNIFF_FILTER_EBPF ? "an eBPF" : "a classic BPF",
		 f->filter == SNIFF_FILTER_CBPF ? " comparing ports " : "",
		 f->filter == SNIFF_FILTER_CBPF ? ports : "",
		 f->ports_known ? "those ports" : "any port", who);
}

void sniff_free(struct sniff_set *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

int sniff_cbpf_accepts_none(const struct sock_filter *prog, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (BPF_CLASS(prog[i].code) == BPF_RET &&
		    (BPF_RVAL(prog[i].code) != BPF_K || prog[i].k != 0))
			return 0;
	return len > 0;
}
