// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* metrics.c - the node_exporter textfile of portwatch.conf(5) [metrics]; see metrics.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "metrics.h"
#include "pwname.h"
#include "text.h"

struct count_ctx {
	struct metrics_sample *s;
	int overflow;
};

static int count_entry(struct pw_entry *e, void *arg)
{
	struct count_ctx *c = arg;
	struct metrics_sample *s = c->s;
	uint8_t proto = e->sk.protocol == IPPROTO_UDP ? IPPROTO_UDP : IPPROTO_TCP;
	const char *state = pw_state_name(&e->sk);
	size_t i;

	for (i = 0; i < s->nsockets; i++)
		if (s->sockets[i].protocol == proto && !strcmp(s->sockets[i].state, state))
			break;
	if (i == s->nsockets) {
		if (i == METRICS_MAX_SOCKET_STATES) {
			c->overflow = 1;
			return 0;
		}
		s->sockets[i].protocol = proto;
		s->sockets[i].state = state;
		s->sockets[i].count = 0;
		s->nsockets++;
	}
	s->sockets[i].count++;
	return 0;
}

static int cmp_sockets(const void *a, const void *b)
{
	const struct metrics_sockets *x = a, *y = b;
	int d = strcmp(pw_proto_name(x->protocol), pw_proto_name(y->protocol));

	return d ? d : strcmp(x->state, y->state);
}

int metrics_count_sockets(struct metrics_sample *s, const struct pw_table *t)
{
	struct count_ctx c = { .s = s };

	s->nsockets = 0;
	table_foreach(t, count_entry, &c);
	qsort(s->sockets, s->nsockets, sizeof(s->sockets[0]), cmp_sockets);
	return c.overflow ? -E2BIG : 0;
}

/*
 * A label value as the text format wants it: backslash, double quote and
 * newline escaped (\\, \", \n), and valid UTF-8 (an invalid byte becomes
 * U+FFFD). NULL is "".
 */
static void label_value(FILE *f, const char *v)
{
	const unsigned char *p = (const unsigned char *)(v ? v : "");
	size_t n = strlen((const char *)p);

	while (n) {
		size_t len = *p < 0x80 ? 1 : text_utf8_len(p, n);

		if (*p == '\\')
			fputs("\\\\", f);
		else if (*p == '"')
			fputs("\\\"", f);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (len)
			fwrite(p, 1, len, f);
		else
			fputs("\xef\xbf\xbd", f);
		p += len ? len : 1;
		n -= len ? len : 1;
	}
}

/* # HELP and # TYPE of a family; help is ours (no '\' or newline to escape). */
static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample(FILE *f, const char *name, uint64_t v)
{
	fprintf(f, "%s %llu\n", name, (unsigned long long)v);
}

int metrics_format(FILE *f, const struct metrics_sample *s)
{
	/* by enum pw_event_type, as monitor_stats.events counts them (ctl_cmd_stats()) */
	static const char *const types[] = {
		[PW_EV_BIND] = "bind",       [PW_EV_LISTEN] = "listen",
		[PW_EV_CONNECT] = "connect", [PW_EV_SOCKOPT] = "sockopt",
		[PW_EV_STATE] = "state",     [PW_EV_RELEASE] = "release",
	};
	_Static_assert(sizeof(types) / sizeof(types[0]) == sizeof(s->events) / sizeof(s->events[0]),
		       "one type label per event type");

	family(f, "portwatch_events_total", "counter",
	       "Events the BPF programs reported, by type (socket calls, state changes, releases).");
	for (int i = PW_EV_BIND; i <= PW_EV_RELEASE; i++) {
		fputs("portwatch_events_total{type=\"", f);
		label_value(f, types[i]);
		fprintf(f, "\"} %llu\n", (unsigned long long)s->events[i]);
	}
	family(f, "portwatch_events_dropped_total", "counter",
	       "Events lost because the ring buffer was full or a call could not be recorded.");
	if (s->dropped_ok)
		sample(f, "portwatch_events_dropped_total", s->dropped);
	family(f, "portwatch_events_filtered_total", "counter",
	       "Events filtered out in the kernel.");
	if (s->filtered_ok)
		sample(f, "portwatch_events_filtered_total", s->filtered);

	family(f, "portwatch_alerts_total", "counter",
	       "Alerts raised, folded repeats included, by kind, reason and severity.");
	for (int k = 0; k < RULES_KIND_COUNT; k++)
		for (int r = 0; r < RULES_REASON_COUNT; r++)
			for (int v = 0; v < RULES_SEV_COUNT; v++) {
				const char *kind = rules_alert_kind_name((enum rules_alert_kind)k);
				const char *reason =
					rules_alert_reason_name((enum rules_alert_reason)r);
				const char *sev = rules_severity_name((enum rules_severity)v);

				if (!s->alerts[k][r][v] || !kind || !reason || !sev)
					continue;
				fputs("portwatch_alerts_total{kind=\"", f);
				label_value(f, kind);
				fputs("\",reason=\"", f);
				label_value(f, reason);
				fputs("\",severity=\"", f);
				label_value(f, sev);
				fprintf(f, "\"} %llu\n", (unsigned long long)s->alerts[k][r][v]);
			}
	family(f, "portwatch_alerts_folded_total", "counter",
	       "Alerts folded into a summary alert instead of sent one by one "
	       "(in portwatch_alerts_total too).");
	sample(f, "portwatch_alerts_folded_total", s->alerts_folded);
	family(f, "portwatch_conflicts_total", "counter",
	       "Failed bind, listen and connect calls recorded as conflicts.");
	sample(f, "portwatch_conflicts_total", s->conflicts);

	family(f, "portwatch_sockets", "gauge",
	       "Sockets in the ownership table, by protocol and state.");
	for (size_t i = 0; i < s->nsockets; i++) {
		fputs("portwatch_sockets{proto=\"", f);
		label_value(f, pw_proto_name(s->sockets[i].protocol));
		fputs("\",state=\"", f);
		label_value(f, s->sockets[i].state);
		fprintf(f, "\"} %llu\n", (unsigned long long)s->sockets[i].count);
	}
	family(f, "portwatch_netns", "gauge", "Network namespaces seen by the last snapshot.");
	sample(f, "portwatch_netns", s->netns);
	family(f, "portwatch_reconciliations_total", "counter",
	       "Comparisons of the table with a snapshot of every namespace.");
	sample(f, "portwatch_reconciliations_total", s->reconciliations);
	family(f, "portwatch_reconcile_seconds", "gauge", "Duration of the last reconciliation.");
	fprintf(f, "portwatch_reconcile_seconds %llu.%03llu\n",
		(unsigned long long)(s->last_reconcile_ms / 1000),
		(unsigned long long)(s->last_reconcile_ms % 1000));
	family(f, "portwatch_control_clients", "gauge", "Connected control-socket clients.");
	sample(f, "portwatch_control_clients", s->control_clients);
	family(f, "portwatch_metrics_write_errors_total", "counter",
	       "Writes of this file that failed (see the daemon's log).");
	sample(f, "portwatch_metrics_write_errors_total", s->write_errors);

	family(f, "portwatch_build_info", "gauge",
	       "Always 1: portwatchd's version, the running kernel, and how the BPF programs "
	       "read the socket behind an fd.");
	fputs("portwatch_build_info{version=\"", f);
	label_value(f, s->version);
	fputs("\",kernel=\"", f);
	label_value(f, s->kernel);
	fputs("\",fd_to_socket=\"", f);
	label_value(f, s->fd_to_socket);
	fputs("\"} 1\n", f);
	return ferror(f) ? -EIO : 0;
}

int metrics_write(const char *path, const struct metrics_sample *s, const char **what)
{
	char tmp[PATH_MAX];
	FILE *f;
	int fd, err;

	*what = "create a temporary file in the directory of";
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* mkostemp() makes it 0600; node_exporter runs as another user */
	if (fchmod(fd, 0644)) {
		err = -errno;
		*what = "set the mode of a temporary file for";
		close(fd);
		goto remove_tmp;
	}
	f = fdopen(fd, "w");
	if (!f) {
		err = -errno;
		*what = "write";
		close(fd);
		goto remove_tmp;
	}
	errno = 0;
	*what = "write";
	err = metrics_format(f, s);
	if (err && errno)
		err = -errno;
	if (!err && fflush(f))
		err = -errno;
	if (!err && fsync(fileno(f))) {
		err = -errno;
		*what = "fsync";
	}
	if (fclose(f) && !err)
		err = -errno; /* closes fd */
	if (err)
		goto remove_tmp;
	if (rename(tmp, path)) {
		err = -errno;
		*what = "rename a temporary file to";
		goto remove_tmp;
	}
	return 0;

remove_tmp:
	unlink(tmp);
	return err;
}
