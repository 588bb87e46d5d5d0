// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* container.c - container and pod of a cgroup path, and their pool; see container.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"

#define ID_HEX 64

static const char *const runtime_names[] = {
	[CONTAINER_DOCKER] = "docker",	       [CONTAINER_CONTAINERD] = "containerd",
	[CONTAINER_CRIO] = "cri-o",	       [CONTAINER_PODMAN] = "podman",
	[CONTAINER_NSPAWN] = "systemd-nspawn", [CONTAINER_LXC] = "lxc",
};

const char *container_runtime_name(uint8_t runtime)
{
	if (runtime == CONTAINER_NONE || runtime >= sizeof(runtime_names) / sizeof(runtime_names[0]))
		return NULL;
	return runtime_names[runtime];
}

/* ------------------------------------------------------------------ parser */

/* One path component: not NUL-terminated. */
struct comp {
	const char *s;
	size_t n;
};

static int is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	return 1;
}

static int has_prefix(struct comp c, const char *p)
{
	size_t n = strlen(p);

	return c.n >= n && !memcmp(c.s, p, n);
}

static int has_suffix(struct comp c, const char *p)
{
	size_t n = strlen(p);

	return c.n >= n && !memcmp(c.s + c.n - n, p, n);
}

static int equals(struct comp c, const char *p)
{
	return c.n == strlen(p) && !memcmp(c.s, p, c.n);
}

/* Set the container of out from an id of n bytes; 0, or -ENAMETOOLONG. */
static int set_id(struct pw_container *out, uint8_t runtime, const char *id, size_t n)
{
	if (!n || n >= sizeof(out->id))
		return -ENAMETOOLONG;
	memcpy(out->id, id, n);
	out->id[n] = '\0';
	out->runtime = runtime;
	return 0;
}

/*
 * A name systemd escaped into a unit name (systemd.unit(5), "String
 * Escaping"): "\xNN" is the byte NN. Into out (PW_CONTAINER_ID_LEN);
 * 0, or -EINVAL when too long or badly escaped.
 */
static int unit_unescape(const char *s, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '\\') {
			char hex[3] = { 0 };

			if (i + 3 >= n)
				return -EINVAL;
			if (s[i + 1] != 'x' || !is_hex(s + i + 2, 2))
				return -EINVAL;
			hex[0] = s[i + 2];
			hex[1] = s[i + 3];
			c = (char)strtoul(hex, NULL, 16);
			i += 3;
		}
		if (!c || o + 1 >= PW_CONTAINER_ID_LEN)
			return -EINVAL;
		out[o++] = c;
	}
	out[o] = '\0';
	return o ? 0 : -EINVAL;
}

/*
 * A pod uid of n bytes, with '_' standing for '-' when underscores is set
 * (kubelet's systemd driver escapes '-', the slice separator): a UUID
 * (8-4-4-4-12 hex digits) or 32 hex digits (a static pod: kubelet hashes
 * its manifest). Into out (PW_POD_UID_LEN); 0 or -EINVAL.
 */
static int pod_uid(const char *s, size_t n, int underscores, char *out)
{
	if (n != 36 && n != 32)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int dash_pos = n == 36 && (i == 8 || i == 13 || i == 18 || i == 23);

		if (dash_pos) {
			if (c != (underscores ? '_' : '-'))
				return -EINVAL;
			c = '-';
		} else if (!is_hex(&c, 1)) {
			return -EINVAL;
		}
		out[i] = c;
	}
	out[n] = '\0';
	return 0;
}

/* "<prefix><64 hex><suffix>" -> the id, or NULL. */
static const char *prefixed_id(struct comp c, const char *prefix, const char *suffix)
{
	size_t pn = strlen(prefix), sn = strlen(suffix);

	if (c.n != pn + ID_HEX + sn || !has_prefix(c, prefix) || !has_suffix(c, suffix) ||
	    !is_hex(c.s + pn, ID_HEX))
		return NULL;
	return c.s + pn;
}

/* The scopes of the systemd cgroup driver: <prefix>-<id>.scope. */
static const struct {
	const char *prefix;
	uint8_t runtime;
} scopes[] = {
	{ "docker-", CONTAINER_DOCKER },
	{ "cri-containerd-", CONTAINER_CONTAINERD },
	{ "crio-", CONTAINER_CRIO },
	{ "libpod-", CONTAINER_PODMAN },
};

/* A machine name that systemd-machined registered: nspawn unless libvirt's VM. */
static void machine(struct pw_container *out, const char *esc, size_t n)
{
	char name[PW_CONTAINER_ID_LEN];

	if (unit_unescape(esc, n, name))
		return;
	/* libvirt registers its QEMU guests as machine-qemu\x2dN\x2dNAME.scope: VMs */
	if (!strncmp(name, "qemu-", 5))
		return;
	set_id(out, CONTAINER_NSPAWN, name, strlen(name));
}

int container_from_cgroup(const char *path, struct pw_container *out)
{
	struct comp c, prev = { "", 0 };
	const char *p = path, *id;
	int depth = 0, in_kubepods = 0, lxc_next = 0;

	memset(out, 0, sizeof(*out));
	while (*p) {
		const char *slash = strchr(p, '/');

		c.s = p;
		c.n = slash ? (size_t)(slash - p) : strlen(p);
		p += c.n + (slash ? 1 : 0);
		if (!c.n)
			continue;

		if (lxc_next) { /* the name after /lxc.payload/ or /lxc/ */
			lxc_next = 0;
			set_id(out, CONTAINER_LXC, c.s, c.n);
		} else if (has_prefix(c, "kubepods")) {
			/* kubepods.slice, kubepods-burstable.slice, kubepods-...-pod<uid>.slice */
			const char *pod = NULL;

			in_kubepods = 1;
			for (const char *q = c.s; q + 4 <= c.s + c.n; q++)
				if (!memcmp(q, "-pod", 4))
					pod = q + 4;
			if (pod && has_suffix(c, ".slice"))
				pod_uid(pod, c.s + c.n - 6 - pod, 1, out->pod_uid);
		} else if (in_kubepods && has_prefix(c, "pod") && !has_suffix(c, ".slice")) {
			pod_uid(c.s + 3, c.n - 3, 0, out->pod_uid); /* cgroupfs: pod<uid> */
		} else if (has_suffix(c, ".scope")) {
			for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++)
				if ((id = prefixed_id(c, scopes[i].prefix, ".scope")))
					set_id(out, scopes[i].runtime, id, ID_HEX);
			if (has_prefix(c, "machine-") && c.n > 8 + 6)
				machine(out, c.s + 8, c.n - 8 - 6);
		} else if (has_prefix(c, "systemd-nspawn@") && has_suffix(c, ".service")) {
			machine(out, c.s + 15, c.n - 15 - 8);
		} else if (c.n == ID_HEX && is_hex(c.s, c.n)) {
			/* cgroupfs driver: the bare id under /docker or a pod's cgroup */
			if (equals(prev, "docker"))
				set_id(out, CONTAINER_DOCKER, c.s, c.n);
			else if (out->pod_uid[0] && has_prefix(prev, "pod"))
				set_id(out, CONTAINER_CONTAINERD, c.s, c.n);
		} else if ((id = prefixed_id(c, "crio-", ""))) {
			set_id(out, CONTAINER_CRIO, id, ID_HEX);
		} else if ((id = prefixed_id(c, "libpod-", ""))) {
			set_id(out, CONTAINER_PODMAN, id, ID_HEX);
		} else if (has_prefix(c, "lxc.payload.") && c.n > 12) {
			set_id(out, CONTAINER_LXC, c.s + 12, c.n - 12);
		} else if (depth == 0 && (equals(c, "lxc.payload") || equals(c, "lxc"))) {
			lxc_next = 1;
		}
		prev = c;
		depth++;
	}
	return out->runtime != CONTAINER_NONE || out->pod_uid[0] ? 0 : -ENOENT;
}

int container_from_proc_cgroup(const char *text, struct pw_container *out)
{
	char path[4096];

	memset(out, 0, sizeof(*out));
	for (const char *line = text; line && *line;) {
		const char *eol = strchr(line, '\n');
		size_t n = eol ? (size_t)(eol - line) : strlen(line);

		if (n >= 3 && !memcmp(line, "0::", 3)) {
			if (n - 3 >= sizeof(path))
				return -ENOENT;
			memcpy(path, line + 3, n - 3);
			path[n - 3] = '\0';
			return container_from_cgroup(path, out);
		}
		line = eol ? eol + 1 : NULL;
	}
	return -ENOENT;
}

/* -------------------------------------------------------------------- pool */

/*
 * Records in one array indexed by the handle's low bits, found by key
 * through chained buckets of indexes (NIL ends a chain; the free list
 * runs through the same link). A handle is (index + 1) | gen << 20: the
 * generation of a slot goes up each time its record is freed.
 */
#define IDX_BITS 20
#define IDX_MASK ((1u << IDX_BITS) - 1)
#define GEN_MASK ((1u << (32 - IDX_BITS)) - 1)
#define MAX_RECS (IDX_MASK - 1)
#define NIL UINT32_MAX

struct rec {
	struct pw_container c;
	uint32_t refs;	   /* sockets of the table holding it */
	uint32_t gen;	   /* GEN_MASK bits */
	uint32_t next;	   /* bucket chain, or free list */
	uint32_t idle_seq; /* when refs last dropped to 0: matches its kept[] entry */
	uint8_t used;
};

/* A record no socket holds, in the order they became so. */
struct kept {
	uint32_t idx;
	uint32_t seq;
};

static struct {
	struct rec *recs;
	uint32_t nrecs, cap, count, free_head;
	uint32_t *buckets; /* power of two */
	uint32_t nbuckets;
	struct kept kept[CONTAINER_KEEP];
	uint32_t kept_head, kept_len, seq;
} pool = { .free_head = NIL };

static uint32_t key_hash(const struct pw_container *c)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (const char *s = c->id; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	for (const char *s = c->pod_uid; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return (h ^ c->runtime) * 16777619u;
}

static int key_equal(const struct pw_container *a, const struct pw_container *b)
{
	return a->runtime == b->runtime && !strcmp(a->id, b->id) && !strcmp(a->pod_uid, b->pod_uid);
}

static struct rec *resolve(uint32_t h)
{
	uint32_t idx = (h & IDX_MASK) - 1;

	if (!h || (h & IDX_MASK) == 0 || idx >= pool.nrecs || !pool.recs[idx].used ||
	    pool.recs[idx].gen != h >> IDX_BITS)
		return NULL;
	return &pool.recs[idx];
}

static uint32_t handle(uint32_t idx)
{
	return (idx + 1) | pool.recs[idx].gen << IDX_BITS;
}

static void unlink_rec(uint32_t idx)
{
	uint32_t *pp = &pool.buckets[key_hash(&pool.recs[idx].c) & (pool.nbuckets - 1)];

	while (*pp != idx)
		pp = &pool.recs[*pp].next;
	*pp = pool.recs[idx].next;
}

/* Free a record nothing holds: its slot gets the next generation. */
static void free_rec(uint32_t idx)
{
	struct rec *r = &pool.recs[idx];

	unlink_rec(idx);
	r->used = 0;
	r->gen = (r->gen + 1) & GEN_MASK;
	r->next = pool.free_head;
	pool.free_head = idx;
	pool.count--;
}

/* r has no holder now: keep it among the last CONTAINER_KEEP such, freeing the oldest. */
static void keep(uint32_t idx)
{
	struct kept *k;

	if (pool.kept_len == CONTAINER_KEEP) {
		k = &pool.kept[pool.kept_head];
		pool.kept_head = (pool.kept_head + 1) % CONTAINER_KEEP;
		pool.kept_len--;
		/* still unheld since it was queued (not taken and dropped again since) */
		if (pool.recs[k->idx].used && !pool.recs[k->idx].refs &&
		    pool.recs[k->idx].idle_seq == k->seq)
			free_rec(k->idx);
	}
	k = &pool.kept[(pool.kept_head + pool.kept_len++) % CONTAINER_KEEP];
	k->idx = idx;
	k->seq = pool.recs[idx].idle_seq = ++pool.seq;
}

static int grow_buckets(void)
{
	uint32_t n = pool.nbuckets ? pool.nbuckets * 2 : 256, *b;

	b = malloc(n * sizeof(*b));
	if (!b)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		b[i] = NIL;
	for (uint32_t i = 0; i < pool.nrecs; i++) {
		struct rec *r = &pool.recs[i];
		uint32_t bi;

		if (!r->used)
			continue;
		bi = key_hash(&r->c) & (n - 1);
		r->next = b[bi];
		b[bi] = i;
	}
	free(pool.buckets);
	pool.buckets = b;
	pool.nbuckets = n;
	return 0;
}

/* A free slot index, or NIL on ENOMEM / when MAX_RECS are in use. */
static uint32_t alloc_rec(void)
{
	uint32_t idx;

	if (pool.free_head != NIL) {
		idx = pool.free_head;
		pool.free_head = pool.recs[idx].next;
		return idx;
	}
	if (pool.nrecs == pool.cap) {
		uint32_t ncap = pool.cap ? pool.cap * 2 : 64;
		struct rec *nr;

		if (pool.cap >= MAX_RECS)
			return NIL;
		if (ncap > MAX_RECS)
			ncap = MAX_RECS;
		nr = realloc(pool.recs, ncap * sizeof(*nr));
		if (!nr)
			return NIL;
		pool.recs = nr;
		pool.cap = ncap;
	}
	pool.recs[pool.nrecs].gen = 0;
	return pool.nrecs++;
}

uint32_t container_intern(const struct pw_container *c)
{
	uint32_t h, idx;
	struct rec *r;

	if (c->runtime == CONTAINER_NONE && !c->pod_uid[0])
		return 0;
	if (pool.count >= pool.nbuckets && grow_buckets())
		return 0;
	h = key_hash(c) & (pool.nbuckets - 1);
	for (idx = pool.buckets[h]; idx != NIL; idx = pool.recs[idx].next)
		if (key_equal(&pool.recs[idx].c, c))
			return handle(idx);
	idx = alloc_rec();
	if (idx == NIL)
		return 0;
	r = &pool.recs[idx];
	r->c = *c;
	r->refs = 0;
	r->used = 1;
	r->next = pool.buckets[h];
	pool.buckets[h] = idx;
	pool.count++;
	keep(idx); /* unheld until a socket of the table takes it */
	return handle(idx);
}

const struct pw_container *container_get(uint32_t h)
{
	struct rec *r = resolve(h);

	return r ? &r->c : NULL;
}

void container_ref(uint32_t h)
{
	struct rec *r = resolve(h);

	if (r)
		r->refs++;
}

void container_unref(uint32_t h)
{
	struct rec *r = resolve(h);

	if (r && r->refs && !--r->refs)
		keep(r - pool.recs);
}

size_t container_count(void)
{
	return pool.count;
}

void container_pool_free(void)
{
	free(pool.recs);
	free(pool.buckets);
	memset(&pool, 0, sizeof(pool));
	pool.free_head = NIL;
}
