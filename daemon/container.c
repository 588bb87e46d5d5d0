// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* container.c - container and pod of a cgroup path, and their pool; see container.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "handlepool.h"

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

/* 1M records; the rest of a handle is the generation */
#define IDX_BITS 20

/* A record's payload is its struct pw_container, and so is the key. */
static uint32_t key_hash(const void *key)
{
	const struct pw_container *c = key;
	uint32_t h = 2166136261u; /* FNV-1a */

	for (const char *s = c->id; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	for (const char *s = c->pod_uid; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return (h ^ c->runtime) * 16777619u;
}

static int key_equal(const void *payload, const void *key)
{
	const struct pw_container *a = payload, *b = key;

	return a->runtime == b->runtime && !strcmp(a->id, b->id) && !strcmp(a->pod_uid, b->pod_uid);
}

static int key_init(void *payload, const void *key)
{
	memcpy(payload, key, sizeof(struct pw_container));
	return 0;
}

static const struct handlepool_ops container_ops = {
	.hash = key_hash,
	.equal = key_equal,
	.init = key_init,
};

static struct handlepool_kept kept[CONTAINER_KEEP];
static struct handlepool pool =
	HANDLEPOOL_INIT(&container_ops, sizeof(struct pw_container), IDX_BITS, kept);

uint32_t container_intern(const struct pw_container *c)
{
	if (c->runtime == CONTAINER_NONE && !c->pod_uid[0])
		return 0;
	return handlepool_intern(&pool, c);
}

const struct pw_container *container_get(uint32_t h)
{
	return handlepool_get(&pool, h);
}

void container_ref(uint32_t h)
{
	handlepool_ref(&pool, h);
}

void container_unref(uint32_t h)
{
	handlepool_unref(&pool, h);
}

size_t container_count(void)
{
	return handlepool_count(&pool);
}

void container_pool_free(void)
{
	handlepool_free(&pool);
}
