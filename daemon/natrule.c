// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* natrule.c - an nftables JSON ruleset -> diversions and Port Shadow facts; see natrule.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <json-c/json.h>

#include "addr.h"
#include "natrule.h"

/* A chain of the listing: where it hooks, directly or through jumps. */
struct chain {
	const char *family, *table, *name;
	uint8_t hooks;
};

/* A named set of the listing: its elements (borrowed from the parsed JSON). */
struct nset {
	const char *family, *table, *name;
	json_object *elem;
};

struct parse {
	json_object *items; /* the "nftables" array */
	struct chain *chains;
	size_t nchains;
	struct nset *sets;
	size_t nsets;
	struct natrule_set *out;
	size_t cap, mcap;
};

static const char *str_of(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string) ?
		       json_object_get_string(v) : NULL;
}

static json_object *member(json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_is_type(o, json_type_object) &&
			       json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static void copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

static uint8_t hook_bit(const char *hook)
{
	static const struct {
		const char *name;
		uint8_t bit;
	} hooks[] = {
		{ "prerouting", NATRULE_HOOK_PREROUTING }, { "output", NATRULE_HOOK_OUTPUT },
		{ "postrouting", NATRULE_HOOK_POSTROUTING }, { "forward", NATRULE_HOOK_FORWARD },
		{ "input", NATRULE_HOOK_INPUT },
	};

	for (size_t i = 0; hook && i < sizeof(hooks) / sizeof(hooks[0]); i++)
		if (!strcmp(hook, hooks[i].name))
			return hooks[i].bit;
	return 0;
}

static int same(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

/*
 * Chains and sets are sorted by (family, table, name) once collected, and
 * found by binary search: every rule looks its chain up, and a ruleset
 * that anyone may load in a namespace of its own can have thousands of
 * chains and tens of thousands of rules (a linear search per rule took
 * 1.4 s for 3,000 chains and 30,000 rules, each time the ruleset changed).
 */
struct key {
	const char *family, *table, *name;
};

static int cmp_text(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

static int cmp_key(const struct key *a, const struct key *b)
{
	int c = cmp_text(a->family, b->family);

	if (!c)
		c = cmp_text(a->table, b->table);
	return c ? c : cmp_text(a->name, b->name);
}

static int cmp_chain(const void *a, const void *b)
{
	const struct chain *x = a, *y = b;

	return cmp_key(&(struct key){ x->family, x->table, x->name },
		       &(struct key){ y->family, y->table, y->name });
}

static int cmp_set(const void *a, const void *b)
{
	const struct nset *x = a, *y = b;

	return cmp_key(&(struct key){ x->family, x->table, x->name },
		       &(struct key){ y->family, y->table, y->name });
}

static struct chain *find_chain(struct parse *p, const char *family, const char *table,
				const char *name)
{
	struct chain k = { .family = family, .table = table, .name = name };

	if (!family || !table || !name || !p->nchains)
		return NULL;
	return bsearch(&k, p->chains, p->nchains, sizeof(k), cmp_chain);
}

static json_object *find_set(struct parse *p, const char *family, const char *table,
			     const char *name)
{
	struct nset k = { .family = family, .table = table, .name = name }, *f;

	if (!family || !table || !name || !p->nsets)
		return NULL;
	f = bsearch(&k, p->sets, p->nsets, sizeof(k), cmp_set);
	return f ? f->elem : NULL;
}

/* ---- port matches ---- */

static void ports_add(struct natrule_ports *p, int64_t lo, int64_t hi)
{
	if (lo < 0 || hi > 65535 || lo > hi) {
		p->any = 1; /* not a port we can read */
		return;
	}
	if (p->n == NATRULE_RANGES) {
		p->any = 1;
		return;
	}
	p->r[p->n].lo = (uint16_t)lo;
	p->r[p->n].hi = (uint16_t)hi;
	p->n++;
}

/* One element of a port set or the right side of a match: number, range, element wrapper. */
static void ports_elem(struct natrule_ports *p, json_object *v)
{
	json_object *r;

	if (json_object_is_type(v, json_type_int)) {
		ports_add(p, json_object_get_int64(v), json_object_get_int64(v));
	} else if ((r = member(v, "range")) && json_object_is_type(r, json_type_array) &&
		   json_object_array_length(r) == 2 &&
		   json_object_is_type(json_object_array_get_idx(r, 0), json_type_int) &&
		   json_object_is_type(json_object_array_get_idx(r, 1), json_type_int)) {
		ports_add(p, json_object_get_int64(json_object_array_get_idx(r, 0)),
			  json_object_get_int64(json_object_array_get_idx(r, 1)));
	} else if ((r = member(member(v, "elem"), "val"))) {
		ports_elem(p, r); /* an element with timeout, counter or comment */
	} else {
		p->any = 1;
	}
}

static void ports_list(struct natrule_ports *p, json_object *arr)
{
	if (!json_object_is_type(arr, json_type_array)) {
		if (arr)
			ports_elem(p, arr);
		else
			p->any = 1;
		return;
	}
	for (size_t i = 0; i < json_object_array_length(arr); i++)
		ports_elem(p, json_object_array_get_idx(arr, i));
}

/* The ports a match's right side and operator admit. */
static void ports_match(struct parse *p, const char *family, const char *table, const char *op,
			json_object *right, struct natrule_ports *out)
{
	struct natrule_ports v = { 0 };
	json_object *set;
	int64_t n;

	memset(out, 0, sizeof(*out));
	if (json_object_is_type(right, json_type_string) && json_object_get_string(right)[0] == '@')
		ports_list(&v, find_set(p, family, table, json_object_get_string(right) + 1));
	else if ((set = member(right, "set")))
		ports_list(&v, set);
	else
		ports_elem(&v, right);
	if (v.any) {
		out->any = 1;
		return;
	}
	if (!strcmp(op, "==") || !strcmp(op, "in")) {
		*out = v;
	} else if (!strcmp(op, "!=")) {
		*out = v;
		out->neg = 1;
	} else if (v.n == 1 && v.r[0].lo == v.r[0].hi) {
		n = v.r[0].lo;
		if (!strcmp(op, "<"))
			ports_add(out, 0, n - 1);
		else if (!strcmp(op, "<="))
			ports_add(out, 0, n);
		else if (!strcmp(op, ">"))
			ports_add(out, n + 1, 65535);
		else if (!strcmp(op, ">="))
			ports_add(out, n, 65535);
		else
			out->any = 1;
	} else {
		out->any = 1;
	}
}

int natrule_ports_has(const struct natrule_ports *p, uint16_t port)
{
	int in = 0;

	if (p->any)
		return 1;
	for (size_t i = 0; i < p->n && !in; i++)
		in = port >= p->r[i].lo && port <= p->r[i].hi;
	return p->neg ? !in : in;
}

/* ---- protocol and address matches ---- */

static uint8_t proto_bit(json_object *v)
{
	const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
	int n = json_object_is_type(v, json_type_int) ? json_object_get_int(v) : -1;

	if (!strcmp(s, "tcp") || n == IPPROTO_TCP)
		return NATRULE_TCP;
	if (!strcmp(s, "udp") || n == IPPROTO_UDP)
		return NATRULE_UDP;
	return 0x80; /* another protocol: neither */
}

static uint8_t protos_of(const char *op, json_object *right)
{
	json_object *set = member(right, "set");
	uint8_t b = 0;

	if (set && json_object_is_type(set, json_type_array))
		for (size_t i = 0; i < json_object_array_length(set); i++)
			b |= proto_bit(json_object_array_get_idx(set, i));
	else
		b = proto_bit(right);
	if (!strcmp(op, "!="))
		b = (uint8_t)(~b & (NATRULE_TCP | NATRULE_UDP));
	b &= NATRULE_TCP | NATRULE_UDP;
	return b ? b : 0x80;
}

static int addr_one(json_object *v, struct natrule_addr *a)
{
	json_object *pfx = member(v, "prefix");
	const char *s;
	int len = -1;

	if (pfx) {
		s = str_of(pfx, "addr");
		len = json_object_get_int(member(pfx, "len"));
	} else {
		s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
	}
	if (!s || pw_addr_pton(s, &a->family, a->addr))
		return -1;
	a->plen = (uint8_t)(len >= 0 ? len : a->family == AF_INET ? 32 : 128);
	return 0;
}

/* Destination addresses of a match into r; on anything unreadable: any. */
static void daddr_match(struct natrule *r, const char *op, json_object *right)
{
	json_object *set = member(right, "set");
	size_t n = set && json_object_is_type(set, json_type_array) ? json_object_array_length(set) : 1;

	if (strcmp(op, "==") && strcmp(op, "in"))
		return; /* != or an order: takes more than we can say; any */
	if (n > NATRULE_ADDRS)
		return;
	r->ndaddr = 0;
	for (size_t i = 0; i < n; i++) {
		json_object *v = set ? json_object_array_get_idx(set, i) : right;

		if (addr_one(v, &r->daddr[r->ndaddr])) {
			r->ndaddr = 0;
			return;
		}
		r->ndaddr++;
	}
}

static int prefix_has(const struct natrule_addr *a, uint16_t family, const uint8_t *addr)
{
	unsigned int bytes = a->plen / 8, bits = a->plen % 8;

	if (a->family != family)
		return 0;
	if (memcmp(a->addr, addr, bytes))
		return 0;
	return !bits || !((a->addr[bytes] ^ addr[bytes]) & (0xff << (8 - bits)));
}

/* ---- rules ---- */

/* What one rule's matches say, for diversions and mitigations alike. */
struct matches {
	uint8_t protos;
	struct natrule_ports dport, sport;
	int conditions;
};

static void read_match(struct parse *p, const char *family, const char *table, json_object *m,
		       struct matches *mt, struct natrule *r)
{
	const char *op = str_of(m, "op");
	json_object *left = member(m, "left"), *right = member(m, "right");
	json_object *pl = member(left, "payload"), *meta = member(left, "meta");
	const char *proto = str_of(pl, "protocol"), *field = str_of(pl, "field");
	const char *key = str_of(meta, "key");

	if (!op)
		op = "==";
	if (r && pl && proto && (!strcmp(proto, "ip") || !strcmp(proto, "ip6")))
		r->l3 = proto[2] == '6' ? 6 : 4;
	if (pl && proto && field) {
		if ((!strcmp(proto, "tcp") || !strcmp(proto, "udp")) && mt->protos == 0)
			mt->protos = !strcmp(proto, "tcp") ? NATRULE_TCP : NATRULE_UDP;
		if (!strcmp(field, "dport") &&
		    (!strcmp(proto, "tcp") || !strcmp(proto, "udp") || !strcmp(proto, "th"))) {
			ports_match(p, family, table, op, right, &mt->dport);
			return;
		}
		if (!strcmp(field, "sport") &&
		    (!strcmp(proto, "tcp") || !strcmp(proto, "udp") || !strcmp(proto, "th"))) {
			ports_match(p, family, table, op, right, &mt->sport);
			return;
		}
		if ((!strcmp(proto, "ip") && !strcmp(field, "protocol")) ||
		    (!strcmp(proto, "ip6") && !strcmp(field, "nexthdr"))) {
			mt->protos = protos_of(op, right);
			return;
		}
		if (!strcmp(field, "daddr") && (!strcmp(proto, "ip") || !strcmp(proto, "ip6"))) {
			if (r)
				daddr_match(r, op, right);
			return;
		}
	}
	if (key && !strcmp(key, "l4proto")) {
		mt->protos = protos_of(op, right);
		return;
	}
	if (key && !strcmp(key, "nfproto") && !strcmp(op, "==") &&
	    json_object_is_type(right, json_type_string)) {
		if (r)
			r->l3 = !strcmp(json_object_get_string(right), "ipv6") ? 6 : 4;
		return;
	}
	if (key && (!strcmp(key, "nfproto") || !strcmp(key, "protocol")))
		return; /* the family: the socket's family decides */
	mt->conditions = 1;
}

static int push_rule(struct parse *p, const struct natrule *r)
{
	struct natrule_set *s = p->out;

	if (s->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 16;
		struct natrule *v = realloc(s->rules, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->rules = v;
		p->cap = cap;
	}
	s->rules[s->n++] = *r;
	return 0;
}

static int push_mit(struct parse *p, const struct natrule_mitigation *m)
{
	struct natrule_set *s = p->out;

	if (s->nmit == p->mcap) {
		size_t cap = p->mcap ? 2 * p->mcap : 8;
		struct natrule_mitigation *v = realloc(s->mit, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->mit = v;
		p->mcap = cap;
	}
	s->mit[s->nmit++] = *m;
	return 0;
}

static uint8_t origin_of(const char *chain)
{
	if (!strncmp(chain, "DOCKER", 6))
		return NATRULE_ORIGIN_DOCKER;
	if (!strncmp(chain, "KUBE-", 5))
		return NATRULE_ORIGIN_KUBE;
	return NATRULE_ORIGIN_OTHER;
}

/* The statement's target: address and port of dnat/tproxy, port of redirect. */
static void read_target(json_object *st, struct natrule *r)
{
	json_object *port = member(st, "port");
	const char *addr = str_of(st, "addr");

	if (port && json_object_is_type(port, json_type_int))
		r->to_port = (uint16_t)json_object_get_int(port);
	else if (member(port, "range")) /* a range of ports: its first */
		r->to_port = (uint16_t)json_object_get_int(
			json_object_array_get_idx(member(port, "range"), 0));
	if (addr && !pw_addr_pton(addr, &r->to_family, r->to_addr))
		r->to_has_addr = 1;
}

static int read_rule(struct parse *p, json_object *rule)
{
	const char *family = str_of(rule, "family"), *table = str_of(rule, "table");
	const char *chain_name = str_of(rule, "chain");
	json_object *expr = member(rule, "expr"), *h = member(rule, "handle");
	struct chain *c = find_chain(p, family, table, chain_name);
	struct matches mt = { 0 };
	struct natrule r = { 0 };
	int diverts = 0, err = 0;

	p->out->nrules_all++;
	if (!c || !expr || !json_object_is_type(expr, json_type_array))
		return 0;
	mt.dport.any = mt.sport.any = 1;
	for (size_t i = 0; i < json_object_array_length(expr); i++) {
		json_object *st = json_object_array_get_idx(expr, i), *v;
		struct natrule_mitigation m = { 0 };

		if ((v = member(st, "match"))) {
			read_match(p, family, table, v, &mt, &r);
		} else if (json_object_object_get_ex(st, "dnat", &v)) {
			r.action = NATRULE_DNAT;
			read_target(v, &r);
			diverts = 1;
		} else if (json_object_object_get_ex(st, "redirect", &v)) {
			r.action = NATRULE_REDIRECT;
			read_target(v, &r);
			diverts = 1;
		} else if (json_object_object_get_ex(st, "tproxy", &v)) {
			r.action = NATRULE_TPROXY;
			read_target(v, &r);
			diverts = 1;
		} else if ((v = member(st, "xt")) && same(str_of(v, "type"), "target") &&
			   (same(str_of(v, "name"), "DNAT") || same(str_of(v, "name"), "REDIRECT") ||
			    same(str_of(v, "name"), "TPROXY"))) {
			r.action = NATRULE_XT;
			copy(r.xt_name, sizeof(r.xt_name), str_of(v, "name"));
			diverts = 1;
		} else if (json_object_object_get_ex(st, "masquerade", &v) ||
			   json_object_object_get_ex(st, "snat", &v) ||
			   ((v = member(st, "xt")) && (same(str_of(v, "name"), "MASQUERADE") ||
						       same(str_of(v, "name"), "SNAT")))) {
			json_object *port = member(v, "port"), *rg = member(port, "range");

			if (!(c->hooks & NATRULE_HOOK_POSTROUTING))
				continue;
			if (!p->out->nsnat++)
				snprintf(p->out->snat_where, sizeof(p->out->snat_where),
					 "%s %s %s handle %lld", family, table, chain_name,
					 (long long)json_object_get_int64(h));
			if (rg || json_object_is_type(port, json_type_int)) {
				m.kind = NATRULE_MIT_REMAP;
				m.protos = mt.protos;
				m.ports = mt.sport;
				m.below = (uint16_t)json_object_get_int(
					rg ? json_object_array_get_idx(rg, 0) : port);
				err = push_mit(p, &m);
			}
		} else if (json_object_object_get_ex(st, "notrack", NULL) &&
			   (c->hooks & (NATRULE_HOOK_PREROUTING | NATRULE_HOOK_OUTPUT))) {
			m.kind = NATRULE_MIT_NOTRACK;
			m.protos = mt.protos;
			m.ports = c->hooks & NATRULE_HOOK_PREROUTING ? mt.dport : mt.sport;
			if (!m.ports.any)
				err = push_mit(p, &m);
		} else if ((json_object_object_get_ex(st, "drop", NULL) ||
			    json_object_object_get_ex(st, "reject", NULL)) &&
			   (c->hooks & NATRULE_HOOK_FORWARD) && !mt.sport.any) {
			m.kind = NATRULE_MIT_FILTER;
			m.protos = mt.protos;
			m.ports = mt.sport;
			err = push_mit(p, &m);
		}
		if (err)
			return err;
	}
	if (!diverts || !(c->hooks & (NATRULE_HOOK_PREROUTING | NATRULE_HOOK_OUTPUT)))
		return 0;
	if (r.action == NATRULE_TPROXY && !(c->hooks & NATRULE_HOOK_PREROUTING))
		return 0; /* nft_tproxy_validate(): prerouting only */
	copy(r.family, sizeof(r.family), family);
	copy(r.table, sizeof(r.table), table);
	copy(r.chain, sizeof(r.chain), chain_name);
	r.handle = (uint64_t)json_object_get_int64(h);
	r.hooks = c->hooks & (NATRULE_HOOK_PREROUTING | NATRULE_HOOK_OUTPUT);
	r.origin = origin_of(r.chain);
	r.protos = mt.protos;
	r.conditions = (uint8_t)mt.conditions;
	r.dport = mt.dport;
	natrule_summary(&r, r.text, sizeof(r.text));
	return push_rule(p, &r);
}

/* First pass: tables' chains (with their hooks) and named sets. */
static int collect(struct parse *p)
{
	size_t n = json_object_array_length(p->items), nc = 0, ns = 0;

	p->chains = calloc(n ? n : 1, sizeof(*p->chains));
	p->sets = calloc(n ? n : 1, sizeof(*p->sets));
	if (!p->chains || !p->sets)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		json_object *it = json_object_array_get_idx(p->items, i), *v;

		if ((v = member(it, "chain"))) {
			p->chains[nc].family = str_of(v, "family");
			p->chains[nc].table = str_of(v, "table");
			p->chains[nc].name = str_of(v, "name");
			p->chains[nc].hooks = hook_bit(str_of(v, "hook"));
			nc++;
		} else if ((v = member(it, "set")) || (v = member(it, "map"))) {
			p->sets[ns].family = str_of(v, "family");
			p->sets[ns].table = str_of(v, "table");
			p->sets[ns].name = str_of(v, "name");
			p->sets[ns].elem = member(v, "elem");
			ns++;
		}
	}
	p->nchains = nc;
	p->nsets = ns;
	qsort(p->chains, nc, sizeof(*p->chains), cmp_chain);
	qsort(p->sets, ns, sizeof(*p->sets), cmp_set);
	return 0;
}

/* Hooks flow along jump and goto (within a table) until nothing changes. */
static void propagate(struct parse *p)
{
	size_t n = json_object_array_length(p->items);

	for (size_t pass = 0, changed = 1; changed && pass <= p->nchains; pass++) {
		changed = 0;
		for (size_t i = 0; i < n; i++) {
			json_object *rule = member(json_object_array_get_idx(p->items, i), "rule");
			json_object *expr = member(rule, "expr");
			const char *family = str_of(rule, "family"), *table = str_of(rule, "table");
			struct chain *from = rule ? find_chain(p, family, table, str_of(rule, "chain")) :
						    NULL;

			if (!from || !from->hooks || !json_object_is_type(expr, json_type_array))
				continue;
			for (size_t k = 0; k < json_object_array_length(expr); k++) {
				json_object *st = json_object_array_get_idx(expr, k);
				json_object *j = member(st, "jump") ? member(st, "jump") : member(st, "goto");
				struct chain *to = j ? find_chain(p, family, table,
								  str_of(j, "target")) : NULL;

				if (to && (to->hooks | from->hooks) != to->hooks) {
					to->hooks |= from->hooks;
					changed = 1;
				}
			}
		}
	}
}

int natrule_parse(const char *json_text, struct natrule_set *s)
{
	struct parse p = { .out = s };
	json_object *root;
	int err = 0;

	memset(s, 0, sizeof(*s));
	root = json_tokener_parse(json_text);
	p.items = member(root, "nftables");
	if (!p.items || !json_object_is_type(p.items, json_type_array)) {
		json_object_put(root);
		return -EINVAL;
	}
	err = collect(&p);
	if (!err)
		propagate(&p);
	for (size_t i = 0; !err && i < json_object_array_length(p.items); i++) {
		json_object *rule = member(json_object_array_get_idx(p.items, i), "rule");

		if (rule)
			err = read_rule(&p, rule);
	}
	free(p.chains);
	free(p.sets);
	json_object_put(root);
	return err;
}

void natrule_set_free(struct natrule_set *s)
{
	free(s->rules);
	free(s->mit);
	memset(s, 0, sizeof(*s));
}

/* ---- text ---- */

/*
 * The rules by handle, for natrule_set_text(): one line of the text per
 * rule, so a linear search per line cost 460 ms for 30,000 diverting rules.
 */
struct by_handle {
	uint64_t handle;
	size_t i; /* index in s->rules */
};

static int cmp_handle(const void *a, const void *b)
{
	const struct by_handle *x = a, *y = b;

	return x->handle < y->handle ? -1 : x->handle > y->handle;
}

/* idx: s->n entries sorted by handle, or NULL (out of memory: a linear search). */
static struct natrule *rule_at(struct natrule_set *s, const struct by_handle *idx,
			       const char *family, const char *table, const char *chain,
			       uint64_t handle)
{
	size_t lo = 0, hi = s->n;

	if (!idx) {
		for (size_t i = 0; i < s->n; i++)
			if (s->rules[i].handle == handle && !strcmp(s->rules[i].chain, chain) &&
			    !strcmp(s->rules[i].table, table) && !strcmp(s->rules[i].family, family))
				return &s->rules[i];
		return NULL;
	}
	while (lo < hi) { /* the first entry whose handle is not below */
		size_t mid = lo + (hi - lo) / 2;

		if (idx[mid].handle < handle)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < s->n && idx[lo].handle == handle; lo++) { /* handles are per table */
		struct natrule *r = &s->rules[idx[lo].i];

		if (!strcmp(r->chain, chain) && !strcmp(r->table, table) &&
		    !strcmp(r->family, family))
			return r;
	}
	return NULL;
}

/*
 * An iptables-nft target's destination, from the rule's text: libnftables
 * prints a compat target in nft syntax through libxtables ("redirect to
 * :42391", "dnat to 10.0.0.9:80", "dnat to [2001:db8::2]:80") although
 * its JSON says only {"xt": {"name": "REDIRECT"}}. Unreadable text leaves
 * the rule as it was (action NATRULE_XT).
 */
static void xt_from_text(struct natrule *r)
{
	char tok[64], *port = NULL, *addr = tok; /* "%63s" below: 63 bytes and the NUL */
	const char *p;
	unsigned int n;

	if ((p = strstr(r->text, "redirect to :")) && sscanf(p + 13, "%u", &n) == 1 && n &&
	    n < 65536) {
		r->action = NATRULE_REDIRECT;
		r->to_port = (uint16_t)n;
		return;
	}
	p = strstr(r->text, "dnat to ");
	if (!p || sscanf(p + 8, "%63s", tok) != 1)
		return;
	if (tok[0] == '[') {
		char *end = strchr(tok, ']');

		if (!end)
			return;
		*end = '\0';
		addr = tok + 1;
		port = end[1] == ':' ? end + 2 : NULL;
	} else if ((port = strchr(tok, ':'))) {
		*port++ = '\0';
	}
	if (addr[0] && pw_addr_pton(addr, &r->to_family, r->to_addr))
		return;
	r->to_has_addr = addr[0] != '\0';
	if (port && sscanf(port, "%u", &n) == 1 && n && n < 65536)
		r->to_port = (uint16_t)n;
	r->action = NATRULE_DNAT;
}

void natrule_set_text(struct natrule_set *s, const char *text)
{
	char family[8] = "", table[NATRULE_NAME_LEN] = "", chain[NATRULE_NAME_LEN] = "";
	struct by_handle *idx = s->n ? calloc(s->n, sizeof(*idx)) : NULL;
	const char *line = text;

	for (size_t i = 0; idx && i < s->n; i++)
		idx[i] = (struct by_handle){ s->rules[i].handle, i };
	if (idx)
		qsort(idx, s->n, sizeof(*idx), cmp_handle);

	while (line && *line) {
		const char *end = strchr(line, '\n'), *mark;
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char buf[NATRULE_TEXT_LEN + 64], *b = buf;
		unsigned long long handle;
		struct natrule *r;

		if (len >= sizeof(buf))
			len = sizeof(buf) - 1;
		memcpy(buf, line, len);
		buf[len] = '\0';
		while (*b == ' ' || *b == '\t')
			b++;
		if (sscanf(b, "table %7s %63s {", family, table) == 2) {
			chain[0] = '\0';
		} else if (sscanf(b, "chain %63s {", chain) == 1) {
			/* the rules follow, one a line */
		} else if (b[0] == '}') {
			chain[0] = '\0'; /* a set's or map's handle is no rule's */
		} else if (chain[0] && (mark = strstr(b, " # handle ")) &&
			   sscanf(mark, " # handle %llu", &handle) == 1 &&
			   (r = rule_at(s, idx, family, table, chain, handle))) {
			snprintf(r->text, sizeof(r->text), "%.*s", (int)(mark - b), b);
			r->text_exact = 1;
			if (r->action == NATRULE_XT)
				xt_from_text(r);
		}
		line = end ? end + 1 : NULL;
	}
	free(idx);
}

static size_t ports_text(const struct natrule_ports *p, char *buf, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < p->n && o < len; i++) {
		if (p->r[i].lo == p->r[i].hi)
			o += snprintf(buf + o, len - o, "%s%u", i ? ", " : "", p->r[i].lo);
		else
			o += snprintf(buf + o, len - o, "%s%u-%u", i ? ", " : "", p->r[i].lo,
				      p->r[i].hi);
	}
	return o;
}

void natrule_summary(const struct natrule *r, char *buf, size_t len)
{
	char ports[160] = "", to[PW_ADDRSTRLEN + 16] = "", a[PW_ADDRSTRLEN];
	const char *proto = r->protos == NATRULE_TCP ? "tcp" : r->protos == NATRULE_UDP ? "udp" :
										  "th";

	if (!r->dport.any && r->dport.n) {
		char list[140];

		ports_text(&r->dport, list, sizeof(list));
		snprintf(ports, sizeof(ports), "%s dport %s%s%s%s ", proto, r->dport.neg ? "!= " : "",
			 r->dport.n > 1 ? "{ " : "", list, r->dport.n > 1 ? " }" : "");
	}
	if (r->to_has_addr)
		snprintf(to, sizeof(to), r->to_family == AF_INET6 ? "[%s]" : "%s",
			 pw_addr_ntop(r->to_family, r->to_addr, a));
	if (r->to_port)
		snprintf(to + strlen(to), sizeof(to) - strlen(to), ":%u", r->to_port);
	if (r->action == NATRULE_XT)
		snprintf(buf, len, "%s%sxt target %s", ports, r->conditions ? "(other matches) " : "",
			 r->xt_name);
	else
		snprintf(buf, len, "%s%s%s%s%s", ports, r->conditions ? "(other matches) " : "",
			 natrule_action_name(r->action), to[0] ? " to " : "", to);
}

/* ---- queries ---- */

int natrule_covers(const struct natrule *r, const struct pw_sock *sk)
{
	uint8_t bit = sk->protocol == IPPROTO_TCP ? NATRULE_TCP :
		      sk->protocol == IPPROTO_UDP ? NATRULE_UDP : 0;
	int v4 = sk->family == AF_INET || (sk->family == AF_INET6 && !sk->v6only);
	int v6 = sk->family == AF_INET6;
	int fam_ok;

	if (!bit || (r->protos && !(r->protos & bit)))
		return 0;
	if (!strcmp(r->family, "ip") || r->l3 == 4)
		fam_ok = v4;
	else if (!strcmp(r->family, "ip6") || r->l3 == 6)
		fam_ok = v6;
	else
		fam_ok = !strcmp(r->family, "inet");
	if (!fam_ok || !natrule_ports_has(&r->dport, sk->lport))
		return 0;
	if (r->action != NATRULE_XT && !r->to_has_addr &&
	    (!r->to_port || r->to_port == sk->lport))
		return 0; /* same port, same (local) address: the listener keeps it */
	if (r->ndaddr && !pw_addr_is_any(sk->family, sk->laddr)) {
		int hit = 0;

		for (size_t i = 0; i < r->ndaddr && !hit; i++) {
			if (sk->family == AF_INET6 && pw_addr_is_v4mapped(sk->laddr))
				hit = prefix_has(&r->daddr[i], AF_INET, sk->laddr + 12);
			else
				hit = prefix_has(&r->daddr[i], sk->family, sk->laddr);
		}
		if (!hit)
			return 0;
	}
	return 1;
}

uint16_t natrule_target_port(const struct natrule *r, uint16_t port)
{
	return r->to_port ? r->to_port : port;
}

int natrule_shadow_mitigated(const struct natrule_set *s, uint8_t protocol, uint16_t port)
{
	uint8_t bit = protocol == IPPROTO_TCP ? NATRULE_TCP : NATRULE_UDP;

	for (size_t i = 0; i < s->nmit; i++) {
		const struct natrule_mitigation *m = &s->mit[i];

		if (m->protos && !(m->protos & bit))
			continue;
		if (!natrule_ports_has(&m->ports, port))
			continue;
		if (m->kind == NATRULE_MIT_REMAP && port >= m->below)
			continue;
		return 1;
	}
	return 0;
}

const char *natrule_action_name(uint8_t action)
{
	static const char *const names[] = {
		[NATRULE_DNAT] = "dnat", [NATRULE_REDIRECT] = "redirect",
		[NATRULE_TPROXY] = "tproxy", [NATRULE_XT] = "xt",
	};

	return action < sizeof(names) / sizeof(names[0]) ? names[action] : NULL;
}

const char *natrule_origin_name(uint8_t origin)
{
	return origin == NATRULE_ORIGIN_DOCKER ? "docker" :
	       origin == NATRULE_ORIGIN_KUBE	? "kube-proxy" :
						  NULL;
}
