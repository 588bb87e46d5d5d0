/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * log.h - daemon logging, in the shape of OpenBSD ntpd's log.c.
 *
 * Before log_init() and with --foreground, messages go to stderr; as a
 * service they go to syslog (ident "portwatchd", facility LOG_DAEMON unless
 * log_set_facility() says otherwise).
 * With both, they go to both. log_warn() appends ": strerror(errno)";
 * the *x variants do not. fatal() logs at LOG_CRIT and exits 1.
 */
#ifndef PORTWATCH_LOG_H
#define PORTWATCH_LOG_H

#include <stdarg.h>

/* Open syslog when to_syslog, echo to stderr when to_stderr. */
void log_init(int to_stderr, int to_syslog);
/* Syslog facility (LOG_DAEMON before the first call); reopens the log. */
void log_set_facility(int facility);
/* LOG_ERR..LOG_DEBUG: messages above this level are discarded. */
void log_setlevel(int level);
int log_getlevel(void);
/* Parse "error", "warning", "notice", "info", "debug": LOG_* or -1. */
int log_parse_level(const char *name);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/*
 * An alert record at its priority (LOG_CRIT, LOG_WARNING, LOG_NOTICE):
 * written whatever the log level, which governs the daemon's own messages,
 * to the outputs of `to` that are on (LOGTO_STDERR, LOGTO_SYSLOG: the
 * caller leaves out one that would repeat a journal entry it sent).
 */
#define LOGTO_STDERR 1u
#define LOGTO_SYSLOG 2u
void log_alert_line(int pri, unsigned int to, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Log at an explicit syslog priority (LOG_CRIT, LOG_WARNING, ...). */
void log_at(int pri, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vlog_at(int pri, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#endif /* PORTWATCH_LOG_H */
