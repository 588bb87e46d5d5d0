// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* predict.c - predictions of bind/listen/connect; see predict.h. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <net/if.h>

#include "addr.h"
#include "bpfload.h"
#include "diag.h"
#include "ifaddr.h"
#include "log.h"
#include "predict.h"
#include "proc.h"
#include "pwname.h"
#include "snap.h"

static int push(struct pw_view *v, const struct pw_sock *sk, const struct pw_entry *e)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		struct pw_holder *h = realloc(v->h, cap * sizeof(*h));

		if (!h)
			return -ENOMEM;
		v->h = h;
		v->cap = cap;
	}
	v->h[v->n].sk = *sk;
	v->h[v->n].e = e;
	v->h[v->n].tw_expires_ms = UINT32_MAX;
	v->n++;
	return 0;
}

static int take_entry(struct pw_entry *e, void *arg)
{
	struct pw_view *v = arg;

	if (e->sk.netns != v->netns || e->sk.protocol != v->protocol)
		return 0;
	return push(v, &e->sk, e);
}

/* The order udp_lib_lport_inuse() meets sockets in (rules_udp_chain_before()). */
static int cmp_chain(const void *a, const void *b)
{
	const struct pw_holder *x = a, *y = b;

	if (x->e->since_ns == y->e->since_ns && x->sk.inode == y->sk.inode)
		return 0;
	if (x->e->since_ns == y->e->since_ns)
		return x->sk.inode > y->sk.inode ? -1 : 1;
	return rules_udp_chain_before(x->e->udp_tail, x->e->since_ns, y->e->udp_tail,
				      y->e->since_ns) ?
		       -1 :
		       1;
}

/*
 * An answer about "right now" takes the kernel's word: one walk gives
 * every socket with the flags, state and bind origin it has, and the
 * table adds who owns it, when it was bound and its UDP chain place. A
 * table entry the walk does not show is gone (its release was missed,
 * e.g. when its slot in the kernel side's tracked array was taken over:
 * event.h); a walk that failed leaves the table's word.
 */
int predict_view(struct pw_monitor *m, uint32_t netns, uint8_t protocol, int port, uint64_t now,
		 struct pw_view *v)
{
	const struct pw_sock *extra, *all;
	size_t nextra, nall;
	int err;

	memset(v, 0, sizeof(*v));
	v->netns = netns;
	v->protocol = protocol;
	v->all_ports = port < 0;
	v->port = port < 0 ? 0 : (uint16_t)port;
	extra = monitor_kernel_extra(m, netns, now, 0, &nextra);
	all = monitor_kernel_all(m, netns, &nall);
	if (v->all_ports)
		err = table_foreach(m->table, take_entry, v);
	else
		err = table_foreach_port(m->table, netns, protocol, v->port, take_entry, v);
	if (err < 0)
		return err;
	if (all) {
		size_t k = 0;

		for (size_t i = 0; i < v->n; i++) {
			struct pw_holder *h = &v->h[i];
			const struct pw_sock *w = NULL;

			for (size_t j = 0; j < nall && !w; j++)
				if (all[j].inode == h->sk.inode)
					w = &all[j];
			/*
			 * Not walked: gone, unless a bound-only TCP socket on a
			 * kernel whose sock_diag cannot list those.
			 */
			if (!w && !(h->sk.protocol == IPPROTO_TCP && h->sk.state == PW_TCP_CLOSE &&
				    m->kb.diag_bound_inactive != 1))
				continue;
			if (w) {
				struct pw_sock merged = *w;

				if (w->flags_unknown) { /* sock_diag: the flags events told */
					merged.reuseaddr = h->sk.reuseaddr;
					merged.reuseport = h->sk.reuseport;
					merged.v6only = h->sk.v6only;
					merged.flags_unknown = 0;
				}
				h->sk = merged;
			}
			v->h[k++] = *h;
		}
		v->n = k;
	}
	v->ntable = v->n;
	if (v->ntable > 1)
		qsort(v->h, v->ntable, sizeof(*v->h), cmp_chain);
	for (size_t i = 0; i < nextra; i++)
		if (extra[i].protocol == protocol && (v->all_ports || extra[i].lport == v->port))
			if (push(v, &extra[i], NULL))
				return -ENOMEM;
	return 0;
}

void predict_view_free(struct pw_view *v)
{
	free(v->h);
	memset(v, 0, sizeof(*v));
}

/* What rules_predict() needs besides the holders: the bucket records. */
struct tb_ctx {
	struct pw_monitor *m;
	uint32_t netns;
	uint16_t port;                /* the queried port */
	const struct rules_tb *after; /* its bucket after a hypothetical bind; or NULL */
	int port_gone;                /* no socket holds the queried port: no bucket */
	uint8_t *held;                /* all ports: bitmap of the ports some holder is on */
};

/*
 * The bucket record of a port, or NULL when no holder of the view is on
 * it: the kernel frees a bucket with its last socket
 * (inet_bind_bucket_destroy()), whatever the record says. The record is
 * left for the monitor to drop (monitor_tb_sweep()).
 */
static const struct rules_tb *tb_of(uint16_t port, void *arg)
{
	struct tb_ctx *t = arg;

	if (t->after && port == t->port)
		return t->after;
	if (port == t->port && t->port_gone)
		return NULL;
	if (t->held && !(t->held[port / 8] >> (port % 8) & 1))
		return NULL;
	return monitor_tb(t->m, t->netns, port);
}

static int tw_seen(const struct pw_sock *sk, uint32_t expires_ms, void *arg)
{
	struct pw_view *v = arg;

	for (size_t i = 0; i < v->n; i++) {
		const struct pw_sock *h = &v->h[i].sk;

		if (h->state == PW_TCP_TIME_WAIT && h->lport == sk->lport &&
		    h->rport == sk->rport && h->family == sk->family &&
		    !memcmp(h->laddr, sk->laddr, 16) && !memcmp(h->raddr, sk->raddr, 16))
			v->h[i].tw_expires_ms = expires_ms;
	}
	return 0;
}

static int diag_open_fn(void *arg)
{
	int fd = diag_open();

	*(int *)arg = fd;
	return fd < 0 ? fd : 0;
}

/* Remaining TIME_WAIT time of the view's entries on port, from sock_diag in the netns. */
static void read_expiry(struct pw_monitor *m, struct pw_view *v, uint16_t port)
{
	int fd = -1, err;

	err = m->snap ? snap_netns_call(m->snap, v->netns, diag_open_fn, &fd) : diag_open_fn(&fd);
	if (err || fd < 0) {
		log_debug("check: sock_diag socket in netns %u: %s", v->netns,
			  strerror(err ? -err : EBADF));
		return;
	}
	err = diag_time_wait(fd, v->netns, port, tw_seen, v);
	if (err < 0)
		log_debug("check: TIME_WAIT dump of netns %u: %s", v->netns, strerror(-err));
}

/*
 * On a kernel with rules_query.tcp_mapped_any_unseen: which family made
 * the IPv4-wildcard bhash2 bucket of the queried TCP port? The bucket goes
 * when its last socket does, so its maker is the oldest of the 0.0.0.0 and
 * ::ffff:0.0.0.0 sockets bound there now (by the table's bind times).
 */
static void mapped_any_bucket(struct pw_prediction *p)
{
	const struct pw_holder *oldest = NULL;

	for (size_t i = 0; i < p->view.n; i++) {
		const struct pw_holder *h = &p->view.h[i];
		const uint8_t *v4 = h->sk.family == AF_INET6 ? h->sk.laddr + 12 : h->sk.laddr;

		if (h->sk.protocol != IPPROTO_TCP || h->sk.lport != p->q.c.lport ||
		    (h->sk.family == AF_INET6 && !pw_addr_is_v4mapped(h->sk.laddr)) ||
		    v4[0] | v4[1] | v4[2] | v4[3])
			continue;
		if (!h->e) /* a socket only the kernel walk shows: no bind time */
			return;
		if (!oldest || h->e->since_ns < oldest->e->since_ns)
			oldest = h;
	}
	if (oldest)
		p->q.tcp_mapped_any_unseen =
			oldest->sk.family == AF_INET6 ? RULES_MAPPED_ANY_BUCKET : 0;
}

/* Does any holder of the view sit on port? */
static int port_held(const struct pw_view *v, uint16_t port)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->h[i].sk.lport == port)
			return 1;
	return 0;
}

/* The advice and explanation texts of a computed prediction. */
static void put_texts(struct pw_prediction *p, const struct rules_ports *ports)
{
	const struct rules_prediction *r = &p->r;
	const struct pw_holder *first = r->nblockers ? &p->view.h[r->blockers[0]] : NULL;
	const struct rules_ports *rp = p->have_range ? ports : NULL;
	struct pw_entry tmp;
	const struct pw_entry *fe = NULL;
	int n = 0;

	if (r->uncertain == RULES_UNCERTAIN_CGROUP)
		n = snprintf(p->advice, sizeof(p->advice),
			     "cgroup/bind programs run before bind(2) for this caller (%s) and "
			     "decide for themselves: the call may fail with EPERM. ",
			     p->cgroup_progs);
	else if (r->uncertain == RULES_UNCERTAIN_PRIVILEGE)
		n = snprintf(p->advice, sizeof(p->advice),
			     "Whether the process holds CAP_NET_BIND_SERVICE over this namespace "
			     "could not be read: the call may fail. ");
	else if (r->uncertain == RULES_UNCERTAIN_ADDRESS)
		n = snprintf(p->advice, sizeof(p->advice),
			     "The namespace's addresses could not be read: the call may fail. ");
	else if (r->uncertain == RULES_UNCERTAIN_L3MDEV)
		n = snprintf(p->advice, sizeof(p->advice),
			     "%s is a VRF (l3mdev) device or enslaved to one: the kernel keeps "
			     "the VRF's own TCP bind buckets and address tables, which portwatch "
			     "does not model, so this answer may be wrong either way. ",
			     p->l3mdev);
	else if (r->uncertain == RULES_UNCERTAIN_BHASH2)
		n = snprintf(p->advice, sizeof(p->advice),
			     "Whether this kernel's TCP bind check meets the sockets listed (a "
			     "TIME_WAIT entry, or a wildcard bucket of the other family: kernels "
			     "since 6.1 differ there) is unknown, the start-up trial could not "
			     "tell: the call may fail. ");
	else if (r->uncertain == RULES_UNCERTAIN_REUSEPORT_UID)
		n = snprintf(p->advice, sizeof(p->advice),
			     "A connection without a socket of its own (in an accept queue, or "
			     "closed and finishing) holds the address: kernels up to 6.16 count "
			     "it as uid 0 for SO_REUSEPORT, later ones as its creator, and the "
			     "start-up trial could not tell which this one does: the call may "
			     "fail. ");
	else if (r->uncertain)
		n = snprintf(p->advice, sizeof(p->advice), "%s",
			     r->uncertain == RULES_UNCERTAIN_UDP_WALK ?
				     "A socket that shares the port through SO_REUSEPORT comes "
				     "first, and whether this kernel's UDP bind check stops there "
				     "or goes on to the sockets listed is unknown (the start-up "
				     "trial could not tell): the call may fail. " :
				     "The range has an odd number of ports and only its first or "
				     "last port is free, which the kernel tries or not depending "
				     "on a random starting point: the call may fail. ");
	if (!r->ok && r->rule == RULES_RULE_PROTECTED && p->has_hold) {
		char until[40];

		snprintf(p->advice + n, sizeof(p->advice) - (size_t)n,
			 "Takeover protection keeps the port for uid %u (%s) until %s: that "
			 "owner's restart binds at once, anybody else once the hold ends "
			 "(portwatchctl protect lists the holds).", p->hold.gone.owner.uid,
			 *pw_owner_exe(&p->hold.gone.owner) ? pw_owner_exe(&p->hold.gone.owner) : "?",
			 pw_time_rfc3339(p->hold.until_ns, until));
	} else {
		rules_advice(p->advice + n, sizeof(p->advice) - (size_t)n,
			     r->ok && !r->uncertain ? RULES_RULE_NONE : r->rule, &p->q,
			     first ? &first->sk : NULL, p->tw_wait_s, rp);
	}
	p->explanation[0] = '\0';
	if (r->ok)
		return;
	if (first) {
		fe = first->e;
		if (!fe) {
			memset(&tmp, 0, sizeof(tmp));
			tmp.sk = first->sk;
			fe = &tmp;
		}
	}
	rules_explain(p->explanation, sizeof(p->explanation), r->rule, fe);
	if (p->explanation[0] >= 'a' && p->explanation[0] <= 'z')
		p->explanation[0] = (char)(p->explanation[0] - 'a' + 'A');
	if (r->rule == RULES_RULE_PROTECTED && p->has_hold) {
		hold_explain(p->explanation, sizeof(p->explanation), &p->hold);
		p->explanation[0] = (char)(p->explanation[0] - 'a' + 'A');
	}
	if (r->rule == RULES_RULE_PROTECTED && p->q.env.protect_line) {
		size_t used = strlen(p->explanation);

		snprintf(p->explanation + used, sizeof(p->explanation) - used,
			 p->has_hold ? " (the port's protect rule: line %u)" :
				       " (the protect rule of line %u)", p->q.env.protect_line);
	}
}

struct addr_call {
	uint32_t ifindex; /* the socket's bound device, 0 none */
	uint16_t family;
	const uint8_t *addr;
	enum ifaddr_verdict verdict;
};

static int addr_check_fn(void *arg)
{
	struct addr_call *a = arg;

	return ifaddr_check(a->family, a->addr, (int)a->ifindex, &a->verdict, NULL, 0);
}

/* The cgroup v2 path of pid ("0::PATH" of /proc/PID/cgroup), "/" when unknown. */
static void cgroup_of(int32_t pid, char *buf, size_t len)
{
	char path[64], line[4096];
	FILE *f;

	snprintf(buf, len, "/");
	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	if (pid <= 0 || !(f = fopen(path, "re")))
		return;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(buf, len, "%s", line + 3);
		}
	fclose(f);
}

/*
 * Would portwatch's own protect program refuse the caller (mode enforce)?
 * The caller is the process of caller_pid (uid, executable, unit, cgroup
 * cg) with the request's uid; without a pid only the uid is known, and
 * exe=, unit= and cgroup= selectors do not match it, nor does a hold's
 * owner (takeover protection, hold.h: uid and executable), whose copy
 * goes to *hold.
 */
static void protect_env(struct pw_monitor *m, struct rules_query *q, const char *cg,
			uint64_t now, struct pw_prediction *pr)
{
	const struct pw_protect *p = m->cfg.protect;
	const struct pw_protect_rule *r;
	const struct pw_hold *x;
	struct pw_owner o;
	int allowed;

	if (!p || p->mode != PW_PROTECT_ENFORCE || !m->protect_prog_ids[0] || !q->c.lport)
		return;
	memset(&o, 0, sizeof(o));
	if (q->env.caller_pid > 0 && proc_owner((uint32_t)q->env.caller_pid, &o))
		memset(&o, 0, sizeof(o));
	o.uid = q->c.sk_uid;
	r = protect_match(p, &q->c, &o, q->env.caller_pid > 0 ? cg : NULL, &allowed);
	if (r && !allowed) {
		q->env.protected = 1;
		q->env.protect_line = r->line;
		return;
	}
	x = hold_find(&m->holds, q->c.netns, q->c.protocol, q->c.lport);
	if (x && now < x->until_ns && !hold_is_owner(x, &o)) {
		q->env.protected = 1;
		q->env.protect_line = x->line;
		pr->has_hold = 1;
		pr->hold = *x;
	}
}

/*
 * The inputs of rules_bind_checks() that the namespace holds: its port
 * sysctls and whether it has the address (ifaddr.h, inside the netns);
 * the cgroup/bind programs that run for the caller's cgroup. The caller's
 * options and capability came with the request.
 */
static void bind_env(struct pw_monitor *m, struct rules_query *q, char *progs, size_t plen,
		     uint64_t now, struct pw_prediction *pr)
{
	char cg[4096];
	struct addr_call a = { .family = q->c.family, .addr = q->c.laddr,
			       .ifindex = q->c.bound_dev_if };
	int err;

	q->env.known = 1;
	q->env.prot_sock =
		monitor_sysctl_int(m, q->c.netns, "net/ipv4/ip_unprivileged_port_start", 1024);
	q->env.nonlocal_v4 = monitor_sysctl_int(m, q->c.netns, "net/ipv4/ip_nonlocal_bind", 0);
	q->env.nonlocal_v6 = monitor_sysctl_int(m, q->c.netns, "net/ipv6/ip_nonlocal_bind", 0);
	err = m->snap ? snap_netns_call(m->snap, q->c.netns, addr_check_fn, &a) :
			addr_check_fn(&a);
	if (err)
		log_debug("check: addresses of netns %u: %s", q->c.netns, strerror(-err));
	q->env.addr_ok = err ? -1 : a.verdict == IFADDR_OK ? 1 :
			 a.verdict == IFADDR_NEEDS_DEVICE ? RULES_ADDR_NEEDS_DEVICE : 0;
	cgroup_of(q->env.caller_pid, cg, sizeof(cg));
	protect_env(m, q, cg, now, pr);
	err = pwbpf_bind_programs(cg, q->c.family, progs, plen, m->protect_prog_ids, 2);
	if (err < 0)
		log_debug("check: cgroup/bind programs of %s: %s", cg, strerror(-err));
	q->env.cgroup_progs = err > 0 ? err : 0;
}

struct l3mdev_call {
	uint32_t dev[1 + RULES_MAX_BLOCKERS];
	size_t n;
	char *name;
	int found;
};

static int l3mdev_fn(void *arg)
{
	struct l3mdev_call *c = arg;

	c->found = ifaddr_l3mdev(c->dev, c->n, c->name, IF_NAMESIZE);
	return c->found < 0 ? c->found : 0;
}

/*
 * VRF (l3mdev) devices: a TCP socket bound to a VRF or to a device
 * enslaved to one uses the VRF's bind buckets (inet_bind_bucket.l3mdev,
 * inet_sk_bound_l3mdev(): unless net.ipv4.tcp_l3mdev_accept) and the
 * VRF's tables decide its address (inet_addr_type_dev_table()). Not
 * modelled, and not testable here (no vrf module): when the socket asked
 * about, or a holder that refuses it, is on such a device, the answer
 * becomes uncertain instead of confident (a refusal for the address or a
 * conflict; EACCES and cgroup programs do not depend on it).
 */
static void l3mdev_caveat(struct pw_monitor *m, struct pw_prediction *p)
{
	struct l3mdev_call c = { .name = p->l3mdev };
	int any = 0, err;

	if (p->q.op == RULES_OP_CONNECT || p->r.uncertain ||
	    (!p->r.ok && p->r.err != EADDRINUSE && p->r.err != EADDRNOTAVAIL))
		return;
	c.dev[c.n++] = p->q.c.bound_dev_if;
	for (size_t i = 0; i < p->r.nblockers && i < RULES_MAX_BLOCKERS; i++)
		c.dev[c.n++] = p->view.h[p->r.blockers[i]].sk.bound_dev_if;
	for (size_t i = 0; i < c.n; i++)
		any |= c.dev[i] != 0;
	if (!any)
		return;
	err = m->snap ? snap_netns_call(m->snap, p->q.c.netns, l3mdev_fn, &c) : l3mdev_fn(&c);
	if (err)
		log_debug("check: links of netns %u: %s", p->q.c.netns, strerror(-err));
	if (err || c.found != 1)
		return;
	if (p->r.ok) {
		p->r.ok = 0;
		p->r.err = EADDRINUSE;
		p->r.rule = RULES_RULE_VRF_DEVICE;
	}
	p->r.uncertain = RULES_UNCERTAIN_L3MDEV;
}

int predict(struct pw_monitor *m, const struct rules_query *q, uint64_t now,
	    struct pw_prediction *p)
{
	struct rules_ports *ports = calloc(1, sizeof(*ports));
	struct tb_ctx t = { .m = m, .netns = q->c.netns, .port = q->c.lport };
	struct pw_sock *socks = NULL;
	struct rules_tb after;
	int all_ports, err = -ENOMEM;

	memset(p, 0, sizeof(*p));
	p->q = *q;
	p->tw_wait_s = -1;
	p->q.udp_walk = m->kb.udp_walk;
	p->q.reuseport_uid = m->kb.reuseport_uid;
	p->q.tcp_bhash2_unsure = m->kb.tcp_bhash2_unsure & RULES_B2_MODELLED;
	p->q.tcp_bhash2_deviate = (m->kb.tcp_bhash2_meets ^ RULES_B2_FIXED) & RULES_B2_MODELLED &
				  ~p->q.tcp_bhash2_unsure;
	p->q.tcp_mapped_any_unseen = m->kb.tcp_mapped_any_unseen == 1 ? RULES_MAPPED_ANY_V6 : 0;
	if (!ports)
		return -ENOMEM;
	all_ports = !q->c.lport || q->op == RULES_OP_CONNECT;
	err = predict_view(m, q->c.netns, q->c.protocol, all_ports ? -1 : q->c.lport, now,
			   &p->view);
	if (err)
		goto out;
	err = -ENOMEM;
	if (q->c.protocol == IPPROTO_TCP && q->c.lport && q->op != RULES_OP_CONNECT)
		t.port_gone = !port_held(&p->view, q->c.lport);
	if (!q->c.lport || q->op == RULES_OP_CONNECT || q->c.protocol == IPPROTO_TCP)
		p->have_range = !monitor_ports(m, q->c.netns, ports);
	if (!p->have_range)
		rules_ports_parse(ports, "32768 60999", NULL); /* the kernel's default */
	rules_ports_narrow(ports, q->sk_range_lo, q->sk_range_hi);
	if (!q->c.lport && q->c.protocol == IPPROTO_TCP && q->op == RULES_OP_BIND)
		p->q.autobind_reuse =
			monitor_sysctl_int(m, q->c.netns, "net/ipv4/ip_autobind_reuse", 0);
	p->range_lo = ports->lo;
	p->range_hi = ports->hi;
	if (p->q.tcp_mapped_any_unseen && q->c.protocol == IPPROTO_TCP && q->c.lport)
		mapped_any_bucket(p);
	/* a bind, or the bind(2) before the listen or connect of a new socket */
	if (q->op == RULES_OP_BIND || (!q->self && q->c.lport))
		bind_env(m, &p->q, p->cgroup_progs, sizeof(p->cgroup_progs), now, p);
	if (q->op == RULES_OP_CONNECT) {
		p->q.tw_reuse = monitor_sysctl_int(m, q->c.netns, "net/ipv4/tcp_tw_reuse", 2);
		p->q.timestamps = monitor_sysctl_int(m, q->c.netns, "net/ipv4/tcp_timestamps", 1);
	}
	socks = malloc((p->view.n ? p->view.n : 1) * sizeof(*socks));
	if (!socks)
		goto out;
	for (size_t i = 0; i < p->view.n; i++)
		socks[i] = p->view.h[i].sk;
	if (all_ports && q->c.protocol == IPPROTO_TCP) {
		t.held = calloc(65536 / 8, 1);
		if (!t.held)
			goto out;
		for (size_t i = 0; i < p->view.n; i++)
			t.held[socks[i].lport / 8] |= (uint8_t)(1u << (socks[i].lport % 8));
	}

	if (p->q.op == RULES_OP_LISTEN && !p->q.self && p->q.c.lport) {
		/* a new socket: bind first, then listen with it in the bucket */
		struct rules_query bq = p->q;

		bq.op = RULES_OP_BIND;
		bq.c.state = PW_TCP_CLOSE;
		rules_predict(&bq, socks, p->view.n, tb_of, &t, ports, &p->r);
		if (p->r.ok && p->q.c.protocol == IPPROTO_TCP) {
			const struct rules_tb *tb = tb_of(p->q.c.lport, &t);

			if (tb)
				after = *tb;
			else
				after.fastreuse = after.fastreuseport = -1;
			rules_tb_join(&after, !tb && t.port_gone, &bq.c);
			t.after = &after;
			rules_predict(&p->q, socks, p->view.n, tb_of, &t, ports, &p->r);
		} else if (!p->r.ok) {
			p->q.op = RULES_OP_BIND;
		}
	} else if (p->q.op == RULES_OP_CONNECT && !p->q.self && p->q.c.lport) {
		/* a new socket: bind(ADDR:PORT) first, then connect */
		struct rules_query bq = p->q;

		bq.op = RULES_OP_BIND;
		bq.c.rport = 0;
		memset(bq.c.raddr, 0, sizeof(bq.c.raddr));
		rules_predict(&bq, socks, p->view.n, tb_of, &t, ports, &p->r);
		if (p->r.ok)
			rules_predict(&p->q, socks, p->view.n, tb_of, &t, ports, &p->r);
		else
			p->q.op = RULES_OP_BIND;
	} else {
		rules_predict(&p->q, socks, p->view.n, tb_of, &t, ports, &p->r);
	}

	for (size_t i = 0; i < p->r.nblockers && i < RULES_MAX_BLOCKERS; i++)
		if (p->view.h[p->r.blockers[i]].sk.state == PW_TCP_TIME_WAIT) {
			read_expiry(m, &p->view, p->q.c.lport);
			break;
		}
	for (size_t i = 0; i < p->r.nblockers && i < RULES_MAX_BLOCKERS; i++) {
		const struct pw_holder *h = &p->view.h[p->r.blockers[i]];
		long s = (long)(((uint64_t)h->tw_expires_ms + 999) / 1000);

		if (h->sk.state == PW_TCP_TIME_WAIT && h->tw_expires_ms != UINT32_MAX &&
		    s > p->tw_wait_s)
			p->tw_wait_s = s;
	}
	l3mdev_caveat(m, p);
	put_texts(p, ports);
	err = 0;
out:
	free(t.held);
	free(socks);
	free(ports);
	if (err)
		predict_free(p);
	return err;
}

void predict_free(struct pw_prediction *p)
{
	predict_view_free(&p->view);
}

static int nothing(void *arg)
{
	(void)arg;
	return 0;
}

int predict_netns_held(struct pw_monitor *m, uint32_t netns)
{
	return m->snap ? snap_netns_call(m->snap, netns, nothing, NULL) : 0;
}

struct devindex_call {
	const char *name;
	uint32_t ifindex;
};

static int devindex_fn(void *arg)
{
	struct devindex_call *d = arg;

	d->ifindex = if_nametoindex(d->name);
	return d->ifindex ? 0 : -ENODEV;
}

int predict_device_index(struct pw_monitor *m, uint32_t netns, const char *name,
			 uint32_t *ifindex)
{
	struct devindex_call d = { .name = name };
	int err = m->snap ? snap_netns_call(m->snap, netns, devindex_fn, &d) : devindex_fn(&d);

	*ifindex = d.ifindex;
	return err;
}
