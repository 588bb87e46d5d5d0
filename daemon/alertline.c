// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* alertline.c - an alert's syslog line of key=value pairs; see alertline.h. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>

#include "addr.h"
#include "alertline.h"
#include "container.h"
#include "pwname.h"
#include "rules.h"
#include "text.h"

/*
 * " container=RUNTIME:ID pod=UID" for the owner's container and pod, each
 * only when known; ID is a hex id's first 12 digits (as `docker ps` shows
 * it), a machine or LXC name in full, escaped. "" when neither.
 */
static void kv_container(char *buf, size_t len, const struct pw_owner *o)
{
	const struct pw_container *c = container_get(o->ctr);
	char id[PW_CONTAINER_ID_LEN * 4];
	size_t n;

	buf[0] = '\0';
	if (!c)
		return;
	if (c->runtime != CONTAINER_NONE) {
		text_kv_escape(id, sizeof(id), c->id);
		if (c->runtime != CONTAINER_NSPAWN && c->runtime != CONTAINER_LXC)
			id[12] = '\0'; /* 64 hex digits: nothing to escape */
		snprintf(buf, len, " container=%s:%s", container_runtime_name(c->runtime), id);
	}
	n = strlen(buf);
	if (c->pod_uid[0] && n < len)
		snprintf(buf + n, len - n, " pod=%s", c->pod_uid);
}

/*
 * Who: pid=.. comm=.. uid=.. [container=.. pod=..] exe=.., comm and exe
 * escaped by text_kv_escape() (text.h). The container comes before exe, which
 * a long path may cut.
 */
static void kv_who(char *buf, size_t len, const struct pw_entry *e)
{
	char comm[PW_COMM_LEN * 4], exe[PW_EXE_LEN * 4], ctr[PW_CONTAINER_ID_LEN * 4 + 64];

	text_kv_escape(comm, sizeof(comm), e->owner.comm);
	text_kv_escape(exe, sizeof(exe), pw_owner_exe(&e->owner));
	kv_container(ctr, sizeof(ctr), &e->owner);
	snprintf(buf, len, "pid=%u comm=%s uid=%u%s exe=%s", e->owner.pid, comm[0] ? comm : "-",
		 e->owner.uid, ctr, exe[0] ? exe : "-");
}

void pw_alert_kv(const struct pw_alert *a, char *buf, size_t len)
{
	char addr[PW_ADDRSTRLEN], holder[400], contender[400], eb[16];
	const struct pw_sock *sk = &a->contender.sk;
	int v6 = sk->family == AF_INET6;

	kv_who(holder, sizeof(holder), &a->holder);
	kv_who(contender, sizeof(contender), &a->contender);
	snprintf(buf, len,
		 "kind=%s reason=%s severity=%s proto=%s local=%s%s%s:%u netns=%u holder=\"%s\" "
		 "contender=\"%s\" result=%s id=%llu",
		 rules_alert_kind_name(a->kind), rules_alert_reason_name(a->reason),
		 rules_severity_name(a->severity), pw_proto_name(sk->protocol),
		 v6 ? "[" : "", pw_addr_ntop(sk->family, sk->laddr, addr), v6 ? "]" : "",
		 sk->lport, sk->netns, holder, contender, pw_errno_name(a->result, eb),
		 (unsigned long long)a->id);
	if (a->reason == RULES_REASON_PROTECTED_PORT || a->enforced) {
		size_t n = strlen(buf);

		snprintf(buf + n, n < len ? len - n : 0, " enforced=%s protect_line=%u",
			 a->enforced ? "true" : "false", a->protect_line);
	}
	if (a->has_eph) {
		size_t n = strlen(buf);

		snprintf(buf + n, n < len ? len - n : 0, " range=%u-%u in_use=%u", a->eph.lo,
			 a->eph.hi, a->eph.in_use);
		n = strlen(buf);
		if (a->eph.rport && n < len)
			snprintf(buf + n, len - n, " destination=%s%s%s:%u", v6 ? "[" : "",
				 pw_addr_ntop(sk->family, a->eph.raddr, addr), v6 ? "]" : "",
				 a->eph.rport);
	}
	if (a->fold_count) {
		char t1[32], t2[32];
		size_t n = strlen(buf);

		snprintf(buf + n, n < len ? len - n : 0, " folded=%llu of=%llu first=%s last=%s ports=",
			 (unsigned long long)a->fold_count, (unsigned long long)a->fold_of,
			 pw_time_rfc3339(a->fold_first_ns, t1), pw_time_rfc3339(a->fold_last_ns, t2));
		for (size_t i = 0; i < a->fold_nports; i++) {
			n = strlen(buf);
			snprintf(buf + n, n < len ? len - n : 0, "%s%u", i ? "," : "", a->fold_ports[i]);
		}
		n = strlen(buf);
		if (a->fold_more)
			snprintf(buf + n, n < len ? len - n : 0, ",more");
	}
}

int pw_alert_priority(const struct pw_alert *a)
{
	return a->severity == RULES_SEV_CRITICAL ? LOG_CRIT :
	       a->severity == RULES_SEV_WARNING  ? LOG_WARNING :
						   LOG_NOTICE;
}
