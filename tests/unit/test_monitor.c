// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_monitor.c - detection and conflicts (daemon/monitor.c) driven by
 * made-up events, as bpf/portwatch.bpf.c would send them: owner groups,
 * every alert reason and severity, each alert once, takeover and its
 * window (to the ns at its end), refused binds with their rule, and the table following
 * listen/setsockopt/release. The kernel itself is exercised by
 * tests/bpf and tests/e2e; here the monitor has no snapshot (snap NULL)
 * and no BPF map (tracked_fd -1).
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "monitor.h"
#include "report.h"
#include "ring.h"

/* Two executables, by (device, inode) as the BPF side reports them. */
#define EXE_NGINX 1001
#define EXE_EVIL 1002
#define EXE_DEV 0x800001

struct fixture {
	struct pw_monitor m;
	struct pw_alert last; /* copy of the last alert raised */
	int nalerts;
};

static void on_alert(const struct pw_alert *a, void *arg)
{
	struct fixture *f = arg;

	f->last = *a;
	f->nalerts++;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct monitor_config cfg;

	monitor_defaults(&cfg);
	cfg.alert_history = cfg.conflict_history = 16;
	assert_int_equal(monitor_init(&f->m, &cfg, NULL, -1, on_alert, f), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	monitor_free(&f->m);
	free(f);
	return 0;
}

/* CLOCK_BOOTTIME now plus offset seconds, as event time. */
static uint64_t boot_ns(int64_t offset_s)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec + offset_s * 1000000000LL;
}

/*
 * An event of type on socket sk (identity inode) by uid running exe; err
 * 0 or -errno. The pid is this test's own, so attribution through /proc
 * works; the executable identity comes from the event, as in the daemon.
 */
static struct pw_event ev(uint32_t type, struct pw_sock sk, uint64_t inode, uint32_t uid,
			  uint64_t exe, int err)
{
	struct pw_event e;

	memset(&e, 0, sizeof(e));
	e.type = type;
	e.ts_ns = boot_ns(0);
	e.pid = e.tid = getpid();
	e.uid = e.gid = uid;
	e.exe_ino = exe;
	e.exe_dev = EXE_DEV;
	e.err = err;
	snprintf(e.comm, sizeof(e.comm), "%s", exe == EXE_NGINX ? "nginx" : "evil");
	sk.inode = err ? 0 : inode;
	sk.sk_uid = uid;
	e.sk = sk;
	if (err) { /* a refused bind: the socket stays unbound, the request is in req_* */
		memcpy(e.req_addr, sk.laddr, 16);
		e.req_port = sk.lport;
		e.req_family = sk.family;
		e.sk.lport = 0;
		memset(e.sk.laddr, 0, 16);
		e.sk.inode = inode;
	}
	return e;
}

static void handle(struct fixture *f, struct pw_event e)
{
	f->m.on_alert_arg = f;
	monitor_handle_event(&f->m, &e);
}

static void assert_alert(struct fixture *f, int n, const char *kind, const char *reason,
			 enum rules_severity sev, uint64_t holder_ino, uint64_t contender_ino)
{
	assert_int_equal(f->nalerts, n);
	assert_string_equal(rules_alert_kind_name(f->last.kind), kind);
	assert_string_equal(rules_alert_reason_name(f->last.reason), reason);
	assert_int_equal(f->last.severity, sev);
	assert_int_equal(f->last.holder.sk.inode, holder_ino);
	assert_int_equal(f->last.contender.sk.inode, contender_ino);
}

static void test_udp_share_and_owner_groups(void **state)
{
	struct fixture *f = *state;
	struct pw_sock any = pwt_udp("0.0.0.0", 53, PWT_RA, 0);

	handle(f, ev(PW_EV_BIND, any, 10, 1000, EXE_NGINX, 0));
	/* same uid, same executable: one owner group, nothing */
	handle(f, ev(PW_EV_BIND, any, 11, 1000, EXE_NGINX, 0));
	assert_int_equal(f->nalerts, 0);
	/* same uid, another executable: a warning */
	handle(f, ev(PW_EV_BIND, any, 12, 1000, EXE_EVIL, 0));
	assert_alert(f, 1, "hijack_attempt", "udp_share", RULES_SEV_WARNING, 10, 12);
	/* another uid: critical */
	handle(f, ev(PW_EV_BIND, any, 13, 2000, EXE_NGINX, 0));
	assert_alert(f, 2, "hijack_attempt", "udp_share", RULES_SEV_CRITICAL, 10, 13);
	assert_int_equal(f->last.contender.owner.uid, 2000);
	assert_int_equal(f->last.result, 0);
	/* the history's copy pins both owners' strings (table.h, pw_owner_pin) */
	{
		const struct pw_alert *h = ring_get(&f->m.alerts, f->last.id);

		assert_non_null(h);
		assert_int_not_equal(h->contender.owner.exe, 0);
		assert_int_equal(h->pins[0].exe, h->holder.owner.exe);
		assert_int_equal(h->pins[1].exe, h->contender.owner.exe);
		assert_int_equal(h->pins[1].unit, h->contender.owner.unit);
	}
	assert_int_equal(table_size(f->m.table), 4);
	assert_int_equal(f->m.stats.alerts, 2);
	/* by kind, reason and severity: one each (the metrics file's series) */
	assert_int_equal(f->m.stats.alerts_by[RULES_KIND_HIJACK_ATTEMPT][RULES_REASON_UDP_SHARE]
					     [RULES_SEV_WARNING], 1);
	assert_int_equal(f->m.stats.alerts_by[RULES_KIND_HIJACK_ATTEMPT][RULES_REASON_UDP_SHARE]
					     [RULES_SEV_CRITICAL], 1);
}

/*
 * Issue 17, alert storms: the repeats of an alert within fold_window_ns
 * are counted, not sent, and leave as one summary with their count and
 * ports when the window ends; stats count every one.
 */
static void test_alert_storm_folds(void **state)
{
	struct fixture *f = *state;
	struct pw_sock any = pwt_udp("0.0.0.0", 53, PWT_RA, 0);
	struct pw_sock any2 = pwt_udp("0.0.0.0", 1053, PWT_RA, 0);
	struct pw_sock lo = pwt_udp("127.0.0.1", 53, PWT_RA, 0);
	uint64_t start;

	handle(f, ev(PW_EV_BIND, any, 100, 1000, EXE_NGINX, 0));
	handle(f, ev(PW_EV_BIND, any2, 101, 1000, EXE_NGINX, 0));
	for (int i = 0; i < 50; i++) {
		lo.lport = (uint16_t)(i % 2 ? 1053 : 53);
		handle(f, ev(PW_EV_BIND, lo, 300 + (uint64_t)i, 2000, EXE_EVIL, 0));
	}
	/* one went out; 49 folded (both wildcards are one owner group's) */
	assert_int_equal(f->nalerts, 1);
	assert_string_equal(rules_alert_reason_name(f->last.reason), "shadow_wildcard");
	assert_int_equal(f->m.stats.alerts, 50);
	assert_int_equal(f->m.stats.alerts_folded, 49);
	/* the folded repeats count under their labels too */
	assert_int_equal(f->m.stats.alerts_by[RULES_KIND_HIJACK_ATTEMPT]
					     [RULES_REASON_SHADOW_WILDCARD][RULES_SEV_CRITICAL], 50);
	/* before the window ends nothing more; at its end, one summary */
	start = f->last.time_ns;
	monitor_fold_flush(&f->m, start + f->m.cfg.fold_window_ns - 1);
	assert_int_equal(f->nalerts, 1);
	monitor_fold_flush(&f->m, start + f->m.cfg.fold_window_ns);
	assert_int_equal(f->nalerts, 2);
	assert_int_equal(f->last.fold_count, 49);
	assert_int_equal(f->last.fold_of, 1);
	assert_int_equal(f->last.fold_nports, 2);
	assert_int_equal(f->last.fold_ports[0], 1053);
	assert_int_equal(f->last.fold_ports[1], 53);
	assert_non_null(strstr(f->last.message, "49 more alerts like alert 1"));
	assert_int_equal(f->m.stats.alerts, 50); /* a summary is not counted again */
	/* the next one opens a new window and goes out */
	handle(f, ev(PW_EV_BIND, lo, 400, 2000, EXE_EVIL, 0));
	assert_int_equal(f->nalerts, 3);
	assert_int_equal(f->last.fold_count, 0);
	/* fold_window 0: every alert goes out */
	f->m.cfg.fold_window_ns = 0;
	handle(f, ev(PW_EV_BIND, lo, 401, 2000, EXE_EVIL, 0));
	handle(f, ev(PW_EV_BIND, lo, 402, 2000, EXE_EVIL, 0));
	assert_int_equal(f->nalerts, 5);
}

/*
 * The fold window is open at its end: a repeat one ns before
 * fold_window_ns after the first alert is folded, one exactly at the end
 * goes out (after the summary of the fold it ends), as
 * monitor_fold_flush() sends the summary at that ns.
 */
static void test_fold_window_edge(void **state)
{
	struct fixture *f = *state;
	struct pw_sock any = pwt_udp("0.0.0.0", 5353, PWT_RA, 0);
	struct pw_sock lo = pwt_udp("127.0.0.1", 5353, PWT_RA, 0);
	uint64_t window = f->m.cfg.fold_window_ns;
	uint64_t t = boot_ns(0);
	struct pw_event e;

	handle(f, ev(PW_EV_BIND, any, 110, 1000, EXE_NGINX, 0));
	e = ev(PW_EV_BIND, lo, 310, 2000, EXE_EVIL, 0);
	e.ts_ns = t;
	handle(f, e);
	assert_alert(f, 1, "hijack_attempt", "shadow_wildcard", RULES_SEV_CRITICAL, 110, 310);
	e = ev(PW_EV_BIND, lo, 311, 2000, EXE_EVIL, 0);
	e.ts_ns = t + window - 1;
	handle(f, e);
	assert_int_equal(f->nalerts, 1);
	assert_int_equal(f->m.stats.alerts_folded, 1);
	e = ev(PW_EV_BIND, lo, 312, 2000, EXE_EVIL, 0);
	e.ts_ns = t + window;
	handle(f, e);
	assert_int_equal(f->nalerts, 3); /* the summary of 311, then 312 itself */
	assert_int_equal(f->last.contender.sk.inode, 312);
	assert_int_equal(f->last.fold_count, 0);
	assert_int_equal(f->m.stats.alerts_folded, 1);
}

static void test_shadow_and_reuseport(void **state)
{
	struct fixture *f = *state;

	handle(f, ev(PW_EV_BIND, pwt_tcp("0.0.0.0", 80, PW_TCP_CLOSE, PWT_RP, 0), 20, 33,
		     EXE_NGINX, 0));
	handle(f, ev(PW_EV_BIND, pwt_tcp("0.0.0.0", 80, PW_TCP_CLOSE, PWT_RP, 0), 21, 33,
		     EXE_EVIL, 0));
	assert_alert(f, 1, "hijack_attempt", "reuseport_join", RULES_SEV_WARNING, 20, 21);
	/* a specific address under the wildcard: shadowing, worst holder named */
	handle(f, ev(PW_EV_BIND, pwt_tcp("127.0.0.1", 80, PW_TCP_CLOSE, PWT_RP, 0), 22, 33,
		     EXE_EVIL, 0));
	assert_alert(f, 2, "hijack_attempt", "shadow_wildcard", RULES_SEV_WARNING, 20, 22);
	/* IPv4 under a dual-stack [::] of another uid */
	handle(f, ev(PW_EV_BIND, pwt_udp("::", 443, PWT_RA, 0), 23, 33, EXE_NGINX, 0));
	handle(f, ev(PW_EV_BIND, pwt_udp("0.0.0.0", 443, PWT_RA, 0), 24, 1000, EXE_EVIL, 0));
	assert_alert(f, 3, "hijack_attempt", "shadow_wildcard", RULES_SEV_CRITICAL, 23, 24);
	/* ... but not under a v6only one: no overlap */
	handle(f, ev(PW_EV_BIND, pwt_udp("::", 444, PWT_RA | PWT_V6ONLY, 0), 25, 33, EXE_NGINX, 0));
	handle(f, ev(PW_EV_BIND, pwt_udp("0.0.0.0", 444, PWT_RA, 0), 26, 1000, EXE_EVIL, 0));
	assert_int_equal(f->nalerts, 3);
}

static void test_shared_bind(void **state)
{
	struct fixture *f = *state;
	struct pw_sock s = pwt_tcp("127.0.0.1", 8080, PW_TCP_CLOSE, PWT_RA, 0);

	handle(f, ev(PW_EV_BIND, s, 30, 1000, EXE_NGINX, 0));
	handle(f, ev(PW_EV_BIND, s, 31, 2000, EXE_EVIL, 0));
	assert_alert(f, 1, "reuse_collision", "shared_bind", RULES_SEV_WARNING, 30, 31);
	assert_int_equal(f->m.alerts_by_kind[RULES_KIND_REUSE_COLLISION], 1);
}

static void test_takeover_and_window(void **state)
{
	struct fixture *f = *state;
	struct pw_sock l = pwt_tcp("127.0.0.1", 8443, PW_TCP_CLOSE, 0, 0);
	struct pw_event e;

	handle(f, ev(PW_EV_BIND, l, 40, 1000, EXE_NGINX, 0));
	l.state = PW_TCP_LISTEN;
	handle(f, ev(PW_EV_LISTEN, l, 40, 1000, EXE_NGINX, 0));
	assert_int_equal(table_lookup(f->m.table, PWT_NS1, 40)->sk.state, PW_TCP_LISTEN);
	handle(f, ev(PW_EV_RELEASE, l, 40, 1000, EXE_NGINX, 0));
	assert_null(table_lookup(f->m.table, PWT_NS1, 40));

	/* the owner restarting is no takeover, and it clears the departure */
	l.state = PW_TCP_CLOSE;
	handle(f, ev(PW_EV_BIND, l, 41, 1000, EXE_NGINX, 0));
	assert_int_equal(f->nalerts, 0);
	handle(f, ev(PW_EV_RELEASE, l, 41, 1000, EXE_NGINX, 0)); /* bound, never listened */
	handle(f, ev(PW_EV_BIND, l, 42, 2000, EXE_EVIL, 0));
	assert_int_equal(f->nalerts, 0);
	handle(f, ev(PW_EV_RELEASE, l, 42, 2000, EXE_EVIL, 0));

	/* another group right after a listener left: critical takeover, once */
	l.state = PW_TCP_LISTEN;
	handle(f, ev(PW_EV_BIND, l, 43, 1000, EXE_NGINX, 0));
	handle(f, ev(PW_EV_LISTEN, l, 43, 1000, EXE_NGINX, 0));
	handle(f, ev(PW_EV_RELEASE, l, 43, 1000, EXE_NGINX, 0));
	l.state = PW_TCP_CLOSE;
	handle(f, ev(PW_EV_BIND, l, 44, 2000, EXE_EVIL, 0));
	assert_alert(f, 1, "hijack_attempt", "takeover", RULES_SEV_CRITICAL, 43, 44);
	handle(f, ev(PW_EV_RELEASE, l, 44, 2000, EXE_EVIL, 0));
	handle(f, ev(PW_EV_BIND, l, 45, 3000, EXE_EVIL, 0));
	assert_int_equal(f->nalerts, 1);
	handle(f, ev(PW_EV_RELEASE, l, 45, 3000, EXE_EVIL, 0));

	/* past the window (60 s): nothing */
	l.state = PW_TCP_LISTEN;
	handle(f, ev(PW_EV_BIND, l, 46, 1000, EXE_NGINX, 0));
	handle(f, ev(PW_EV_LISTEN, l, 46, 1000, EXE_NGINX, 0));
	e = ev(PW_EV_RELEASE, l, 46, 1000, EXE_NGINX, 0);
	e.ts_ns = boot_ns(-61);
	handle(f, e);
	l.state = PW_TCP_CLOSE;
	handle(f, ev(PW_EV_BIND, l, 47, 2000, EXE_EVIL, 0));
	assert_int_equal(f->nalerts, 1);
}

/*
 * The takeover window is closed at its end: a bind by another owner group
 * exactly takeover_window_ns after the listener left is a takeover, one
 * ns later is not (monitor.c on_bind_ok(): now - gone_ns <= window).
 */
static void test_takeover_window_edge(void **state)
{
	struct fixture *f = *state;
	struct pw_sock l = pwt_tcp("127.0.0.1", 8444, PW_TCP_LISTEN, 0, 0);
	uint64_t window = f->m.cfg.takeover_window_ns;
	uint64_t gone = boot_ns(0);
	struct pw_event e;

	handle(f, ev(PW_EV_BIND, l, 50, 1000, EXE_NGINX, 0));
	handle(f, ev(PW_EV_LISTEN, l, 50, 1000, EXE_NGINX, 0));
	e = ev(PW_EV_RELEASE, l, 50, 1000, EXE_NGINX, 0);
	e.ts_ns = gone;
	handle(f, e);
	l.state = PW_TCP_CLOSE;
	e = ev(PW_EV_BIND, l, 51, 2000, EXE_EVIL, 0);
	e.ts_ns = gone + window; /* the window's last ns */
	handle(f, e);
	assert_alert(f, 1, "hijack_attempt", "takeover", RULES_SEV_CRITICAL, 50, 51);
	e = ev(PW_EV_RELEASE, l, 51, 2000, EXE_EVIL, 0);
	e.ts_ns = gone + window;
	handle(f, e);

	/* the same again, the bind one ns after the window: nothing */
	l.state = PW_TCP_LISTEN;
	handle(f, ev(PW_EV_BIND, l, 52, 1000, EXE_NGINX, 0));
	handle(f, ev(PW_EV_LISTEN, l, 52, 1000, EXE_NGINX, 0));
	e = ev(PW_EV_RELEASE, l, 52, 1000, EXE_NGINX, 0);
	e.ts_ns = gone;
	handle(f, e);
	l.state = PW_TCP_CLOSE;
	e = ev(PW_EV_BIND, l, 53, 2000, EXE_EVIL, 0);
	e.ts_ns = gone + window + 1;
	handle(f, e);
	assert_int_equal(f->nalerts, 1);
	assert_int_equal(f->m.stats.alerts, 1); /* not raised and folded either */
}

static void test_refused_binds(void **state)
{
	struct fixture *f = *state;
	struct pw_sock any = pwt_tcp("0.0.0.0", 25, PW_TCP_CLOSE, 0, 0);
	const struct pw_conflict *c;

	handle(f, ev(PW_EV_BIND, any, 50, 0, EXE_NGINX, 0));
	any.state = PW_TCP_LISTEN;
	handle(f, ev(PW_EV_LISTEN, any, 50, 0, EXE_NGINX, 0));

	/* under the wildcard listener, by another uid: conflict + blocked notice */
	handle(f, ev(PW_EV_BIND, pwt_tcp("127.0.0.1", 25, PW_TCP_CLOSE, PWT_RA, 0), 51, 1000,
		     EXE_EVIL, -EADDRINUSE));
	c = ring_get(&f->m.conflicts, f->m.conflicts.next_id - 1);
	assert_non_null(c);
	assert_string_equal(rules_rule_name(c->rule), "wildcard_listener");
	assert_int_equal(c->err, EADDRINUSE);
	assert_int_equal(c->op, RULES_OP_BIND);
	assert_int_equal(c->nholders, 1);
	assert_int_equal(c->holders[0].sk.inode, 50);
	assert_int_equal(c->contender.sk.lport, 25);
	assert_non_null(strstr(c->explanation, "failed with EADDRINUSE"));
	assert_alert(f, 1, "hijack_attempt", "blocked", RULES_SEV_NOTICE, 50, 51);
	assert_int_equal(f->last.result, EADDRINUSE);

	/* refused by its own uid's socket: a conflict, no alert */
	handle(f, ev(PW_EV_BIND, pwt_tcp("0.0.0.0", 25, PW_TCP_CLOSE, 0, 0), 52, 0, EXE_NGINX,
		     -EADDRINUSE));
	c = ring_get(&f->m.conflicts, f->m.conflicts.next_id - 1);
	assert_string_equal(rules_rule_name(c->rule), "listener");
	assert_int_equal(f->nalerts, 1);

	/*
	 * Issue 10: refused by its own uid's listener (listed first: its rule
	 * ranks higher) and by root's socket: still a blocked notice, whose
	 * holder is root's socket, not the first one listed.
	 */
	{
		struct pw_sock l27 = pwt_tcp("0.0.0.0", 27, PW_TCP_CLOSE, PWT_RA, 0);
		struct pw_sock r27 = pwt_tcp("127.0.0.1", 27, PW_TCP_CLOSE, PWT_RA, 0);

		handle(f, ev(PW_EV_BIND, r27, 54, 0, EXE_NGINX, 0));
		handle(f, ev(PW_EV_BIND, l27, 55, 2000, EXE_EVIL, 0));
		l27.state = PW_TCP_LISTEN;
		handle(f, ev(PW_EV_LISTEN, l27, 55, 2000, EXE_EVIL, 0));
		f->nalerts = 0; /* whatever the joins raised */
		handle(f, ev(PW_EV_BIND, pwt_tcp("127.0.0.1", 27, PW_TCP_CLOSE, 0, 0), 56, 2000,
			     EXE_EVIL, -EADDRINUSE));
		c = ring_get(&f->m.conflicts, f->m.conflicts.next_id - 1);
		assert_int_equal(c->nholders, 2);
		assert_int_equal(c->holders[0].sk.inode, 55); /* its own, first */
		assert_alert(f, 1, "hijack_attempt", "blocked", RULES_SEV_NOTICE, 54, 56);
		handle(f, ev(PW_EV_RELEASE, l27, 55, 2000, EXE_EVIL, 0));
		handle(f, ev(PW_EV_RELEASE, r27, 54, 0, EXE_NGINX, 0));
		f->nalerts = 1;
	}

	/* port 0 refused: the kernel found no free port */
	handle(f, ev(PW_EV_BIND, pwt_tcp("0.0.0.0", 0, PW_TCP_CLOSE, 0, 0), 53, 0, EXE_NGINX,
		     -EADDRINUSE));
	c = ring_get(&f->m.conflicts, f->m.conflicts.next_id - 1);
	assert_string_equal(rules_rule_name(c->rule), "ephemeral_exhausted");
	assert_int_equal(f->m.stats.conflicts, 4);
}

static void test_table_follows_the_socket(void **state)
{
	struct fixture *f = *state;
	struct pw_sock s = pwt_udp("0.0.0.0", 5353, 0, 0);
	struct pw_entry *e;

	handle(f, ev(PW_EV_BIND, s, 60, 1000, EXE_NGINX, 0));
	s.reuseaddr = 1;
	handle(f, ev(PW_EV_SOCKOPT, s, 60, 1000, EXE_NGINX, 0));
	e = table_lookup(f->m.table, PWT_NS1, 60);
	assert_non_null(e);
	assert_int_equal(e->sk.reuseaddr, 1);
	assert_int_equal(e->owner.uid, 1000);
	assert_int_equal(e->owner.pid, (uint32_t)getpid());
	assert_int_equal(e->owner.exe_ino, EXE_NGINX);
	/* the flag set after bind lets another group share, and is seen */
	handle(f, ev(PW_EV_BIND, s, 61, 2000, EXE_EVIL, 0));
	assert_alert(f, 1, "hijack_attempt", "udp_share", RULES_SEV_CRITICAL, 60, 61);
	handle(f, ev(PW_EV_RELEASE, s, 60, 1000, EXE_NGINX, 0));
	handle(f, ev(PW_EV_RELEASE, s, 61, 2000, EXE_EVIL, 0));
	assert_int_equal(table_size(f->m.table), 0);
	assert_int_equal(f->m.stats.events[PW_EV_BIND], 2);
	assert_int_equal(f->m.stats.events[PW_EV_SOCKOPT], 1);
	assert_int_equal(f->m.stats.events[PW_EV_RELEASE], 2);
}

static void test_unattributed_holder(void **state)
{
	struct fixture *f = *state;
	struct pw_sock s = pwt_udp("0.0.0.0", 123, PWT_RA, 0);
	struct pw_entry h = pwt_entry(&s, PWT_NS1, 70, 0, 0, NULL);

	/* found by a snapshot with no process holding it: nobody's group */
	assert_non_null(table_upsert(f->m.table, &h, 0));
	handle(f, ev(PW_EV_BIND, s, 71, 0, EXE_NGINX, 0));
	assert_alert(f, 1, "hijack_attempt", "udp_share", RULES_SEV_WARNING, 70, 71);
}

/*
 * Ephemeral-port exhaustion: failed connects from unbound sockets are
 * conflicts with rule ephemeral_exhausted; one resource alert per episode
 * and netns (failures < 30 s apart), a new one after a quiet 30 s, and a
 * bind of port 0 that succeeds ends the episode at once.
 */
static void test_ephemeral_episode(void **state)
{
	struct fixture *f = *state;
	struct pw_sock c = pwt_tcp("0.0.0.0", 0, PW_TCP_CLOSE, 0, 1000);
	struct pw_event e;
	struct pw_conflict *cf;

	assert_int_equal(pw_addr_pton("127.0.0.1", &c.family, c.raddr), 0);
	c.rport = 7000;
	e = ev(PW_EV_CONNECT, c, 900, 1000, EXE_EVIL, -EADDRNOTAVAIL);
	e.sk = c; /* connect: the socket itself, destination in raddr/rport */
	e.bound_before = 0;
	handle(f, e);
	assert_int_equal(f->nalerts, 1);
	assert_string_equal(rules_alert_kind_name(f->last.kind), "resource");
	assert_string_equal(rules_alert_reason_name(f->last.reason), "ephemeral_exhausted");
	assert_int_equal(f->last.severity, RULES_SEV_WARNING);
	assert_int_equal(f->last.result, EADDRNOTAVAIL);
	assert_true(f->last.has_eph);
	cf = ring_get(&f->m.conflicts, f->m.conflicts.next_id - 1);
	assert_non_null(cf);
	assert_string_equal(rules_rule_name(cf->rule), "ephemeral_exhausted");
	assert_true(cf->has_eph);
	assert_int_equal(cf->eph.rport, 7000);
	assert_true(cf->eph.lo > 0 && cf->eph.hi >= cf->eph.lo); /* this netns's range */

	/* more failures in the same episode: conflicts, no alert */
	e.ts_ns = boot_ns(10);
	handle(f, e);
	e.ts_ns = boot_ns(35); /* 25 s after the last one: still the episode */
	handle(f, e);
	assert_int_equal(f->nalerts, 1);
	assert_int_equal(f->m.stats.conflicts, 3);
	/* a quiet 30 s: a new episode */
	e.ts_ns = boot_ns(70);
	handle(f, e);
	assert_int_equal(f->nalerts, 2);
	/* a successful bind of port 0 in the netns ends the episode */
	c = pwt_tcp("0.0.0.0", 41000, PW_TCP_CLOSE, 0, 1000);
	e = ev(PW_EV_BIND, c, 901, 1000, EXE_EVIL, 0);
	e.ts_ns = boot_ns(71);
	e.req_port = 0;
	handle(f, e);
	c = pwt_tcp("0.0.0.0", 0, PW_TCP_CLOSE, 0, 1000);
	e = ev(PW_EV_CONNECT, c, 902, 1000, EXE_EVIL, -EADDRNOTAVAIL);
	e.sk = c;
	e.ts_ns = boot_ns(72);
	handle(f, e);
	assert_int_equal(f->nalerts, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_udp_share_and_owner_groups, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ephemeral_episode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alert_storm_folds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fold_window_edge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shadow_and_reuseport, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_bind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_takeover_and_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_takeover_window_edge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_binds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_follows_the_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unattributed_holder, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
