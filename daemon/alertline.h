/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * alertline.h - an alert as the one line of key=value pairs portwatchd
 * logs to syslog (`[syslog] format = kv`, the default; portwatch.conf(5)),
 * for grep and for log parsers. The JSON form of an alert is pwjson.h's.
 */
#ifndef PORTWATCH_ALERTLINE_H
#define PORTWATCH_ALERTLINE_H

#include <stddef.h>

#include "report.h"

/*
 * Write a's line into buf (len > 0 bytes, the caller's; portwatchd uses
 * 1024): NUL-terminated, no newline, truncated to len - 1 bytes. Nothing
 * is allocated; it cannot fail. The pairs, in this order:
 *
 *   kind=K reason=R severity=S proto=tcp|udp local=ADDR:PORT netns=INODE
 *   holder="pid=P comm=C uid=U exe=E" contender="pid=P comm=C uid=U exe=E"
 *   result=ok|EADDRINUSE|... id=ID
 *
 * local is the contender's address ("[ADDR]:PORT" for inet6), the port in
 * decimal (host order); comm and exe are escaped by text_kv_escape()
 * (text.h), "-" when empty. Before exe=, a holder or contender in a
 * container has "container=RUNTIME:ID" (RUNTIME as container_runtime_name(),
 * ID the first 12 hex digits of an OCI id, as `docker ps` shows it, or a
 * machine or LXC name whole and escaped) and one in a Kubernetes pod
 * "pod=UID"; neither key is there otherwise. Then, for an alert with ephemeral details
 * (a->has_eph), " range=LO-HI in_use=N" and, for a connect (eph.rport
 * not 0), " destination=ADDR:PORT"; then, for a summary of folded repeats
 * (a->fold_count not 0), " folded=N of=ID first=TIME last=TIME
 * ports=P,P..." with ",more" when there were other ports, times in RFC 3339
 * (pwname.h). The message is not part of the line.
 */
void pw_alert_kv(const struct pw_alert *a, char *buf, size_t len);

/*
 * The syslog priority of a's severity, for the syslog record and the
 * journal entry alike: LOG_CRIT (critical), LOG_WARNING, LOG_NOTICE.
 */
int pw_alert_priority(const struct pw_alert *a);

#endif /* PORTWATCH_ALERTLINE_H */
