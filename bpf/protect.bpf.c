// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * protect.bpf.c - enforcement of protect rules (portwatch.conf(5) [protect],
 * mode enforce): cgroup/bind4 and cgroup/bind6 programs that portwatchd
 * attaches at the cgroup v2 root with links it owns (never pinned: they go
 * when the daemon does, kill -9 included). They run before every bind(2)
 * of an AF_INET/AF_INET6 socket on the host and return 0, which the caller
 * sees as EPERM, when a rule covers the requested port and address and
 * the caller is none of its owners. Loaded only in mode enforce.
 *
 * The maps (portwatch/protect.h) are the daemon's: protect_ports says
 * which rule slots cover a port, protect_rules holds the rules, and
 * protect_exes the executables each rule allows; protect_holds the ports
 * kept for an owner whose socket went away (takeover protection, [protect]
 * takeover): until the hold's deadline only a caller with that owner's uid
 * and executable may bind the port in that namespace. A bind of a port no
 * rule covers and nobody holds costs one array lookup.
 *
 * Helpers, all allowed for BPF_PROG_TYPE_CGROUP_SOCK_ADDR on Linux 6.1 and
 * 6.12 (net/core/filter.c sock_addr_func_proto(), kernel/bpf/cgroup.c
 * cgroup_current_func_proto(), kernel/bpf/helpers.c bpf_base_func_proto()):
 * bpf_get_current_uid_gid, bpf_get_current_ancestor_cgroup_id,
 * bpf_get_netns_cookie, bpf_ktime_get_boot_ns, and with CAP_PERFMON bpf_get_current_task and
 * bpf_probe_read_kernel (BPF_CORE_READ) for the caller's executable.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "portwatch/protect.h"

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct pw_protect_port);
} protect_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PW_PROTECT_MAX_RULES);
	__type(key, __u32);
	__type(value, struct pw_protect_krule);
} protect_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct pw_protect_exe_key);
	__type(value, __u8);
} protect_exes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_PROTECT_MAX_HOLDS);
	__type(key, struct pw_protect_hold_key);
	__type(value, struct pw_protect_hold);
} protect_holds SEC(".maps");

/* The bind asked for, IPv4 as IPv4 (a v4-mapped IPv6 address included). */
struct bind_req {
	__u32 a[4]; /* network order; IPv4 in a[0] */
	int v4;
	int any;    /* the family's wildcard */
	__u64 ino;  /* the caller's executable, read on first need */
	__u32 dev;
	int exe_read;
};

static __always_inline void read_exe(struct bind_req *q)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct inode *inode = BPF_CORE_READ(task, mm, exe_file, f_inode);

	q->exe_read = 1;
	if (!inode)
		return;
	q->ino = BPF_CORE_READ(inode, i_ino);
	q->dev = BPF_CORE_READ(inode, i_sb, s_dev);
}

/* Do the rule's addresses meet the bind's (protect_covers() in daemon/protect.c)? */
static __always_inline int covers(const struct pw_protect_krule *r, const struct bind_req *q)
{
	const __u32 *ra = (const __u32 *)r->addr;
	int rv4 = r->family == AF_INET, rany;

	if (!r->family)
		return 1;
	rany = rv4 ? !ra[0] : !(ra[0] | ra[1] | ra[2] | ra[3]);
	if (rv4 == q->v4) {
		if (rany || q->any)
			return 1;
		if (rv4)
			return ra[0] == q->a[0];
		return ra[0] == q->a[0] && ra[1] == q->a[1] && ra[2] == q->a[2] && ra[3] == q->a[3];
	}
	/*
	 * Across families only [::] meets IPv4 addresses. IPV6_V6ONLY is not
	 * in the context: a v6-only [::] counts as dual-stack here.
	 */
	return rv4 && !q->v4 && q->any;
}

static __always_inline int owner(const struct pw_protect_krule *r, __u32 slot,
				 struct bind_req *q)
{
	__u32 uid = (__u32)bpf_get_current_uid_gid();

	for (int i = 0; i < PW_PROTECT_MAX_UIDS; i++)
		if (i < r->nuid && r->uid[i] == uid)
			return 1;
	for (int i = 0; i < PW_PROTECT_MAX_CGROUPS; i++)
		if (i < r->ncgroup && r->cgroup[i].id &&
		    bpf_get_current_ancestor_cgroup_id(r->cgroup[i].level) == r->cgroup[i].id)
			return 1;
	if (r->any_exe) {
		struct pw_protect_exe_key k = {};

		if (!q->exe_read)
			read_exe(q);
		k.ino = q->ino;
		k.dev = q->dev;
		k.rule = slot;
		if (q->ino && bpf_map_lookup_elem(&protect_exes, &k))
			return 1;
	}
	return 0;
}

/*
 * Takeover protection: is the port held in the caller's namespace for
 * another owner (uid and executable) than the caller, deadline not passed?
 */
static __always_inline int held_for_other(struct bpf_sock_addr *ctx, __u32 port, __u8 protocol,
					  __u64 cookie, struct bind_req *q)
{
	struct pw_protect_hold_key k = {};
	struct pw_protect_hold *h;

	k.netns_cookie = cookie ? cookie : bpf_get_netns_cookie(ctx);
	k.port = (__u16)port;
	k.protocol = protocol;
	h = bpf_map_lookup_elem(&protect_holds, &k);
	if (!h || bpf_ktime_get_boot_ns() >= h->until_ns)
		return 0;
	if ((__u32)bpf_get_current_uid_gid() != h->uid)
		return 1;
	if (!q->exe_read)
		read_exe(q);
	return q->ino != h->exe_ino || q->dev != h->exe_dev;
}

/* 1: let the bind go on; 0: refuse it (EPERM). */
static __always_inline int check(struct bpf_sock_addr *ctx, struct bind_req *q)
{
	__u32 port = bpf_ntohs((__u16)ctx->user_port);
	struct pw_protect_port *pp;
	__u64 cookie = 0;
	__u16 *slots;
	__u8 held;

	if (!port) /* the kernel picks one: not a bind of a protected port */
		return 1;
	pp = bpf_map_lookup_elem(&protect_ports, &port);
	if (!pp)
		return 1;
	if (ctx->protocol == IPPROTO_TCP) {
		slots = pp->tcp;
		held = pp->held & PW_PROTECT_HELD_TCP;
	} else if (ctx->protocol == IPPROTO_UDP) {
		slots = pp->udp;
		held = pp->held & PW_PROTECT_HELD_UDP;
	} else {
		return 1;
	}
	for (int i = 0; i < PW_PROTECT_PER_PORT; i++) {
		__u32 slot = slots[i];
		struct pw_protect_krule *r;

		if (!slot)
			break;
		r = bpf_map_lookup_elem(&protect_rules, &slot);
		if (!r)
			continue;
		if (r->netns_cookie) {
			if (!cookie)
				cookie = bpf_get_netns_cookie(ctx);
			if (cookie != r->netns_cookie)
				continue;
		}
		if (covers(r, q) && !owner(r, slot, q))
			return 0;
	}
	if (held && held_for_other(ctx, port, (__u8)ctx->protocol, cookie, q))
		return 0;
	return 1;
}

SEC("cgroup/bind4")
int protect_bind4(struct bpf_sock_addr *ctx)
{
	struct bind_req q = { .v4 = 1 };

	q.a[0] = ctx->user_ip4;
	q.any = !q.a[0];
	return check(ctx, &q);
}

SEC("cgroup/bind6")
int protect_bind6(struct bpf_sock_addr *ctx)
{
	struct bind_req q = {};

	q.a[0] = ctx->user_ip6[0];
	q.a[1] = ctx->user_ip6[1];
	q.a[2] = ctx->user_ip6[2];
	q.a[3] = ctx->user_ip6[3];
	if (!q.a[0] && !q.a[1] && q.a[2] == bpf_htonl(0xffff)) { /* ::ffff:a.b.c.d */
		q.v4 = 1;
		q.a[0] = q.a[3];
		q.a[1] = q.a[2] = q.a[3] = 0;
		q.any = !q.a[0];
	} else {
		q.any = !(q.a[0] | q.a[1] | q.a[2] | q.a[3]);
	}
	return check(ctx, &q);
}
