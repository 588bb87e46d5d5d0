// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* pwjson.c - sockets, alerts and conflicts as JSON; see pwjson.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "container.h"
#include "pwjson.h"
#include "pwname.h"
#include "rules.h"
#include "text.h"

json_object *pwj_text(const char *s)
{
	size_t cap = strlen(s) * 3 + 1; /* each invalid byte may become 3 */
	char stackbuf[1024], *buf = cap <= sizeof(stackbuf) ? stackbuf : malloc(cap);
	json_object *o;

	if (!buf)
		return json_object_new_string("");
	o = json_object_new_string(text_utf8_clean(buf, cap, s));
	if (buf != stackbuf)
		free(buf);
	return o;
}

static json_object *str_or_null(const char *s)
{
	return s && *s ? pwj_text(s) : NULL;
}

/* {"id", "runtime"} of the owner's container, or NULL (JSON null). */
static json_object *container_json(const struct pw_container *c)
{
	json_object *o;

	if (!c || c->runtime == CONTAINER_NONE)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "id", pwj_text(c->id));
	json_object_object_add(o, "runtime",
			       json_object_new_string(container_runtime_name(c->runtime)));
	return o;
}

/* {"uid", "namespace", "name"} of the owner's pod, or NULL; no cgroup path names the latter two. */
static json_object *pod_json(const struct pw_container *c)
{
	json_object *o;

	if (!c || !c->pod_uid[0])
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "uid", json_object_new_string(c->pod_uid));
	json_object_object_add(o, "namespace", NULL);
	json_object_object_add(o, "name", NULL);
	return o;
}

json_object *pwj_socket(const struct pw_entry *e)
{
	const struct pw_container *c = container_get(e->owner.ctr);
	json_object *o = json_object_new_object();
	char addr[PW_ADDRSTRLEN], t[32];
	int connected = e->sk.rport != 0;

	json_object_object_add(o, "netns", json_object_new_int64(e->sk.netns));
	json_object_object_add(o, "proto", json_object_new_string(pw_proto_name(e->sk.protocol)));
	json_object_object_add(o, "family", json_object_new_string(pw_family_name(e->sk.family)));
	json_object_object_add(o, "addr",
			       json_object_new_string(pw_addr_ntop(e->sk.family, e->sk.laddr, addr)));
	json_object_object_add(o, "port", json_object_new_int(e->sk.lport));
	json_object_object_add(o, "state", json_object_new_string(pw_state_name(&e->sk)));
	json_object_object_add(o, "reuseaddr", json_object_new_boolean(e->sk.reuseaddr));
	json_object_object_add(o, "reuseport", json_object_new_boolean(e->sk.reuseport));
	json_object_object_add(o, "v6only", json_object_new_boolean(e->sk.v6only));
	json_object_object_add(o, "reuseport_bpf", json_object_new_boolean(e->sk.reuseport_prog));
	json_object_object_add(o, "freebind",
			       json_object_new_boolean(e->sk.ipflags & PW_IPF_FREEBIND));
	json_object_object_add(o, "transparent",
			       json_object_new_boolean(e->sk.ipflags & PW_IPF_TRANSPARENT));
	json_object_object_add(o, "inode", json_object_new_int64((int64_t)e->sk.inode));
	json_object_object_add(o, "pid", e->owner.pid ? json_object_new_int64(e->owner.pid) : NULL);
	json_object_object_add(o, "comm", str_or_null(e->owner.comm));
	json_object_object_add(o, "exe", pwj_text(pw_owner_exe(&e->owner)));
	json_object_object_add(o, "uid", e->owner.pid ? json_object_new_int64(e->owner.uid) : NULL);
	json_object_object_add(o, "unit", str_or_null(pw_owner_unit(&e->owner)));
	json_object_object_add(o, "since", e->since_ns ? json_object_new_string(pw_time_rfc3339(
								 e->since_ns, t)) :
							 NULL);
	json_object_object_add(o, "raddr",
			       connected ? json_object_new_string(pw_addr_ntop(e->sk.family,
									       e->sk.raddr, addr)) :
					   NULL);
	json_object_object_add(o, "rport", connected ? json_object_new_int(e->sk.rport) : NULL);
	json_object_object_add(o, "sk_uid", json_object_new_int64(e->sk.sk_uid));
	json_object_object_add(o, "device", e->sk.bound_dev_if ? str_or_null(e->device) : NULL);
	json_object_object_add(o, "device_ifindex", json_object_new_int64(e->sk.bound_dev_if));
	json_object_object_add(o, "container", container_json(c));
	json_object_object_add(o, "pod", pod_json(c));
	return o;
}

json_object *pwj_ephemeral(const struct pw_ephemeral *e, uint16_t family)
{
	json_object *o = json_object_new_object(), *r = json_object_new_array();
	json_object *top = json_object_new_array();
	char addr[PW_ADDRSTRLEN], dest[PW_ADDRSTRLEN + 8];

	json_object_array_add(r, json_object_new_int(e->lo));
	json_object_array_add(r, json_object_new_int(e->hi));
	json_object_object_add(o, "range", r);
	json_object_object_add(o, "in_use", json_object_new_int64(e->in_use));
	if (e->rport) {
		pw_addr_ntop(family, e->raddr, addr);
		snprintf(dest, sizeof(dest), family == AF_INET6 ? "[%s]:%u" : "%s:%u", addr,
			 e->rport);
		json_object_object_add(o, "destination", json_object_new_string(dest));
	} else {
		json_object_object_add(o, "destination", NULL);
	}
	for (uint32_t i = 0; i < e->ntop && i < PW_EPH_TOP; i++) {
		json_object *t = json_object_new_object();

		json_object_object_add(t, "pid", json_object_new_int64(e->top[i].pid));
		json_object_object_add(t, "comm", pwj_text(e->top[i].comm));
		json_object_object_add(t, "uid", json_object_new_int64(e->top[i].uid));
		json_object_object_add(t, "ports", json_object_new_int64(e->top[i].count));
		json_object_array_add(top, t);
	}
	json_object_object_add(o, "top_owners", top);
	return o;
}

json_object *pwj_alert(const struct pw_alert *a)
{
	json_object *o = json_object_new_object();
	char addr[PW_ADDRSTRLEN], t[32], eb[16];
	const struct pw_sock *sk = &a->contender.sk;

	json_object_object_add(o, "id", json_object_new_int64((int64_t)a->id));
	json_object_object_add(o, "time", json_object_new_string(pw_time_rfc3339(a->time_ns, t)));
	json_object_object_add(o, "severity",
			       json_object_new_string(rules_severity_name(a->severity)));
	json_object_object_add(o, "kind", json_object_new_string(rules_alert_kind_name(a->kind)));
	json_object_object_add(o, "reason",
			       json_object_new_string(rules_alert_reason_name(a->reason)));
	json_object_object_add(o, "netns", json_object_new_int64(sk->netns));
	json_object_object_add(o, "proto", json_object_new_string(pw_proto_name(sk->protocol)));
	json_object_object_add(o, "addr",
			       json_object_new_string(pw_addr_ntop(sk->family, sk->laddr, addr)));
	json_object_object_add(o, "port", json_object_new_int(sk->lport));
	json_object_object_add(o, "result", json_object_new_string(pw_errno_name(a->result, eb)));
	json_object_object_add(o, "holder", a->holder.sk.family ? pwj_socket(&a->holder) : NULL);
	json_object_object_add(o, "contender", pwj_socket(&a->contender));
	json_object_object_add(o, "message", pwj_text(a->message));
	if (a->reason == RULES_REASON_PROTECTED_PORT || a->enforced) {
		/* a takeover the kernel refused (takeover protection) has them too */
		json_object_object_add(o, "enforced", json_object_new_boolean(a->enforced));
		json_object_object_add(o, "protect_line", a->protect_line ?
				       json_object_new_int64(a->protect_line) : NULL);
	}
	if (a->has_eph)
		json_object_object_add(o, "ephemeral", pwj_ephemeral(&a->eph, sk->family));
	if (a->fold_count) {
		json_object *f = json_object_new_object(), *p = json_object_new_array();

		json_object_object_add(f, "count", json_object_new_int64((int64_t)a->fold_count));
		json_object_object_add(f, "of", json_object_new_int64((int64_t)a->fold_of));
		json_object_object_add(f, "first", json_object_new_string(pw_time_rfc3339(
							   a->fold_first_ns, t)));
		json_object_object_add(f, "last", json_object_new_string(pw_time_rfc3339(
							  a->fold_last_ns, t)));
		for (size_t i = 0; i < a->fold_nports; i++)
			json_object_array_add(p, json_object_new_int(a->fold_ports[i]));
		json_object_object_add(f, "ports", p);
		json_object_object_add(f, "more_ports", json_object_new_boolean(a->fold_more));
		json_object_object_add(o, "folded", f);
	}
	return o;
}

json_object *pwj_conflict(const struct pw_conflict *c)
{
	json_object *o = json_object_new_object(), *h = json_object_new_array();
	const struct pw_entry *ce = &c->contender;
	char addr[PW_ADDRSTRLEN], t[32], eb[16];

	json_object_object_add(o, "id", json_object_new_int64((int64_t)c->id));
	json_object_object_add(o, "time", json_object_new_string(pw_time_rfc3339(c->time_ns, t)));
	json_object_object_add(o, "op", json_object_new_string(rules_op_name(c->op)));
	json_object_object_add(o, "errno", json_object_new_int(c->err));
	json_object_object_add(o, "errno_name", json_object_new_string(pw_errno_name(c->err, eb)));
	json_object_object_add(o, "pid", json_object_new_int64(ce->owner.pid));
	json_object_object_add(o, "comm", pwj_text(ce->owner.comm));
	json_object_object_add(o, "uid", json_object_new_int64(ce->owner.uid));
	json_object_object_add(o, "exe", pwj_text(pw_owner_exe(&ce->owner)));
	json_object_object_add(o, "netns", json_object_new_int64(ce->sk.netns));
	json_object_object_add(o, "proto", json_object_new_string(pw_proto_name(ce->sk.protocol)));
	json_object_object_add(o, "addr", json_object_new_string(pw_addr_ntop(
						  ce->sk.family, ce->sk.laddr, addr)));
	json_object_object_add(o, "port", json_object_new_int(ce->sk.lport));
	json_object_object_add(o, "reuseaddr", json_object_new_boolean(ce->sk.reuseaddr));
	json_object_object_add(o, "reuseport", json_object_new_boolean(ce->sk.reuseport));
	for (size_t i = 0; i < c->nholders; i++)
		json_object_array_add(h, pwj_socket(&c->holders[i]));
	json_object_object_add(o, "holders", h);
	json_object_object_add(o, "rule", json_object_new_string(rules_rule_name(c->rule)));
	json_object_object_add(o, "explanation", pwj_text(c->explanation));
	if (c->rule == RULES_RULE_PROTECTED) {
		char until[40];

		json_object_object_add(o, "protect_line", c->protect_line ?
				       json_object_new_int64(c->protect_line) : NULL);
		json_object_object_add(o, "held_until", c->held_until_ns ?
				       json_object_new_string(pw_time_rfc3339(c->held_until_ns, until)) :
				       NULL);
	}
	if (c->has_eph)
		json_object_object_add(o, "ephemeral", pwj_ephemeral(&c->eph, ce->sk.family));
	return o;
}
