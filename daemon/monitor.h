/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * monitor.h - turns BPF events and snapshots into the ownership table,
 * alerts and conflicts. The heart of portwatchd; no I/O of its own except
 * /proc reads for attribution (proc.h) and namespace walks (snap.h) when
 * a conflict needs the kernel's TIME_WAIT entries.
 */
#ifndef PORTWATCH_MONITOR_H
#define PORTWATCH_MONITOR_H

#include <stdint.h>

#include "portwatch/event.h"
#include "bindbucket.h"
#include "ephemeral.h"
#include "expected.h"
#include "hold.h"
#include "kbehavior.h"
#include "policy.h"
#include "protect.h"
#include "report.h"
#include "ring.h"
#include "snap.h"
#include "table.h"

/* Tunables, with the defaults of monitor_defaults(). */
struct monitor_config {
	uint64_t takeover_window_ns; /* 60 s: a bind this soon after a listener left is a takeover */
	uint64_t fold_window_ns;     /* 10 s: repeats of an alert this soon after it are folded
				      * into one summary alert (0: never fold) */
	size_t alert_history;        /* 1024: alerts kept in memory */
	size_t conflict_history;     /* 1024: conflicts kept in memory */
	/*
	 * Borrowed, may be NULL: ignored ports and allow rules (policy.h).
	 * A silenced alert is counted, not stored or sent; a conflict on an
	 * ignored port is counted, not recorded. The daemon swaps it on reload.
	 */
	const struct pw_policy *policy;
	/*
	 * Borrowed, may be NULL: protect rules and mode (protect.h). In mode
	 * monitor or enforce a bind of a protected address by someone not its
	 * owner raises hijack_attempt/protected_port (instead of the alert
	 * the bind would raise otherwise); the rules' counters are kept here.
	 */
	struct pw_protect *protect;
};

/* Counters shown by `stats`. */
struct monitor_stats {
	uint64_t events[PW_EV_RELEASE + 1]; /* by enum pw_event_type */
	uint64_t alerts;            /* alerts raised, folded ones included */
	uint64_t alerts_folded;     /* of which folded into a summary (monitor_fold_flush()) */
	uint64_t alerts_silenced;   /* by an allow rule or an ignored port */
	uint64_t conflicts;
	uint64_t conflicts_ignored; /* on an ignored port */
	uint64_t reconciliations;
	uint64_t reconcile_added;   /* sockets a reconciliation found that events had not shown */
	uint64_t reconcile_removed; /* sockets a reconciliation found gone */
	uint64_t last_reconcile_ms;
	uint32_t netns;             /* namespaces seen by the last snapshot */
	/* alerts again, by kind, reason and severity (the metrics file's labels) */
	uint64_t alerts_by[RULES_KIND_COUNT][RULES_REASON_COUNT][RULES_SEV_COUNT];
};

/*
 * A TCP Fast Open connect started by sendto()/sendmsg(): who started it,
 * until the socket's SYN_SENT -> ESTABLISHED brings its port (event.h).
 */
struct tfo_pending {
	uint32_t netns;
	uint64_t inode; /* 0: free slot */
	struct pw_owner owner;
};

/*
 * Alert storms. The first alert of a (kind, reason, holder owner group,
 * contender owner group, netns) goes out at once; its repeats within
 * fold_window_ns of it are counted here instead, and leave as one summary
 * alert (struct pw_alert fold_*) when the window ends.
 */
struct alert_fold {
	enum rules_alert_kind kind; /* RULES_KIND_NONE: free slot */
	enum rules_alert_reason reason;
	uint32_t netns;
	struct pw_owner holder, contender; /* owner groups: uid and executable */
	uint64_t first_id;                 /* the alert that went out */
	uint64_t start_ns;                 /* its time: the window starts there */
	uint64_t count;                    /* repeats folded since */
	uint64_t first_ns, last_ns;        /* of the repeats */
	uint16_t ports[8];
	uint8_t nports, more;
	struct pw_alert last;              /* the last repeat, the summary's model */
};

#define MONITOR_FOLD_SLOTS 64
#define MONITOR_TFO_SLOTS 64

/* Called for every new alert (syslog, subscribers); must not keep *a. */
typedef void (*monitor_alert_fn)(const struct pw_alert *a, void *arg);

/*
 * Called when a hold (takeover protection, hold.h) was made or renewed
 * (added 1) or is about to be removed (added 0), so that the kernel's copy
 * follows: h is the monitor's, valid during the call; the callee may set
 * h->netns_cookie (its key in the kernel).
 */
typedef void (*monitor_hold_fn)(struct pw_hold *h, int added, void *arg);

#define MONITOR_OWN_GROUP_SLOTS 64

struct pw_monitor {
	struct monitor_config cfg;
	struct pw_table *table;
	struct pw_ring alerts;    /* of struct pw_alert */
	struct pw_ring conflicts; /* of struct pw_conflict */
	struct recent_listener *recent; /* takeover candidates' keys, see monitor.c */
	struct pw_entry *recent_holders; /* and the listeners themselves, slot for slot */
	struct exe_path *exe_paths;     /* (exe dev, inode) -> path, for processes gone early */
	struct owner_cache *owners;     /* pid -> attribution read from /proc, see monitor.c */
	size_t nrecent;
	struct monitor_stats stats;
	uint64_t alerts_by_kind[RULES_KIND_COUNT]; /* by enum rules_alert_kind */
	int64_t boot_to_real_ns;  /* CLOCK_REALTIME - CLOCK_BOOTTIME, measured at init */
	uint64_t gen;             /* reconciliation generation */
	struct snap *snap;        /* borrowed: namespace walks */
	struct kbehavior kb;      /* the running kernel's rules where versions differ;
				   * unknown after monitor_init(), portwatchd probes */
	/*
	 * Sockets of one netns that the table does not hold (TIME_WAIT entries,
	 * sockets not yet seen), from the last walk made to explain a conflict.
	 * Reused for a second (KCACHE_NS, monitor.c) so that a flood of failing
	 * binds costs one walk a second, not one each.
	 */
	struct pw_sock *kcache;
	size_t kcache_n, kcache_cap;
	uint32_t kcache_netns;
	uint64_t kcache_ns;       /* CLOCK_REALTIME ns of that walk; 0 = none */
	struct pw_sock *kall;     /* every socket of that walk, the table's too */
	size_t kall_n, kall_cap;
	int kall_ok;              /* that walk read the whole namespace */
	struct bindbucket_table tbs;         /* the kernel's TCP bind buckets, bindbucket.h */
	struct ephemeral_episodes episodes;  /* ephemeral-port exhaustion, ephemeral.h */
	struct tfo_pending *tfo;  /* MONITOR_TFO_SLOTS, by inode */
	struct alert_fold *folds; /* MONITOR_FOLD_SLOTS */
	int tracked_fd;           /* BPF map of tracked socket inodes, -1 when none */
	uint32_t protect_prog_ids[2]; /* portwatch's own cgroup/bind4, bind6 programs (mode
				       * enforce; 0 none): `check` knows their rules */
	monitor_alert_fn on_alert;
	void *on_alert_arg;
	/*
	 * Takeover protection (mode enforce, [protect] takeover): the ports
	 * kept for the owner whose socket went away, until the takeover window
	 * ends. on_hold (may be NULL; set by the daemon after monitor_init())
	 * mirrors every change into the kernel.
	 */
	struct pw_holds holds;
	monitor_hold_fn on_hold;
	void *on_hold_arg;
	/*
	 * Borrowed, may be NULL: the expected owner of each port (expected.h),
	 * noted when a listener goes away; a refused bind or listen of that
	 * owner is hijack_attempt/squatted.
	 */
	struct expected_owners *expected;
	/*
	 * Unbound sockets that attached a reuseport program
	 * (SO_ATTACH_REUSEPORT_CBPF/EBPF: reuseport_attach_prog() gives an
	 * unhashed SO_REUSEPORT socket a group of its own), as the setsockopt
	 * event read them; the oldest is overwritten, a successful bind
	 * forgets one. monitor_own_group() reads them.
	 */
	struct pw_sock own_group[MONITOR_OWN_GROUP_SLOTS];
	size_t own_group_next;
	size_t own_group_n; /* slots in use: a bind looks only when some are */
};

/*
 * The unbound socket (netns, inode) if it attached a reuseport program
 * before any bind(2), so that it has a reuseport group of its own and
 * cannot join another (rules_query.own_group): the socket as its
 * setsockopt event read it (flags, sk_uid, device). NULL when the daemon
 * saw no such call, or saw the socket bind since. A socket closed while
 * unbound stays listed until its slot is reused (socket inode numbers are
 * not reused before 2^32 more sockets).
 */
const struct pw_sock *monitor_own_group(const struct pw_monitor *m, uint32_t netns,
					uint64_t inode);

void monitor_defaults(struct monitor_config *cfg);
/* Set up; 0 or -ENOMEM. snap may be NULL (no TIME_WAIT lookups). */
int monitor_init(struct pw_monitor *m, const struct monitor_config *cfg, struct snap *snap,
		 int tracked_fd, monitor_alert_fn on_alert, void *arg);
void monitor_free(struct pw_monitor *m);

/* Apply one ring-buffer event. */
void monitor_handle_event(struct pw_monitor *m, const struct pw_event *e);

/*
 * Snapshot every namespace and make the table match the kernel: add
 * sockets the events did not show (owners from one /proc scan), drop the
 * ones that are gone. Raises no alerts. Returns 0 or -errno from the walk.
 */
int monitor_reconcile(struct pw_monitor *m);

/*
 * Mark / test a socket inode in the kernel side's tracked array (event.h
 * PW_TRACKED_SLOTS), so that its state changes and release are reported.
 * No-ops without a map (tracked_fd < 0).
 */
void monitor_track(struct pw_monitor *m, uint64_t inode);
int monitor_is_tracked(const struct pw_monitor *m, uint64_t inode);

/*
 * The sockets of netns the table does not hold (TIME_WAIT entries,
 * sockets not seen yet), from the last namespace walk when it is at most
 * max_age_ns old, else from a new one (kcache above); now: CLOCK_REALTIME
 * ns. Returns the array and its length in *n, valid until the next call;
 * none without a snapshot.
 */
const struct pw_sock *monitor_kernel_extra(struct pw_monitor *m, uint32_t netns, uint64_t now,
					   uint64_t max_age_ns, size_t *n);

/*
 * The fast-path fields of the bind bucket of (netns, TCP port), or NULL
 * when the daemon has seen no bind there (bindbucket_get()). Valid until
 * the next event.
 */
const struct rules_tb *monitor_tb(const struct pw_monitor *m, uint32_t netns, uint16_t port);
/*
 * Drop the records of buckets that neither the table nor departed sockets
 * can hold at now, CLOCK_REALTIME ns (bindbucket_sweep()).
 */
void monitor_tb_sweep(struct pw_monitor *m, uint64_t now);
/* The kernel has no socket on (netns, TCP port): its bucket is gone (bindbucket_forget()). */
void monitor_tb_forget(struct pw_monitor *m, uint32_t netns, uint16_t port);

/*
 * Read net.ipv4.ip_local_port_range and ip_local_reserved_ports of netns
 * (inside it, through snap_netns_call()) into *p: sysctl_read_ports().
 * Returns 0 or -errno; without a snapshot (unit tests) the daemon's own
 * files are read.
 */
int monitor_ports(struct pw_monitor *m, uint32_t netns, struct rules_ports *p);
/*
 * An integer sysctl of netns, e.g. "net/ipv4/tcp_tw_reuse"; def when
 * unreadable (sysctl_read_int()).
 */
int monitor_sysctl_int(struct pw_monitor *m, uint32_t netns, const char *name, int def);

/*
 * Every socket of netns as the last walk (monitor_kernel_extra()) found
 * it, table sockets included: the kernel's own flags, state and bind
 * origin. Returns NULL (and *n 0) when that walk was not of netns or did
 * not complete. Valid until the next walk.
 */
const struct pw_sock *monitor_kernel_all(const struct pw_monitor *m, uint32_t netns, size_t *n);

/*
 * Send the summaries of the alert folds whose window has ended by now
 * (CLOCK_REALTIME ns); all of them with now = UINT64_MAX (shutdown).
 * Called by the housekeeping tick: once a second while
 * monitor_timers_pending().
 */
void monitor_fold_flush(struct pw_monitor *m, uint64_t now);

/*
 * 1 while something of the monitor ends at a time of its own: an alert
 * fold open (its summary is due at the window's end) or a takeover hold
 * kept (monitor_holds_expire()); 0 otherwise.
 */
int monitor_timers_pending(const struct pw_monitor *m);

/* Record that a TCP listener went away (takeover detection); now: CLOCK_REALTIME ns. */
void monitor_listener_gone(struct pw_monitor *m, const struct pw_entry *e, uint64_t now);

/*
 * Takeover protection: remove the holds whose deadline is at or before
 * now (CLOCK_REALTIME ns), and, after a reload, those the configuration
 * in m->cfg.protect no longer asks for (not mode enforce, takeover off,
 * or takeover protected and no rule covers the port any more), through
 * on_hold. Called once a second and after every reload.
 */
void monitor_holds_expire(struct pw_monitor *m, uint64_t now);

/*
 * Give e->device the name of e->sk.bound_dev_if in the socket's network
 * namespace (if_indextoname(3) inside it), when the device is new to the
 * entry; "" when the socket is bound to none or the name cannot be read
 * (the device is gone). Costs two setns(2) per device-bound socket.
 */
void monitor_name_device(struct pw_monitor *m, struct pw_entry *e);

/*
 * Raise an alert that no event brings (a diversion found by a scan):
 * allow rules, folding and counting as for the others; message replaces
 * the default one when not NULL. Returns the alert's id, 0 when it was
 * silenced or folded.
 */
uint64_t monitor_raise(struct pw_monitor *m, const struct rules_alert *ra,
		       const struct pw_entry *holder, const struct pw_entry *contender, int result,
		       const char *message, uint64_t now);

/*
 * Are a and b one owner group (same uid and executable: sharing inside
 * one is normal)? 0 when either has no process. Pure.
 */
int monitor_same_group(const struct pw_owner *a, const struct pw_owner *b);

/* CLOCK_BOOTTIME ns (event time) -> CLOCK_REALTIME ns. */
uint64_t monitor_realtime(const struct pw_monitor *m, uint64_t boot_ns);
/* Now, CLOCK_REALTIME ns. */
uint64_t monitor_now(void);

#endif /* PORTWATCH_MONITOR_H */
