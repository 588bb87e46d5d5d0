// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* ctl_req.c - request members and answer objects; see ctl_req.h. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "container.h"
#include "ctl_req.h"
#include "portwatch/proto.h"
#include "pwjson.h"
#include "pwname.h"

json_object *ctl_error(const char *msg)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "version", json_object_new_int(PW_PROTO_VERSION));
	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "error", pwj_text(msg));
	return o;
}

json_object *ctl_ok(void)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "version", json_object_new_int(PW_PROTO_VERSION));
	json_object_object_add(o, "ok", json_object_new_boolean(1));
	return o;
}

int ctl_opt_int(json_object *req, const char *key, int64_t lo, int64_t hi, int64_t *out,
		char *err, size_t errlen)
{
	json_object *v;
	int64_t x;

	if (!json_object_object_get_ex(req, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int)) {
		snprintf(err, errlen, "\"%s\" must be an integer", key);
		return -EINVAL;
	}
	x = json_object_get_int64(v);
	if (x < lo || x > hi) {
		snprintf(err, errlen, "\"%s\" must be between %lld and %lld", key, (long long)lo,
			 (long long)hi);
		return -EINVAL;
	}
	*out = x;
	return 0;
}

int ctl_opt_string(json_object *req, const char *key, const char **out, char *err,
		   size_t errlen)
{
	json_object *v;

	if (!json_object_object_get_ex(req, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string)) {
		snprintf(err, errlen, "\"%s\" must be a string", key);
		return -EINVAL;
	}
	*out = json_object_get_string(v);
	return 0;
}

int ctl_opt_bool(json_object *req, const char *key, uint8_t *out, char *err, size_t errlen)
{
	json_object *v;

	if (!json_object_object_get_ex(req, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_boolean)) {
		snprintf(err, errlen, "\"%s\" must be true or false", key);
		return -EINVAL;
	}
	*out = (uint8_t)json_object_get_boolean(v);
	return 0;
}

int ctl_filter_parse(json_object *req, struct ctl_filter *f, char *err, size_t errlen)
{
	const char *proto = NULL, *addr = NULL, *ctr = NULL;

	memset(f, 0, sizeof(*f));
	f->port = f->pid = f->netns = -1;
	if (ctl_opt_int(req, "port", 0, 65535, &f->port, err, errlen) ||
	    ctl_opt_int(req, "pid", 1, 4194304, &f->pid, err, errlen) ||
	    ctl_opt_int(req, "netns", 1, UINT32_MAX, &f->netns, err, errlen) ||
	    ctl_opt_string(req, "proto", &proto, err, errlen) ||
	    ctl_opt_string(req, "addr", &addr, err, errlen) ||
	    ctl_opt_string(req, "container", &ctr, err, errlen))
		return -EINVAL;
	if (ctr && (!*ctr || strlen(ctr) >= sizeof(f->container))) {
		snprintf(err, errlen, "\"container\" must be 1 to %zu bytes of a container id",
			 sizeof(f->container) - 1);
		return -EINVAL;
	}
	if (ctr)
		memcpy(f->container, ctr, strlen(ctr) + 1);
	if (proto && strcmp(proto, "tcp") && strcmp(proto, "udp")) {
		snprintf(err, errlen, "\"proto\" must be \"tcp\" or \"udp\"");
		return -EINVAL;
	}
	f->proto = !proto ? 0 : !strcmp(proto, "tcp") ? IPPROTO_TCP : IPPROTO_UDP;
	if (addr) {
		if (pw_addr_pton(addr, &f->family, f->addr)) {
			snprintf(err, errlen, "\"addr\": not an IPv4 or IPv6 address: %.64s", addr);
			return -EINVAL;
		}
		f->has_addr = 1;
	}
	return 0;
}

int ctl_filter_match(const struct ctl_filter *f, const struct pw_entry *e)
{
	if (f->port >= 0 && e->sk.lport != f->port)
		return 0;
	if (f->pid > 0 && e->owner.pid != f->pid)
		return 0;
	if (f->netns > 0 && e->sk.netns != f->netns)
		return 0;
	if (f->proto && e->sk.protocol != f->proto)
		return 0;
	if (f->container[0]) {
		const struct pw_container *c = container_get(e->owner.ctr);

		if (!c || c->runtime == CONTAINER_NONE ||
		    strncmp(c->id, f->container, strlen(f->container)))
			return 0;
	}
	if (f->has_addr) {
		uint8_t a[16] = { 0 };

		/* an IPv4 filter also matches the v4-mapped form */
		if (f->family == AF_INET && e->sk.family == AF_INET6 &&
		    pw_addr_is_v4mapped(e->sk.laddr))
			memcpy(a, e->sk.laddr + 12, 4);
		else if (f->family == e->sk.family)
			memcpy(a, e->sk.laddr, 16);
		else
			return 0;
		if (!pw_addr_equal(f->family, a, f->addr))
			return 0;
	}
	return 1;
}

/* One blocker: the socket as `owners` shows it, its rule and TIME_WAIT time. */
static json_object *blocker_json(const struct pw_prediction *p, const struct pw_holder *h)
{
	struct pw_entry e = { .sk = h->sk };
	enum rules_rule rule;
	json_object *o;

	if (h->e) {
		e = *h->e;
		e.sk = h->sk;
	}
	o = pwj_socket(&e);
	rule = p->q.op == RULES_OP_CONNECT ? RULES_RULE_FOUR_TUPLE : rules_block_rule_q(&p->q, &e.sk);
	json_object_object_add(o, "rule", json_object_new_string(rules_rule_name(rule)));
	if (h->sk.state == PW_TCP_TIME_WAIT && h->tw_expires_ms != UINT32_MAX)
		json_object_object_add(o, "expires_s",
				       json_object_new_int64(
					       ((int64_t)h->tw_expires_ms + 999) / 1000));
	return o;
}

json_object *ctl_prediction_json(const struct pw_prediction *p)
{
	const struct rules_prediction *r = &p->r;
	json_object *o = json_object_new_object(), *b = json_object_new_array(), *range;
	size_t nb = r->nblockers < RULES_MAX_BLOCKERS ? r->nblockers : RULES_MAX_BLOCKERS;
	char eb[16];

	for (size_t i = 0; i < nb; i++)
		json_object_array_add(b, blocker_json(p, &p->view.h[r->blockers[i]]));
	json_object_object_add(o, "ok", json_object_new_boolean(r->ok));
	json_object_object_add(o, "uncertain", json_object_new_boolean(r->uncertain));
	json_object_object_add(o, "op", json_object_new_string(rules_op_name(p->q.op)));
	json_object_object_add(o, "netns", json_object_new_int64(p->q.c.netns));
	json_object_object_add(o, "rule",
			       r->ok ? NULL : json_object_new_string(rules_rule_name(r->rule)));
	json_object_object_add(o, "errno_name",
			       r->ok ? NULL : json_object_new_string(pw_errno_name(r->err, eb)));
	json_object_object_add(o, "blockers", b);
	json_object_object_add(o, "nblockers", json_object_new_int64((int64_t)r->nblockers));
	json_object_object_add(o, "advice", json_object_new_string(p->advice));
	if (!r->ok)
		json_object_object_add(o, "explanation", pwj_text(p->explanation));
	if (!r->ok && r->rule == RULES_RULE_PROTECTED) {
		char until[40];

		json_object_object_add(o, "protect_line", p->q.env.protect_line ?
				       json_object_new_int64(p->q.env.protect_line) : NULL);
		json_object_object_add(o, "held_until", p->has_hold ?
				       json_object_new_string(
					       pw_time_rfc3339(p->hold.until_ns, until)) :
				       NULL);
	}
	if (p->have_range && !p->q.c.lport) {
		range = json_object_new_array();
		json_object_array_add(range, json_object_new_int(p->range_lo));
		json_object_array_add(range, json_object_new_int(p->range_hi));
		json_object_object_add(o, "range", range);
		json_object_object_add(o, "free_ports", json_object_new_int64(r->free_ports));
		json_object_object_add(o, "in_use", json_object_new_int64(r->in_use));
	}
	return o;
}
