// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * portwatchd - eBPF port-reuse monitor daemon.
 *
 * One thread, one epoll loop over: the BPF ring buffer, a signalfd
 * (SIGTERM, SIGINT, SIGHUP), a flush timer that drains the ring buffer
 * every PW_BUSY_NS while events keep coming and is disarmed when they
 * stop (ring_settle(): the BPF side then wakes us with the next event), a
 * housekeeping timer (drop counter, reconciliation) and the control
 * socket with its clients.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/utsname.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "alertline.h"
#include "bpfload.h"
#include "config.h"
#include "container.h"
#include "journal.h"
#include "kbehavior.h"
#include "ctl.h"
#include "ecs.h"
#include "log.h"
#include "metrics.h"
#include "monitor.h"
#include "protectload.h"
#include "pwname.h"
#include "portwatch/proto.h"
#include "pwjson.h"
#include "report.h"
#include "nat.h"
#include "sklookup.h"
#include "sniffmon.h"
#include "freebind.h"
#include "snap.h"
#include "sysctl.h"

#include <json-c/json.h>

/* Drain period while events keep coming: bounds an alert's delay when busy. */
#define PW_BUSY_NS 1000000LL

/*
 * Seconds between two scans of the BPF sk_lookup links (sklookup.h): a
 * new link is reported at most this late. A scan costs 3 bpf(2) calls per
 * BPF link of the host plus 3 per sk_lookup link (measured on Linux 6.18:
 * 24 us a scan with 10 links, so ~12 us a second), and a /proc walk only
 * when a link is new. It is polled rather than followed through the bpf
 * syscall's tracepoint (syscalls:sys_exit_bpf, cmd BPF_LINK_CREATE):
 * that tracepoint runs for every bpf(2) call of every BPF user on the
 * host, this daemon's own map reads for each event included, to catch a
 * call that comes a few times a day; and a link created before the daemon
 * started, or by a pinned-object restore, needs the scan anyway.
 */
#define PW_SKLOOKUP_SCAN_S 2

/*
 * Seconds between two writes of the expected owners (expected.h), when
 * they changed: a crash loses at most this much; listen/close churn
 * costs one small file write per interval, not one per close.
 */
#define PW_OWNERS_SAVE_S 10

/*
 * Seconds between two housekeeping ticks while nothing is going on: no
 * event handled since the last tick, no alert fold open, no takeover hold
 * kept (monitor_timers_pending()). Every period above is a multiple of
 * it or longer, so an idle daemon wakes half as often (issue 13: at most
 * one wake-up a second when idle) and does the same work; a busy one
 * ticks each second. Control clients' idle timeouts are then enforced to
 * within this many seconds.
 */
#define PW_IDLE_TICK_S 2

struct options {
	const char *config_path; /* --config, or NULL for PW_DEFAULT_CONFIG (may be missing) */
	int foreground;
	int config_test;
	int argc;                /* the command line, re-applied over the file on reload */
	char **argv;
};

struct daemon {
	struct options opt;
	struct pw_config cfg; /* in force; cfg.policy is what the monitor borrows */
	int epoll_fd, signal_fd, flush_fd, house_fd, watchdog_fd;
	struct pw_bpf bpf;
	struct pw_protect_bpf protect; /* mode enforce: protect.bpf.c loaded and attached */
	struct snap *snap;
	struct pw_monitor mon;
	struct pw_ctl ctl;
	struct sklookup sklookup; /* sk_lookup links in force, PW_SKLOOKUP_SCAN_S */
	struct nat nat;           /* nftables rulesets, followed by notification (nat.h) */
	struct sniffmon sniff;    /* packet sniffers (raw/packet sockets with a filter) */
	struct freebind freebind; /* free binds of missing addresses, until they come */
	struct expected_owners expected; /* the monitor borrows it; saved PW_OWNERS_SAVE_S */
	int expected_err;         /* -errno of the last failed save logged; 0 none */
	int sklookup_err;         /* -errno of the last failed scan logged; 0 none */
	int asleep;               /* flush timer disarmed, the BPF side told (ring_settle()) */
	uint64_t ring_seen;       /* events drained since the last ring_settle() */
	uint64_t dropped_seen;
	uint64_t consume_errors;  /* ring_buffer__consume() failures since consume_log_ns */
	uint64_t consume_log_ns;  /* CLOCK_REALTIME ns of the last line about them */
	unsigned int ticks;        /* seconds of housekeeping ticks since start */
	unsigned int tick_s;       /* seconds between ticks now: 1, or PW_IDLE_TICK_S when idle */
	uint64_t tick_events;      /* events handled at the last tick */
	uint64_t metrics_errors;  /* failed writes of the metrics file, in all */
	uint64_t metrics_failing; /* of which since the last good write */
	int metrics_err;          /* -errno of the last failure logged; 0 = none since a good write */
	int running;
	char status[256];      /* last STATUS= sent to systemd */
};

/* epoll cookies of the daemon's own fds; anything else belongs to ctl. */
static char tag_ring, tag_signal, tag_flush, tag_house, tag_watchdog, tag_freebind, tag_nat;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: portwatchd [OPTIONS]\n"
		"\n"
		"Watch every bind(2), listen(2) and connect(2) on this host through eBPF, keep a\n"
		"table of who owns which local address, and raise alerts on SO_REUSEADDR /\n"
		"SO_REUSEPORT collisions and port-hijack attempts (syslog, and portwatchctl watch).\n"
		"Query it with portwatchctl(1); configure it in portwatch.conf(5). Needs root or\n"
		"CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN, CAP_SYS_ADMIN, CAP_SYS_PTRACE and\n"
		"CAP_DAC_READ_SEARCH (see portwatchd(8)).\n"
		"\n"
		"Options (each overrides the configuration file):\n"
		"  -c, --config FILE           configuration file (default " PW_DEFAULT_CONFIG ";\n"
		"                              built-in defaults when that one is missing)\n"
		"  -f, --foreground            log to stderr as well as to syslog\n"
		"  -s, --socket PATH           control socket (default " PW_DEFAULT_SOCKET ")\n"
		"  -l, --log-level LEVEL       error, warning, notice, info (default), debug\n"
		"      --takeover-window SECS  a bind this soon after another program's listener\n"
		"                              went away is a takeover (default 60)\n"
		"      --reconcile-interval SECS\n"
		"                              compare the table with the kernel every SECS\n"
		"                              seconds (default 5; 0 = only after lost events)\n"
		"      --history N             alerts and conflicts kept in memory (default 1024)\n"
		"      --ring-size MIB         BPF ring buffers' size, a power of two shared by one\n"
		"                              ring per CPU (default 8)\n"
		"      --owners-dir DIR        where the last owner of each listening port is kept\n"
		"                              (default " PW_DEFAULT_OWNERS_DIR "; \"\" = memory)\n"
		"  -n, --check                 read the configuration, print it, and exit\n"
		"  -h, --help                  this text\n"
		"  -V, --version               version\n"
		"\n"
		"Signals: SIGHUP re-reads the configuration file (a bad one is logged and the\n"
		"running configuration kept) and reconciles the table; SIGTERM/SIGINT stop.\n"
		"Under systemd (Type=notify) it reports READY=1, STATUS=, WATCHDOG=1,\n"
		"RELOADING=1 and STOPPING=1, and serves on the socket portwatchd.socket passes.\n"
		"\n"
		"Exit status: 0 after SIGTERM/SIGINT, 1 when start-up fails, 2 on bad options\n"
		"or a bad configuration file.\n");
}

enum { OPT_TAKEOVER = 256, OPT_RECONCILE, OPT_HISTORY, OPT_RING, OPT_OWNERS };

static const struct option longopts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "foreground", no_argument, NULL, 'f' },
	{ "socket", required_argument, NULL, 's' },
	{ "log-level", required_argument, NULL, 'l' },
	{ "takeover-window", required_argument, NULL, OPT_TAKEOVER },
	{ "reconcile-interval", required_argument, NULL, OPT_RECONCILE },
	{ "history", required_argument, NULL, OPT_HISTORY },
	{ "ring-size", required_argument, NULL, OPT_RING },
	{ "owners-dir", required_argument, NULL, OPT_OWNERS },
	{ "check", no_argument, NULL, 'n' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};
#define SHORTOPTS "c:fs:l:nhV"

/* First pass over the command line: the options that are not configuration. */
static void parse_options(int argc, char **argv, struct options *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->argc = argc;
	o->argv = argv;
	while ((c = getopt_long(argc, argv, SHORTOPTS, longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config_path = optarg;
			break;
		case 'f':
			o->foreground = 1;
			break;
		case 'n':
			o->config_test = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("portwatchd %s (protocol %d)\n", PW_RELEASE, PW_PROTO_VERSION);
			exit(0);
		case '?':
			fprintf(stderr, "Try 'portwatchd --help'.\n");
			exit(2);
		default:
			break; /* configuration: second pass */
		}
	}
	if (optind < argc) {
		fprintf(stderr, "portwatchd: unexpected argument '%s'\nTry 'portwatchd --help'.\n",
			argv[optind]);
		exit(2);
	}
}

/*
 * Second pass: the options that override the file, applied to cfg through
 * config_set() so that both are checked by the same code. Returns 0, or
 * -EINVAL with "--option: what is wrong" in err.
 */
static int apply_cmdline(const struct options *o, struct pw_config *cfg, char *err, size_t len)
{
	char msg[300];
	int c, idx;

	optind = 0; /* glibc: restart getopt from scratch */
	opterr = 0;
	while ((c = getopt_long(o->argc, o->argv, SHORTOPTS, longopts, &idx)) != -1) {
		const char *sec = NULL, *key = NULL, *opt = NULL;
		int r = 0;

		switch (c) {
		case 's':
			sec = "control", key = "socket", opt = "--socket";
			break;
		case 'l':
			sec = "daemon", key = "log_level", opt = "--log-level";
			break;
		case OPT_TAKEOVER:
			sec = "alerts", key = "takeover_window", opt = "--takeover-window";
			break;
		case OPT_RECONCILE:
			sec = "daemon", key = "reconcile_interval", opt = "--reconcile-interval";
			break;
		case OPT_RING:
			sec = "daemon", key = "ring_size", opt = "--ring-size";
			break;
		case OPT_OWNERS:
			sec = "daemon", key = "owners_dir", opt = "--owners-dir";
			break;
		case OPT_HISTORY:
			opt = "--history";
			r = config_set(cfg, "alerts", "alert_history", optarg, 0, msg, sizeof(msg));
			if (!r)
				r = config_set(cfg, "alerts", "conflict_history", optarg, 0, msg,
					       sizeof(msg));
			break;
		default:
			continue;
		}
		if (key)
			r = config_set(cfg, sec, key, optarg, 0, msg, sizeof(msg));
		if (r) {
			snprintf(err, len, "%s: %s", opt, msg);
			return r;
		}
	}
	return 0;
}

/*
 * Defaults, then the file, then the command line, into a fresh *cfg.
 * Returns 0, or a negative errno with the message (FILE:LINE: ...) in
 * err; *cfg is freed then.
 */
static int load_config(const struct options *o, struct pw_config *cfg, char *err, size_t len)
{
	int r;

	config_defaults(cfg);
	r = config_load(cfg, o->config_path ? o->config_path : PW_DEFAULT_CONFIG,
			!o->config_path, err, len);
	if (!r)
		r = apply_cmdline(o, cfg, err, len);
	if (r)
		config_free(cfg);
	return r;
}

/*
 * The [protect] section as understood; a warning (stderr) for each rule
 * whose ports the ephemeral range of this namespace can hand out: a
 * connect(), sendto() or bind() of port 0 picks them without a bind of
 * the port, which protection does not see (portwatch.conf(5)).
 */
static void print_protect(const struct pw_protect *p)
{
	struct rules_ports *ports = calloc(1, sizeof(*ports));
	char text[600];

	protect_takeover_text(p, text, sizeof(text));
	printf("\n[protect]\nmode = %s\ntakeover = %s\n", protect_mode_name(p->mode), text);
	for (size_t i = 0; i < p->nrules; i++) {
		const struct pw_protect_rule *r = &p->rules[i];

		protect_rule_text(r, text, sizeof(text));
		printf("protect = %s  # line %u\n", text, r->line);
	}
	if (!ports || sysctl_read_ports(NULL, 0, ports)) {
		free(ports);
		return;
	}
	for (size_t i = 0; i < p->nrules; i++) {
		const struct pw_protect_rule *r = &p->rules[i];
		unsigned int n = 0;

		for (uint32_t port = r->port_lo; port <= r->port_hi; port++)
			if (port >= ports->lo && port <= ports->hi &&
			    !rules_port_reserved(ports, (uint16_t)port))
				n++;
		if (n)
			fprintf(stderr,
				"portwatchd: warning: line %u: %u protected port%s in the ephemeral "
				"range %u-%u (net.ipv4.ip_local_port_range): an autobind can take "
				"them unseen; add them to net.ipv4.ip_local_reserved_ports\n",
				r->line, n, n == 1 ? " is" : "s are", ports->lo, ports->hi);
	}
	free(ports);
}

/* `portwatchd --check`: the configuration in force, in the file's own syntax. */
static void print_config(const struct pw_config *c)
{
	static const char *const levels[] = { [LOG_ERR] = "error", [LOG_WARNING] = "warning",
					      [LOG_NOTICE] = "notice", [LOG_INFO] = "info",
					      [LOG_DEBUG] = "debug" };

	printf("# configuration file: %s\n", c->path[0] ? c->path : "(none, built-in defaults)");
	printf("[daemon]\nlog_level = %s\nreconcile_interval = %u\nring_size = %zu\n"
	       "owners_dir = %s\n",
	       levels[c->log_level], c->reconcile_s, c->ring_bytes >> 20, c->owners_dir);
	printf("\n[control]\nsocket = %s\nmode = %04o\ngroup = %s\nidle_timeout = %u\n"
	       "max_clients_per_uid = %u\n",
	       c->socket_path, (unsigned int)c->socket_mode, c->socket_group, c->idle_timeout_s,
	       c->clients_per_uid);
	printf("\n[syslog]\nfacility = %s\nformat = %s\njournal = %s\n",
	       config_facility_name(c->syslog_facility), config_syslog_format_name(c->syslog_format),
	       config_journal_name(c->journal));
	printf("\n[alerts]\ntakeover_window = %llu\nfold_window = %llu\nalert_history = %zu\n"
	       "conflict_history = %zu\n",
	       (unsigned long long)(c->takeover_window_ns / 1000000000ULL),
	       (unsigned long long)(c->fold_window_ns / 1000000000ULL), c->alert_history,
	       c->conflict_history);
	printf("# %zu ignored ports, %zu allow rules\n", c->policy.nignored, c->policy.nallow);
	printf("\n[metrics]\n%stextfile =%s%s\ninterval = %u\n",
	       c->metrics_textfile[0] ? "" : "# none: no metrics file\n",
	       c->metrics_textfile[0] ? " " : "", c->metrics_textfile, c->metrics_interval_s);
	print_protect(&c->protect);
}

/*
 * Where an alert goes (portwatchd(8) "Journal"): with journal = yes, or
 * auto and journald's socket there, a native journal entry whose MESSAGE
 * is the syslog line. The syslog line then still goes to syslog unless
 * /dev/log is that same journald, and to stderr unless stderr is a journal
 * stream: either would put the alert in the journal twice (and, through
 * ForwardToSyslog= or imjournal, in the syslog daemon behind it). When the
 * entry cannot be sent the line goes everywhere, as without a journal.
 */
static void on_alert(const struct pw_alert *a, void *arg)
{
	static uint64_t journal_fail_log_ns;
	struct daemon *d = arg;
	static struct journal_entry je;
	unsigned int to = LOGTO_STDERR | LOGTO_SYSLOG;
	json_object *o = NULL;
	char kv[1024];
	const char *line;
	int avail, r;

	if (d->cfg.syslog_format == PW_SYSLOG_ECS) {
		char host[HOST_NAME_MAX + 1];

		/* each time: the host may be renamed while portwatchd runs */
		if (gethostname(host, sizeof(host)))
			host[0] = '\0';
		host[HOST_NAME_MAX] = '\0';
		o = ecs_alert(a, host);
		line = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	} else if (d->cfg.syslog_format == PW_SYSLOG_JSON) {
		o = pwj_alert(a);
		line = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	} else {
		pw_alert_kv(a, kv, sizeof(kv));
		line = kv;
	}
	avail = d->cfg.journal != PW_JOURNAL_NO && journal_available();
	if (avail || d->cfg.journal == PW_JOURNAL_YES) {
		journal_entry_build(&je, a, line, d->cfg.syslog_facility);
		r = avail ? journal_send(&je) : -ENOENT;
		if (!r) {
			if (journal_devlog_is_journal())
				to &= ~LOGTO_SYSLOG;
			if (journal_stderr_is_journal())
				to &= ~LOGTO_STDERR;
		} else if (a->time_ns - journal_fail_log_ns >= 60ULL * 1000000000ULL) {
			journal_fail_log_ns = a->time_ns;
			log_warnx("alert %llu: cannot send it to journald (%s): %s; it goes to syslog "
				  "(logged once a minute)",
				  (unsigned long long)a->id, JOURNAL_SOCKET, strerror(-r));
		}
	}
	log_alert_line(pw_alert_priority(a), to, "%s", line);
	json_object_put(o);
	ctl_publish_alert(&d->ctl, a);
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct daemon *d = ctx;
	struct pw_event buf;
	const struct pw_event *e = pwbpf_record(data, size, &buf);

	if (!e) { /* a BPF side of another layout */
		d->bpf.short_records++;
		return 0;
	}
	monitor_handle_event(&d->mon, e);
	nat_note_netns(&d->nat, e->sk.netns);
	if (e->type == PW_EV_SOCKOPT &&
	    (e->sockopt == PW_SOCKOPT_FILTER_CBPF || e->sockopt == PW_SOCKOPT_FILTER_EBPF))
		sniffmon_event(&d->sniff, e);
	freebind_on_event(&d->freebind, e);
	return 0;
}

/*
 * Count what a drain returned: n records drained, or -errno for a failure
 * of the rings themselves (ring_buffer__consume() < 0: epoll or map
 * errors), logged once a minute at most with the count; the events stay
 * in the rings and the next wake-up tries again.
 */
static void drained(struct daemon *d, int n)
{
	uint64_t now;

	if (n >= 0) {
		d->ring_seen += n;
		return;
	}
	d->consume_errors++;
	now = monitor_now();
	if (d->consume_log_ns && now - d->consume_log_ns < 60ULL * 1000000000ULL)
		return;
	log_warnx("reading the ring buffer failed: %s (%llu failures in the last minute)",
		  strerror(-n), (unsigned long long)d->consume_errors);
	d->consume_log_ns = now;
	d->consume_errors = 0;
}

/*
 * Apply the events waiting in the ring buffers: all of them, except, with
 * several rings, those another CPU's ring may still precede; they wait
 * for the next drain (pwbpf_consume(), the flush timer stays armed).
 */
static void drain_ring(struct daemon *d)
{
	drained(d, pwbpf_consume(&d->bpf));
}

/*
 * drain_ring() for a request or a reconciliation: every record stamped
 * before now is applied, none left waiting for another CPU's ring
 * (pwbpf_consume_sync()).
 */
static void drain_ring_sync(struct daemon *d)
{
	drained(d, pwbpf_consume_sync(&d->bpf));
}

static int add_fd(struct daemon *d, int fd, void *tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = tag };

	return epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
}

/* Fire every period_ns from now on; 0 disarms (and drops expirations not read). */
static int timer_set(int fd, long long period_ns)
{
	struct itimerspec its = {
		.it_interval = { period_ns / 1000000000LL, period_ns % 1000000000LL },
		.it_value = { period_ns / 1000000000LL, period_ns % 1000000000LL },
	};

	return timerfd_settime(fd, 0, &its, NULL);
}

static int timer_fd(long long period_ns)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);

	if (fd >= 0 && timer_set(fd, period_ns)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Before blocking: drain again in PW_BUSY_NS, or sleep until the BPF side
 * wakes us. Called at the top of every turn of the loop.
 *  - Awake, events drained since the last call: they may keep coming, stay
 *    on the flush timer.
 *  - Awake, none: set the flag and disarm the timer, unless pwbpf_sleep()
 *    finds the ring not empty after setting it (an event whose program
 *    read "awake" just before: it woke nobody, the timer must fetch it).
 *  - Asleep, flag still set, nothing drained: no event came, block.
 *  - Asleep, flag cleared: an event took the wake-up; back on the timer
 *    even if the drain found nothing (an earlier record may not have been
 *    committed yet: it sits in front of the one that woke us).
 */
static void ring_settle(struct daemon *d)
{
	if (d->asleep) {
		if (!d->ring_seen && pwbpf_asleep(&d->bpf))
			return;
		pwbpf_wake(&d->bpf);
		if (timer_set(d->flush_fd, PW_BUSY_NS))
			fatal("arming the flush timer");
		d->asleep = 0;
		d->ring_seen = 0;
		return;
	}
	if (d->ring_seen) {
		d->ring_seen = 0;
		return;
	}
	if (!pwbpf_sleep(&d->bpf))
		return;
	if (timer_set(d->flush_fd, 0))
		fatal("disarming the flush timer");
	d->asleep = 1;
}

static void reconcile(struct daemon *d, const char *why)
{
	int err;

	drain_ring_sync(d); /* apply what is queued before comparing */
	err = monitor_reconcile(&d->mon);
	if (err == -ENOTRECOVERABLE)
		fatalx("cannot return to the daemon's own network namespace");
	if (err)
		log_warnx("reconciliation (%s) failed: %s", why, strerror(-err));
}

/*
 * STATUS= for `systemctl status` (sd_notify(3)), sent when it changes.
 * Without NOTIFY_SOCKET sd_notify() does nothing.
 */
static void notify_status(struct daemon *d)
{
	char status[sizeof(d->status)];

	snprintf(status, sizeof(status),
		 "STATUS=watching %zu sockets in %u netns, %llu alerts, %llu events lost",
		 table_size(d->mon.table), d->mon.stats.netns,
		 (unsigned long long)d->mon.stats.alerts, (unsigned long long)d->dropped_seen);
	if (strcmp(status, d->status)) {
		sd_notify(0, status);
		memcpy(d->status, status, sizeof(status));
	}
}

/*
 * The metrics file of [metrics] textfile, when there is one (metrics.h).
 * A failure is logged when it is not the one logged last, so a directory
 * that stays unwritable costs one line, not one per interval; every
 * failure is counted (portwatch_metrics_write_errors_total), and the
 * first good write after failures says how many there were.
 */
static void write_metrics(struct daemon *d)
{
	struct metrics_sample s;
	struct utsname u;
	const char *what;
	int err;

	if (!d->cfg.metrics_textfile[0])
		return;
	memset(&s, 0, sizeof(s));
	_Static_assert(sizeof(s.events) == sizeof(d->mon.stats.events) &&
			       sizeof(s.alerts) == sizeof(d->mon.stats.alerts_by),
		       "the sample holds the monitor's counters as they are");
	memcpy(s.events, d->mon.stats.events, sizeof(s.events));
	s.dropped_ok = !pwbpf_counter(&d->bpf, PW_CNT_DROPPED, &s.dropped);
	s.filtered_ok = !pwbpf_counter(&d->bpf, PW_CNT_FILTERED, &s.filtered);
	memcpy(s.alerts, d->mon.stats.alerts_by, sizeof(s.alerts));
	s.alerts_folded = d->mon.stats.alerts_folded;
	s.conflicts = d->mon.stats.conflicts;
	if (metrics_count_sockets(&s, d->mon.table))
		log_debug("metrics: more (protocol, state) pairs than %d; some left out",
			  METRICS_MAX_SOCKET_STATES);
	s.netns = d->mon.stats.netns;
	s.reconciliations = d->mon.stats.reconciliations;
	s.last_reconcile_ms = d->mon.stats.last_reconcile_ms;
	s.control_clients = d->ctl.nclients;
	s.write_errors = d->metrics_errors;
	s.version = PW_RELEASE;
	s.kernel = uname(&u) ? "" : u.release;
	s.fd_to_socket = d->bpf.fd_read;
	err = metrics_write(d->cfg.metrics_textfile, &s, &what);
	if (!err) {
		if (d->metrics_failing)
			log_notice("metrics: %s written again, after %llu failed writes",
				   d->cfg.metrics_textfile, (unsigned long long)d->metrics_failing);
		d->metrics_failing = 0;
		d->metrics_err = 0;
		return;
	}
	d->metrics_errors++;
	d->metrics_failing++;
	if (err == d->metrics_err)
		return;
	d->metrics_err = err;
	log_warnx("metrics: cannot %s %s: %s; retrying every %u s, logged again when the error "
		  "changes", what, d->cfg.metrics_textfile, strerror(-err),
		  d->cfg.metrics_interval_s);
}

/*
 * Make the kernel enforce p when its mode is enforce (load and attach
 * protect.bpf.c the first time), or stop enforcing. Returns 0, or -errno
 * with msg; then the rules in force before stay in force.
 */
static int protect_enforce(struct daemon *d, struct pw_protect *p, char *msg, size_t len)
{
	const char *what = NULL;
	char err[300];
	int opened = 0, r;

	if (p->mode != PW_PROTECT_ENFORCE) {
		if (d->protect.skel) {
			protectbpf_close(&d->protect);
			d->mon.protect_prog_ids[0] = d->mon.protect_prog_ids[1] = 0;
			log_notice("protect: enforcement off, cgroup/bind4 and cgroup/bind6 detached");
		}
		return 0;
	}
	if (!d->protect.skel) {
		r = protectbpf_open(&d->protect, &what);
		if (r) {
			snprintf(msg, len, "protect: cannot %s: %s", what, strerror(-r));
			return r;
		}
		opened = 1;
	}
	r = protectbpf_apply(&d->protect, p, d->snap, err, sizeof(err));
	if (r) {
		snprintf(msg, len, "protect: %s", err);
		if (opened)
			protectbpf_close(&d->protect);
		return r;
	}
	d->mon.protect_prog_ids[0] = d->protect.prog_id4;
	d->mon.protect_prog_ids[1] = d->protect.prog_id6;
	for (size_t i = 0; opened && d->mon.holds.n && i < HOLD_SLOTS; i++) {
		/* holds made before enforcement stopped and came back: new maps */
		struct pw_hold *h = &d->mon.holds.slot[i];

		if (h->protocol) {
			h->netns_cookie = 0;
			protectbpf_hold(&d->protect, h, 1, d->snap);
		}
	}
	if (opened)
		log_info("protect: enforcing with cgroup/bind4 and cgroup/bind6 at %s (programs %u "
			 "and %u, owned by this process)", d->protect.cgroup_root,
			 d->protect.prog_id4, d->protect.prog_id6);
	log_info("protect: %zu rules in the kernel", p->nrules);
	if (d->protect.unresolved)
		log_warnx("protect: %u selectors match nothing yet (no such executable, cgroup, "
			  "unit cgroup or netns); looked up again every few seconds",
			  d->protect.unresolved);
	return 0;
}

/* Takeover protection: the monitor's holds follow into protect.bpf.c (monitor_hold_fn). */
static void on_hold(struct pw_hold *h, int added, void *arg)
{
	struct daemon *d = arg;
	int err = protectbpf_hold(&d->protect, h, added, d->snap);

	if (err)
		log_warnx("protect: %s the takeover hold of port %u/%s in netns %u: %s",
			  added ? "writing" : "deleting", h->port, pw_proto_name(h->protocol),
			  h->netns, strerror(-err));
	else if (added) /* an owner restarting over and over: too many for info */
		log_debug("protect: takeover protection keeps port %u/%s of netns %u for uid %u "
			  "(%s) for %llu s", h->port, pw_proto_name(h->protocol), h->netns,
			  h->gone.owner.uid, *pw_owner_exe(&h->gone.owner) ? pw_owner_exe(&h->gone.owner) : "?",
			  (unsigned long long)((h->until_ns - h->since_ns) / 1000000000ULL));
}

/* Executables replaced, units started, namespaces made: the kernel's view follows. */
static void protect_refresh(struct daemon *d)
{
	static uint64_t last_log;
	char err[300];
	int r;

	if (d->cfg.protect.mode == PW_PROTECT_OFF)
		return;
	protect_resolve_exes(&d->cfg.protect);
	r = protectbpf_refresh(&d->protect, &d->cfg.protect, d->snap, err, sizeof(err));
	if (r && monitor_now() - last_log > 60000000000ULL) {
		last_log = monitor_now();
		log_warnx("protect: refreshing the kernel's rules: %s", err);
	}
}

/*
 * A BPF sk_lookup link the scans had not seen: diversion/sk_lookup, once.
 * The contender is the process holding the link (none when only a pin or
 * nobody holds it); the holder names no socket: the program may take any
 * port's traffic in that namespace.
 */
static void on_new_sklookup(struct sklookup_link *l, void *arg)
{
	struct rules_alert ra = { RULES_KIND_DIVERSION, RULES_REASON_SK_LOOKUP,
				  RULES_SEV_WARNING };
	struct daemon *d = arg;
	struct pw_entry holder = { .sk = { .family = AF_INET, .netns = l->netns } };
	struct pw_entry contender = holder;
	char msg[PW_MSG_LEN];

	if (!l->netns) /* its namespace is gone: it diverts nothing any more */
		return;
	contender.owner = l->owner;
	contender.since_ns = l->first_ns;
	sklookup_message(msg, sizeof(msg), l);
	l->alert_id = monitor_raise(&d->mon, &ra, &holder, &contender, 0, msg, l->first_ns);
}

static void scan_sklookup(struct daemon *d)
{
	int err = sklookup_scan(&d->sklookup, monitor_now(), on_new_sklookup, d);

	if (err && err != d->sklookup_err)
		log_warnx("reading the BPF sk_lookup links failed: %s; diversions by sk_lookup "
			  "programs are not seen until it works again", strerror(-err));
	else if (!err && d->sklookup_err)
		log_notice("reading the BPF sk_lookup links works again");
	d->sklookup_err = err;
}

/* Write the expected owners when they changed; a failure is logged when it changes. */
static void save_owners(struct daemon *d)
{
	int err;

	if (!d->expected.dirty || !d->cfg.owners_dir[0])
		return;
	err = expected_save(&d->expected, d->cfg.owners_dir);
	if (err && err != d->expected_err)
		log_warnx("cannot write the expected owners to %s/%s: %s; they are kept in memory "
			  "(logged again when the error changes)", d->cfg.owners_dir, EXPECTED_FILE,
			  strerror(-err));
	d->expected_err = err;
}

/* A period of n seconds began between housekeeping second prev and now (ticks). */
static int due(unsigned int prev, unsigned int now, unsigned int n)
{
	return n && prev / n != now / n;
}

/* The tick while idle: PW_IDLE_TICK_S, or a configured period shorter than that. */
static unsigned int idle_tick_s(const struct daemon *d)
{
	unsigned int t = PW_IDLE_TICK_S;

	if (d->cfg.metrics_textfile[0] && d->cfg.metrics_interval_s && d->cfg.metrics_interval_s < t)
		t = d->cfg.metrics_interval_s;
	if (d->cfg.reconcile_s && d->cfg.reconcile_s < t)
		t = d->cfg.reconcile_s;
	return t;
}

/* Events the monitor has handled since start. */
static uint64_t events_handled(const struct daemon *d)
{
	uint64_t n = 0;

	for (size_t i = 0; i < sizeof(d->mon.stats.events) / sizeof(d->mon.stats.events[0]); i++)
		n += d->mon.stats.events[i];
	return n;
}

/*
 * Once a second, or every PW_IDLE_TICK_S seconds while idle: lost events,
 * the periodic reconciliation, the metrics file. Each periodic task runs
 * when its period began since the last tick (due()), so the tasks keep
 * their periods whichever the tick.
 */
static void housekeeping(struct daemon *d)
{
	uint64_t dropped = 0, events;
	int err = pwbpf_counter(&d->bpf, PW_CNT_DROPPED, &dropped);
	unsigned int prev = d->ticks, tick_s;

	d->ticks += d->tick_s;
	if (err && due(prev, d->ticks, 60))
		log_warnx("reading the lost-event counter of the BPF side failed: %s; lost events "
			  "are not noticed until it reads again", strerror(-err));
	if (!err && dropped != d->dropped_seen) {
		log_warnx("ring buffer full or no room to record a call: %llu events lost "
			  "(%llu in all), reconciling the table",
			  (unsigned long long)(dropped - d->dropped_seen),
			  (unsigned long long)dropped);
		d->dropped_seen = dropped;
		reconcile(d, "after lost events");
	} else if (due(prev, d->ticks, d->cfg.reconcile_s)) {
		reconcile(d, "periodic");
	}
	if (due(prev, d->ticks, 5))
		protect_refresh(d);
	if (due(prev, d->ticks, PW_SKLOOKUP_SCAN_S)) {
		scan_sklookup(d);
		sniffmon_prune(&d->sniff); /* a readlink(2) per sniffer: at most SNIFF_MAX */
		freebind_housekeeping(&d->freebind);
	}
	nat_tick(&d->nat, d->tick_s);
	if (due(prev, d->ticks, PW_OWNERS_SAVE_S))
		save_owners(d);
	monitor_fold_flush(&d->mon, monitor_now());
	monitor_holds_expire(&d->mon, monitor_now());
	protectbpf_tidy(&d->protect);
	{
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		ctl_tick(&d->ctl, (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec);
	}
	notify_status(d);
	if (due(prev, d->ticks, d->cfg.metrics_interval_s))
		write_metrics(d);
	events = events_handled(d);
	tick_s = events != d->tick_events || monitor_timers_pending(&d->mon) ? 1 : idle_tick_s(d);
	d->tick_events = events;
	if (tick_s != d->tick_s && !timer_set(d->house_fd, (long long)tick_s * 1000000000LL))
		d->tick_s = tick_s;
}

static void drain_fd(int fd)
{
	uint64_t buf[16];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

/* Make cfg (already checked) the configuration in force; takes it over. */
static void apply_config(struct daemon *d, struct pw_config *cfg)
{
	log_setlevel(cfg->log_level);
	log_set_facility(cfg->syslog_facility);
	d->mon.cfg.takeover_window_ns = cfg->takeover_window_ns;
	d->mon.cfg.fold_window_ns = cfg->fold_window_ns;
	d->ctl.idle_timeout_ns = (uint64_t)cfg->idle_timeout_s * 1000000000ULL;
	d->ctl.clients_per_uid = cfg->clients_per_uid;
	config_free(&d->cfg);
	d->cfg = *cfg;
	d->mon.cfg.policy = &d->cfg.policy;
	d->mon.cfg.protect = &d->cfg.protect;
}

/*
 * Re-read the file (SIGHUP, the `reload` request). On error the running
 * configuration stays and msg says why; settings that only take effect at
 * start (socket, ring size, histories) are reported when they changed.
 * Tells systemd RELOADING=1 ... READY=1 (sd_notify(3)).
 */
static int reload(struct daemon *d, char *msg, size_t len)
{
	struct pw_config cfg;
	char err[600];
	int r;

	sd_notify(0, "RELOADING=1\nSTATUS=reloading the configuration");
	r = load_config(&d->opt, &cfg, err, sizeof(err));
	if (r) {
		snprintf(msg, len, "%s; keeping the running configuration", err);
		sd_notify(0, "READY=1");
		d->status[0] = '\0';
		notify_status(d);
		return r;
	}
	if (strcmp(cfg.socket_path, d->cfg.socket_path) || cfg.socket_mode != d->cfg.socket_mode ||
	    strcmp(cfg.socket_group, d->cfg.socket_group) || cfg.ring_bytes != d->cfg.ring_bytes ||
	    cfg.alert_history != d->cfg.alert_history ||
	    cfg.conflict_history != d->cfg.conflict_history)
		log_notice("reload: the control socket, ring_size and history settings take effect "
			   "at the next start");
	/* keep what cannot change while running, so --check-style output stays true */
	memcpy(cfg.socket_path, d->cfg.socket_path, sizeof(cfg.socket_path));
	memcpy(cfg.socket_group, d->cfg.socket_group, sizeof(cfg.socket_group));
	cfg.socket_mode = d->cfg.socket_mode;
	cfg.ring_bytes = d->cfg.ring_bytes;
	cfg.alert_history = d->cfg.alert_history;
	cfg.conflict_history = d->cfg.conflict_history;
	protect_resolve_exes(&cfg.protect);
	protect_keep_counts(&cfg.protect, &d->cfg.protect);
	r = protect_enforce(d, &cfg.protect, msg, len);
	if (r) {
		size_t n = strlen(msg);

		snprintf(msg + n, len - n, "; keeping the running configuration");
		config_free(&cfg);
		sd_notify(0, "READY=1");
		d->status[0] = '\0';
		notify_status(d);
		return r;
	}
	snprintf(msg, len, "configuration reloaded from %s: %zu allow rules, %zu ignored ports",
		 cfg.path[0] ? cfg.path : "(no file: built-in defaults)", cfg.policy.nallow,
		 cfg.policy.nignored);
	apply_config(d, &cfg);
	monitor_holds_expire(&d->mon, monitor_now()); /* those the new rules no longer ask for */
	sd_notify(0, "READY=1");
	d->status[0] = '\0';
	notify_status(d);
	return 0;
}

/* ctl's `reload` request (root peers only; ctl_cmd.c checks): what SIGHUP does. */
static int ctl_reload(void *arg, char *msg, size_t len)
{
	int r = reload(arg, msg, len);

	reconcile(arg, "reload");
	return r;
}

static void on_signal(struct daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->signal_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			char msg[600];

			log_info("SIGHUP: reloading the configuration");
			if (reload(d, msg, sizeof(msg)))
				log_warnx("%s", msg);
			else
				log_info("%s", msg);
			reconcile(d, "SIGHUP");
		} else {
			log_info("%s: shutting down", strsignal(si.ssi_signo));
			d->running = 0;
		}
	}
}

static void loop(struct daemon *d)
{
	struct epoll_event evs[64];

	d->running = 1;
	while (d->running) {
		int n;

		ring_settle(d);
		n = epoll_wait(d->epoll_fd, evs, 64, ctl_pending(&d->ctl) ? 0 : -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fatal("epoll_wait");
		}
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;

			if (p == &tag_ring || p == &tag_flush) {
				if (p == &tag_flush)
					drain_fd(d->flush_fd);
				drain_ring(d);
			} else if (p == &tag_nat) {
				nat_handle(&d->nat);
			} else if (p == &tag_house) {
				drain_fd(d->house_fd);
				housekeeping(d);
			} else if (p == &tag_watchdog) {
				/* from the loop itself: a loop that hangs stops the pings */
				drain_fd(d->watchdog_fd);
				sd_notify(0, "WATCHDOG=1");
			} else if (p == &tag_signal) {
				on_signal(d);
			} else if (p == &tag_freebind) {
				freebind_on_ready(&d->freebind);
			} else {
				ctl_handle(&d->ctl, p, evs[i].events);
			}
		}
		/*
		 * Requests are answered only with the table up to date: every
		 * call that returned before a request was sent has its event in
		 * the ring by now (ctl.h).
		 */
		if (ctl_pending(&d->ctl)) {
			drain_ring_sync(d);
			ctl_serve(&d->ctl);
		}
		ctl_reap(&d->ctl);
	}
}

/*
 * The control socket systemd passed (portwatchd.socket, sd_listen_fds(3)):
 * its fd, -1 when not socket-activated. More than one fd, or one that is
 * not a listening Unix stream socket, is a unit-file error: fatal.
 */
static int activation_fd(void)
{
	int n = sd_listen_fds(1);

	if (n < 0)
		fatalx("LISTEN_FDS: %s", strerror(-n));
	if (n == 0)
		return -1;
	if (n > 1)
		fatalx("systemd passed %d sockets; portwatchd.socket must have exactly one "
		       "ListenStream=", n);
	if (sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL, 0) <= 0)
		fatalx("the socket systemd passed is not a listening Unix stream socket");
	return SD_LISTEN_FDS_START;
}

/*
 * WATCHDOG=1 at half of WATCHDOG_USEC (sd_watchdog_enabled(3)), from a
 * timerfd in the event loop; -1 when systemd asked for no watchdog.
 */
static int watchdog_fd(void)
{
	uint64_t usec = 0;
	int r = sd_watchdog_enabled(1, &usec);

	if (r < 0)
		log_warnx("WATCHDOG_USEC: %s; running without the watchdog", strerror(-r));
	if (r <= 0 || !usec)
		return -1;
	log_info("systemd watchdog: pinging every %llu ms", (unsigned long long)usec / 2000);
	return timer_fd((long long)usec * 1000 / 2);
}

/*
 * Room for every control client and the daemon's own files: the usual
 * soft limit (1024) is below PW_CTL_MAX_CLIENTS plus the ~50 the daemon
 * holds. Raised up to the hard limit; what cannot be had is said once
 * (connections past it wait: ctl.c pauses the listener on EMFILE).
 */
static void raise_nofile(void)
{
	const rlim_t want = PW_CTL_MAX_CLIENTS + 256;
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r) || r.rlim_cur >= want)
		return;
	r.rlim_cur = r.rlim_max != RLIM_INFINITY && r.rlim_max < want ? r.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &r))
		log_warn("raising the open-file limit to %llu", (unsigned long long)r.rlim_cur);
	else if (r.rlim_cur < want)
		log_warnx("open-file limit %llu (hard): below the %d control clients portwatchd "
			  "serves plus its own files; connections past it wait",
			  (unsigned long long)r.rlim_cur, PW_CTL_MAX_CLIENTS);
}

/* CPU time of the daemon (single-threaded: the process's), ms. */
static uint64_t cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void setup(struct daemon *d)
{
	struct ctl_socket_opts so = {
		.path = d->cfg.socket_path,
		.mode = d->cfg.socket_mode,
		.group = d->cfg.socket_group,
		.fd = activation_fd(),
		.idle_timeout_s = d->cfg.idle_timeout_s,
		.clients_per_uid = d->cfg.clients_per_uid,
	};
	const char *what = NULL;
	struct kbehavior kb;
	sigset_t mask;
	uint64_t cpu0;
	int err;

	raise_nofile();
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	d->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	d->flush_fd = timer_fd(PW_BUSY_NS); /* awake until the first ring_settle() */
	d->tick_s = 1;
	d->house_fd = timer_fd(1000000000LL);
	d->watchdog_fd = watchdog_fd();
	if (d->signal_fd < 0 || d->epoll_fd < 0 || d->flush_fd < 0 || d->house_fd < 0)
		fatal("creating the event loop's fds");

	/* before the BPF programs: their trial sockets are nobody's business */
	err = kbehavior_probe(&kb);
	if (err)
		log_warnx("kernel behaviour trials in a private network namespace: %s: "
			  "`check` says \"uncertain\" where kernels differ", strerror(-err));
	log_info("kernel behaviour: UDP bind walk %s; sock_diag lists bound-only TCP "
		 "sockets: %s; TCP SO_REUSEPORT uid: %s", rules_udp_walk_name(kb.udp_walk),
		 kb.diag_bound_inactive < 0 ? "unknown" : kb.diag_bound_inactive ? "yes" : "no",
		 rules_reuseport_uid_name(kb.reuseport_uid));
	for (unsigned int b = 1; b <= RULES_B2_TW; b <<= 1)
		if (b & (kb.tcp_bhash2_unsure | (kb.tcp_bhash2_meets ^ RULES_B2_FIXED)))
			log_info("kernel behaviour: a TCP bind of a specific address %s %s (%s): "
				 "check follows it", b & kb.tcp_bhash2_unsure ? "may or may not meet" :
				 b & kb.tcp_bhash2_meets ? "meets" : "does not meet",
				 b == RULES_B2_TW ? "TIME_WAIT entries" : "the wildcard holder",
				 rules_b2_name(b));
	if (kb.tcp_mapped_any_unseen == 1)
		log_info("kernel behaviour: a TCP bind of a v4-mapped address does not meet "
			 "[::ffff:0.0.0.0] sockets (Linux 6.1's bhash2 check): check follows it");
	if (kb.diag_bound_inactive == 0)
		log_warnx("degraded: TCP sockets that are only bound (neither listening nor "
			  "connected) before portwatchd starts are not in its snapshot: sock_diag "
			  "lists them from Linux 6.5 on");

	sd_notify(0, "STATUS=loading and attaching the BPF programs");
	err = pwbpf_open(&d->bpf, d->cfg.ring_bytes, on_event, d, &what);
	if (err)
		fatalx("cannot %s: %s%s", what, strerror(-err),
		       err == -EPERM ? " (portwatchd needs root or the capabilities of portwatchd(8))"
				     : "");
	for (int i = 0; i < d->bpf.nhooks; i++)
		log_info("attached %s", d->bpf.hooks[i]);
	log_info("fd -> socket, for the syscall and release hooks: %s", d->bpf.fd_read);
	if (!d->bpf.release_hook)
		log_warnx("cgroup/sock_release unavailable: closed sockets leave the table at the "
			  "next reconciliation");

	err = snap_open(&d->snap);
	if (err)
		fatalx("cannot load the socket iterators (iter/tcp, iter/udp): %s", strerror(-err));
	{
		struct monitor_config mc;

		monitor_defaults(&mc);
		mc.takeover_window_ns = d->cfg.takeover_window_ns;
		mc.fold_window_ns = d->cfg.fold_window_ns;
		mc.alert_history = d->cfg.alert_history;
		mc.conflict_history = d->cfg.conflict_history;
		mc.policy = &d->cfg.policy;
		mc.protect = &d->cfg.protect;
		if (monitor_init(&d->mon, &mc, d->snap, pwbpf_tracked_fd(&d->bpf), on_alert, d))
			fatalx("out of memory");
		d->mon.kb = kb;
		d->mon.on_hold = on_hold;
		d->mon.on_hold_arg = d;
	}
	if (expected_init(&d->expected))
		fatalx("out of memory");
	d->mon.expected = &d->expected;
	if (d->cfg.owners_dir[0]) {
		err = expected_load(&d->expected, d->cfg.owners_dir);
		if (err > 0)
			log_warnx("%s/%s: %d lines that do not parse skipped", d->cfg.owners_dir,
				  EXPECTED_FILE, err);
		else if (err < 0 && err != -ENOENT)
			log_warnx("cannot read the expected owners from %s/%s: %s; starting without",
				  d->cfg.owners_dir, EXPECTED_FILE, strerror(-err));
	}

	if (sniffmon_init(&d->sniff, &d->mon, d->snap))
		fatalx("out of memory");
	err = freebind_init(&d->freebind, &d->mon, d->snap);
	if (err)
		fatalx("free binds: %s", strerror(-err));
	log_info("taking a snapshot of every TCP and UDP socket in every network namespace");
	sd_notify(0, "STATUS=taking a snapshot of every TCP and UDP socket");
	cpu0 = cpu_ms();
	err = monitor_reconcile(&d->mon);
	if (err)
		fatalx("startup snapshot failed: %s", strerror(-err));
	/* the CPU time, kernel side of the iterators included, is what load does not stretch */
	log_info("snapshot: %zu sockets in %u network namespaces in %llu ms (%llu ms CPU)",
		 table_size(d->mon.table), d->mon.stats.netns,
		 (unsigned long long)d->mon.stats.last_reconcile_ms,
		 (unsigned long long)(cpu_ms() - cpu0));
	drain_ring(d);
	scan_sklookup(d);
	log_info("BPF sk_lookup links: %zu", d->sklookup.n);
	err = nat_init(&d->nat, d->snap, &d->mon);
	if (err)
		fatalx("cannot set up the nftables watch: %s", strerror(-err));
	nat_tick(&d->nat, 1);
	log_info("nftables: %zu network namespaces followed, %zu diverting rules",
		 nat_namespaces(&d->nat), nat_rules(&d->nat));
	err = sniffmon_scan(&d->sniff);
	if (err)
		log_warnx("looking for packet sniffers: %s; the ones started before the daemon "
			  "may be missing", strerror(-err));
	log_info("packet sniffers: %zu", d->sniff.set.n);

	protect_resolve_exes(&d->cfg.protect);
	{
		char msg[400];

		if (protect_enforce(d, &d->cfg.protect, msg, sizeof(msg)))
			fatalx("%s (mode enforce; set mode = monitor to run without it)", msg);
		if (d->cfg.protect.mode != PW_PROTECT_OFF)
			log_info("protect: mode %s, %zu rules", protect_mode_name(d->cfg.protect.mode),
				 d->cfg.protect.nrules);
	}

	err = ctl_open(&d->ctl, &so, d->epoll_fd, &d->mon, &d->bpf);
	if (err == -EADDRINUSE)
		fatalx("%s: another portwatchd answers on this socket", so.path);
	if (err == -EEXIST)
		fatalx("%s exists and is not a socket: refusing to replace it", so.path);
	if (err)
		fatalx("cannot create control socket %s: %s", so.fd >= 0 ? "(passed by systemd)" :
			so.path, strerror(-err));
	if (d->ctl.activated && strcmp(d->ctl.path, d->cfg.socket_path))
		log_notice("serving on %s from systemd; the configured socket %s is not used",
			   d->ctl.path, d->cfg.socket_path);
	d->ctl.sklookup = &d->sklookup;
	d->ctl.nat = &d->nat;
	d->ctl.sniffers = &d->sniff.set;
	d->ctl.freebind = &d->freebind;
	d->ctl.reload = ctl_reload;
	d->ctl.reload_arg = d;
	if (add_fd(d, pwbpf_epoll_fd(&d->bpf), &tag_ring) || add_fd(d, d->signal_fd, &tag_signal) ||
	    add_fd(d, d->flush_fd, &tag_flush) || add_fd(d, d->house_fd, &tag_house) ||
	    add_fd(d, nat_fd(&d->nat), &tag_nat) ||
	    add_fd(d, freebind_fd(&d->freebind), &tag_freebind) ||
	    (d->watchdog_fd >= 0 && add_fd(d, d->watchdog_fd, &tag_watchdog)))
		fatal("epoll_ctl");
	log_info("portwatchd %s ready: %zu sockets watched, control socket %s%s", PW_RELEASE,
		 table_size(d->mon.table), d->ctl.path,
		 d->ctl.activated ? " (from systemd)" : "");
	/* attached, snapshot loaded, the control socket accepts: ready */
	sd_notify(0, "READY=1");
	notify_status(d);
	write_metrics(d); /* now, not one interval later: the last run's file is stale */
}

static void teardown(struct daemon *d)
{
	sd_notify(0, "STOPPING=1\nSTATUS=stopping");
	monitor_fold_flush(&d->mon, UINT64_MAX); /* no folded count is lost at exit */
	save_owners(d);
	write_metrics(d); /* the final counts, folds included */
	ctl_close(&d->ctl);
	protectbpf_close(&d->protect);
	pwbpf_close(&d->bpf);
	snap_close(d->snap);
	monitor_free(&d->mon);
	sklookup_free(&d->sklookup);
	nat_free(&d->nat);
	sniffmon_free(&d->sniff);
	freebind_free(&d->freebind);
	expected_free(&d->expected);
	container_pool_free(); /* after the table: its entries drop their references */
	strpool_free();
	config_free(&d->cfg);
	if (d->watchdog_fd >= 0)
		close(d->watchdog_fd);
	close(d->house_fd);
	close(d->flush_fd);
	close(d->signal_fd);
	close(d->epoll_fd);
}

int main(int argc, char **argv)
{
	static struct daemon d;
	char err[600];
	sigset_t mask;

	/* blocked from the start: a SIGHUP during start-up waits for the loop */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	parse_options(argc, argv, &d.opt);
	if (load_config(&d.opt, &d.cfg, err, sizeof(err))) {
		fprintf(stderr, "portwatchd: %s\n", err);
		return 2;
	}
	if (d.opt.config_test) {
		print_config(&d.cfg);
		config_free(&d.cfg);
		return 0;
	}
	log_setlevel(d.cfg.log_level);
	log_set_facility(d.cfg.syslog_facility);
	/*
	 * Blocks of 1 MiB and more (snapshot arrays, a large `owners` answer)
	 * are mmapped and go back to the system when freed. glibc's default
	 * raises that threshold to the largest block freed so far (up to
	 * 32 MiB), after which such buffers stay in the heap: 110k sockets
	 * left the RSS 11 MiB higher after each reconciliation.
	 */
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	log_init(d.opt.foreground || isatty(STDERR_FILENO), 1);
	if (geteuid() != 0)
		log_notice("not running as root: the capabilities of portwatchd(8) are needed");
	log_info("configuration: %s", d.cfg.path[0] ? d.cfg.path : "built-in defaults (no file)");
	setup(&d);
	loop(&d);
	teardown(&d);
	log_info("stopped");
	return 0;
}
