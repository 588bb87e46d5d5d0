// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* natdiv.c - diversions by nftables rules, tproxy targets, Port Shadow; see natdiv.h. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "diag.h"
#include "ifaddr.h"
#include "log.h"
#include "natdiv.h"
#include "pwname.h"

#define NAT_SCAN_PORTS 1024 /* a rule covering more ports is matched by a walk of the table */
#define NAT_SHADOW_LIST 8   /* exposed listeners named in an advisory's message */

void natdiv_set_rules(struct natdiv_ns *s, struct natrule_set *rs)
{
	natrule_set_free(&s->rules);
	free(s->tp);
	s->tp = rs->n ? calloc(rs->n, sizeof(*s->tp)) : NULL; /* NULL: not looked up */
	s->rules = *rs;
	memset(rs, 0, sizeof(*rs));
}

void natdiv_ns_free(struct natdiv_ns *s)
{
	natrule_set_free(&s->rules);
	free(s->tp);
	s->tp = NULL;
}

void natdiv_free(struct natdiv *n)
{
	free(n->div);
	n->div = NULL;
	n->ndiv = n->capdiv = 0;
}


static int same_rule(const struct natrule *a, const struct natrule *b)
{
	return a->handle == b->handle && !strcmp(a->chain, b->chain) &&
	       !strcmp(a->table, b->table) && !strcmp(a->family, b->family);
}

/* Inside the namespace: open a sock_diag socket (diag_open()). */
static int diag_open_fn(void *arg)
{
	int *fd = arg;

	*fd = diag_open();
	return *fd < 0 ? *fd : 0;
}

int natdiv_target_transparent(struct natdiv *n, const struct pw_entry *e)
{
	uint8_t flags = 0;
	int fd = -1, err;

	if (pw_sock_transparent(&e->sk))
		return 1; /* as the events and snapshots recorded it */
	/* not recorded as set: set later than seen, or a sock_diag record (flags_unknown) */
	err = snap_netns_call(n->snap, e->sk.netns, diag_open_fn, &fd);
	if (err)
		return err;
	err = diag_sockopt(fd, e->sk.protocol, e->sk.lport, e->sk.inode, &flags);
	if (err <= 0)
		return err ? err : -ENOENT;
	return !!(flags & DIAG_SOCKOPT_TRANSPARENT);
}

static int is_holder(const struct pw_entry *e)
{
	if (e->sk.protocol == IPPROTO_TCP)
		return e->sk.state == PW_TCP_LISTEN;
	return e->sk.protocol == IPPROTO_UDP && e->sk.state != PW_TCP_ESTABLISHED;
}

/*
 * Does a socket bound to e's address get packets that r sends to its
 * target address? Without one (redirect, dnat to a port) the packet stays
 * on a local address: any. With one: the same address (an IPv4 one also
 * as its v4-mapped form), or a wildcard socket when the target is a
 * loopback address. (A wildcard socket also gets a target that is another
 * local address; which addresses are local is not looked up: such a
 * target is named "no socket of this namespace".)
 */
static int receives(const struct natrule *r, const struct pw_entry *e)
{
	static const uint8_t loop6[16] = { [15] = 1 };
	const struct pw_sock *sk = &e->sk;
	int loopback;

	if (!r->to_has_addr)
		return 1;
	if (sk->family == r->to_family && pw_addr_equal(sk->family, sk->laddr, r->to_addr))
		return 1;
	if (r->to_family == AF_INET && sk->family == AF_INET6 && pw_addr_is_v4mapped(sk->laddr) &&
	    !memcmp(sk->laddr + 12, r->to_addr, 4))
		return 1;
	loopback = (r->to_family == AF_INET && r->to_addr[0] == 127) ||
		   (r->to_family == AF_INET6 && !memcmp(r->to_addr, loop6, 16));
	return loopback && pw_addr_is_any(sk->family, sk->laddr);
}

/* The socket that receives what r sends for listener l: table_foreach_port() callback. */
struct target_find {
	const struct natrule *r;
	const struct pw_entry *l;
	struct pw_entry *found;
};

static int target_fn(struct pw_entry *e, void *arg)
{
	struct target_find *t = arg;

	if (!is_holder(e) || e == t->l || !receives(t->r, e))
		return 0;
	t->found = e;
	return 1;
}

/* Inside a namespace: is the dnat target address one of its own (ifaddr_check())? */
struct local_call {
	const struct natrule *r;
	enum ifaddr_verdict verdict;
};

static int local_fn(void *arg)
{
	struct local_call *c = arg;

	return ifaddr_check(c->r->to_family, c->r->to_addr, 0, &c->verdict, NULL, 0);
}

/* A socket of another namespace that a dnat's target address reaches. */
struct remote_find {
	struct natdiv *n;
	const struct natrule *r;
	uint32_t netns;        /* the rule's: not this one */
	struct pw_entry *found;
};

static int remote_fn(struct pw_entry *e, void *arg)
{
	struct remote_find *f = arg;
	struct local_call c = { .r = f->r };

	if (e->sk.netns == f->netns || !is_holder(e))
		return 0;
	if (!receives(f->r, e)) {
		/* a wildcard socket gets it when the address is local to its namespace */
		if (!pw_addr_is_any(e->sk.family, e->sk.laddr) ||
		    snap_netns_call(f->n->snap, e->sk.netns, local_fn, &c) ||
		    c.verdict != IFADDR_OK)
			return 0;
	}
	f->found = e;
	return 1;
}

/*
 * The socket that gets what r sends for listener l: on the target port in
 * l's namespace, or, for a dnat to an address, in the namespace that has
 * that address (a container behind Docker's or kube-proxy's DNAT; one
 * bucket walk of the target port, and an address check per namespace
 * holding a wildcard socket on it). NULL when none.
 */
static struct pw_entry *find_target(struct natdiv *n, const struct natrule *r,
				    const struct pw_entry *l)
{
	struct target_find t = { .r = r, .l = l };
	struct remote_find f = { .n = n, .r = r, .netns = l->sk.netns };
	uint16_t port = natrule_target_port(r, l->sk.lport);

	if (r->action == NATRULE_XT)
		return NULL; /* its destination is not visible */
	table_foreach_port(n->mon->table, l->sk.netns, l->sk.protocol, port, target_fn, &t);
	if (t.found || r->action != NATRULE_DNAT || !r->to_has_addr)
		return t.found;
	table_foreach_lport(n->mon->table, l->sk.protocol, port, remote_fn, &f);
	return f.found;
}

/* The candidates of one re-match of a namespace: (rule, listener). */
struct cand {
	size_t rule;
	struct pw_entry *l;
};

struct match {
	struct natdiv *n;
	struct natdiv_ns *s;
	size_t rule;
	struct cand *v;
	size_t nv, cap;
	size_t *wide;  /* the rules matched by match_wide_fn(), nwide of them */
	size_t nwide;
	int full;      /* NAT_NS_MAX_PAIRS candidates: the walks stopped */
	int err;
};

/* Add the candidate (rule, e); 0, or 1 to stop: m->full (NAT_NS_MAX_PAIRS) or m->err (ENOMEM). */
static int add_cand(struct match *m, size_t rule, struct pw_entry *e)
{
	if (m->nv >= NAT_NS_MAX_PAIRS) {
		m->full = 1;
		return 1;
	}
	if (m->nv == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 16;
		struct cand *v = realloc(m->v, cap * sizeof(*v));

		if (!v) {
			m->err = -ENOMEM;
			return 1;
		}
		m->v = v;
		m->cap = cap;
	}
	m->v[m->nv].rule = rule;
	m->v[m->nv].l = e;
	m->nv++;
	return 0;
}

static int match_fn(struct pw_entry *e, void *arg)
{
	struct match *m = arg;

	if (e->sk.netns != m->s->netns || !is_holder(e) ||
	    !natrule_covers(&m->s->rules.rules[m->rule], &e->sk))
		return 0;
	return add_cand(m, m->rule, e);
}

/* The rules covering more than NAT_SCAN_PORTS ports, all in one walk of the table. */
static int match_wide_fn(struct pw_entry *e, void *arg)
{
	struct match *m = arg;

	if (e->sk.netns != m->s->netns || !is_holder(e))
		return 0;
	for (size_t i = 0; i < m->nwide; i++)
		if (natrule_covers(&m->s->rules.rules[m->wide[i]], &e->sk) &&
		    add_cand(m, m->wide[i], e))
			return 1;
	return 0;
}

static size_t span(const struct natrule_ports *p)
{
	size_t k = 0;

	if (p->any || p->neg)
		return 65536;
	for (size_t i = 0; i < p->n; i++)
		k += (size_t)p->r[i].hi - p->r[i].lo + 1;
	return k;
}

static void match_rule(struct match *m)
{
	const struct natrule *r = &m->s->rules.rules[m->rule];
	static const uint8_t protos[2] = { IPPROTO_TCP, IPPROTO_UDP };

	if (span(&r->dport) > NAT_SCAN_PORTS) {
		if (m->wide)
			m->wide[m->nwide++] = m->rule; /* walked once for all, after */
		else
			table_foreach(m->n->mon->table, match_fn, m);
		return;
	}
	for (size_t i = 0; i < r->dport.n && !m->err && !m->full; i++)
		for (uint32_t p = r->dport.r[i].lo; p <= r->dport.r[i].hi && !m->err && !m->full;
		     p++)
			for (int k = 0; k < 2; k++)
				table_foreach_port(m->n->mon->table, m->s->netns, protos[k],
						   (uint16_t)p, match_fn, m);
}

/*
 * The pair of rule r and a listener on l's address: by address, not by
 * socket, so that a service restarting under the rule (a new socket on the
 * same address within a tick) keeps its diversion and raises nothing new.
 */
static int div_is(const struct nat_diversion *d, uint32_t netns, const struct natrule *r,
		  const struct pw_entry *l)
{
	const struct pw_sock *a = &d->listener.sk;

	return d->netns == netns && a->lport == l->sk.lport && a->protocol == l->sk.protocol &&
	       a->family == l->sk.family && !memcmp(a->laddr, l->sk.laddr, sizeof(a->laddr)) &&
	       same_rule(&d->rule, r);
}

/*
 * The diversions of one namespace by (listener address, rule handle), for
 * one re-match: open addressing over indexes of n->div (+1; 0 empty).
 * Up to NAT_NS_MAX_PAIRS candidates are looked up against up to
 * NAT_MAX_DIV diversions each second, so not by a linear search.
 */
struct div_index {
	uint32_t *slot;
	size_t mask;
};

static size_t div_hash(const struct pw_sock *a, uint64_t handle)
{
	uint64_t h = (uint64_t)a->lport << 16 ^ (uint64_t)a->protocol << 8 ^ a->family;

	for (size_t i = 0; i < sizeof(a->laddr); i += 4) {
		uint32_t w;

		memcpy(&w, a->laddr + i, 4);
		h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
	}
	h = (h ^ handle) * 0x9e3779b97f4a7c15ULL;
	return (size_t)(h >> 32);
}

static void div_index_put(struct div_index *x, const struct natdiv *n, size_t i)
{
	size_t k = div_hash(&n->div[i].listener.sk, n->div[i].rule.handle) & x->mask;

	while (x->slot[k])
		k = (k + 1) & x->mask;
	x->slot[k] = (uint32_t)i + 1;
}

/* Index n's diversions of netns, with room for `more` added; -ENOMEM. */
static int div_index_make(struct div_index *x, const struct natdiv *n, uint32_t netns,
			  size_t more)
{
	size_t size = 16;

	while (size < 2 * (n->ndiv + more))
		size *= 2;
	x->slot = calloc(size, sizeof(*x->slot));
	x->mask = size - 1;
	if (!x->slot)
		return -ENOMEM;
	for (size_t i = 0; i < n->ndiv; i++)
		if (n->div[i].netns == netns)
			div_index_put(x, n, i);
	return 0;
}

static struct nat_diversion *div_find(struct natdiv *n, const struct div_index *x, uint32_t netns,
				      const struct natrule *r, const struct pw_entry *l)
{
	size_t k = div_hash(&l->sk, r->handle) & x->mask;

	for (; x->slot[k]; k = (k + 1) & x->mask)
		if (div_is(&n->div[x->slot[k] - 1], netns, r, l))
			return &n->div[x->slot[k] - 1];
	return NULL;
}

static void clear_div(struct natdiv *n, size_t i, const char *why, uint64_t now)
{
	struct nat_diversion *c = &n->cleared[n->ncleared++ % NAT_CLEARED];

	*c = n->div[i];
	c->cleared_ns = now;
	snprintf(c->cleared_why, sizeof(c->cleared_why), "%s", why);
	log_info("diversion cleared (%s): %s %s %s handle %llu no longer takes port %u/%s "
		 "in network namespace %u", why, c->rule.family, c->rule.table, c->rule.chain,
		 (unsigned long long)c->rule.handle, c->listener.sk.lport,
		 pw_proto_name(c->listener.sk.protocol), c->netns);
	n->div[i] = n->div[--n->ndiv];
}

void natdiv_message(char *buf, size_t len, const struct nat_diversion *d)
{
	char la[PW_ADDRSTRLEN], ta[PW_ADDRSTRLEN], to[PW_ADDRSTRLEN + 200];
	const struct natrule *r = &d->rule;
	const struct pw_entry *l = &d->listener, *t = &d->target;
	const char *origin = natrule_origin_name(r->origin);

	if (d->target_local && t->sk.netns != d->netns)
		snprintf(to, sizeof(to), "%s%s%s:%u, held by pid %u (%s, uid %u) in network "
			 "namespace %u", r->to_family == AF_INET6 ? "[" : "",
			 pw_addr_ntop(r->to_family, r->to_addr, ta),
			 r->to_family == AF_INET6 ? "]" : "", t->sk.lport, t->owner.pid,
			 t->owner.comm[0] ? t->owner.comm : "?", t->owner.uid, t->sk.netns);
	else if (d->target_local)
		snprintf(to, sizeof(to), "port %u, held by pid %u (%s, uid %u)%s", t->sk.lport,
			 t->owner.pid, t->owner.comm[0] ? t->owner.comm : "?", t->owner.uid,
			 r->action == NATRULE_TPROXY ? ", a transparent socket" : "");
	else if (r->action == NATRULE_XT)
		snprintf(to, sizeof(to), "where iptables-nft's %s target says (not visible "
			 "through libnftables)", r->xt_name);
	else if (r->to_has_addr)
		snprintf(to, sizeof(to), "%s%s%s:%u, no socket of this namespace", 
			 r->to_family == AF_INET6 ? "[" : "", pw_addr_ntop(r->to_family, r->to_addr,
									  ta),
			 r->to_family == AF_INET6 ? "]" : "", natrule_target_port(r, l->sk.lport));
	else
		snprintf(to, sizeof(to), "port %u, where nothing listens",
			 natrule_target_port(r, l->sk.lport));
	snprintf(buf, len,
		 "nat_redirect: rule \"%s\"%s (%s %s, chain %s, handle %llu%s%s) sends the %s "
		 "traffic for %s%s%s:%u/%s, where pid %u (%s, uid %u) listens, to %s",
		 r->text, r->text_exact ? "" : " (summary)", r->family, r->table, r->chain,
		 (unsigned long long)r->handle, origin ? ", " : "", origin ? origin : "",
		 r->hooks == (NATRULE_HOOK_PREROUTING | NATRULE_HOOK_OUTPUT) ? "incoming and local" :
		 r->hooks & NATRULE_HOOK_PREROUTING ? "incoming" : "local",
		 l->sk.family == AF_INET6 ? "[" : "", pw_addr_ntop(l->sk.family, l->sk.laddr, la),
		 l->sk.family == AF_INET6 ? "]" : "", l->sk.lport, pw_proto_name(l->sk.protocol),
		 l->owner.pid, l->owner.comm[0] ? l->owner.comm : "?", l->owner.uid, to);
}

static void raise_div(struct natdiv *n, struct nat_diversion *d)
{
	struct rules_alert ra = { RULES_KIND_DIVERSION, RULES_REASON_NAT_REDIRECT,
				  d->rule.origin ? RULES_SEV_NOTICE : RULES_SEV_WARNING };
	struct pw_entry contender = { 0 };
	char msg[PW_MSG_LEN];

	/* the contender: the diverted address, owned by the receiving program */
	contender.sk = d->listener.sk;
	contender.sk.inode = 0;
	if (d->target_local) {
		contender.owner = d->target.owner;
		contender.since_ns = d->target.since_ns;
	}
	natdiv_message(msg, sizeof(msg), d);
	d->alert_id = monitor_raise(n->mon, &ra, &d->listener, &contender, 0, msg, d->first_ns);
}

/*
 * Whether t, the socket on tproxy rule k's target port, is transparent:
 * asked once per socket (a setns and a sock_diag dump), remembered for
 * `why` (natdiv_rules_on()).
 */
static int tproxy_state(struct natdiv *n, struct natdiv_ns *s, size_t k, const struct pw_entry *t)
{
	struct natdiv_tproxy *tp = s->tp ? &s->tp[k] : NULL;
	int r;

	if (tp && tp->inode == t->sk.inode)
		return tp->transparent;
	r = natdiv_target_transparent(n, t);
	if (tp) {
		tp->inode = t->sk.inode;
		tp->transparent = (int8_t)(r < 0 ? -1 : r);
	}
	return r;
}

/* The tproxy rules' target sockets, for `why`: looked up once a tick. */
static void tproxy_targets(struct natdiv *n, struct natdiv_ns *s)
{
	static const uint8_t protos[2] = { IPPROTO_TCP, IPPROTO_UDP };

	for (size_t k = 0; s->tp && k < s->rules.n; k++) {
		const struct natrule *r = &s->rules.rules[k];
		struct target_find tf = { .r = r };

		if (r->action != NATRULE_TPROXY || !r->to_port)
			continue;
		for (int p = 0; p < 2 && !tf.found; p++)
			if (!r->protos || r->protos & (p ? NATRULE_UDP : NATRULE_TCP))
				table_foreach_port(n->mon->table, s->netns, protos[p], r->to_port,
						   target_fn, &tf);
		if (tf.found)
			tproxy_state(n, s, k, tf.found);
		else
			s->tp[k].inode = 0;
	}
}

/* Re-match namespace s: new pairs are raised, gone ones cleared. */
void natdiv_rematch(struct natdiv *n, struct natdiv_ns *s, uint64_t now)
{
	struct match m = { .n = n, .s = s };
	struct div_index x = { 0 };
	uint8_t *keep;

	/*
	 * A wide rule is matched by a walk of the whole table: one walk for
	 * all of them, not one each, as a ruleset anyone can load in a
	 * namespace of its own may hold thousands of "th dport != 1" rules
	 * (and this runs each second). Without memory for the list, a walk
	 * per rule.
	 */
	m.wide = s->rules.n ? calloc(s->rules.n, sizeof(*m.wide)) : NULL;
	for (m.rule = 0; m.rule < s->rules.n && !m.err && !m.full; m.rule++)
		match_rule(&m);
	if (m.nwide && !m.err && !m.full)
		table_foreach(n->mon->table, match_wide_fn, &m);
	free(m.wide);
	if (m.full) {
		n->not_kept++;
		if (!(n->not_kept & (n->not_kept - 1)))
			log_warnx("nftables of network namespace %u: its rules cover more than %d "
				  "(rule, listener) pairs; the first are followed, none is cleared, "
				  "and the rest are not seen (%llu times)", s->netns,
				  NAT_NS_MAX_PAIRS, (unsigned long long)n->not_kept);
	}
	keep = calloc(n->capdiv ? n->capdiv : 1, 1); /* a flag per slot of n->div */
	if (m.err || !keep || div_index_make(&x, n, s->netns, m.nv)) {
		free(m.v);
		free(keep);
		free(x.slot);
		return; /* out of memory: keep what is in force */
	}
	for (size_t i = 0; i < m.nv; i++) {
		const struct natrule *r = &s->rules.rules[m.v[i].rule];
		struct pw_entry *l = m.v[i].l, *t;
		struct nat_diversion *d = div_find(n, &x, s->netns, r, l), nd = { 0 };
		int tr = 0;

		if (d) {
			keep[d - n->div] = 1;
			d->rule = *r; /* its text may have become exact */
			d->listener = *l; /* the socket of the moment on that address */
			d->listener.next_id = d->listener.next_port = NULL;
			continue;
		}
		t = find_target(n, r, l);
		if (r->action == NATRULE_TPROXY) {
			/* nf_tproxy_get_sock_v4/v6(): only a transparent socket is handed the
			 * traffic; without one the rule does not match (NFT_BREAK) */
			if (!t || (tr = tproxy_state(n, s, m.v[i].rule, t)) != 1)
				continue;
		}
		if (n->ndiv >= NAT_MAX_DIV) {
			n->not_kept++;
			continue;
		}
		if (n->ndiv == n->capdiv) {
			size_t cap = n->capdiv ? 2 * n->capdiv : 8;
			struct nat_diversion *v = realloc(n->div, cap * sizeof(*v));
			uint8_t *k = realloc(keep, cap);

			if (v)
				n->div = v;
			if (k)
				keep = k;
			if (!v || !k)
				break; /* out of memory: the rest at the next match */
			memset(keep + n->capdiv, 0, cap - n->capdiv);
			n->capdiv = cap;
		}
		nd.netns = s->netns;
		nd.rule = *r;
		nd.listener = *l;
		nd.listener.next_id = nd.listener.next_port = NULL;
		if (t) {
			nd.target = *t;
			nd.target.next_id = nd.target.next_port = NULL;
			nd.target_local = 1;
		}
		nd.transparent = tr == 1;
		nd.first_ns = now;
		n->div[n->ndiv] = nd;
		keep[n->ndiv] = 1;
		div_index_put(&x, n, n->ndiv);
		n->ndiv++;
		n->found++;
		raise_div(n, &n->div[n->ndiv - 1]);
	}
	tproxy_targets(n, s);
	for (size_t i = n->ndiv; i-- > 0 && !m.full;) {
		if (n->div[i].netns != s->netns || keep[i])
			continue;
		{
			int rule_there = 0;

			for (size_t k = 0; k < s->rules.n && !rule_there; k++)
				rule_there = same_rule(&s->rules.rules[k], &n->div[i].rule);
			clear_div(n, i, rule_there ? "listener gone" : "rule removed", now);
			keep[i] = keep[n->ndiv]; /* clear_div() moved the last one here */
		}
	}
	free(keep);
	free(x.slot);
	free(m.v);
}

/* ---- Port Shadow ---- */

struct shadow {
	struct natdiv_ns *s;
	uint64_t sig;
	size_t n;
	struct pw_entry *first;
	char list[400];
	size_t len;
};

static int shadow_fn(struct pw_entry *e, void *arg)
{
	struct shadow *sh = arg;

	if (e->sk.netns != sh->s->netns || !is_holder(e) ||
	    natrule_shadow_mitigated(&sh->s->rules, e->sk.protocol, e->sk.lport))
		return 0;
	/* order-free signature of the exposed (protocol, port) set */
	sh->sig += ((uint64_t)e->sk.protocol << 16 | e->sk.lport) * 0x9e3779b97f4a7c15ULL + 1;
	if (!sh->first)
		sh->first = e;
	if (sh->n++ < NAT_SHADOW_LIST && sh->len < sizeof(sh->list))
		sh->len += snprintf(sh->list + sh->len, sizeof(sh->list) - sh->len, "%s%u/%s (%s)",
				    sh->n > 1 ? ", " : "", e->sk.lport,
				    pw_proto_name(e->sk.protocol),
				    e->owner.comm[0] ? e->owner.comm : "?");
	return 0;
}

void natdiv_shadow(struct natdiv *n, struct natdiv_ns *s, uint64_t now)
{
	struct rules_alert ra = { RULES_KIND_EXPOSURE, RULES_REASON_PORT_SHADOW,
				  RULES_SEV_NOTICE };
	struct shadow sh = { .s = s };
	struct pw_entry contender = { 0 };
	char msg[PW_MSG_LEN];

	if (!s->forwarding || !s->rules.nsnat) {
		s->shadow_sig = 0;
		return;
	}
	table_foreach(n->mon->table, shadow_fn, &sh);
	if (!sh.n) {
		s->shadow_sig = 0;
		return;
	}
	sh.sig ^= sh.n; /* never 0 with listeners exposed */
	if (!sh.sig)
		sh.sig = 1;
	if (sh.sig == s->shadow_sig)
		return;
	s->shadow_sig = sh.sig;
	snprintf(msg, sizeof(msg),
		 "port_shadow: network namespace %u forwards and masquerades (%s; %u snat/masquerade "
		 "rules) with no Port Shadow mitigation for %zu local listeners: %s%s. A forwarded "
		 "client can make conntrack send these services' replies to itself (CVE-2021-3773); "
		 "drop forwarded packets from these source ports, notrack them, or snat/masquerade "
		 "to a port range above them",
		 s->netns, s->rules.snat_where, s->rules.nsnat, sh.n, sh.list,
		 sh.n > NAT_SHADOW_LIST ? ", ..." : "");
	contender.sk = sh.first->sk;
	contender.sk.inode = 0;
	if (monitor_raise(n->mon, &ra, sh.first, &contender, 0, msg, now))
		n->advisories++;
}

void natdiv_clear_netns(struct natdiv *n, uint32_t netns, const char *why, uint64_t now)
{
	for (size_t k = n->ndiv; k-- > 0;)
		if (n->div[k].netns == netns)
			clear_div(n, k, why, now);
}

void natdiv_rules_on(const struct natdiv_ns *s, const struct pw_sock *sk,
		  void (*fn)(const struct natrule *r, uint64_t target_inode, int transparent,
			     void *arg),
		  void *arg)
{
	for (size_t i = 0; i < s->rules.n; i++) {
		const struct natdiv_tproxy *tp = s->tp ? &s->tp[i] : NULL;

		if (natrule_covers(&s->rules.rules[i], sk))
			fn(&s->rules.rules[i], tp ? tp->inode : 0, tp && tp->inode ? tp->transparent : -1,
			   arg);
	}
}

const struct nat_diversion *natdiv_cleared(const struct natdiv *n, size_t i)
{
	size_t have = n->ncleared < NAT_CLEARED ? n->ncleared : NAT_CLEARED;

	if (i >= have)
		return NULL;
	return &n->cleared[(n->ncleared - 1 - i) % NAT_CLEARED];
}
