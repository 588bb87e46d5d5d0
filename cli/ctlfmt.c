// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* ctlfmt.c - see ctlfmt.h. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "ctlfmt.h"

/*
 * Cells live NUL-terminated, one after the other, in text; cells[] holds
 * their offsets, ncols per row. width[] is the widest seen per column.
 */
struct ctlfmt_table {
	const struct ctlfmt_col *cols;
	size_t ncols;
	int *width;
	char *text;
	size_t text_len, text_cap;
	size_t *cells;
	size_t ncells, cells_cap;
};

struct ctlfmt_table *ctlfmt_table_new(const struct ctlfmt_col *cols, size_t ncols)
{
	struct ctlfmt_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->cols = cols;
	t->ncols = ncols;
	t->width = calloc(ncols, sizeof(*t->width));
	if (!t->width) {
		free(t);
		return NULL;
	}
	for (size_t i = 0; i < ncols; i++) {
		t->width[i] = (int)strlen(cols[i].name);
		if (t->width[i] < cols[i].min_width)
			t->width[i] = cols[i].min_width;
	}
	return t;
}

void ctlfmt_table_free(struct ctlfmt_table *t)
{
	if (!t)
		return;
	free(t->width);
	free(t->text);
	free(t->cells);
	free(t);
}

/*
 * Terminal control characters from the daemon (a process picks its own
 * comm and exe) are shown as '?': C0, DEL, and C1 as UTF-8 (0xc2 0x80-0x9f).
 * Returns the display width, counting UTF-8 sequences as one column.
 */
static int sanitize(char *s)
{
	unsigned char *p = (unsigned char *)s;
	int w = 0;

	for (; *p; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			*p = '?';
		} else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			p[0] = '?';
			p[1] = '?';
			w++;
			p++;
		}
		if ((*p & 0xc0) != 0x80)
			w++;
	}
	return w;
}

/* buf grown to hold need elements of size bytes, or NULL (buf still valid). */
static void *grow(void *buf, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap ? *cap : 64;

	if (need <= *cap)
		return buf;
	while (ncap < need)
		ncap *= 2;
	buf = realloc(buf, ncap * size);
	if (buf)
		*cap = ncap;
	return buf;
}

int ctlfmt_table_add(struct ctlfmt_table *t, const char *const *cells)
{
	size_t need = t->text_len, *offs;
	char *text;

	for (size_t i = 0; i < t->ncols; i++)
		need += strlen(cells[i] ? cells[i] : "-") + 1;
	text = grow(t->text, &t->text_cap, need, 1);
	if (!text)
		return -ENOMEM;
	t->text = text;
	offs = grow(t->cells, &t->cells_cap, t->ncells + t->ncols, sizeof(*offs));
	if (!offs)
		return -ENOMEM;
	t->cells = offs;
	for (size_t i = 0; i < t->ncols; i++) {
		const char *c = cells[i] ? cells[i] : "-";
		size_t len = strlen(c);
		int w;

		memcpy(t->text + t->text_len, c, len + 1);
		w = sanitize(t->text + t->text_len);
		if (w > t->width[i])
			t->width[i] = w;
		t->cells[t->ncells++] = t->text_len;
		t->text_len += len + 1;
	}
	return 0;
}

size_t ctlfmt_table_rows(const struct ctlfmt_table *t)
{
	return t->ncols ? t->ncells / t->ncols : 0;
}

static int display_width(const char *s)
{
	int w = 0;

	for (; *s; s++)
		if ((*s & 0xc0) != 0x80)
			w++;
	return w;
}

static void print_line(const struct ctlfmt_table *t, FILE *out, const char *const *cells)
{
	for (size_t i = 0; i < t->ncols; i++) {
		fputs(cells[i], out);
		if (i + 1 == t->ncols)
			break;
		fprintf(out, "%*s", t->width[i] - display_width(cells[i]) + 2, "");
	}
	fputc('\n', out);
}

void ctlfmt_table_print(struct ctlfmt_table *t, FILE *out, bool header)
{
	const char *row[t->ncols ? t->ncols : 1];

	if (header) {
		for (size_t i = 0; i < t->ncols; i++)
			row[i] = t->cols[i].name;
		print_line(t, out, row);
	}
	for (size_t r = 0; r < t->ncells; r += t->ncols) {
		for (size_t i = 0; i < t->ncols; i++)
			row[i] = t->text + t->cells[r + i];
		print_line(t, out, row);
	}
	t->ncells = 0;
	t->text_len = 0;
}

int ctlfmt_parse_time(const char *s, time_t *t)
{
	struct tm tm = { 0 };
	const char *p;
	long off = 0;
	time_t v;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return -EINVAL;
	if (*p == '.') {
		if (!isdigit((unsigned char)*++p))
			return -EINVAL;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1]) &&
		   isdigit((unsigned char)p[2]) && p[3] == ':' && isdigit((unsigned char)p[4]) &&
		   isdigit((unsigned char)p[5])) {
		off = ((p[1] - '0') * 10 + p[2] - '0') * 3600 +
		      ((p[4] - '0') * 10 + p[5] - '0') * 60;
		if (*p == '-')
			off = -off;
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	v = timegm(&tm);
	if (v == (time_t)-1)
		return -EINVAL;
	*t = v - off;
	return 0;
}

void ctlfmt_time(const char *s, time_t now, bool date_only, char *buf, size_t len)
{
	struct tm tm, today;
	const char *fmt;
	time_t t;

	if (!s || !*s) {
		snprintf(buf, len, "-");
		return;
	}
	if (ctlfmt_parse_time(s, &t) || !localtime_r(&t, &tm) || !localtime_r(&now, &today)) {
		snprintf(buf, len, "%s", s);
		return;
	}
	if (tm.tm_year == today.tm_year && tm.tm_yday == today.tm_yday)
		fmt = "%H:%M:%S";
	else
		fmt = date_only ? "%Y-%m-%d" : "%Y-%m-%d %H:%M:%S";
	if (!strftime(buf, len, fmt, &tm))
		buf[0] = '\0';
}

void ctlfmt_duration(long long secs, char *buf, size_t len)
{
	long long d;

	if (secs < 0)
		secs = 0;
	d = secs / 86400;
	secs %= 86400;
	if (d)
		snprintf(buf, len, "%lldd %02lld:%02lld:%02lld", d, secs / 3600, secs / 60 % 60,
			 secs % 60);
	else
		snprintf(buf, len, "%02lld:%02lld:%02lld", secs / 3600, secs / 60 % 60, secs % 60);
}

void ctlfmt_addr_port(const char *addr, long long port, char *buf, size_t len)
{
	if (port < 0)
		snprintf(buf, len, "%s%s%s:*", addr && strchr(addr, ':') ? "[" : "",
			 addr ? addr : "*", addr && strchr(addr, ':') ? "]" : "");
	else if (!addr)
		snprintf(buf, len, "*:%lld", port);
	else if (strchr(addr, ':'))
		snprintf(buf, len, "[%s]:%lld", addr, port);
	else
		snprintf(buf, len, "%s:%lld", addr, port);
}

void ctlfmt_flags(bool reuseaddr, bool reuseport, bool v6only, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s%s", reuseaddr ? "RA" : "",
		 reuseaddr && (reuseport || v6only) ? "," : "", reuseport ? "RP" : "",
		 reuseport && v6only ? "," : "", v6only ? "V6" : "");
	if (!*buf)
		snprintf(buf, len, "-");
}

int ctlfmt_parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/* The member's text (a string's value, a number's digits), NULL if absent or null. */
static const char *jtext(struct json_object *o, const char *key)
{
	struct json_object *m;

	if (!json_object_object_get_ex(o, key, &m) || !m)
		return NULL;
	return json_object_get_string(m);
}

static bool jbool(struct json_object *o, const char *key)
{
	struct json_object *m;

	return json_object_object_get_ex(o, key, &m) && json_object_get_boolean(m);
}

static long long jint(struct json_object *o, const char *key)
{
	struct json_object *m;

	if (!json_object_object_get_ex(o, key, &m) || !json_object_is_type(m, json_type_int))
		return -1;
	return json_object_get_int64(m);
}

/* "812/nginx", or "-" when the socket has no known process. */
static void pid_comm(struct json_object *o, char *buf, size_t len)
{
	long long pid = jint(o, "pid");
	const char *comm = jtext(o, "comm");

	if (pid > 0)
		snprintf(buf, len, "%lld/%s", pid, comm && *comm ? comm : "?");
	else
		snprintf(buf, len, "%s", comm && *comm ? comm : "-");
}

/* "812/nginx uid=33" for an alert's holder or contender socket. */
static const char *party(struct json_object *alert, const char *key, char *buf, size_t len)
{
	struct json_object *sk;
	const char *uid;
	size_t n;

	if (!json_object_object_get_ex(alert, key, &sk) ||
	    !json_object_is_type(sk, json_type_object))
		return NULL;
	pid_comm(sk, buf, len);
	uid = jtext(sk, "uid");
	n = strlen(buf);
	if (uid && n < len)
		snprintf(buf + n, len - n, " uid=%s", uid);
	return buf;
}

/*
 * addr:port of a socket object, with its device as ss(8) prints it
 * (127.0.0.53%lo:53, [fe80::1%eth0]:546) when it is bound to one.
 */
static const char *addr_port(struct json_object *o, char *buf, size_t len)
{
	const char *addr = jtext(o, "addr"), *dev = jtext(o, "device");
	long long ifindex = jint(o, "device_ifindex");
	char a[INET6_ADDRSTRLEN + 24];

	if (addr && ifindex > 0) {
		if (dev)
			snprintf(a, sizeof(a), "%s%%%s", addr, dev);
		else
			snprintf(a, sizeof(a), "%s%%if%lld", addr, ifindex);
		addr = a;
	}
	ctlfmt_addr_port(addr, jint(o, "port"), buf, len);
	return buf;
}

const struct ctlfmt_col ctlfmt_socket_cols[CTLFMT_SOCKET_NCOLS] = {
	{ "Netid", 0 }, { "State", 0 }, { "Local-Address:Port", 0 },
	{ "Flags", 0 }, { "Uid", 0 },	{ "Pid/Comm", 0 },
	{ "Exe", 0 },	{ "Unit", 0 },	{ "Since", 0 },
};

const struct ctlfmt_col ctlfmt_socket_ctr_cols[CTLFMT_SOCKET_NCOLS + 1] = {
	{ "Netid", 0 }, { "State", 0 }, { "Local-Address:Port", 0 },
	{ "Flags", 0 }, { "Uid", 0 },	{ "Pid/Comm", 0 },
	{ "Exe", 0 },	{ "Unit", 0 },	{ "Container", 0 },
	{ "Since", 0 },
};

const char *ctlfmt_container(struct json_object *sk, char *buf, size_t len)
{
	struct json_object *c;
	const char *id, *rt;
	int n;

	if (!json_object_object_get_ex(sk, "container", &c) ||
	    !json_object_is_type(c, json_type_object))
		return NULL;
	id = jtext(c, "id");
	rt = jtext(c, "runtime");
	if (!id || !rt)
		return NULL;
	/* a 64-digit id as docker ps shows it; names (nspawn, LXC) whole */
	n = strlen(id) == 64 && strspn(id, "0123456789abcdef") == 64 ? 12 : (int)strlen(id);
	snprintf(buf, len, "%s:%.*s", rt, n, id);
	return buf;
}

bool ctlfmt_any_container(struct json_object *arr)
{
	char buf[96];

	for (size_t i = 0; i < json_object_array_length(arr); i++)
		if (ctlfmt_container(json_object_array_get_idx(arr, i), buf, sizeof(buf)))
			return true;
	return false;
}

/* Append FB (IP_FREEBIND) and TP (IP_TRANSPARENT) to the flags ctlfmt_flags() wrote. */
static void ip_flags(struct json_object *sk, char *flags, size_t len)
{
	bool fb = jbool(sk, "freebind"), tp = jbool(sk, "transparent");
	size_t off = strcmp(flags, "-") ? strlen(flags) : 0;

	if (!fb && !tp)
		return;
	snprintf(flags + off, len - off, "%s%s%s%s", off ? "," : "", fb ? "FB" : "",
		 fb && tp ? "," : "", tp ? "TP" : "");
}

/* One socket row, with the Container column before Since when with_ctr. */
static int socket_row(struct ctlfmt_table *t, struct json_object *sk, time_t now, bool with_ctr)
{
	char local[80], flags[16], pc[64], since[32], ctr[96];
	const char *exe = jtext(sk, "exe");
	const char *row[] = {
		jtext(sk, "proto"),
		jtext(sk, "state"),
		addr_port(sk, local, sizeof(local)),
		flags,
		jtext(sk, "uid"),
		pc,
		exe && *exe ? exe : NULL,
		jtext(sk, "unit"),
		with_ctr ? ctlfmt_container(sk, ctr, sizeof(ctr)) : since,
		since,
	};

	_Static_assert(sizeof(row) / sizeof(row[0]) == CTLFMT_SOCKET_NCOLS + 1,
		       "one cell per column");
	ctlfmt_flags(jbool(sk, "reuseaddr"), jbool(sk, "reuseport"), jbool(sk, "v6only"), flags,
		     sizeof(flags));
	ip_flags(sk, flags, sizeof(flags));
	pid_comm(sk, pc, sizeof(pc));
	ctlfmt_time(jtext(sk, "since"), now, true, since, sizeof(since));
	return ctlfmt_table_add(t, row);
}

const struct ctlfmt_col ctlfmt_sniffer_cols[CTLFMT_SNIFFER_NCOLS] = {
	{ "Type", 0 },	 { "Proto", 0 }, { "Interface", 0 }, { "Filter", 0 }, { "Ports", 0 },
	{ "Uid", 0 },	 { "Pid/Comm", 0 }, { "Exe", 0 },    { "Unit", 0 },	  { "Since", 0 },
};

int ctlfmt_sniffer_row(struct ctlfmt_table *t, struct json_object *f, time_t now)
{
	char ports[64] = "unknown", pc[64], since[32];
	const char *exe = jtext(f, "exe");
	struct json_object *arr;
	const char *row[] = {
		jtext(f, "type"), jtext(f, "protocol"), jtext(f, "interface"), jtext(f, "filter"),
		ports, jtext(f, "uid"), pc, exe && *exe ? exe : NULL, jtext(f, "unit"), since,
	};

	_Static_assert(sizeof(row) / sizeof(row[0]) == CTLFMT_SNIFFER_NCOLS,
		       "one cell per column");
	if (json_object_object_get_ex(f, "ports", &arr) &&
	    json_object_is_type(arr, json_type_array)) {
		size_t off = 0;

		ports[0] = '\0';
		for (size_t i = 0; i < json_object_array_length(arr) && off < sizeof(ports); i++) {
			int w = snprintf(ports + off, sizeof(ports) - off, "%s%d", i ? "," : "",
					 json_object_get_int(json_object_array_get_idx(arr, i)));

			off += w > 0 ? (size_t)w : 0;
		}
	}
	pid_comm(f, pc, sizeof(pc));
	ctlfmt_time(jtext(f, "since"), now, true, since, sizeof(since));
	return ctlfmt_table_add(t, row);
}

int ctlfmt_socket_row(struct ctlfmt_table *t, struct json_object *sk, time_t now)
{
	return socket_row(t, sk, now, false);
}

int ctlfmt_socket_ctr_row(struct ctlfmt_table *t, struct json_object *sk, time_t now)
{
	return socket_row(t, sk, now, true);
}

const struct ctlfmt_col ctlfmt_blocker_cols[CTLFMT_BLOCKER_NCOLS] = {
	{ "Netid", 0 },	 { "State", 0 }, { "Local-Address:Port", 0 }, { "Peer", 0 },
	{ "Flags", 0 },	 { "Uid", 0 },	 { "Pid/Comm", 0 },	      { "Since", 0 },
	{ "Rule", 0 },	 { "Expires", 0 },
};

int ctlfmt_blocker_row(struct ctlfmt_table *t, struct json_object *sk, time_t now)
{
	char local[80], peer[80], flags[16], pc[64], since[32], expires[24] = "";
	struct json_object *v;
	const char *row[] = {
		jtext(sk, "proto"),
		jtext(sk, "state"),
		addr_port(sk, local, sizeof(local)),
		NULL,
		flags,
		jtext(sk, "uid"),
		pc,
		since,
		jtext(sk, "rule"),
		NULL,
	};

	_Static_assert(sizeof(row) / sizeof(row[0]) == CTLFMT_BLOCKER_NCOLS, "one cell per column");
	if (jtext(sk, "raddr")) {
		ctlfmt_addr_port(jtext(sk, "raddr"), jint(sk, "rport"), peer, sizeof(peer));
		row[3] = peer;
	}
	if (json_object_object_get_ex(sk, "expires_s", &v) && json_object_is_type(v, json_type_int)) {
		snprintf(expires, sizeof(expires), "%lld s", (long long)json_object_get_int64(v));
		row[9] = expires;
	}
	ctlfmt_flags(jbool(sk, "reuseaddr"), jbool(sk, "reuseport"), jbool(sk, "v6only"), flags,
		     sizeof(flags));
	pid_comm(sk, pc, sizeof(pc));
	ctlfmt_time(jtext(sk, "since"), now, true, since, sizeof(since));
	return ctlfmt_table_add(t, row);
}

int ctlfmt_print_check(FILE *out, struct json_object *pred, const char *what, time_t now)
{
	struct json_object *blockers, *range;
	const char *rule = jtext(pred, "rule"), *err = jtext(pred, "errno_name");
	const char *expl = jtext(pred, "explanation"), *advice = jtext(pred, "advice");
	char line[512];

	if (jbool(pred, "ok"))
		snprintf(line, sizeof(line), "%s: would succeed.", what);
	else
		snprintf(line, sizeof(line), "%s: would fail with %s (rule %s).", what,
			 err ? err : "?", rule ? rule : "?");
	ctlfmt_wrap(out, line, 0, 78);
	if (json_object_object_get_ex(pred, "range", &range) &&
	    json_object_is_type(range, json_type_array) && json_object_array_length(range) == 2) {
		fprintf(out, "Ephemeral range %lld-%lld: %lld ports free, %lld in use.\n",
			(long long)json_object_get_int64(json_object_array_get_idx(range, 0)),
			(long long)json_object_get_int64(json_object_array_get_idx(range, 1)),
			jint(pred, "free_ports"), jint(pred, "in_use"));
	}
	if (expl)
		ctlfmt_wrap(out, expl, 2, 78);
	if (json_object_object_get_ex(pred, "blockers", &blockers) &&
	    json_object_is_type(blockers, json_type_array) && json_object_array_length(blockers)) {
		fprintf(out, "\nBlocking sockets:\n");
		if (ctlfmt_print_list(out, blockers, ctlfmt_blocker_cols, CTLFMT_BLOCKER_NCOLS,
				      ctlfmt_blocker_row, now, true))
			return -ENOMEM;
	}
	if (!jbool(pred, "ok") && advice) {
		fprintf(out, "\nWhat would change the answer:\n");
		ctlfmt_wrap(out, advice, 2, 78);
	}
	return 0;
}

const struct ctlfmt_col ctlfmt_alert_cols[CTLFMT_ALERT_NCOLS] = {
	{ "ID", 0 },	{ "Time", 0 },	 { "Severity", 0 },  { "Kind/Reason", 0 }, { "Proto", 0 },
	{ "Local", 0 }, { "Holder", 0 }, { "Contender", 0 }, { "Result", 0 },	   { "Message", 0 },
};

int ctlfmt_alert_row(struct ctlfmt_table *t, struct json_object *alert, time_t now)
{
	char when[32], kind[96], local[80], holder[96], contender[96];
	const char *k = jtext(alert, "kind"), *r = jtext(alert, "reason");
	const char *row[] = {
		jtext(alert, "id"),
		when,
		jtext(alert, "severity"),
		kind,
		jtext(alert, "proto"),
		addr_port(alert, local, sizeof(local)),
		party(alert, "holder", holder, sizeof(holder)),
		party(alert, "contender", contender, sizeof(contender)),
		jtext(alert, "result"),
		jtext(alert, "message"),
	};

	_Static_assert(sizeof(row) / sizeof(row[0]) == CTLFMT_ALERT_NCOLS, "one cell per column");
	ctlfmt_time(jtext(alert, "time"), now, false, when, sizeof(when));
	snprintf(kind, sizeof(kind), "%s%s%s", k ? k : "-", r ? "/" : "", r ? r : "");
	return ctlfmt_table_add(t, row);
}

const struct ctlfmt_col ctlfmt_conflict_cols[CTLFMT_CONFLICT_NCOLS] = {
	{ "ID", 0 },	{ "Time", 0 },	{ "Op", 0 },	   { "Errno", 0 }, { "Rule", 0 },
	{ "Proto", 0 }, { "Local", 0 }, { "Pid/Comm", 0 }, { "Uid", 0 },   { "Explanation", 0 },
};

int ctlfmt_conflict_row(struct ctlfmt_table *t, struct json_object *c, time_t now)
{
	char when[32], local[80], pc[64];
	const char *err = jtext(c, "errno_name");
	const char *row[] = {
		jtext(c, "id"),
		when,
		jtext(c, "op"),
		err && *err ? err : jtext(c, "errno"),
		jtext(c, "rule"),
		jtext(c, "proto"),
		addr_port(c, local, sizeof(local)),
		pc,
		jtext(c, "uid"),
		jtext(c, "explanation"),
	};

	_Static_assert(sizeof(row) / sizeof(row[0]) == CTLFMT_CONFLICT_NCOLS,
		       "one cell per column");
	ctlfmt_time(jtext(c, "time"), now, false, when, sizeof(when));
	pid_comm(c, pc, sizeof(pc));
	return ctlfmt_table_add(t, row);
}

int ctlfmt_print_list(FILE *out, struct json_object *arr, const struct ctlfmt_col *cols,
		      size_t ncols, ctlfmt_row_fn fn, time_t now, bool header)
{
	struct ctlfmt_table *t = ctlfmt_table_new(cols, ncols);
	size_t n = json_object_array_length(arr);

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (fn(t, json_object_array_get_idx(arr, i), now)) {
			ctlfmt_table_free(t);
			return -ENOMEM;
		}
	}
	ctlfmt_table_print(t, out, header);
	ctlfmt_table_free(t);
	return 0;
}

const char *const ctlfmt_states[CTLFMT_NSTATES] = {
	"LISTEN",    "BOUND",	   "ESTABLISHED", "SYN_SENT",	  "SYN_RECV",
	"FIN_WAIT1", "FIN_WAIT2",  "TIME_WAIT",	  "CLOSE",	  "CLOSE_WAIT",
	"LAST_ACK",  "CLOSING",	   "NEW_SYN_RECV", "UNKNOWN",
};

int ctlfmt_state_index(const char *name)
{
	for (int i = 0; i < CTLFMT_NSTATES; i++) {
		const char *a = name, *b = ctlfmt_states[i];

		for (; *a && *b; a++, b++)
			if (toupper((unsigned char)*a) != *b && !(*a == '-' && *b == '_'))
				break;
		if (!*a && !*b)
			return i;
	}
	return -1;
}

int ctlfmt_print_why(FILE *out, struct json_object *resp, time_t now)
{
	static const struct {
		const char *key, *title;
		const struct ctlfmt_col *cols;
		size_t ncols;
		ctlfmt_row_fn fn;
	} sections[] = {
		{ "holders", "Holders", ctlfmt_socket_cols, CTLFMT_SOCKET_NCOLS,
		  ctlfmt_socket_row },
		{ "time_wait", "TIME_WAIT", ctlfmt_socket_cols, CTLFMT_SOCKET_NCOLS,
		  ctlfmt_socket_row },
		{ "conflicts", "Recent conflicts", ctlfmt_conflict_cols, CTLFMT_CONFLICT_NCOLS,
		  ctlfmt_conflict_row },
		{ "alerts", "Recent alerts", ctlfmt_alert_cols, CTLFMT_ALERT_NCOLS,
		  ctlfmt_alert_row },
	};
	const char *expl = jtext(resp, "explanation");
	struct json_object *arr;

	if (expl)
		ctlfmt_wrap(out, expl, 0, 78);
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		if (!json_object_object_get_ex(resp, sections[i].key, &arr) ||
		    !json_object_is_type(arr, json_type_array))
			continue;
		if (!json_object_array_length(arr)) {
			fprintf(out, "\n%s: none\n", sections[i].title);
			continue;
		}
		fprintf(out, "\n%s:\n", sections[i].title);
		if (ctlfmt_print_list(out, arr, sections[i].cols, sections[i].ncols, sections[i].fn,
				      now, true))
			return -ENOMEM;
	}
	return 0;
}

/* "events" + "bind" -> "events bind:"; underscores become spaces. */
static void stats_label(char *buf, size_t len, const char *key, const char *sub)
{
	if (!strcmp(key, "hooks"))
		key = "hook";
	else if (!strcmp(key, "alerts_by_kind"))
		key = "alerts";
	else if (!strcmp(key, "uptime_s"))
		key = "uptime";
	snprintf(buf, len, "%s%s%s:", key, sub ? " " : "", sub ? sub : "");
	for (char *p = buf; *p; p++)
		if (*p == '_' && p < buf + strlen(key))
			*p = ' ';
}

int ctlfmt_print_stats(FILE *out, struct json_object *stats)
{
	static const struct ctlfmt_col cols[] = { { "", 0 }, { "", 0 } };
	struct ctlfmt_table *t = ctlfmt_table_new(cols, 2);
	char label[128], up[64];
	const char *row[2] = { label, NULL };
	int err = 0;

	if (!t)
		return -ENOMEM;
	json_object_object_foreach (stats, key, val) {
		if (json_object_is_type(val, json_type_object)) {
			json_object_object_foreach (val, sub, v) {
				stats_label(label, sizeof(label), key, sub);
				row[1] = json_object_get_string(v);
				err = err ?: ctlfmt_table_add(t, row);
			}
			continue;
		}
		stats_label(label, sizeof(label), key, NULL);
		if (json_object_is_type(val, json_type_array)) {
			for (size_t i = 0; i < json_object_array_length(val); i++) {
				row[1] = json_object_get_string(json_object_array_get_idx(val, i));
				err = err ?: ctlfmt_table_add(t, row);
			}
			continue;
		}
		row[1] = val ? json_object_get_string(val) : NULL;
		if (!strcmp(key, "uptime_s") && json_object_is_type(val, json_type_int)) {
			ctlfmt_duration(json_object_get_int64(val), up, sizeof(up));
			row[1] = up;
		}
		err = err ?: ctlfmt_table_add(t, row);
	}
	if (!err)
		ctlfmt_table_print(t, out, false);
	ctlfmt_table_free(t);
	return err;
}

void ctlfmt_wrap(FILE *out, const char *text, int indent, int width)
{
	char *copy = strdup(text ? text : "");
	char *word, *save = NULL;
	int col = 0;

	if (!copy) {
		fprintf(out, "%*s%s\n", indent, "", text);
		return;
	}
	for (char *p = copy; *p; p++)
		if (*p == '\n' || *p == '\t' || *p == '\r')
			*p = ' ';
	sanitize(copy);
	for (word = strtok_r(copy, " ", &save); word; word = strtok_r(NULL, " ", &save)) {
		int w = display_width(word);

		if (col && col + 1 + w > width) {
			fputc('\n', out);
			col = 0;
		}
		if (!col)
			col = fprintf(out, "%*s%s", indent, "", word);
		else
			col += fprintf(out, " %s", word);
		col += w - (int)strlen(word);
	}
	fputc('\n', out);
	free(copy);
}
