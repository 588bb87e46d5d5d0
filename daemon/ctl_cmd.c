// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* ctl_cmd.c - control protocol commands; see ctl_cmd.h and docs/protocol.md. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "ctl_cmd.h"
#include "ctl_nat.h"
#include "ctl_req.h"
#include "portwatch/proto.h"
#include "pwjson.h"
#include "pwname.h"
#include "ring.h"
#include "sklookup.h"
#include "freebind.h"
#include "sniff.h"
#include "snap.h"

struct collect {
	const struct ctl_filter *f;
	const struct pw_entry **v;
	size_t n, cap;
};

static int collect_entry(struct pw_entry *e, void *arg)
{
	struct collect *c = arg;

	if (!ctl_filter_match(c->f, e))
		return 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		const struct pw_entry **v = realloc(c->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n++] = e;
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct pw_entry *x = *(const struct pw_entry *const *)a;
	const struct pw_entry *y = *(const struct pw_entry *const *)b;
	int d;

	if (x->sk.netns != y->sk.netns)
		return x->sk.netns < y->sk.netns ? -1 : 1;
	if (x->sk.protocol != y->sk.protocol)
		return x->sk.protocol - y->sk.protocol;
	if (x->sk.lport != y->sk.lport)
		return x->sk.lport - y->sk.lport;
	if (x->sk.family != y->sk.family)
		return x->sk.family - y->sk.family;
	d = memcmp(x->sk.laddr, y->sk.laddr, 16);
	if (d)
		return d;
	return x->sk.inode < y->sk.inode ? -1 : x->sk.inode > y->sk.inode;
}

/* Matching table entries, sorted, into c->v/c->n (c->v: caller frees); -ENOMEM. */
static int sockets_sorted(struct pw_monitor *m, const struct ctl_filter *f, struct collect *c)
{
	int err;

	c->f = f;
	/* a port narrows the walk to its bucket(s): owners PORT stays O(1) at 100k sockets */
	if (f->port >= 0 && f->netns > 0 && f->proto) {
		err = table_foreach_port(m->table, f->netns, f->proto, f->port, collect_entry, c);
	} else if (f->port >= 0) {
		err = f->proto == IPPROTO_UDP ? 0 :
			table_foreach_lport(m->table, IPPROTO_TCP, f->port, collect_entry, c);
		if (!err && f->proto != IPPROTO_TCP)
			err = table_foreach_lport(m->table, IPPROTO_UDP, f->port, collect_entry, c);
	} else {
		err = table_foreach(m->table, collect_entry, c);
	}
	if (c->n)
		qsort(c->v, c->n, sizeof(*c->v), cmp_entry);
	return err;
}

/* One sniffer as `owners --sniffers` shows it (docs/protocol.md). */
static json_object *sniffer_json(const struct sniffer *f)
{
	json_object *d = json_object_new_object(), *ports = NULL;
	const struct pw_owner *w = &f->owner;
	char t[32], pbuf[8];

	json_object_object_add(d, "netns", json_object_new_int64(f->netns));
	json_object_object_add(d, "inode", json_object_new_int64((int64_t)f->inode));
	json_object_object_add(d, "type", json_object_new_string(sniff_type_name(f)));
	json_object_object_add(d, "family",
			       json_object_new_string(f->family == AF_PACKET ? "packet" :
						      pw_family_name(f->family)));
	json_object_object_add(d, "protocol",
			       json_object_new_string(sniff_proto_name(f, pbuf, sizeof(pbuf))));
	json_object_object_add(d, "ifindex", json_object_new_int64(f->ifindex));
	json_object_object_add(d, "interface",
			       !f->ifindex ? json_object_new_string("any") :
			       f->ifname[0] ? pwj_text(f->ifname) : NULL);
	json_object_object_add(d, "filter", json_object_new_string(sniff_filter_name(f)));
	if (f->ports_known) {
		ports = json_object_new_array();
		for (size_t i = 0; i < f->nports; i++)
			json_object_array_add(ports, json_object_new_int(f->ports[i]));
	}
	json_object_object_add(d, "ports", ports);
	json_object_object_add(d, "pid", w->pid ? json_object_new_int64(w->pid) : NULL);
	json_object_object_add(d, "comm", w->pid ? pwj_text(w->comm) : NULL);
	json_object_object_add(d, "exe",
			       w->pid && *pw_owner_exe(w) ? pwj_text(pw_owner_exe(w)) : NULL);
	json_object_object_add(d, "uid", w->pid ? json_object_new_int64(w->uid) : NULL);
	json_object_object_add(d, "unit", *pw_owner_unit(w) ? pwj_text(pw_owner_unit(w)) : NULL);
	json_object_object_add(d, "since",
			       json_object_new_string(pw_time_rfc3339(f->first_ns, t)));
	json_object_object_add(d, "alert_id",
			       f->alert_id ? json_object_new_int64((int64_t)f->alert_id) : NULL);
	return d;
}

/* `owners` with "sniffers": true: the packet sniffers, not the table's sockets. */
static json_object *owners_sniffers(struct ctl_cmd_ctx *ctx)
{
	json_object *o = ctl_ok(), *v = json_object_new_array();

	for (size_t i = 0; ctx->sniffers && i < ctx->sniffers->n; i++)
		json_object_array_add(v, sniffer_json(&ctx->sniffers->v[i]));
	json_object_object_add(o, "sniffers", v);
	return o;
}

/*
 * `owners` for ctl.c: the answer without its "sockets" member, which
 * ctx->stream then brings; frees c->v.
 */
static json_object *owners_stream(struct ctl_cmd_ctx *ctx, const struct ctl_filter *f,
				  struct collect *c)
{
	struct ctl_stream *s = calloc(1, sizeof(*s));

	if (s && c->n)
		s->keys = malloc(c->n * sizeof(*s->keys));
	if (!s || (c->n && !s->keys)) {
		free(s);
		free(c->v);
		return ctl_error("out of memory");
	}
	for (size_t i = 0; i < c->n; i++)
		s->keys[i] = (struct ctl_stream_key){ .inode = c->v[i]->sk.inode,
						      .netns = c->v[i]->sk.netns };
	free(c->v);
	s->member = "sockets";
	s->f = *f;
	s->n = c->n;
	ctx->stream = s;
	return ctl_ok();
}

json_object *ctl_stream_next(struct ctl_stream *s, const struct pw_monitor *m)
{
	while (s->next < s->n) {
		const struct ctl_stream_key *k = &s->keys[s->next++];
		const struct pw_entry *e = table_lookup(m->table, k->netns, k->inode);
		json_object *o;

		if (!e || !ctl_filter_match(&s->f, e))
			continue;
		o = pwj_socket(e);
		if (o)
			return o;
	}
	return NULL;
}

size_t ctl_stream_bytes(const struct ctl_stream *s)
{
	return s ? sizeof(*s) + s->n * sizeof(*s->keys) : 0;
}

void ctl_stream_free(struct ctl_stream *s)
{
	if (!s)
		return;
	free(s->keys);
	free(s);
}

json_object *ctl_cmd_owners(struct ctl_cmd_ctx *ctx, json_object *req)
{
	struct collect c = { 0 };
	struct ctl_filter f;
	json_object *o, *arr, *sn;
	char err[160];

	if (json_object_object_get_ex(req, "sniffers", &sn)) {
		if (!json_object_is_type(sn, json_type_boolean))
			return ctl_error("\"sniffers\" must be true or false");
		if (json_object_get_boolean(sn))
			return owners_sniffers(ctx);
	}
	if (ctl_filter_parse(req, &f, err, sizeof(err)))
		return ctl_error(err);
	if (sockets_sorted(ctx->mon, &f, &c)) {
		free(c.v);
		return ctl_error("out of memory");
	}
	if (ctx->can_stream) {
		o = owners_stream(ctx, &f, &c);
		if (ctx->nat && ctx->stream)
			json_object_object_add(o, "diverted", ctl_nat_owners(ctx->nat, &f));
		return o;
	}
	o = ctl_ok();
	if (ctx->nat)
		json_object_object_add(o, "diverted", ctl_nat_owners(ctx->nat, &f));
	arr = json_object_new_array();
	for (size_t i = 0; i < c.n; i++)
		json_object_array_add(arr, pwj_socket(c.v[i]));
	free(c.v);
	json_object_object_add(o, "sockets", arr);
	return o;
}

/* alerts/conflicts: ids > since, the newest `limit`, oldest first. */
static json_object *history(const struct pw_ring *r, json_object *req, const char *member,
			    json_object *(*enc)(const void *item))
{
	int64_t since = 0, limit = 100;
	uint64_t first = ring_first_id(r), id;
	char err[160];
	json_object *o, *arr;

	if (ctl_opt_int(req, "since", 0, INT64_MAX, &since, err, sizeof(err)) ||
	    ctl_opt_int(req, "limit", 1, 1000000, &limit, err, sizeof(err)))
		return ctl_error(err);
	id = (uint64_t)since + 1 > first ? (uint64_t)since + 1 : first;
	if (r->next_id > id && r->next_id - id > (uint64_t)limit)
		id = r->next_id - limit;
	arr = json_object_new_array();
	for (; id < r->next_id; id++)
		json_object_array_add(arr, enc(ring_get(r, id)));
	o = ctl_ok();
	json_object_object_add(o, member, arr);
	return o;
}

static json_object *enc_alert(const void *a)
{
	return pwj_alert(a);
}

static json_object *enc_conflict(const void *c)
{
	return pwj_conflict(c);
}

json_object *ctl_cmd_alerts(struct ctl_cmd_ctx *ctx, json_object *req)
{
	return history(&ctx->mon->alerts, req, "alerts", enc_alert);
}

json_object *ctl_cmd_conflicts(struct ctl_cmd_ctx *ctx, json_object *req)
{
	return history(&ctx->mon->conflicts, req, "conflicts", enc_conflict);
}

/* A counter of the BPF side; null when its map cannot be read (0 without BPF). */
static json_object *bpf_counter(struct ctl_cmd_ctx *ctx, unsigned int idx)
{
	uint64_t v = 0;

	if (ctx->bpf && pwbpf_counter(ctx->bpf, idx, &v))
		return NULL;
	return json_object_new_int64((int64_t)v);
}

json_object *ctl_cmd_stats(struct ctl_cmd_ctx *ctx, json_object *req)
{
	/* by enum pw_event_type, as monitor_stats.events counts them */
	static const char *const names[] = {
		[PW_EV_BIND] = "bind",       [PW_EV_LISTEN] = "listen",
		[PW_EV_CONNECT] = "connect", [PW_EV_SOCKOPT] = "sockopt",
		[PW_EV_STATE] = "state",     [PW_EV_RELEASE] = "release",
	};
	struct pw_monitor *m = ctx->mon;
	json_object *o = ctl_ok(), *s = json_object_new_object();
	json_object *ev = json_object_new_object(), *hooks = json_object_new_array();
	json_object *kinds = json_object_new_object(), *kernel, *rings;
	_Static_assert(sizeof(names) / sizeof(names[0]) == PW_EV_RELEASE + 1 &&
			       sizeof(names) / sizeof(names[0]) ==
				       sizeof(m->stats.events) / sizeof(m->stats.events[0]),
		       "one name per event type monitor_stats.events counts");

	(void)req;
	json_object_object_add(s, "uptime_s",
			       json_object_new_int64((monitor_now() - ctx->start_ns) / 1000000000ULL));
	for (int i = PW_EV_BIND; i <= PW_EV_RELEASE; i++)
		json_object_object_add(ev, names[i], json_object_new_int64(m->stats.events[i]));
	json_object_object_add(s, "events", ev);
	json_object_object_add(s, "dropped", bpf_counter(ctx, PW_CNT_DROPPED));
	json_object_object_add(s, "filtered", bpf_counter(ctx, PW_CNT_FILTERED));
	json_object_object_add(s, "untracked", bpf_counter(ctx, PW_CNT_UNTRACKED));
	json_object_object_add(s, "short_records",
			       json_object_new_int64(ctx->bpf ? ctx->bpf->short_records : 0));
	rings = json_object_new_object();
	json_object_object_add(rings, "count", json_object_new_int64(ctx->bpf ? ctx->bpf->nrings : 0));
	json_object_object_add(rings, "bytes",
			       json_object_new_int64(ctx->bpf ? (int64_t)ctx->bpf->ring_bytes : 0));
	json_object_object_add(rings, "queued_max",
			       json_object_new_int64(ctx->bpf ? (int64_t)ctx->bpf->merge.queued_max : 0));
	json_object_object_add(rings, "behind",
			       json_object_new_int64(ctx->bpf ? (int64_t)ctx->bpf->merge_behind : 0));
	json_object_object_add(rings, "late",
			       json_object_new_int64(ctx->bpf ? (int64_t)ctx->bpf->merge_late : 0));
	json_object_object_add(s, "rings", rings);
	json_object_object_add(s, "table_size", json_object_new_int64(table_size(m->table)));
	json_object_object_add(s, "bind_buckets", json_object_new_int64((int64_t)m->tbs.n));
	json_object_object_add(s, "bind_buckets_over", json_object_new_int64((int64_t)m->tbs.over));
	json_object_object_add(s, "netns", json_object_new_int64(m->stats.netns));
	json_object_object_add(s, "reconciliations", json_object_new_int64(m->stats.reconciliations));
	json_object_object_add(s, "reconcile_added", json_object_new_int64(m->stats.reconcile_added));
	json_object_object_add(s, "reconcile_removed",
			       json_object_new_int64(m->stats.reconcile_removed));
	json_object_object_add(s, "last_reconcile_ms",
			       json_object_new_int64(m->stats.last_reconcile_ms));
	for (int i = 0; ctx->bpf && i < ctx->bpf->nhooks; i++)
		json_object_array_add(hooks, json_object_new_string(ctx->bpf->hooks[i]));
	json_object_object_add(s, "hooks", hooks);
	kernel = json_object_new_object();
	json_object_object_add(kernel, "udp_bind_walk",
			       json_object_new_string(rules_udp_walk_name(m->kb.udp_walk)));
	json_object_object_add(kernel, "diag_bound_inactive",
			       m->kb.diag_bound_inactive < 0 ?
				       NULL :
				       json_object_new_boolean(m->kb.diag_bound_inactive));
	json_object_object_add(kernel, "tcp_mapped_any_unseen",
			       m->kb.tcp_mapped_any_unseen < 0 ?
				       NULL :
				       json_object_new_boolean(m->kb.tcp_mapped_any_unseen));
	json_object_object_add(kernel, "reuseport_uid",
			       json_object_new_string(rules_reuseport_uid_name(m->kb.reuseport_uid)));
	{
		json_object *dev = json_object_new_array(), *uns = json_object_new_array();
		unsigned int deviate = (m->kb.tcp_bhash2_meets ^ RULES_B2_FIXED) &
				       ~m->kb.tcp_bhash2_unsure;

		for (unsigned int b = 1; b <= RULES_B2_TW; b <<= 1) {
			if (deviate & b)
				json_object_array_add(dev, json_object_new_string(rules_b2_name(b)));
			if (m->kb.tcp_bhash2_unsure & b)
				json_object_array_add(uns, json_object_new_string(rules_b2_name(b)));
		}
		json_object_object_add(kernel, "tcp_bhash2_deviate", dev);
		json_object_object_add(kernel, "tcp_bhash2_unsure", uns);
	}
	json_object_object_add(kernel, "fd_to_socket",
			       ctx->bpf ? json_object_new_string(ctx->bpf->fd_read) : NULL);
	json_object_object_add(s, "kernel", kernel);
	json_object_object_add(s, "alerts", json_object_new_int64(m->stats.alerts));
	for (int k = RULES_KIND_NONE + 1; k < RULES_KIND_COUNT; k++)
		json_object_object_add(kinds, rules_alert_kind_name((enum rules_alert_kind)k),
				       json_object_new_int64(m->alerts_by_kind[k]));
	json_object_object_add(s, "alerts_by_kind", kinds);
	json_object_object_add(s, "alerts_silenced", json_object_new_int64(m->stats.alerts_silenced));
	json_object_object_add(s, "alerts_folded", json_object_new_int64(m->stats.alerts_folded));
	json_object_object_add(s, "conflicts", json_object_new_int64(m->stats.conflicts));
	json_object_object_add(s, "conflicts_ignored",
			       json_object_new_int64(m->stats.conflicts_ignored));
	json_object_object_add(s, "clients", json_object_new_int64(ctx->nclients));
	if (ctx->sklookup) {
		json_object *sk = json_object_new_object();

		json_object_object_add(sk, "links", json_object_new_int64(ctx->sklookup->n));
		json_object_object_add(sk, "found", json_object_new_int64(ctx->sklookup->found));
		json_object_object_add(sk, "scans", json_object_new_int64(ctx->sklookup->scans));
		json_object_object_add(sk, "error",
				       ctx->sklookup->last_err ?
					       json_object_new_string(strerror(-ctx->sklookup->last_err)) :
					       NULL);
		json_object_object_add(s, "sk_lookup", sk);
	}
	if (ctx->nat)
		json_object_object_add(s, "nat", ctl_nat_stats(ctx->nat));
	if (ctx->sniffers) {
		json_object *sn = json_object_new_object();

		json_object_object_add(sn, "count", json_object_new_int64((int64_t)ctx->sniffers->n));
		json_object_object_add(sn, "found",
				       json_object_new_int64((int64_t)ctx->sniffers->found));
		json_object_object_add(sn, "not_kept",
				       json_object_new_int64((int64_t)ctx->sniffers->not_kept));
		json_object_object_add(sn, "read_errors",
				       json_object_new_int64((int64_t)ctx->sniffers->read_errors));
		json_object_object_add(s, "sniffers", sn);
	}
	if (ctx->freebind) {
		json_object *fb = json_object_new_object();

		json_object_object_add(fb, "pending", json_object_new_int64((int64_t)ctx->freebind->n));
		json_object_object_add(fb, "seen", json_object_new_int64((int64_t)ctx->freebind->seen));
		json_object_object_add(fb, "reported",
				       json_object_new_int64((int64_t)ctx->freebind->reported));
		json_object_object_add(fb, "not_kept",
				       json_object_new_int64((int64_t)ctx->freebind->not_kept));
		json_object_object_add(s, "freebind", fb);
	}
	if (ctx->ctl_stats) {
		json_object *cs = json_object_new_object();

		json_object_object_add(cs, "clients", json_object_new_int64(ctx->nclients));
		json_object_object_add(cs, "requests",
				       json_object_new_int64(ctx->ctl_stats->requests));
		json_object_object_add(cs, "refused", json_object_new_int64(ctx->ctl_stats->refused));
		json_object_object_add(cs, "dropped_slow",
				       json_object_new_int64(ctx->ctl_stats->dropped_slow));
		json_object_object_add(cs, "idle_closed",
				       json_object_new_int64(ctx->ctl_stats->idle_closed));
		json_object_object_add(s, "control", cs);
	}
	json_object_object_add(o, "stats", s);
	return o;
}

/* The diversions in force: the sk_lookup links of the last scan (docs/protocol.md). */
json_object *ctl_cmd_diversions(struct ctl_cmd_ctx *ctx, json_object *req)
{
	json_object *o = ctl_ok(), *v = json_object_new_array();
	char t[32];

	(void)req;
	for (size_t i = 0; ctx->sklookup && i < ctx->sklookup->n; i++) {
		const struct sklookup_link *l = &ctx->sklookup->links[i];
		json_object *d = json_object_new_object();
		const struct pw_owner *w = &l->owner;

		json_object_object_add(d, "type", json_object_new_string("sk_lookup"));
		json_object_object_add(d, "netns", json_object_new_int64(l->netns));
		json_object_object_add(d, "link_id", json_object_new_int64(l->link_id));
		json_object_object_add(d, "prog_id", json_object_new_int64(l->prog_id));
		json_object_object_add(d, "prog_name", pwj_text(l->prog_name));
		json_object_object_add(d, "since",
				       json_object_new_string(pw_time_rfc3339(l->first_ns, t)));
		json_object_object_add(d, "alert_id",
				       l->alert_id ? json_object_new_int64(l->alert_id) : NULL);
		json_object_object_add(d, "pid", w->pid ? json_object_new_int64(w->pid) : NULL);
		json_object_object_add(d, "comm", w->pid ? pwj_text(w->comm) : NULL);
		json_object_object_add(d, "uid", w->pid ? json_object_new_int64(w->uid) : NULL);
		json_object_object_add(d, "exe", w->pid ? pwj_text(pw_owner_exe(w)) : NULL);
		json_object_array_add(v, d);
	}
	if (ctx->nat)
		ctl_nat_diversions(ctx->nat, v);
	json_object_object_add(o, "diversions", v);
	return o;
}

json_object *ctl_cmd_subscribe(struct ctl_cmd_ctx *ctx, json_object *req)
{
	json_object *o = ctl_ok();

	(void)req;
	ctx->subscribe = 1;
	json_object_object_add(o, "subscribed", json_object_new_boolean(1));
	return o;
}

/*
 * Re-read the configuration file, as SIGHUP does. It changes the daemon,
 * so only root may ask: members of the socket's group can query, not
 * reconfigure (the peer's uid is SO_PEERCRED, which the client cannot forge).
 */
json_object *ctl_cmd_reload(struct ctl_cmd_ctx *ctx, json_object *req)
{
	char msg[600];
	json_object *o;

	(void)req;
	if (ctx->peer_uid != 0) {
		snprintf(msg, sizeof(msg),
			 "permission denied: reload is reserved to root (your uid is %ld)",
			 ctx->peer_uid == (uint32_t)-1 ? -1L : (long)ctx->peer_uid);
		return ctl_error(msg);
	}
	if (!ctx->reload)
		return ctl_error("this daemon cannot reload its configuration");
	if (ctx->reload(ctx->reload_arg, msg, sizeof(msg)))
		return ctl_error(msg);
	o = ctl_ok();
	json_object_object_add(o, "message", pwj_text(msg));
	return o;
}

/* The ports takeover protection keeps (hold.h), by deadline slot order. */
static json_object *holds_json(const struct pw_holds *t)
{
	json_object *arr = json_object_new_array();
	char since[40], until[40];

	for (size_t i = 0; t->n && i < HOLD_SLOTS; i++) {
		const struct pw_hold *h = &t->slot[i];
		json_object *j;

		if (!h->protocol)
			continue;
		j = json_object_new_object();
		json_object_object_add(j, "netns", json_object_new_int64(h->netns));
		json_object_object_add(j, "proto", json_object_new_string(
							   h->protocol == IPPROTO_TCP ? "tcp" : "udp"));
		json_object_object_add(j, "port", json_object_new_int(h->port));
		json_object_object_add(j, "since", json_object_new_string(
							   pw_time_rfc3339(h->since_ns, since)));
		json_object_object_add(j, "until", json_object_new_string(
							   pw_time_rfc3339(h->until_ns, until)));
		json_object_object_add(j, "protect_line",
				       h->line ? json_object_new_int64(h->line) : NULL);
		json_object_object_add(j, "refused", json_object_new_int64((int64_t)h->refused));
		json_object_object_add(j, "owner", pwj_socket(&h->gone));
		json_object_array_add(arr, j);
	}
	return arr;
}

/*
 * `protect`: the mode, portwatch's own programs, each rule with its counts,
 * and the ports takeover protection keeps.
 */
json_object *ctl_cmd_protect(struct ctl_cmd_ctx *ctx, json_object *req)
{
	const struct pw_monitor *m = ctx->mon;
	const struct pw_protect *p = m->cfg.protect;
	json_object *ok, *o = json_object_new_object(), *rules = json_object_new_array();
	json_object *progs = json_object_new_array();
	char text[600];

	(void)req;
	json_object_object_add(o, "mode", json_object_new_string(
						  protect_mode_name(p ? p->mode : PW_PROTECT_OFF)));
	for (int i = 0; i < 2; i++)
		if (m->protect_prog_ids[i])
			json_object_array_add(progs, json_object_new_int64(m->protect_prog_ids[i]));
	json_object_object_add(o, "enforcing", json_object_new_boolean(m->protect_prog_ids[0] != 0));
	json_object_object_add(o, "programs", progs);
	for (size_t i = 0; p && i < p->nrules; i++) {
		const struct pw_protect_rule *r = &p->rules[i];
		json_object *j = json_object_new_object();

		protect_rule_text(r, text, sizeof(text));
		json_object_object_add(j, "line", json_object_new_int64(r->line));
		json_object_object_add(j, "rule", json_object_new_string(text));
		json_object_object_add(j, "proto", json_object_new_string(
							   r->protocol == IPPROTO_TCP ? "tcp" : "udp"));
		json_object_object_add(j, "port_lo", json_object_new_int(r->port_lo));
		json_object_object_add(j, "port_hi", json_object_new_int(r->port_hi));
		json_object_object_add(j, "allowed", json_object_new_int64((int64_t)r->n.allowed));
		json_object_object_add(j, "refused", json_object_new_int64((int64_t)r->n.refused));
		json_object_object_add(j, "alerted", json_object_new_int64((int64_t)r->n.alerted));
		json_object_array_add(rules, j);
	}
	json_object_object_add(o, "rules", rules);
	if (p)
		protect_takeover_text(p, text, sizeof(text));
	json_object_object_add(o, "takeover", json_object_new_string(p ? text : "protected"));
	json_object_object_add(o, "holds", holds_json(&m->holds));
	json_object_object_add(o, "holds_evicted", json_object_new_int64((int64_t)m->holds.evicted));
	json_object_object_add(o, "holds_not_kept",
			       json_object_new_int64((int64_t)m->holds.not_kept));
	ok = ctl_ok();
	json_object_object_add(ok, "protect", o);
	return ok;
}

static const struct {
	const char *name;
	json_object *(*fn)(struct ctl_cmd_ctx *ctx, json_object *req);
} commands[] = {
	{ "owners", ctl_cmd_owners },	{ "alerts", ctl_cmd_alerts },
	{ "conflicts", ctl_cmd_conflicts }, { "why", ctl_cmd_why },
	{ "check", ctl_cmd_check },	{ "stats", ctl_cmd_stats },
	{ "subscribe", ctl_cmd_subscribe }, { "reload", ctl_cmd_reload },
	{ "protect", ctl_cmd_protect },
	{ "diversions", ctl_cmd_diversions },
};

/*
 * Does the object at the top of text name a member twice? json-c keeps
 * the last of duplicate keys and offers no hook to see the others
 * (json_tokener in 0.16), so a request such as
 * {"cmd":"stats","cmd":"reload"} would silently run reload. This runs
 * only over text json-c has already accepted as one object with nunique
 * distinct members, so it needs to follow strings (their escapes) and
 * nesting, no more: a key is a string at depth 1 followed by ':'. The
 * keys are counted as written; a key written twice the same way is
 * copied into name (as written, at most namelen - 1 bytes; "" when the
 * two spellings differ, e.g. by an escape).
 */
static int duplicate_key(const char *text, size_t len, size_t nunique, char *name,
			 size_t namelen)
{
	struct {
		size_t off, len;
	} seen[64];
	size_t keys = 0, str_off = 0, str_len = 0;
	int depth = 0, in_string = 0, string_at_1 = 0;

	name[0] = '\0';
	for (size_t i = 0; i < len; i++) {
		char ch = text[i];

		if (in_string) {
			if (ch == '\\') {
				i++;
			} else if (ch == '"') {
				in_string = 0;
				str_len = i - str_off;
			}
			continue;
		}
		switch (ch) {
		case '"':
			in_string = 1;
			string_at_1 = depth == 1;
			str_off = i + 1;
			continue;
		case '{':
		case '[':
			depth++;
			break;
		case '}':
		case ']':
			depth--;
			break;
		case ':':
			if (depth != 1 || !string_at_1)
				break;
			for (size_t k = 0; k < keys && k < 64 && !name[0]; k++)
				if (seen[k].len == str_len && !memcmp(text + seen[k].off, text + str_off,
								      str_len))
					snprintf(name, namelen, "%.*s", (int)str_len, text + str_off);
			if (keys < 64) {
				seen[keys].off = str_off;
				seen[keys].len = str_len;
			}
			keys++;
			break;
		case ' ':
		case '\t':
		case '\r':
		case '\n':
			continue; /* between a key and its ':' */
		default:
			break;
		}
		string_at_1 = 0;
	}
	return keys != nunique;
}

json_object *ctl_cmd_dispatch(struct ctl_cmd_ctx *ctx, const char *line, size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	json_object *req, *v, *resp;
	const char *cmd;
	char err[200];

	if (!tok)
		return ctl_error("out of memory");
	req = json_tokener_parse_ex(tok, line, (int)len);
	if (!req && json_tokener_get_error(tok) == json_tokener_continue) {
		json_tokener_free(tok);
		return ctl_error("malformed JSON: incomplete request");
	}
	if (!req || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) < len) {
		/* trailing bytes after one object (other than blanks) are an error too */
		size_t end = json_tokener_get_parse_end(tok);
		int trailing = 0;

		for (size_t i = end; req && i < len; i++)
			trailing |= line[i] != ' ' && line[i] != '\t' && line[i] != '\r';
		if (!req || trailing || json_tokener_get_error(tok) != json_tokener_success) {
			snprintf(err, sizeof(err), "malformed JSON: %s",
				 req ? "trailing data after the request" :
				       json_tokener_error_desc(json_tokener_get_error(tok)));
			json_object_put(req);
			json_tokener_free(tok);
			return ctl_error(err);
		}
	}
	json_tokener_free(tok);
	if (!json_object_is_type(req, json_type_object)) {
		json_object_put(req);
		return ctl_error("a request must be a JSON object");
	}
	if (duplicate_key(line, len, (size_t)json_object_object_length(req), err, 48)) {
		char msg[128];

		snprintf(msg, sizeof(msg), "malformed request: duplicate key%s%s%s (a member may "
			 "appear once)", err[0] ? " \"" : "", err, err[0] ? "\"" : "");
		json_object_put(req);
		return ctl_error(msg);
	}
	if (json_object_object_get_ex(req, "version", &v) &&
	    (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) != PW_PROTO_VERSION)) {
		json_object_put(req);
		return ctl_error("unsupported protocol version (this daemon speaks version 1)");
	}
	if (!json_object_object_get_ex(req, "cmd", &v) || !json_object_is_type(v, json_type_string)) {
		json_object_put(req);
		return ctl_error("missing \"cmd\" string");
	}
	cmd = json_object_get_string(v);
	resp = NULL;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(cmd, commands[i].name))
			resp = commands[i].fn(ctx, req);
	if (!resp) {
		snprintf(err, sizeof(err), "unknown command \"%.40s\" (owners, alerts, conflicts, why, "
					   "check, stats, subscribe, reload)", cmd);
		resp = ctl_error(err);
	}
	json_object_put(req);
	return resp;
}
