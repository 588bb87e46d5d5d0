/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * config.h - portwatchd's configuration: built-in defaults, then the
 * file (portwatch.conf(5), INI syntax read with inih), then command-line
 * options, which win.
 *
 *   [daemon]   log_level, reconcile_interval, ring_size
 *   [control]  socket, mode, group, idle_timeout, max_clients_per_uid
 *   [syslog]   facility, format, journal
 *   [alerts]   takeover_window, alert_history, conflict_history,
 *              ignore_ports, allow (repeatable)
 *   [metrics]  textfile, interval
 *   [protect]  mode, protect (repeatable; protect.h)
 *
 * Every key is checked when the file is read; the first bad line stops
 * parsing with "FILE:LINE: what is wrong".
 */
#ifndef PORTWATCH_CONFIG_H
#define PORTWATCH_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "policy.h"
#include "protect.h"

/* Longest line of portwatch.conf, newline aside (allow rules can be long). */
#define CONFIG_MAX_LINE 4096

#define PW_DEFAULT_CONFIG "/etc/portwatch/portwatch.conf"
#define PW_DEFAULT_GROUP "portwatch"
/* Where `ip netns` names network namespaces (netns= of protect rules). */
#define PW_NETNS_DIR "/run/netns"

/* How alerts are written to syslog. */
enum pw_syslog_format {
	PW_SYSLOG_KV,   /* one key=value line (README, docs/protocol.md) */
	PW_SYSLOG_JSON, /* the contract's alert object as one JSON line */
	PW_SYSLOG_ECS,  /* an Elastic Common Schema document as one JSON line (ecs.h) */
};

/* Whether alerts are also native journald entries (journal.h, portwatchd(8) "Journal"). */
enum pw_journal_mode {
	PW_JOURNAL_AUTO, /* when journald's socket exists */
	PW_JOURNAL_YES,  /* always; a failure to send is logged */
	PW_JOURNAL_NO,   /* never: the syslog line only */
};

struct pw_config {
	char path[4096];            /* file read; "" when none was */
	int log_level;              /* LOG_ERR..LOG_DEBUG; LOG_INFO */
	unsigned int reconcile_s;   /* seconds, 0 = only after lost events; 5 */
	size_t ring_bytes;          /* power of two; 8 MiB */
	/* where the expected owners of ports are kept (expected.h); "" = in memory only */
	char owners_dir[1024];      /* PW_DEFAULT_OWNERS_DIR */
	char socket_path[108];      /* PW_DEFAULT_SOCKET */
	mode_t socket_mode;         /* 0660 */
	char socket_group[64];      /* PW_DEFAULT_GROUP; "" = leave root's */
	unsigned int idle_timeout_s; /* 300: an idle control client is closed; 0 never */
	unsigned int clients_per_uid; /* 64: control connections a non-root uid may hold */
	int syslog_facility;        /* LOG_DAEMON (a LOG_* facility value) */
	enum pw_syslog_format syslog_format; /* kv */
	enum pw_journal_mode journal;        /* auto */
	uint64_t takeover_window_ns; /* 60 s */
	uint64_t fold_window_ns;     /* 10 s: repeats of an alert folded (monitor.h); 0 never */
	size_t alert_history;        /* 1024 */
	size_t conflict_history;     /* 1024 */
	struct pw_policy policy;     /* owned: ignore_ports and allow rules */
	/* node_exporter textfile (metrics.h), absolute, ends in .prom; "" = none, the default */
	char metrics_textfile[4000];
	unsigned int metrics_interval_s; /* 15: seconds between writes of it */
	struct pw_protect protect;       /* owned: mode and protect rules; mode off */
};

#define PW_DEFAULT_OWNERS_DIR "/var/lib/portwatch/owners"

/* Built-in defaults (no file). */
void config_defaults(struct pw_config *c);
/* Free what c owns (the policy, the protect rules); c can then be reused. */
void config_free(struct pw_config *c);

/*
 * Read path over the values already in c (normally the defaults).
 * missing_ok: a file that does not exist is not an error (c unchanged,
 * c->path left ""). Returns 0; -ENOENT/-EACCES/... when it cannot be
 * read; -EINVAL for a bad line. On error, err holds "PATH: ..." or
 * "PATH:LINE: ..." and c must be freed and not used.
 */
int config_load(struct pw_config *c, const char *path, int missing_ok, char *err, size_t errlen);

/*
 * Set one key of one section from a string, as the file would.
 * Returns 0 or -EINVAL/-ENOMEM with a message (no FILE:LINE) in err.
 * Also used for command-line options.
 */
int config_set(struct pw_config *c, const char *section, const char *key, const char *value,
	       unsigned int line, char *err, size_t errlen);

/* "auto", "yes", "no". */
const char *config_journal_name(enum pw_journal_mode mode);
/* "kv", "json" or "ecs": the value of [syslog] format that gives f. */
const char *config_syslog_format_name(enum pw_syslog_format f);

/* Parse a syslog facility name ("daemon", "local0".."local7", "auth", ...): LOG_* or -1. */
int config_parse_facility(const char *name);
/* Its name, or "?". */
const char *config_facility_name(int facility);

#endif /* PORTWATCH_CONFIG_H */
