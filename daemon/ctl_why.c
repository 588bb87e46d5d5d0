// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ctl_why.c - the `why` command: who holds a port, in what state and with
 * which flags, the TIME_WAIT entries the kernel still has on it, and what
 * that means for the next bind (rules.h states the rules followed).
 *
 * One answer, one state: the holders of the namespace asked about, its
 * TIME_WAIT entries and the prediction all come from the same views
 * (predict.h, one namespace walk), and nothing changes the table while
 * the request is served.
 */
#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "ctl_cmd.h"
#include "ctl_nat.h"
#include "ctl_req.h"
#include "expected.h"
#include "predict.h"
#include "protect.h"
#include "pwjson.h"
#include "pwname.h"
#include "report.h"
#include "ring.h"
#include "snap.h"

#define WHY_HISTORY 20

struct why {
	struct ctl_filter f; /* port required; addr, proto, netns optional */
	int64_t port;
	int proto; /* 0 = both */
	uint32_t view_netns; /* holders of this netns come from its views */
	json_object *holders, *time_wait;
	size_t nlisten, nbound, ntw, nholders;
	char text[2048];
	size_t len;
};

static void say(struct why *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct why *w, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (w->len >= sizeof(w->text) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(w->text + w->len, sizeof(w->text) - w->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		w->len += (size_t)n < sizeof(w->text) - w->len ? (size_t)n : sizeof(w->text) - 1 - w->len;
}

static int proto_ok(const struct why *w, uint8_t proto)
{
	return !w->proto || w->proto == proto;
}

static int why_holder(struct pw_entry *e, void *arg)
{
	struct why *w = arg;
	char addr[PW_ADDRSTRLEN];

	if (!ctl_filter_match(&w->f, e))
		return 0;
	json_object_array_add(w->holders, pwj_socket(e));
	if (e->sk.protocol == IPPROTO_TCP && e->sk.state == PW_TCP_LISTEN)
		w->nlisten++;
	else
		w->nbound++;
	if (w->nholders++ >= 4)
		return 0;
	if (e->owner.pid)
		say(w, "%s%s pid %u (%s, uid %u) holds", w->nholders > 1 ? " " : "",
		    w->nholders > 1 ? "Also," : "", e->owner.pid,
		    e->owner.comm[0] ? e->owner.comm : "?", e->owner.uid);
	else
		say(w, "%s%s socket created by uid %u that portwatch has no process for yet holds",
		    w->nholders > 1 ? " " : "", w->nholders > 1 ? "Also, a" : "A", e->sk.sk_uid);
	say(w, " %s%s%s:%u/%s (%s%s%s%s).", e->sk.family == AF_INET6 ? "[" : "",
	    pw_addr_ntop(e->sk.family, e->sk.laddr, addr), e->sk.family == AF_INET6 ? "]" : "",
	    e->sk.lport, pw_proto_name(e->sk.protocol), pw_state_name(&e->sk),
	    e->sk.reuseaddr ? ", SO_REUSEADDR" : "", e->sk.reuseport ? ", SO_REUSEPORT" : "",
	    e->sk.v6only ? ", IPV6_V6ONLY" : "");
	return 0;
}

/*
 * A socket of the namespace asked about, as its view (predict_view())
 * shows it: a table entry the kernel confirms is a holder with its owner;
 * a TIME_WAIT entry goes to "time_wait"; a UDP socket only the kernel
 * knows is one that sendto()/sendmsg() autobound (inet_send_prepare() ->
 * inet_autobind()), which the kernel side does not report until the next
 * reconciliation adopts it: it holds the port like any other. (TCP
 * sockets the table lacks are accepted connections and clients, which
 * the answer leaves out.)
 */
static void why_view_socket(struct why *w, const struct pw_holder *h)
{
	struct pw_entry e = { .sk = h->sk };

	if (h->sk.lport != w->port || !proto_ok(w, h->sk.protocol))
		return;
	if (h->e) {
		e = *h->e;
		e.sk = h->sk;
		why_holder(&e, w);
	} else if (h->sk.protocol == IPPROTO_TCP && h->sk.state == PW_TCP_TIME_WAIT) {
		w->ntw++;
		json_object_array_add(w->time_wait, pwj_socket(&e));
	} else if (h->sk.protocol == IPPROTO_UDP) {
		why_holder(&e, w);
	}
}

/* Table entries of the namespaces other than the one the views show. */
static int why_other_netns(struct pw_entry *e, void *arg)
{
	struct why *w = arg;

	if (e->sk.netns == w->view_netns)
		return 0;
	return why_holder(e, w);
}

/* The last WHY_HISTORY items of a ring that concern the port (and netns when given). */
static json_object *about_port(const struct pw_ring *r, const struct ctl_filter *f,
			       const struct pw_sock *(*sock_of)(const void *),
			       json_object *(*enc)(const void *), const void **last)
{
	json_object *arr = json_object_new_array();
	const void *hits[WHY_HISTORY];
	size_t n = 0;

	*last = NULL;
	for (uint64_t id = r->next_id; id-- > ring_first_id(r) && n < WHY_HISTORY;) {
		const void *item = ring_get(r, id);
		const struct pw_sock *sk = sock_of(item);

		if (sk->lport == f->port && (!f->proto || sk->protocol == f->proto) &&
		    (f->netns <= 0 || sk->netns == f->netns))
			hits[n++] = item;
	}
	if (n)
		*last = hits[0];
	while (n--)
		json_object_array_add(arr, enc(hits[n]));
	return arr;
}

static const struct pw_sock *alert_sock(const void *a)
{
	return &((const struct pw_alert *)a)->contender.sk;
}

static const struct pw_sock *conflict_sock(const void *c)
{
	return &((const struct pw_conflict *)c)->contender.sk;
}

static json_object *enc_alert(const void *a)
{
	return pwj_alert(a);
}

static json_object *enc_conflict(const void *c)
{
	return pwj_conflict(c);
}

/*
 * The last conflict was portwatch's own refusal (rule protected): say by
 * what (the protect rule with its file:line and text, or takeover
 * protection's hold), whose bind it was and why that owner did not match,
 * and what would let it through. The rule is looked up by line in the
 * rules in force (NULL when a reload has dropped it). Returns the
 * `protect_rule` member of the answer, or NULL (JSON null).
 */
static json_object *why_protected(struct why *w, const struct pw_monitor *m,
				  const struct pw_conflict *lc)
{
	const struct pw_protect *p = m->cfg.protect;
	const struct pw_owner *o = &lc->contender.owner;
	const struct pw_protect_rule *r = NULL;
	char who[PW_EXE_LEN + 200], text[600], t[40];
	json_object *j;

	snprintf(who, sizeof(who), "pid %u (%s, uid %u, %s%s%s)", o->pid,
		 o->comm[0] ? o->comm : "?", o->uid,
		 *pw_owner_exe(o) ? pw_owner_exe(o) : "executable unknown",
		 *pw_owner_unit(o) ? ", unit " : "", pw_owner_unit(o));
	for (size_t i = 0; p && lc->protect_line && i < p->nrules && !r; i++)
		if (p->rules[i].line == lc->protect_line)
			r = &p->rules[i];
	if (lc->held_until_ns && lc->nholders) {
		const struct pw_owner *h = &lc->holders[0].owner;

		say(w, " Last refusal: %s was refused with EPERM at %s by takeover protection "
		       "([protect] takeover): the port's owner, uid %u running %s, went away, "
		       "and until %s only that owner may bind it again; %s is not that owner "
		       "(another uid or executable). What would let it through: the owner's "
		       "restart binds at once; anybody else can bind once the hold ends "
		       "(takeover_window, portwatchctl protect lists the holds).",
		    who, pw_time_rfc3339(lc->time_ns, t), h->uid,
		    *pw_owner_exe(h) ? pw_owner_exe(h) : "?",
		    pw_time_rfc3339(lc->held_until_ns, text), who);
		return NULL;
	}
	if (!r) {
		say(w, " Last refusal: %s was refused with EPERM by a protect rule (line %u) "
		       "that the configuration in force no longer has.", who, lc->protect_line);
		return NULL;
	}
	protect_rule_text(r, text, sizeof(text));
	say(w, " Last refusal: %s was refused with EPERM at %s by the protect rule \"%s\" "
	       "(%s:%u): only a caller matching one of its selectors may bind that address, "
	       "and this one matches none (its uid, executable%s and cgroup are not among "
	       "them). What would let it through: run the service as one of the rule's "
	       "owners, or add a selector for this one to the rule and reload (portwatchctl "
	       "reload); portwatchctl protect shows the rules.",
	    who, pw_time_rfc3339(lc->time_ns, t), text, p->path[0] ? p->path : "portwatch.conf",
	    r->line, *pw_owner_unit(o) ? ", unit" : "");
	j = json_object_new_object();
	json_object_object_add(j, "line", json_object_new_int64(r->line));
	json_object_object_add(j, "file", pwj_text(p->path));
	json_object_object_add(j, "rule", json_object_new_string(text));
	return j;
}

json_object *ctl_cmd_why(struct ctl_cmd_ctx *ctx, json_object *req)
{
	struct pw_monitor *m = ctx->mon;
	struct why w = { .port = -1 };
	json_object *conflicts, *alerts, *ok, *diverted = NULL, *protect_rule = NULL;
	const void *last_conflict, *last_alert;
	struct pw_prediction p;
	struct pw_view other = { 0 };
	int have_p = 0;
	char abuf[PW_ADDRSTRLEN], tbuf[32];
	const struct expected_owner *xo;
	const char *proto;
	uint64_t now = monitor_now();
	char err[160];

	if (ctl_filter_parse(req, &w.f, err, sizeof(err)))
		return ctl_error(err);
	if (w.f.port < 1)
		return ctl_error("\"why\" needs \"port\": an integer from 1 to 65535");
	w.port = w.f.port;
	w.proto = w.f.proto;
	proto = !w.proto ? NULL : w.proto == IPPROTO_TCP ? "tcp" : "udp";
	w.view_netns = w.f.netns > 0 ? (uint32_t)w.f.netns : m->snap ? snap_self_netns(m->snap) : 0;

	/*
	 * What a new socket without options would meet (the rule engine, as
	 * check), and the views of the port in the namespace: the
	 * prediction's protocol, and the other one when none was asked.
	 */
	if (w.view_netns) {
		struct rules_query q = { .op = RULES_OP_BIND };

		q.c.protocol = w.proto ? (uint8_t)w.proto : IPPROTO_TCP;
		q.c.family = w.f.has_addr ? w.f.family : AF_INET;
		if (w.f.has_addr)
			memcpy(q.c.laddr, w.f.addr, sizeof(q.c.laddr));
		q.c.v6only = q.c.family == AF_INET6 && !pw_addr_is_any(AF_INET6, q.c.laddr) &&
			     !pw_addr_is_v4mapped(q.c.laddr);
		q.c.lport = (uint16_t)w.port;
		q.c.netns = w.view_netns;
		q.c.state = PW_TCP_CLOSE;
		if (predict(m, &q, now, &p))
			return ctl_error("out of memory");
		have_p = 1;
		if (!w.proto &&
		    predict_view(m, w.view_netns, IPPROTO_UDP, (int)w.port, now, &other)) {
			predict_free(&p);
			predict_view_free(&other);
			return ctl_error("out of memory");
		}
	}

	w.holders = json_object_new_array();
	w.time_wait = json_object_new_array();
	if (have_p) {
		for (size_t i = 0; i < p.view.n; i++)
			why_view_socket(&w, &p.view.h[i]);
		for (size_t i = 0; i < other.n; i++)
			why_view_socket(&w, &other.h[i]);
	}
	if (w.f.netns <= 0)
		table_foreach(m->table, why_other_netns, &w);
	else if (!have_p)
		for (int pr = 0; pr < 2; pr++)
			table_foreach_port(m->table, w.f.netns, pr ? IPPROTO_UDP : IPPROTO_TCP,
					   w.port, why_holder, &w);
	conflicts = about_port(&m->conflicts, &w.f, conflict_sock, enc_conflict, &last_conflict);
	alerts = about_port(&m->alerts, &w.f, alert_sock, enc_alert, &last_alert);

	if (!w.nholders && !w.ntw)
		say(&w, "Nothing holds port %lld%s%s: no socket would refuse a bind there.",
		    (long long)w.port, proto ? "/" : "", proto ? proto : "");
	if (w.nholders > 4)
		say(&w, " (%zu sockets in all.)", w.nholders);
	if (ctx->nat) {
		char text[1024];

		diverted = ctl_nat_why(ctx->nat, m->table, &w.f, w.view_netns, text, sizeof(text));
		if (text[0])
			say(&w, "%s", text);
	}
	if (w.nlisten)
		say(&w, " A listening socket refuses every overlapping bind, SO_REUSEADDR or not; "
			"only sockets with SO_REUSEPORT created by the same uid may join it.");
	else if (w.nbound)
		say(&w, " Sockets that are bound but not listening share the address only when both "
			"set SO_REUSEADDR (or both SO_REUSEPORT, created by one uid).");
	if (w.ntw)
		say(&w, " %zu TIME_WAIT entr%s hold%s the port until %s expire (60 s): a new socket "
			"binds over them only when the old and the new socket both set SO_REUSEADDR.",
		    w.ntw, w.ntw == 1 ? "y" : "ies", w.ntw == 1 ? "s" : "", w.ntw == 1 ? "it" : "they");
	if (have_p && !p.r.ok)
		say(&w, " A new %s socket without options bound to %s%s%s:%lld now would fail (rule %s). %s",
		    proto ? proto : "tcp", w.f.has_addr && w.f.family == AF_INET6 ? "[" : "",
		    w.f.has_addr ? pw_addr_ntop(w.f.family, w.f.addr, abuf) : "0.0.0.0",
		    w.f.has_addr && w.f.family == AF_INET6 ? "]" : "", (long long)w.port,
		    rules_rule_name(p.r.rule), p.advice);
	xo = w.view_netns ? expected_get(m->expected, w.view_netns, IPPROTO_TCP, (uint16_t)w.port) :
			    NULL;
	if (xo && (!w.proto || w.proto == IPPROTO_TCP))
		say(&w, " Its expected owner is uid %u (%s, %s), whose listener left at %s: when that "
			"owner is refused the port, whoever holds it squatted it.",
		    xo->uid, xo->comm[0] ? xo->comm : "?", xo->exe ? expected_exe(xo) : "executable unknown",
		    pw_time_rfc3339(xo->gone_ns, tbuf));
	else
		xo = NULL;
	if (last_conflict && ((const struct pw_conflict *)last_conflict)->rule ==
				     RULES_RULE_PROTECTED) {
		protect_rule = why_protected(&w, m, last_conflict);
	} else if (last_conflict) {
		const struct pw_conflict *lc = last_conflict;
		struct rules_query lq = { .c = lc->contender.sk, .op = lc->op };
		char advice[PW_MSG_LEN];

		rules_advice(advice, sizeof(advice), lc->rule, &lq,
			     lc->nholders ? &lc->holders[0].sk : NULL, -1, NULL);
		say(&w, " Last conflict: %s What would have let it through: %s", lc->explanation,
		    advice);
	}
	if (last_alert)
		say(&w, " Last alert: %s", ((const struct pw_alert *)last_alert)->message);

	ok = ctl_ok();
	json_object_object_add(ok, "port", json_object_new_int((int)w.port));
	json_object_object_add(ok, "holders", w.holders);
	json_object_object_add(ok, "time_wait", w.time_wait);
	json_object_object_add(ok, "conflicts", conflicts);
	json_object_object_add(ok, "alerts", alerts);
	json_object_object_add(ok, "explanation", pwj_text(w.text + (w.text[0] == ' ')));
	if (diverted)
		json_object_object_add(ok, "diverted", diverted);
	if (xo) {
		json_object *x = json_object_new_object();

		json_object_object_add(x, "uid", json_object_new_int64(xo->uid));
		json_object_object_add(x, "comm", pwj_text(xo->comm));
		json_object_object_add(x, "exe", pwj_text(expected_exe(xo)));
		json_object_object_add(x, "gone",
				       json_object_new_string(pw_time_rfc3339(xo->gone_ns, tbuf)));
		json_object_object_add(ok, "expected_owner", x);
	} else {
		json_object_object_add(ok, "expected_owner", NULL);
	}
	json_object_object_add(ok, "protect_rule", protect_rule);
	json_object_object_add(ok, "prediction", have_p ? ctl_prediction_json(&p) : NULL);
	json_object_object_add(ok, "advice", have_p ? json_object_new_string(p.advice) : NULL);
	if (have_p)
		predict_free(&p);
	predict_view_free(&other);
	return ok;
}
