// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* nat.c - nftables rulesets of every namespace, followed by notification; see nat.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <nftables/libnftables.h>

#include "addr.h"
#include "diag.h"
#include "ifaddr.h"
#include "log.h"
#include "nat.h"
#include "pwname.h"
#include "sysctl.h"


#define NAT_SCAN_PORTS 1024 /* a rule covering more ports is matched by a walk of the table */
#define NAT_XT_EVERY 10   /* ticks between two looks at the x_tables table names */
#define NAT_SHADOW_LIST 8
#define NAT_RETRY_TICKS 60 /* ticks before a namespace that could not be entered is tried again */ /* exposed listeners named in an advisory's message */

/* The socket a tproxy rule hands traffic to, and whether it is transparent. */
struct tproxy_target {
	uint64_t inode; /* 0: none listens on the rule's target port */
	int8_t transparent; /* 1, 0, or -1 not known (nat_target_transparent() failed) */
};

struct nat_ns {
	uint32_t netns;
	int dirty;                  /* changed since the last read */
	int err;                    /* -errno of the last read; 0 ok */
	int forwarding;             /* ip_forward or ipv6 forwarding, at the last read */
	struct mnl_socket *nl;      /* NFNLGRP_NFTABLES, made inside the namespace */
	struct natrule_set rules;   /* of the last read */
	struct tproxy_target *tp;   /* per rule of `rules` (tproxy ones used), owned */
	uint64_t shadow_sig;        /* exposed set last advised; 0 none */
	char xt[NAT_XT_LEN];        /* x_tables tables seen: "ip:nat,filter ip6:raw" */
};

/* ---- setup ---- */

int nat_init(struct nat *n, struct snap *snap, struct pw_monitor *mon)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

	memset(n, 0, sizeof(*n));
	n->snap = snap;
	n->mon = mon;
	n->timer_fd = -1;
	n->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (n->epoll_fd < 0)
		return -errno;
	n->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (n->timer_fd < 0 || epoll_ctl(n->epoll_fd, EPOLL_CTL_ADD, n->timer_fd, &ev)) {
		int err = -errno;

		nat_free(n);
		return err;
	}
	return 0;
}

int nat_fd(const struct nat *n)
{
	return n->epoll_fd;
}

static void ns_free(struct nat *n, struct nat_ns *s)
{
	if (!s)
		return;
	if (s->nl) {
		if (n->epoll_fd >= 0)
			epoll_ctl(n->epoll_fd, EPOLL_CTL_DEL, mnl_socket_get_fd(s->nl), NULL);
		mnl_socket_close(s->nl);
	}
	natrule_set_free(&s->rules);
	free(s->tp);
	free(s);
}

void nat_free(struct nat *n)
{
	for (size_t i = 0; i < n->nns; i++)
		ns_free(n, n->ns[i]);
	free(n->ns);
	free(n->div);
	if (n->timer_fd >= 0)
		close(n->timer_fd);
	if (n->epoll_fd >= 0)
		close(n->epoll_fd);
	n->ns = NULL;
	n->div = NULL;
	n->nns = n->ndiv = n->capdiv = 0;
	n->timer_fd = n->epoll_fd = -1;
}

/*
 * Inside the namespace (only opened there: snap_netns_call()): the
 * notification socket, kept while the namespace is followed.
 */
static int ns_open_fn(void *arg)
{
	struct mnl_socket **nl = arg;
	int group = NFNLGRP_NFTABLES;

	*nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!*nl)
		return -errno;
	if (mnl_socket_bind(*nl, 0, MNL_SOCKET_AUTOPID) ||
	    mnl_socket_setsockopt(*nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)))
		return -errno;
	return 0;
}

/*
 * Inside the namespace: a libnftables context for one read. nft_ctx_new()
 * opens its NETLINK_NETFILTER socket at once (nftables 1.0.6), so the
 * listing is of this namespace wherever it runs. Made per read, not kept:
 * one fd per followed namespace instead of two, and no cache held between
 * changes.
 */
static int nft_open_fn(void *arg)
{
	struct nft_ctx **nft = arg;

	*nft = nft_ctx_new(NFT_CTX_DEFAULT);
	return *nft ? 0 : -ENOMEM;
}

/* x_tables: the legacy tables' names, opened inside the namespace. */
struct xt_open {
	int fd[2];
};

static int xt_open_fn(void *arg)
{
	struct xt_open *o = arg;

	o->fd[0] = open("/proc/self/net/ip_tables_names", O_RDONLY | O_CLOEXEC);
	o->fd[1] = open("/proc/self/net/ip6_tables_names", O_RDONLY | O_CLOEXEC);
	return 0;
}

/* The x_tables table names of s into s->xt; 0, or -errno (-ENOENT: the namespace is gone). */
static int xt_read(struct nat *n, struct nat_ns *s)
{
	static const char *const fam[2] = { "ip", "ip6" };
	struct xt_open o = { { -1, -1 } };
	size_t len = 0;
	int err;

	s->xt[0] = '\0';
	err = snap_netns_call(n->snap, s->netns, xt_open_fn, &o);
	if (err)
		return err;
	for (int i = 0; i < 2; i++) {
		char buf[256], *p, *save = NULL;
		ssize_t r;
		int first = 1;

		if (o.fd[i] < 0)
			continue;
		r = read(o.fd[i], buf, sizeof(buf) - 1);
		close(o.fd[i]);
		if (r <= 0)
			continue;
		buf[r] = '\0';
		for (p = strtok_r(buf, "\n", &save); p; p = strtok_r(NULL, "\n", &save)) {
			len += snprintf(s->xt + len, len < sizeof(s->xt) ? sizeof(s->xt) - len : 0,
					"%s%s%s", first ? (len ? " " : "") : ",",
					first ? fam[i] : "", first ? ":" : "");
			if (len < sizeof(s->xt))
				len += snprintf(s->xt + len, sizeof(s->xt) - len, "%s", p);
			first = 0;
		}
	}
	if (len >= sizeof(s->xt))
		s->xt[sizeof(s->xt) - 1] = '\0';
	return 0;
}

static struct nat_ns *ns_find(const struct nat *n, uint32_t netns)
{
	for (size_t i = 0; i < n->nns; i++)
		if (n->ns[i]->netns == netns)
			return n->ns[i];
	return NULL;
}

static void note_err(struct nat *n, uint32_t netns, int err, const char *what)
{
	if (err && err != n->last_err)
		log_warnx("nftables of network namespace %u: %s: %s; its NAT rules are not seen "
			  "until it works again", netns, what, strerror(-err));
	n->last_err = err;
	n->last_err_netns = netns;
}

/* ---- diversions ---- */

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

int nat_target_transparent(struct nat *n, const struct pw_entry *e)
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
	struct nat *n;
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
static struct pw_entry *find_target(struct nat *n, const struct natrule *r,
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
	struct nat *n;
	struct nat_ns *s;
	size_t rule;
	struct cand *v;
	size_t nv, cap;
	int err;
};

static int match_fn(struct pw_entry *e, void *arg)
{
	struct match *m = arg;

	if (e->sk.netns != m->s->netns || !is_holder(e) ||
	    !natrule_covers(&m->s->rules.rules[m->rule], &e->sk))
		return 0;
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
	m->v[m->nv].rule = m->rule;
	m->v[m->nv].l = e;
	m->nv++;
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
		table_foreach(m->n->mon->table, match_fn, m);
		return;
	}
	for (size_t i = 0; i < r->dport.n && !m->err; i++)
		for (uint32_t p = r->dport.r[i].lo; p <= r->dport.r[i].hi && !m->err; p++)
			for (int k = 0; k < 2; k++)
				table_foreach_port(m->n->mon->table, m->s->netns, protos[k],
						   (uint16_t)p, match_fn, m);
}

/*
 * The pair of rule r and a listener on l's address: by address, not by
 * socket, so that a service restarting under the rule (a new socket on the
 * same address within a tick) keeps its diversion and raises nothing new.
 */
static struct nat_diversion *div_find(struct nat *n, uint32_t netns, const struct natrule *r,
				      const struct pw_entry *l)
{
	for (size_t i = 0; i < n->ndiv; i++) {
		const struct pw_sock *a = &n->div[i].listener.sk;

		if (n->div[i].netns == netns && a->lport == l->sk.lport &&
		    a->protocol == l->sk.protocol && a->family == l->sk.family &&
		    !memcmp(a->laddr, l->sk.laddr, sizeof(a->laddr)) &&
		    same_rule(&n->div[i].rule, r))
			return &n->div[i];
	}
	return NULL;
}

static void clear_div(struct nat *n, size_t i, const char *why, uint64_t now)
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

void nat_message(char *buf, size_t len, const struct nat_diversion *d)
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

static void raise_div(struct nat *n, struct nat_diversion *d)
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
	nat_message(msg, sizeof(msg), d);
	d->alert_id = monitor_raise(n->mon, &ra, &d->listener, &contender, 0, msg, d->first_ns);
}

/*
 * Whether t, the socket on tproxy rule k's target port, is transparent:
 * asked once per socket (a setns and a sock_diag dump), remembered for
 * `why` (nat_rules_on()).
 */
static int tproxy_state(struct nat *n, struct nat_ns *s, size_t k, const struct pw_entry *t)
{
	struct tproxy_target *tp = s->tp ? &s->tp[k] : NULL;
	int r;

	if (tp && tp->inode == t->sk.inode)
		return tp->transparent;
	r = nat_target_transparent(n, t);
	if (tp) {
		tp->inode = t->sk.inode;
		tp->transparent = (int8_t)(r < 0 ? -1 : r);
	}
	return r;
}

/* The tproxy rules' target sockets, for `why`: looked up once a tick. */
static void tproxy_targets(struct nat *n, struct nat_ns *s)
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
static void rematch(struct nat *n, struct nat_ns *s, uint64_t now)
{
	struct match m = { .n = n, .s = s };
	uint8_t *keep;

	for (m.rule = 0; m.rule < s->rules.n && !m.err; m.rule++)
		match_rule(&m);
	keep = calloc(n->capdiv ? n->capdiv : 1, 1); /* a flag per slot of n->div */
	if (m.err || !keep) {
		free(m.v);
		free(keep);
		return; /* out of memory: keep what is in force */
	}
	for (size_t i = 0; i < m.nv; i++) {
		const struct natrule *r = &s->rules.rules[m.v[i].rule];
		struct pw_entry *l = m.v[i].l, *t;
		struct nat_diversion *d = div_find(n, s->netns, r, l), nd = { 0 };
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
		n->ndiv++;
		n->found++;
		raise_div(n, &n->div[n->ndiv - 1]);
	}
	tproxy_targets(n, s);
	for (size_t i = n->ndiv; i-- > 0;) {
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
	free(m.v);
}

/* ---- Port Shadow ---- */

struct shadow {
	struct nat_ns *s;
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

static void shadow_check(struct nat *n, struct nat_ns *s, uint64_t now)
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

/* ---- reading ---- */

static int list(struct nft_ctx *nft, unsigned int flags, const char **out)
{
	nft_ctx_output_set_flags(nft, flags);
	if (nft_run_cmd_from_buffer(nft, "list ruleset")) {
		const char *e = nft_ctx_get_error_buffer(nft);

		log_debug("nft list ruleset: %s", e ? e : "?");
		return -EIO;
	}
	*out = nft_ctx_get_output_buffer(nft);
	nft_ctx_get_error_buffer(nft); /* drop what it said */
	return *out ? 0 : -EIO;
}

static void ns_read(struct nat *n, struct nat_ns *s)
{
	struct natrule_set rs;
	struct nft_ctx *nft = NULL;
	const char *text;
	uint64_t now = monitor_now();
	int err;

	s->dirty = 0;
	n->reads++;
	err = snap_netns_call(n->snap, s->netns, nft_open_fn, &nft);
	if (!err) {
		nft_ctx_buffer_output(nft);
		nft_ctx_buffer_error(nft);
		err = list(nft, NFT_CTX_OUTPUT_JSON, &text);
	}
	if (!err)
		err = natrule_parse(text, &rs);
	if (err) {
		if (nft)
			nft_ctx_free(nft);
		s->err = err;
		if (err != -ENOENT) /* gone: dropped at the next liveness check */
			note_err(n, s->netns, err, "reading the ruleset");
		return;
	}
	if (rs.n && !list(nft, NFT_CTX_OUTPUT_HANDLE, &text))
		natrule_set_text(&rs, text);
	nft_ctx_free(nft);
	natrule_set_free(&s->rules);
	free(s->tp);
	s->tp = rs.n ? calloc(rs.n, sizeof(*s->tp)) : NULL; /* NULL: not known yet */
	s->rules = rs;
	s->err = 0;
	if (n->last_err && n->last_err_netns == s->netns)
		note_err(n, s->netns, 0, "");
	s->forwarding = sysctl_read_int(n->snap, s->netns, "net/ipv4/ip_forward", 0) > 0 ||
			sysctl_read_int(n->snap, s->netns, "net/ipv6/conf/all/forwarding", 0) > 0;
	rematch(n, s, now);
	shadow_check(n, s, now);
}

static struct nat_ns *ns_add(struct nat *n, uint32_t netns)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct mnl_socket *nl = NULL;
	struct nat_ns *s, **v;
	int err;

	if (n->nns >= NAT_MAX_NS)
		return NULL;
	s = calloc(1, sizeof(*s));
	v = realloc(n->ns, (n->nns + 1) * sizeof(*v));
	if (!s || !v) {
		free(s);
		if (v)
			n->ns = v;
		return NULL;
	}
	n->ns = v;
	s->netns = netns;
	err = snap_netns_call(n->snap, netns, ns_open_fn, &nl);
	s->nl = nl;
	ev.data.ptr = s;
	if (!err && epoll_ctl(n->epoll_fd, EPOLL_CTL_ADD, mnl_socket_get_fd(s->nl), &ev))
		err = -errno;
	if (err) {
		if (err != -ENOENT) /* gone since it was listed */
			note_err(n, netns, err, "watching it");
		ns_free(n, s);
		return NULL;
	}
	n->ns[n->nns++] = s;
	xt_read(n, s);
	if (s->xt[0])
		log_notice("network namespace %u has iptables-legacy (x_tables) tables %s: their "
			   "rules are not visible to portwatch", netns, s->xt);
	return s;
}

static void ns_drop(struct nat *n, size_t i)
{
	struct nat_ns *s = n->ns[i];
	uint64_t now = monitor_now();

	for (size_t k = n->ndiv; k-- > 0;)
		if (n->div[k].netns == s->netns)
			clear_div(n, k, "namespace gone", now);
	ns_free(n, s);
	n->ns[i] = n->ns[--n->nns];
}

/* Read every message waiting on s's socket: 1 when the ruleset changed (or may have). */
static int ns_drain(struct nat *n, struct nat_ns *s)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int changed = 0;

	for (;;) {
		ssize_t r = mnl_socket_recvfrom(s->nl, buf, sizeof(buf));
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		int len = (int)r;

		if (r < 0) {
			if (errno == ENOBUFS) { /* notifications lost: read anyway */
				n->overruns++;
				changed = 1;
				continue;
			}
			break; /* EAGAIN: drained */
		}
		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			changed = 1;
			if (NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_NEWGEN)
				n->notifications++;
		}
	}
	return changed;
}

static void arm(struct nat *n)
{
	struct itimerspec its = { .it_value = { 0, NAT_COALESCE_MS * 1000000L } };
	struct itimerspec cur;

	if (!timerfd_gettime(n->timer_fd, &cur) &&
	    (cur.it_value.tv_sec || cur.it_value.tv_nsec))
		return; /* armed: this change joins the pending read */
	timerfd_settime(n->timer_fd, 0, &its, NULL);
}

void nat_handle(struct nat *n)
{
	struct epoll_event evs[32];
	int k, fired = 0;

	while ((k = epoll_wait(n->epoll_fd, evs, 32, 0)) > 0) {
		for (int i = 0; i < k; i++) {
			struct nat_ns *s = evs[i].data.ptr;

			if (!s) {
				uint64_t x;

				fired = read(n->timer_fd, &x, sizeof(x)) > 0 || fired;
			} else if (ns_drain(n, s)) {
				s->dirty = 1;
				arm(n);
			}
		}
		if (k < 32)
			break;
	}
	if (!fired)
		return;
	for (size_t i = 0; i < n->nns; i++)
		if (n->ns[i]->dirty)
			ns_read(n, n->ns[i]);
}

/*
 * Namespaces that ip-netns(8) mounted under /run/netns since the last
 * listing: a readdir and a stat per name, each tick, so that a namespace
 * made between two reconciliations is followed within a second. (The
 * others, held only by processes, come from snapshots' listings.)
 */
static void run_netns(struct nat *n)
{
	struct stat self, st;
	struct dirent *de;
	DIR *d;

	if (stat("/proc/self/ns/net", &self))
		return;
	d = opendir("/run/netns");
	while (d && (de = readdir(d))) {
		struct nat_ns *s;

		if (de->d_name[0] == '.' || fstatat(dirfd(d), de->d_name, &st, 0) ||
		    st.st_dev != self.st_dev || ns_find(n, (uint32_t)st.st_ino))
			continue;
		s = ns_add(n, (uint32_t)st.st_ino);
		if (s)
			ns_read(n, s);
	}
	if (d)
		closedir(d);
}

/* Namespaces of the table's sockets that are not followed yet (ids, at most max). */
struct unseen {
	const struct nat *n;
	uint32_t ids[16];
	size_t k;
	uint32_t last; /* sockets of one namespace come in runs: skip the repeats cheaply */
};

static int unseen_fn(struct pw_entry *e, void *arg)
{
	struct unseen *u = arg;

	if (e->sk.netns == u->last)
		return 0;
	u->last = e->sk.netns;
	if (ns_find(u->n, e->sk.netns))
		return 0;
	for (size_t i = 0; i < u->k; i++)
		if (u->ids[i] == e->sk.netns)
			return 0;
	u->ids[u->k++] = e->sk.netns;
	return u->k == sizeof(u->ids) / sizeof(u->ids[0]); /* the rest next tick */
}

void nat_tick(struct nat *n)
{
	uint32_t ids[256], *v = ids;
	size_t k = snap_netns_list(n->snap, ids, 256);
	uint64_t now = monitor_now();

	n->ticks++;
	if (k > 256) {
		v = calloc(k, sizeof(*v));
		if (!v)
			return;
		k = snap_netns_list(n->snap, v, k);
	}
	for (size_t i = 0; i < k; i++) {
		struct nat_ns *s = ns_find(n, v[i]);

		if (!s && (s = ns_add(n, v[i])))
			ns_read(n, s);
	}
	if (v != ids)
		free(v);
	run_netns(n);
	{
		/*
		 * Namespaces of sockets the table holds: one made after the last
		 * listing, that no /run/netns mount visible here names (the daemon
		 * may run in a mount namespace of its own), is followed as soon as
		 * a socket of it is seen. snap_netns_call() finds it through
		 * /proc/PID/ns/net.
		 */
		struct unseen u = { .n = n };

		table_foreach(n->mon->table, unseen_fn, &u);
		for (size_t i = 0; i < u.k; i++) {
			/* one that cannot be entered (its processes left) is tried once a minute */
			size_t slot = u.ids[i] % (sizeof(n->failed) / sizeof(n->failed[0]));
			struct nat_ns *s;

			if (n->failed[slot].netns == u.ids[i] && n->ticks < n->failed[slot].until)
				continue;
			s = ns_add(n, u.ids[i]);
			if (s) {
				ns_read(n, s);
			} else {
				n->failed[slot].netns = u.ids[i];
				n->failed[slot].until = n->ticks + NAT_RETRY_TICKS;
			}
		}
	}
	for (size_t i = n->nns; i-- > 0;) {
		struct nat_ns *s = n->ns[i];
		char before[NAT_XT_LEN];

		if (n->ticks % NAT_XT_EVERY == 0) {
			/*
			 * Our own sockets keep the namespace alive (sk_net holds a
			 * reference): it is gone when no process or mount can
			 * enter it any more.
			 */
			memcpy(before, s->xt, sizeof(before));
			if (xt_read(n, s) == -ENOENT) {
				ns_drop(n, i);
				continue;
			}
			if (s->xt[0] && strcmp(before, s->xt))
				log_notice("network namespace %u has iptables-legacy (x_tables) tables "
					   "%s: their rules are not visible to portwatch",
					   s->netns, s->xt);
		}
		if (s->rules.n)
			rematch(n, s, now);
	}
}

/* ---- views ---- */

size_t nat_namespaces(const struct nat *n)
{
	return n->nns;
}

size_t nat_rules(const struct nat *n)
{
	size_t k = 0;

	for (size_t i = 0; i < n->nns; i++)
		k += n->ns[i]->rules.n;
	return k;
}

void nat_foreach_ns(const struct nat *n, nat_ns_fn fn, void *arg)
{
	for (size_t i = 0; i < n->nns; i++)
		fn(n->ns[i]->netns, &n->ns[i]->rules, n->ns[i]->xt, n->ns[i]->forwarding,
		   n->ns[i]->err, arg);
}

void nat_rules_on(const struct nat *n, const struct pw_sock *sk,
		  void (*fn)(const struct natrule *r, uint64_t target_inode, int transparent,
			     void *arg),
		  void *arg)
{
	const struct nat_ns *s = ns_find(n, sk->netns);

	for (size_t i = 0; s && i < s->rules.n; i++) {
		const struct tproxy_target *tp = s->tp ? &s->tp[i] : NULL;

		if (natrule_covers(&s->rules.rules[i], sk))
			fn(&s->rules.rules[i], tp ? tp->inode : 0, tp && tp->inode ? tp->transparent : -1,
			   arg);
	}
}

const struct nat_diversion *nat_cleared(const struct nat *n, size_t i)
{
	size_t have = n->ncleared < NAT_CLEARED ? n->ncleared : NAT_CLEARED;

	if (i >= have)
		return NULL;
	return &n->cleared[(n->ncleared - 1 - i) % NAT_CLEARED];
}
