// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* ctl_nat.c - nftables diversions in the control answers; see ctl_nat.h. */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "ctl_nat.h"
#include "pwjson.h"
#include "pwname.h"

static json_object *rule_json(const struct natrule *r)
{
	json_object *o = json_object_new_object(), *hooks = json_object_new_array();
	const char *origin = natrule_origin_name(r->origin);
	char a[PW_ADDRSTRLEN];

	if (r->hooks & NATRULE_HOOK_PREROUTING)
		json_object_array_add(hooks, json_object_new_string("prerouting"));
	if (r->hooks & NATRULE_HOOK_OUTPUT)
		json_object_array_add(hooks, json_object_new_string("output"));
	json_object_object_add(o, "family", json_object_new_string(r->family));
	json_object_object_add(o, "table", pwj_text(r->table));
	json_object_object_add(o, "chain", pwj_text(r->chain));
	json_object_object_add(o, "handle", json_object_new_int64((int64_t)r->handle));
	json_object_object_add(o, "hooks", hooks);
	json_object_object_add(o, "action", json_object_new_string(natrule_action_name(r->action)));
	json_object_object_add(o, "origin", origin ? json_object_new_string(origin) : NULL);
	json_object_object_add(o, "text", pwj_text(r->text));
	json_object_object_add(o, "text_exact", json_object_new_boolean(r->text_exact));
	json_object_object_add(o, "to_addr", r->to_has_addr ?
				       json_object_new_string(pw_addr_ntop(r->to_family, r->to_addr, a)) :
				       NULL);
	json_object_object_add(o, "to_port", r->to_port ? json_object_new_int(r->to_port) : NULL);
	return o;
}

static json_object *div_json(const struct nat_diversion *d)
{
	json_object *o = json_object_new_object();
	char t[32], a[PW_ADDRSTRLEN];

	json_object_object_add(o, "type", json_object_new_string("nat_redirect"));
	json_object_object_add(o, "state",
			       json_object_new_string(d->cleared_ns ? "cleared" : "active"));
	json_object_object_add(o, "netns", json_object_new_int64(d->netns));
	json_object_object_add(o, "proto",
			       json_object_new_string(pw_proto_name(d->listener.sk.protocol)));
	json_object_object_add(o, "addr", json_object_new_string(pw_addr_ntop(
						  d->listener.sk.family, d->listener.sk.laddr, a)));
	json_object_object_add(o, "port", json_object_new_int(d->listener.sk.lport));
	json_object_object_add(o, "listener", pwj_socket(&d->listener));
	json_object_object_add(o, "target", d->target_local ? pwj_socket(&d->target) : NULL);
	json_object_object_add(o, "to_port", json_object_new_int(
						    natrule_target_port(&d->rule, d->listener.sk.lport)));
	json_object_object_add(o, "transparent", d->rule.action == NATRULE_TPROXY ?
							 json_object_new_boolean(d->transparent) :
							 NULL);
	json_object_object_add(o, "rule", rule_json(&d->rule));
	json_object_object_add(o, "since", json_object_new_string(pw_time_rfc3339(d->first_ns, t)));
	json_object_object_add(o, "cleared", d->cleared_ns ?
					     json_object_new_string(pw_time_rfc3339(d->cleared_ns, t)) :
					     NULL);
	json_object_object_add(o, "cleared_why", d->cleared_ns ? pwj_text(d->cleared_why) : NULL);
	json_object_object_add(o, "alert_id",
			       d->alert_id ? json_object_new_int64((int64_t)d->alert_id) : NULL);
	return o;
}

void ctl_nat_diversions(const struct nat *n, json_object *v)
{
	const struct nat_diversion *c;

	for (size_t i = 0; i < n->div.ndiv; i++)
		json_object_array_add(v, div_json(&n->div.div[i]));
	for (size_t i = 0; (c = natdiv_cleared(&n->div, i)); i++)
		json_object_array_add(v, div_json(c));
}

static void stats_ns(uint32_t netns, const struct natrule_set *rules, const char *xt,
		     int forwarding, int err, void *arg)
{
	json_object *hidden = arg;

	(void)rules;
	(void)forwarding;
	(void)err;
	if (xt[0]) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "netns", json_object_new_int64(netns));
		json_object_object_add(o, "tables", json_object_new_string(xt));
		json_object_array_add(hidden, o);
	}
}

json_object *ctl_nat_stats(const struct nat *n)
{
	json_object *o = json_object_new_object(), *hidden = json_object_new_array();

	nat_foreach_ns(n, stats_ns, hidden);
	json_object_object_add(o, "namespaces", json_object_new_int64((int64_t)nat_namespaces(n)));
	json_object_object_add(o, "rules", json_object_new_int64((int64_t)nat_rules(n)));
	json_object_object_add(o, "diversions", json_object_new_int64((int64_t)n->div.ndiv));
	json_object_object_add(o, "found", json_object_new_int64((int64_t)n->div.found));
	json_object_object_add(o, "reads", json_object_new_int64((int64_t)n->reads));
	json_object_object_add(o, "notifications", json_object_new_int64((int64_t)n->notifications));
	json_object_object_add(o, "overruns", json_object_new_int64((int64_t)n->overruns));
	json_object_object_add(o, "advisories", json_object_new_int64((int64_t)n->div.advisories));
	json_object_object_add(o, "not_kept", json_object_new_int64((int64_t)n->div.not_kept));
	json_object_object_add(o, "error", n->last_err ? json_object_new_string(strerror(-n->last_err)) :
						       NULL);
	/* iptables-legacy tables: their rules are not read (nat.h) */
	json_object_object_add(o, "not_visible", hidden);
	return o;
}

json_object *ctl_nat_owners(const struct nat *n, const struct ctl_filter *f)
{
	json_object *v = json_object_new_array();

	for (size_t i = 0; i < n->div.ndiv; i++) {
		const struct nat_diversion *d = &n->div.div[i];
		json_object *o;

		if (!ctl_filter_match(f, &d->listener))
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "netns", json_object_new_int64(d->netns));
		json_object_object_add(o, "inode", json_object_new_int64((int64_t)d->listener.sk.inode));
		json_object_object_add(o, "proto", json_object_new_string(
							   pw_proto_name(d->listener.sk.protocol)));
		json_object_object_add(o, "port", json_object_new_int(d->listener.sk.lport));
		json_object_object_add(o, "to_port", json_object_new_int(natrule_target_port(
							     &d->rule, d->listener.sk.lport)));
		json_object_object_add(o, "to_pid", d->target_local ?
						    json_object_new_int64(d->target.owner.pid) : NULL);
		json_object_object_add(o, "rule", pwj_text(d->rule.text));
		json_object_object_add(o, "alert_id", d->alert_id ?
						      json_object_new_int64((int64_t)d->alert_id) : NULL);
		json_object_array_add(v, o);
	}
	return v;
}

/* tproxy rules of one namespace that take the port asked about. */
struct why_tproxy {
	const struct pw_table *t;
	const struct nat *n;
	uint32_t netns;
	uint8_t protocol;
	json_object *v;
	char *text;
	size_t len, off;
};

static void why_rule(const struct natrule *r, uint64_t target_inode, int transparent,
		     void *arg)
{
	struct why_tproxy *w = arg;
	struct pw_entry *e;
	json_object *o;

	if (r->action != NATRULE_TPROXY || transparent != 1)
		return; /* no transparent socket: the kernel hands it nothing */
	e = table_lookup(w->t, w->netns, target_inode);
	if (!e || e->sk.protocol != w->protocol)
		return;
	o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string("tproxy"));
	json_object_object_add(o, "netns", json_object_new_int64(w->netns));
	json_object_object_add(o, "rule", rule_json(r));
	json_object_object_add(o, "target", pwj_socket(e));
	json_object_array_add(w->v, o);
	if (w->off < w->len)
		w->off += snprintf(w->text + w->off, w->len - w->off,
				   " A tproxy rule (\"%s\", %s %s chain %s handle %llu) hands this "
				   "port's incoming %s traffic in network namespace %u to port %u, "
				   "where pid %u (%s, uid %u) listens: a transparent socket there "
				   "holds this port too.",
				   r->text, r->family, r->table, r->chain,
				   (unsigned long long)r->handle, pw_proto_name(w->protocol), w->netns,
				   r->to_port, e->owner.pid, e->owner.comm[0] ? e->owner.comm : "?",
				   e->owner.uid);
}

json_object *ctl_nat_why(const struct nat *n, const struct pw_table *t,
			 const struct ctl_filter *f, uint32_t netns, char *text, size_t len)
{
	struct why_tproxy w = { .t = t, .n = n, .netns = netns, .text = text, .len = len };
	size_t off = 0;

	w.v = json_object_new_array();
	text[0] = '\0';
	for (size_t i = 0; i < n->div.ndiv; i++) {
		const struct nat_diversion *d = &n->div.div[i];
		char msg[PW_MSG_LEN];

		if (d->listener.sk.lport != f->port || !ctl_filter_match(f, &d->listener))
			continue;
		json_object_array_add(w.v, div_json(d));
		natdiv_message(msg, sizeof(msg), d);
		if (off < len)
			off += snprintf(text + off, len - off, " Diverted by nftables: %s.",
					msg + strlen("nat_redirect: "));
	}
	w.off = off;
	for (int pr = 0; pr < 2 && netns; pr++) {
		struct pw_sock sk = { .netns = netns, .family = AF_INET6, .lport = (uint16_t)f->port };

		sk.protocol = pr ? IPPROTO_UDP : IPPROTO_TCP;
		if (f->proto && f->proto != sk.protocol)
			continue;
		w.protocol = sk.protocol;
		nat_rules_on(n, &sk, why_rule, &w); /* [::] v6only 0: every family's rules */
	}
	return w.v;
}
