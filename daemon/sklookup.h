/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * sklookup.h - BPF sk_lookup links: programs that pick the socket for the
 * connections and datagrams of a network namespace, whatever address and
 * port that socket is bound to (BPF_PROG_TYPE_SK_LOOKUP, Linux 5.9+). No
 * bind conflicts, so the table cannot see them: they are enumerated with
 * the bpf(2) link calls instead (libbpf 1.1's wrappers):
 * BPF_LINK_GET_NEXT_ID, BPF_LINK_GET_FD_BY_ID, BPF_OBJ_GET_INFO_BY_FD
 * (struct bpf_link_info: type BPF_LINK_TYPE_NETNS, netns.attach_type
 * BPF_SK_LOOKUP, netns.netns_ino; bpf_netns_link_fill_info() in
 * kernel/bpf/net_namespace.c, the same in Linux 6.1 and 6.12), and the
 * program's name from BPF_PROG_GET_FD_BY_ID + its bpf_prog_info.
 *
 * The set is kept by link id (ids are allocated cyclically, idr_alloc_cyclic()
 * in kernel/bpf/syscall.c, so a new link never takes a live one's id); a
 * scan reports the links it had not seen, once each, and forgets the ones
 * that are gone. The loading process is the one holding an fd of the link
 * (/proc/PID/fdinfo/FD shows "link_id:"), looked up only for new links.
 */
#ifndef PORTWATCH_SKLOOKUP_H
#define PORTWATCH_SKLOOKUP_H

#include <stddef.h>
#include <stdint.h>

#include "table.h"

#define SKLOOKUP_NAME_LEN 16 /* BPF_OBJ_NAME_LEN */

struct sklookup_link {
	uint32_t link_id;
	uint32_t prog_id;
	uint32_t netns;      /* inode of the namespace; 0 when it is gone (link defunct) */
	char prog_name[SKLOOKUP_NAME_LEN]; /* "" when the program has none */
	struct pw_owner owner; /* a process holding an fd of the link; pid 0: none found
				* (pinned, or its loader closed the fd) */
	uint64_t first_ns;   /* CLOCK_REALTIME ns of the scan that found it */
	uint64_t alert_id;   /* the diversion/sk_lookup alert; 0 none (silenced, folded, defunct) */
};

struct sklookup {
	struct sklookup_link *links; /* current links, by increasing link_id */
	size_t n, cap;
	uint64_t scans;    /* scans made */
	uint64_t found;    /* links reported new, in all */
	int last_err;      /* -errno of the last scan; 0 when it read every link */
};

/* Called for each link a scan had not seen before; l stays valid until the next scan. */
typedef void (*sklookup_new_fn)(struct sklookup_link *l, void *arg);

/*
 * Merge the links found by one scan (found[0..nfound), any order, fields
 * but owner/first_ns/alert_id set) into s: new ones are added with
 * first_ns = now and reported through on_new (may be NULL); links no
 * longer found are dropped. Pure. Returns 0 or -ENOMEM (s unchanged).
 */
int sklookup_merge(struct sklookup *s, const struct sklookup_link *found, size_t nfound,
		   uint64_t now, sklookup_new_fn on_new, void *arg);

/*
 * The link id in the text of a /proc/PID/fdinfo/FD file of a BPF link fd
 * ("link_id:\t7"): 1 and *id, or 0 when the text has none. Pure.
 */
int sklookup_fdinfo_link_id(const char *text, uint32_t *id);

/*
 * Enumerate the host's sk_lookup links with bpf(2) and merge them
 * (sklookup_merge()); new links get their owner from /proc first. Links
 * that vanish while being read are skipped. Returns 0, or -errno of the
 * first call that failed (-EPERM without CAP_SYS_ADMIN); what could be
 * read is merged anyway only when the enumeration itself completed.
 */
int sklookup_scan(struct sklookup *s, uint64_t now, sklookup_new_fn on_new, void *arg);

/*
 * The alert message of a new link (NUL-terminated, truncated to len):
 * the program's name and id, the link id, the namespace and the process
 * holding the link. Pure.
 */
void sklookup_message(char *buf, size_t len, const struct sklookup_link *l);

/* Free the set; accepts a zeroed struct. */
void sklookup_free(struct sklookup *s);

#endif /* PORTWATCH_SKLOOKUP_H */
