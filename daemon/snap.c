// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * snap.c - socket snapshots through the BPF iterators of
 * bpf/snapshot.bpf.c, in every network namespace; see snap.h.
 *
 * An iterator reads the namespace of the task that *creates* its fd
 * (bpf_iter_init_seq_net() takes current->nsproxy->net_ns once, at
 * BPF_ITER_CREATE), not the one that reads it. So the daemon stays in a
 * foreign namespace only for the two bpf_iter_create() calls, returns home,
 * and then reads the records: callbacks always run in the daemon's own
 * namespace.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <sys/stat.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "diag.h"
#include "log.h"
#include "proc.h"
#include "snap.h"
#include "snapshot.skel.h"

#define SNAP_BUF_SIZE (64 * 1024) /* the kernel fills at most 32 KiB per read */
#define RUN_NETNS "/run/netns"

enum { SNAP_TCP, SNAP_UDP, SNAP_NITER };

/*
 * A path that held a network namespace at the last scan: /run/netns/NAME
 * when name is set (preferred: the mount keeps the namespace alive), else
 * /proc/PID/ns/net.
 */
struct ns_ent {
	uint32_t ino; /* netns inode (nsfs st_ino) */
	uint32_t pid;
	char *name;   /* owned; NULL for a /proc entry */
	int walked;   /* the last snap_walk() read this namespace */
};

struct snap {
	struct snapshot *skel;
	struct bpf_link *links[SNAP_NITER]; /* owned by skel->links */
	struct bpf_link *owners_link;       /* iter/task_file, or NULL; owned by skel->links */
	int self_fd;                        /* /proc/self/ns/net at snap_open() */
	uint32_t self_ino;
	dev_t nsfs_dev;                     /* st_dev shared by every nsfs inode */
	int lost;                           /* setns() home failed: not at home */
	void *buf;                          /* SNAP_BUF_SIZE bytes */
	struct ns_ent *ns;                  /* other namespaces, sorted by ino */
	size_t n_ns;
};

static void ns_clear(struct snap *s)
{
	for (size_t i = 0; i < s->n_ns; i++)
		free(s->ns[i].name);
	free(s->ns);
	s->ns = NULL;
	s->n_ns = 0;
}

void snap_close(struct snap *s)
{
	if (!s)
		return;
	ns_clear(s);
	free(s->buf);
	if (s->self_fd >= 0)
		close(s->self_fd);
	snapshot__destroy(s->skel); /* destroys the links too */
	free(s);
}

int snap_open(struct snap **out)
{
	struct bpf_program *progs[SNAP_NITER];
	struct bpf_link **skel_links[SNAP_NITER];
	struct stat st;
	struct snap *s;
	int err;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->self_fd = -1;

	s->skel = snapshot__open_and_load();
	if (!s->skel) {
		err = errno ? -errno : -EINVAL;
		goto err_close;
	}
	progs[SNAP_TCP] = s->skel->progs.dump_tcp;
	progs[SNAP_UDP] = s->skel->progs.dump_udp;
	skel_links[SNAP_TCP] = &s->skel->links.dump_tcp;
	skel_links[SNAP_UDP] = &s->skel->links.dump_udp;
	for (int i = 0; i < SNAP_NITER; i++) {
		s->links[i] = bpf_program__attach_iter(progs[i], NULL);
		if (!s->links[i]) {
			err = errno ? -errno : -EINVAL;
			goto err_close;
		}
		*skel_links[i] = s->links[i];
	}
	/* optional: without it, owners come from a /proc scan (proc.h) */
	s->owners_link = bpf_program__attach_iter(s->skel->progs.dump_sock_owners, NULL);
	s->skel->links.dump_sock_owners = s->owners_link;

	s->self_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (s->self_fd < 0 || fstat(s->self_fd, &st) < 0) {
		err = -errno;
		goto err_close;
	}
	s->self_ino = st.st_ino;
	s->nsfs_dev = st.st_dev;

	s->buf = malloc(SNAP_BUF_SIZE);
	if (!s->buf) {
		err = -ENOMEM;
		goto err_close;
	}
	*out = s;
	return 0;

err_close:
	snap_close(s);
	return err;
}

uint32_t snap_self_netns(const struct snap *s)
{
	return s->self_ino;
}

/*
 * Return to the daemon's namespace. On failure the snap is marked lost,
 * every later call tries again first, and -ENOTRECOVERABLE is returned:
 * callers must treat it as fatal.
 */
static int go_home(struct snap *s)
{
	for (int try = 0; try < 3; try++) {
		if (!setns(s->self_fd, CLONE_NEWNET)) {
			s->lost = 0;
			return 0;
		}
	}
	if (!s->lost)
		log_at(LOG_CRIT, "snap: cannot return to own network namespace %u: %s", s->self_ino,
		       strerror(errno));
	s->lost = 1;
	return -ENOTRECOVERABLE;
}

int snap_sock_owners(struct snap *s, int (*fn)(uint64_t inode, uint32_t pid, void *arg),
		     void *arg)
{
	const size_t rec = sizeof(struct pw_sock_owner);
	size_t have = 0, off;
	int fd, ret = 0;
	ssize_t n;

	if (!s->owners_link)
		return -ENOTSUP;
	fd = bpf_iter_create(bpf_link__fd(s->owners_link));
	if (fd < 0)
		return -errno;
	for (;;) {
		n = read(fd, (char *)s->buf + have, SNAP_BUF_SIZE - have);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			ret = -errno;
			break;
		}
		if (n == 0) {
			if (have)
				ret = -EPROTO;
			break;
		}
		have += n;
		for (off = 0; have - off >= rec; off += rec) {
			const struct pw_sock_owner *o =
				(const struct pw_sock_owner *)((char *)s->buf + off);

			ret = fn(o->inode, o->pid, arg);
			if (ret) {
				ret = ret < 0 ? ret : 1;
				goto out;
			}
		}
		memmove(s->buf, (char *)s->buf + off, have - off);
		have -= off;
	}
out:
	close(fd);
	return ret;
}

/* Create the tcp and udp iterator fds in the current namespace; 0 or -errno. */
static int iters_create(struct snap *s, int fds[SNAP_NITER])
{
	int i;

	for (i = 0; i < SNAP_NITER; i++) {
		fds[i] = bpf_iter_create(bpf_link__fd(s->links[i]));
		if (fds[i] < 0) {
			int err = -errno;

			while (i--)
				close(fds[i]);
			return err;
		}
	}
	return 0;
}

/*
 * Read every struct pw_sock record of an iterator fd (closed here) and
 * call fn on each. Returns 0 at the end, 1 when fn stopped the walk, or
 * -errno (-EPROTO when the stream ends inside a record).
 */
static int iter_read(struct snap *s, int fd, snap_fn fn, void *arg)
{
	const size_t rec = sizeof(struct pw_sock);
	size_t have = 0, off;
	ssize_t n;
	int ret = 0;

	for (;;) {
		n = read(fd, (char *)s->buf + have, SNAP_BUF_SIZE - have);
		if (n < 0) {
			/* EAGAIN: 1M objects visited with none written; go on. */
			if (errno == EINTR || errno == EAGAIN)
				continue;
			ret = -errno;
			break;
		}
		if (n == 0) {
			if (have)
				ret = -EPROTO;
			break;
		}
		have += n;
		for (off = 0; have - off >= rec; off += rec) {
			ret = fn((const struct pw_sock *)((char *)s->buf + off), arg);
			if (ret) {
				ret = ret < 0 ? ret : 1; /* the callback's error, or stop */
				goto out;
			}
		}
		memmove(s->buf, (char *)s->buf + off, have - off);
		have -= off;
	}
out:
	close(fd);
	return ret;
}

/* Read both iterators (fds consumed). 0, 1 when fn stopped, or -errno. */
static int iters_read(struct snap *s, int fds[SNAP_NITER], snap_fn fn, void *arg)
{
	int ret = 0;

	for (int i = 0; i < SNAP_NITER; i++) {
		if (!ret)
			ret = iter_read(s, fds[i], fn, arg);
		else
			close(fds[i]);
	}
	return ret;
}

/*
 * After the iterators, the TCP sockets they cannot see (bound only), from
 * the sock_diag socket dfd made in the same namespace (-1: none).
 */
static int read_all(struct snap *s, int fds[SNAP_NITER], int dfd, uint32_t netns, snap_fn fn,
		    void *arg)
{
	int ret = iters_read(s, fds, fn, arg);

	if (dfd < 0)
		return ret;
	if (ret) {
		close(dfd);
		return ret;
	}
	ret = diag_bound_tcp(dfd, netns, fn, arg);
	if (ret < 0 && ret != -ENOMEM) {
		log_debug("snap: bound-only TCP sockets of netns %u: %s", netns, strerror(-ret));
		ret = 0;
	}
	return ret;
}

/* Walk the daemon's own namespace. 0, 1 when fn stopped, or -errno. */
static int walk_self(struct snap *s, snap_fn fn, void *arg)
{
	int fds[SNAP_NITER], err;

	err = iters_create(s, fds);
	if (err)
		return err;
	return read_all(s, fds, diag_open(), s->self_ino, fn, arg);
}

/*
 * Walk the namespace e points to. Returns 0, 1 when fn stopped, -ENOENT
 * when the path no longer holds that namespace (process gone, pid reused,
 * netns deleted), -ENOTRECOVERABLE when we could not return home, or
 * another -errno.
 */
static int walk_ent(struct snap *s, const struct ns_ent *e, snap_fn fn, void *arg)
{
	int fds[SNAP_NITER], nsfd, err, herr, dfd;
	char path[PATH_MAX];
	struct stat st;

	if (e->name)
		snprintf(path, sizeof(path), RUN_NETNS "/%s", e->name);
	else
		snprintf(path, sizeof(path), "/proc/%u/ns/net", e->pid);
	nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0)
		return errno == ESRCH ? -ENOENT : -errno;
	if (fstat(nsfd, &st) < 0) {
		err = -errno;
		close(nsfd);
		return err;
	}
	if (st.st_dev != s->nsfs_dev || st.st_ino != e->ino) {
		close(nsfd);
		return -ENOENT;
	}

	if (setns(nsfd, CLONE_NEWNET) < 0) {
		err = -errno;
		close(nsfd);
		/* EINVAL: not a network namespace (a stray bind mount). */
		return err == -EINVAL ? -ENOENT : err;
	}
	close(nsfd);
	err = iters_create(s, fds);
	dfd = err ? -1 : diag_open();
	herr = go_home(s);
	if (herr) {
		if (!err)
			for (int i = 0; i < SNAP_NITER; i++)
				close(fds[i]);
		if (dfd >= 0)
			close(dfd);
		return herr;
	}
	if (err)
		return err;
	return read_all(s, fds, dfd, e->ino, fn, arg);
}

static int ns_cmp(const void *a, const void *b)
{
	const struct ns_ent *x = a, *y = b;

	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	/* /run/netns entries first, then the lowest pid. */
	if (!x->name != !y->name)
		return x->name ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* Append {ino, pid, name} to a growing array; takes name. 0 or -ENOMEM. */
static int ns_push(struct ns_ent **v, size_t *n, size_t *cap, uint32_t ino, uint32_t pid,
		   char *name)
{
	struct ns_ent *nv;

	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		nv = realloc(*v, *cap * sizeof(**v));
		if (!nv) {
			free(name);
			return -ENOMEM;
		}
		*v = nv;
	}
	(*v)[(*n)++] = (struct ns_ent){ .ino = ino, .pid = pid, .name = name };
	return 0;
}

/*
 * Rebuild s->ns: every distinct network namespace other than our own found
 * through /run/netns/ and /proc/[0-9]+/ns/net, one path each, sorted by
 * inode. Entries that vanish while scanning are skipped. 0 or -errno.
 */
/* Collects the namespaces of processes for ns_scan(). */
struct ns_scan {
	struct snap *s;
	struct ns_ent *v;
	size_t n, cap;
};

static int ns_scan_pid(int procfd, uint32_t pid, void *arg)
{
	struct ns_scan *c = arg;
	char path[32];
	struct stat st;

	snprintf(path, sizeof(path), "%u/ns/net", pid);
	if (fstatat(procfd, path, &st, 0) < 0 || st.st_dev != c->s->nsfs_dev ||
	    st.st_ino == c->s->self_ino)
		return 0; /* gone, or in our own namespace */
	return ns_push(&c->v, &c->n, &c->cap, st.st_ino, pid, NULL);
}

static int ns_scan(struct snap *s)
{
	struct ns_ent *v = NULL;
	struct ns_scan scan;
	size_t n = 0, cap = 0, k;
	struct dirent *de;
	struct stat st;
	char *name;
	DIR *d;
	int err = 0;

	d = opendir(RUN_NETNS);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, 0) < 0 || st.st_dev != s->nsfs_dev ||
		    st.st_ino == s->self_ino)
			continue;
		name = strdup(de->d_name);
		if (!name || ns_push(&v, &n, &cap, st.st_ino, 0, name)) {
			err = -ENOMEM;
			break;
		}
	}
	if (d)
		closedir(d);
	if (err)
		goto err_free;

	scan = (struct ns_scan){ .s = s, .v = v, .n = n, .cap = cap };
	err = proc_foreach_pid(ns_scan_pid, &scan);
	v = scan.v;
	n = scan.n;
	if (err)
		goto err_free;

	/* Keep the first (best) path of each inode. */
	if (n)
		qsort(v, n, sizeof(*v), ns_cmp);
	for (size_t i = k = 0; i < n; i++) {
		if (k && v[k - 1].ino == v[i].ino) {
			free(v[i].name);
			continue;
		}
		v[k++] = v[i];
	}
	ns_clear(s);
	s->ns = v;
	s->n_ns = k;
	return 0;

err_free:
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	return err;
}

static const struct ns_ent *ns_find(const struct snap *s, uint32_t ino)
{
	size_t lo = 0, hi = s->n_ns, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (s->ns[mid].ino == ino)
			return &s->ns[mid];
		if (s->ns[mid].ino < ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int snap_walk(struct snap *s, snap_fn fn, void *arg)
{
	int walked = 1, err;

	if (s->lost && go_home(s))
		return -ENOTRECOVERABLE;
	for (size_t i = 0; i < s->n_ns; i++)
		s->ns[i].walked = 0; /* valid for this walk only, even if the scan fails */
	err = walk_self(s, fn, arg);
	if (err < 0)
		return err;
	if (err > 0)
		return walked;
	err = ns_scan(s);
	if (err) {
		log_debug("snap: listing network namespaces: %s", strerror(-err));
		return walked;
	}
	for (size_t i = 0; i < s->n_ns; i++) {
		err = walk_ent(s, &s->ns[i], fn, arg);
		if (err == -ENOTRECOVERABLE || err == -ENOMEM)
			return err;
		if (err == -ENOENT)
			continue;
		if (err < 0) {
			log_debug("snap: netns %u skipped: %s", s->ns[i].ino, strerror(-err));
			continue;
		}
		walked++;
		s->ns[i].walked = 1;
		if (err > 0)
			break;
	}
	return walked;
}

int snap_walked(const struct snap *s, uint32_t netns)
{
	const struct ns_ent *e;

	if (netns == s->self_ino)
		return 1;
	e = ns_find(s, netns);
	return e && e->walked;
}

int snap_walk_netns(struct snap *s, uint32_t netns, snap_fn fn, void *arg)
{
	const struct ns_ent *e;
	int err;

	if (s->lost && go_home(s))
		return -ENOTRECOVERABLE;
	if (netns == s->self_ino) {
		err = walk_self(s, fn, arg);
		return err < 0 ? err : 0;
	}
	e = ns_find(s, netns);
	if (e) {
		err = walk_ent(s, e, fn, arg);
		if (err != -ENOENT)
			return err < 0 ? err : 0;
	}
	/* Not cached, or the cached path went stale: look again. */
	err = ns_scan(s);
	if (err)
		return err;
	e = ns_find(s, netns);
	if (!e)
		return -ENOENT;
	err = walk_ent(s, e, fn, arg);
	return err < 0 ? err : 0;
}

/* Enter the namespace e points to (as walk_ent() does); 0 or -errno. */
static int enter_ent(struct snap *s, const struct ns_ent *e)
{
	char path[PATH_MAX];
	struct stat st;
	int nsfd, err = 0;

	if (e->name)
		snprintf(path, sizeof(path), RUN_NETNS "/%s", e->name);
	else
		snprintf(path, sizeof(path), "/proc/%u/ns/net", e->pid);
	nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0)
		return errno == ESRCH ? -ENOENT : -errno;
	if (fstat(nsfd, &st) < 0)
		err = -errno;
	else if (st.st_dev != s->nsfs_dev || st.st_ino != e->ino)
		err = -ENOENT;
	else if (setns(nsfd, CLONE_NEWNET) < 0)
		err = errno == EINVAL ? -ENOENT : -errno;
	close(nsfd);
	return err;
}

int snap_netns_call(struct snap *s, uint32_t netns, int (*fn)(void *arg), void *arg)
{
	const struct ns_ent *e;
	int err, herr;

	if (s->lost && go_home(s))
		return -ENOTRECOVERABLE;
	if (netns == s->self_ino)
		return fn(arg);
	e = ns_find(s, netns);
	err = e ? enter_ent(s, e) : -ENOENT;
	if (err == -ENOENT) {
		err = ns_scan(s);
		if (err)
			return err;
		e = ns_find(s, netns);
		err = e ? enter_ent(s, e) : -ENOENT;
	}
	if (err)
		return err;
	err = fn(arg);
	herr = go_home(s);
	return herr ? herr : err;
}

size_t snap_netns_list(const struct snap *s, uint32_t *out, size_t max)
{
	if (max)
		out[0] = s->self_ino;
	for (size_t i = 0; i < s->n_ns; i++)
		if (i + 1 < max)
			out[i + 1] = s->ns[i].ino;
	return s->n_ns + 1;
}
