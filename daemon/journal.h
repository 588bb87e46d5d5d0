/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * journal.h - an alert as a native systemd-journald entry
 * (sd_journal_sendv(3)), for hosts where journald runs: the syslog line
 * as MESSAGE, a MESSAGE_ID per kind/reason (msgid.h) that
 * systemd/portwatch.catalog explains (`journalctl -x`), and the alert's
 * data as PORTWATCH_* fields (portwatchd(8), JOURNAL, lists them), so that
 * journal readers (journalctl FIELD=value, Loki, Elastic's journald input,
 * rsyslog's imjournal) need no parser. Where an alert goes, journal or
 * syslog or both, portwatchd.c decides (portwatchd(8) "Journal").
 *
 * Values the daemon does not control (comm, exe, unit, the message) are
 * escaped by text_journal_escape() (text.h): valid UTF-8 with no control
 * byte, so no value holds a newline, and none shows as "[blob data]".
 */
#ifndef PORTWATCH_JOURNAL_H
#define PORTWATCH_JOURNAL_H

#include <stddef.h>
#include <sys/uio.h>

#include "report.h"
#include "rules.h"

/* journald's native socket, and the syslog socket it serves next to it */
#define JOURNAL_SOCKET "/run/systemd/journal/socket"
#define JOURNAL_DEVLOG "/run/systemd/journal/dev-log"

#define JOURNAL_MAX_FIELDS 48

/* One entry: iov[0..n) point into text; each is one "NAME=value" field. */
struct journal_entry {
	struct iovec iov[JOURNAL_MAX_FIELDS];
	size_t n;
	size_t used;     /* bytes of text used */
	int truncated;   /* a field did not fit and was left out (a bug: sizes are for the worst case) */
	char text[16384];
};

/*
 * The MESSAGE_ID (32 lowercase hex digits) of an alert of this kind and
 * reason, or NULL when the pair is not one portwatch raises.
 */
const char *journal_msgid(enum rules_alert_kind kind, enum rules_alert_reason reason);

/*
 * Fill e with the fields of alert a: MESSAGE (line: the alert's syslog
 * line, alertline.h or JSON, copied as it is), PRIORITY (from the
 * severity: 2 crit, 4 warning, 5 notice), SYSLOG_FACILITY (facility, a
 * LOG_* value), SYSLOG_IDENTIFIER=portwatchd, MESSAGE_ID, and the
 * PORTWATCH_* fields. Fields with nothing to say (an unknown exe, no unit)
 * are left out. Pure; cannot fail.
 */
void journal_entry_build(struct journal_entry *e, const struct pw_alert *a, const char *line,
			 int facility);

/*
 * Is journald there: a socket at JOURNAL_SOCKET? (sd_journal_sendv()
 * returns success when there is none, so this is asked first.)
 */
int journal_available(void);

/* Send e to journald: 0 or a negative errno (sd_journal_sendv(3)). */
int journal_send(const struct journal_entry *e);

/*
 * Would syslog(3) reach the same journald: is /dev/log the socket at
 * JOURNAL_DEVLOG (a symlink to it on systemd hosts)? Then a syslog line
 * beside the native entry is the same alert twice in the journal.
 */
int journal_devlog_is_journal(void);

/*
 * Is stderr a stream to journald: does $JOURNAL_STREAM (systemd.exec(5))
 * name the device and inode of fd 2?
 */
int journal_stderr_is_journal(void);

#endif /* PORTWATCH_JOURNAL_H */
