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

/* The rules covering one port: rule slots, 0 = none; the first slots are used first. */
struct pw_protect_port {
	__u16 tcp[PW_PROTECT_PER_PORT];
	__u16 udp[PW_PROTECT_PER_PORT];
};
_Static_assert(sizeof(struct pw_protect_port) == 16, "struct pw_protect_port is an ABI");

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

#endif /* PORTWATCH_PROTECT_ABI_H */
