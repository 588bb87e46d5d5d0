// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * portwatchctl.c - command-line client of portwatchd's control socket.
 *
 * Speaks version 1 of docs/protocol.md: one JSON request per line, one
 * JSON response per line, on a Unix stream socket. Commands live in a
 * {name, handler} table as in bpftool; a single getopt_long() pass takes
 * every option, before or after the command, and the table says which
 * options each command accepts. Output formatting is in ctlfmt.c.
 *
 * Exit status: 0 ok, 1 the daemon answered an error, 2 usage error,
 * 3 cannot connect or I/O error with the daemon.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "portwatch/proto.h"
#include "ctlfmt.h"

#define CTL_TIMEOUT_S	   10
#define CTL_MAX_LINE	   (1U << 30) /* json_tokener takes an int length */

enum {
	EXIT_DAEMON = 1, /* the daemon answered an error */
	EXIT_USAGE = 2,
	EXIT_IO = 3, /* cannot connect, I/O or protocol error with the daemon */
};

/*
 * Command options: one bit each, so the command table can list its own;
 * also getopt_long()'s values for them (none is ':', '?' or a letter).
 */
enum {
	OPT_PORT = 1 << 0,
	OPT_ADDR = 1 << 1,
	OPT_PROTO = 1 << 2,
	OPT_PID = 1 << 3,
	OPT_NETNS = 1 << 4,
	OPT_SINCE = 1 << 5,
	OPT_LIMIT = 1 << 6,
};

static const struct option long_opts[] = {
	{ "socket", required_argument, NULL, 's' },
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "port", required_argument, NULL, OPT_PORT },
	{ "addr", required_argument, NULL, OPT_ADDR },
	{ "proto", required_argument, NULL, OPT_PROTO },
	{ "pid", required_argument, NULL, OPT_PID },
	{ "netns", required_argument, NULL, OPT_NETNS },
	{ "since", required_argument, NULL, OPT_SINCE },
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ NULL, 0, NULL, 0 },
};

/* Bytes read from the daemon: lines are cut out of buf[start, len). */
struct linebuf {
	char *buf;
	size_t start, len, cap;
	size_t scanned; /* buf[start, scanned) holds no '\n' */
};

struct ctl {
	const char *path;
	bool json;
	unsigned int opts; /* OPT_* given */
	unsigned long port, pid, netns, since, limit;
	char addr[INET6_ADDRSTRLEN];
	const char *proto;
	int argc; /* arguments after the command name */
	char **argv;
	int fd;
	bool timeout; /* give up after CTL_TIMEOUT_S without a byte */
	struct linebuf in;
	time_t now;
};

struct cmd {
	const char *name;
	int (*func)(struct ctl *c);
	unsigned int opts; /* OPT_* it accepts */
	int max_args;	   /* positional arguments it accepts */
};

static volatile sig_atomic_t interrupted;

static void __attribute__((format(printf, 1, 0))) vp_err(const char *fmt, va_list ap)
{
	fputs("portwatchctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

/* Say what failed on stderr, as "portwatchctl: what failed: why". */
static void __attribute__((format(printf, 1, 2))) p_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vp_err(fmt, ap);
	va_end(ap);
}

/* Say what was wrong with the command line; returns EXIT_USAGE. */
static int __attribute__((format(printf, 1, 2))) usage_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vp_err(fmt, ap);
	va_end(ap);
	fputs("Try 'portwatchctl --help' for more information.\n", stderr);
	return EXIT_USAGE;
}

/* The long name of an option, from its getopt value. */
static const char *opt_name(int val)
{
	for (const struct option *o = long_opts; o->name; o++)
		if (o->val == val)
			return o->name;
	return "?";
}

/* Parse a port: 1..65535 when the command needs a real one, else 0..65535. */
static int parse_port(struct ctl *c, const char *s, unsigned long min)
{
	unsigned long v;
	int err = ctlfmt_parse_ulong(s, min, 65535, &v);

	if (err)
		return usage_err("invalid port '%s': %s %lu..65535", s,
				 err == -ERANGE ? "out of range" : "expected a number", min);
	if ((c->opts & OPT_PORT) && c->port != v)
		return usage_err("two different ports given: %lu and %lu", c->port, v);
	c->opts |= OPT_PORT;
	c->port = v;
	return 0;
}

/* Parse the argument of option opt into *out; 0 or EXIT_USAGE. */
static int parse_num(const char *s, int opt, unsigned long min, unsigned long max,
		     unsigned long *out)
{
	int err = ctlfmt_parse_ulong(s, min, max, out);

	if (err)
		return usage_err("invalid --%s '%s': %s %lu..%lu", opt_name(opt), s,
				 err == -ERANGE ? "out of range" : "expected a number", min, max);
	return 0;
}

/* Take one option; 0 or EXIT_USAGE. */
static int parse_opt(struct ctl *c, int opt, const char *arg)
{
	unsigned char bin[sizeof(struct in6_addr)];
	char buf[INET6_ADDRSTRLEN + 2];
	int err = 0;
	size_t n;

	switch (opt) {
	case OPT_PORT:
		return parse_port(c, arg, 0);
	case OPT_ADDR:
		/* Accept ss's "[::1]" as well as "::1"; send it as inet_ntop writes it. */
		n = strlen(arg);
		if (n >= 2 && arg[0] == '[' && arg[n - 1] == ']' && n - 2 < sizeof(buf)) {
			memcpy(buf, arg + 1, n - 2);
			buf[n - 2] = '\0';
		} else {
			snprintf(buf, sizeof(buf), "%s", arg);
		}
		if (inet_pton(AF_INET, buf, bin) == 1)
			inet_ntop(AF_INET, bin, c->addr, sizeof(c->addr));
		else if (inet_pton(AF_INET6, buf, bin) == 1)
			inet_ntop(AF_INET6, bin, c->addr, sizeof(c->addr));
		else
			return usage_err("invalid --addr '%s': expected an IPv4 or IPv6 address",
					 arg);
		break;
	case OPT_PROTO:
		if (!strcasecmp(arg, "tcp"))
			c->proto = "tcp";
		else if (!strcasecmp(arg, "udp"))
			c->proto = "udp";
		else
			return usage_err("invalid --proto '%s': expected tcp or udp", arg);
		break;
	case OPT_PID:
		err = parse_num(arg, opt, 1, INT_MAX, &c->pid);
		break;
	case OPT_NETNS:
		err = parse_num(arg, opt, 1, UINT32_MAX, &c->netns);
		break;
	case OPT_SINCE:
		err = parse_num(arg, opt, 0, INT64_MAX, &c->since);
		break;
	case OPT_LIMIT:
		err = parse_num(arg, opt, 1, INT_MAX, &c->limit);
		break;
	}
	if (!err)
		c->opts |= opt;
	return err;
}

/* Open the connection, with the response timeout when timeout; 0 or EXIT_IO. */
static int conn_connect(struct ctl *c, bool timeout)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = CTL_TIMEOUT_S };
	const char *hint = "";

	if (strlen(c->path) >= sizeof(sa.sun_path)) {
		p_err("cannot connect to %s: %s", c->path, strerror(ENAMETOOLONG));
		return EXIT_IO;
	}
	strcpy(sa.sun_path, c->path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		p_err("cannot create a Unix socket: %s", strerror(errno));
		return EXIT_IO;
	}
	c->timeout = timeout;
	if (timeout && setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv))) {
		p_err("cannot set a timeout on the socket: %s", strerror(errno));
		return EXIT_IO;
	}
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			hint = " (is portwatchd running?)";
		else if (errno == EACCES)
			hint = " (root or the socket's group can connect)";
		p_err("cannot connect to %s: %s%s", c->path, strerror(errno), hint);
		return EXIT_IO;
	}
	return 0;
}

/* Send one request line; 0 or EXIT_IO. */
static int conn_send(struct ctl *c, struct json_object *req)
{
	const char *s;
	char *line;
	size_t len, off = 0;
	int ret = 0;

	json_object_object_add(req, "version", json_object_new_int(PW_PROTO_VERSION));
	s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	len = strlen(s);
	line = malloc(len + 1);
	if (!line) {
		p_err("sending the request: %s", strerror(ENOMEM));
		return EXIT_IO;
	}
	memcpy(line, s, len);
	line[len++] = '\n';
	while (off < len) {
		ssize_t n = send(c->fd, line + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			p_err("writing to %s: %s", c->path,
			      errno == EAGAIN ? "timed out" : strerror(errno));
			ret = EXIT_IO;
			break;
		}
		off += n;
	}
	free(line);
	return ret;
}

/*
 * Read the next line (without its '\n') into *line. Returns 1, 0 at EOF
 * between lines, or a negative errno: -ETIMEDOUT when the receive timeout
 * hit, -EINTR on SIGINT, -EPIPE at EOF inside a line, -EMSGSIZE.
 */
static int read_line(struct ctl *c, char **line)
{
	struct linebuf *b = &c->in;
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	struct timespec ts = { .tv_sec = CTL_TIMEOUT_S };
	sigset_t none;
	int n;

	sigemptyset(&none);
	for (;;) {
		char *nl = memchr(b->buf + b->scanned, '\n', b->len - b->scanned);
		ssize_t got;

		if (nl) {
			*nl = '\0';
			*line = b->buf + b->start;
			b->start = b->scanned = nl + 1 - b->buf;
			return 1;
		}
		b->scanned = b->len;
		if (b->start) {
			memmove(b->buf, b->buf + b->start, b->len - b->start);
			b->len -= b->start;
			b->scanned = b->len;
			b->start = 0;
		}
		if (b->len == b->cap) {
			size_t ncap = b->cap ? b->cap * 2 : 65536;
			char *nbuf;

			if (ncap > CTL_MAX_LINE)
				return -EMSGSIZE;
			nbuf = realloc(b->buf, ncap);
			if (!nbuf)
				return -ENOMEM;
			b->buf = nbuf;
			b->cap = ncap;
		}
		/* watch blocks SIGINT but during ppoll(): no lost wake-up. */
		n = ppoll(&pfd, 1, c->timeout ? &ts : NULL, &none);
		if (n == 0)
			return -ETIMEDOUT;
		if (n < 0 && errno == EINTR && !interrupted)
			continue;
		if (n < 0)
			return -errno;
		got = recv(c->fd, b->buf + b->len, b->cap - b->len, MSG_DONTWAIT);
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got < 0)
			return -errno;
		if (got == 0)
			return b->len ? -EPIPE : 0;
		b->len += got;
	}
}

/* Say why read_line() failed (err < 0, or 0 for EOF); returns EXIT_IO. */
static int read_failed(struct ctl *c, int err)
{
	if (err == 0 || err == -EPIPE)
		p_err("reading from %s: the daemon closed the connection%s", c->path,
		      err ? " in the middle of a line" : "");
	else if (err == -ETIMEDOUT)
		p_err("reading from %s: no response within %d s", c->path, CTL_TIMEOUT_S);
	else
		p_err("reading from %s: %s", c->path,
		      err == -EMSGSIZE ? "line too long" : strerror(-err));
	return EXIT_IO;
}

/*
 * Parse and check one line from the daemon. want_ok: it must say
 * "ok": true (every response but the alert lines of a subscription).
 * Returns 0 with *resp (to put), or an exit status after saying why.
 */
static int parse_response(struct ctl *c, const char *line, bool want_ok, struct json_object **resp)
{
	struct json_tokener *tok;
	struct json_object *o, *m;

	tok = json_tokener_new();
	if (!tok) {
		p_err("parsing the response: %s", strerror(ENOMEM));
		return EXIT_IO;
	}
	o = json_tokener_parse_ex(tok, line, (int)strlen(line));
	if (!o || json_tokener_get_parse_end(tok) != strlen(line)) {
		enum json_tokener_error jerr = json_tokener_get_error(tok);

		if (o)
			p_err("bad response from %s: trailing data after the JSON object", c->path);
		else
			p_err("bad response from %s: not JSON (%s)", c->path,
			      jerr == json_tokener_continue ? "truncated"
							    : json_tokener_error_desc(jerr));
		json_object_put(o);
		json_tokener_free(tok);
		return EXIT_IO;
	}
	json_tokener_free(tok);
	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "version", &m) ||
	    !json_object_is_type(m, json_type_int)) {
		p_err("bad response from %s: not an object with a version", c->path);
		goto err_io;
	}
	if (json_object_get_int64(m) != PW_PROTO_VERSION) {
		p_err("daemon speaks protocol version %s, this portwatchctl speaks %d",
		      json_object_get_string(m), PW_PROTO_VERSION);
		json_object_put(o);
		return EXIT_DAEMON;
	}
	if (json_object_object_get_ex(o, "ok", &m) && !json_object_get_boolean(m)) {
		json_object_object_get_ex(o, "error", &m);
		p_err("daemon: %s", m ? json_object_get_string(m) : "error without a message");
		json_object_put(o);
		return EXIT_DAEMON;
	}
	if (want_ok && !m) {
		p_err("bad response from %s: no \"ok\" member", c->path);
		goto err_io;
	}
	*resp = o;
	return 0;
err_io:
	json_object_put(o);
	return EXIT_IO;
}

/* Read one response to a request: see parse_response(). */
static int conn_recv(struct ctl *c, struct json_object **resp)
{
	char *line;
	int err;

	do
		err = read_line(c, &line);
	while (err == 1 && !*line);
	if (err < 1)
		return read_failed(c, err);
	err = parse_response(c, line, true, resp);
	/* The text of a large response is no longer needed once it is a tree. */
	free(c->in.buf);
	c->in = (struct linebuf){ 0 };
	return err;
}

/* Connect, send req (taken over), read the response. 0 or an exit status. */
static int conn_call(struct ctl *c, struct json_object *req, struct json_object **resp)
{
	int ret;

	if (!req) {
		p_err("building the request: %s", strerror(ENOMEM));
		return EXIT_IO;
	}
	ret = conn_connect(c, true) ?: conn_send(c, req) ?: conn_recv(c, resp);
	json_object_put(req);
	return ret;
}

/* A request {"cmd": cmd} with the options of c among mask. */
static struct json_object *request(struct ctl *c, const char *cmd, unsigned int mask)
{
	struct json_object *req = json_object_new_object();
	const struct {
		unsigned int opt;
		const char *key;
		unsigned long *val;
	} nums[] = {
		{ OPT_PORT, "port", &c->port },	   { OPT_PID, "pid", &c->pid },
		{ OPT_NETNS, "netns", &c->netns }, { OPT_SINCE, "since", &c->since },
		{ OPT_LIMIT, "limit", &c->limit },
	};

	if (!req)
		return NULL;
	json_object_object_add(req, "cmd", json_object_new_string(cmd));
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
		if (c->opts & mask & nums[i].opt)
			json_object_object_add(req, nums[i].key,
					       json_object_new_int64((int64_t)*nums[i].val));
	if (c->opts & mask & OPT_ADDR)
		json_object_object_add(req, "addr", json_object_new_string(c->addr));
	if (c->opts & mask & OPT_PROTO)
		json_object_object_add(req, "proto", json_object_new_string(c->proto));
	return req;
}

/* Print o as indented JSON; 0. */
static int print_json(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
	return 0;
}

/* Print arr as a table (ctlfmt_print_list()); 0 or EXIT_IO. */
static int print_list(struct json_object *arr, const struct ctlfmt_col *cols, size_t ncols,
		      ctlfmt_row_fn fn, time_t now)
{
	if (!ctlfmt_print_list(stdout, arr, cols, ncols, fn, now))
		return 0;
	p_err("formatting the output: %s", strerror(ENOMEM));
	return EXIT_IO;
}

/* The request/response commands that print one array of the response. */
static int call_list(struct ctl *c, const char *cmd, unsigned int mask, const char *key,
		     const struct ctlfmt_col *cols, size_t ncols, ctlfmt_row_fn fn)
{
	struct json_object *resp = NULL, *arr;
	int ret = conn_call(c, request(c, cmd, mask), &resp);

	if (ret)
		return ret;
	if (!json_object_object_get_ex(resp, key, &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		p_err("bad response from %s: no \"%s\" array", c->path, key);
		ret = EXIT_IO;
	} else {
		ret = c->json ? print_json(arr) : print_list(arr, cols, ncols, fn, c->now);
	}
	json_object_put(resp);
	return ret;
}

#define OWNERS_OPTS (OPT_PORT | OPT_ADDR | OPT_PROTO | OPT_PID | OPT_NETNS)
#define LIST_OPTS   (OPT_SINCE | OPT_LIMIT)
#define WHY_OPTS    (OPT_PORT | OPT_ADDR | OPT_PROTO | OPT_NETNS)

/*
 * Command handlers: c holds the options and the arguments after the
 * command name (main() checked their number). Each returns an exit status.
 */
static int do_owners(struct ctl *c)
{
	if (c->argc == 1 && parse_port(c, c->argv[0], 0))
		return EXIT_USAGE;
	return call_list(c, "owners", OWNERS_OPTS, "sockets", ctlfmt_socket_cols,
			 CTLFMT_SOCKET_NCOLS, ctlfmt_socket_row);
}

static int do_alerts(struct ctl *c)
{
	return call_list(c, "alerts", LIST_OPTS, "alerts", ctlfmt_alert_cols, CTLFMT_ALERT_NCOLS,
			 ctlfmt_alert_row);
}

static int do_conflicts(struct ctl *c)
{
	return call_list(c, "conflicts", LIST_OPTS, "conflicts", ctlfmt_conflict_cols,
			 CTLFMT_CONFLICT_NCOLS, ctlfmt_conflict_row);
}

static int do_why(struct ctl *c)
{
	struct json_object *resp = NULL;
	int ret;

	if (c->argc == 1 && parse_port(c, c->argv[0], 1))
		return EXIT_USAGE;
	if (!(c->opts & OPT_PORT))
		return usage_err("why: which port? (portwatchctl why PORT)");
	if (c->port == 0)
		return usage_err("invalid port '0': out of range 1..65535");
	ret = conn_call(c, request(c, "why", WHY_OPTS), &resp);
	if (ret)
		return ret;
	if (c->json) {
		json_object_object_del(resp, "version");
		json_object_object_del(resp, "ok");
		print_json(resp);
		goto out;
	}
	if (ctlfmt_print_why(stdout, resp, c->now)) {
		p_err("formatting the output: %s", strerror(ENOMEM));
		ret = EXIT_IO;
	}
out:
	json_object_put(resp);
	return ret;
}

static int do_stats(struct ctl *c)
{
	struct json_object *resp = NULL, *st;
	int ret;

	ret = conn_call(c, request(c, "stats", 0), &resp);
	if (ret)
		return ret;
	if (!json_object_object_get_ex(resp, "stats", &st) ||
	    !json_object_is_type(st, json_type_object)) {
		p_err("bad response from %s: no \"stats\" object", c->path);
		ret = EXIT_IO;
	} else if (c->json) {
		print_json(st);
	} else if (ctlfmt_print_stats(stdout, st)) {
		p_err("formatting the output: %s", strerror(ENOMEM));
		ret = EXIT_IO;
	}
	json_object_put(resp);
	return ret;
}

/* watch: SIGINT ends the watch; read_line() sees the flag. */
static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* Print one line of watch's output (none when !alert), then flush. 0 or EXIT_IO. */
static int watch_print(struct ctl *c, struct ctlfmt_table *t, struct json_object *alert)
{
	if (!alert) {
		/* only flush */
	} else if (c->json) {
		puts(json_object_to_json_string_ext(alert, JSON_C_TO_STRING_PLAIN |
								   JSON_C_TO_STRING_NOSLASHESCAPE));
	} else if (t) {
		if (ctlfmt_alert_row(t, alert, time(NULL))) {
			p_err("formatting the alert: %s", strerror(ENOMEM));
			return EXIT_IO;
		}
		ctlfmt_table_print(t, stdout, false);
	}
	if (fflush(stdout)) {
		p_err("writing to stdout: %s", strerror(errno));
		return EXIT_IO;
	}
	return 0;
}

static int do_watch(struct ctl *c)
{
	/* Widths wide enough for most alerts: rows are printed one at a time. */
	static const int widths[] = { 4, 8, 8, 30, 5, 21, 24, 24, 10, 0 };
	struct ctlfmt_col cols[CTLFMT_ALERT_NCOLS];
	struct sigaction sa = { .sa_handler = on_sigint };
	struct json_object *req, *resp, *alert;
	struct ctlfmt_table *t = NULL;
	bool subscribed = false;
	sigset_t block;
	char *line;
	int ret;

	_Static_assert(sizeof(widths) / sizeof(widths[0]) == CTLFMT_ALERT_NCOLS,
		       "one width per column");
	if (!c->json) {
		for (size_t i = 0; i < CTLFMT_ALERT_NCOLS; i++)
			cols[i] = (struct ctlfmt_col){ ctlfmt_alert_cols[i].name, widths[i] };
		t = ctlfmt_table_new(cols, CTLFMT_ALERT_NCOLS);
	}
	req = request(c, "subscribe", 0);
	if (!req || (!c->json && !t)) {
		json_object_put(req);
		ctlfmt_table_free(t);
		p_err("starting to watch: %s", strerror(ENOMEM));
		return EXIT_IO;
	}
	/* SIGINT only interrupts read_line()'s ppoll(): then exit 0. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, NULL);
	sigaction(SIGINT, &sa, NULL);
	ret = conn_connect(c, false) ?: conn_send(c, req);
	json_object_put(req);
	while (!ret) {
		int err = read_line(c, &line);

		if (err == 0 && subscribed)
			break;
		if (err < 1) {
			ret = interrupted ? 0 : read_failed(c, err);
			break;
		}
		if (!*line)
			continue;
		/* The first line answers the request; then one line per alert. */
		ret = parse_response(c, line, !subscribed, &resp);
		if (ret)
			break;
		if (!subscribed) {
			subscribed = true;
			if (t)
				ctlfmt_table_print(t, stdout, true);
			ret = watch_print(c, NULL, NULL);
		} else if (json_object_object_get_ex(resp, "alert", &alert) &&
			   json_object_is_type(alert, json_type_object)) {
			ret = watch_print(c, t, alert);
		}
		json_object_put(resp);
	}
	ctlfmt_table_free(t);
	return ret;
}

static int do_help(struct ctl *c);

static const struct cmd cmds[] = {
	{ "owners", do_owners, OWNERS_OPTS, 1 },
	{ "alerts", do_alerts, LIST_OPTS, 0 },
	{ "conflicts", do_conflicts, LIST_OPTS, 0 },
	{ "why", do_why, WHY_OPTS, 1 },
	{ "stats", do_stats, 0, 0 },
	{ "watch", do_watch, 0, 0 },
	{ "help", do_help, 0, 0 },
};

static int do_help(struct ctl *c)
{
	(void)c;
	printf("NAME\n"
	       "    portwatchctl - query portwatchd, the port-reuse monitor\n"
	       "\n"
	       "SYNOPSIS\n"
	       "    portwatchctl [--socket PATH] [--json] COMMAND [ARGS]\n"
	       "    portwatchctl --help | --version\n"
	       "\n"
	       "COMMANDS\n"
	       "    owners [PORT] [--port N] [--addr A] [--proto tcp|udp] [--pid N] [--netns N]\n"
	       "        Sockets in the daemon's table, like ss: state, local address, reuse\n"
	       "        flags (RA SO_REUSEADDR, RP SO_REUSEPORT, V6 IPV6_V6ONLY), uid,\n"
	       "        process, executable, systemd unit, first seen.\n"
	       "    alerts [--since ID] [--limit N]\n"
	       "        Alerts, oldest first: the last N (default 100), or those after ID.\n"
	       "    conflicts [--since ID] [--limit N]\n"
	       "        Failed bind, listen and connect calls, and the rule that refused them.\n"
	       "    why PORT [--addr A] [--proto tcp|udp] [--netns N]\n"
	       "        Who holds PORT and what a bind to it would meet: explanation,\n"
	       "        holders, TIME_WAIT entries, recent conflicts and alerts.\n"
	       "    stats\n"
	       "        Daemon counters: events, drops, table size, hooks, alerts.\n"
	       "    watch\n"
	       "        Print alerts as they are raised, one per line, until the daemon\n"
	       "        exits or SIGINT (Ctrl-C).\n"
	       "    help\n"
	       "        This text.\n"
	       "\n"
	       "OPTIONS\n"
	       "    -s, --socket PATH  control socket (default: $PORTWATCH_SOCKET, else\n"
	       "                       " PW_DEFAULT_SOCKET ")\n"
	       "    -j, --json         print the response's list (stats: object; why: the\n"
	       "                       whole response) as JSON; watch: one alert per line\n"
	       "    -h, --help         this text\n"
	       "    -V, --version      print the version and the protocol version\n"
	       "    Options may also follow the command. Times are local; the daemon\n"
	       "    answers within %d s or portwatchctl gives up (watch waits forever).\n"
	       "\n"
	       "EXIT STATUS\n"
	       "    0 success; 1 the daemon answered an error or speaks another protocol\n"
	       "    version; 2 usage error; 3 cannot connect, timeout, I/O error or bad\n"
	       "    response from the daemon.\n"
	       "\n"
	       "FILES\n"
	       "    " PW_DEFAULT_SOCKET "  portwatchd's control socket\n"
	       "\n"
	       "EXAMPLES\n"
	       "    portwatchctl owners 80               who holds port 80\n"
	       "    portwatchctl why 443 --proto tcp     why binding 443/tcp fails\n"
	       "    portwatchctl alerts --since 41       alerts newer than alert 41\n"
	       "    portwatchctl --json owners | jq '.[] | select(.reuseport)'\n"
	       "    portwatchctl watch --json >> alerts.jsonl\n",
	       CTL_TIMEOUT_S);
	return 0;
}

int main(int argc, char **argv)
{
	struct ctl c = { .fd = -1, .path = getenv("PORTWATCH_SOCKET") };
	const struct cmd *cmd = NULL;
	int opt, ret;

	if (!c.path || !*c.path)
		c.path = PW_DEFAULT_SOCKET;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":s:jhV", long_opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			if (!*optarg)
				return usage_err("option '--socket' needs a path");
			c.path = optarg;
			break;
		case 'j':
			c.json = true;
			break;
		case 'h':
			return do_help(&c);
		case 'V':
			printf("portwatchctl " PW_RELEASE " (protocol %d)\n", PW_PROTO_VERSION);
			return 0;
		case ':':
			return usage_err("option '--%s' needs an argument", opt_name(optopt));
		case '?':
			if (optopt && strchr("jhV", optopt)) /* "--json=x" */
				return usage_err("option '--%s' takes no argument",
						 opt_name(optopt));
			if (optopt)
				return usage_err("unknown option '-%c'", optopt);
			return usage_err("unknown option '%s'", argv[optind - 1]);
		default:
			if (parse_opt(&c, opt, optarg))
				return EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return usage_err("no command given");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[optind], cmds[i].name))
			cmd = &cmds[i];
	if (!cmd)
		return usage_err("unknown command '%s'", argv[optind]);
	if (c.opts & ~cmd->opts) {
		unsigned int bad = c.opts & ~cmd->opts;

		return usage_err("%s does not take --%s", cmd->name, opt_name(bad & -bad));
	}
	c.argc = argc - optind - 1;
	c.argv = argv + optind + 1;
	if (c.argc > cmd->max_args)
		return usage_err("%s: unexpected argument '%s'", cmd->name, c.argv[cmd->max_args]);
	c.now = time(NULL);
	ret = cmd->func(&c);
	if (c.fd >= 0)
		close(c.fd);
	free(c.in.buf);
	if (fflush(stdout) && !ret) {
		p_err("writing to stdout: %s", strerror(errno));
		ret = EXIT_IO;
	}
	return ret;
}
