// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* monitor.c - events and snapshots -> table, alerts, conflicts; see monitor.h. */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "addr.h"
#include "log.h"
#include "monitor.h"
#include "proc.h"
#include "pwname.h"
#include "rules.h"
#include "sysctl.h"

/* How long a conflict reuses the last walk: a flood of failing binds walks once a second. */
#define KCACHE_NS 1000000000ULL

/*
 * The last TCP listener that went away on a (netns, port): a bind there by
 * another owner group within the takeover window is a takeover. One slot
 * per (netns, port) hash; a collision replaces the older record, which
 * bounds memory under listen/close churn on many ports.
 *
 * Every successful bind looks its port up here, and under churn nearly
 * every slot is set: the keys are kept apart from the holders (16 bytes a
 * slot, 64 KiB in all, cache-resident) so that the common miss reads no
 * 528-byte entry. The holder, slot for slot in m->recent_holders, is read
 * only when the key matches. (A miss on a 2 MiB array of whole records
 * was a third of the daemon's per-event time under bind churn.)
 */
struct recent_listener {
	uint64_t gone_ns; /* CLOCK_REALTIME ns; 0 = empty slot */
	uint32_t netns;
	uint16_t port;
	uint16_t pad;
};

#define RECENT_SLOTS 4096

/*
 * Paths of executables by identity, so a process that exits before its
 * bind event is handled still shows the path a sibling of the same binary
 * revealed. Direct-mapped; a collision replaces.
 */
struct exe_path {
	uint64_t ino;
	uint32_t dev;
	char path[PW_EXE_LEN];
};

#define EXE_PATH_SLOTS 256

/*
 * Attribution read from /proc, per process: a burst of binds by one
 * process costs one set of /proc reads, not one per bind. Keyed by pid and
 * executable identity (an exec or a reused pid with another binary misses);
 * entries older than OWNER_CACHE_NS are read again (the unit can change).
 */
struct owner_cache {
	uint64_t read_ns; /* CLOCK_REALTIME ns of the /proc read; 0 = empty */
	struct pw_owner owner;
};

#define OWNER_CACHE_SLOTS 1024
#define OWNER_CACHE_NS (10ULL * 1000000000ULL)

uint64_t monitor_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

uint64_t monitor_realtime(const struct pw_monitor *m, uint64_t boot_ns)
{
	return boot_ns + m->boot_to_real_ns;
}

void monitor_defaults(struct monitor_config *cfg)
{
	cfg->takeover_window_ns = 60ULL * 1000000000ULL;
	cfg->fold_window_ns = 10ULL * 1000000000ULL;
	cfg->alert_history = 1024;
	cfg->conflict_history = 1024;
	cfg->policy = NULL;
	cfg->protect = NULL;
}

int monitor_init(struct pw_monitor *m, const struct monitor_config *cfg, struct snap *snap,
		 int tracked_fd, monitor_alert_fn on_alert, void *arg)
{
	struct timespec rt, bt;
	int err;

	memset(m, 0, sizeof(*m));
	m->cfg = *cfg;
	m->snap = snap;
	kbehavior_unknown(&m->kb);
	m->tracked_fd = tracked_fd;
	m->on_alert = on_alert;
	m->on_alert_arg = arg;
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	m->boot_to_real_ns = ((int64_t)rt.tv_sec - bt.tv_sec) * 1000000000LL +
			     (rt.tv_nsec - bt.tv_nsec);
	m->table = table_new();
	m->recent = calloc(RECENT_SLOTS, sizeof(*m->recent));
	m->recent_holders = calloc(RECENT_SLOTS, sizeof(*m->recent_holders));
	m->exe_paths = calloc(EXE_PATH_SLOTS, sizeof(*m->exe_paths));
	m->owners = calloc(OWNER_CACHE_SLOTS, sizeof(*m->owners));
	err = bindbucket_init(&m->tbs);
	m->tfo = calloc(MONITOR_TFO_SLOTS, sizeof(*m->tfo));
	m->folds = calloc(MONITOR_FOLD_SLOTS, sizeof(*m->folds));
	if (err || !m->table || !m->recent || !m->recent_holders || !m->exe_paths || !m->owners ||
	    !m->tfo || !m->folds ||
	    ring_init(&m->alerts, sizeof(struct pw_alert), cfg->alert_history) ||
	    ring_init(&m->conflicts, sizeof(struct pw_conflict), cfg->conflict_history) ||
	    hold_init(&m->holds)) {
		monitor_free(m);
		return -ENOMEM;
	}
	return 0;
}

void monitor_free(struct pw_monitor *m)
{
	table_free(m->table);
	m->table = NULL;
	free(m->recent);
	m->recent = NULL;
	free(m->recent_holders);
	m->recent_holders = NULL;
	free(m->exe_paths);
	m->exe_paths = NULL;
	free(m->owners);
	m->owners = NULL;
	free(m->tfo);
	m->tfo = NULL;
	free(m->folds);
	m->folds = NULL;
	free(m->kcache);
	m->kcache = NULL;
	free(m->kall);
	m->kall = NULL;
	bindbucket_free(&m->tbs);
	hold_free(&m->holds);
	ring_free(&m->alerts);
	ring_free(&m->conflicts);
}

/*
 * Sharing inside one owner group (same uid and executable) is normal. The
 * executable is compared by identity (device, inode) when both sides know
 * it, by path otherwise.
 */
static int same_group(const struct pw_owner *a, const struct pw_owner *b)
{
	/* an owner nobody could attribute is nobody's group */
	if (!a->pid || !b->pid || a->uid != b->uid)
		return 0;
	if (a->exe_ino && b->exe_ino)
		return a->exe_ino == b->exe_ino && a->exe_dev == b->exe_dev;
	return !strcmp(pw_owner_exe(a), pw_owner_exe(b));
}

int monitor_same_group(const struct pw_owner *a, const struct pw_owner *b)
{
	return same_group(a, b);
}

/* Index of the recent-listener slot of (netns, port). */
static size_t recent_slot(uint32_t netns, uint16_t port)
{
	uint64_t h = ((uint64_t)netns * 0x9e3779b97f4a7c15ULL) ^ (port * 0xff51afd7ed558ccdULL);

	return (h >> 20) % RECENT_SLOTS;
}

void monitor_track(struct pw_monitor *m, uint64_t inode)
{
	__u32 slot = pw_tracked_slot(inode);

	if (m->tracked_fd >= 0 && inode)
		bpf_map_update_elem(m->tracked_fd, &slot, &inode, BPF_ANY);
}

int monitor_is_tracked(const struct pw_monitor *m, uint64_t inode)
{
	__u32 slot = pw_tracked_slot(inode);
	__u64 v = 0;

	return m->tracked_fd >= 0 && inode &&
	       !bpf_map_lookup_elem(m->tracked_fd, &slot, &v) && v == inode;
}

/*
 * protect_match() for o's bind of sk, reading o's cgroup v2 path (a
 * /proc read, ~10 us) only when no rule admits o without it: a cgroup=
 * selector is the only one that needs it. *cgok: 1 when the path was read
 * (or not needed), 0 when o's process could not be read (gone).
 */
static struct pw_protect_rule *match_owner(const struct pw_protect *p, const struct pw_sock *sk,
					   const struct pw_owner *o, int *allowed, int *cgok)
{
	struct pw_protect_rule *r = protect_match(p, sk, o, NULL, allowed);
	char cg[512];

	*cgok = 1;
	if (!r || *allowed)
		return r;
	*cgok = o->pid && !proc_cgroup_path(o->pid, cg, sizeof(cg));
	return *cgok ? protect_match(p, sk, o, cg, allowed) : r;
}

/* ---- takeover protection (hold.h) */

/* An EPERM event this long after a hold's deadline may still be its refusal. */
#define HOLD_GRACE_NS 1000000000ULL

/*
 * Does the configuration keep e's port for e's owner when e goes away?
 * Mode enforce and takeover not off; then either a protect rule covers e's
 * address and e's owner is one of its owners (an owner whose cgroup cannot
 * be read any more counts as one: a cgroup= selector cannot be checked
 * after its process exited), or takeover = listeners and e is a TCP
 * listener (of its namespace, when it names one). *line: the covering
 * rule's line, 0 when none.
 */
static int hold_covers(const struct pw_protect *p, const struct pw_entry *e, unsigned int *line)
{
	const struct pw_protect_rule *r;
	int allowed, cgok;

	*line = 0;
	if (!p || p->mode != PW_PROTECT_ENFORCE || p->takeover == PW_TAKEOVER_OFF || !e->sk.lport)
		return 0;
	if (protect_in_range(p, e->sk.protocol, e->sk.lport, e->sk.lport)) {
		r = match_owner(p, &e->sk, &e->owner, &allowed, &cgok);
		if (r) {
			*line = r->line;
			return allowed || !cgok;
		}
	}
	return p->takeover == PW_TAKEOVER_LISTENERS && e->sk.protocol == IPPROTO_TCP &&
	       e->sk.state == PW_TCP_LISTEN &&
	       (!p->takeover_netns || p->takeover_netns == e->sk.netns);
}

static void hold_drop(struct pw_monitor *m, struct pw_hold *h)
{
	if (m->on_hold)
		m->on_hold(h, 0, m->on_hold_arg);
	hold_remove(&m->holds, h);
}

/* Another socket of e's owner group that still holds e's port (a listener for TCP). */
struct group_scan {
	const struct pw_entry *e;
	int found;
};

static int scan_group(struct pw_entry *h, void *arg)
{
	struct group_scan *s = arg;

	if (h->sk.inode == s->e->sk.inode || !same_group(&h->owner, &s->e->owner) ||
	    (h->sk.protocol == IPPROTO_TCP && h->sk.state != PW_TCP_LISTEN))
		return 0;
	s->found = 1;
	return 1;
}

/*
 * e, a TCP listener or a bound UDP socket, went away at now: keep its port
 * for its owner group (uid and executable) until the takeover window ends,
 * when the configuration asks for it and the group has no other socket
 * there. When PW_PROTECT_MAX_HOLDS are in use, hold_victim() makes room
 * (a listener's hold never ends a protect rule's), counted in holds.
 */
static void hold_departure(struct pw_monitor *m, const struct pw_entry *e, uint64_t now)
{
	struct group_scan s = { .e = e };
	struct pw_hold *h;
	unsigned int line;

	if (!e->owner.pid || !e->owner.exe_ino || !hold_covers(m->cfg.protect, e, &line))
		return;
	table_foreach_port(m->table, e->sk.netns, e->sk.protocol, e->sk.lport, scan_group, &s);
	if (s.found)
		return;
	h = hold_get(&m->holds, e->sk.netns, e->sk.protocol, e->sk.lport);
	if (!h) {
		struct pw_hold *victim = hold_victim(&m->holds, line);

		if (!victim) {
			m->holds.not_kept++;
			return;
		}
		hold_drop(m, victim);
		m->holds.evicted++;
		h = hold_get(&m->holds, e->sk.netns, e->sk.protocol, e->sk.lport);
		if (!h)
			return;
	}
	h->since_ns = now;
	h->until_ns = now + m->cfg.takeover_window_ns;
	h->until_boot_ns = (uint64_t)((int64_t)h->until_ns - m->boot_to_real_ns);
	h->line = line;
	h->refused = 0;
	h->gone = *e;
	h->gone.next_id = h->gone.next_port = NULL;
	if (m->on_hold)
		m->on_hold(h, 1, m->on_hold_arg);
}

void monitor_holds_expire(struct pw_monitor *m, uint64_t now)
{
	for (size_t i = 0; m->holds.n && i < HOLD_SLOTS;) {
		struct pw_hold *h = &m->holds.slot[i];
		unsigned int line = 0;

		if (h->protocol &&
		    (h->until_ns <= now || !hold_covers(m->cfg.protect, &h->gone, &line))) {
			hold_drop(m, h); /* another hold may shift into slot i: look again */
			continue;
		}
		if (h->protocol)
			h->line = line;
		i++;
	}
}

void monitor_listener_gone(struct pw_monitor *m, const struct pw_entry *e, uint64_t now)
{
	struct pw_entry *h;
	size_t i;

	if (e->sk.protocol != IPPROTO_TCP || e->sk.state != PW_TCP_LISTEN)
		return;
	if (m->expected)
		expected_note(m->expected, e, now);
	i = recent_slot(e->sk.netns, e->sk.lport);
	m->recent[i].gone_ns = now;
	m->recent[i].netns = e->sk.netns;
	m->recent[i].port = e->sk.lport;
	h = &m->recent_holders[i];
	*h = *e;
	h->next_id = h->next_port = NULL;
	hold_departure(m, e, now);
}

/* An alert's fields and default message, without id (alert_fill() callers set it). */
static void alert_fill(struct pw_alert *a, const struct rules_alert *ra,
		       const struct pw_entry *holder, const struct pw_entry *contender, int result,
		       uint64_t now)
{
	char addr[PW_ADDRSTRLEN];

	memset(&a->eph, 0, sizeof(a->eph));
	a->has_eph = 0;
	a->fold_count = a->fold_of = a->fold_first_ns = a->fold_last_ns = 0;
	a->fold_nports = a->fold_more = 0;
	a->time_ns = now;
	a->severity = ra->severity;
	a->kind = ra->kind;
	a->reason = ra->reason;
	a->result = result;
	a->holder = *holder;
	a->contender = *contender;
	a->holder.next_id = a->holder.next_port = NULL;
	a->contender.next_id = a->contender.next_port = NULL;
	snprintf(a->message, sizeof(a->message),
		 "%s: pid %u (%s, uid %u) %s %s%s%s:%u/%s held by pid %u (%s, uid %u)",
		 rules_alert_reason_name(ra->reason),
		 contender->owner.pid, contender->owner.comm, contender->owner.uid,
		 result ? "tried to bind" : "bound", contender->sk.family == AF_INET6 ? "[" : "",
		 pw_addr_ntop(contender->sk.family, contender->sk.laddr, addr),
		 contender->sk.family == AF_INET6 ? "]" : "", contender->sk.lport,
		 pw_proto_name(contender->sk.protocol), holder->owner.pid, holder->owner.comm,
		 holder->owner.uid);
}

/* Same owner group, for folding: uid and executable (as same_group(), pids aside). */
static int fold_same_owner(const struct pw_owner *a, const struct pw_owner *b)
{
	if (a->uid != b->uid)
		return 0;
	if (a->exe_ino && b->exe_ino)
		return a->exe_ino == b->exe_ino && a->exe_dev == b->exe_dev;
	return !strcmp(pw_owner_exe(a), pw_owner_exe(b));
}

static struct alert_fold *fold_slot(struct pw_monitor *m, const struct rules_alert *ra,
				    const struct pw_entry *holder, const struct pw_entry *contender)
{
	uint64_t h = (uint64_t)ra->reason * 0x9e3779b97f4a7c15ULL;

	h ^= ((uint64_t)holder->owner.uid << 32 | contender->owner.uid) * 0xff51afd7ed558ccdULL;
	h ^= (holder->owner.exe_ino + 31 * contender->owner.exe_ino + contender->sk.netns) *
	     0xc4ceb9fe1a85ec53ULL;
	return &m->folds[(h >> 24) % MONITOR_FOLD_SLOTS];
}

static int fold_key_is(const struct alert_fold *f, const struct rules_alert *ra,
		       const struct pw_entry *holder, const struct pw_entry *contender)
{
	return f->kind != RULES_KIND_NONE && f->kind == ra->kind && f->reason == ra->reason &&
	       f->netns == contender->sk.netns && fold_same_owner(&f->holder, &holder->owner) &&
	       fold_same_owner(&f->contender, &contender->owner);
}

/*
 * The histories' slots. The oldest entry, about to be overwritten, first
 * lets go of the owners' records it pins (table.h, pw_owner_pin); a new
 * entry pins its owners once it is complete (alert_pin(), conflict_pin()).
 */
static struct pw_alert *alert_push(struct pw_monitor *m)
{
	struct pw_ring *r = &m->alerts;
	struct pw_alert *old;

	if (r->next_id - ring_first_id(r) >= r->cap && (old = ring_get(r, ring_first_id(r))))
		for (size_t i = 0; i < sizeof(old->pins) / sizeof(old->pins[0]); i++)
			pw_owner_unpin(&old->pins[i]);
	return ring_push(r);
}

/* a is complete: pin its owners (its pins are unset: a fresh slot, or a copy's). */
static void alert_pin(struct pw_alert *a)
{
	pw_owner_pin(&a->holder.owner, &a->pins[0]);
	pw_owner_pin(&a->contender.owner, &a->pins[1]);
}

static struct pw_conflict *conflict_push(struct pw_monitor *m)
{
	struct pw_ring *r = &m->conflicts;
	struct pw_conflict *old;

	if (r->next_id - ring_first_id(r) >= r->cap && (old = ring_get(r, ring_first_id(r))))
		for (size_t i = 0; i < sizeof(old->pins) / sizeof(old->pins[0]); i++)
			pw_owner_unpin(&old->pins[i]);
	return ring_push(r);
}

static void conflict_pin(struct pw_conflict *cf)
{
	pw_owner_pin(&cf->contender.owner, &cf->pins[0]);
	for (size_t i = 0; i < cf->nholders && i < PW_MAX_HOLDERS; i++)
		pw_owner_pin(&cf->holders[i].owner, &cf->pins[1 + i]);
}

/*
 * Count one alert raised (sent or folded) by kind, and by kind, reason
 * and severity for the metrics file; values out of range are left out of
 * the breakdowns, as they have no name to be shown under.
 */
static void count_alert(struct pw_monitor *m, enum rules_alert_kind kind,
			enum rules_alert_reason reason, enum rules_severity sev)
{
	if ((unsigned int)kind >= RULES_KIND_COUNT)
		return;
	m->alerts_by_kind[kind]++;
	if ((unsigned int)reason < RULES_REASON_COUNT && (unsigned int)sev < RULES_SEV_COUNT)
		m->stats.alerts_by[kind][reason][sev]++;
}

/* Send the fold's summary when it folded anything, and free the slot. */
static void fold_emit(struct pw_monitor *m, struct alert_fold *f)
{
	struct pw_alert *a;
	char ports[64] = "";
	size_t n = 0;

	if (f->kind != RULES_KIND_NONE && f->count) {
		for (size_t i = 0; i < f->nports && n < sizeof(ports); i++)
			n += (size_t)snprintf(ports + n, sizeof(ports) - n, "%s%u", i ? "," : "",
					      f->ports[i]);
		a = alert_push(m);
		*a = f->last;
		a->id = m->alerts.next_id++;
		a->time_ns = f->last_ns;
		a->fold_count = f->count;
		a->fold_of = f->first_id;
		a->fold_first_ns = f->first_ns;
		a->fold_last_ns = f->last_ns;
		memcpy(a->fold_ports, f->ports, sizeof(a->fold_ports));
		a->fold_nports = f->nports;
		a->fold_more = f->more;
		snprintf(a->message, sizeof(a->message),
			 "%s: %llu more alerts like alert %llu, pid %u (%s, uid %u) against pid %u "
			 "(%s, uid %u), folded in %.1f s, on port%s %s%s",
			 rules_alert_reason_name(f->reason), (unsigned long long)f->count,
			 (unsigned long long)f->first_id,
			 a->contender.owner.pid, a->contender.owner.comm, a->contender.owner.uid,
			 a->holder.owner.pid, a->holder.owner.comm, a->holder.owner.uid,
			 (double)(f->last_ns - f->first_ns) / 1e9, f->nports > 1 || f->more ? "s" : "",
			 ports, f->more ? " and others" : "");
		alert_pin(a);
		if (m->on_alert) /* counted when each was raised */
			m->on_alert(a, m->on_alert_arg);
	}
	f->kind = RULES_KIND_NONE;
	f->count = 0;
}

/*
 * A repeat of an alert that went out less than fold_window_ns ago: count
 * it into that alert's fold and say 1 (nothing to send now). 0: it goes
 * out; the fold it would have joined, if its window is over or its slot is
 * another alert's, is sent first.
 */
static int fold_repeat(struct pw_monitor *m, const struct rules_alert *ra,
		       const struct pw_entry *holder, const struct pw_entry *contender, int result,
		       uint64_t now)
{
	struct alert_fold *f;

	if (!m->cfg.fold_window_ns)
		return 0;
	f = fold_slot(m, ra, holder, contender);
	if (f->kind != RULES_KIND_NONE && fold_key_is(f, ra, holder, contender) &&
	    now - f->start_ns < m->cfg.fold_window_ns) {
		uint16_t port = contender->sk.lport;
		size_t i;

		if (!f->count)
			f->first_ns = now;
		f->count++;
		f->last_ns = now;
		for (i = 0; i < f->nports && f->ports[i] != port; i++)
			;
		if (i == f->nports) {
			if (f->nports < sizeof(f->ports) / sizeof(f->ports[0]))
				f->ports[f->nports++] = port;
			else
				f->more = 1;
		}
		alert_fill(&f->last, ra, holder, contender, result, now);
		f->last.holder.next_id = f->last.holder.next_port = NULL;
		f->last.contender.next_id = f->last.contender.next_port = NULL;
		m->stats.alerts++;
		m->stats.alerts_folded++;
		count_alert(m, ra->kind, ra->reason, ra->severity);
		return 1;
	}
	fold_emit(m, f);
	return 0;
}

/* The alert a opens a fold: its repeats within the window are counted there. */
static void fold_open(struct pw_monitor *m, const struct rules_alert *ra, const struct pw_alert *a)
{
	struct alert_fold *f;

	if (!m->cfg.fold_window_ns)
		return;
	f = fold_slot(m, ra, &a->holder, &a->contender);
	f->kind = a->kind;
	f->reason = a->reason;
	f->netns = a->contender.sk.netns;
	f->holder = a->holder.owner;
	f->contender = a->contender.owner;
	f->first_id = a->id;
	f->start_ns = a->time_ns;
	f->count = 0;
	f->nports = f->more = 0;
}

int monitor_timers_pending(const struct pw_monitor *m)
{
	if (m->holds.n)
		return 1;
	for (size_t i = 0; m->folds && i < MONITOR_FOLD_SLOTS; i++)
		if (m->folds[i].kind != RULES_KIND_NONE)
			return 1;
	return 0;
}

void monitor_fold_flush(struct pw_monitor *m, uint64_t now)
{
	for (size_t i = 0; m->folds && i < MONITOR_FOLD_SLOTS; i++) {
		struct alert_fold *f = &m->folds[i];

		if (f->kind != RULES_KIND_NONE &&
		    (now == UINT64_MAX || now - f->start_ns >= m->cfg.fold_window_ns))
			fold_emit(m, f);
	}
}

/*
 * A new alert in the ring with the default message, neither counted nor
 * announced yet, so that the caller may complete it; then
 * monitor_alert_raise() counts it and hands it to syslog and subscribers.
 * NULL when an allow rule or an ignored port of the configuration
 * (m->cfg.policy) silences it: it is only counted (alerts_silenced), and
 * monitor_alert_raise(m, NULL) does nothing. NULL too when it repeats an
 * alert of the fold window (fold_repeat()), which counts it.
 */
static struct pw_alert *monitor_alert_new(struct pw_monitor *m, const struct rules_alert *ra,
					  const struct pw_entry *holder,
					  const struct pw_entry *contender, int result, uint64_t now)
{
	const struct pw_allow_rule *allow =
		ra->reason == RULES_REASON_PACKET_SNIFFER ?
			policy_silences_owner(m->cfg.policy, PW_ALLOW_SNIFFER, &contender->owner) :
		ra->reason == RULES_REASON_SK_LOOKUP ?
			policy_silences_owner(m->cfg.policy, PW_ALLOW_SK_LOOKUP, &contender->owner) :
			policy_silences(m->cfg.policy, contender, holder);
	struct pw_alert *a;

	if (allow) {
		m->stats.alerts_silenced++;
		if (allow->line)
			log_debug("%s alert on port %u silenced by the allow rule of line %u",
				  rules_alert_reason_name(ra->reason), contender->sk.lport,
				  allow->line);
		return NULL;
	}
	if (fold_repeat(m, ra, holder, contender, result, now))
		return NULL;
	a = alert_push(m);
	alert_fill(a, ra, holder, contender, result, now);
	a->id = m->alerts.next_id++;
	fold_open(m, ra, a);
	return a;
}

/* Count a complete alert and hand it to syslog and the subscribers. */
static void monitor_alert_raise(struct pw_monitor *m, struct pw_alert *a)
{
	if (!a)
		return;
	alert_pin(a);
	m->stats.alerts++;
	count_alert(m, a->kind, a->reason, a->severity);
	if (m->on_alert)
		m->on_alert(a, m->on_alert_arg);
}

static void raise_alert(struct pw_monitor *m, const struct rules_alert *ra,
			const struct pw_entry *holder, const struct pw_entry *contender, int result,
			uint64_t now)
{
	monitor_alert_raise(m, monitor_alert_new(m, ra, holder, contender, result, now));
}

static struct exe_path *exe_slot(struct pw_monitor *m, uint64_t ino, uint32_t dev)
{
	return &m->exe_paths[(ino * 0x9e3779b97f4a7c15ULL ^ dev) % EXE_PATH_SLOTS];
}

/*
 * Owner of an event's caller: pid/uid/comm and the executable's identity
 * from the event, exe path and unit from /proc (or the path cache when the
 * process is already gone). now: the event's CLOCK_REALTIME ns (events of
 * different CPUs arrive slightly out of order: one older than the cached
 * read counts as fresh), which spares a clock read per event (3 % of the
 * daemon's CPU under bind churn).
 */
static void event_owner(struct pw_monitor *m, const struct pw_event *e, struct pw_owner *o,
			uint64_t now)
{
	struct exe_path *slot = exe_slot(m, e->exe_ino, e->exe_dev);
	struct owner_cache *oc = &m->owners[e->pid % OWNER_CACHE_SLOTS];

	if (oc->read_ns && (now < oc->read_ns || now - oc->read_ns < OWNER_CACHE_NS) &&
	    oc->owner.pid == e->pid &&
	    oc->owner.exe_ino == e->exe_ino && oc->owner.exe_dev == e->exe_dev) {
		*o = oc->owner;
	} else {
		memset(o, 0, sizeof(*o));
		if (proc_owner(e->pid, o))
			log_debug("pid %u exited before it could be attributed", e->pid);
		else if (o->exe_ino == e->exe_ino && o->exe_dev == e->exe_dev) {
			/* the cache holds its strings: they outlive the process's sockets */
			strpool_ref(o->exe);
			strpool_ref(o->unit);
			strpool_unref(oc->owner.exe);
			strpool_unref(oc->owner.unit);
			oc->owner = *o;
			oc->read_ns = now;
		}
	}
	/* comm as it was at the call, not as /proc has it now */
	memcpy(o->comm, e->comm, sizeof(o->comm));
	o->comm[sizeof(o->comm) - 1] = '\0';
	o->pid = e->pid;
	o->uid = e->uid;
	o->exe_ino = e->exe_ino;
	o->exe_dev = e->exe_dev;
	if (!e->exe_ino)
		return;
	if (pw_owner_exe(o)[0] && (slot->ino != e->exe_ino || slot->dev != e->exe_dev)) {
		slot->ino = e->exe_ino;
		slot->dev = e->exe_dev;
		snprintf(slot->path, sizeof(slot->path), "%s", pw_owner_exe(o));
	} else if (!pw_owner_exe(o)[0] && slot->ino == e->exe_ino && slot->dev == e->exe_dev) {
		o->exe = strpool_intern(slot->path);
	}
}

/* An owner's socket on the rule's port that overlaps c: the protected_port alert's holder. */
struct owner_scan {
	const struct pw_entry *c;
	const struct pw_protect_rule *r;
	const struct pw_entry *found;
};

static int scan_owner(struct pw_entry *h, void *arg)
{
	struct owner_scan *s = arg;
	char cg[512];

	if (h->sk.inode == s->c->sk.inode || !rules_overlap(&h->sk, &s->c->sk))
		return 0;
	if (!protect_owner_allowed(s->r, &h->owner,
				   h->owner.pid && !proc_cgroup_path(h->owner.pid, cg, sizeof(cg)) ?
					   cg : NULL))
		return 0;
	s->found = h;
	return 1;
}

/*
 * A bind (result 0) or a failed one (result: its errno) of c, a protected
 * address in mode monitor or enforce: count it under its rule, and when
 * the caller is not an owner raise hijack_attempt/protected_port, critical,
 * with an owner's overlapping socket as the holder when one is bound.
 * EPERM in mode enforce is the kernel's refusal (enforced). Returns 1 when
 * the bind was a non-owner's, so that the caller raises nothing else
 * about it, with the rule's line in *line; or when takeover protection
 * refused it (hold_refused(), the hold in *held); 0 when the address is
 * not protected or c is an owner's.
 */
/*
 * An EPERM bind of a held port (hold.h) by someone not the hold's owner:
 * the kernel's takeover protection refused it. Count it and raise
 * hijack_attempt/takeover (enforced, result EPERM) with the departed
 * socket as the holder. Returns 1 and the hold in *held, or 0.
 */
static int hold_refused(struct pw_monitor *m, const struct pw_entry *c, int result, uint64_t now,
			const struct pw_hold **held)
{
	struct rules_alert ra = { RULES_KIND_HIJACK_ATTEMPT, RULES_REASON_TAKEOVER,
				  RULES_SEV_CRITICAL };
	char addr[PW_ADDRSTRLEN], t1[40], t2[40];
	struct pw_hold *x;
	struct pw_alert *a;

	if (result != EPERM || m->cfg.protect->mode != PW_PROTECT_ENFORCE || !m->holds.n)
		return 0;
	x = hold_find(&m->holds, c->sk.netns, c->sk.protocol, c->sk.lport);
	if (!x || hold_is_owner(x, &c->owner) || now > x->until_ns + HOLD_GRACE_NS)
		return 0;
	x->refused++;
	*held = x;
	if (x->gone.owner.uid == c->owner.uid)
		ra.severity = RULES_SEV_WARNING;
	a = monitor_alert_new(m, &ra, &x->gone, c, result, now);
	if (!a)
		return 1; /* silenced or folded: counted */
	a->enforced = 1;
	a->protect_line = x->line;
	snprintf(a->message, sizeof(a->message),
		 "takeover: pid %u (%s, uid %u, %s) was refused %s%s%s:%u/%s, kept until %s for "
		 "uid %u (%s), whose socket went away at %s (takeover protection)",
		 c->owner.pid, c->owner.comm, c->owner.uid,
		 *pw_owner_exe(&c->owner) ? pw_owner_exe(&c->owner) : "?",
		 c->sk.family == AF_INET6 ? "[" : "", pw_addr_ntop(c->sk.family, c->sk.laddr, addr),
		 c->sk.family == AF_INET6 ? "]" : "", c->sk.lport, pw_proto_name(c->sk.protocol),
		 pw_time_rfc3339(x->until_ns, t1), x->gone.owner.uid,
		 *pw_owner_exe(&x->gone.owner) ? pw_owner_exe(&x->gone.owner) : "?",
		 pw_time_rfc3339(x->since_ns, t2));
	monitor_alert_raise(m, a);
	return 1;
}

static int protect_bind(struct pw_monitor *m, const struct pw_entry *c, int result,
			uint64_t now, unsigned int *line, const struct pw_hold **held)
{
	struct pw_protect *p = m->cfg.protect;
	struct rules_alert ra = { RULES_KIND_HIJACK_ATTEMPT, RULES_REASON_PROTECTED_PORT,
				  RULES_SEV_CRITICAL };
	struct owner_scan s = { .c = c };
	struct pw_entry none; /* zeroed only when used: every bind comes through here */
	struct pw_protect_rule *r;
	char addr[PW_ADDRSTRLEN], eb[16];
	struct pw_alert *a;
	int allowed, cgok;

	*line = 0;
	*held = NULL;
	if (!p || p->mode == PW_PROTECT_OFF || !c->sk.lport)
		return 0;
	if (!protect_in_range(p, c->sk.protocol, c->sk.lport, c->sk.lport))
		return hold_refused(m, c, result, now, held);
	r = match_owner(p, &c->sk, &c->owner, &allowed, &cgok);
	if (!r)
		return hold_refused(m, c, result, now, held);
	if (allowed) {
		if (!result)
			r->n.allowed++;
		return hold_refused(m, c, result, now, held);
	}
	*line = r->line;
	if (result == EPERM && p->mode == PW_PROTECT_ENFORCE)
		r->n.refused++;
	s.r = r;
	table_foreach_port(m->table, c->sk.netns, c->sk.protocol, c->sk.lport, scan_owner, &s);
	if (!s.found)
		memset(&none, 0, sizeof(none));
	a = monitor_alert_new(m, &ra, s.found ? s.found : &none, c, result, now);
	if (!a)
		return 1; /* silenced or folded: counted */
	r->n.alerted++;
	a->enforced = result == EPERM && p->mode == PW_PROTECT_ENFORCE;
	a->protect_line = r->line;
	snprintf(a->message, sizeof(a->message),
		 "protected_port: pid %u (%s, uid %u, %s) %s %s%s%s:%u/%s, protected for other "
		 "owners by the rule of line %u%s%s%s",
		 c->owner.pid, c->owner.comm, c->owner.uid,
		 pw_owner_exe(&c->owner)[0] ? pw_owner_exe(&c->owner) : "?",
		 a->enforced ? "was refused" : result ? "failed to bind" : "bound",
		 c->sk.family == AF_INET6 ? "[" : "",
		 pw_addr_ntop(c->sk.family, c->sk.laddr, addr),
		 c->sk.family == AF_INET6 ? "]" : "", c->sk.lport, pw_proto_name(c->sk.protocol),
		 r->line, result && !a->enforced ? " (" : "",
		 result && !a->enforced ? pw_errno_name(result, eb) : "",
		 result && !a->enforced ? ")" : "");
	monitor_alert_raise(m, a);
	return 1;
}

struct bind_scan {
	const struct pw_entry *c;
	const struct pw_entry *worst;
	struct rules_alert alert;
	int live_overlap; /* some other live socket overlaps c, whatever its group */
	size_t others;    /* other sockets the table holds on the port */
};

static int scan_bind(struct pw_entry *h, void *arg)
{
	struct bind_scan *s = arg;
	struct rules_alert ra;

	if (h->sk.inode == s->c->sk.inode)
		return 0;
	s->others++;
	if (rules_overlap(&h->sk, &s->c->sk))
		s->live_overlap = 1;
	if (same_group(&h->owner, &s->c->owner))
		return 0;
	/* an unattributed holder: its socket's creator uid stands for its owner's */
	if (!rules_classify_bind(&s->c->sk, s->c->owner.uid, &h->sk,
				 h->owner.pid ? h->owner.uid : h->sk.sk_uid, &ra))
		return 0;
	/* the most severe; among equals the first holder, which is the one usurped */
	if (!s->worst || ra.severity > s->alert.severity ||
	    (ra.severity == s->alert.severity &&
	     (h->since_ns < s->worst->since_ns ||
	      (h->since_ns == s->worst->since_ns && h->sk.inode < s->worst->sk.inode)))) {
		s->worst = h;
		s->alert = ra;
	}
	return 0;
}

/* The last namespace walk (kcache), as bindbucket.h takes it. */
static struct bindbucket_walk last_walk(const struct pw_monitor *m)
{
	return (struct bindbucket_walk){ .socks = m->kcache, .n = m->kcache_n,
					 .netns = m->kcache_netns, .time_ns = m->kcache_ns };
}

/* A successful bind: detection against the holders of the port, then insert. */
static void on_bind_ok(struct pw_monitor *m, const struct pw_event *e, uint64_t now)
{
	struct pw_entry c = { .sk = e->sk, .since_ns = now, .seen_gen = m->gen,
			      .udp_tail = (uint8_t)rules_udp_chain_tail(&e->sk) };
	struct bind_scan s = { .c = &c };
	struct bindbucket_walk w = last_walk(m);
	const struct pw_hold *held;
	struct recent_listener *r;
	const struct pw_entry *gone;
	unsigned int pline;
	size_t i;

	event_owner(m, e, &c.owner, now);
	if (m->holds.n) {
		/* the owner is back (or the hold is over): the port is no longer kept */
		struct pw_hold *x = hold_find(&m->holds, c.sk.netns, c.sk.protocol, c.sk.lport);

		if (x && (hold_is_owner(x, &c.owner) || x->until_ns <= now))
			hold_drop(m, x);
	}
	table_foreach_port(m->table, c.sk.netns, c.sk.protocol, c.sk.lport, scan_bind, &s);
	i = recent_slot(c.sk.netns, c.sk.lport);
	r = &m->recent[i];
	gone = &m->recent_holders[i];
	if (protect_bind(m, &c, 0, now, &pline, &held)) {
		/* a non-owner on a protected address: that says it all */
		if (!s.live_overlap && r->netns == c.sk.netns && r->port == c.sk.lport)
			r->gone_ns = 0;
	} else if (s.worst) {
		raise_alert(m, &s.alert, s.worst, &c, 0, now);
	} else if (!s.live_overlap && c.sk.protocol == IPPROTO_TCP && r->gone_ns &&
		   r->netns == c.sk.netns && r->port == c.sk.lport &&
		   now - r->gone_ns <= m->cfg.takeover_window_ns && rules_overlap(&c.sk, &gone->sk)) {
		if (!same_group(&gone->owner, &c.owner)) {
			struct rules_alert ra = {
				.kind = RULES_KIND_HIJACK_ATTEMPT,
				.reason = RULES_REASON_TAKEOVER,
				.severity = gone->owner.uid != c.owner.uid ? RULES_SEV_CRITICAL :
									     RULES_SEV_WARNING,
			};

			raise_alert(m, &ra, gone, &c, 0, now);
		}
		r->gone_ns = 0; /* the port has a holder again: one takeover per departure */
	}
	bindbucket_join(&m->tbs, &c.sk, s.others != 0, 0, &w, now);
	if (!e->req_port)
		ephemeral_end(&m->episodes, c.sk.netns);
	{
		struct pw_entry *stored = table_upsert(m->table, &c, 0);

		if (!stored)
			log_warn("table insert of inode %llu", (unsigned long long)c.sk.inode);
		else
			monitor_name_device(m, stored);
	}
}

struct conflict_scan {
	struct pw_conflict *cf;
	const struct pw_sock *c;
	int four_tuple;
	/*
	 * c's bind failed with a reuseport program on its still unbound
	 * socket: a group of its own, so SO_REUSEPORT shared nothing
	 * (rules_query.own_group); plain is c without SO_REUSEPORT.
	 */
	int own_group;
	struct pw_sock plain;
};

/* Keep the holders that refuse c, highest-ranked rule first. */
static void add_holder(struct conflict_scan *s, const struct pw_entry *h, enum rules_rule rule)
{
	struct pw_conflict *cf = s->cf;
	size_t i, n = cf->nholders;

	if (cf->rule == RULES_RULE_NONE || rules_rule_rank(rule) > rules_rule_rank(cf->rule))
		cf->rule = rule;
	for (i = 0; i < n; i++)
		if (cf->holders[i].sk.inode == h->sk.inode && h->sk.inode)
			return;
	if (n == PW_MAX_HOLDERS)
		return;
	/* a holder with a higher-ranked rule goes first */
	i = n;
	if (n && rules_rule_rank(rule) > rules_rule_rank(rules_block_rule(s->c, &cf->holders[0].sk))) {
		memmove(&cf->holders[1], &cf->holders[0], n * sizeof(cf->holders[0]));
		i = 0;
	}
	cf->holders[i] = *h;
	cf->holders[i].next_id = cf->holders[i].next_port = NULL;
	cf->nholders++;
}

static int scan_conflict(struct pw_entry *h, void *arg)
{
	struct conflict_scan *s = arg;

	if (h->sk.inode && h->sk.inode == s->c->inode)
		return 0;
	if (s->four_tuple) {
		if (h->sk.rport == s->c->rport && rules_overlap(&h->sk, s->c) &&
		    !memcmp(h->sk.raddr, s->c->raddr, 16))
			add_holder(s, h, RULES_RULE_FOUR_TUPLE);
		return 0;
	}
	if (rules_blocks(s->c, &h->sk))
		add_holder(s, h, rules_block_rule(s->c, &h->sk));
	else if (s->own_group && rules_blocks(&s->plain, &h->sk))
		add_holder(s, h, RULES_RULE_REUSEPORT_OWN_GROUP);
	return 0;
}

/* Append sk to a growing array; 0 or -ENOMEM. */
static int sock_push(struct pw_sock **v, size_t *n, size_t *cap, const struct pw_sock *sk)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;
		struct pw_sock *nv = realloc(*v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = ncap;
	}
	(*v)[(*n)++] = *sk;
	return 0;
}

/* Keep every socket of the walked netns, and apart those the table does not hold. */
static int kcache_add(const struct pw_sock *sk, void *arg)
{
	struct pw_monitor *m = arg;

	if (sock_push(&m->kall, &m->kall_n, &m->kall_cap, sk))
		return -ENOMEM;
	if (sk->inode && table_lookup(m->table, sk->netns, sk->inode))
		return 0;
	return sock_push(&m->kcache, &m->kcache_n, &m->kcache_cap, sk);
}

const struct pw_sock *monitor_kernel_all(const struct pw_monitor *m, uint32_t netns, size_t *n)
{
	if (!m->kcache_ns || m->kcache_netns != netns || !m->kall_ok) {
		*n = 0;
		return NULL;
	}
	*n = m->kall_n;
	return m->kall;
}

const struct rules_tb *monitor_tb(const struct pw_monitor *m, uint32_t netns, uint16_t port)
{
	return bindbucket_get(&m->tbs, netns, port);
}

void monitor_tb_forget(struct pw_monitor *m, uint32_t netns, uint16_t port)
{
	bindbucket_forget(&m->tbs, netns, port);
}

void monitor_tb_sweep(struct pw_monitor *m, uint64_t now)
{
	bindbucket_sweep(&m->tbs, m->table, now);
}

int monitor_ports(struct pw_monitor *m, uint32_t netns, struct rules_ports *p)
{
	return sysctl_read_ports(m->snap, netns, p);
}

int monitor_sysctl_int(struct pw_monitor *m, uint32_t netns, const char *name, int def)
{
	return sysctl_read_int(m->snap, netns, name, def);
}

/*
 * Holders the table does not have (TIME_WAIT entries, sockets not yet
 * seen), from the kernel: one namespace walk, reused for KCACHE_NS.
 */
const struct pw_sock *monitor_kernel_extra(struct pw_monitor *m, uint32_t netns, uint64_t now,
					   uint64_t max_age_ns, size_t *n)
{
	int ret;

	if (!m->snap) {
		*n = 0;
		return NULL;
	}
	if (!m->kcache_ns || m->kcache_netns != netns || now < m->kcache_ns ||
	    now - m->kcache_ns > max_age_ns) {
		m->kcache_n = 0;
		m->kall_n = 0;
		m->kcache_netns = netns;
		m->kcache_ns = now;
		ret = snap_walk_netns(m->snap, netns, kcache_add, m);
		m->kall_ok = ret == 0;
		if (ret < 0)
			log_debug("netns %u walk: %s", netns, strerror(-ret));
	}
	*n = m->kcache_n;
	return m->kcache;
}

static void scan_kernel(struct pw_monitor *m, struct conflict_scan *s, uint64_t now)
{
	const struct pw_sock *c = s->c;
	size_t n;
	const struct pw_sock *v = monitor_kernel_extra(m, c->netns, now, KCACHE_NS, &n);

	for (size_t i = 0; i < n; i++) {
		struct pw_entry h = { .sk = v[i] };

		if (h.sk.lport == c->lport && h.sk.protocol == c->protocol)
			scan_conflict(&h, s);
	}
}

/*
 * A connect() or bind(port 0) found no free port: fill the conflict's
 * details (ephemeral_conflict()), and raise one resource/
 * ephemeral_exhausted alert per episode.
 */
static void on_ephemeral(struct pw_monitor *m, struct pw_conflict *cf, enum rules_op op,
			 uint64_t now)
{
	struct rules_alert ra = { RULES_KIND_RESOURCE, RULES_REASON_EPHEMERAL_EXHAUSTED,
				  RULES_SEV_WARNING };
	const struct pw_sock *c = &cf->contender.sk;
	struct rules_ports *ports = malloc(sizeof(*ports));
	const struct pw_sock *v = NULL;
	size_t n = 0;
	struct pw_entry top;
	struct pw_alert *a;
	int starts;

	if (ports && monitor_ports(m, c->netns, ports)) {
		free(ports);
		ports = NULL;
	}
	if (ports) /* the range is known: count the kernel's sockets in it too */
		v = monitor_kernel_extra(m, c->netns, now, KCACHE_NS, &n);
	starts = ephemeral_conflict(&m->episodes, cf, op, ports, m->table, v, n, now, &top);
	free(ports);
	if (!starts)
		return;
	a = monitor_alert_new(m, &ra, &top, &cf->contender, cf->err, now);
	if (!a)
		return; /* silenced by the configuration, or folded: counted */
	a->has_eph = 1;
	a->eph = cf->eph;
	ephemeral_message(a->message, sizeof(a->message), cf, op);
	monitor_alert_raise(m, a);
}

/*
 * A refused bind or listen whose caller is the port's expected owner (the
 * owner group of its last listener, expected.h), refused by a socket of
 * another owner group: the port was taken while its service was away.
 * hijack_attempt/squatted, critical, with that socket as the holder (the
 * suspect); it replaces the `blocked` alert. Returns 1 when it applied.
 */
static int squatted(struct pw_monitor *m, const struct pw_conflict *cf, uint64_t now)
{
	const struct pw_entry *ce = &cf->contender;
	const struct expected_owner *x = expected_get(m->expected, ce->sk.netns,
						      ce->sk.protocol, ce->sk.lport);
	struct rules_alert ra = { RULES_KIND_HIJACK_ATTEMPT, RULES_REASON_SQUATTED,
				  RULES_SEV_CRITICAL };
	char addr[PW_ADDRSTRLEN], t[32];
	const struct pw_entry *h = NULL;
	struct pw_alert *a;

	if (!x || !expected_is_owner(x, &ce->owner))
		return 0;
	for (size_t i = 0; i < cf->nholders && !h; i++)
		if (cf->holders[i].owner.pid && !same_group(&cf->holders[i].owner, &ce->owner))
			h = &cf->holders[i];
	if (!h)
		return 0;
	a = monitor_alert_new(m, &ra, h, ce, cf->err, now);
	if (a)
		snprintf(a->message, sizeof(a->message),
			 "squatted: pid %u (%s, uid %u), whose program last listened on "
			 "%s%s%s:%u/%s (until %s), was refused it: pid %u (%s, uid %u) took the "
			 "port in between and is the suspect",
			 ce->owner.pid, ce->owner.comm, ce->owner.uid,
			 ce->sk.family == AF_INET6 ? "[" : "",
			 pw_addr_ntop(ce->sk.family, ce->sk.laddr, addr),
			 ce->sk.family == AF_INET6 ? "]" : "", ce->sk.lport,
			 pw_proto_name(ce->sk.protocol), pw_time_rfc3339(x->gone_ns, t),
			 h->owner.pid, h->owner.comm, h->owner.uid);
	monitor_alert_raise(m, a);
	return 1;
}

/* A bind/listen/connect that failed with EADDRINUSE or EADDRNOTAVAIL. */
static void on_conflict(struct pw_monitor *m, const struct pw_event *e, enum rules_op op,
			uint64_t now)
{
	struct pw_conflict *cf = conflict_push(m);
	struct conflict_scan s = { .cf = cf };
	struct pw_entry *ce = &cf->contender;
	char what[160], addr[PW_ADDRSTRLEN], holder_text[PW_MSG_LEN], eb[16];
	int err = -e->err, protected;
	const struct pw_hold *held = NULL;
	unsigned int pline = 0;

	cf->id = m->conflicts.next_id++;
	cf->time_ns = now;
	cf->op = op;
	cf->err = err;
	ce->sk = e->sk;
	ce->since_ns = now;
	event_owner(m, e, &ce->owner, now);
	if (op == RULES_OP_BIND) {
		/* the socket stayed unbound: what was asked for is the address */
		memset(ce->sk.laddr, 0, sizeof(ce->sk.laddr));
		memcpy(ce->sk.laddr, e->req_addr, e->sk.family == AF_INET6 ? 16 : 4);
		ce->sk.lport = e->req_port;
		ce->sk.state = PW_TCP_CLOSE;
	} else if (op == RULES_OP_LISTEN) {
		ce->sk.state = PW_TCP_LISTEN;
	}
	s.c = &ce->sk;
	s.four_tuple = op == RULES_OP_CONNECT;
	s.own_group = op == RULES_OP_BIND && ce->sk.reuseport && ce->sk.reuseport_prog;
	s.plain = ce->sk;
	s.plain.reuseport = 0;
	/* a non-owner's bind of a protected address: its own alert, no `blocked` */
	protected = op == RULES_OP_BIND && protect_bind(m, ce, err, now, &pline, &held);

	if (op == RULES_OP_BIND && err == EPERM) {
		/*
		 * only reported for protected or held ports in mode enforce
		 * (monitor_handle_event()); a hold's departed socket is the
		 * holder: the owner the port is kept for
		 */
		cf->rule = protected ? RULES_RULE_PROTECTED : RULES_RULE_CGROUP_PROGRAM;
		cf->protect_line = pline;
		if (held) {
			cf->held_until_ns = held->until_ns;
			cf->holders[0] = held->gone;
			cf->holders[0].next_id = cf->holders[0].next_port = NULL;
			cf->nholders = 1;
		}
	} else if (op == RULES_OP_BIND && err == EADDRNOTAVAIL) {
		cf->rule = RULES_RULE_NO_LOCAL_ADDRESS;
	} else if (op == RULES_OP_BIND && err == EACCES) {
		/*
		 * __inet_bind(), __inet6_bind(): a privileged port without the
		 * capability; above the namespace's limit an LSM refused it
		 * (security_socket_bind()), which no socket explains.
		 */
		int prot_sock = e->sk.bind_prot_sock ?
					(int)(e->sk.bind_prot_sock - 1) : /* read at the bind */
					monitor_sysctl_int(m, ce->sk.netns,
							   "net/ipv4/ip_unprivileged_port_start", 1024);

		cf->rule = ce->sk.lport && ce->sk.lport < prot_sock ? RULES_RULE_PRIVILEGED_PORT :
								      RULES_RULE_UNKNOWN_HOLDER;
	} else if ((op == RULES_OP_CONNECT && !e->bound_before) ||
		   (op == RULES_OP_BIND && !e->req_port)) {
		/* the kernel chose the port and found none free */
		cf->rule = RULES_RULE_EPHEMERAL_EXHAUSTED;
		on_ephemeral(m, cf, op, now);
	} else {
		table_foreach_port(m->table, ce->sk.netns, ce->sk.protocol, ce->sk.lport,
				   scan_conflict, &s);
		if (!cf->nholders && m->snap)
			scan_kernel(m, &s, now);
		if (cf->rule == RULES_RULE_NONE)
			cf->rule = op == RULES_OP_CONNECT ? RULES_RULE_FOUR_TUPLE :
							    RULES_RULE_UNKNOWN_HOLDER;
	}

	snprintf(what, sizeof(what), "%s %s%s%s:%u/%s by pid %u (%s, uid %u) failed with %s",
		 rules_op_name(op), ce->sk.family == AF_INET6 ? "[" : "",
		 pw_addr_ntop(ce->sk.family, ce->sk.laddr, addr),
		 ce->sk.family == AF_INET6 ? "]" : "", ce->sk.lport,
		 pw_proto_name(ce->sk.protocol), ce->owner.pid, ce->owner.comm, ce->owner.uid,
		 pw_errno_name(err, eb));
	if (held)
		hold_explain(holder_text, sizeof(holder_text), held);
	else
		rules_explain(holder_text, sizeof(holder_text), cf->rule,
			      cf->nholders ? &cf->holders[0] : NULL);
	if (cf->protect_line) {
		size_t used = strlen(holder_text);

		snprintf(holder_text + used, sizeof(holder_text) - used,
			 held ? " (the port's protect rule: line %u)" :
				" (the protect rule of line %u)", cf->protect_line);
	}
	snprintf(cf->explanation, sizeof(cf->explanation), "%s: %s", what, holder_text);
	conflict_pin(cf);
	m->stats.conflicts++;
	log_debug("conflict: %s", cf->explanation);

	/*
	 * Refused across uids: a blocked hijack attempt, whichever of the
	 * refusing sockets belongs to another uid (the caller's own may be
	 * listed first, e.g. one it made before it changed uid); that socket
	 * is the alert's holder.
	 */
	if (err == EADDRINUSE && op != RULES_OP_CONNECT && !protected && squatted(m, cf, now))
		return;
	if (err == EADDRINUSE && op != RULES_OP_CONNECT && !protected) {
		for (size_t i = 0; i < cf->nholders; i++) {
			const struct pw_entry *h = &cf->holders[i];

			if (h->owner.pid && h->owner.uid != ce->owner.uid) {
				struct rules_alert ra = { RULES_KIND_HIJACK_ATTEMPT,
							  RULES_REASON_BLOCKED, RULES_SEV_NOTICE };

				raise_alert(m, &ra, h, ce, err, now);
				break;
			}
		}
	}
}

/* The reuseport group of a steering socket, and the first foreign member found. */
struct steer_scan {
	const struct pw_entry *steerer;
	const struct pw_entry *foreign;
};

/*
 * Would h be in the same SO_REUSEPORT group as s->steerer? The kernel
 * groups sockets of one port that both have SO_REUSEPORT, one creator uid,
 * one family and IPV6_V6ONLY setting and the same local address (not a
 * wildcard match): udp_reuseport_add_sock() in net/ipv4/udp.c and
 * inet_reuseport_add_sock() in net/ipv4/inet_hashtables.c, which takes
 * listeners only. (Device binding is not modelled, as in rules.h.)
 */
static int steer_member(struct pw_entry *h, void *arg)
{
	struct steer_scan *s = arg;
	const struct pw_sock *a = &s->steerer->sk, *b = &h->sk;

	if (h == s->steerer || !b->reuseport || b->sk_uid != a->sk_uid ||
	    b->family != a->family || b->v6only != a->v6only || memcmp(b->laddr, a->laddr, 16) ||
	    (b->protocol == IPPROTO_TCP && b->state != PW_TCP_LISTEN))
		return 0;
	if (same_group(&h->owner, &s->steerer->owner))
		return 0;
	s->foreign = h;
	return 1;
}

/*
 * A BPF program was attached to h's SO_REUSEPORT group (SO_ATTACH_REUSEPORT_
 * CBPF/EBPF; reuseport_attach_prog() keeps it in the group, where
 * reuseport_select_sock() runs it for every datagram or connection): when
 * the group holds another owner group's sockets, h's owner now decides who
 * of them receives the traffic. Critical: hijack_attempt/reuseport_steer,
 * the foreign member as the holder and h as the contender.
 */
static void steer_check(struct pw_monitor *m, const struct pw_entry *h, uint64_t now)
{
	struct steer_scan s = { .steerer = h };

	if (!h->sk.reuseport || !h->sk.reuseport_prog ||
	    (h->sk.protocol == IPPROTO_TCP && h->sk.state != PW_TCP_LISTEN))
		return;
	table_foreach_port(m->table, h->sk.netns, h->sk.protocol, h->sk.lport, steer_member, &s);
	if (s.foreign) {
		struct rules_alert ra = { RULES_KIND_HIJACK_ATTEMPT, RULES_REASON_REUSEPORT_STEER,
					  RULES_SEV_CRITICAL };
		struct pw_alert *a = monitor_alert_new(m, &ra, s.foreign, h, 0, now);
		char addr[PW_ADDRSTRLEN];

		if (a)
			snprintf(a->message, sizeof(a->message),
				 "reuseport_steer: pid %u (%s, uid %u) attached a BPF program to the "
				 "SO_REUSEPORT group of %s%s%s:%u/%s, which now picks the member "
				 "that receives each %s, pid %u (%s, uid %u) among them",
				 h->owner.pid, h->owner.comm, h->owner.uid,
				 h->sk.family == AF_INET6 ? "[" : "",
				 pw_addr_ntop(h->sk.family, h->sk.laddr, addr),
				 h->sk.family == AF_INET6 ? "]" : "", h->sk.lport,
				 pw_proto_name(h->sk.protocol),
				 h->sk.protocol == IPPROTO_TCP ? "connection" : "datagram",
				 s.foreign->owner.pid, s.foreign->owner.comm, s.foreign->owner.uid);
		monitor_alert_raise(m, a);
	}
}

/* Update a held socket from an event, or adopt it when the table missed it. */
struct devname_call {
	uint32_t ifindex;
	char name[IF_NAMESIZE];
};

static int devname_fn(void *arg)
{
	struct devname_call *d = arg;

	return if_indextoname(d->ifindex, d->name) ? 0 : -errno;
}

void monitor_name_device(struct pw_monitor *m, struct pw_entry *e)
{
	struct devname_call d = { .ifindex = e->sk.bound_dev_if };
	int err;

	if (!e->sk.bound_dev_if) {
		e->device[0] = '\0';
		e->device_ifindex = 0;
		return;
	}
	if (e->device_ifindex == e->sk.bound_dev_if)
		return;
	e->device_ifindex = e->sk.bound_dev_if;
	err = m->snap ? snap_netns_call(m->snap, e->sk.netns, devname_fn, &d) : devname_fn(&d);
	if (err) {
		log_debug("netns %u: the name of device %u: %s", e->sk.netns, d.ifindex,
			  strerror(-err));
		e->device[0] = '\0';
		return;
	}
	snprintf(e->device, sizeof(e->device), "%s", d.name);
}

static struct pw_entry *update_held(struct pw_monitor *m, const struct pw_event *e, uint64_t now)
{
	struct pw_entry *h = table_lookup(m->table, e->sk.netns, e->sk.inode);
	struct pw_entry n;

	if (h) {
		table_update_sock(m->table, h, &e->sk);
		monitor_name_device(m, h);
		return h;
	}
	if (!e->sk.inode || !e->sk.lport)
		return NULL;
	/* built only here: zeroing 528 bytes for every listen showed in profiles */
	n = (struct pw_entry){ .sk = e->sk, .since_ns = now, .seen_gen = m->gen,
			       .udp_tail = (uint8_t)rules_udp_chain_tail(&e->sk) };
	event_owner(m, e, &n.owner, now);
	monitor_track(m, e->sk.inode);
	{
		struct pw_entry *stored = table_upsert(m->table, &n, 0);

		if (stored)
			monitor_name_device(m, stored);
	}
	return h;
}

static struct tfo_pending *tfo_slot(struct pw_monitor *m, uint64_t inode)
{
	return &m->tfo[(inode * 0x9e3779b97f4a7c15ULL >> 32) % MONITOR_TFO_SLOTS];
}

/*
 * A TCP Fast Open connect began (event.h): remember its caller. A slot
 * taken by an older connect that never completed is reused; one whose
 * handshake completes after losing its slot is adopted at the next
 * reconciliation instead.
 */
static void tfo_begin(struct pw_monitor *m, const struct pw_event *e, uint64_t now)
{
	struct tfo_pending *p = tfo_slot(m, e->sk.inode);

	if (!e->sk.inode)
		return;
	p->netns = e->sk.netns;
	p->inode = e->sk.inode;
	event_owner(m, e, &p->owner, now);
}

/* Its handshake completed: the socket has its port, and is a holder. */
static void tfo_established(struct pw_monitor *m, const struct pw_event *e, uint64_t now)
{
	struct tfo_pending *p = tfo_slot(m, e->sk.inode);
	struct pw_entry n;

	if (!e->sk.inode || p->inode != e->sk.inode || p->netns != e->sk.netns ||
	    !e->sk.lport)
		return;
	n = (struct pw_entry){ .sk = e->sk, .owner = p->owner, .since_ns = now,
			       .seen_gen = m->gen };
	n.sk.state = e->new_state;
	p->inode = 0;
	{
		struct pw_entry *stored = table_upsert(m->table, &n, 0);

		if (stored)
			monitor_name_device(m, stored);
	}
}

/*
 * An EPERM bind that portwatch's own cgroup/bind program may have refused:
 * mode enforce and a protected or held port (on_conflict() then checks the
 * owner).
 */
static int protect_refusal(const struct pw_monitor *m, const struct pw_event *e)
{
	const struct pw_protect *p = m->cfg.protect;

	return p && p->mode == PW_PROTECT_ENFORCE && e->req_port &&
	       (protect_in_range(p, e->sk.protocol, e->req_port, e->req_port) ||
		hold_find(&m->holds, e->sk.netns, e->sk.protocol, e->req_port));
}

/* A failed call on a port the configuration ignores (its conflict is only counted). */
static int conflict_ignored(const struct pw_monitor *m, const struct pw_event *e)
{
	uint16_t port = e->type == PW_EV_BIND ? e->req_port : e->sk.lport;

	return (e->err == -EADDRINUSE || e->err == -EADDRNOTAVAIL ||
		(e->type == PW_EV_BIND && e->err == -EACCES)) &&
	       port && policy_port_ignored(m->cfg.policy, port);
}

/*
 * The slot of own_group[] holding (netns, inode), or -1. Every bind asks
 * (own_group_forget()), and the slots are nearly always all empty: no
 * scan then (the 4.6 KB scan was 5 % of the daemon's CPU under churn).
 */
static int own_group_index(const struct pw_monitor *m, uint32_t netns, uint64_t inode)
{
	for (int i = 0; inode && m->own_group_n && i < MONITOR_OWN_GROUP_SLOTS; i++)
		if (m->own_group[i].inode == inode && m->own_group[i].netns == netns)
			return i;
	return -1;
}

const struct pw_sock *monitor_own_group(const struct pw_monitor *m, uint32_t netns,
					uint64_t inode)
{
	int i = own_group_index(m, netns, inode);

	return i < 0 ? NULL : &m->own_group[i];
}

/* An unbound socket attached a reuseport program: it has a group of its own. */
static void own_group_note(struct pw_monitor *m, const struct pw_sock *sk)
{
	int i = own_group_index(m, sk->netns, sk->inode);

	if (!sk->inode)
		return;
	if (i < 0) {
		i = (int)m->own_group_next;
		m->own_group_next = (m->own_group_next + 1) % MONITOR_OWN_GROUP_SLOTS;
		if (!m->own_group[i].inode)
			m->own_group_n++;
	}
	m->own_group[i] = *sk;
}

/* It bound: bind(2) cannot be asked about it again. */
static void own_group_forget(struct pw_monitor *m, uint32_t netns, uint64_t inode)
{
	int i = own_group_index(m, netns, inode);

	if (i >= 0) {
		memset(&m->own_group[i], 0, sizeof(m->own_group[i]));
		m->own_group_n--;
	}
}

void monitor_handle_event(struct pw_monitor *m, const struct pw_event *e)
{
	uint64_t now = monitor_realtime(m, e->ts_ns);
	struct pw_entry *h;

	if (e->type <= PW_EV_RELEASE)
		m->stats.events[e->type]++;
	if (e->err && e->type != PW_EV_SOCKOPT && conflict_ignored(m, e)) {
		m->stats.conflicts_ignored++;
		return;
	}
	switch (e->type) {
	case PW_EV_BIND:
		if (!e->err) {
			own_group_forget(m, e->sk.netns, e->sk.inode);
			on_bind_ok(m, e, now);
		}
		else if (e->err == -EADDRINUSE || e->err == -EADDRNOTAVAIL || e->err == -EACCES)
			on_conflict(m, e, RULES_OP_BIND, now);
		else if (e->err == -EPERM && protect_refusal(m, e))
			on_conflict(m, e, RULES_OP_BIND, now);
		break;
	case PW_EV_LISTEN:
		if (!e->err) {
			h = update_held(m, e, now);
			if (h) {
				struct bindbucket_walk w = last_walk(m);

				bindbucket_join(&m->tbs, &h->sk, 1, 1, &w, now);
			}
		}
		else if (e->err == -EADDRINUSE)
			on_conflict(m, e, RULES_OP_LISTEN, now);
		break;
	case PW_EV_CONNECT:
		/*
		 * Besides failures, the kernel side reports connects of bound
		 * sockets and UDP connects that bound a port themselves
		 * (autobind, portwatch.bpf.c): those become holders like a
		 * bind's socket.
		 */
		if (e->err == -EADDRINUSE || e->err == -EADDRNOTAVAIL)
			on_conflict(m, e, RULES_OP_CONNECT, now);
		else if (!e->err && e->new_state == PW_TCP_SYN_SENT && !e->sk.lport)
			tfo_begin(m, e, now);
		else if (!e->err)
			update_held(m, e, now);
		break;
	case PW_EV_SOCKOPT:
		h = table_lookup(m->table, e->sk.netns, e->sk.inode);
		if (h) {
			table_update_sock(m->table, h, &e->sk);
			monitor_name_device(m, h);
		}
		if (h && e->sockopt == PW_SOCKOPT_REUSEPORT_PROG)
			steer_check(m, h, now);
		else if (!h && e->sockopt == PW_SOCKOPT_REUSEPORT_PROG && !e->sk.lport)
			own_group_note(m, &e->sk);
		break;
	case PW_EV_STATE:
		h = table_lookup(m->table, e->sk.netns, e->sk.inode);
		if (!h && e->old_state == PW_TCP_SYN_SENT && e->new_state == PW_TCP_ESTABLISHED) {
			tfo_established(m, e, now);
			break;
		}
		if (h && e->old_state == PW_TCP_LISTEN)
			monitor_listener_gone(m, h, now);
		if (h && (e->old_state == PW_TCP_LISTEN || e->old_state == PW_TCP_ESTABLISHED))
			bindbucket_keep_alive(&m->tbs, &h->sk, now);
		if (h) {
			struct pw_sock sk = h->sk;

			sk.state = e->new_state;
			memcpy(sk.raddr, e->sk.raddr, sizeof(sk.raddr));
			sk.rport = e->sk.rport;
			table_update_sock(m->table, h, &sk);
		}
		break;
	case PW_EV_RELEASE:
		if (tfo_slot(m, e->sk.inode)->inode == e->sk.inode)
			tfo_slot(m, e->sk.inode)->inode = 0;
		h = table_lookup(m->table, e->sk.netns, e->sk.inode);
		if (h) {
			struct bindbucket_walk w = last_walk(m);

			monitor_listener_gone(m, h, now);
			if (h->sk.protocol == IPPROTO_UDP)
				hold_departure(m, h, now);
			if (h->sk.state != PW_TCP_CLOSE)
				bindbucket_keep_alive(&m->tbs, &h->sk, now);
			else
				bindbucket_left(&m->tbs, m->table, h, &w, now);
			table_remove(m->table, e->sk.netns, e->sk.inode);
		}
		break;
	default:
		log_debug("unknown event type %u", e->type);
	}
}

uint64_t monitor_raise(struct pw_monitor *m, const struct rules_alert *ra,
		       const struct pw_entry *holder, const struct pw_entry *contender, int result,
		       const char *message, uint64_t now)
{
	struct pw_alert *a = monitor_alert_new(m, ra, holder, contender, result, now);

	if (!a)
		return 0;
	if (message)
		snprintf(a->message, sizeof(a->message), "%s", message);
	monitor_alert_raise(m, a);
	return a->id;
}
