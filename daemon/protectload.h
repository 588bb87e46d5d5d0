/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * protectload.h - protect rules in the kernel (mode enforce): load
 * bpf/protect.bpf.c, attach its cgroup/bind4 and cgroup/bind6 programs at
 * the cgroup v2 root with links this process owns (never pinned: they go
 * with the daemon, whatever kills it), and keep its maps equal to the
 * rules in force.
 *
 * Owners in the kernel: uid= as is; cgroup= and unit= as cgroup ids with
 * their levels (the caller's ancestor at that level must be the id), unit=
 * being every cgroup directory of that name; exe= as the (device, inode)
 * of the file at the path. Those are looked up when the rules are applied
 * and again by protectbpf_refresh(): a unit started later, or an
 * executable replaced by an upgrade, is seen then. netns= becomes the
 * namespace's cookie (SO_NETNS_COOKIE).
 *
 * Swaps keep protection: new rules go into free slots first, then the
 * ports point at them, then the old slots are cleared, so a concurrent
 * bind meets either the old rules or the new ones.
 */
#ifndef PORTWATCH_PROTECTLOAD_H
#define PORTWATCH_PROTECTLOAD_H

#include <stdint.h>

#include "portwatch/protect.h"
#include "hold.h"
#include "protect.h"
#include "snap.h"

struct protect;
struct bpf_link;

struct pw_protect_bpf {
	struct protect *skel;     /* NULL: not loaded */
	struct bpf_link *link4, *link6;
	uint32_t prog_id4, prog_id6; /* for `check`: programs of portwatch's own */
	int cgroup_fd;
	int cgroup_root_len;        /* strlen of the cgroup2 mount point */
	char cgroup_root[256];
	uint16_t *slot_of;          /* slot of rule i of the rules applied last */
	size_t nslots;
	uint8_t used[PW_PROTECT_MAX_RULES]; /* slots of the rules applied last */
	struct pw_protect_port *ports; /* the protect_ports map as written, 65536 entries */
	uint64_t sig;               /* of the kernel view last written (refresh skips equal) */
	struct pw_protect_exe_key *exes; /* keys written for the rules applied last */
	size_t nexes;
	unsigned int unresolved;    /* selectors with nothing to match yet (last apply) */
	uint16_t *nheld;            /* holds in protect_holds per (protocol, port):
				     * [port] TCP, [65536 + port] UDP; a flag whose count
				     * fell to 0 is cleared by protectbpf_tidy() */
	struct {
		uint32_t netns;     /* inode, 0 = free */
		uint64_t cookie;
	} cookies[64];              /* netns cookies of holds, by inode (direct-mapped) */
};

/*
 * Load and attach. Returns 0, or -errno with *what naming the step that
 * failed ("open", "load", "find the cgroup v2 root", "attach ...").
 */
int protectbpf_open(struct pw_protect_bpf *b, const char **what);

/*
 * Make the maps hold rules p (snap: to read netns cookies; may be NULL,
 * then netns= rules wait). Returns 0 or -errno (-E2BIG: too many rules or
 * rules on one port, -ENOSPC: no free slots) with a message in err; on
 * failure the previous rules stay in force.
 */
int protectbpf_apply(struct pw_protect_bpf *b, const struct pw_protect *p, struct snap *snap,
		     char *err, size_t errlen);

/*
 * Look the owners up again (unit cgroups, executables, netns cookies) and
 * apply when the kernel's view changed. Same returns as apply.
 */
int protectbpf_refresh(struct pw_protect_bpf *b, const struct pw_protect *p, struct snap *snap,
		       char *err, size_t errlen);

/*
 * Takeover protection: write the hold h into protect_holds (added 1), or
 * delete it (added 0), keeping the port's held flag in protect_ports. The
 * key's netns cookie is looked up through snap when h is written and kept
 * in h->netns_cookie; a hold never written (cookie 0) is not deleted.
 * Returns 0, or -errno (the namespace is gone, the map is full).
 */
int protectbpf_hold(struct pw_protect_bpf *b, struct pw_hold *h, int added, struct snap *snap);

/*
 * Once a second (housekeeping): clear the held flags of
 * ports no hold is left on (protectbpf_hold() leaves them, so that an
 * owner restarting over and over costs one map update a time, not two),
 * and forget the cached netns cookies (a namespace's inode may be reused
 * once it is gone).
 */
void protectbpf_tidy(struct pw_protect_bpf *b);

/* Detach, unload, free. Accepts a closed or zeroed b (cgroup_fd 0 is left alone). */
void protectbpf_close(struct pw_protect_bpf *b);

/* Is the program id one of portwatch's own protect programs? */
int protectbpf_is_own(const struct pw_protect_bpf *b, uint32_t prog_id);

#endif /* PORTWATCH_PROTECTLOAD_H */
