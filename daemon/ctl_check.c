// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ctl_check.c - the `check` command: a dry run of bind(2), listen(2) or
 * connect(2) for a socket with given options in a given network
 * namespace, answered by the rule engine (rules_predict()) against what
 * the kernel holds right now: the table (owners, flags, bind order), the
 * sockets only the kernel knows (TIME_WAIT entries, accepted children,
 * autobound clients: one namespace walk) and, for TIME_WAIT blockers,
 * their remaining time from sock_diag (idiag_expires).
 *
 * Pending ring-buffer events are consumed first, so that every call
 * that returned before the request is in the table.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "addr.h"
#include "ctl_cmd.h"
#include "diag.h"
#include "log.h"
#include "pwjson.h"
#include "pwname.h"
#include "report.h"
#include "rules.h"
#include "snap.h"

json_object *ctl_cmd_check(struct ctl_cmd_ctx *ctx, json_object *req, json_object *ok);

/* A socket the kernel holds in the netns, with its table entry when there is one. */
struct holder {
	struct pw_sock sk;
	const struct pw_entry *e; /* borrowed from the table; NULL: kernel only */
};

struct check {
	struct pw_monitor *m;
	struct rules_query q;
	struct holder *h;
	size_t n, cap;
	int all_ports; /* port 0 or autobind: every port of the protocol matters */
	const struct rules_tb *tb_override; /* listen after a hypothetical bind */
	uint8_t *held;        /* bitmap of the ports some holder is on (all_ports) */
	long tw_wait_s;
	uint32_t *tw_expires; /* per holder, ms; UINT32_MAX unknown */
};

static int push(struct check *c, const struct pw_sock *sk, const struct pw_entry *e)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct holder *v = realloc(c->h, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->h = v;
		c->cap = cap;
	}
	c->h[c->n].sk = *sk;
	c->h[c->n].e = e;
	c->n++;
	return 0;
}

static int take_entry(struct pw_entry *e, void *arg)
{
	struct check *c = arg;

	if (e->sk.netns != c->q.c.netns || e->sk.protocol != c->q.c.protocol)
		return 0;
	return push(c, &e->sk, e);
}

/* The order udp_lib_lport_inuse() meets sockets in (rules_udp_chain_before()). */
static int cmp_chain(const void *a, const void *b)
{
	const struct holder *x = a, *y = b;

	if (x->e->since_ns == y->e->since_ns && x->sk.inode == y->sk.inode)
		return 0;
	if (x->e->since_ns == y->e->since_ns)
		return x->sk.inode > y->sk.inode ? -1 : 1;
	return rules_udp_chain_before(x->e->udp_tail, x->e->since_ns, y->e->udp_tail,
				      y->e->since_ns) ?
		       -1 :
		       1;
}

static const struct rules_tb *tb_of(uint16_t port, void *arg)
{
	struct check *c = arg;

	if (c->tb_override && port == c->q.c.lport)
		return c->tb_override;
	if (c->held && !(c->held[port / 8] >> (port % 8) & 1)) {
		/* no socket on the port: its bucket is gone, whatever we recorded */
		monitor_tb_forget(c->m, c->q.c.netns, port);
		return NULL;
	}
	return monitor_tb(c->m, c->q.c.netns, port);
}


static int tw_seen(const struct pw_sock *sk, uint32_t expires_ms, void *arg)
{
	struct check *c = arg;

	for (size_t i = 0; i < c->n; i++) {
		const struct pw_sock *h = &c->h[i].sk;

		if (h->state == PW_TCP_TIME_WAIT && h->lport == sk->lport &&
		    h->rport == sk->rport && h->family == sk->family &&
		    !memcmp(h->laddr, sk->laddr, 16) && !memcmp(h->raddr, sk->raddr, 16))
			c->tw_expires[i] = expires_ms;
	}
	return 0;
}

static int diag_open_fn(void *arg)
{
	int fd = diag_open();

	*(int *)arg = fd;
	return fd < 0 ? fd : 0;
}

/* Remaining TIME_WAIT time of the holders on the port, from sock_diag. */
static void read_expiry(struct check *c)
{
	struct pw_monitor *m = c->m;
	int fd = -1, err;

	c->tw_expires = malloc((c->n ? c->n : 1) * sizeof(*c->tw_expires));
	if (!c->tw_expires)
		return;
	for (size_t i = 0; i < c->n; i++)
		c->tw_expires[i] = UINT32_MAX;
	err = m->snap ? snap_netns_call(m->snap, c->q.c.netns, diag_open_fn, &fd) :
			diag_open_fn(&fd);
	if (err || fd < 0) {
		log_debug("check: sock_diag socket in netns %u: %s", c->q.c.netns,
			  strerror(err ? -err : EBADF));
		return;
	}
	err = diag_time_wait(fd, c->q.c.netns, c->q.c.lport, tw_seen, c);
	if (err < 0)
		log_debug("check: TIME_WAIT dump of netns %u: %s", c->q.c.netns, strerror(-err));
}

static json_object *blocker_json(struct check *c, size_t i)
{
	struct pw_entry e = { .sk = c->h[i].sk };
	json_object *o;

	if (c->h[i].e) {
		e = *c->h[i].e;
		e.sk = c->h[i].sk;
	}
	o = pwj_socket(&e);
	json_object_object_add(o, "rule",
			       json_object_new_string(c->q.op == RULES_OP_CONNECT ?
							      "four_tuple" :
							      rules_block_rule(&c->q.c, &e.sk)));
	if (c->h[i].sk.state == PW_TCP_TIME_WAIT && c->tw_expires &&
	    c->tw_expires[i] != UINT32_MAX)
		json_object_object_add(o, "expires_s",
				       json_object_new_int64((c->tw_expires[i] + 999) / 1000));
	return o;
}

static int opt_bool(json_object *req, const char *key, uint8_t *out, char *err, size_t len)
{
	json_object *v;

	if (!json_object_object_get_ex(req, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_boolean)) {
		snprintf(err, len, "\"%s\" must be true or false", key);
		return -EINVAL;
	}
	*out = (uint8_t)json_object_get_boolean(v);
	return 0;
}

static int opt_addr(json_object *req, const char *key, int required, uint16_t *family,
		    uint8_t addr[16], char *err, size_t len)
{
	json_object *v;

	if (!json_object_object_get_ex(req, key, &v)) {
		if (required)
			snprintf(err, len, "\"check\" needs \"%s\": an IPv4 or IPv6 address", key);
		return required ? -EINVAL : 1;
	}
	if (!json_object_is_type(v, json_type_string) ||
	    pw_addr_pton(json_object_get_string(v), family, addr)) {
		snprintf(err, len, "\"%s\": not an IPv4 or IPv6 address", key);
		return -EINVAL;
	}
	return 0;
}

/* Parse the request into c->q. 0, or a message in err and -EINVAL. */
static int parse(struct check *c, json_object *req, char *err, size_t len)
{
	struct pw_sock *s = &c->q.c;
	int64_t port = -1, uid = 0, netns = 0, pid = 0, rport = -1, inode = 0;
	uint8_t listen = 0;
	uint16_t rfamily;
	const char *proto;
	json_object *v;
	int r;

	memset(&c->q, 0, sizeof(c->q));
	if (!json_object_object_get_ex(req, "proto", &v) || !json_object_is_type(v, json_type_string) ||
	    (strcmp((proto = json_object_get_string(v)), "tcp") && strcmp(proto, "udp"))) {
		snprintf(err, len, "\"check\" needs \"proto\": \"tcp\" or \"udp\"");
		return -EINVAL;
	}
	s->protocol = !strcmp(proto, "tcp") ? IPPROTO_TCP : IPPROTO_UDP;
	if (opt_addr(req, "addr", 1, &s->family, s->laddr, err, len) ||
	    ctl_opt_int(req, "port", 0, 65535, &port, err, len) ||
	    ctl_opt_int(req, "uid", 0, UINT32_MAX - 1, &uid, err, len) ||
	    ctl_opt_int(req, "netns", 1, UINT32_MAX, &netns, err, len) ||
	    ctl_opt_int(req, "pid", 1, 4194304, &pid, err, len) ||
	    ctl_opt_int(req, "rport", 1, 65535, &rport, err, len) ||
	    ctl_opt_int(req, "inode", 1, INT64_MAX, &inode, err, len) ||
	    opt_bool(req, "reuseaddr", &s->reuseaddr, err, len) ||
	    opt_bool(req, "reuseport", &s->reuseport, err, len) ||
	    opt_bool(req, "v6only", &s->v6only, err, len) ||
	    opt_bool(req, "listen", &listen, err, len))
		return -EINVAL;
	if (port < 0) {
		snprintf(err, len, "\"check\" needs \"port\": an integer from 0 to 65535");
		return -EINVAL;
	}
	if (listen && s->protocol != IPPROTO_TCP) {
		snprintf(err, len, "\"listen\" is for TCP sockets");
		return -EINVAL;
	}
	if (netns && pid) {
		snprintf(err, len, "\"netns\" and \"pid\" exclude each other");
		return -EINVAL;
	}
	r = opt_addr(req, "raddr", 0, &rfamily, s->raddr, err, len);
	if (r < 0)
		return r;
	if ((r == 0) != (rport > 0)) {
		snprintf(err, len, "a connect check needs both \"raddr\" and \"rport\"");
		return -EINVAL;
	}
	if (r == 0 && (listen || s->protocol != IPPROTO_TCP)) {
		snprintf(err, len, "\"raddr\" (connect) is for TCP sockets, without \"listen\"");
		return -EINVAL;
	}
	if (s->family == AF_INET6 && pw_addr_is_v4mapped(s->laddr) && s->v6only) {
		snprintf(err, len, "an IPV6_V6ONLY socket cannot bind a v4-mapped address (EINVAL)");
		return -EINVAL;
	}
	if (pid) {
		char path[64];
		struct stat st;

		snprintf(path, sizeof(path), "/proc/%lld/ns/net", (long long)pid);
		if (stat(path, &st)) {
			snprintf(err, len, "\"pid\": no process %lld", (long long)pid);
			return -EINVAL;
		}
		netns = (int64_t)st.st_ino;
	}
	/* inet6_bind(): a specific non-mapped IPv6 address implies IPV6_V6ONLY */
	if (s->family == AF_INET6 && !pw_addr_is_any(AF_INET6, s->laddr) &&
	    !pw_addr_is_v4mapped(s->laddr))
		s->v6only = 1;
	if (s->family == AF_INET)
		s->v6only = 0;
	s->lport = (uint16_t)port;
	s->sk_uid = (uint32_t)uid;
	s->netns = netns ? (uint32_t)netns : c->m->snap ? snap_self_netns(c->m->snap) : 0;
	s->state = listen ? PW_TCP_LISTEN : PW_TCP_CLOSE;
	s->rport = rport > 0 ? (uint16_t)rport : 0;
	c->q.self = (uint64_t)inode;
	c->q.op = r == 0 ? RULES_OP_CONNECT : listen ? RULES_OP_LISTEN : RULES_OP_BIND;
	c->q.udp_walk = c->m->kb.udp_walk;
	c->q.tcp_mapped_any_unseen =
		c->m->kb.tcp_mapped_any_unseen == 1 ? RULES_MAPPED_ANY_V6 : 0;
	return 0;
}

/*
 * Gather the holders of the netns; 0 or -ENOMEM. An answer about "right
 * now" takes the kernel's word: one fresh walk gives every socket with
 * the flags, state and bind origin it has, and the table adds who owns
 * it, when it was bound and its UDP chain place. A table entry the walk
 * does not show is gone (its release was missed, e.g. when its slot in
 * the kernel side's tracked array was taken over: event.h); a walk that
 * failed leaves the table's word.
 */
static int gather(struct check *c, uint64_t now)
{
	struct pw_monitor *m = c->m;
	const struct pw_sock *v, *all;
	size_t n, nall, ntable;
	int err;

	v = monitor_kernel_extra(m, c->q.c.netns, now, 0, &n);
	all = monitor_kernel_all(m, c->q.c.netns, &nall);
	if (c->all_ports)
		err = table_foreach(m->table, take_entry, c);
	else
		err = table_foreach_port(m->table, c->q.c.netns, c->q.c.protocol, c->q.c.lport,
					 take_entry, c);
	if (err < 0)
		return err;
	ntable = c->n;
	if (all) {
		size_t k = 0;

		for (size_t i = 0; i < ntable; i++) {
			struct holder *h = &c->h[i];
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
			c->h[k++] = *h;
		}
		c->n = ntable = k;
	}
	if (ntable > 1)
		qsort(c->h, ntable, sizeof(*c->h), cmp_chain);
	for (size_t i = 0; i < n; i++)
		if (v[i].protocol == c->q.c.protocol && (c->all_ports || v[i].lport == c->q.c.lport))
			if (push(c, &v[i], NULL))
				return -ENOMEM;
	return 0;
}

static void put_prediction(struct check *c, const struct rules_prediction *p,
			   const struct rules_ports *ports, int have_ports, json_object *ok)
{
	json_object *o = json_object_new_object(), *b = json_object_new_array(), *r;
	const struct pw_sock *first = p->nblockers ? &c->h[p->blockers[0]].sk : NULL;
	char advice[PW_MSG_LEN], why[PW_MSG_LEN], eb[16];
	size_t nb = p->nblockers < RULES_MAX_BLOCKERS ? p->nblockers : RULES_MAX_BLOCKERS;
	const struct pw_entry *fe = NULL;
	struct pw_entry tmp;

	for (size_t i = 0; i < nb; i++) {
		size_t k = p->blockers[i];

		json_object_array_add(b, blocker_json(c, k));
		if (c->h[k].sk.state == PW_TCP_TIME_WAIT && c->tw_expires &&
		    c->tw_expires[k] != UINT32_MAX &&
		    (long)((c->tw_expires[k] + 999) / 1000) > c->tw_wait_s)
			c->tw_wait_s = (long)((c->tw_expires[k] + 999) / 1000);
	}
	json_object_object_add(o, "ok", json_object_new_boolean(p->ok));
	json_object_object_add(o, "uncertain", json_object_new_boolean(p->uncertain));
	json_object_object_add(o, "op", json_object_new_string(rules_op_name(c->q.op)));
	json_object_object_add(o, "netns", json_object_new_int64(c->q.c.netns));
	json_object_object_add(o, "rule", p->ok ? NULL : json_object_new_string(p->rule));
	json_object_object_add(o, "errno_name",
			       p->ok ? NULL : json_object_new_string(pw_errno_name(p->err, eb)));
	json_object_object_add(o, "blockers", b);
	json_object_object_add(o, "nblockers", json_object_new_int64((int64_t)p->nblockers));
	if (p->uncertain) {
		int n = snprintf(advice, sizeof(advice), "%s",
				 p->uncertain == RULES_UNCERTAIN_UDP_WALK ?
					 "A socket that shares the port through SO_REUSEPORT comes "
					 "first, and whether this kernel's UDP bind check stops there "
					 "or goes on to the sockets listed is unknown (the start-up "
					 "trial could not tell): the call may fail. " :
					 "The range has an odd number of ports and only its first or "
					 "last port is free, which the kernel tries or not depending "
					 "on a random starting point: the call may fail. ");

		rules_advice(advice + n, sizeof(advice) - (size_t)n, p->rule, &c->q, first,
			     c->tw_wait_s, have_ports ? ports : NULL);
	} else {
		rules_advice(advice, sizeof(advice), p->ok ? NULL : p->rule, &c->q, first,
			     c->tw_wait_s, have_ports ? ports : NULL);
	}
	json_object_object_add(o, "advice", json_object_new_string(advice));
	if (first) {
		fe = c->h[p->blockers[0]].e;
		if (!fe) {
			memset(&tmp, 0, sizeof(tmp));
			tmp.sk = *first;
			fe = &tmp;
		}
	}
	if (!p->ok) {
		rules_explain(why, sizeof(why), p->rule, fe);
		if (why[0] >= 'a' && why[0] <= 'z')
			why[0] = (char)(why[0] - 'a' + 'A');
		json_object_object_add(o, "explanation", pwj_text(why));
	}
	if (have_ports && !c->q.c.lport) {
		r = json_object_new_array();
		json_object_array_add(r, json_object_new_int(ports->lo));
		json_object_array_add(r, json_object_new_int(ports->hi));
		json_object_object_add(o, "range", r);
		json_object_object_add(o, "free_ports", json_object_new_int64(p->free_ports));
		json_object_object_add(o, "in_use", json_object_new_int64(p->in_use));
	}
	json_object_object_add(ok, "prediction", o);
}

/*
 * On a kernel with rules_query.tcp_mapped_any_unseen: which family made
 * the IPv4-wildcard bhash2 bucket of the queried TCP port? The bucket goes
 * when its last socket does, so its maker is the oldest of the 0.0.0.0 and
 * ::ffff:0.0.0.0 sockets bound there now (by the table's bind times).
 */
static void mapped_any_bucket(struct check *c)
{
	const struct holder *oldest = NULL;

	for (size_t i = 0; i < c->n; i++) {
		const struct holder *h = &c->h[i];
		const uint8_t *v4 = h->sk.family == AF_INET6 ? h->sk.laddr + 12 : h->sk.laddr;

		if (h->sk.protocol != IPPROTO_TCP || h->sk.lport != c->q.c.lport ||
		    (h->sk.family == AF_INET6 && !pw_addr_is_v4mapped(h->sk.laddr)) ||
		    v4[0] | v4[1] | v4[2] | v4[3])
			continue;
		if (!h->e) /* a socket only the kernel walk shows: no bind time */
			return;
		if (!oldest || h->e->since_ns < oldest->e->since_ns)
			oldest = h;
	}
	if (oldest)
		c->q.tcp_mapped_any_unseen =
			oldest->sk.family == AF_INET6 ? RULES_MAPPED_ANY_BUCKET : 0;
}

/* Does any socket in c->h sit on the queried TCP port? */
static int port_held(const struct check *c)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->h[i].sk.lport == c->q.c.lport)
			return 1;
	return 0;
}

/*
 * The prediction object for c->q (parsed), as docs/protocol.md describes
 * `check`'s "prediction"; NULL on ENOMEM.
 */
static json_object *predict(struct ctl_cmd_ctx *ctx, struct check *cp)
{
	struct check c = *cp;
	struct rules_prediction p;
	struct rules_ports *ports = calloc(1, sizeof(*ports));
	struct pw_sock *v = NULL;
	struct rules_tb after;
	json_object *out = NULL;
	int have_ports = 0;
	uint64_t now;

	if (!ports)
		return NULL;
	if (ctx->bpf)
		pwbpf_consume(ctx->bpf);
	now = monitor_now();
	c.all_ports = !c.q.c.lport || (c.q.op == RULES_OP_CONNECT);
	if (gather(&c, now))
		goto out;
	if (c.q.c.protocol == IPPROTO_TCP && c.q.c.lport && c.q.op != RULES_OP_CONNECT &&
	    !port_held(&c))
		monitor_tb_forget(c.m, c.q.c.netns, c.q.c.lport); /* the bucket is gone */
	if (!c.q.c.lport || c.q.op == RULES_OP_CONNECT || c.q.c.protocol == IPPROTO_TCP)
		have_ports = !monitor_ports(c.m, c.q.c.netns, ports);
	if (!have_ports)
		rules_ports_parse(ports, "32768 60999", NULL); /* the kernel's default */
	if (c.q.tcp_mapped_any_unseen && c.q.c.protocol == IPPROTO_TCP && c.q.c.lport)
		mapped_any_bucket(&c);
	if (c.q.op == RULES_OP_CONNECT) {
		c.q.tw_reuse = monitor_sysctl_int(c.m, c.q.c.netns, "net/ipv4/tcp_tw_reuse", 2);
		c.q.timestamps = monitor_sysctl_int(c.m, c.q.c.netns, "net/ipv4/tcp_timestamps", 1);
	}
	v = malloc((c.n ? c.n : 1) * sizeof(*v));
	if (!v)
		goto out;
	for (size_t i = 0; i < c.n; i++)
		v[i] = c.h[i].sk;
	if (c.all_ports && c.q.c.protocol == IPPROTO_TCP) {
		c.held = calloc(65536 / 8, 1);
		for (size_t i = 0; c.held && i < c.n; i++)
			c.held[v[i].lport / 8] |= (uint8_t)(1u << (v[i].lport % 8));
	}

	if (c.q.op == RULES_OP_LISTEN && !c.q.self && c.q.c.lport) {
		/* a new socket: bind first, then listen with it in the bucket */
		struct rules_query bq = c.q;

		bq.op = RULES_OP_BIND;
		bq.c.state = PW_TCP_CLOSE;
		rules_predict(&bq, v, c.n, tb_of, &c, ports, &p);
		if (p.ok && c.q.c.protocol == IPPROTO_TCP) {
			const struct rules_tb *tb = monitor_tb(c.m, c.q.c.netns, c.q.c.lport);

			if (tb)
				after = *tb;
			else
				after.fastreuse = after.fastreuseport = -1;
			rules_tb_join(&after, !tb && !port_held(&c), &bq.c);
			c.tb_override = &after;
			rules_predict(&c.q, v, c.n, tb_of, &c, ports, &p);
		} else if (!p.ok) {
			c.q.op = RULES_OP_BIND;
		}
	} else if (c.q.op == RULES_OP_CONNECT && !c.q.self && c.q.c.lport) {
		/* a new socket: bind(ADDR:PORT) first, then connect */
		struct rules_query bq = c.q;

		bq.op = RULES_OP_BIND;
		bq.c.rport = 0;
		memset(bq.c.raddr, 0, sizeof(bq.c.raddr));
		rules_predict(&bq, v, c.n, tb_of, &c, ports, &p);
		if (p.ok)
			rules_predict(&c.q, v, c.n, tb_of, &c, ports, &p);
		else
			c.q.op = RULES_OP_BIND;
	} else {
		rules_predict(&c.q, v, c.n, tb_of, &c, ports, &p);
	}
	for (size_t i = 0; i < p.nblockers && i < RULES_MAX_BLOCKERS; i++)
		if (c.h[p.blockers[i]].sk.state == PW_TCP_TIME_WAIT) {
			read_expiry(&c);
			break;
		}
	out = json_object_new_object();
	put_prediction(&c, &p, ports, have_ports, out);
out:
	free(c.held);
	free(c.tw_expires);
	free(v);
	free(c.h);
	free(ports);
	return out;
}

json_object *ctl_check_predict(struct ctl_cmd_ctx *ctx, const struct rules_query *q)
{
	struct check c = { .m = ctx->mon, .tw_wait_s = -1, .q = *q };
	json_object *wrap, *pred = NULL;

	c.q.udp_walk = ctx->mon->kb.udp_walk;
	c.q.tcp_mapped_any_unseen =
		ctx->mon->kb.tcp_mapped_any_unseen == 1 ? RULES_MAPPED_ANY_V6 : 0;
	wrap = predict(ctx, &c);

	if (wrap && json_object_object_get_ex(wrap, "prediction", &pred))
		json_object_get(pred);
	json_object_put(wrap);
	return pred;
}

static int nothing(void *arg)
{
	(void)arg;
	return 0;
}

json_object *ctl_cmd_check(struct ctl_cmd_ctx *ctx, json_object *req, json_object *ok)
{
	struct check c = { .m = ctx->mon, .tw_wait_s = -1 };
	json_object *wrap, *pred;
	char err[200];
	int ret;

	if (parse(&c, req, err, sizeof(err))) {
		json_object_put(ok);
		return ctl_cmd_error(err);
	}
	/* an answer about a namespace nobody holds would be a guess */
	if (ctx->mon->snap &&
	    (ret = snap_netns_call(ctx->mon->snap, c.q.c.netns, nothing, NULL)) < 0) {
		snprintf(err, sizeof(err), "network namespace %u: %s", c.q.c.netns,
			 ret == -ENOENT ? "no process or /run/netns mount holds it" :
					  strerror(-ret));
		json_object_put(ok);
		return ctl_cmd_error(err);
	}
	wrap = predict(ctx, &c);
	if (!wrap || !json_object_object_get_ex(wrap, "prediction", &pred)) {
		json_object_put(wrap);
		json_object_put(ok);
		return ctl_cmd_error("out of memory");
	}
	json_object_object_add(ok, "prediction", json_object_get(pred));
	json_object_put(wrap);
	return ok;
}
