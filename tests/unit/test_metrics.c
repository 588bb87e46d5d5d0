// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_metrics.c - the metrics file (metrics.c): the exact text for a
 * filled sample, label escaping, counting the table by protocol and
 * state, and the atomic write (mode, no temporary file left, the file
 * kept when a write fails).
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include "helpers.h"

#include "metrics.h"

/* s formatted into a string the caller frees. */
static char *format(const struct metrics_sample *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(metrics_format(f, s), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void fill(struct metrics_sample *s)
{
	memset(s, 0, sizeof(*s));
	for (int i = PW_EV_BIND; i <= PW_EV_RELEASE; i++)
		s->events[i] = 9 + (uint64_t)i;
	s->dropped = 3;
	s->dropped_ok = 1;
	s->filtered = 7;
	s->filtered_ok = 1;
	s->alerts[RULES_KIND_HIJACK_ATTEMPT][RULES_REASON_TAKEOVER][RULES_SEV_CRITICAL] = 2;
	s->alerts[RULES_KIND_REUSE_COLLISION][RULES_REASON_SHARED_BIND][RULES_SEV_WARNING] = 5;
	s->alerts_folded = 4;
	s->conflicts = 9;
	s->sockets[0] = (struct metrics_sockets){ IPPROTO_TCP, "LISTEN", 12 };
	s->sockets[1] = (struct metrics_sockets){ IPPROTO_UDP, "BOUND", 8 };
	s->nsockets = 2;
	s->netns = 3;
	s->reconciliations = 6;
	s->last_reconcile_ms = 1042;
	s->control_clients = 1;
	s->write_errors = 0;
	s->version = "0.1.0";
	s->kernel = "6.1.0-18-amd64";
	s->fd_to_socket = "bpf_rdonly_cast";
}

static const char expected[] =
	"# HELP portwatch_events_total Events the BPF programs reported, by type (socket calls, "
	"state changes, releases).\n"
	"# TYPE portwatch_events_total counter\n"
	"portwatch_events_total{type=\"bind\"} 10\n"
	"portwatch_events_total{type=\"listen\"} 11\n"
	"portwatch_events_total{type=\"connect\"} 12\n"
	"portwatch_events_total{type=\"sockopt\"} 13\n"
	"portwatch_events_total{type=\"state\"} 14\n"
	"portwatch_events_total{type=\"release\"} 15\n"
	"# HELP portwatch_events_dropped_total Events lost because the ring buffer was full or a "
	"call could not be recorded.\n"
	"# TYPE portwatch_events_dropped_total counter\n"
	"portwatch_events_dropped_total 3\n"
	"# HELP portwatch_events_filtered_total Events filtered out in the kernel.\n"
	"# TYPE portwatch_events_filtered_total counter\n"
	"portwatch_events_filtered_total 7\n"
	"# HELP portwatch_alerts_total Alerts raised, folded repeats included, by kind, reason and "
	"severity.\n"
	"# TYPE portwatch_alerts_total counter\n"
	"portwatch_alerts_total{kind=\"hijack_attempt\",reason=\"takeover\",severity=\"critical\"} 2\n"
	"portwatch_alerts_total{kind=\"reuse_collision\",reason=\"shared_bind\",severity=\"warning\"}"
	" 5\n"
	"# HELP portwatch_alerts_folded_total Alerts folded into a summary alert instead of sent "
	"one by one (in portwatch_alerts_total too).\n"
	"# TYPE portwatch_alerts_folded_total counter\n"
	"portwatch_alerts_folded_total 4\n"
	"# HELP portwatch_conflicts_total Failed bind, listen and connect calls recorded as "
	"conflicts.\n"
	"# TYPE portwatch_conflicts_total counter\n"
	"portwatch_conflicts_total 9\n"
	"# HELP portwatch_sockets Sockets in the ownership table, by protocol and state.\n"
	"# TYPE portwatch_sockets gauge\n"
	"portwatch_sockets{proto=\"tcp\",state=\"LISTEN\"} 12\n"
	"portwatch_sockets{proto=\"udp\",state=\"BOUND\"} 8\n"
	"# HELP portwatch_netns Network namespaces seen by the last snapshot.\n"
	"# TYPE portwatch_netns gauge\n"
	"portwatch_netns 3\n"
	"# HELP portwatch_reconciliations_total Comparisons of the table with a snapshot of every "
	"namespace.\n"
	"# TYPE portwatch_reconciliations_total counter\n"
	"portwatch_reconciliations_total 6\n"
	"# HELP portwatch_reconcile_seconds Duration of the last reconciliation.\n"
	"# TYPE portwatch_reconcile_seconds gauge\n"
	"portwatch_reconcile_seconds 1.042\n"
	"# HELP portwatch_control_clients Connected control-socket clients.\n"
	"# TYPE portwatch_control_clients gauge\n"
	"portwatch_control_clients 1\n"
	"# HELP portwatch_metrics_write_errors_total Writes of this file that failed (see the "
	"daemon's log).\n"
	"# TYPE portwatch_metrics_write_errors_total counter\n"
	"portwatch_metrics_write_errors_total 0\n"
	"# HELP portwatch_build_info Always 1: portwatchd's version, the running kernel, and how "
	"the BPF programs read the socket behind an fd.\n"
	"# TYPE portwatch_build_info gauge\n"
	"portwatch_build_info{version=\"0.1.0\",kernel=\"6.1.0-18-amd64\","
	"fd_to_socket=\"bpf_rdonly_cast\"} 1\n";

static void test_exact_output(void **state)
{
	struct metrics_sample s;
	char *out;

	(void)state;
	fill(&s);
	out = format(&s);
	assert_string_equal(out, expected);
	free(out);
}

/* Unreadable BPF counters have no sample; alert series only where counted; ms -> s. */
static void test_absent_values(void **state)
{
	struct metrics_sample s;
	char *out;

	(void)state;
	fill(&s);
	s.dropped_ok = s.filtered_ok = 0;
	memset(s.alerts, 0, sizeof(s.alerts));
	/* no name for NONE: never written, even when counted */
	s.alerts[RULES_KIND_NONE][RULES_REASON_NONE][RULES_SEV_NONE] = 1;
	s.last_reconcile_ms = 7;
	s.nsockets = 0;
	s.version = s.kernel = s.fd_to_socket = NULL;
	out = format(&s);
	assert_null(strstr(out, "portwatch_events_dropped_total 3"));
	assert_non_null(strstr(out, "# TYPE portwatch_events_dropped_total counter\n"
				    "# HELP portwatch_events_filtered_total"));
	assert_non_null(strstr(out, "# TYPE portwatch_events_filtered_total counter\n"
				    "# HELP portwatch_alerts_total"));
	assert_non_null(strstr(out, "# TYPE portwatch_alerts_total counter\n"
				    "# HELP portwatch_alerts_folded_total"));
	assert_non_null(strstr(out, "# TYPE portwatch_sockets gauge\n# HELP portwatch_netns"));
	assert_non_null(strstr(out, "\nportwatch_reconcile_seconds 0.007\n"));
	assert_non_null(strstr(out, "\nportwatch_build_info{version=\"\",kernel=\"\","
				    "fd_to_socket=\"\"} 1\n"));
	free(out);
}

/* Backslash, quote and newline escaped as the text format says; bad UTF-8 replaced. */
static void test_label_escaping(void **state)
{
	struct metrics_sample s;
	char *out;

	(void)state;
	fill(&s);
	s.version = "1.0\"} 99\nportwatch_evil 1";
	s.kernel = "C:\\kernel\\";
	s.fd_to_socket = "caf\xc3\xa9 \xff!";
	out = format(&s);
	assert_non_null(strstr(out, "\nportwatch_build_info{"
				    "version=\"1.0\\\"} 99\\nportwatch_evil 1\","
				    "kernel=\"C:\\\\kernel\\\\\","
				    "fd_to_socket=\"caf\xc3\xa9 \xef\xbf\xbd!\"} 1\n"));
	assert_null(strstr(out, "\nportwatch_evil"));
	free(out);
}

static void test_count_sockets(void **state)
{
	struct pw_table *t = table_new();
	struct metrics_sample s;
	struct pw_sock sk;
	struct pw_entry e;
	uint64_t ino = 1;

	(void)state;
	assert_non_null(t);
	for (int i = 0; i < 3; i++) {
		sk = pwt_tcp("0.0.0.0", (uint16_t)(80 + i), PW_TCP_LISTEN, 0, 0);
		e = pwt_entry(&sk, PWT_NS1, ino++, 10, 0, "nginx");
		assert_non_null(table_upsert(t, &e, 0));
	}
	sk = pwt_tcp("127.0.0.1", 8080, PW_TCP_CLOSE, 0, 0); /* bound only */
	e = pwt_entry(&sk, PWT_NS2, ino++, 11, 0, "x");
	assert_non_null(table_upsert(t, &e, 0));
	sk = pwt_tcp("10.0.0.1", 40000, PW_TCP_ESTABLISHED, 0, 0);
	e = pwt_entry(&sk, PWT_NS1, ino++, 12, 0, "x");
	assert_non_null(table_upsert(t, &e, 0));
	for (int i = 0; i < 2; i++) {
		sk = pwt_udp("::", (uint16_t)(53 + i), 0, 0);
		e = pwt_entry(&sk, PWT_NS1, ino++, 13, 0, "dns");
		assert_non_null(table_upsert(t, &e, 0));
	}

	memset(&s, 0, sizeof(s));
	assert_int_equal(metrics_count_sockets(&s, t), 0);
	/* sorted: protocol name, then state; no zero rows */
	assert_int_equal(s.nsockets, 4);
	assert_int_equal(s.sockets[0].protocol, IPPROTO_TCP);
	assert_string_equal(s.sockets[0].state, "BOUND");
	assert_int_equal(s.sockets[0].count, 1);
	assert_string_equal(s.sockets[1].state, "ESTABLISHED");
	assert_int_equal(s.sockets[1].count, 1);
	assert_string_equal(s.sockets[2].state, "LISTEN");
	assert_int_equal(s.sockets[2].count, 3);
	assert_int_equal(s.sockets[3].protocol, IPPROTO_UDP);
	assert_string_equal(s.sockets[3].state, "BOUND");
	assert_int_equal(s.sockets[3].count, 2);
	/* counted afresh each time */
	assert_int_equal(metrics_count_sockets(&s, t), 0);
	assert_int_equal(s.nsockets, 4);
	assert_int_equal(s.sockets[2].count, 3);
	table_free(t);
}

/* Entries of dir other than "." and "..". */
static int dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

static void test_write_atomically(void **state)
{
	char dir[] = "/tmp/pwt-metrics-XXXXXX", path[128], missing[160];
	struct metrics_sample s;
	const char *what = NULL;
	char buf[8192];
	struct stat st;
	mode_t old = umask(0077); /* the service's UMask: the file must still be 0644 */
	FILE *f;
	size_t n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/portwatch.prom", dir);
	fill(&s);
	assert_int_equal(metrics_write(path, &s, &what), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	assert_string_equal(buf, expected);
	assert_int_equal(dir_entries(dir), 1); /* no temporary file left */

	/* again: replaced, still one file */
	s.conflicts = 10;
	assert_int_equal(metrics_write(path, &s, &what), 0);
	assert_int_equal(dir_entries(dir), 1);

	/* a directory that is not there: the step is named, nothing is created */
	snprintf(missing, sizeof(missing), "%s/nosuch/portwatch.prom", dir);
	assert_int_equal(metrics_write(missing, &s, &what), -ENOENT);
	assert_string_equal(what, "create a temporary file in the directory of");
	/* a directory where the file should be: rename fails, the temporary file goes */
	snprintf(missing, sizeof(missing), "%s/sub.prom", dir);
	assert_int_equal(mkdir(missing, 0755), 0);
	snprintf(path, sizeof(path), "%s/sub.prom/x", dir);
	assert_int_equal(mkdir(path, 0755), 0); /* not empty: rename(2) cannot replace it */
	assert_int_not_equal(metrics_write(missing, &s, &what), 0);
	assert_string_equal(what, "rename a temporary file to");
	assert_int_equal(dir_entries(dir), 2);

	rmdir(path);
	rmdir(missing);
	snprintf(path, sizeof(path), "%s/portwatch.prom", dir);
	unlink(path);
	rmdir(dir);
	umask(old);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_output),
		cmocka_unit_test(test_absent_values),
		cmocka_unit_test(test_label_escaping),
		cmocka_unit_test(test_count_sockets),
		cmocka_unit_test(test_write_atomically),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
