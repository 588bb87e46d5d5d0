// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* journal.c - alerts as native journald entries; see journal.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>

#include <systemd/sd-journal.h>

#include "addr.h"
#include "alertline.h"
#include "container.h"
#include "journal.h"
#include "msgid.h"
#include "pwname.h"
#include "text.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* One MESSAGE_ID per reason; each reason is raised under one kind only. */
static const struct {
	enum rules_alert_kind kind;
	const char *id;
} msgids[] = {
	[RULES_REASON_NONE] = { RULES_KIND_NONE, NULL },
	[RULES_REASON_SHADOW_WILDCARD] = { RULES_KIND_HIJACK_ATTEMPT, PW_MSGID_SHADOW_WILDCARD },
	[RULES_REASON_REUSEPORT_JOIN] = { RULES_KIND_HIJACK_ATTEMPT, PW_MSGID_REUSEPORT_JOIN },
	[RULES_REASON_UDP_SHARE] = { RULES_KIND_HIJACK_ATTEMPT, PW_MSGID_UDP_SHARE },
	[RULES_REASON_SHARED_BIND] = { RULES_KIND_REUSE_COLLISION, PW_MSGID_SHARED_BIND },
	[RULES_REASON_TAKEOVER] = { RULES_KIND_HIJACK_ATTEMPT, PW_MSGID_TAKEOVER },
	[RULES_REASON_BLOCKED] = { RULES_KIND_HIJACK_ATTEMPT, PW_MSGID_BLOCKED },
	[RULES_REASON_REUSEPORT_STEER] = { RULES_KIND_HIJACK_ATTEMPT, PW_MSGID_REUSEPORT_STEER },
	[RULES_REASON_EPHEMERAL_EXHAUSTED] = { RULES_KIND_RESOURCE, PW_MSGID_EPHEMERAL_EXHAUSTED },
	[RULES_REASON_PROTECTED_PORT] = { RULES_KIND_HIJACK_ATTEMPT, PW_MSGID_PROTECTED_PORT },
	[RULES_REASON_SK_LOOKUP] = { RULES_KIND_DIVERSION, PW_MSGID_SK_LOOKUP },
	[RULES_REASON_SQUATTED] = { RULES_KIND_HIJACK_ATTEMPT, PW_MSGID_SQUATTED },
	[RULES_REASON_NAT_REDIRECT] = { RULES_KIND_DIVERSION, PW_MSGID_NAT_REDIRECT },
	[RULES_REASON_PORT_SHADOW] = { RULES_KIND_EXPOSURE, PW_MSGID_PORT_SHADOW },
	[RULES_REASON_PACKET_SNIFFER] = { RULES_KIND_DIVERSION, PW_MSGID_PACKET_SNIFFER },
	[RULES_REASON_FREEBIND] = { RULES_KIND_DIVERSION, PW_MSGID_FREEBIND },
};
_Static_assert(ARRAY_SIZE(msgids) == RULES_REASON_COUNT,
	       "one MESSAGE_ID (msgid.h) per enum rules_alert_reason");

const char *journal_msgid(enum rules_alert_kind kind, enum rules_alert_reason reason)
{
	if ((unsigned int)reason >= RULES_REASON_COUNT || kind == RULES_KIND_NONE ||
	    msgids[reason].kind != kind)
		return NULL;
	return msgids[reason].id;
}

/* Append the field NAME=value (printf) to e; left out, and e->truncated set, when full. */
__attribute__((format(printf, 3, 4))) static void add(struct journal_entry *e, const char *name,
						      const char *fmt, ...)
{
	size_t room = sizeof(e->text) - e->used;
	char *p = e->text + e->used;
	va_list ap;
	int n, m;

	if (e->n >= JOURNAL_MAX_FIELDS || room < 2) {
		e->truncated = 1;
		return;
	}
	n = snprintf(p, room, "%s=", name);
	va_start(ap, fmt);
	m = n < 0 || (size_t)n >= room ? -1 : vsnprintf(p + n, room - n, fmt, ap);
	va_end(ap);
	if (m < 0 || (size_t)(n + m) >= room) {
		e->truncated = 1;
		return;
	}
	e->iov[e->n].iov_base = p;
	e->iov[e->n].iov_len = (size_t)(n + m);
	e->n++;
	e->used += (size_t)(n + m) + 1; /* keep the NUL: fields print as strings in tests */
}

/* NAME=value of text the daemon does not control, escaped; left out when empty. */
static void add_text(struct journal_entry *e, const char *name, const char *raw)
{
	char buf[PW_MSG_LEN * 4];

	if (raw[0])
		add(e, name, "%s", text_journal_escape(buf, sizeof(buf), raw));
}

/*
 * PORTWATCH_<side>_PID, _UID, _COMM, _EXE, _UNIT of one party, and
 * _CONTAINER (RUNTIME:ID), _POD (its UID) when its cgroup names them.
 */
static void add_party(struct journal_entry *e, const char *side, const struct pw_entry *p)
{
	const struct pw_container *c = container_get(p->owner.ctr);
	char name[40];

	snprintf(name, sizeof(name), "PORTWATCH_%s_PID", side);
	add(e, name, "%u", p->owner.pid);
	snprintf(name, sizeof(name), "PORTWATCH_%s_UID", side);
	add(e, name, "%u", p->owner.uid);
	snprintf(name, sizeof(name), "PORTWATCH_%s_COMM", side);
	add_text(e, name, p->owner.comm);
	snprintf(name, sizeof(name), "PORTWATCH_%s_EXE", side);
	add_text(e, name, pw_owner_exe(&p->owner));
	snprintf(name, sizeof(name), "PORTWATCH_%s_UNIT", side);
	add_text(e, name, pw_owner_unit(&p->owner));
	if (c && c->runtime != CONTAINER_NONE) {
		char buf[PW_CONTAINER_ID_LEN * 4 + 32];

		snprintf(name, sizeof(name), "PORTWATCH_%s_CONTAINER", side);
		add(e, name, "%s:%s", container_runtime_name(c->runtime),
		    text_journal_escape(buf, sizeof(buf), c->id));
	}
	if (c && c->pod_uid[0]) {
		snprintf(name, sizeof(name), "PORTWATCH_%s_POD", side);
		add(e, name, "%s", c->pod_uid);
	}
}

void journal_entry_build(struct journal_entry *e, const struct pw_alert *a, const char *line,
			 int facility)
{
	const struct pw_sock *sk = &a->contender.sk;
	const char *id = journal_msgid(a->kind, a->reason);
	char addr[PW_ADDRSTRLEN], eb[16];

	e->n = e->used = 0;
	e->truncated = 0;
	add(e, "MESSAGE", "%s", line);
	add(e, "PRIORITY", "%d", pw_alert_priority(a));
	add(e, "SYSLOG_FACILITY", "%d", LOG_FAC(facility));
	add(e, "SYSLOG_IDENTIFIER", "%s", "portwatchd");
	if (id)
		add(e, "MESSAGE_ID", "%s", id);
	add(e, "PORTWATCH_ALERT_ID", "%llu", (unsigned long long)a->id);
	add(e, "PORTWATCH_KIND", "%s", rules_alert_kind_name(a->kind) ?: "-");
	add(e, "PORTWATCH_REASON", "%s", rules_alert_reason_name(a->reason) ?: "-");
	add(e, "PORTWATCH_SEVERITY", "%s", rules_severity_name(a->severity) ?: "-");
	add(e, "PORTWATCH_PROTO", "%s", pw_proto_name(sk->protocol));
	add(e, "PORTWATCH_LOCAL_ADDR", "%s", pw_addr_ntop(sk->family, sk->laddr, addr));
	add(e, "PORTWATCH_LOCAL_PORT", "%u", sk->lport);
	add(e, "PORTWATCH_NETNS", "%u", sk->netns);
	add(e, "PORTWATCH_RESULT", "%s", pw_errno_name(a->result, eb));
	if (a->reason == RULES_REASON_PROTECTED_PORT || a->enforced) {
		add(e, "PORTWATCH_ENFORCED", "%s", a->enforced ? "true" : "false");
		add(e, "PORTWATCH_PROTECT_LINE", "%u", a->protect_line);
	}
	add_party(e, "HOLDER", &a->holder);
	add_party(e, "CONTENDER", &a->contender);
	add_text(e, "PORTWATCH_MESSAGE", a->message);
	if (a->has_eph) {
		add(e, "PORTWATCH_RANGE", "%u-%u", a->eph.lo, a->eph.hi);
		add(e, "PORTWATCH_IN_USE", "%u", a->eph.in_use);
		if (a->eph.rport)
			add(e, "PORTWATCH_DESTINATION", "%s%s%s:%u",
			    sk->family == AF_INET6 ? "[" : "",
			    pw_addr_ntop(sk->family, a->eph.raddr, addr),
			    sk->family == AF_INET6 ? "]" : "", a->eph.rport);
	}
	if (a->fold_count) {
		char t[32], ports[8 * 6 + 8] = "";
		size_t n = 0;

		add(e, "PORTWATCH_FOLDED", "%llu", (unsigned long long)a->fold_count);
		add(e, "PORTWATCH_FOLDED_OF", "%llu", (unsigned long long)a->fold_of);
		add(e, "PORTWATCH_FIRST", "%s", pw_time_rfc3339(a->fold_first_ns, t));
		add(e, "PORTWATCH_LAST", "%s", pw_time_rfc3339(a->fold_last_ns, t));
		for (size_t i = 0; i < a->fold_nports && i < ARRAY_SIZE(a->fold_ports); i++)
			n += (size_t)snprintf(ports + n, sizeof(ports) - n, "%s%u", i ? "," : "",
					      a->fold_ports[i]);
		if (a->fold_more)
			snprintf(ports + n, sizeof(ports) - n, "%smore", n ? "," : "");
		add(e, "PORTWATCH_PORTS", "%s", ports);
	}
}

int journal_available(void)
{
	struct stat st;

	return !stat(JOURNAL_SOCKET, &st) && S_ISSOCK(st.st_mode);
}

int journal_send(const struct journal_entry *e)
{
	return sd_journal_sendv(e->iov, (int)e->n);
}

int journal_devlog_is_journal(void)
{
	struct stat a, b;

	return !stat("/dev/log", &a) && !stat(JOURNAL_DEVLOG, &b) && S_ISSOCK(a.st_mode) &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int journal_stderr_is_journal(void)
{
	const char *s = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char tail;

	if (!s || sscanf(s, "%llu:%llu%c", &dev, &ino, &tail) != 2 || fstat(2, &st))
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}
