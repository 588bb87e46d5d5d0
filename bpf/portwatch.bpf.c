// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * portwatch.bpf.c - the kernel side of portwatch.
 *
 * Streams what the ownership table needs and nothing more:
 *   - bind(2), listen(2): every call on an AF_INET/AF_INET6 socket, success
 *     or failure, with the socket as the kernel holds it after the call;
 *   - connect(2): only when it failed with EADDRNOTAVAIL/EADDRINUSE, or when
 *     the socket had a local port before the call (bind-before-connect);
 *   - setsockopt(2) of SO_REUSEADDR, SO_REUSEPORT, IPV6_V6ONLY,
 *     SO_BINDTODEVICE, SO_BINDTOIFINDEX, IP_FREEBIND, IP_TRANSPARENT,
 *     IPV6_FREEBIND and IPV6_TRANSPARENT on a socket
 *     the table holds (the kernel reads these at conflict time, so the table
 *     must follow them: inet_bind_conflict() in net/ipv4/inet_connection_sock.c),
 *     and of SO_ATTACH_REUSEPORT_CBPF/EBPF and SO_DETACH_REUSEPORT_BPF on one
 *     (a program attached to a member steers its whole SO_REUSEPORT group:
 *     reuseport_attach_prog() in net/core/sock_reuseport.c);
 *   - setsockopt(2) of SO_ATTACH_FILTER and SO_ATTACH_BPF on a raw
 *     (SOCK_RAW, AF_INET/AF_INET6) or packet (AF_PACKET) socket, tracked or
 *     not: a packet sniffer reads traffic without binding a port;
 *   - TCP state changes of tracked sockets that the table shows;
 *   - release of a tracked socket (cgroup/sock_release: close(), exit, SIGKILL).
 *
 * "Tracked" sockets are the ones the daemon's table holds, keyed by socket
 * inode in the `tracked` map: bind and listen exits add them, the daemon adds
 * the ones its snapshot finds, release removes them. Everything else (accepted
 * children, ordinary outgoing connections) is filtered here.
 *
 * Wake-ups: events are submitted with BPF_RB_NO_WAKEUP, and the consumer is
 * woken (BPF_RB_FORCE_WAKEUP) only by the first event after it said it is
 * asleep (`consumer_asleep`, see event_submit()), or when the backlog
 * crosses `wakeup_bytes`; while events keep coming the daemon drains on a
 * short timer of its own.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "portwatch/event.h"
#include "sock.bpf.h"

#define EADDRINUSE 98
#define EADDRNOTAVAIL 99
#define EACCES 13
#define SOL_SOCKET 1
#define SO_REUSEADDR 2
#define SO_REUSEPORT 15
#define SO_BINDTODEVICE 25
#define SO_BINDTOIFINDEX 62
#define SO_ATTACH_REUSEPORT_CBPF 51
#define SO_ATTACH_REUSEPORT_EBPF 52
#define SO_DETACH_REUSEPORT_BPF 68
#define SO_ATTACH_FILTER 26
#define SO_ATTACH_BPF 50
#define SOL_IP 0
#define IP_FREEBIND 15
#define IP_TRANSPARENT 19
#define SOL_IPV6 41
#define IPV6_V6ONLY 26
#define IPV6_TRANSPARENT 75
#define IPV6_FREEBIND 78
#define AF_PACKET 17
#define SOCK_RAW 3
#define SOCK_BINDPORT_LOCK 8

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/*
 * Two builds for bench/run.py only (`make floor`), with every program
 * attached where the real ones are:
 *   PW_FLOOR=1, the floor: every program returns at once, so that the
 *     bench tells what attaching costs (the syscall tracepoints put every
 *     syscall of every task through the slow path) from what our work
 *     costs;
 *   PW_FLOOR=2, the minimal reporter: one 48-byte record (stamped, the
 *     caller's ids, nothing read from the socket) per bind, listen and
 *     release, through the rings as the real events go: what reporting
 *     each call costs before anything identifies the socket.
 */
#ifndef PW_FLOOR
#define PW_FLOOR 0
#endif

/* One event in this many (per CPU) reads the ring's backlog: event_submit(). */
#define PW_BACKLOG_EVERY 16

/* Set by the daemon before load: backlog (bytes) that forces a wake-up. */
const volatile __u64 wakeup_bytes = 256 * 1024;

/*
 * 1 while the daemon blocks with no timer of its own (it drained the ring
 * and found it empty): the next event must wake it. Written by the daemon
 * through the skeleton's mmap of .bss (set to 1 before blocking, 0 once
 * awake); cleared here by the one event that takes the wake-up.
 */
__u32 consumer_asleep = 0;

/*
 * The rings events go to: one per CPU up to PW_RINGS_MAX, CPU c writing to
 * ring c % nr_rings, so that CPUs do not contend for one ring's lock and
 * producer cache line (2-process bind churn spent 7 % of its CPU in
 * __bpf_ringbuf_reserve() with one ring). The daemon sizes the outer map
 * to nr_rings, creates each ring and stores it before attaching
 * (daemon/bpfload.c) and merges the rings back into one ordered stream
 * by ts_ns (daemon/ringmerge.h). Ring buffers as inner maps: Linux 5.8
 * (ringbuf_map_ops has map_meta_equal).
 */
const volatile __u32 nr_rings = 1;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, PW_RINGS_MAX); /* set to nr_rings by the daemon */
	__type(key, __u32);
	__array(values, struct {
		__uint(type, BPF_MAP_TYPE_RINGBUF);
		/* the template only: the kernel's bpf_map_meta_equal() does not
		 * compare sizes, the daemon creates the rings at its size */
		__uint(max_entries, 64 << 10);
	});
} rings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PW_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* Socket inodes the table holds: see PW_TRACKED_SLOTS in event.h. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PW_TRACKED_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} tracked SEC(".maps");

/*
 * Arguments of a call in flight, keyed by pid_tgid. Only connect saves
 * them at sys_enter (whether the socket was bound BEFORE the call must be
 * read then); bind, listen and setsockopt read theirs at exit from the
 * saved user registers (args_from_regs()).
 */
struct call_args {
	__u64 uaddr;   /* bind/connect: user pointer to the sockaddr */
	__s32 fd;
	__u32 type;    /* enum pw_event_type */
	__u8 bound_before;
	__u8 sockopt;  /* setsockopt: enum pw_sockopt */
	__u8 pad[6];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct call_args);
} inflight SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);

	if (v)
		*v += 1;
}

/*
 * Linux 6.2+. Weak: on older kernels libbpf leaves it unresolved and the
 * loader turns off the programs that call it in favour of their _probe
 * twins (daemon/bpfload.c).
 */
extern void *bpf_rdonly_cast(void *obj, __u32 btf_id) __ksym __weak;

/*
 * How the syscall programs read the socket behind an fd (a constant at
 * every call site, so the compiler keeps one path): PW_DIRECT gives the
 * pointers their BTF type back with bpf_rdonly_cast() and loads fields
 * directly; PW_PROBE reads each field with bpf_probe_read_kernel(), for
 * kernels without bpf_rdonly_cast(). Each syscall program exists in both
 * forms, the PW_PROBE one named with _probe; the loader loads one set.
 */
enum pw_read {
	PW_DIRECT = 0,
	PW_PROBE = 1,
};

/* Program `name` in section `sec` and its PW_PROBE twin name_probe: call(ctx, ..., how). */
#define PW_TWINS(sec, name, ctx_type, call, ...)                                         \
	SEC(sec)                                                                         \
	int name(ctx_type *ctx)                                                          \
	{                                                                                \
		return call(ctx, ##__VA_ARGS__, PW_DIRECT);                              \
	}                                                                                \
	SEC(sec)                                                                         \
	int name##_probe(ctx_type *ctx)                                                  \
	{                                                                                \
		return call(ctx, ##__VA_ARGS__, PW_PROBE);                               \
	}

static __always_inline __u64 *tracked_slot(__u64 ino)
{
	__u32 key = pw_tracked_slot(ino);

	return bpf_map_lookup_elem(&tracked, &key);
}

static __always_inline int is_tracked(__u64 ino)
{
	__u64 *slot = ino ? tracked_slot(ino) : NULL;

	return slot && *slot == ino;
}

/* Mark ino as held; a slot taken from another held socket is counted. */
static __always_inline void track(__u64 ino)
{
	__u64 *slot = tracked_slot(ino);
	__u64 old;

	if (!slot)
		return;
	old = __sync_lock_test_and_set(slot, ino);
	if (old && old != ino)
		count(PW_CNT_UNTRACKED);
}

/*
 * Unmark ino; true when it was marked. Most sockets released were never
 * marked (accepted children, clients): a plain load turns them away
 * before the locked compare-and-swap. The slot cannot become ino between
 * the two: only this socket's own bind or listen marks ino, and those hold
 * a reference to its file, which the release comes after.
 */
static __always_inline int untrack(__u64 ino)
{
	__u64 *slot = ino ? tracked_slot(ino) : NULL;

	return slot && *(volatile __u64 *)slot == ino &&
	       __sync_val_compare_and_swap(slot, ino, 0) == ino;
}

/*
 * The struct sock behind fd in the current task, or NULL (not a socket).
 * The walk task->files->fdt is made of direct loads; the fd array slot is
 * read with bpf_probe_read_kernel() (a variable index into it is not a
 * BTF access), and the file and socket pointers, plain values after that,
 * are given back their types with bpf_rdonly_cast().
 */
static __always_inline struct sock *fd_to_sock(int fd, enum pw_read how)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct fdtable *fdt = task->files->fdt;
	struct file **fds;
	struct file *file = NULL;
	struct socket *sock;

	if (!fdt || fd < 0 || (unsigned int)fd >= fdt->max_fds)
		return NULL;
	fds = fdt->fd;
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return NULL;
	if (how == PW_PROBE) {
		if ((BPF_CORE_READ(file, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
			return NULL;
		sock = BPF_CORE_READ(file, private_data);
		return sock ? BPF_CORE_READ(sock, sk) : NULL;
	}
	file = bpf_rdonly_cast(file, bpf_core_type_id_kernel(struct file));
	if ((file->f_inode->i_mode & S_IFMT) != S_IFSOCK)
		return NULL;
	sock = bpf_rdonly_cast(file->private_data, bpf_core_type_id_kernel(struct socket));
	return sock ? sock->sk : NULL;
}

/* The socket's local port (host order): 0 when unbound. */
static __always_inline __u16 sk_num(const struct sock *sk, enum pw_read how)
{
	return how == PW_PROBE ? BPF_CORE_READ(sk, __sk_common.skc_num) : sk->__sk_common.skc_num;
}

static __always_inline __u16 sk_proto(const struct sock *sk, enum pw_read how)
{
	return how == PW_PROBE ? BPF_CORE_READ(sk, sk_protocol) : sk->sk_protocol;
}

static __always_inline __u16 sk_family(const struct sock *sk, enum pw_read how)
{
	return how == PW_PROBE ? BPF_CORE_READ(sk, __sk_common.skc_family) :
				 sk->__sk_common.skc_family;
}

static __always_inline __u16 sk_type(const struct sock *sk, enum pw_read how)
{
	return how == PW_PROBE ? BPF_CORE_READ(sk, sk_type) : sk->sk_type;
}

/*
 * A TCP or UDP socket of AF_INET/AF_INET6. A raw socket may carry
 * IPPROTO_TCP or IPPROTO_UDP as its protocol, and then its inet_num is
 * that protocol number, not a port (raw_bind(), net/ipv4/raw.c): its
 * type tells it apart.
 */
static __always_inline int is_inet(const struct sock *sk, enum pw_read how)
{
	__u16 family = sk_family(sk, how);
	__u16 proto = sk_proto(sk, how);

	return (family == AF_INET || family == AF_INET6) &&
	       (proto == IPPROTO_TCP || proto == IPPROTO_UDP) && sk_type(sk, how) != SOCK_RAW;
}

/* A raw inet socket or a packet socket: what a socket filter makes a sniffer. */
static __always_inline int is_sniffer_sock(const struct sock *sk, enum pw_read how)
{
	__u16 family = sk_family(sk, how);

	return family == AF_PACKET ||
	       ((family == AF_INET || family == AF_INET6) && sk_type(sk, how) == SOCK_RAW);
}

/*
 * pw_ip_flags() (sock.bpf.h); where inet_flags exists (6.6+) and sk is a
 * BTF pointer (PW_DIRECT), one direct load instead of a
 * bpf_probe_read_kernel() call.
 */
static __always_inline __u8 sk_ip_flags(const struct sock *sk, enum pw_read how)
{
	const struct inet_sock *inet;

	if (how == PW_PROBE || !bpf_core_field_exists(((struct inet_sock *)0)->inet_flags))
		return pw_ip_flags(sk);
	inet = bpf_rdonly_cast((void *)sk, bpf_core_type_id_kernel(struct inet_sock));
	return pw_ip_flags_of(inet->inet_flags);
}

static __always_inline __u64 sk_inode(const struct sock *sk, enum pw_read how)
{
	return how == PW_PROBE ? pw_sock_inode_probe(sk) : pw_sock_inode(sk);
}

/*
 * This CPU's ring (`rings` above); NULL only if the daemon stored none
 * there, which it does before attaching anything.
 */
static __always_inline void *this_ring(void)
{
	__u32 idx = bpf_get_smp_processor_id() % nr_rings;

	return bpf_map_lookup_elem(&rings, &idx);
}

/*
 * Reserve and fill the common header of an event; NULL (counted) when full.
 * The caller's comm, cgroup and executable are read only for the calls the
 * daemon attributes (bind, listen, connect; a sniffer's filter adds comm
 * and cgroup itself): the other events update a socket the table already
 * holds and are matched by its inode (two helper calls fewer per release).
 * For a state change the "current" task may be any (TCP changes state in
 * softirq context too).
 */
static __always_inline struct pw_event *event_reserve(__u32 type)
{
	void *ring = this_ring();
	struct pw_event *e = ring ? bpf_ringbuf_reserve(ring, sizeof(*e), 0) : NULL;
	struct task_struct *task;
	struct file *exe;
	__u64 id, ugid;

	if (!e) {
		count(PW_CNT_DROPPED);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	id = bpf_get_current_pid_tgid();
	ugid = bpf_get_current_uid_gid();
	e->ts_ns = bpf_ktime_get_boot_ns();
	e->type = type;
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->uid = (__u32)ugid;
	e->gid = ugid >> 32;
	if (type != PW_EV_BIND && type != PW_EV_LISTEN && type != PW_EV_CONNECT)
		return e;
	e->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	task = bpf_get_current_task_btf();
	exe = task->mm ? task->mm->exe_file : NULL;
	if (exe) {
		e->exe_ino = exe->f_inode->i_ino;
		e->exe_dev = exe->f_inode->i_sb->s_dev;
	}
	return e;
}

/*
 * Submit e, waking the consumer when it is asleep or the backlog crosses
 * wakeup_bytes, and count it.
 *
 * No event may be stranded: left in the ring while the daemon blocks with
 * no timer. The daemon (daemon/portwatchd.c, ring_settle()) drains the
 * rings, stores consumer_asleep = 1, then a full barrier, then reads every
 * ring's producer position and blocks only if nothing was reserved since
 * its drain. Here the order is the mirror image: bpf_ringbuf_reserve()
 * advanced this CPU's ring's producer position before we got e, then the
 * xchg below
 * (a fully ordered atomic: `lock xchg` on x86, `swpal` on arm64; a
 * non-fetching add would not be ordered on arm64), then the read of
 * consumer_asleep. Two stores, each followed by a full barrier and a read
 * of the other's location: at least one side sees the other's store.
 * Either the daemon sees this reservation (committed or not yet) and
 * stays on its timer until it can consume it, or we see consumer_asleep
 * = 1 and force the wake-up. Of several events that see it, the one whose
 * compare-and-swap clears it wakes the daemon; the others' records are
 * consumed by that drain or, if not yet committed then, by the timer the
 * daemon keeps running after a drain that found events.
 *
 * The xchg is on this CPU's own counter (a cache line no other CPU
 * writes, unlike consumer_asleep, which is only read here while the
 * daemon is awake), so the barrier costs no cache-line transfer.
 */
static __always_inline void record_submit(void *rec, __u64 size)
{
	__u32 idx = PW_CNT_EMITTED;
	__u64 *emitted = bpf_map_lookup_elem(&counters, &idx);
	__u64 flags = BPF_RB_NO_WAKEUP, n = 0, avail;
	void *ring;

	if (emitted) {
		n = *emitted + 1;
		__sync_lock_test_and_set(emitted, n);
	}
	if (*(volatile __u32 *)&consumer_asleep &&
	    __sync_val_compare_and_swap(&consumer_asleep, 1, 0) == 1) {
		flags = BPF_RB_FORCE_WAKEUP;
	} else if (!(n % PW_BACKLOG_EVERY)) {
		/*
		 * The backlog is read on one event in PW_BACKLOG_EVERY of this
		 * CPU only: reading it loads the consumer position, a cache
		 * line the daemon writes as it drains. So it is seen crossing
		 * wakeup_bytes within PW_BACKLOG_EVERY records of this CPU;
		 * one that no CPU sees cross is still drained by the daemon's
		 * flush timer, which runs whenever it is awake (ring_settle()).
		 */
		ring = this_ring();
		avail = ring ? bpf_ringbuf_query(ring, BPF_RB_AVAIL_DATA) : 0;
		if (avail >= wakeup_bytes && avail < wakeup_bytes + PW_BACKLOG_EVERY * (size + 8))
			flags = BPF_RB_FORCE_WAKEUP;
	}
	bpf_ringbuf_submit(rec, flags);
}

/* record_submit() of a struct pw_event. */
static __always_inline void event_submit(struct pw_event *e)
{
	record_submit(e, sizeof(*e));
}

/*
 * Copy the address and port of a user sockaddr into the req_* fields.
 * The first 8 bytes (family, port and an IPv4 address: struct sockaddr_in,
 * in.h) come in one read, an IPv6 address in a second; a sockaddr too
 * short for 8 bytes (bind() refuses it, but the event still reports the
 * call) is read field by field.
 */
static __always_inline void read_user_sockaddr(struct pw_event *e, __u64 uaddr)
{
	struct {
		__u16 family;
		__be16 port;
		__u8 addr4[4];
	} head = {};

	if (!uaddr)
		return;
	if (bpf_probe_read_user(&head, sizeof(head), (void *)uaddr)) {
		__builtin_memset(&head, 0, sizeof(head));
		bpf_probe_read_user(&head.family, sizeof(head.family), (void *)uaddr);
		bpf_probe_read_user(&head.port, sizeof(head.port), (void *)(uaddr + 2));
		if (head.family == AF_INET)
			bpf_probe_read_user(head.addr4, 4, (void *)(uaddr + 4));
	}
	e->req_family = head.family;
	e->req_port = bpf_ntohs(head.port);
	if (head.family == AF_INET6)
		bpf_probe_read_user(e->req_addr, 16, (void *)(uaddr + 8));
	else if (head.family == AF_INET)
		__builtin_memcpy(e->req_addr, head.addr4, 4);
}

/*
 * The req_* fields of a bind that succeeded, from the socket the kernel
 * bound instead of the caller's memory (one bpf_probe_read_user() fewer
 * per bind): __inet_bind() (net/ipv4/af_inet.c) and __inet6_bind()
 * (net/ipv6/af_inet6.c) store the address asked for as the socket's
 * receive address, and set SOCK_BINDPORT_LOCK in sk_userlocks exactly
 * when a port was asked for (a bitfield in 6.1's struct sock, a u8 in
 * 6.12's: read either way through CO-RE). With port 0 the kernel chose
 * sk.lport, and req_port stays 0, as the caller's sockaddr says. The
 * family is the socket's (inet_bind() also takes AF_UNSPEC with
 * INADDR_ANY on an AF_INET socket: reported AF_INET).
 */
static __always_inline void bound_sockaddr(struct pw_event *e, const struct sock *sk,
					   enum pw_read how)
{
	__u32 locks = how == PW_PROBE ? BPF_CORE_READ_BITFIELD_PROBED(sk, sk_userlocks) :
					BPF_CORE_READ_BITFIELD(sk, sk_userlocks);

	e->req_family = e->sk.family;
	e->req_port = locks & SOCK_BINDPORT_LOCK ? e->sk.lport : 0;
	__builtin_memcpy(e->req_addr, e->sk.laddr, 16);
}

static __always_inline int save_args(__s32 fd, __u64 uaddr, __u32 type, __u8 bound_before)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct call_args a = {
		.uaddr = uaddr, .fd = fd, .type = type, .bound_before = bound_before,
	};

	if (bpf_map_update_elem(&inflight, &id, &a, BPF_ANY))
		count(PW_CNT_DROPPED);
	return 0;
}

static __always_inline int take_args(struct call_args *out, __u32 type)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct call_args *a = bpf_map_lookup_elem(&inflight, &id);

	if (!a)
		return -1;
	*out = *a;
	bpf_map_delete_elem(&inflight, &id);
	return out->type == type ? 0 : -1;
}

/*
 * What the exit needs to know from before the call: whether the socket
 * had a port. A TCP socket without one (an ordinary client) is reported
 * only when its connect() fails with EADDRNOTAVAIL/EADDRINUSE, which its
 * exit reads from the registers without this: it is counted filtered
 * here and saves nothing, so that its exit finds no saved arguments and
 * returns without walking the fd table (one fd -> sock resolution per
 * connect() instead of two, and no map update and delete).
 */
static __always_inline int on_enter_connect(struct trace_event_raw_sys_enter *ctx,
					    enum pw_read how)
{
	struct sock *sk;
	int bound;

	if (PW_FLOOR)
		return 0;
	sk = fd_to_sock((__s32)ctx->args[0], how);
	if (!sk || !is_inet(sk, how))
		return 0;
	bound = sk_num(sk, how) != 0;
	if (!bound && sk_proto(sk, how) == IPPROTO_TCP) {
		count(PW_CNT_FILTERED);
		return 0;
	}
	return save_args((__s32)ctx->args[0], ctx->args[1], PW_EV_CONNECT, bound);
}

PW_TWINS("tracepoint/syscalls/sys_enter_connect", tp_enter_connect, struct trace_event_raw_sys_enter,
	 on_enter_connect)

/*
 * The arguments of the current syscall, read at its exit from the user
 * registers the kernel saved at entry (bpf_task_pt_regs(); the syscall
 * argument registers of the PT_REGS_PARMn_SYSCALL macros, orig_x0 on
 * arm64). This spares bind, listen and setsockopt an enter program and a
 * map update per call. Returns -1 when the call is not one to report.
 * bpf_task_pt_regs() returns a BTF pointer, so on x86 the macros are
 * direct loads; their _CORE_ forms went through bpf_probe_read_kernel()
 * for each register, ~30 ns a call (bpf_stats: tp_exit_setsockopt of
 * SO_LINGER 90 -> 58 ns, exit_bind/exit_listen alike).
 */
static __always_inline int args_from_regs(struct call_args *a, __u32 type)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());

	a->fd = PT_REGS_PARM1_SYSCALL(regs);
	a->type = type;
	a->bound_before = 0;
	a->sockopt = 0;
	a->uaddr = type == PW_EV_BIND || type == PW_EV_CONNECT ? PT_REGS_PARM2_SYSCALL(regs) : 0;
	if (type == PW_EV_SOCKOPT) {
		__s32 level = PT_REGS_PARM2_SYSCALL(regs);
		__s32 opt = PT_REGS_PARM3_SYSCALL(regs);

		a->sockopt = PW_SOCKOPT_FLAGS;
		if (level == SOL_SOCKET &&
		    (opt == SO_ATTACH_REUSEPORT_CBPF || opt == SO_ATTACH_REUSEPORT_EBPF))
			a->sockopt = PW_SOCKOPT_REUSEPORT_PROG;
		else if (level == SOL_SOCKET && opt == SO_DETACH_REUSEPORT_BPF)
			a->sockopt = PW_SOCKOPT_REUSEPORT_DETACH;
		else if (level == SOL_SOCKET && (opt == SO_BINDTODEVICE || opt == SO_BINDTOIFINDEX))
			a->sockopt = PW_SOCKOPT_DEVICE;
		else if (level == SOL_SOCKET && opt == SO_ATTACH_FILTER)
			a->sockopt = PW_SOCKOPT_FILTER_CBPF;
		else if (level == SOL_SOCKET && opt == SO_ATTACH_BPF)
			a->sockopt = PW_SOCKOPT_FILTER_EBPF;
		else if (!((level == SOL_SOCKET && (opt == SO_REUSEADDR || opt == SO_REUSEPORT)) ||
			   (level == SOL_IPV6 && (opt == IPV6_V6ONLY || opt == IPV6_FREEBIND ||
						  opt == IPV6_TRANSPARENT)) ||
			   (level == SOL_IP && (opt == IP_FREEBIND || opt == IP_TRANSPARENT))))
			return -1;
	}
	return 0;
}

/*
 * A socket filter was attached (the call succeeded) to fd's socket: when
 * it is a raw or packet socket, a PW_EV_SOCKOPT event of a sniffer
 * (event.h, PW_SOCKOPT_FILTER_*). Other sockets filter their own traffic
 * only (a TCP socket's filter sees its own segments): nothing is sent.
 */
static __always_inline int sniffer_filter(struct sock *sk, const struct call_args *a,
					  enum pw_read how)
{
	struct pw_event *e;
	__u16 family;

	if (!is_sniffer_sock(sk, how))
		return 0;
	e = event_reserve(PW_EV_SOCKOPT);
	if (!e)
		return 0;
	/* the alert names the sniffer's program (daemon/sniffmon.c) */
	e->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	family = sk_family(sk, how);
	e->fd = a->fd;
	e->sockopt = a->sockopt;
	e->sk.family = family;
	e->req_family = sk_type(sk, how);
	e->req_port = sk_proto(sk, how);
	if (how == PW_PROBE) {
		e->sk.netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
		e->sk.inode = pw_sock_inode_probe(sk);
		e->sk.sk_uid = BPF_CORE_READ(sk, sk_uid.val);
		e->sk.bound_dev_if = BPF_CORE_READ(sk, __sk_common.skc_bound_dev_if);
	} else {
		e->sk.netns = sk->__sk_common.skc_net.net->ns.inum;
		e->sk.inode = pw_sock_inode(sk);
		e->sk.sk_uid = sk->sk_uid.val;
		e->sk.bound_dev_if = sk->__sk_common.skc_bound_dev_if;
	}
	if (family == AF_PACKET) {
		/* packet_create() keeps the protocol as given, network order;
		 * packet_do_bind() sets po->ifindex (net/packet/af_packet.c) */
		e->req_port = bpf_ntohs(e->req_port);
		if (bpf_core_type_exists(struct packet_sock))
			e->sk.bound_dev_if = BPF_CORE_READ((struct packet_sock *)sk, ifindex);
	}
	event_submit(e);
	return 0;
}

/*
 * Reserve a struct pw_release_record (event.h) on this CPU's ring, with
 * its stamp and the caller's ids filled and the socket's fields zero;
 * NULL (counted) when the ring is full. The caller fills the socket and
 * submits it with record_submit().
 */
static __always_inline struct pw_release_record *release_reserve(void)
{
	void *ring = this_ring();
	struct pw_release_record *r = ring ? bpf_ringbuf_reserve(ring, sizeof(*r), 0) : NULL;
	__u64 id, ugid;

	if (!r) {
		count(PW_CNT_DROPPED);
		return NULL;
	}
	id = bpf_get_current_pid_tgid();
	ugid = bpf_get_current_uid_gid();
	__builtin_memset(r, 0, sizeof(*r));
	r->ts_ns = bpf_ktime_get_boot_ns();
	r->type = PW_EV_RELEASE;
	r->pid = id >> 32;
	r->tid = (__u32)id;
	r->uid = (__u32)ugid;
	r->gid = ugid >> 32;
	return r;
}

/*
 * PW_FLOOR=2's record: a release record of inode 0, which the daemon
 * looks up and finds nothing for.
 */
static __always_inline void floor_record(void)
{
	struct pw_release_record *r = release_reserve();

	if (r)
		record_submit(r, sizeof(*r));
}

/* Common exit path: emit an event describing fd's socket after the call. */
static __always_inline int on_exit(struct trace_event_raw_sys_exit *ctx, __u32 type,
				   enum pw_read how)
{
	struct call_args a;
	struct pw_event *e;
	struct sock *sk;
	__s32 ret = ctx->ret;
	int unbound;

	if (PW_FLOOR) {
		if (PW_FLOOR == 2 && (type == PW_EV_BIND || type == PW_EV_LISTEN))
			floor_record();
		return 0;
	}
	if (type == PW_EV_CONNECT) {
		/* nothing saved at entry: a TCP socket without a port, or not ours */
		if (take_args(&a, type)) {
			if (ret != -EADDRNOTAVAIL && ret != -EADDRINUSE)
				return 0;
			args_from_regs(&a, type);
		}
	} else if (args_from_regs(&a, type)) {
		return 0;
	}
	if (type == PW_EV_SOCKOPT && ret)
		return 0;
	sk = fd_to_sock(a.fd, how);
	if (!sk)
		return 0;
	if (type == PW_EV_SOCKOPT &&
	    (a.sockopt == PW_SOCKOPT_FILTER_CBPF || a.sockopt == PW_SOCKOPT_FILTER_EBPF))
		return sniffer_filter(sk, &a, how);
	/*
	 * An unbound socket is not in the table: bind will report its flags.
	 * But a reuseport program attached before bind gives it a reuseport
	 * group of its own (reuseport_attach_prog()), which no later event
	 * shows and which bars it from joining another group: reported.
	 */
	unbound = type == PW_EV_SOCKOPT && !sk_num(sk, how);
	if (unbound && a.sockopt != PW_SOCKOPT_REUSEPORT_PROG) {
		count(PW_CNT_FILTERED);
		return 0;
	}
	if (!is_inet(sk, how))
		return 0;

	/*
	 * A connect() that autobound a UDP socket (ip4_datagram_connect() and
	 * ip6_datagram_connect() call inet_autobind()) made a holder like a
	 * bind() does; an autobinding TCP connect() is a client, left out.
	 */
	if (type == PW_EV_CONNECT && !a.bound_before && ret != -EADDRNOTAVAIL &&
	    ret != -EADDRINUSE &&
	    !(ret == 0 && sk_proto(sk, how) == IPPROTO_UDP && sk_num(sk, how))) {
		count(PW_CNT_FILTERED);
		return 0;
	}
	if (type == PW_EV_SOCKOPT && (ret || (!unbound && !is_tracked(sk_inode(sk, how)))))
		return 0;

	e = event_reserve(type);
	if (!e)
		return 0;
	e->err = ret;
	e->fd = a.fd;
	e->bound_before = a.bound_before;
	e->sockopt = type == PW_EV_SOCKOPT ? a.sockopt : 0;
	if (how == PW_PROBE)
		pw_fill_sock_probe(sk, &e->sk);
	else
		pw_fill_sock(sk, &e->sk);
	e->sk.ipflags = sk_ip_flags(sk, how);
	if (type == PW_EV_BIND && ret == 0)
		bound_sockaddr(e, sk, how);
	else
		read_user_sockaddr(e, a.uaddr);
	/*
	 * EACCES: the netns's ip_unprivileged_port_start that refused it
	 * (inet_port_requires_bind_service()), read now: the namespace may be
	 * gone before the daemon could read it there.
	 */
	if (type == PW_EV_BIND && ret == -EACCES &&
	    bpf_core_field_exists(((struct netns_ipv4 *)0)->sysctl_ip_prot_sock))
		e->sk.bind_prot_sock =
			(__u32)BPF_CORE_READ(sk, __sk_common.skc_net.net, ipv4.sysctl_ip_prot_sock) + 1;
	if (type == PW_EV_CONNECT) {
		/* the destination asked for, even when the call failed */
		__builtin_memcpy(e->sk.raddr, e->req_addr, 16);
		e->sk.rport = e->req_port;
	}
	/* a listen() without bind() autobinds: that listener is held too; so is
	 * a UDP socket its connect() autobound */
	if ((type == PW_EV_BIND || type == PW_EV_LISTEN ||
	     (type == PW_EV_CONNECT && !a.bound_before)) &&
	    ret == 0 && e->sk.inode)
		track(e->sk.inode);
	event_submit(e);
	return 0;
}

PW_TWINS("tracepoint/syscalls/sys_exit_bind", tp_exit_bind, struct trace_event_raw_sys_exit,
	 on_exit, PW_EV_BIND)
PW_TWINS("tracepoint/syscalls/sys_exit_listen", tp_exit_listen, struct trace_event_raw_sys_exit,
	 on_exit, PW_EV_LISTEN)
PW_TWINS("tracepoint/syscalls/sys_exit_connect", tp_exit_connect, struct trace_event_raw_sys_exit,
	 on_exit, PW_EV_CONNECT)
PW_TWINS("tracepoint/syscalls/sys_exit_setsockopt", tp_exit_setsockopt,
	 struct trace_event_raw_sys_exit, on_exit, PW_EV_SOCKOPT)

/*
 * TCP Fast Open: sendto()/sendmsg() with MSG_FASTOPEN connects, and binds a
 * port, without connect(2) (tcp_sendmsg_fastopen() -> __inet_stream_
 * connect()). tp->fastopen_req is set while it runs, and the CLOSE ->
 * SYN_SENT change happens in the caller's context, but before
 * inet_hash_connect() picks the port (tcp_v4_connect(), tcp_v6_connect()).
 * So: report the caller (PW_EV_CONNECT, err 0, no port, new_state
 * SYN_SENT) and track the socket; its SYN_SENT -> ESTABLISHED, reported
 * below as for every tracked socket, brings the port. Other connects leave
 * here at the cost of one load.
 */
static __always_inline int fastopen_connect(struct sock *sk)
{
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);
	struct pw_event *e;
	__u64 ino;

	if (!tp || !tp->fastopen_req) {
		count(PW_CNT_FILTERED);
		return 0;
	}
	ino = pw_sock_inode(sk);
	if (!ino)
		return 0;
	track(ino);
	e = event_reserve(PW_EV_CONNECT);
	if (!e)
		return 0;
	pw_fill_sock(sk, &e->sk);
	e->old_state = PW_TCP_CLOSE;
	e->new_state = PW_TCP_SYN_SENT;
	event_submit(e);
	return 0;
}

/*
 * TCP state changes of tracked sockets: a listener that stops listening
 * without being closed (shutdown(2)), and a bind-before-connect socket
 * whose non-blocking connect completes. Listen itself is reported by the
 * listen exit. On close, inet_release() (net/ipv4/af_inet.c) runs the
 * cgroup sock_release hook before sk_prot->close() moves a listener to
 * CLOSE, so by then the socket is untracked and its LISTEN -> CLOSE is
 * dropped by the tracked check, not reported twice.
 */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tp_set_state, struct sock *sk, int oldstate, int newstate)
{
	struct pw_event *e;
	__u64 ino;

	if (PW_FLOOR)
		return 0;
	if (oldstate == PW_TCP_CLOSE && newstate == PW_TCP_SYN_SENT)
		return fastopen_connect(sk);
	if (oldstate != PW_TCP_LISTEN &&
	    !(oldstate == PW_TCP_SYN_SENT && newstate == PW_TCP_ESTABLISHED)) {
		count(PW_CNT_FILTERED);
		return 0;
	}
	ino = pw_sock_inode(sk);
	if (!is_tracked(ino))
		return 0;
	e = event_reserve(PW_EV_STATE);
	if (!e)
		return 0;
	pw_fill_sock(sk, &e->sk);
	e->sk.state = newstate;
	e->old_state = oldstate;
	e->new_state = newstate;
	event_submit(e);
	return 0;
}

/*
 * Release of a socket (inet_release(), net/ipv4/af_inet.c): runs on the
 * last close(), on exit and on SIGKILL, in the releasing task's context.
 * Reports tracked sockets only, in a struct pw_release_record; always
 * allows the release.
 */
static __always_inline int on_release(struct bpf_sock *ctx, enum pw_read how)
{
	struct pw_release_record *r;
	struct sock *sk;
	__u64 ino;

	if (PW_FLOOR) {
		if (PW_FLOOR == 2)
			floor_record();
		return 1;
	}
	if (how == PW_PROBE) {
		/* the context is the struct sock itself: copy the pointer out, so
		 * that reading through it is a probe read, not a ctx access */
		sk = NULL;
		bpf_probe_read_kernel(&sk, sizeof(sk), &ctx);
	} else {
		sk = bpf_rdonly_cast(ctx, bpf_core_type_id_kernel(struct sock));
	}
	ino = sk_inode(sk, how);
	if (!untrack(ino))
		return 1;
	/* the table finds the socket by (netns, inode): a compact record (event.h) */
	r = release_reserve();
	if (!r)
		return 1;
	r->inode = ino;
	if (how == PW_PROBE) {
		r->netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	} else {
		r->netns = sk->__sk_common.skc_net.net->ns.inum;
	}
	r->lport = sk_num(sk, how);
	r->protocol = sk_proto(sk, how);
	record_submit(r, sizeof(*r));
	return 1;
}

PW_TWINS("cgroup/sock_release", cg_sock_release, struct bpf_sock, on_release)
