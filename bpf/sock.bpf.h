/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * sock.bpf.h - CO-RE readers that turn a struct sock into a struct pw_sock.
 * Shared by bpf/portwatch.bpf.c (events) and bpf/snapshot.bpf.c
 * (iterators), so both describe a socket exactly the same way.
 *
 * The socket pointers handed to these readers are BTF-typed (trusted ones
 * from tp_btf and iterator contexts, untrusted ones from bpf_rdonly_cast()),
 * so fields are read with direct CO-RE-relocated loads, which the verifier
 * turns into fault-safe PROBE_MEM loads (a NULL or stale pointer reads as
 * 0): about 1 ns each instead of ~20 ns for a bpf_probe_read_kernel() call.
 *
 * The _probe readers take a plain pointer and read every field with
 * BPF_CORE_READ() (bpf_probe_read_kernel()): for kernels where
 * bpf_rdonly_cast() does not exist (before Linux 6.2), so that a pointer
 * read out of the fd table cannot be given back its type.
 */
#ifndef PORTWATCH_SOCK_BPF_H
#define PORTWATCH_SOCK_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "portwatch/event.h"

#define AF_INET 2
#define AF_INET6 10
#define S_IFMT 00170000
#define S_IFSOCK 0140000

/* struct inet_sock before Linux 6.6, whose inet_flags series turned these
 * bitfields into bits of inet_flags: the CO-RE flavour of the old layout
 * (include/net/inet_sock.h of 6.1). */
struct inet_sock___bits {
	__u8 freebind : 1;
	__u8 transparent : 1;
} __attribute__((preserve_access_index));

/* PW_IPF_* of a value of inet_sock.inet_flags (Linux 6.6+). */
static __always_inline __u8 pw_ip_flags_of(unsigned long inet_flags)
{
	/*
	 * The bit numbers come from an anonymous enum (no BTF name to
	 * relocate against): INET_FLAGS_FREEBIND 11 and
	 * INET_FLAGS_TRANSPARENT 15 in the 6.12 sources and the 6.18 BTF of
	 * bpf/vmlinux.h alike.
	 */
	return ((inet_flags >> 11) & 1 ? PW_IPF_FREEBIND : 0) |
	       ((inet_flags >> 15) & 1 ? PW_IPF_TRANSPARENT : 0);
}

/*
 * PW_IPF_* of an AF_INET/AF_INET6 socket: IP_FREEBIND / IP_TRANSPARENT
 * (IPV6_FREEBIND / IPV6_TRANSPARENT set the same flags). Probe reads
 * (bpf_probe_read_kernel), so any struct sock pointer will do, on every
 * kernel: inet_sock.inet_flags bits where the kernel has them (6.6+),
 * the old bitfields otherwise. Callers read it only for inet families.
 */
static __always_inline __u8 pw_ip_flags(const struct sock *sk)
{
	const struct inet_sock *inet = (const struct inet_sock *)sk;
	__u8 f = 0;

	if (bpf_core_field_exists(inet->inet_flags))
		return pw_ip_flags_of(BPF_CORE_READ(inet, inet_flags));
	else {
		const struct inet_sock___bits *old = (const void *)sk;

		if (BPF_CORE_READ_BITFIELD_PROBED(old, freebind))
			f |= PW_IPF_FREEBIND;
		if (BPF_CORE_READ_BITFIELD_PROBED(old, transparent))
			f |= PW_IPF_TRANSPARENT;
	}
	return f;
}

/*
 * Fill the fields a TIME_WAIT entry shares with a full socket (struct
 * sock_common): addresses, ports, family, state, reuse flags, netns.
 * Leaves inode, sk_uid and protocol alone.
 */
static __always_inline void pw_fill_common(const struct sock_common *skc, struct pw_sock *out)
{
	out->family = skc->skc_family;
	out->state = skc->skc_state;
	out->lport = skc->skc_num;
	out->rport = bpf_ntohs(skc->skc_dport);
	out->netns = skc->skc_net.net->ns.inum;
	out->reuseaddr = BPF_CORE_READ_BITFIELD(skc, skc_reuse) != 0;
	out->reuseport = BPF_CORE_READ_BITFIELD(skc, skc_reuseport);
	out->v6only = BPF_CORE_READ_BITFIELD(skc, skc_ipv6only);
	out->bound_dev_if = skc->skc_bound_dev_if;
	if (out->family == AF_INET6) {
		__builtin_memcpy(out->laddr, skc->skc_v6_rcv_saddr.in6_u.u6_addr8, 16);
		__builtin_memcpy(out->raddr, skc->skc_v6_daddr.in6_u.u6_addr8, 16);
	} else {
		*(__u32 *)out->laddr = skc->skc_rcv_saddr;
		*(__u32 *)out->raddr = skc->skc_daddr;
	}
}

/* Socket inode of a full socket (sock_i_ino()), 0 when it has no file. */
static __always_inline __u64 pw_sock_inode(const struct sock *sk)
{
	struct socket *sock = sk->sk_socket;
	struct file *file = sock ? sock->file : NULL;

	return file ? file->f_inode->i_ino : 0;
}

/* Fill everything pw_sock holds from a full socket. */
static __always_inline void pw_fill_sock(const struct sock *sk, struct pw_sock *out)
{
	pw_fill_common(&sk->__sk_common, out);
	out->protocol = sk->sk_protocol;
	out->sk_uid = sk->sk_uid.val;
	out->inode = pw_sock_inode(sk);
	if (out->reuseport) {
		struct sock_reuseport *reuse = sk->sk_reuseport_cb;

		out->reuseport_prog = reuse && reuse->prog;
	}
}

/* pw_sock_inode() through a plain pointer. */
static __always_inline __u64 pw_sock_inode_probe(const struct sock *sk)
{
	return BPF_CORE_READ(sk, sk_socket, file, f_inode, i_ino);
}

/* pw_fill_sock() through a plain pointer (a full socket: common part too). */
static __always_inline void pw_fill_sock_probe(const struct sock *sk, struct pw_sock *out)
{
	const struct sock_common *skc = &sk->__sk_common;

	out->family = BPF_CORE_READ(skc, skc_family);
	out->state = BPF_CORE_READ(skc, skc_state);
	out->lport = BPF_CORE_READ(skc, skc_num);
	out->rport = bpf_ntohs(BPF_CORE_READ(skc, skc_dport));
	out->netns = BPF_CORE_READ(skc, skc_net.net, ns.inum);
	out->reuseaddr = BPF_CORE_READ_BITFIELD_PROBED(skc, skc_reuse) != 0;
	out->reuseport = BPF_CORE_READ_BITFIELD_PROBED(skc, skc_reuseport);
	out->v6only = BPF_CORE_READ_BITFIELD_PROBED(skc, skc_ipv6only);
	out->bound_dev_if = BPF_CORE_READ(skc, skc_bound_dev_if);
	if (out->family == AF_INET6) {
		bpf_core_read(out->laddr, 16, &skc->skc_v6_rcv_saddr);
		bpf_core_read(out->raddr, 16, &skc->skc_v6_daddr);
	} else {
		bpf_core_read(out->laddr, 4, &skc->skc_rcv_saddr);
		bpf_core_read(out->raddr, 4, &skc->skc_daddr);
	}
	out->protocol = BPF_CORE_READ(sk, sk_protocol);
	out->sk_uid = BPF_CORE_READ(sk, sk_uid.val);
	out->inode = pw_sock_inode_probe(sk);
	if (out->reuseport)
		out->reuseport_prog = BPF_CORE_READ(sk, sk_reuseport_cb, prog) != NULL;
}

#endif /* PORTWATCH_SOCK_BPF_H */
