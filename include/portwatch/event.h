/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * portwatch/event.h - the ABI between bpf/portwatch.bpf.c and portwatchd.
 *
 * Everything here is read by both the BPF programs (compiled against
 * vmlinux.h) and the daemon (compiled against the libc headers), so only
 * fixed-width types are used, fields are ordered largest first so the
 * compiler adds no padding, and the sizes are pinned by _Static_assert.
 *
 * Byte order: addresses are network order, ports are HOST order (the
 * kernel's inet_num / skc_num are host order; the sockaddr port is
 * converted with bpf_ntohs() on the BPF side).
 */
#ifndef PORTWATCH_EVENT_H
#define PORTWATCH_EVENT_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Values of pw_event.type. */
enum pw_event_type {
	PW_EV_BIND = 1,    /* bind(2) returned; err = 0 or -errno */
	PW_EV_LISTEN = 2,  /* listen(2) returned */
	PW_EV_CONNECT = 3, /* connect(2) returned (only the interesting ones) */
	PW_EV_SOCKOPT = 4, /* a socket option the table follows changed (enum pw_sockopt) */
	PW_EV_STATE = 5,   /* TCP state change the table needs (to/from LISTEN, to ESTABLISHED) */
	PW_EV_RELEASE = 6, /* a bound socket was released (last close, exit, SIGKILL) */
};

/* Values of pw_sock.state: the kernel's TCP states (include/net/tcp_states.h). */
enum pw_tcp_state {
	PW_TCP_ESTABLISHED = 1,
	PW_TCP_SYN_SENT = 2,
	PW_TCP_SYN_RECV = 3,
	PW_TCP_FIN_WAIT1 = 4,
	PW_TCP_FIN_WAIT2 = 5,
	PW_TCP_TIME_WAIT = 6,
	PW_TCP_CLOSE = 7, /* reported as BOUND when the socket has a local port */
	PW_TCP_CLOSE_WAIT = 8,
	PW_TCP_LAST_ACK = 9,
	PW_TCP_LISTEN = 10,
	PW_TCP_CLOSING = 11,
	PW_TCP_NEW_SYN_RECV = 12,
};

/*
 * One socket as the kernel holds it, read with CO-RE from struct sock
 * (struct sock_common for TIME_WAIT entries met by the iterators).
 *
 * laddr/raddr: network order; an IPv4 address sits in bytes 0..3 and the
 * rest is zero. lport/rport: host order. netns: the inode number of the
 * socket's network namespace (sk->sk_net->ns.inum, as `ls -l /proc/PID/ns/net`
 * shows). inode: the socket inode (`ss -e` "ino:", /proc/PID/fd
 * "socket:[N]"), 0 for TIME_WAIT entries, which have no file.
 * sk_uid: the uid that created the socket (sock->sk_uid), which the kernel
 * compares for SO_REUSEPORT (net/core/sock_reuseport.c, inet_bind_conflict).
 */
struct pw_sock {
	__u64 inode;
	__u32 netns;
	__u32 sk_uid;
	__u8 laddr[16];
	__u8 raddr[16];
	__u16 lport;
	__u16 rport;
	__u16 family;   /* AF_INET (2) or AF_INET6 (10) */
	__u8 protocol;  /* IPPROTO_TCP (6) or IPPROTO_UDP (17) */
	__u8 state;     /* enum pw_tcp_state; UDP: 7 unconnected, 1 connected */
	__u8 reuseaddr; /* sk_reuse != SK_NO_REUSE */
	__u8 reuseport; /* sk_reuseport */
	__u8 v6only;    /* sk_ipv6only (always 1 for a specific non-mapped IPv6 address) */
	__u8 flags_unknown; /* never set by BPF: portwatchd's sock_diag records, whose
			     * reuseaddr/reuseport/v6only the kernel did not report */
	__u8 bind_origin;   /* PW_BIND_*: how a TCP socket got its port; set by the
			     * snapshot iterator only, 0 (unknown) elsewhere */
	__u8 reuseport_prog; /* 1: the socket's SO_REUSEPORT group has a BPF program
			      * that picks the member for each packet or connection
			      * (sk_reuseport_cb->prog, SO_ATTACH_REUSEPORT_CBPF/EBPF;
			      * net/core/sock_reuseport.c) */
	__u8 ipflags;        /* PW_IPF_*: IP_FREEBIND/IP_TRANSPARENT (or the IPV6_ ones,
			      * which set the same inet_sock flags: do_ipv6_setsockopt());
			      * set by bind/listen/connect/sockopt events and the
			      * iterators, 0 in sock_diag records */
	__u8 pad[1];
	__u32 bound_dev_if;  /* skc_bound_dev_if: the ifindex SO_BINDTODEVICE (or a
			      * link-local scope id) bound the socket to, 0 none */
	__u32 bind_prot_sock; /* a bind that failed with EACCES: net.ipv4.
			       * ip_unprivileged_port_start of the socket's netns
			       * at that bind (sysctl_ip_prot_sock), plus one; 0
			       * elsewhere and on kernels without the field */
};

/*
 * Values of pw_sock.bind_origin. PW_BIND_KNOWN: this kernel records
 * whether connect() bound the port (Linux 6.18+: SOCK_CONNECT_BIND in
 * sk_userlocks, tw_connect_bind in a TIME_WAIT entry), and then
 * PW_BIND_CONNECT says it did. The kernel resets a port's bind bucket to
 * "made by connect()" once only such sockets are left on it
 * (inet_bind2_bucket_destroy(), inet_bind_bucket_destroy()).
 */
#define PW_BIND_CONNECT 0x01
#define PW_BIND_KNOWN 0x80
_Static_assert(sizeof(struct pw_sock) == 72, "struct pw_sock is an ABI");

/*
 * Bits of pw_sock.ipflags: options that let bind(2) take an address the
 * namespace does not have (inet_addr_valid_or_nonlocal(),
 * include/net/inet_sock.h) and, for IP_TRANSPARENT, let a socket receive
 * traffic addressed to others (a tproxy rule: nf_tproxy_get_sock_v4()).
 * Read from inet_sock's bitfields before Linux 6.6 and from
 * inet_sock.inet_flags (INET_FLAGS_FREEBIND, INET_FLAGS_TRANSPARENT) since.
 */
#define PW_IPF_FREEBIND 0x01
#define PW_IPF_TRANSPARENT 0x02

/* What a PW_EV_SOCKOPT event changed (pw_event.sockopt). */
enum pw_sockopt {
	PW_SOCKOPT_FLAGS = 0,          /* SO_REUSEADDR, SO_REUSEPORT or IPV6_V6ONLY */
	PW_SOCKOPT_REUSEPORT_PROG = 1, /* SO_ATTACH_REUSEPORT_CBPF or _EBPF */
	PW_SOCKOPT_REUSEPORT_DETACH = 2, /* SO_DETACH_REUSEPORT_BPF */
	PW_SOCKOPT_DEVICE = 3,         /* SO_BINDTODEVICE or SO_BINDTOIFINDEX */
	/*
	 * A socket filter attached to a raw (SOCK_RAW, AF_INET/AF_INET6) or
	 * packet (AF_PACKET) socket, bound or not: a packet sniffer
	 * (sk_attach_filter()/sk_attach_bpf() in net/core/filter.c). For
	 * these the event's fields say: sk.family AF_INET, AF_INET6 or
	 * AF_PACKET (17); req_family the socket type (SOCK_RAW 3, SOCK_DGRAM
	 * 2); req_port the protocol, host order (IPPROTO_* for raw sockets,
	 * ETH_P_* for packet sockets, e.g. 3 for ETH_P_ALL); sk.bound_dev_if
	 * the interface it reads (packet_sock.ifindex, sk_bound_dev_if for a
	 * raw socket), 0 for all; sk.inode, sk.netns, sk.sk_uid as usual,
	 * the other sk fields 0. The program itself is read by the daemon
	 * (SO_GET_FILTER on a pidfd_getfd(2) copy of fd).
	 */
	PW_SOCKOPT_FILTER_CBPF = 4,    /* SO_ATTACH_FILTER: a classic BPF program */
	PW_SOCKOPT_FILTER_EBPF = 5,    /* SO_ATTACH_BPF: an eBPF program (by fd) */
};

/*
 * One event on the ring buffer.
 *
 * ts_ns: CLOCK_BOOTTIME nanoseconds (bpf_ktime_get_boot_ns()); the daemon
 * turns it into wall-clock time once per event with an offset it measures
 * at start. pid is the thread-group id (what ps calls PID), tid the thread.
 * uid/gid: the caller's real uid/gid (bpf_get_current_uid_gid()); for
 * PW_EV_STATE the task is whichever was current when the state changed
 * (often softirq context). comm and cgroup_id (cgroup v2 id) are the
 * caller's for PW_EV_BIND, PW_EV_LISTEN, PW_EV_CONNECT and a sniffer's
 * PW_EV_SOCKOPT, and 0 for the other events, which update a socket the
 * daemon already holds (its owner came with its bind).
 *
 * err: 0 on success, else the negative errno the syscall returned.
 * sk: what the kernel holds after the call (no event is sent when the fd
 * does not resolve to an AF_INET/AF_INET6 TCP or UDP socket). For a failed bind the requested address
 * is in req_addr/req_port/req_family (req_port host order), since the
 * socket itself stays unbound. For a bind that succeeded they come from
 * the socket: its address, its port when one was asked for and 0 when
 * the kernel chose it, its family (an AF_UNSPEC bind of INADDR_ANY says
 * AF_INET). For connect, raddr/rport are the destination asked for.
 * old_state/new_state: for PW_EV_STATE, the TCP transition. A PW_EV_CONNECT
 * with new_state PW_TCP_SYN_SENT (err 0, no local port yet) is a TCP Fast
 * Open connect that sendto()/sendmsg() started: the socket's tracked
 * SYN_SENT -> ESTABLISHED state event brings its port.
 * exe_ino/exe_dev: identity of the caller's executable, so that owner
 * groups (uid, executable) hold even for a process gone before the daemon
 * could read /proc/PID/exe.
 */
struct pw_event {
	__u64 ts_ns;
	__u64 cgroup_id;
	__u64 exe_ino; /* inode of the caller's executable (mm->exe_file), 0 when none */
	struct pw_sock sk;
	__u8 req_addr[16];
	__u32 type; /* enum pw_event_type */
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__u32 gid;
	__s32 err;
	__s32 fd;
	__u16 req_port;
	__u16 req_family;
	__u8 old_state;
	__u8 new_state;
	__u8 bound_before; /* connect: the socket had a local port before the call */
	__u8 sockopt;      /* PW_EV_SOCKOPT: enum pw_sockopt, what the call changed */
	__u32 exe_dev; /* s_dev of the executable's filesystem (kernel dev_t encoding) */
	char comm[16];
};
_Static_assert(sizeof(struct pw_event) == 168, "struct pw_event is an ABI");

/*
 * A PW_EV_RELEASE event as the ring carries it: the fields of struct
 * pw_event a release fills, in 48 bytes instead of 168. A release is a
 * third of the events of a TCP bind cycle and half of a UDP one, and each
 * ring byte is written by the releasing CPU and read by the daemon's, so
 * the smaller record is less to zero, write and move. Told apart from a
 * struct pw_event by its size (the ring gives each record's length);
 * pwbpf_record() (daemon/bpfload.h) turns either into a struct pw_event,
 * the other fields 0. Fields as in struct pw_event; inode, netns, lport
 * (host order) and protocol are its sk's.
 */
struct pw_release_record {
	__u64 ts_ns;
	__u64 inode;
	__u32 type; /* PW_EV_RELEASE */
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__u32 gid;
	__u32 netns;
	__u16 lport;
	__u8 protocol;
	__u8 pad[5];
};
_Static_assert(sizeof(struct pw_release_record) == 48, "struct pw_release_record is an ABI");

/*
 * One open socket file of a process, from the iter/task_file iterator of
 * bpf/snapshot.bpf.c: the socket inode and the thread-group id of a task
 * holding it (as /proc/PID/fd shows it: "socket:[inode]"). pid is the id
 * in the initial pid namespace (task->tgid). Threads sharing their
 * leader's fd table are not repeated.
 */
struct pw_sock_owner {
	__u64 inode;
	__u32 pid;
	__u32 pad;
};
_Static_assert(sizeof(struct pw_sock_owner) == 16, "struct pw_sock_owner is an ABI");

/* Indices of the per-CPU counters in the `counters` array map. */
enum pw_counter {
	PW_CNT_DROPPED = 0, /* event lost: ring buffer full, or no room to track a call */
	PW_CNT_EMITTED,     /* events submitted */
	PW_CNT_FILTERED,    /* connects and state changes filtered in the kernel */
	PW_CNT_UNTRACKED,   /* a `tracked` slot was taken over: that socket's release goes unreported */
	PW_CNT_MAX,
};

/*
 * The `tracked` map: the socket inodes the daemon's table holds, as a
 * direct-mapped array of PW_TRACKED_SLOTS __u64 slots (slot = inode modulo
 * the size, value = the inode). A hash map costs ~390 ns an insert here
 * (bpf_stats, Linux 6.18); a slot costs one load and an atomic exchange.
 * Two held sockets whose inodes collide share a slot: the newer one wins,
 * the event is counted (PW_CNT_UNTRACKED) and the older socket's release is
 * found by the next reconciliation instead. Inodes come from a counter
 * the kernel shares among sockets, pipes and other pseudo-files, so that
 * takes some ~1M such files created while the older socket is held.
 */
#define PW_TRACKED_SLOTS (1u << 20)

static inline __u32 pw_tracked_slot(__u64 inode)
{
	return (__u32)(inode & (PW_TRACKED_SLOTS - 1));
}

/*
 * The most ring buffers events go to (bpf/portwatch.bpf.c, `rings`): one
 * per possible CPU up to this many; above it CPUs share (CPU c writes to
 * ring c modulo the count). Each ring is mapped and polled by the daemon.
 */
#define PW_RINGS_MAX 16

#endif /* PORTWATCH_EVENT_H */
