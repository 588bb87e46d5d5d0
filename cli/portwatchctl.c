// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * portwatchctl.c - command-line client of portwatchd's control socket.
 *
 * Speaks version 1 of docs/protocol.md: one JSON request per line, one
 * JSON response per line, on a Unix stream socket. Commands live in a
 * {name, handler} table as in bpftool; a single getopt_long() pass takes
 * every option, before or after the command, and the table says which
 * options each command accepts. The connection and the checks on each
 * response are in ctlconn.c, output formatting is in ctlfmt.c.
 *
 * The client is built from cli/ and include/ alone: all it shares with
 * the daemon is include/portwatch/proto.h and the protocol on the wire.
 *
 * Exit status: 0 ok, 1 the daemon answered an error, 2 usage error,
 * 3 cannot connect or I/O error with the daemon. `check` answers with its
 * status: 0 the call would succeed, 1 it would fail.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "portwatch/proto.h"
#include "ctlconn.h"
#include "ctlfmt.h"

enum {
	EXIT_DAEMON = CTLCONN_EXIT_DAEMON, /* the daemon answered an error */
	EXIT_USAGE = 2,
	EXIT_IO = CTLCONN_EXIT_IO, /* cannot connect, I/O or protocol error with the daemon */
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
	OPT_REUSEADDR = 1 << 7,
	OPT_REUSEPORT = 1 << 8,
	OPT_V6ONLY = 1 << 9,
	OPT_LISTEN = 1 << 10,
	OPT_UID = 1 << 11,
	OPT_CONNECT = 1 << 12,
	OPT_FREEBIND = 1 << 13,
	OPT_TRANSPARENT = 1 << 14,
	OPT_CAP_BIND = 1 << 15,
	OPT_DEVICE = 1 << 16,
	OPT_PORT_RANGE = 1 << 17,
	OPT_CONTAINER = 1 << 18,
	OPT_NOHEADER = 1 << 19, /* -H */
	OPT_NUMERIC = 1 << 20,  /* -n */
	OPT_STATE = 1 << 21,
	OPT_SNIFFERS = 1 << 22, /* owners --sniffers */
	OPT_INODE = 1 << 23,    /* check --inode */
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
	{ "reuseaddr", no_argument, NULL, OPT_REUSEADDR },
	{ "reuseport", no_argument, NULL, OPT_REUSEPORT },
	{ "v6only", no_argument, NULL, OPT_V6ONLY },
	{ "listen", no_argument, NULL, OPT_LISTEN },
	{ "uid", required_argument, NULL, OPT_UID },
	{ "connect", required_argument, NULL, OPT_CONNECT },
	{ "freebind", no_argument, NULL, OPT_FREEBIND },
	{ "transparent", no_argument, NULL, OPT_TRANSPARENT },
	{ "cap-net-bind-service", no_argument, NULL, OPT_CAP_BIND },
	{ "device", required_argument, NULL, OPT_DEVICE },
	{ "port-range", required_argument, NULL, OPT_PORT_RANGE },
	{ "container", required_argument, NULL, OPT_CONTAINER },
	{ "no-header", no_argument, NULL, OPT_NOHEADER },
	{ "numeric", no_argument, NULL, OPT_NUMERIC },
	{ "sniffers", no_argument, NULL, OPT_SNIFFERS },
	{ "state", required_argument, NULL, OPT_STATE },
	{ "inode", required_argument, NULL, OPT_INODE },
	{ NULL, 0, NULL, 0 },
};

struct ctl {
	struct ctlconn conn;
	bool json;
	unsigned int opts; /* OPT_* given */
	unsigned long port, pid, netns, since, limit, uid, inode;
	unsigned int states; /* --state: bit i for ctlfmt_states[i] */
	char addr[INET6_ADDRSTRLEN];
	const char *connect; /* check --connect ADDR:PORT */
	const char *device;  /* check --device IFNAME */
	unsigned long range_lo, range_hi; /* check --port-range LO-HI */
	const char *proto;
	const char *container; /* owners --container ID (a prefix of the id) */
	int argc; /* arguments after the command name */
	char **argv;
	time_t now;
};

struct cmd {
	const char *name;
	int (*func)(struct ctl *c);
	unsigned int opts; /* OPT_* it accepts */
	int max_args;	   /* positional arguments it accepts */
};

static volatile sig_atomic_t interrupted;

/* Say what was wrong with the command line; returns EXIT_USAGE. */
static int __attribute__((format(printf, 1, 2))) usage_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctlconn_verr(fmt, ap);
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
	case OPT_INODE:
		err = parse_num(arg, opt, 1, UINT32_MAX, &c->inode);
		break;
	case OPT_SINCE:
		err = parse_num(arg, opt, 0, INT64_MAX, &c->since);
		break;
	case OPT_LIMIT:
		err = parse_num(arg, opt, 1, INT_MAX, &c->limit);
		break;
	case OPT_UID:
		err = parse_num(arg, opt, 0, UINT32_MAX - 1, &c->uid);
		break;
	case OPT_CONNECT:
		c->connect = arg;
		break;
	case OPT_PORT_RANGE: {
		char lo[8], hi[8];

		if (sscanf(arg, "%7[0-9]-%7[0-9]", lo, hi) != 2 ||
		    ctlfmt_parse_ulong(lo, 1, 65535, &c->range_lo) ||
		    ctlfmt_parse_ulong(hi, 1, 65535, &c->range_hi) || c->range_lo > c->range_hi)
			return usage_err("invalid --port-range '%s': expected LO-HI, 1 <= LO <= HI "
					 "<= 65535", arg);
		break;
	}
	case OPT_DEVICE:
		if (!*arg || strlen(arg) >= 16 || strchr(arg, '/') || strchr(arg, ' '))
			return usage_err("invalid --device '%s': expected an interface name", arg);
		c->device = arg;
		break;
	case OPT_CONTAINER:
		/* a prefix of a 64-digit id or a machine/LXC name; the daemon checks the rest */
		if (!*arg || strlen(arg) > 64)
			return usage_err("invalid --container '%s': expected 1 to 64 characters "
					 "of a container id or name",
					 arg);
		c->container = arg;
		break;
	case OPT_STATE: {
		int i = ctlfmt_state_index(arg);

		if (i < 0)
			return usage_err("invalid --state '%s': expected a state as the State column "
					 "prints it: LISTEN, BOUND, ESTABLISHED, TIME_WAIT, SYN_SENT, "
					 "SYN_RECV, FIN_WAIT1, FIN_WAIT2, CLOSE, CLOSE_WAIT, LAST_ACK, "
					 "CLOSING, NEW_SYN_RECV, UNKNOWN",
					 arg);
		c->states |= 1u << i;
		break;
	}
	}
	if (!err)
		c->opts |= opt;
	return err;
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
		{ OPT_LIMIT, "limit", &c->limit }, { OPT_INODE, "inode", &c->inode },
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
	if (c->opts & mask & OPT_CONTAINER)
		json_object_object_add(req, "container", json_object_new_string(c->container));
	if (c->opts & mask & OPT_SNIFFERS)
		json_object_object_add(req, "sniffers", json_object_new_boolean(1));
	return req;
}

/* Print o as indented JSON; 0. */
static int print_json(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
	return 0;
}

/* Print arr as a table (ctlfmt_print_list()), with its header unless -H; 0 or EXIT_IO. */
static int print_list(struct ctl *c, struct json_object *arr, const struct ctlfmt_col *cols,
		      size_t ncols, ctlfmt_row_fn fn)
{
	if (!ctlfmt_print_list(stdout, arr, cols, ncols, fn, c->now, !(c->opts & OPT_NOHEADER)))
		return 0;
	ctlconn_err("formatting the output: %s", strerror(ENOMEM));
	return EXIT_IO;
}

/*
 * --state: a new array of the objects of arr whose "state" is one of
 * c->states (references taken), NULL when out of memory. The protocol has
 * no state filter, so it is applied here.
 */
static struct json_object *filter_states(const struct ctl *c, struct json_object *arr)
{
	struct json_object *out = json_object_new_array(), *st;
	size_t n = json_object_array_length(arr);

	for (size_t i = 0; out && i < n; i++) {
		struct json_object *o = json_object_array_get_idx(arr, i);
		int s;

		if (!json_object_object_get_ex(o, "state", &st) ||
		    !json_object_is_type(st, json_type_string))
			continue;
		s = ctlfmt_state_index(json_object_get_string(st));
		if (s >= 0 && (c->states & 1u << s) &&
		    json_object_array_add(out, json_object_get(o))) {
			json_object_put(o);
			json_object_put(out);
			out = NULL;
		}
	}
	return out;
}

/*
 * Ask cmd and find the array key of the answer, --state applied (the
 * filtered array replaces the answer's): 0 with *resp (caller puts it)
 * and *arr (borrowed from it), or an exit status.
 */
static int fetch_list(struct ctl *c, const char *cmd, unsigned int mask, const char *key,
		      struct json_object **resp, struct json_object **arr)
{
	int ret = ctlconn_call(&c->conn, request(c, cmd, mask), resp);

	if (ret)
		return ret;
	if (!json_object_object_get_ex(*resp, key, arr) ||
	    !json_object_is_type(*arr, json_type_array)) {
		ctlconn_err("bad response from %s: no \"%s\" array", c->conn.path, key);
		json_object_put(*resp);
		return EXIT_IO;
	}
	if (c->opts & OPT_STATE) {
		struct json_object *kept = filter_states(c, *arr);

		if (!kept || json_object_object_add(*resp, key, kept)) {
			json_object_put(kept);
			ctlconn_err("filtering by state: %s", strerror(ENOMEM));
			json_object_put(*resp);
			return EXIT_IO;
		}
		*arr = kept;
	}
	return 0;
}

/* The request/response commands that print one array of the response. */
static int call_list(struct ctl *c, const char *cmd, unsigned int mask, const char *key,
		     const struct ctlfmt_col *cols, size_t ncols, ctlfmt_row_fn fn)
{
	struct json_object *resp, *arr;
	int ret = fetch_list(c, cmd, mask, key, &resp, &arr);

	if (ret)
		return ret;
	ret = c->json ? print_json(arr) : print_list(c, arr, cols, ncols, fn);
	json_object_put(resp);
	return ret;
}

#define OWNERS_OPTS \
	(OPT_PORT | OPT_ADDR | OPT_PROTO | OPT_PID | OPT_NETNS | OPT_CONTAINER | OPT_NOHEADER | \
	 OPT_NUMERIC | OPT_STATE | OPT_SNIFFERS)
#define LIST_OPTS   (OPT_SINCE | OPT_LIMIT | OPT_NOHEADER)
#define WHY_OPTS    (OPT_PORT | OPT_ADDR | OPT_PROTO | OPT_NETNS | OPT_CONTAINER)

/*
 * Command handlers: c holds the options and the arguments after the
 * command name (main() checked their number). Each returns an exit status.
 */
static const char *member_text(struct json_object *o, const char *name);

static int do_owners(struct ctl *c)
{
	struct json_object *resp, *arr;
	int ret;

	if (c->opts & OPT_SNIFFERS) {
		if (c->argc || (c->opts & OWNERS_OPTS & ~(OPT_SNIFFERS | OPT_NOHEADER)))
			return usage_err("owners --sniffers takes no port or filter");
		return call_list(c, "owners", OPT_SNIFFERS, "sniffers", ctlfmt_sniffer_cols,
				 CTLFMT_SNIFFER_NCOLS, ctlfmt_sniffer_row);
	}
	if (c->argc == 1 && parse_port(c, c->argv[0], 0))
		return EXIT_USAGE;
	ret = fetch_list(c, "owners", OWNERS_OPTS, "sockets", &resp, &arr);
	if (ret)
		return ret;
	/* the Container column only on hosts that have them, as ss prints no empty columns */
	if (c->json)
		ret = print_json(arr);
	else if (ctlfmt_any_container(arr))
		ret = print_list(c, arr, ctlfmt_socket_ctr_cols, CTLFMT_SOCKET_NCOLS + 1,
				 ctlfmt_socket_ctr_row);
	else
		ret = print_list(c, arr, ctlfmt_socket_cols, CTLFMT_SOCKET_NCOLS, ctlfmt_socket_row);
	if (!c->json) {
		struct json_object *div;

		/* listeners whose traffic an nftables rule takes (`diversions` for more) */
		if (json_object_object_get_ex(resp, "diverted", &div) &&
		    json_object_is_type(div, json_type_array))
			for (size_t i = 0; i < json_object_array_length(div); i++) {
				struct json_object *d = json_object_array_get_idx(div, i);

				printf("diverted: netns %s %s port %s (inode %s) -> port %s by rule "
				       "\"%s\" (alert %s)\n", member_text(d, "netns"),
				       member_text(d, "proto"), member_text(d, "port"),
				       member_text(d, "inode"), member_text(d, "to_port"),
				       member_text(d, "rule"), member_text(d, "alert_id"));
			}
	}
	json_object_put(resp);
	return ret;
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
	ret = ctlconn_call(&c->conn, request(c, "why", WHY_OPTS), &resp);
	if (ret)
		return ret;
	if (c->json) {
		json_object_object_del(resp, "version");
		json_object_object_del(resp, "ok");
		print_json(resp);
		goto out;
	}
	if (ctlfmt_print_why(stdout, resp, c->now)) {
		ctlconn_err("formatting the output: %s", strerror(ENOMEM));
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

	ret = ctlconn_call(&c->conn, request(c, "stats", 0), &resp);
	if (ret)
		return ret;
	if (!json_object_object_get_ex(resp, "stats", &st) ||
	    !json_object_is_type(st, json_type_object)) {
		ctlconn_err("bad response from %s: no \"stats\" object", c->conn.path);
		ret = EXIT_IO;
	} else if (c->json) {
		print_json(st);
	} else if (ctlfmt_print_stats(stdout, st)) {
		ctlconn_err("formatting the output: %s", strerror(ENOMEM));
		ret = EXIT_IO;
	}
	json_object_put(resp);
	return ret;
}

/* The ports takeover protection keeps: "held for" lines after the rules. */
static void print_holds(struct json_object *pr)
{
	struct json_object *holds;

	if (!json_object_object_get_ex(pr, "holds", &holds) ||
	    !json_object_is_type(holds, json_type_array))
		return;
	printf("takeover protection (takeover = %s): %zu port%s kept for a departed owner\n",
	       json_object_get_string(json_object_object_get(pr, "takeover")),
	       json_object_array_length(holds), json_object_array_length(holds) == 1 ? "" : "s");
	for (size_t i = 0; i < json_object_array_length(holds); i++) {
		struct json_object *h = json_object_array_get_idx(holds, i);
		struct json_object *o = json_object_object_get(h, "owner");

		printf("  %s/%lld netns %lld: uid %lld (%s) until %s, %lld refused\n",
		       json_object_get_string(json_object_object_get(h, "proto")),
		       (long long)json_object_get_int64(json_object_object_get(h, "port")),
		       (long long)json_object_get_int64(json_object_object_get(h, "netns")),
		       (long long)json_object_get_int64(json_object_object_get(o, "uid")),
		       json_object_get_string(json_object_object_get(o, "exe")) ?
			       json_object_get_string(json_object_object_get(o, "exe")) : "?",
		       json_object_get_string(json_object_object_get(h, "until")),
		       (long long)json_object_get_int64(json_object_object_get(h, "refused")));
	}
}

/* protect: the protect mode and rules, with what each has allowed, refused, alerted. */
static int do_protect(struct ctl *c)
{
	struct json_object *resp = NULL, *pr, *rules, *progs;
	int ret;

	ret = ctlconn_call(&c->conn, request(c, "protect", 0), &resp);
	if (ret)
		return ret;
	if (!json_object_object_get_ex(resp, "protect", &pr) ||
	    !json_object_object_get_ex(pr, "rules", &rules) ||
	    !json_object_is_type(rules, json_type_array) ||
	    !json_object_object_get_ex(pr, "programs", &progs) ||
	    !json_object_is_type(progs, json_type_array)) {
		ctlconn_err("bad response from %s: no \"protect\" object", c->conn.path);
		json_object_put(resp);
		return EXIT_IO;
	}
	if (c->json) {
		print_json(pr);
		json_object_put(resp);
		return 0;
	}
	printf("mode %s", json_object_get_string(json_object_object_get(pr, "mode")));
	if (json_object_array_length(progs) == 2)
		printf(", enforcing with cgroup/bind4 and cgroup/bind6 programs %lld and %lld",
		       (long long)json_object_get_int64(json_object_array_get_idx(progs, 0)),
		       (long long)json_object_get_int64(json_object_array_get_idx(progs, 1)));
	printf("\n");
	if (!json_object_array_length(rules)) {
		printf("no protect rules\n");
		print_holds(pr);
		json_object_put(resp);
		return 0;
	}
	printf("%-5s %8s %8s %8s  %s\n", "LINE", "ALLOWED", "REFUSED", "ALERTED", "RULE");
	for (size_t i = 0; i < json_object_array_length(rules); i++) {
		struct json_object *r = json_object_array_get_idx(rules, i);

		printf("%-5lld %8lld %8lld %8lld  %s\n",
		       (long long)json_object_get_int64(json_object_object_get(r, "line")),
		       (long long)json_object_get_int64(json_object_object_get(r, "allowed")),
		       (long long)json_object_get_int64(json_object_object_get(r, "refused")),
		       (long long)json_object_get_int64(json_object_object_get(r, "alerted")),
		       json_object_get_string(json_object_object_get(r, "rule")));
	}
	print_holds(pr);
	json_object_put(resp);
	return 0;
}

/* A member of o as text, "-" when missing or null. */
static const char *member_text(struct json_object *o, const char *name)
{
	struct json_object *v;

	return json_object_object_get_ex(o, name, &v) && v ? json_object_get_string(v) : "-";
}

/* A nat_redirect diversion (docs/protocol.md) on one line. */
static void print_nat_diversion(struct json_object *d)
{
	struct json_object *rule = NULL, *target = NULL, *listener = NULL;

	json_object_object_get_ex(d, "rule", &rule);
	json_object_object_get_ex(d, "target", &target);
	json_object_object_get_ex(d, "listener", &listener);
	printf("nat_redirect netns %s %s %s:%s (pid %s) -> port %s", member_text(d, "netns"),
	       member_text(d, "proto"), member_text(d, "addr"), member_text(d, "port"),
	       member_text(listener, "pid"), member_text(d, "to_port"));
	if (target)
		printf(" (pid %s, %s, uid %s)", member_text(target, "pid"),
		       member_text(target, "comm"), member_text(target, "uid"));
	printf(" rule \"%s\" (%s %s chain %s handle %s", member_text(rule, "text"),
	       member_text(rule, "family"), member_text(rule, "table"),
	       member_text(rule, "chain"), member_text(rule, "handle"));
	if (strcmp(member_text(rule, "origin"), "-"))
		printf(", %s", member_text(rule, "origin"));
	if (!strcmp(member_text(d, "state"), "cleared"))
		printf(") cleared %s (%s) alert %s\n", member_text(d, "cleared"),
		       member_text(d, "cleared_why"), member_text(d, "alert_id"));
	else
		printf(") since %s alert %s\n", member_text(d, "since"), member_text(d, "alert_id"));
}

/* diversions: traffic taken without a bind (sk_lookup links, nftables rules), one per line. */
static int do_diversions(struct ctl *c)
{
	struct json_object *resp = NULL, *v;
	int ret;

	ret = ctlconn_call(&c->conn, request(c, "diversions", 0), &resp);
	if (ret)
		return ret;
	if (!json_object_object_get_ex(resp, "diversions", &v) ||
	    !json_object_is_type(v, json_type_array)) {
		ctlconn_err("bad response from %s: no \"diversions\" list", c->conn.path);
		ret = EXIT_IO;
	} else if (c->json) {
		print_json(v);
	} else {
		size_t n = json_object_array_length(v);

		for (size_t i = 0; i < n; i++) {
			struct json_object *d = json_object_array_get_idx(v, i);

			if (!strcmp(member_text(d, "type"), "nat_redirect")) {
				print_nat_diversion(d);
				continue;
			}
			printf("%s netns %s link %s prog %s (id %s) pid %s (%s, uid %s) since %s "
			       "alert %s\n",
			       member_text(d, "type"), member_text(d, "netns"),
			       member_text(d, "link_id"), member_text(d, "prog_name"),
			       member_text(d, "prog_id"), member_text(d, "pid"),
			       member_text(d, "comm"), member_text(d, "uid"),
			       member_text(d, "since"), member_text(d, "alert_id"));
		}
		if (!n)
			printf("no diversions\n");
	}
	json_object_put(resp);
	return ret;
}

/* reload: the daemon re-reads its configuration file (root only, as SIGHUP). */
static int do_reload(struct ctl *c)
{
	struct json_object *resp = NULL, *msg;
	int ret;

	ret = ctlconn_call(&c->conn, request(c, "reload", 0), &resp);
	if (ret)
		return ret;
	if (c->json)
		print_json(resp);
	else if (json_object_object_get_ex(resp, "message", &msg))
		printf("%s\n", json_object_get_string(msg));
	json_object_put(resp);
	return 0;
}

/* watch: SIGINT ends the watch; ctlconn_read_line() sees the flag. */
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
			ctlconn_err("formatting the alert: %s", strerror(ENOMEM));
			return EXIT_IO;
		}
		ctlfmt_table_print(t, stdout, false);
	}
	if (fflush(stdout)) {
		ctlconn_err("writing to stdout: %s", strerror(errno));
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
		ctlconn_err("starting to watch: %s", strerror(ENOMEM));
		return EXIT_IO;
	}
	/* SIGINT only interrupts ctlconn_read_line()'s ppoll(): then exit 0. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, NULL);
	sigaction(SIGINT, &sa, NULL);
	ret = ctlconn_connect(&c->conn, false) ?: ctlconn_send(&c->conn, req);
	json_object_put(req);
	while (!ret) {
		int err = ctlconn_read_line(&c->conn, &line);

		if (err == 0 && subscribed)
			break;
		if (err < 1) {
			ret = interrupted ? 0 : ctlconn_read_failed(&c->conn, err);
			break;
		}
		if (!*line)
			continue;
		/* The first line answers the request; then one line per alert. */
		ret = ctlconn_parse_response(&c->conn, line, !subscribed, &resp);
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

/*
 * Split "ADDR:PORT" ("127.0.0.1:80", "[::1]:80", "0.0.0.0:0") into the
 * address as inet_ntop writes it and the port. 0 or EXIT_USAGE.
 */
static int parse_addr_port(const char *what, const char *s, char addr[INET6_ADDRSTRLEN],
			   unsigned long *port)
{
	char buf[INET6_ADDRSTRLEN + 2];
	unsigned char bin[sizeof(struct in6_addr)];
	const char *colon = strrchr(s, ':');
	size_t n;

	if (!colon || colon == s)
		return usage_err("%s '%s': expected ADDR:PORT, e.g. 127.0.0.1:80 or [::1]:80", what,
				 s);
	n = (size_t)(colon - s);
	if (s[0] == '[') {
		if (n < 2 || s[n - 1] != ']')
			return usage_err("%s '%s': expected [IPV6]:PORT", what, s);
		s++;
		n -= 2;
	}
	if (n >= sizeof(buf))
		return usage_err("%s '%s': address too long", what, s);
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, bin) == 1)
		inet_ntop(AF_INET, bin, addr, INET6_ADDRSTRLEN);
	else if (inet_pton(AF_INET6, buf, bin) == 1)
		inet_ntop(AF_INET6, bin, addr, INET6_ADDRSTRLEN);
	else
		return usage_err("%s: '%s' is not an IPv4 or IPv6 address", what, buf);
	if (ctlfmt_parse_ulong(colon + 1, 0, 65535, port))
		return usage_err("%s: invalid port '%s': expected 0..65535", what, colon + 1);
	return 0;
}

#define CHECK_OPTS                                                                             \
	(OPT_REUSEADDR | OPT_REUSEPORT | OPT_V6ONLY | OPT_LISTEN | OPT_UID | OPT_NETNS | OPT_PID | \
	 OPT_CONNECT | OPT_FREEBIND | OPT_TRANSPARENT | OPT_CAP_BIND | OPT_DEVICE |          \
	 OPT_PORT_RANGE | OPT_INODE)

/* check PROTO ADDR:PORT: exit 0 when the call would succeed, 1 when it would fail. */
static int do_check(struct ctl *c)
{
	struct json_object *req, *resp = NULL, *pred;
	char addr[INET6_ADDRSTRLEN], raddr[INET6_ADDRSTRLEN], what[256];
	unsigned long port, rport = 0;
	const char *proto;
	int ret;

	if (c->argc != 2)
		return usage_err("check: expected PROTO ADDR:PORT (portwatchctl check tcp "
				 "0.0.0.0:80)");
	if (!strcasecmp(c->argv[0], "tcp"))
		proto = "tcp";
	else if (!strcasecmp(c->argv[0], "udp"))
		proto = "udp";
	else
		return usage_err("check: invalid protocol '%s': expected tcp or udp", c->argv[0]);
	if (parse_addr_port("check", c->argv[1], addr, &port))
		return EXIT_USAGE;
	if ((c->opts & OPT_NETNS) && (c->opts & OPT_PID))
		return usage_err("check: --netns and --pid exclude each other");
	if ((c->opts & OPT_LISTEN) && strcmp(proto, "tcp"))
		return usage_err("check: --listen is for tcp");
	if (c->opts & OPT_CONNECT) {
		if (strcmp(proto, "tcp"))
			return usage_err("check: --connect is for tcp");
		if (c->opts & OPT_LISTEN)
			return usage_err("check: --connect excludes --listen");
		if (parse_addr_port("--connect", c->connect, raddr, &rport))
			return EXIT_USAGE;
		if (!rport)
			return usage_err("--connect: the port must be 1..65535");
	}
	req = request(c, "check", OPT_NETNS | OPT_PID | OPT_INODE);
	if (!req) {
		ctlconn_err("building the request: %s", strerror(ENOMEM));
		return EXIT_IO;
	}
	json_object_object_add(req, "proto", json_object_new_string(proto));
	json_object_object_add(req, "addr", json_object_new_string(addr));
	json_object_object_add(req, "port", json_object_new_int((int)port));
	/* only those given: with --inode the existing socket's own flags count for the rest */
	if (c->opts & OPT_REUSEADDR)
		json_object_object_add(req, "reuseaddr", json_object_new_boolean(1));
	if (c->opts & OPT_REUSEPORT)
		json_object_object_add(req, "reuseport", json_object_new_boolean(1));
	if (c->opts & OPT_V6ONLY)
		json_object_object_add(req, "v6only", json_object_new_boolean(1));
	json_object_object_add(req, "listen", json_object_new_boolean(!!(c->opts & OPT_LISTEN)));
	/* with --pid (or --inode) and no --uid, the daemon takes that process's uid and
	 * capabilities (that socket's creator) */
	if ((c->opts & OPT_UID) || !(c->opts & (OPT_PID | OPT_INODE)))
		json_object_object_add(req, "uid",
				       json_object_new_int64((c->opts & OPT_UID) ?
								     (int64_t)c->uid :
								     (int64_t)getuid()));
	if (c->opts & OPT_FREEBIND)
		json_object_object_add(req, "freebind", json_object_new_boolean(1));
	if (c->opts & OPT_TRANSPARENT)
		json_object_object_add(req, "transparent", json_object_new_boolean(1));
	if (c->opts & OPT_CAP_BIND)
		json_object_object_add(req, "cap_net_bind_service", json_object_new_boolean(1));
	if (c->opts & OPT_DEVICE)
		json_object_object_add(req, "device", json_object_new_string(c->device));
	if (c->opts & OPT_PORT_RANGE) {
		struct json_object *r = json_object_new_array();

		json_object_array_add(r, json_object_new_int((int)c->range_lo));
		json_object_array_add(r, json_object_new_int((int)c->range_hi));
		json_object_object_add(req, "port_range", r);
	}
	if (c->opts & OPT_CONNECT) {
		json_object_object_add(req, "raddr", json_object_new_string(raddr));
		json_object_object_add(req, "rport", json_object_new_int((int)rport));
	}
	ret = ctlconn_call(&c->conn, req, &resp);
	if (ret)
		return ret;
	if (!json_object_object_get_ex(resp, "prediction", &pred) ||
	    !json_object_is_type(pred, json_type_object)) {
		ctlconn_err("bad response from %s: no \"prediction\" object", c->conn.path);
		json_object_put(resp);
		return EXIT_IO;
	}
	if (c->json) {
		print_json(pred);
	} else {
		char local[80], remote[80];

		ctlfmt_addr_port(addr, (long long)port, local, sizeof(local));
		if (c->opts & OPT_CONNECT) {
			ctlfmt_addr_port(raddr, (long long)rport, remote, sizeof(remote));
			snprintf(what, sizeof(what), "connect from %s to %s", local, remote);
		} else {
			snprintf(what, sizeof(what), "%s %s/%s",
				 (c->opts & OPT_LISTEN) ? "bind+listen" : "bind", local, proto);
		}
		if (ctlfmt_print_check(stdout, pred, what, c->now)) {
			ctlconn_err("formatting the output: %s", strerror(ENOMEM));
			json_object_put(resp);
			return EXIT_IO;
		}
	}
	ret = json_object_get_boolean(json_object_object_get(pred, "ok")) ? 0 : EXIT_DAEMON;
	json_object_put(resp);
	return ret;
}

static int do_help(struct ctl *c);

static const struct cmd cmds[] = {
	{ "owners", do_owners, OWNERS_OPTS, 1 },
	{ "alerts", do_alerts, LIST_OPTS, 0 },
	{ "conflicts", do_conflicts, LIST_OPTS, 0 },
	{ "why", do_why, WHY_OPTS, 1 },
	{ "check", do_check, CHECK_OPTS, 2 },
	{ "stats", do_stats, 0, 0 },
	{ "protect", do_protect, 0, 0 },
	{ "diversions", do_diversions, 0, 0 },
	{ "watch", do_watch, 0, 0 },
	{ "reload", do_reload, 0, 0 },
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
	       "          [--container ID] [--state STATE]... [-H] [-n]\n"
	       "        Sockets in the daemon's table, like ss: state, local address, reuse\n"
	       "        flags (RA SO_REUSEADDR, RP SO_REUSEPORT, V6 IPV6_V6ONLY, FB\n"
	       "        IP_FREEBIND, TP IP_TRANSPARENT), uid,\n"
	       "        process, executable, systemd unit, first seen; a Container column\n"
	       "        (RUNTIME:ID, 12 digits of an id) when a socket is in one. --container\n"
	       "        keeps the sockets of containers whose id (or name) starts with ID.\n"
	       "        --state keeps the sockets in STATE as the State column prints it\n"
	       "        (LISTEN, BOUND, ESTABLISHED, TIME_WAIT, SYN_SENT, CLOSE_WAIT, ...;\n"
	       "        any case, '-' for '_'); repeated, any of them. It filters here,\n"
	       "        after the answer: the protocol has no state filter. -H,\n"
	       "        --no-header: no header line. -n, --numeric: accepted for ss users;\n"
	       "        addresses, ports and uids are always numeric.\n"
	       "    owners --sniffers [-H]\n"
	       "        Packet sniffers: raw and AF_PACKET sockets with a socket filter, which\n"
	       "        read ports they never bound: type, protocol, interface, filter (cbpf,\n"
	       "        ebpf), the ports a classic filter compares (or unknown), the owner.\n"
	       "    alerts [--since ID] [--limit N] [-H]\n"
	       "        Alerts, oldest first: the last N (default 100), or those after ID.\n"
	       "    conflicts [--since ID] [--limit N] [-H]\n"
	       "        Failed bind, listen and connect calls, and the rule that refused them.\n"
	       "    why PORT [--addr A] [--proto tcp|udp] [--netns N] [--container ID]\n"
	       "        Who holds PORT and what a bind to it would meet: explanation,\n"
	       "        holders, TIME_WAIT entries, recent conflicts and alerts.\n"
	       "        --container keeps the holders of containers whose id starts with ID.\n"
	       "    check tcp|udp ADDR:PORT [--reuseaddr] [--reuseport] [--v6only] [--listen]\n"
	       "          [--uid N] [--netns INODE | --pid PID] [--connect RADDR:RPORT]\n"
	       "          [--freebind] [--transparent] [--cap-net-bind-service]\n"
	       "          [--device IFNAME] [--port-range LO-HI] [--inode N]\n"
	       "        Dry run: would a new socket with these options bind ADDR:PORT (and\n"
	       "        listen, with --listen) right now, in the daemon's network namespace,\n"
	       "        namespace INODE, or that of process PID? PORT 0 asks whether the\n"
	       "        kernel has a free port in that namespace's ip_local_port_range.\n"
	       "        --uid is the uid that creates the socket (default: yours), which\n"
	       "        SO_REUSEPORT compares; a uid other than 0 lacks CAP_NET_BIND_SERVICE\n"
	       "        unless --cap-net-bind-service says it has it; --pid alone takes the\n"
	       "        process's uid and capability. --freebind and --transparent are\n"
	       "        IP_FREEBIND and IP_TRANSPARENT: an address the namespace does not\n"
	       "        have may be bound. --device IFNAME: bound to that interface\n"
	       "        (SO_BINDTODEVICE), which only sockets on no device or on the same\n"
	       "        one conflict with. --port-range LO-HI: the socket's\n"
	       "        IP_LOCAL_PORT_RANGE (port 0 and autobind search there).\n"
	       "        --inode N: the socket exists (socket inode N, as ss -e shows); an\n"
	       "        unbound one that attached a reuseport program has a group of its\n"
	       "        own, and its own flags, uid and device count where not given.\n"
	       "        --connect RADDR:RPORT asks about connect(2)\n"
	       "        from ADDR:PORT (port 0: unbound) instead: the 4-tuple and the\n"
	       "        ephemeral range. The answer follows the kernel's own checks\n"
	       "        (inet_csk_get_port, udp_lib_get_port, __inet_hash_connect) against\n"
	       "        every socket the kernel holds there, TIME_WAIT entries included;\n"
	       "        when the call would fail it names each blocking socket (pid, comm,\n"
	       "        uid, state, flags, since, rule, TIME_WAIT time left) and says what\n"
	       "        would change the answer. Exit status 0: would succeed; 1: would\n"
	       "        fail (or the daemon refused the request).\n"
	       "    stats\n"
	       "        Daemon counters: events, drops, table size, hooks, alerts.\n"
	       "    protect\n"
	       "        Protected ports (portwatch.conf(5) [protect]): the mode, the\n"
	       "        enforcing programs, and per rule its binds allowed, refused (mode\n"
	       "        enforce) and alerted.\n"
	       "    diversions\n"
	       "        What takes a port's traffic without a bind: the BPF sk_lookup\n"
	       "        programs attached in every network namespace, with the process\n"
	       "        holding each link, and the nftables dnat/redirect/tproxy rules\n"
	       "        that take a listener's traffic (active, and recently cleared),\n"
	       "        with the alert each raised.\n"
	       "    watch\n"
	       "        Print alerts as they are raised, one per line, until the daemon\n"
	       "        exits or SIGINT (Ctrl-C).\n"
	       "    reload\n"
	       "        Make the daemon re-read its configuration file, as SIGHUP does;\n"
	       "        a bad file is reported (FILE:LINE) and the running one kept.\n"
	       "        Root only: members of the socket's group may query, not reload.\n"
	       "    help\n"
	       "        This text.\n"
	       "\n"
	       "OPTIONS\n"
	       "    -s, --socket PATH  control socket (default: $PORTWATCH_SOCKET, else\n"
	       "                       " PW_DEFAULT_SOCKET ")\n"
	       "    -j, --json         print the response's list (stats: object; why: the\n"
	       "                       whole response; check: the prediction object) as\n"
	       "                       JSON; watch: one alert per line\n"
	       "    -h, --help         this text\n"
	       "    -V, --version      print the version and the protocol version\n"
	       "    Options may also follow the command. Times are local; the daemon\n"
	       "    answers within %d s or portwatchctl gives up (watch waits forever).\n"
	       "\n"
	       "EXIT STATUS\n"
	       "    0 success; 1 the daemon answered an error or speaks another protocol\n"
	       "    version; 2 usage error; 3 cannot connect, timeout, I/O error or bad\n"
	       "    response from the daemon. check: 0 the call would succeed, 1 it would\n"
	       "    fail.\n"
	       "\n"
	       "ACCESS\n"
	       "    The socket is mode 0660, group portwatch: root and members of that\n"
	       "    group may connect (usermod -aG portwatch USER), others get EACCES.\n"
	       "\n"
	       "FILES\n"
	       "    " PW_DEFAULT_SOCKET "  portwatchd's control socket\n"
	       "\n"
	       "EXAMPLES\n"
	       "    portwatchctl owners 80               who holds port 80\n"
	       "    portwatchctl owners --container 3f0c1a9e   the sockets of one container\n"
	       "    portwatchctl owners --sniffers      who reads traffic without a bind\n"
	       "    portwatchctl why 443 --proto tcp     why binding 443/tcp fails\n"
	       "    portwatchctl check tcp 0.0.0.0:8080 --reuseaddr --listen && deploy\n"
	       "                                         gate a deploy on the bind\n"
	       "    portwatchctl alerts --since 41       alerts newer than alert 41\n"
	       "    portwatchctl --json owners | jq '.[] | select(.reuseport)'\n"
	       "    portwatchctl watch --json >> alerts.jsonl\n",
	       CTLCONN_TIMEOUT_S);
	return 0;
}

int main(int argc, char **argv)
{
	struct ctl c = { .conn = {
		.path = getenv("PORTWATCH_SOCKET"),
		.fd = -1,
		.interrupted = &interrupted,
	} };
	const struct cmd *cmd = NULL;
	int opt, ret;

	if (!c.conn.path || !*c.conn.path)
		c.conn.path = PW_DEFAULT_SOCKET;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":s:jhVHn", long_opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			if (!*optarg)
				return usage_err("option '--socket' needs a path");
			c.conn.path = optarg;
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
		case 'H':
			c.opts |= OPT_NOHEADER;
			break;
		case 'n':
			c.opts |= OPT_NUMERIC;
			break;
		case '?':
			/* "--json=x": optopt is the option's value, a letter or an OPT_* bit */
			if (optopt && (optopt > 0x7f || strchr("jhVHn", optopt)))
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
	ctlconn_close(&c.conn);
	if (fflush(stdout) && !ret) {
		ctlconn_err("writing to stdout: %s", strerror(errno));
		ret = EXIT_IO;
	}
	return ret;
}
