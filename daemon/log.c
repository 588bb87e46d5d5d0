// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* log.c - see log.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "log.h"

static int log_stderr = 1;
static int log_syslog;
static int log_level = LOG_INFO;
static int log_facility = LOG_DAEMON;

void log_init(int to_stderr, int to_syslog)
{
	log_stderr = to_stderr;
	if (to_syslog && !log_syslog)
		openlog("portwatchd", LOG_PID | LOG_NDELAY, log_facility);
	log_syslog = to_syslog;
}

void log_set_facility(int facility)
{
	if (facility == log_facility)
		return;
	log_facility = facility;
	if (log_syslog) {
		closelog();
		openlog("portwatchd", LOG_PID | LOG_NDELAY, log_facility);
	}
}

void log_setlevel(int level)
{
	log_level = level;
}

int log_getlevel(void)
{
	return log_level;
}

int log_parse_level(const char *name)
{
	static const struct {
		const char *name;
		int level;
	} levels[] = {
		{ "error", LOG_ERR },	{ "warning", LOG_WARNING }, { "notice", LOG_NOTICE },
		{ "info", LOG_INFO },	{ "debug", LOG_DEBUG },
	};

	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (!strcasecmp(name, levels[i].name))
			return levels[i].level;
	return -1;
}

static void vlog_out(int pri, unsigned int to, const char *fmt, va_list ap)
{
	va_list ap2;

	if (log_stderr && (to & LOGTO_STDERR)) {
		va_copy(ap2, ap);
		fputs("portwatchd: ", stderr);
		vfprintf(stderr, fmt, ap2);
		fputc('\n', stderr);
		va_end(ap2);
	}
	if (log_syslog && (to & LOGTO_SYSLOG))
		vsyslog(pri, fmt, ap);
}

void vlog_at(int pri, const char *fmt, va_list ap)
{
	if (pri <= log_level)
		vlog_out(pri, LOGTO_STDERR | LOGTO_SYSLOG, fmt, ap);
}

void log_alert_line(int pri, unsigned int to, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog_out(pri, to, fmt, ap);
	va_end(ap);
}

void log_at(int pri, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog_at(pri, fmt, ap);
	va_end(ap);
}

/* Format, append ": strerror(saved errno)", log at pri. */
static void vlog_errno(int pri, const char *fmt, va_list ap)
{
	int saved = errno;
	char buf[1024];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	log_at(pri, "%s: %s", buf, strerror(saved));
	errno = saved;
}

void log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog_errno(LOG_WARNING, fmt, ap);
	va_end(ap);
}

#define LOG_FN(name, pri)                      \
	void name(const char *fmt, ...)        \
	{                                      \
		va_list ap;                    \
		va_start(ap, fmt);             \
		vlog_at(pri, fmt, ap);         \
		va_end(ap);                    \
	}

LOG_FN(log_warnx, LOG_WARNING)
LOG_FN(log_notice, LOG_NOTICE)
LOG_FN(log_info, LOG_INFO)
LOG_FN(log_debug, LOG_DEBUG)

void fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog_errno(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog_at(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}
