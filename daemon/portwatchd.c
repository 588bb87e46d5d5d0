// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * portwatchd - eBPF port-reuse monitor daemon.
 *
 * One thread, one epoll loop over: the BPF ring buffer, a signalfd
 * (SIGTERM, SIGINT, SIGHUP), a flush timer that drains the ring buffer
 * every PW_FLUSH_MS (the BPF side wakes us only when the backlog crosses
 * a threshold), a housekeeping timer (drop counter, reconciliation) and
 * the control socket with its clients.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <syslog.h>
#include <unistd.h>

#include "bpfload.h"
#include "ctl.h"
#include "log.h"
#include "monitor.h"
#include "portwatch/proto.h"
#include "report.h"
#include "snap.h"

#define PW_FLUSH_MS 5

struct options {
	const char *socket_path;
	int foreground;
	int log_level;
	int config_test;
	unsigned int reconcile_s;
	size_t ring_bytes;
	struct monitor_config mon;
};

struct daemon {
	struct options opt;
	int epoll_fd, signal_fd, flush_fd, house_fd;
	struct pw_bpf bpf;
	struct snap *snap;
	struct pw_monitor mon;
	struct pw_ctl ctl;
	uint64_t dropped_seen;
	unsigned int ticks;
	int running;
};

/* epoll cookies of the daemon's own fds; anything else belongs to ctl. */
static char tag_ring, tag_signal, tag_flush, tag_house;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: portwatchd [OPTIONS]\n"
		"\n"
		"Watch every bind(2), listen(2) and connect(2) on this host through eBPF, keep a\n"
		"table of who owns which local address, and raise alerts on SO_REUSEADDR /\n"
		"SO_REUSEPORT collisions and port-hijack attempts (syslog, facility daemon).\n"
		"Query it with portwatchctl(1). Must run as root (CAP_BPF, CAP_PERFMON,\n"
		"CAP_SYS_ADMIN for setns(2) and tracefs, CAP_SYS_PTRACE for /proc/PID/fd).\n"
		"\n"
		"Options:\n"
		"  -f, --foreground            log to stderr as well as to syslog\n"
		"  -s, --socket PATH           control socket (default " PW_DEFAULT_SOCKET ")\n"
		"  -l, --log-level LEVEL       error, warning, notice, info (default), debug\n"
		"      --takeover-window SECS  a bind this soon after another program's listener\n"
		"                              went away is a takeover (default 60)\n"
		"      --reconcile-interval SECS\n"
		"                              compare the table with the kernel every SECS\n"
		"                              seconds (default 5; 0 = only after lost events)\n"
		"      --history N             alerts and conflicts kept in memory (default 1024)\n"
		"      --ring-size MIB         BPF ring buffer size, a power of two (default 8)\n"
		"  -n, --check                 check the options, print them, and exit\n"
		"  -h, --help                  this text\n"
		"  -V, --version               version\n"
		"\n"
		"Exit status: 0 after SIGTERM/SIGINT, 1 when start-up fails, 2 on bad options.\n");
}

/* Parse an unsigned decimal in [lo, hi]; -1 on junk or range. */
static long long parse_num(const char *s, long long lo, long long hi)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	return v;
}

static void parse_options(int argc, char **argv, struct options *o)
{
	enum { OPT_TAKEOVER = 256, OPT_RECONCILE, OPT_HISTORY, OPT_RING };
	static const struct option longopts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "socket", required_argument, NULL, 's' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "takeover-window", required_argument, NULL, OPT_TAKEOVER },
		{ "reconcile-interval", required_argument, NULL, OPT_RECONCILE },
		{ "history", required_argument, NULL, OPT_HISTORY },
		{ "ring-size", required_argument, NULL, OPT_RING },
		{ "check", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	long long v;
	int c;

	memset(o, 0, sizeof(*o));
	o->socket_path = PW_DEFAULT_SOCKET;
	o->log_level = LOG_INFO;
	o->reconcile_s = 5;
	o->ring_bytes = 8u << 20;
	monitor_defaults(&o->mon);

	while ((c = getopt_long(argc, argv, "fs:l:nhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			o->foreground = 1;
			break;
		case 's':
			o->socket_path = optarg;
			break;
		case 'l':
			o->log_level = log_parse_level(optarg);
			if (o->log_level < 0)
				goto bad;
			break;
		case OPT_TAKEOVER:
			if ((v = parse_num(optarg, 0, 86400)) < 0)
				goto bad;
			o->mon.takeover_window_ns = v * 1000000000ULL;
			break;
		case OPT_RECONCILE:
			if ((v = parse_num(optarg, 0, 86400)) < 0)
				goto bad;
			o->reconcile_s = v;
			break;
		case OPT_HISTORY:
			if ((v = parse_num(optarg, 1, 1000000)) < 0)
				goto bad;
			o->mon.history = v;
			break;
		case OPT_RING:
			if ((v = parse_num(optarg, 1, 1024)) < 0 || (v & (v - 1)))
				goto bad;
			o->ring_bytes = (size_t)v << 20;
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
		default:
			fprintf(stderr, "Try 'portwatchd --help'.\n");
			exit(2);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "portwatchd: unexpected argument '%s'\nTry 'portwatchd --help'.\n",
			argv[optind]);
		exit(2);
	}
	return;
bad:
	fprintf(stderr, "portwatchd: invalid value '%s' for --%s\nTry 'portwatchd --help'.\n",
		optarg, c == 'l' ? "log-level" : longopts[c - OPT_TAKEOVER + 3].name);
	exit(2);
}

static void on_alert(const struct pw_alert *a, void *arg)
{
	struct daemon *d = arg;
	char line[1024];
	int pri = a->severity == RULES_SEV_CRITICAL ? LOG_CRIT :
		  a->severity == RULES_SEV_WARNING  ? LOG_WARNING :
						      LOG_NOTICE;

	pw_alert_kv(a, line, sizeof(line));
	log_at(pri, "%s", line);
	ctl_publish_alert(&d->ctl, a);
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct daemon *d = ctx;

	if (size < sizeof(struct pw_event))
		return 0;
	monitor_handle_event(&d->mon, data);
	return 0;
}

static int add_fd(struct daemon *d, int fd, void *tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = tag };

	return epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
}

static int timer_fd(long long period_ns)
{
	struct itimerspec its = {
		.it_interval = { period_ns / 1000000000LL, period_ns % 1000000000LL },
		.it_value = { period_ns / 1000000000LL, period_ns % 1000000000LL },
	};
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);

	if (fd >= 0 && timerfd_settime(fd, 0, &its, NULL)) {
		close(fd);
		return -1;
	}
	return fd;
}

static void reconcile(struct daemon *d, const char *why)
{
	int err;

	pwbpf_consume(&d->bpf); /* apply what is queued before comparing */
	err = monitor_reconcile(&d->mon);
	if (err == -ENOTRECOVERABLE)
		fatalx("cannot return to the daemon's own network namespace");
	if (err)
		log_warnx("reconciliation (%s) failed: %s", why, strerror(-err));
}

/* Once a second: lost events, and the periodic reconciliation. */
static void housekeeping(struct daemon *d)
{
	uint64_t dropped = pwbpf_counter(&d->bpf, PW_CNT_DROPPED);

	d->ticks++;
	if (dropped != d->dropped_seen) {
		log_warnx("ring buffer full or no room to record a call: %llu events lost "
			  "(%llu in all), reconciling the table",
			  (unsigned long long)(dropped - d->dropped_seen),
			  (unsigned long long)dropped);
		d->dropped_seen = dropped;
		reconcile(d, "after lost events");
	} else if (d->opt.reconcile_s && d->ticks % d->opt.reconcile_s == 0) {
		reconcile(d, "periodic");
	}
}

static void drain_fd(int fd)
{
	uint64_t buf[16];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

static void on_signal(struct daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->signal_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			log_info("SIGHUP: reconciling the table with the kernel");
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
		int n = epoll_wait(d->epoll_fd, evs, 64, ctl_pending(&d->ctl) ? 0 : -1);

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
				pwbpf_consume(&d->bpf);
			} else if (p == &tag_house) {
				drain_fd(d->house_fd);
				housekeeping(d);
			} else if (p == &tag_signal) {
				on_signal(d);
			} else {
				ctl_handle(&d->ctl, p, evs[i].events);
			}
		}
		ctl_run_pending(&d->ctl);
	}
}

static void setup(struct daemon *d)
{
	const char *what = NULL;
	sigset_t mask;
	int err;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	d->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	d->flush_fd = timer_fd(PW_FLUSH_MS * 1000000LL);
	d->house_fd = timer_fd(1000000000LL);
	if (d->signal_fd < 0 || d->epoll_fd < 0 || d->flush_fd < 0 || d->house_fd < 0)
		fatal("creating the event loop's fds");

	err = pwbpf_open(&d->bpf, d->opt.ring_bytes, on_event, d, &what);
	if (err)
		fatalx("cannot %s: %s%s", what, strerror(-err),
		       err == -EPERM ? " (portwatchd must run as root)" : "");
	for (int i = 0; i < d->bpf.nhooks; i++)
		log_info("attached %s", d->bpf.hooks[i]);
	if (!d->bpf.release_hook)
		log_warnx("cgroup/sock_release unavailable: closed sockets leave the table at the "
			  "next reconciliation");

	err = snap_open(&d->snap);
	if (err)
		fatalx("cannot load the socket iterators (iter/tcp, iter/udp): %s", strerror(-err));
	if (monitor_init(&d->mon, &d->opt.mon, d->snap, pwbpf_tracked_fd(&d->bpf), on_alert, d))
		fatalx("out of memory");

	log_info("taking a snapshot of every TCP and UDP socket in every network namespace");
	err = monitor_reconcile(&d->mon);
	if (err)
		fatalx("startup snapshot failed: %s", strerror(-err));
	log_info("snapshot: %zu sockets in %u network namespaces in %llu ms",
		 table_size(d->mon.table), d->mon.stats.netns,
		 (unsigned long long)d->mon.stats.last_reconcile_ms);
	pwbpf_consume(&d->bpf);

	err = ctl_open(&d->ctl, d->opt.socket_path, d->epoll_fd, &d->mon, &d->bpf);
	if (err == -EADDRINUSE)
		fatalx("%s: another portwatchd answers on this socket", d->opt.socket_path);
	if (err)
		fatalx("cannot create control socket %s: %s", d->opt.socket_path, strerror(-err));
	if (add_fd(d, pwbpf_epoll_fd(&d->bpf), &tag_ring) || add_fd(d, d->signal_fd, &tag_signal) ||
	    add_fd(d, d->flush_fd, &tag_flush) || add_fd(d, d->house_fd, &tag_house))
		fatal("epoll_ctl");
	log_info("portwatchd %s ready: %zu sockets watched, control socket %s", PW_RELEASE,
		 table_size(d->mon.table), d->opt.socket_path);
}

static void teardown(struct daemon *d)
{
	ctl_close(&d->ctl);
	pwbpf_close(&d->bpf);
	snap_close(d->snap);
	monitor_free(&d->mon);
	close(d->house_fd);
	close(d->flush_fd);
	close(d->signal_fd);
	close(d->epoll_fd);
}

int main(int argc, char **argv)
{
	static struct daemon d;

	parse_options(argc, argv, &d.opt);
	log_setlevel(d.opt.log_level);
	if (d.opt.config_test) {
		printf("socket %s\nlog-level %d\ntakeover-window %llu\nreconcile-interval %u\n"
		       "history %zu\nring-size %zu\n",
		       d.opt.socket_path, d.opt.log_level,
		       (unsigned long long)(d.opt.mon.takeover_window_ns / 1000000000ULL),
		       d.opt.reconcile_s, d.opt.mon.history, d.opt.ring_bytes >> 20);
		return 0;
	}
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
		log_warnx("not running as root: loading BPF programs will likely fail");
	setup(&d);
	loop(&d);
	teardown(&d);
	log_info("stopped");
	return 0;
}
