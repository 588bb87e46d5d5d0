// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* sklookup.c - BPF sk_lookup links of every namespace; see sklookup.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "proc.h"
#include "sklookup.h"

void sklookup_free(struct sklookup *s)
{
	free(s->links);
	s->links = NULL;
	s->n = s->cap = 0;
}

static int by_link_id(const void *a, const void *b)
{
	const struct sklookup_link *x = a, *y = b;

	return x->link_id < y->link_id ? -1 : x->link_id > y->link_id;
}

static const struct sklookup_link *find_in(const struct sklookup_link *v, size_t n,
					   uint32_t link_id)
{
	struct sklookup_link key = { .link_id = link_id };

	return n ? bsearch(&key, v, n, sizeof(key), by_link_id) : NULL;
}

static const struct sklookup_link *find(const struct sklookup *s, uint32_t link_id)
{
	return find_in(s->links, s->n, link_id);
}

int sklookup_merge(struct sklookup *s, const struct sklookup_link *found, size_t nfound,
		   uint64_t now, sklookup_new_fn on_new, void *arg)
{
	struct sklookup_link *v = nfound ? calloc(nfound, sizeof(*v)) : NULL;
	struct sklookup_link *old = s->links;
	size_t nold = s->n;

	if (nfound && !v)
		return -ENOMEM;
	for (size_t i = 0; i < nfound; i++) {
		const struct sklookup_link *o = find_in(old, nold, found[i].link_id);

		v[i] = o ? *o : found[i];
		if (o) { /* what may change: the namespace goes away, the program is replaced */
			v[i].netns = found[i].netns;
			v[i].prog_id = found[i].prog_id;
		} else {
			v[i].first_ns = now;
			v[i].alert_id = 0;
			s->found++;
		}
	}
	if (nfound)
		qsort(v, nfound, sizeof(*v), by_link_id);
	s->links = v;
	s->n = s->cap = nfound;
	/* after the swap: a callback sees the set it belongs to */
	for (size_t i = 0; on_new && i < s->n; i++)
		if (!find_in(old, nold, s->links[i].link_id))
			on_new(&s->links[i], arg);
	free(old);
	return 0;
}

int sklookup_fdinfo_link_id(const char *text, uint32_t *id)
{
	const char *p = text;

	while (p && *p) {
		unsigned int v;

		if (!strncmp(p, "link_id:", 8) && sscanf(p + 8, "%u", &v) == 1) {
			*id = v;
			return 1;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return 0;
}

/* The owners of the new links of one scan, found in /proc. */
struct owner_scan {
	struct sklookup_link *v;
	size_t n;
	uint32_t self;
};

static int owner_pid(int procfd, uint32_t pid, void *arg)
{
	struct owner_scan *os = arg;
	char path[64], link[64], text[512];
	struct dirent *de;
	int dfd, fd;
	DIR *dir;

	if (pid == os->self)
		return 0;
	snprintf(path, sizeof(path), "%u/fd", pid);
	dfd = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return 0; /* gone, or a kernel thread */
	dir = fdopendir(dfd);
	if (!dir) {
		close(dfd);
		return 0;
	}
	while ((de = readdir(dir))) {
		uint32_t id;
		ssize_t len;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		len = readlinkat(dfd, de->d_name, link, sizeof(link) - 1);
		if (len <= 0)
			continue;
		link[len] = '\0';
		if (strcmp(link, "anon_inode:bpf_link"))
			continue;
		snprintf(path, sizeof(path), "%u/fdinfo/%s", pid, de->d_name);
		fd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		len = read(fd, text, sizeof(text) - 1);
		close(fd);
		if (len <= 0)
			continue;
		text[len] = '\0';
		if (!sklookup_fdinfo_link_id(text, &id))
			continue;
		for (size_t i = 0; i < os->n; i++)
			if (os->v[i].link_id == id && !os->v[i].owner.pid &&
			    !proc_owner(pid, &os->v[i].owner))
				os->v[i].owner.pid = pid;
	}
	closedir(dir);
	return 0;
}

/* The link's sk_lookup fields into *l: 1, 0 when it is another kind of link, or -errno. */
static int read_link(uint32_t id, struct sklookup_link *l)
{
	struct bpf_link_info info;
	struct bpf_prog_info pinfo;
	__u32 len = sizeof(info);
	int fd, pfd, err = 0;

	fd = bpf_link_get_fd_by_id(id);
	if (fd < 0)
		return -errno;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		err = -errno;
		goto close_link;
	}
	if (info.type != BPF_LINK_TYPE_NETNS || info.netns.attach_type != BPF_SK_LOOKUP)
		goto close_link; /* err 0: not ours */
	memset(l, 0, sizeof(*l));
	l->link_id = info.id;
	l->prog_id = info.prog_id;
	l->netns = info.netns.netns_ino;
	err = 1;
	pfd = bpf_prog_get_fd_by_id(info.prog_id);
	if (pfd >= 0) {
		memset(&pinfo, 0, sizeof(pinfo));
		len = sizeof(pinfo);
		if (!bpf_obj_get_info_by_fd(pfd, &pinfo, &len))
			memcpy(l->prog_name, pinfo.name, sizeof(l->prog_name));
		l->prog_name[sizeof(l->prog_name) - 1] = '\0';
		close(pfd);
	}
close_link:
	close(fd);
	return err;
}

int sklookup_scan(struct sklookup *s, uint64_t now, sklookup_new_fn on_new, void *arg)
{
	struct sklookup_link *v = NULL, *nv;
	size_t n = 0, cap = 0, nnew = 0;
	__u32 id = 0;
	int err = 0, r;

	s->scans++;
	for (;;) {
		if (bpf_link_get_next_id(id, &id)) {
			if (errno != ENOENT)
				err = -errno;
			break;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 8;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				err = -ENOMEM;
				break;
			}
			v = nv;
		}
		r = read_link(id, &v[n]);
		if (r == -ENOENT)
			continue; /* detached and freed since get_next_id */
		if (r < 0) {
			err = r;
			break;
		}
		if (r == 1)
			nnew += !find(s, v[n++].link_id);
	}
	s->last_err = err;
	if (err) {
		free(v);
		return err;
	}
	if (nnew) { /* who holds them: one /proc walk for all */
		struct owner_scan os = { .v = v, .n = n, .self = (uint32_t)getpid() };

		proc_foreach_pid(owner_pid, &os);
	}
	err = sklookup_merge(s, v, n, now, on_new, arg);
	free(v);
	return err;
}

void sklookup_message(char *buf, size_t len, const struct sklookup_link *l)
{
	char who[PW_COMM_LEN + PW_EXE_LEN + 64];

	if (l->owner.pid)
		snprintf(who, sizeof(who), "pid %u (%s, uid %u, %s)", l->owner.pid,
			 l->owner.comm, l->owner.uid,
			 pw_owner_exe(&l->owner)[0] ? pw_owner_exe(&l->owner) : "?");
	else
		snprintf(who, sizeof(who), "no process (pinned, or its loader closed it)");
	snprintf(buf, len,
		 "sk_lookup: BPF program %s (id %u) attached by link %u to network namespace %u "
		 "picks the socket for its connections and datagrams, on any port; held by %s",
		 l->prog_name[0] ? l->prog_name : "(unnamed)", l->prog_id, l->link_id, l->netns,
		 who);
}
