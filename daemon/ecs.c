// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* ecs.c - an alert as an Elastic Common Schema document; see ecs.h. */
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>

#include "addr.h"
#include "container.h"
#include "ecs.h"
#include "portwatch/proto.h"
#include "pwjson.h"
#include "pwname.h"
#include "rules.h"

/* o[key], created empty when missing. */
static json_object *obj(json_object *o, const char *key)
{
	json_object *v;

	if (json_object_object_get_ex(o, key, &v))
		return v;
	v = json_object_new_object();
	json_object_object_add(o, key, v);
	return v;
}

static void add_str(json_object *o, const char *key, const char *s)
{
	json_object_object_add(o, key, json_object_new_string(s));
}

/* A keyword field holding a number: "1000". */
static void add_kw_u64(json_object *o, const char *key, unsigned long long n)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%llu", n);
	add_str(o, key, buf);
}

/* A one-element array ["s"], as event.category and event.type are. */
static void add_str_array(json_object *o, const char *key, const char *s)
{
	json_object *a = json_object_new_array();

	json_object_array_add(a, json_object_new_string(s));
	json_object_object_add(o, key, a);
}

/*
 * The owner of e into o as ECS has it: process.{pid, name, executable},
 * user.id; nothing when no process is known (pid 0), name and executable
 * left out when empty (ECS prefers a missing field to a null one).
 */
static void add_owner(json_object *o, const struct pw_entry *e)
{
	json_object *p;

	if (!e->owner.pid)
		return;
	p = obj(o, "process");
	json_object_object_add(p, "pid", json_object_new_int64(e->owner.pid));
	if (e->owner.comm[0])
		json_object_object_add(p, "name", pwj_text(e->owner.comm));
	if (pw_owner_exe(&e->owner)[0])
		json_object_object_add(p, "executable", pwj_text(pw_owner_exe(&e->owner)));
	add_kw_u64(obj(o, "user"), "id", e->owner.uid);
	/* container.id, container.runtime (ECS), when the cgroup path names one */
	{
		const struct pw_container *c = container_get(e->owner.ctr);

		if (c && c->runtime != CONTAINER_NONE) {
			json_object *k = obj(o, "container");

			json_object_object_add(k, "id", pwj_text(c->id));
			add_str(k, "runtime", container_runtime_name(c->runtime));
		}
	}
}

/*
 * What ECS has no field for about one party (portwatch.holder,
 * portwatch.contender): its systemd unit and its socket.
 */
static void add_party_extra(json_object *o, const struct pw_entry *e)
{
	json_object *s = obj(o, "socket");
	char addr[PW_ADDRSTRLEN];

	const struct pw_container *c = container_get(e->owner.ctr);

	if (e->owner.pid && pw_owner_unit(&e->owner)[0])
		json_object_object_add(o, "unit", pwj_text(pw_owner_unit(&e->owner)));
	if (e->owner.pid && c && c->pod_uid[0]) /* ECS has no pod field: ours */
		add_str(obj(o, "pod"), "uid", c->pod_uid);
	add_str(s, "ip", pw_addr_ntop(e->sk.family, e->sk.laddr, addr));
	json_object_object_add(s, "port", json_object_new_int(e->sk.lport));
	add_str(s, "state", pw_state_name(&e->sk));
	json_object_object_add(s, "inode", json_object_new_int64((int64_t)e->sk.inode));
	json_object_object_add(s, "reuseaddr", json_object_new_boolean(e->sk.reuseaddr));
	json_object_object_add(s, "reuseport", json_object_new_boolean(e->sk.reuseport));
	json_object_object_add(s, "v6only", json_object_new_boolean(e->sk.v6only));
	json_object_object_add(s, "reuseport_bpf", json_object_new_boolean(e->sk.reuseport_prog));
	json_object_object_add(s, "sk_uid", json_object_new_int64(e->sk.sk_uid));
}

int ecs_severity(enum rules_severity sev)
{
	switch (sev) {
	case RULES_SEV_CRITICAL:
		return 2;
	case RULES_SEV_WARNING:
		return 4;
	case RULES_SEV_NOTICE:
		return 5;
	default:
		return 6;
	}
}

static void add_folded(json_object *o, const struct pw_alert *a, json_object *event)
{
	json_object *f = obj(o, "folded"), *p = json_object_new_array();
	char t[32];

	json_object_object_add(f, "count", json_object_new_int64((int64_t)a->fold_count));
	json_object_object_add(f, "of", json_object_new_int64((int64_t)a->fold_of));
	add_str(f, "first", pw_time_rfc3339(a->fold_first_ns, t));
	add_str(f, "last", pw_time_rfc3339(a->fold_last_ns, t));
	for (size_t i = 0; i < a->fold_nports; i++)
		json_object_array_add(p, json_object_new_int(a->fold_ports[i]));
	json_object_object_add(f, "ports", p);
	json_object_object_add(f, "more_ports", json_object_new_boolean(a->fold_more));
	/* the span the summary covers, in ECS's own words */
	add_str(event, "start", pw_time_rfc3339(a->fold_first_ns, t));
	add_str(event, "end", pw_time_rfc3339(a->fold_last_ns, t));
}

json_object *ecs_alert(const struct pw_alert *a, const char *hostname)
{
	const struct pw_sock *sk = &a->contender.sk;
	json_object *o = json_object_new_object(), *event, *rule, *net, *server, *pw;
	char addr[PW_ADDRSTRLEN], t[32], eb[16];
	int v6 = sk->family == AF_INET6, udp = sk->protocol == IPPROTO_UDP;

	add_str(o, "@timestamp", pw_time_rfc3339(a->time_ns, t));
	json_object_object_add(o, "message", pwj_text(a->message));
	add_str(obj(o, "log"), "level", rules_severity_name(a->severity));
	add_str(obj(o, "ecs"), "version", PW_ECS_VERSION);

	event = obj(o, "event");
	add_str(event, "kind", "alert");
	add_str_array(event, "category", "network");
	/* the contender's call: the kernel let it through, or refused it */
	add_str_array(event, "type", a->result ? "denied" : "allowed");
	add_str(event, "outcome", a->result ? "failure" : "success");
	add_str(event, "action", rules_alert_reason_name(a->reason));
	json_object_object_add(event, "severity", json_object_new_int(ecs_severity(a->severity)));
	add_kw_u64(event, "id", a->id);
	add_str(event, "module", "portwatch");
	add_str(event, "dataset", "portwatch.alert");

	rule = obj(o, "rule");
	add_str(rule, "name", rules_alert_reason_name(a->reason));
	add_str(rule, "category", rules_alert_kind_name(a->kind));
	if (a->result)
		add_str(obj(o, "error"), "code", pw_errno_name(a->result, eb));

	net = obj(o, "network");
	add_str(net, "transport", udp ? "udp" : "tcp");
	add_str(net, "type", v6 ? "ipv6" : "ipv4");
	add_str(net, "iana_number", udp ? "17" : "6");

	/* the local address contested: the contender's */
	server = obj(o, "server");
	pw_addr_ntop(sk->family, sk->laddr, addr);
	add_str(server, "address", addr);
	add_str(server, "ip", addr);
	json_object_object_add(server, "port", json_object_new_int(sk->lport));
	if (a->has_eph && a->eph.rport) {
		json_object *dst = obj(o, "destination");

		pw_addr_ntop(sk->family, a->eph.raddr, addr);
		add_str(dst, "address", addr);
		add_str(dst, "ip", addr);
		json_object_object_add(dst, "port", json_object_new_int(a->eph.rport));
	}

	if (hostname && *hostname) {
		json_object_object_add(obj(o, "host"), "name", pwj_text(hostname));
		json_object_object_add(obj(o, "observer"), "hostname", pwj_text(hostname));
	}
	add_str(obj(o, "observer"), "product", "portwatch");
	add_str(obj(o, "observer"), "version", PW_RELEASE);

	add_owner(o, &a->contender);
	add_kw_u64(obj(o, "labels"), "netns", sk->netns);

	pw = obj(o, "portwatch");
	add_str(pw, "result", pw_errno_name(a->result, eb));
	add_owner(obj(pw, "holder"), &a->holder);
	add_party_extra(obj(pw, "holder"), &a->holder);
	add_party_extra(obj(pw, "contender"), &a->contender);
	if (a->has_eph)
		json_object_object_add(pw, "ephemeral", pwj_ephemeral(&a->eph, sk->family));
	if (a->fold_count)
		add_folded(pw, a, event);
	return o;
}
