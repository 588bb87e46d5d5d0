// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* protectload.c - protect rules in the kernel; see protectload.h. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <mntent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "protect.skel.h"
#include "protectload.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

#define NPORTS 65536

/* The cgroup v2 mount point into b->cgroup_root, and an fd of it. */
static int open_root(struct pw_protect_bpf *b)
{
	FILE *f = setmntent("/proc/self/mounts", "re");
	struct mntent *me;
	int fd = -ENOENT;

	if (!f)
		return -errno;
	while ((me = getmntent(f)))
		if (!strcmp(me->mnt_type, "cgroup2") &&
		    strlen(me->mnt_dir) < sizeof(b->cgroup_root)) {
			snprintf(b->cgroup_root, sizeof(b->cgroup_root), "%s", me->mnt_dir);
			b->cgroup_root_len = (int)strlen(b->cgroup_root);
			fd = open(me->mnt_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (fd < 0)
				fd = -errno;
			break;
		}
	endmntent(f);
	return fd;
}

static uint32_t prog_id(const struct bpf_program *prog)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len))
		return 0;
	return info.id;
}

int protectbpf_open(struct pw_protect_bpf *b, const char **what)
{
	int err;

	memset(b, 0, sizeof(*b));
	b->cgroup_fd = -1;
	b->skel = protect__open();
	if (!b->skel) {
		err = -errno;
		*what = "open bpf/protect.bpf.c";
		goto fail;
	}
	err = protect__load(b->skel);
	if (err) {
		*what = "load bpf/protect.bpf.c (cgroup/bind4, cgroup/bind6)";
		goto fail;
	}
	b->cgroup_fd = open_root(b);
	if (b->cgroup_fd < 0) {
		err = b->cgroup_fd;
		*what = "find the cgroup v2 root";
		goto fail;
	}
	b->link4 = bpf_program__attach_cgroup(b->skel->progs.protect_bind4, b->cgroup_fd);
	if (!b->link4) {
		err = -errno;
		*what = "attach cgroup/bind4 at the cgroup v2 root";
		goto fail;
	}
	b->link6 = bpf_program__attach_cgroup(b->skel->progs.protect_bind6, b->cgroup_fd);
	if (!b->link6) {
		err = -errno;
		*what = "attach cgroup/bind6 at the cgroup v2 root";
		goto fail;
	}
	b->prog_id4 = prog_id(b->skel->progs.protect_bind4);
	b->prog_id6 = prog_id(b->skel->progs.protect_bind6);
	return 0;
fail:
	protectbpf_close(b);
	return err ? err : -EINVAL;
}

void protectbpf_close(struct pw_protect_bpf *b)
{
	bpf_link__destroy(b->link4);
	bpf_link__destroy(b->link6);
	protect__destroy(b->skel);
	if (b->cgroup_fd > 0)
		close(b->cgroup_fd);
	free(b->slot_of);
	free(b->exes);
	free(b->ports);
	free(b->nheld);
	memset(b, 0, sizeof(*b));
	b->cgroup_fd = -1;
}

int protectbpf_is_own(const struct pw_protect_bpf *b, uint32_t id)
{
	return b && b->skel && id && (id == b->prog_id4 || id == b->prog_id6);
}

/* ---- the kernel's view of the rules */

struct cookie_call {
	uint64_t cookie;
};

static int cookie_fn(void *arg)
{
	struct cookie_call *c = arg;
	socklen_t len = sizeof(c->cookie);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (fd < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &c->cookie, &len))
		err = -errno;
	close(fd);
	return err;
}

/* A cgroup by path from the root: its id and level; 0 or -errno. */
static int cgroup_at(const struct pw_protect_bpf *b, const char *rel,
		     struct pw_protect_cgroup *out)
{
	char path[4400];
	struct stat st;
	unsigned int level = 0;

	snprintf(path, sizeof(path), "%s%s", b->cgroup_root, strcmp(rel, "/") ? rel : "");
	if (stat(path, &st))
		return -errno;
	for (const char *s = rel; *s; s++)
		if (*s == '/' && s[1] && s[1] != '/')
			level++;
	out->id = st.st_ino;
	out->level = level;
	return 0;
}

/* unit= : every cgroup directory of that name (nftw has no argument: a static). */
static struct {
	const char *name;
	struct pw_protect_krule *k;
	int root_len;
	int full;
} unit_walk;

static int unit_fn(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	struct pw_protect_krule *k = unit_walk.k;

	if (type != FTW_D || strcmp(path + ftw->base, unit_walk.name))
		return 0;
	if (k->ncgroup == PW_PROTECT_MAX_CGROUPS) {
		unit_walk.full = 1;
		return 1;
	}
	k->cgroup[k->ncgroup].id = st->st_ino;
	k->cgroup[k->ncgroup].level = (uint32_t)ftw->level;
	k->ncgroup++;
	return 0;
}

struct view {
	struct pw_protect_krule *k;     /* one per rule */
	int *skip;                      /* the rule cannot be enforced yet (netns not found) */
	struct pw_protect_exe_key *exes; /* rule member: the rule's index until slots are known */
	size_t nexes;
	unsigned int unresolved;
};

static void view_free(struct view *v)
{
	free(v->k);
	free(v->skip);
	free(v->exes);
}

static int build_view(struct pw_protect_bpf *b, const struct pw_protect *p, struct snap *snap,
		      struct view *v, char *err, size_t errlen)
{
	memset(v, 0, sizeof(*v));
	v->k = calloc(p->nrules ? p->nrules : 1, sizeof(*v->k));
	v->skip = calloc(p->nrules ? p->nrules : 1, sizeof(*v->skip));
	if (!v->k || !v->skip)
		goto nomem;
	for (size_t i = 0; i < p->nrules; i++) {
		const struct pw_protect_rule *r = &p->rules[i];
		struct pw_protect_krule *k = &v->k[i];

		k->family = r->family;
		memcpy(k->addr, r->addr, 16);
		if (r->netns) {
			struct cookie_call c = { 0 };
			int e = snap ? snap_netns_call(snap, r->netns, cookie_fn, &c) : -ENOENT;

			if (e || !c.cookie) {
				v->skip[i] = 1;
				v->unresolved++;
				continue;
			}
			k->netns_cookie = c.cookie;
		}
		for (size_t j = 0; j < r->nsel; j++) {
			const struct pw_psel *s = &r->sel[j];

			switch (s->type) {
			case PW_PSEL_UID:
				if (k->nuid == PW_PROTECT_MAX_UIDS) {
					snprintf(err, errlen, "line %u: more than %d uid= selectors",
						 r->line, PW_PROTECT_MAX_UIDS);
					view_free(v);
					return -E2BIG;
				}
				k->uid[k->nuid++] = s->uid;
				break;
			case PW_PSEL_CGROUP:
				if (k->ncgroup == PW_PROTECT_MAX_CGROUPS)
					goto too_many_cgroups;
				if (cgroup_at(b, s->value, &k->cgroup[k->ncgroup]))
					v->unresolved++;
				else
					k->ncgroup++;
				break;
			case PW_PSEL_UNIT: {
				uint8_t before = k->ncgroup;

				unit_walk.name = s->value;
				unit_walk.k = k;
				unit_walk.full = 0;
				nftw(b->cgroup_root, unit_fn, 16, FTW_PHYS);
				if (unit_walk.full)
					goto too_many_cgroups;
				if (k->ncgroup == before)
					v->unresolved++;
				break;
			}
			case PW_PSEL_EXE: {
				struct pw_protect_exe_key *x;
				struct stat st;

				k->any_exe = 1;
				if (stat(s->value, &st)) {
					v->unresolved++;
					break;
				}
				x = realloc(v->exes, (v->nexes + 1) * sizeof(*x));
				if (!x)
					goto nomem;
				v->exes = x;
				x[v->nexes].ino = st.st_ino;
				x[v->nexes].dev = (uint32_t)((major(st.st_dev) << 20) | minor(st.st_dev));
				x[v->nexes].rule = (uint32_t)i;
				v->nexes++;
				break;
			}
			}
		}
	}
	return 0;
too_many_cgroups:
	snprintf(err, errlen, "a rule has more than %d cgroups (cgroup=, and unit= directories)",
		 PW_PROTECT_MAX_CGROUPS);
	view_free(v);
	return -E2BIG;
nomem:
	snprintf(err, errlen, "out of memory");
	view_free(v);
	return -ENOMEM;
}

static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

static uint64_t view_sig(const struct pw_protect *p, const struct view *v)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < p->nrules; i++) {
		h = fnv(h, &p->rules[i].protocol, 1);
		h = fnv(h, &p->rules[i].port_lo, 2);
		h = fnv(h, &p->rules[i].port_hi, 2);
		h = fnv(h, &v->skip[i], sizeof(v->skip[i]));
	}
	h = fnv(h, v->k, p->nrules * sizeof(*v->k));
	return fnv(h, v->exes, v->nexes * sizeof(*v->exes)) ^ (p->nrules + 1);
}

static int add_slot(struct pw_protect_port *pp, uint8_t protocol, uint16_t slot)
{
	__u16 *s = protocol == 6 ? pp->tcp : pp->udp;

	for (int i = 0; i < PW_PROTECT_PER_PORT; i++)
		if (!s[i]) {
			s[i] = slot;
			return 0;
		}
	return -E2BIG;
}

static int apply_view(struct pw_protect_bpf *b, const struct pw_protect *p, struct view *v,
		      char *err, size_t errlen)
{
	int rules_fd = bpf_map__fd(b->skel->maps.protect_rules);
	int ports_fd = bpf_map__fd(b->skel->maps.protect_ports);
	int exes_fd = bpf_map__fd(b->skel->maps.protect_exes);
	struct pw_protect_port *ports = NULL;
	uint16_t *slot_of = NULL;
	uint8_t used[PW_PROTECT_MAX_RULES];
	const __u8 one = 1;
	int ret = 0;

	memcpy(used, b->used, sizeof(used));
	slot_of = calloc(p->nrules ? p->nrules : 1, sizeof(*slot_of));
	ports = calloc(NPORTS, sizeof(*ports));
	if (!slot_of || !ports) {
		snprintf(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	/* 1. free slots for the new rules (slot 0 means none) */
	for (size_t i = 0, s = 1; i < p->nrules; i++) {
		if (v->skip[i])
			continue;
		while (s < PW_PROTECT_MAX_RULES && used[s])
			s++;
		if (s == PW_PROTECT_MAX_RULES) {
			snprintf(err, errlen, "more than %d protect rules", PW_PROTECT_MAX_RULES / 2 - 1);
			ret = -ENOSPC;
			goto out;
		}
		used[s] = 1;
		slot_of[i] = (uint16_t)s;
	}
	/* 2. the ports as they will be, held flags kept */
	for (uint32_t port = 0; b->ports && port < NPORTS; port++)
		ports[port].held = b->ports[port].held;
	for (size_t i = 0; i < p->nrules; i++) {
		const struct pw_protect_rule *r = &p->rules[i];

		if (!slot_of[i])
			continue;
		for (uint32_t port = r->port_lo; port <= r->port_hi; port++)
			if (add_slot(&ports[port], r->protocol, slot_of[i])) {
				snprintf(err, errlen, "more than %d rules of one protocol on port %u",
					 PW_PROTECT_PER_PORT, port);
				ret = -E2BIG;
				goto out;
			}
	}
	/* 3. the new rules and their executables, before any port points at them */
	for (size_t i = 0; i < p->nrules; i++) {
		__u32 key = slot_of[i];

		if (key && bpf_map_update_elem(rules_fd, &key, &v->k[i], BPF_ANY)) {
			ret = -errno;
			snprintf(err, errlen, "writing rule slot %u: %s", key, strerror(errno));
			goto out;
		}
	}
	for (size_t i = 0; i < v->nexes; i++) {
		v->exes[i].rule = slot_of[v->exes[i].rule];
		if (v->exes[i].rule && bpf_map_update_elem(exes_fd, &v->exes[i], &one, BPF_ANY)) {
			ret = -errno;
			snprintf(err, errlen, "writing an executable of rule slot %u: %s",
				 v->exes[i].rule, strerror(errno));
			goto out;
		}
	}
	/* 4. ports: those with rules first, then those left without any */
	for (int pass = 0; pass < 2; pass++) {
		for (__u32 port = 0; port < NPORTS; port++) {
			static const struct pw_protect_port zero;
			const struct pw_protect_port *old = b->ports ? &b->ports[port] : &zero;
			int empty = !memcmp(&ports[port], &zero, sizeof(zero));

			if (empty != pass || !memcmp(old, &ports[port], sizeof(zero)))
				continue;
			if (bpf_map_update_elem(ports_fd, &port, &ports[port], BPF_ANY)) {
				/* maps now mix old and new rules, each complete: still protected */
				ret = -errno;
				snprintf(err, errlen, "writing port %u: %s", port, strerror(errno));
				goto out;
			}
		}
	}
	/*
	 * 5. the old generation: executables deleted, slots free for the next
	 * swap (not zeroed: a zero rule would refuse everyone to a bind that
	 * still read an old port entry)
	 */
	for (size_t i = 0; i < b->nexes; i++)
		bpf_map_delete_elem(exes_fd, &b->exes[i]);
	for (size_t i = 0; i < b->nslots; i++)
		used[b->slot_of[i]] = 0;
	used[0] = 0;
	memcpy(b->used, used, sizeof(used));
	free(b->slot_of);
	b->slot_of = slot_of;
	b->nslots = p->nrules;
	slot_of = NULL;
	free(b->ports);
	b->ports = ports;
	ports = NULL;
	free(b->exes);
	b->exes = v->exes;
	b->nexes = v->nexes;
	v->exes = NULL;
	b->unresolved = v->unresolved;
out:
	free(slot_of);
	free(ports);
	return ret;
}

/* Build the kernel's view of p and write it, unless unchanged and !force. */
static int update(struct pw_protect_bpf *b, const struct pw_protect *p, struct snap *snap,
		  int force, char *err, size_t errlen)
{
	struct view v;
	uint64_t sig;
	int ret;

	if (!b->skel)
		return 0;
	ret = build_view(b, p, snap, &v, err, errlen);
	if (ret)
		return ret;
	sig = view_sig(p, &v);
	if (!force && sig == b->sig) {
		view_free(&v);
		return 0;
	}
	ret = apply_view(b, p, &v, err, errlen);
	if (!ret)
		b->sig = sig;
	view_free(&v);
	return ret;
}

int protectbpf_apply(struct pw_protect_bpf *b, const struct pw_protect *p, struct snap *snap,
		     char *err, size_t errlen)
{
	return update(b, p, snap, 1, err, errlen);
}

int protectbpf_refresh(struct pw_protect_bpf *b, const struct pw_protect *p, struct snap *snap,
		       char *err, size_t errlen)
{
	return update(b, p, snap, 0, err, errlen);
}

/* ---- takeover protection */

int protectbpf_hold(struct pw_protect_bpf *b, struct pw_hold *h, int added, struct snap *snap)
{
	int holds_fd, ports_fd;
	struct pw_protect_hold_key k = { 0 };
	struct pw_protect_hold v = { 0 };
	uint8_t bit = h->protocol == IPPROTO_TCP ? PW_PROTECT_HELD_TCP : PW_PROTECT_HELD_UDP;
	uint16_t *n;
	__u32 port = h->port;
	int err;

	if (!b->skel || !b->ports)
		return 0;
	if (!b->nheld && !(b->nheld = calloc(2 * NPORTS, sizeof(*b->nheld))))
		return -ENOMEM;
	holds_fd = bpf_map__fd(b->skel->maps.protect_holds);
	ports_fd = bpf_map__fd(b->skel->maps.protect_ports);
	n = &b->nheld[(bit == PW_PROTECT_HELD_UDP ? NPORTS : 0) + port];
	if (!added) {
		if (!h->netns_cookie)
			return 0;
		k.netns_cookie = h->netns_cookie;
		k.port = h->port;
		k.protocol = h->protocol;
		h->netns_cookie = 0;
		if (*n)
			--*n; /* the flag stays until protectbpf_tidy(): a miss costs a lookup */
		return bpf_map_delete_elem(holds_fd, &k) ? -errno : 0;
	}
	if (!h->netns_cookie) {
		struct cookie_call c = { 0 };
		unsigned int slot = (h->netns * 2654435761u) >> 26; /* of 64 */

		if (b->cookies[slot].netns == h->netns && b->cookies[slot].cookie) {
			c.cookie = b->cookies[slot].cookie;
		} else {
			err = snap ? snap_netns_call(snap, h->netns, cookie_fn, &c) : cookie_fn(&c);
			if (err)
				return err;
			if (!c.cookie)
				return -ENOENT;
			b->cookies[slot].netns = h->netns;
			b->cookies[slot].cookie = c.cookie;
		}
		h->netns_cookie = c.cookie;
		++*n;
	}
	k.netns_cookie = h->netns_cookie;
	k.port = h->port;
	k.protocol = h->protocol;
	v.until_ns = h->until_boot_ns;
	v.uid = h->gone.owner.uid;
	v.exe_ino = h->gone.owner.exe_ino;
	v.exe_dev = h->gone.owner.exe_dev;
	/* the entry before the flag: a bind that sees the flag finds the entry */
	if (bpf_map_update_elem(holds_fd, &k, &v, BPF_ANY)) {
		err = -errno;
		h->netns_cookie = 0;
		--*n;
		return err;
	}
	if (!(b->ports[port].held & bit)) {
		b->ports[port].held |= bit;
		if (bpf_map_update_elem(ports_fd, &port, &b->ports[port], BPF_ANY))
			return -errno;
	}
	return 0;
}

void protectbpf_tidy(struct pw_protect_bpf *b)
{
	int ports_fd;

	memset(b->cookies, 0, sizeof(b->cookies));
	if (!b->skel || !b->ports || !b->nheld)
		return;
	ports_fd = bpf_map__fd(b->skel->maps.protect_ports);
	for (__u32 port = 0; port < NPORTS; port++) {
		uint8_t held = b->ports[port].held, want = 0;

		if (!held)
			continue;
		want |= b->nheld[port] ? PW_PROTECT_HELD_TCP : 0;
		want |= b->nheld[NPORTS + port] ? PW_PROTECT_HELD_UDP : 0;
		if (want != held) {
			b->ports[port].held = want;
			bpf_map_update_elem(ports_fd, &port, &b->ports[port], BPF_ANY);
		}
	}
}
