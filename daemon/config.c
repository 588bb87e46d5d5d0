// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* config.c - portwatch.conf(5), read with inih; see config.h. */
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <sys/stat.h>

#include "config.h"
#include "log.h"
#include "portwatch/proto.h"

void config_defaults(struct pw_config *c)
{
	memset(c, 0, sizeof(*c));
	c->log_level = LOG_INFO;
	c->reconcile_s = 5;
	c->ring_bytes = 8u << 20;
	snprintf(c->owners_dir, sizeof(c->owners_dir), "%s", PW_DEFAULT_OWNERS_DIR);
	snprintf(c->socket_path, sizeof(c->socket_path), "%s", PW_DEFAULT_SOCKET);
	c->socket_mode = 0660;
	c->idle_timeout_s = 300;
	c->clients_per_uid = 64;
	snprintf(c->socket_group, sizeof(c->socket_group), "%s", PW_DEFAULT_GROUP);
	c->syslog_facility = LOG_DAEMON;
	c->syslog_format = PW_SYSLOG_KV;
	c->journal = PW_JOURNAL_AUTO;
	c->takeover_window_ns = 60ULL * 1000000000ULL;
	c->fold_window_ns = 10ULL * 1000000000ULL;
	c->alert_history = 1024;
	c->conflict_history = 1024;
	c->metrics_interval_s = 15;
}

void config_free(struct pw_config *c)
{
	policy_free(&c->policy);
	protect_free(&c->protect);
}

static const struct {
	const char *name;
	int facility;
} facilities[] = {
	{ "daemon", LOG_DAEMON }, { "user", LOG_USER },	    { "auth", LOG_AUTH },
	{ "authpriv", LOG_AUTHPRIV }, { "syslog", LOG_SYSLOG }, { "local0", LOG_LOCAL0 },
	{ "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 }, { "local6", LOG_LOCAL6 },
	{ "local7", LOG_LOCAL7 },
};

int config_parse_facility(const char *name)
{
	for (size_t i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (!strcasecmp(name, facilities[i].name))
			return facilities[i].facility;
	return -1;
}

const char *config_facility_name(int facility)
{
	for (size_t i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (facilities[i].facility == facility)
			return facilities[i].name;
	return "?";
}

static const char *const journal_modes[] = {
	[PW_JOURNAL_AUTO] = "auto",
	[PW_JOURNAL_YES] = "yes",
	[PW_JOURNAL_NO] = "no",
};

const char *config_journal_name(enum pw_journal_mode mode)
{
	return (unsigned int)mode < sizeof(journal_modes) / sizeof(journal_modes[0]) ?
		       journal_modes[mode] :
		       "?";
}

const char *config_syslog_format_name(enum pw_syslog_format f)
{
	switch (f) {
	case PW_SYSLOG_JSON:
		return "json";
	case PW_SYSLOG_ECS:
		return "ecs";
	default:
		return "kv";
	}
}

/* Unsigned decimal in [lo, hi]; 0 or -EINVAL with a message naming key. */
static int parse_uint(const char *key, const char *v, unsigned long long lo,
		      unsigned long long hi, unsigned long long *out, char *err, size_t errlen)
{
	unsigned long long n;
	char *end;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-' || n < lo || n > hi) {
		snprintf(err, errlen, "%s: '%s' is not a whole number in %llu..%llu", key, v, lo,
			 hi);
		return -EINVAL;
	}
	*out = n;
	return 0;
}

int config_set(struct pw_config *c, const char *section, const char *key, const char *v,
	       unsigned int line, char *err, size_t errlen)
{
	unsigned long long n;
	char *end;

#define IS(s, k) (!strcmp(section, s) && !strcmp(key, k))
	if (IS("daemon", "log_level")) {
		int lvl = log_parse_level(v);

		if (lvl < 0) {
			snprintf(err, errlen,
				 "log_level: '%s' is not one of error, warning, notice, info, debug",
				 v);
			return -EINVAL;
		}
		c->log_level = lvl;
	} else if (IS("daemon", "reconcile_interval")) {
		if (parse_uint(key, v, 0, 86400, &n, err, errlen))
			return -EINVAL;
		c->reconcile_s = n;
	} else if (IS("daemon", "ring_size")) {
		if (parse_uint(key, v, 1, 1024, &n, err, errlen))
			return -EINVAL;
		if (n & (n - 1)) {
			snprintf(err, errlen, "ring_size: %llu MiB is not a power of two", n);
			return -EINVAL;
		}
		c->ring_bytes = (size_t)n << 20;
	} else if (IS("daemon", "owners_dir")) {
		if (v[0] && (v[0] != '/' || strlen(v) >= sizeof(c->owners_dir))) {
			snprintf(err, errlen,
				 "owners_dir: '%s' must be an absolute path under %zu bytes, or empty",
				 v, sizeof(c->owners_dir));
			return -EINVAL;
		}
		snprintf(c->owners_dir, sizeof(c->owners_dir), "%s", v);
	} else if (IS("control", "socket")) {
		if (v[0] != '/' || strlen(v) >= sizeof(c->socket_path)) {
			snprintf(err, errlen, "socket: '%s' must be an absolute path under %zu bytes",
				 v, sizeof(c->socket_path));
			return -EINVAL;
		}
		snprintf(c->socket_path, sizeof(c->socket_path), "%s", v);
	} else if (IS("control", "mode")) {
		errno = 0;
		n = strtoull(v, &end, 8);
		if (errno || end == v || *end || n > 0777) {
			snprintf(err, errlen, "mode: '%s' is not an octal file mode such as 0660", v);
			return -EINVAL;
		}
		c->socket_mode = n;
	} else if (IS("control", "group")) {
		if (strlen(v) >= sizeof(c->socket_group) || strpbrk(v, " \t:")) {
			snprintf(err, errlen, "group: '%s' is not a group name", v);
			return -EINVAL;
		}
		snprintf(c->socket_group, sizeof(c->socket_group), "%s", v);
	} else if (IS("control", "idle_timeout")) {
		if (parse_uint(key, v, 0, 86400, &n, err, errlen))
			return -EINVAL;
		c->idle_timeout_s = (unsigned int)n;
	} else if (IS("control", "max_clients_per_uid")) {
		if (parse_uint(key, v, 1, 1024, &n, err, errlen))
			return -EINVAL;
		c->clients_per_uid = (unsigned int)n;
	} else if (IS("syslog", "facility")) {
		int f = config_parse_facility(v);

		if (f < 0) {
			snprintf(err, errlen,
				 "facility: '%s' is not a syslog facility (daemon, local0..local7, "
				 "user, auth, authpriv, syslog)",
				 v);
			return -EINVAL;
		}
		c->syslog_facility = f;
	} else if (IS("syslog", "format")) {
		if (!strcmp(v, "kv")) {
			c->syslog_format = PW_SYSLOG_KV;
		} else if (!strcmp(v, "json")) {
			c->syslog_format = PW_SYSLOG_JSON;
		} else if (!strcmp(v, "ecs")) {
			c->syslog_format = PW_SYSLOG_ECS;
		} else {
			snprintf(err, errlen, "format: '%s' is not 'kv', 'json' or 'ecs'", v);
			return -EINVAL;
		}
	} else if (IS("syslog", "journal")) {
		size_t i;

		for (i = 0; i < sizeof(journal_modes) / sizeof(journal_modes[0]); i++)
			if (!strcmp(v, journal_modes[i]))
				break;
		if (i == sizeof(journal_modes) / sizeof(journal_modes[0])) {
			snprintf(err, errlen, "journal: '%s' is not 'auto', 'yes' or 'no'", v);
			return -EINVAL;
		}
		c->journal = (enum pw_journal_mode)i;
	} else if (IS("alerts", "takeover_window")) {
		if (parse_uint(key, v, 0, 86400, &n, err, errlen))
			return -EINVAL;
		c->takeover_window_ns = n * 1000000000ULL;
	} else if (IS("alerts", "fold_window")) {
		if (parse_uint(key, v, 0, 3600, &n, err, errlen))
			return -EINVAL;
		c->fold_window_ns = n * 1000000000ULL;
	} else if (IS("alerts", "alert_history") || IS("alerts", "conflict_history")) {
		if (parse_uint(key, v, 1, 1000000, &n, err, errlen))
			return -EINVAL;
		if (key[0] == 'a')
			c->alert_history = n;
		else
			c->conflict_history = n;
	} else if (IS("alerts", "ignore_ports")) {
		char msg[200];

		if (policy_parse_ports(&c->policy, v, msg, sizeof(msg))) {
			snprintf(err, errlen, "ignore_ports: %s", msg);
			return -EINVAL;
		}
	} else if (IS("alerts", "allow")) {
		char msg[300];
		int r = policy_add_allow(&c->policy, v, line, msg, sizeof(msg));

		if (r)
			snprintf(err, errlen, "allow: %s", msg);
		return r;
	} else if (IS("metrics", "textfile")) {
		size_t vlen = strlen(v);

		/* node_exporter reads *.prom only; the temporary file is PATH.tmp.XXXXXX */
		if (vlen && (v[0] != '/' || vlen >= sizeof(c->metrics_textfile) || vlen < 6 ||
			     strcmp(v + vlen - 5, ".prom"))) {
			snprintf(err, errlen,
				 "textfile: '%s' must be an absolute path ending in .prom, under %zu "
				 "bytes (node_exporter's textfile collector reads *.prom only)",
				 v, sizeof(c->metrics_textfile));
			return -EINVAL;
		}
		snprintf(c->metrics_textfile, sizeof(c->metrics_textfile), "%s", v);
	} else if (IS("metrics", "interval")) {
		if (parse_uint(key, v, 1, 86400, &n, err, errlen))
			return -EINVAL;
		c->metrics_interval_s = (unsigned int)n;
	} else if (IS("protect", "mode")) {
		int mode = protect_parse_mode(v);

		if (mode < 0) {
			snprintf(err, errlen, "mode: '%s' is not 'off', 'monitor' or 'enforce'", v);
			return -EINVAL;
		}
		c->protect.mode = (enum pw_protect_mode)mode;
	} else if (IS("protect", "takeover")) {
		return protect_set_takeover(&c->protect, v, PW_NETNS_DIR, err, errlen);
	} else if (IS("protect", "protect")) {
		char msg[400];
		int r = protect_add(&c->protect, v, line, PW_NETNS_DIR, msg, sizeof(msg));

		if (r)
			snprintf(err, errlen, "protect: %s", msg);
		return r;
	} else if (!strcmp(section, "daemon") || !strcmp(section, "control") ||
		   !strcmp(section, "syslog") || !strcmp(section, "alerts") ||
		   !strcmp(section, "metrics") || !strcmp(section, "protect")) {
		snprintf(err, errlen, "unknown key '%s' in section [%s]", key, section);
		return -EINVAL;
	} else if (!section[0]) {
		snprintf(err, errlen, "'%s' is outside a section ([daemon], [control], [syslog], "
				      "[alerts], [metrics], [protect])", key);
		return -EINVAL;
	} else {
		snprintf(err, errlen,
			 "unknown section [%s] (daemon, control, syslog, alerts, metrics, "
			 "protect)", section);
		return -EINVAL;
	}
#undef IS
	return 0;
}

/*
 * inih reports the line of the first error but hands the handler no line
 * number (Debian's libinih is built without INI_HANDLER_LINENO), so the
 * reader below counts the lines it gives inih: when the handler runs, the
 * current line is the last one read.
 */
struct load_ctx {
	struct pw_config *c;
	FILE *f;
	unsigned int line;    /* lines handed to inih so far */
	unsigned int errline; /* line of the handler's first error, 0 = none */
	unsigned int longline; /* first line over CONFIG_MAX_LINE bytes, 0 = none */
	int errcode;
	char msg[512];
};

static char *counting_reader(char *str, int num, void *stream)
{
	struct load_ctx *ctx = stream;
	char *s = fgets(str, num, ctx->f);

	/* a piece without its newline, not at the end: the line is too long */
	if (s && !strchr(s, '\n') && !feof(ctx->f) && !ctx->longline)
		ctx->longline = ctx->line + 1;
	if (s && strchr(s, '\n'))
		ctx->line++;
	else if (s && feof(ctx->f))
		ctx->line++; /* last line without a newline */
	return s;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *ctx = user;
	int err;

	if (ctx->errline)
		return 0;
	err = config_set(ctx->c, section, name, value, ctx->line, ctx->msg, sizeof(ctx->msg));
	if (err) {
		ctx->errline = ctx->line;
		ctx->errcode = err;
		return 0;
	}
	return 1;
}

int config_load(struct pw_config *c, const char *path, int missing_ok, char *err, size_t errlen)
{
	struct load_ctx ctx = { .c = c };
	struct stat st;
	int ret;

	ctx.f = fopen(path, "re");
	if (!ctx.f) {
		ret = -errno;
		if (ret == -ENOENT && missing_ok)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	/* a directory opens, and reads as an empty file: say so instead */
	if (fstat(fileno(ctx.f), &st) || S_ISDIR(st.st_mode)) {
		ret = S_ISDIR(st.st_mode) ? -EISDIR : -errno;
		fclose(ctx.f);
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	/* Debian's inih takes its options at run time; see ini.h. */
	ini_stop_on_first_error = 1;
	ini_allow_multiline = 0;  /* an indented line is a line of its own, not a continuation */
	ini_use_stack = 0;
	/* fgets() reads max_line - 1 bytes: a line of CONFIG_MAX_LINE bytes and its newline */
	ini_max_line = CONFIG_MAX_LINE + 2;
	ini_initial_alloc = CONFIG_MAX_LINE + 2;
	ret = ini_parse_stream(counting_reader, &ctx, handler, &ctx);
	if (ret == 0 && ferror(ctx.f)) {
		fclose(ctx.f);
		snprintf(err, errlen, "%s: read error", path);
		return -EIO;
	}
	fclose(ctx.f);
	if (ret < 0) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	/* a long line is an error even where its pieces happened to parse */
	if (ctx.longline && (ret <= 0 || (unsigned int)ret >= ctx.longline)) {
		snprintf(err, errlen, "%s:%u: line longer than %d bytes, the limit of a line here",
			 path, ctx.longline, CONFIG_MAX_LINE);
		return -EINVAL;
	}
	if (ret > 0) {
		if (ctx.errline == (unsigned int)ret)
			snprintf(err, errlen, "%s:%d: %s", path, ret, ctx.msg);
		else
			snprintf(err, errlen,
				 "%s:%d: syntax error: expected '[section]', 'key = value' or a "
				 "comment",
				 path, ret);
		return ctx.errcode == -ENOMEM ? -ENOMEM : -EINVAL;
	}
	snprintf(c->path, sizeof(c->path), "%s", path);
	snprintf(c->protect.path, sizeof(c->protect.path), "%s", path);
	return 0;
}
