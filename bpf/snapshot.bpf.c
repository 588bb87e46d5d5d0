// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * snapshot.bpf.c - BPF socket iterators that list every TCP and UDP socket
 * of the reading task's network namespace as fixed-size struct pw_sock
 * records (include/portwatch/event.h), reuse flags included, which
 * NETLINK_SOCK_DIAG does not report.
 *
 * iter/tcp walks the listening and established hashes (net/ipv4/tcp_ipv4.c
 * bpf_iter_tcp_*; IPv6 sockets included), so it meets full sockets, TIME_WAIT
 * entries and request sockets; request sockets (NEW_SYN_RECV) hold no
 * address of their own and are skipped. iter/udp walks the UDP table.
 * The namespace is the one of the task that creates the iterator
 * (seq_file_net()), so the daemon enters each netns with setns(2) first.
 *
 * iter/task_file lists every socket file of every process (struct
 * pw_sock_owner): who owns which socket inode, without a readlink(2) of
 * each /proc/PID/fd entry (110k sockets: 0.10 s of the daemon's startup
 * snapshot instead of ~0.2 s, see docs/PERFORMANCE.md).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "portwatch/event.h"
#include "sock.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("iter/tcp")
int dump_tcp(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct seq_file *seq = ctx->meta->seq;
	struct pw_sock rec = {};
	struct tcp_sock *tp;

	if (!skc)
		return 0;
	pw_fill_common(skc, &rec);
	rec.protocol = IPPROTO_TCP;
	if (rec.state == PW_TCP_NEW_SYN_RECV)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (tp) {
		struct sock *sk = (struct sock *)tp;

		rec.sk_uid = sk->sk_uid.val;
		rec.inode = pw_sock_inode(sk);
		rec.ipflags = pw_ip_flags(sk);
		/* SOCK_CONNECT_BIND (16) exists where tw_connect_bind does */
		if (bpf_core_field_exists(((struct inet_timewait_sock *)0)->tw_connect_bind))
			rec.bind_origin = PW_BIND_KNOWN |
					  ((BPF_CORE_READ_BITFIELD_PROBED(sk, sk_userlocks) & 16) ?
						   PW_BIND_CONNECT :
						   0);
	} else if (rec.state != PW_TCP_TIME_WAIT) {
		return 0;
	} else {
		struct tcp_timewait_sock *tw = bpf_skc_to_tcp_timewait_sock(skc);

		if (tw && bpf_core_field_exists(tw->tw_sk.tw_connect_bind))
			rec.bind_origin = PW_BIND_KNOWN |
					  (BPF_CORE_READ_BITFIELD_PROBED(&tw->tw_sk, tw_connect_bind) ?
						   PW_BIND_CONNECT :
						   0);
	}
	bpf_seq_write(seq, &rec, sizeof(rec));
	return 0;
}

SEC("iter/udp")
int dump_udp(struct bpf_iter__udp *ctx)
{
	struct udp_sock *up = ctx->udp_sk;
	struct seq_file *seq = ctx->meta->seq;
	struct pw_sock rec = {};

	if (!up)
		return 0;
	pw_fill_sock((struct sock *)up, &rec);
	rec.ipflags = pw_ip_flags((struct sock *)up);
	rec.protocol = IPPROTO_UDP;
	bpf_seq_write(seq, &rec, sizeof(rec));
	return 0;
}

/* S_IFMT, S_IFSOCK: sock.bpf.h */
SEC("iter/task_file")
int dump_sock_owners(struct bpf_iter__task_file *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct pw_sock_owner rec = {};

	if (!task || !file)
		return 0;
	if ((file->f_inode->i_mode & S_IFMT) != S_IFSOCK)
		return 0;
	rec.inode = file->f_inode->i_ino;
	rec.pid = task->tgid;
	bpf_seq_write(seq, &rec, sizeof(rec));
	return 0;
}
