/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ecs.h - an alert as one Elastic Common Schema (ECS 8.x) document, what
 * `[syslog] format = ecs` logs (portwatch.conf(5)), so that a SIEM reads
 * portwatch's alerts with the field names it already knows. The mapping,
 * field by field, is the table of docs/protocol.md ("Alerts in Elastic
 * Common Schema"); the contract's own alert object is pwjson.h's.
 *
 * Fields are nested objects ({"event": {"kind": "alert"}} for event.kind),
 * as Elasticsearch stores dotted names; "@timestamp" comes first. Fields
 * ECS defines as keyword (event.id, user.id, labels.*) are strings, even
 * when the value is a number; ports and pids are numbers. What ECS has no
 * field for is under "portwatch" (custom fields: ECS reserves no such
 * top-level name), the holder of the contested address included
 * (portwatch.holder.process.pid ...), since an ECS document has one
 * process.
 *
 * Memory and errors as pwjson.h: a new object the caller owns; json-c's
 * allocation failures are not checked. Text portwatchd does not control
 * (names, paths, units, the message, the host name) goes through
 * pwj_text(): valid UTF-8 whatever the bytes.
 */
#ifndef PORTWATCH_ECS_H
#define PORTWATCH_ECS_H

#include <json-c/json.h>

#include "report.h"

/* The ECS release whose field set the documents follow (ecs.version). */
#define PW_ECS_VERSION "8.11.0"

/*
 * The ECS document of a. hostname (host.name and observer.hostname) is
 * the caller's, gethostname(2) in portwatchd; NULL or "" leaves both out.
 */
json_object *ecs_alert(const struct pw_alert *a, const char *hostname);

/*
 * The numeric severity of a (event.severity), as the syslog priority of
 * its record: 2 (crit) for critical, 4 (warning), 5 (notice); 6 (info) for
 * anything else.
 */
int ecs_severity(enum rules_severity sev);

#endif /* PORTWATCH_ECS_H */
