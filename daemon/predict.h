/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * predict.h - the answer to "would this bind(2), listen(2) or connect(2)
 * work, and who is in the way?" as a plain struct, computed once from
 * the state the daemon holds and used by `check`, `why` and anyone else
 * who asks; serialised at the edge (ctl_req.h ctl_prediction_json()).
 *
 * The state is the table (owners, flags, bind order), one walk of the
 * network namespace (monitor_kernel_extra(): TIME_WAIT entries, accepted
 * children, autobound clients, and the kernel's own flags and state for
 * the table's sockets), the bind-bucket records (monitor_tb()), the
 * namespace's port sysctls and, for TIME_WAIT blockers, their remaining
 * time from sock_diag (idiag_expires). Nothing here changes the table or
 * the bucket records, and nothing drains the ring buffer: the event loop
 * brings the table up to date before a request is served (ctl.h).
 * The rules are rules_predict()'s (rules.h).
 */
#ifndef PORTWATCH_PREDICT_H
#define PORTWATCH_PREDICT_H

#include <stddef.h>
#include <net/if.h>
#include <stdint.h>

#include "monitor.h"
#include "rules.h"

/* A socket the kernel holds in the namespace, with its table entry when there is one. */
struct pw_holder {
	struct pw_sock sk;        /* the walk's view (flags from events where sock_diag
				   * has none), else the table's */
	const struct pw_entry *e; /* the table's entry (owner, bind time, UDP chain place)
				   * or NULL: known from the walk only. Borrowed:
				   * valid until the table changes (the next event) */
	uint32_t tw_expires_ms;   /* TIME_WAIT entries that block: remaining ms from
				   * sock_diag; UINT32_MAX unknown or not asked */
};

/*
 * The holders of one (netns, protocol, port) - or of every port of the
 * protocol (all_ports) - at one instant. The first ntable come from the
 * table, confirmed by the walk, in the order udp_lib_lport_inuse() meets
 * them (rules_udp_chain_before()); the rest are known from the walk only.
 */
struct pw_view {
	uint32_t netns;  /* inode of the network namespace */
	uint8_t protocol; /* IPPROTO_TCP or IPPROTO_UDP */
	int all_ports;   /* every port of the protocol, not only `port` */
	uint16_t port;   /* host order */
	struct pw_holder *h; /* owned: predict_view_free() */
	size_t n, ntable, cap;
};

/*
 * Gather the view of (netns, protocol, port) (port < 0: every port) at
 * now (CLOCK_REALTIME ns: calls with the same now share one namespace
 * walk, so one answer is made from one state). Returns 0 or -ENOMEM.
 */
int predict_view(struct pw_monitor *m, uint32_t netns, uint8_t protocol, int port, uint64_t now,
		 struct pw_view *v);
void predict_view_free(struct pw_view *v);

/* A prediction; see predict(). */
struct pw_prediction {
	/*
	 * The question as answered: q->op becomes RULES_OP_BIND when q asks
	 * for listen() or connect() of a new socket on a fixed port and the
	 * bind(2) before it already fails. udp_walk, tcp_mapped_any_unseen,
	 * tw_reuse and timestamps are the running kernel's and the namespace's.
	 */
	struct rules_query q;
	struct rules_prediction r; /* verdict; r.blockers index view.h */
	struct pw_view view;       /* the holders considered (owned) */
	int have_range;            /* the namespace's port range was read; else the
				    * kernel default 32768-60999 was assumed */
	uint16_t range_lo, range_hi;
	long tw_wait_s;            /* longest remaining TIME_WAIT among the blockers,
				    * seconds rounded up; -1 none or unknown */
	char advice[PW_MSG_LEN];      /* what would let the call through, or a caveat */
	char explanation[PW_MSG_LEN]; /* why it fails; "" when r.ok */
	char cgroup_progs[160];       /* the cgroup/bind programs that run first, "" none */
	/*
	 * Rule protected through takeover protection (hold.h): a copy of
	 * the hold that refuses the caller; has_hold 0 when a protect rule
	 * refuses it (q.env.protect_line) or the call is not refused so.
	 */
	int has_hold;
	struct pw_hold hold;
	char l3mdev[IF_NAMESIZE];     /* the VRF device of RULES_UNCERTAIN_L3MDEV, "" none */
};

/*
 * Predict q (rules.h struct rules_query: q->c names the netns inode,
 * protocol, address, port, flags and creator uid; q->self the inode of an
 * existing socket; the kernel-behaviour fields are filled here from the
 * start-up trials, m->kb) at now (CLOCK_REALTIME ns). A listen() or
 * connect() of a new socket on a fixed port is predicted as bind(2)
 * then that call. Returns 0, or -ENOMEM (p is then empty); release p with
 * predict_free().
 */
int predict(struct pw_monitor *m, const struct rules_query *q, uint64_t now,
	    struct pw_prediction *p);
void predict_free(struct pw_prediction *p);

/*
 * Does some process or /run/netns mount hold the namespace (so that it
 * can be walked)? 0 yes, -ENOENT no, other -errno from setns(2). Without
 * a snapshot (unit tests) every namespace is said to be held.
 */
int predict_netns_held(struct pw_monitor *m, uint32_t netns);

/*
 * The ifindex of the device called name in the namespace
 * (if_nametoindex(3) inside it), for a check of a socket bound with
 * SO_BINDTODEVICE. 0 and *ifindex, -ENODEV when there is none, or
 * -errno from entering the namespace.
 */
int predict_device_index(struct pw_monitor *m, uint32_t netns, const char *name,
			 uint32_t *ifindex);

#endif /* PORTWATCH_PREDICT_H */
