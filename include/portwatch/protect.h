/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * portwatch/protect.h - the ABI between bpf/protect.bpf.c (cgroup/bind4,
 * cgroup/bind6 at the cgroup v2 root) and portwatchd's protectload.c:
 * the maps that say which ports are protected and who may bind them.
 *
 *   protect_ports  array, key: port (host order), value: struct pw_protect_port,
 *                  the rules covering that port, per protocol
 *   protect_rules  array, key: rule slot, value: struct pw_protect_krule
 *   protect_exes   hash, key: struct pw_protect_exe_key (rule slot, executable
 *                  identity), value: __u8 1 - the executables a rule allows
 *   protect_holds  hash, key: struct pw_protect_hold_key, value: struct
 *                  pw_protect_hold - takeover protection: a port whose owner's
 *                  socket went away, kept for that owner until a deadline
 *
 * Rule slots: a rule occupies slot 1..PW_PROTECT_MAX_RULES-1 (0 = none in
 * struct pw_protect_port). A reload writes the new rules into free slots and
 * points the ports at them before it clears the old slots, so that every
 * bind meets either the old rules or the new ones (protectload.c).
 */
#ifndef PORTWATCH_PROTECT_ABI_H
#define PORTWATCH_PROTECT_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define PW_PROTECT_MAX_RULES 512   /* slots, both generations of a reload together */
#define PW_PROTECT_PER_PORT 4      /* rules of one protocol that may cover one port */
#define PW_PROTECT_MAX_UIDS 4      /* uid= selectors the kernel matches per rule */
#define PW_PROTECT_MAX_CGROUPS 8   /* cgroup= and unit= cgroups per rule */
#define PW_PROTECT_MAX_HOLDS 1024  /* ports kept for a departed owner at once */

/* struct pw_protect_port held: some namespace holds the port for a departed owner */
#define PW_PROTECT_HELD_TCP 1
#define PW_PROTECT_HELD_UDP 2

/*
 * The rules covering one port: rule slots, 0 = none; the first slots are
 * used first. held says, per protocol, that protect_holds has an entry of
 * this port, so that a bind of a port nobody holds looks nothing else up.
 */
struct pw_protect_port {
	__u16 tcp[PW_PROTECT_PER_PORT];
	__u16 udp[PW_PROTECT_PER_PORT];
	__u8 held; /* PW_PROTECT_HELD_TCP | PW_PROTECT_HELD_UDP */
	__u8 pad[3];
};
_Static_assert(sizeof(struct pw_protect_port) == 20, "struct pw_protect_port is an ABI");

/* A cgroup a rule allows, with its subtree: the caller's ancestor at level is id. */
struct pw_protect_cgroup {
	__u64 id;    /* cgroup id (inode of its cgroup2 directory) */
	__u32 level; /* depth below the root, root = 0 */
	__u32 pad;
};

/* One rule as the kernel matches it. */
struct pw_protect_krule {
	__u64 netns_cookie; /* 0: every netns; else bpf_get_netns_cookie() of the one */
	__u8 addr[16];      /* network order; an IPv4 address in bytes 0..3 */
	__u16 family;       /* 0: every address; AF_INET or AF_INET6: addr and what overlaps it */
	__u8 any_exe;       /* 1: exe= selectors, look up protect_exes */
	__u8 nuid;          /* uid[0..nuid) */
	__u8 ncgroup;       /* cgroup[0..ncgroup) */
	__u8 pad[3];
	__u32 uid[PW_PROTECT_MAX_UIDS];
	struct pw_protect_cgroup cgroup[PW_PROTECT_MAX_CGROUPS];
};
_Static_assert(sizeof(struct pw_protect_krule) == 176, "struct pw_protect_krule is an ABI");

/* An executable a rule allows: its inode and device (kernel dev_t encoding). */
struct pw_protect_exe_key {
	__u64 ino;
	__u32 dev;  /* s_dev: MAJOR << 20 | MINOR */
	__u32 rule; /* rule slot */
};
_Static_assert(sizeof(struct pw_protect_exe_key) == 16, "struct pw_protect_exe_key is an ABI");

/* A port kept for its departed owner (takeover protection), in one namespace. */
struct pw_protect_hold_key {
	__u64 netns_cookie; /* bpf_get_netns_cookie() / SO_NETNS_COOKIE of the namespace */
	__u16 port;         /* host order */
	__u8 protocol;      /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 pad[5];
};
_Static_assert(sizeof(struct pw_protect_hold_key) == 16, "struct pw_protect_hold_key is an ABI");

/*
 * Who may bind the held port until when: a caller with this real uid
 * (bpf_get_current_uid_gid()) running this executable; anyone else gets
 * EPERM until until_ns, CLOCK_BOOTTIME ns (bpf_ktime_get_boot_ns()).
 */
struct pw_protect_hold {
	__u64 until_ns;
	__u64 exe_ino;
	__u32 exe_dev; /* s_dev: MAJOR << 20 | MINOR */
	__u32 uid;
};
_Static_assert(sizeof(struct pw_protect_hold) == 24, "struct pw_protect_hold is an ABI");

#endif /* PORTWATCH_PROTECT_ABI_H */
