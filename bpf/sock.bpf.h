/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * sock.bpf.h - CO-RE readers that turn a struct sock into a struct pw_sock.
 * Shared by bpf/portwatch.bpf.c (events) and bpf/snapshot.bpf.c
 * (iterators), so both describe a socket exactly the same way.
 *
 * Every read goes through BPF_CORE_READ (bpf_probe_read_kernel underneath),
 * which is valid in tracepoint, tp_btf, cgroup and iterator programs alike.
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

/*
 * Fill the fields a TIME_WAIT entry shares with a full socket (struct
 * sock_common): addresses, ports, family, state, reuse flags, netns.
 * Leaves inode, sk_uid and protocol alone.
 */
static __always_inline void pw_fill_common(const struct sock_common *skc, struct pw_sock *out)
{
	out->family = BPF_CORE_READ(skc, skc_family);
	out->state = BPF_CORE_READ(skc, skc_state);
	out->lport = BPF_CORE_READ(skc, skc_num);
	out->rport = bpf_ntohs(BPF_CORE_READ(skc, skc_dport));
	out->netns = BPF_CORE_READ(skc, skc_net.net, ns.inum);
	out->reuseaddr = BPF_CORE_READ_BITFIELD_PROBED(skc, skc_reuse) != 0;
	out->reuseport = BPF_CORE_READ_BITFIELD_PROBED(skc, skc_reuseport);
	out->v6only = BPF_CORE_READ_BITFIELD_PROBED(skc, skc_ipv6only);
	if (out->family == AF_INET6) {
		BPF_CORE_READ_INTO(&out->laddr, skc, skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&out->raddr, skc, skc_v6_daddr.in6_u.u6_addr8);
	} else {
		BPF_CORE_READ_INTO((__u32 *)out->laddr, skc, skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)out->raddr, skc, skc_daddr);
	}
}

/* Socket inode of a full socket (sock_i_ino()), 0 when it has no file. */
static __always_inline __u64 pw_sock_inode(const struct sock *sk)
{
	struct file *file = BPF_CORE_READ(sk, sk_socket, file);

	if (!file)
		return 0;
	return BPF_CORE_READ(file, f_inode, i_ino);
}

/* Fill everything pw_sock holds from a full socket. */
static __always_inline void pw_fill_sock(const struct sock *sk, struct pw_sock *out)
{
	pw_fill_common(&sk->__sk_common, out);
	out->protocol = BPF_CORE_READ(sk, sk_protocol);
	out->sk_uid = BPF_CORE_READ(sk, sk_uid.val);
	out->inode = pw_sock_inode(sk);
}

#endif /* PORTWATCH_SOCK_BPF_H */
