// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * proc.c - attribution of sockets to processes through /proc; see proc.h.
 *
 * Everything is read relative to a directory fd of /proc/PID, so the
 * files of one proc_owner() call all belong to one process even if its
 * pid is reused meanwhile (the dirfd goes stale and reads fail with ESRCH
 * instead of reading the newcomer).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "container.h"
#include "proc.h"

/*
 * Read a small file relative to dirfd into buf (at most len - 1 bytes),
 * NUL-terminated. Returns the byte count, or -errno.
 */
static ssize_t read_small(int dirfd, const char *name, char *buf, size_t len)
{
	size_t off = 0;
	ssize_t n;
	int fd;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (off < len - 1) {
		n = read(fd, buf + off, len - 1 - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			n = -errno;
			close(fd);
			return n;
		}
		if (n == 0)
			break;
		off += n;
	}
	buf[off] = '\0';
	close(fd);
	return off;
}

/* Real uid from the text of /proc/PID/status; -ENOENT when no Uid: line. */
static int parse_status_uid(const char *status, uint32_t *uid)
{
	const char *p = status;
	char *end;
	unsigned long v;

	while (p) {
		if (!strncmp(p, "Uid:", 4)) {
			errno = 0;
			v = strtoul(p + 4, &end, 10);
			if (errno || end == p + 4)
				return -EINVAL;
			*uid = v;
			return 0;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -ENOENT;
}

int proc_owner(uint32_t pid, struct pw_owner *out)
{
	char path[32], buf[4096], exe[PW_EXE_LEN];
	struct stat st;
	ssize_t n;
	int dirfd, err;

	snprintf(path, sizeof(path), "/proc/%u", pid);
	dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	out->pid = pid;

	/* status first: it fails (ENOENT/ESRCH) once the process is gone. */
	n = read_small(dirfd, "status", buf, sizeof(buf));
	if (n < 0) {
		err = n;
		goto out;
	}
	err = parse_status_uid(buf, &out->uid);
	if (err)
		goto out;

	if (!out->comm[0]) {
		n = read_small(dirfd, "comm", out->comm, sizeof(out->comm));
		if (n < 0) {
			err = n;
			goto out;
		}
		out->comm[strcspn(out->comm, "\n")] = '\0';
	}

	/* Kernel threads and processes of other mount namespaces: "". */
	n = readlinkat(dirfd, "exe", exe, sizeof(exe) - 1);
	exe[n < 0 ? 0 : n] = '\0';
	out->exe = strpool_intern(exe);
	if (!fstatat(dirfd, "exe", &st, 0)) {
		out->exe_ino = st.st_ino;
		out->exe_dev = pw_kernel_dev(major(st.st_dev), minor(st.st_dev));
	}

	/* A missing cgroup file (no cgroups configured) is not an error. */
	out->ctr = 0;
	if (read_small(dirfd, "cgroup", buf, sizeof(buf)) < 0) {
		out->unit = 0;
	} else {
		struct pw_container c;
		char unit[PW_UNIT_LEN];

		proc_unit_from_cgroup(buf, unit, sizeof(unit));
		out->unit = strpool_intern(unit);
		if (!container_from_proc_cgroup(buf, &c))
			out->ctr = container_intern(&c);
	}
	err = 0;
out:
	close(dirfd);
	return err;
}

/*
 * The unit in one cgroup path ("/a.slice/b.service/c"): the last component
 * with a unit suffix, copied into unit (truncated to len - 1 bytes).
 * Returns 0, or -ENOENT when no component has one.
 */
static int unit_from_path(const char *path, size_t plen, char *unit, size_t len)
{
	static const char *const suffixes[] = { ".service", ".scope", ".socket", ".mount" };
	const char *end = path + plen, *comp, *best = NULL;
	size_t clen, best_len = 0, slen;

	for (comp = path; comp < end; comp += clen + 1) {
		const char *slash = memchr(comp, '/', end - comp);

		clen = (slash ? slash : end) - comp;
		for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
			slen = strlen(suffixes[i]);
			if (clen > slen && !memcmp(comp + clen - slen, suffixes[i], slen)) {
				best = comp;
				best_len = clen;
				break;
			}
		}
	}
	if (!best)
		return -ENOENT;
	if (best_len > len - 1)
		best_len = len - 1;
	memcpy(unit, best, best_len);
	unit[best_len] = '\0';
	return 0;
}

/*
 * Lines look like "hierarchy-ID:controller-list:path" (cgroups(7)). The
 * v2 line ("0::") wins when it names a unit; on a hybrid or legacy host
 * whose v2 path is just "/", the v1 "name=systemd" line is used.
 */
int proc_unit_from_cgroup(const char *cgroup_text, char *unit, size_t len)
{
	const char *line, *next, *c1, *c2, *eol;
	const char *v1 = NULL, *v1_end = NULL;

	if (!len)
		return -ENOENT;
	unit[0] = '\0';
	for (line = cgroup_text; line && *line; line = next) {
		eol = strchr(line, '\n');
		next = eol ? eol + 1 : NULL;
		if (!eol)
			eol = line + strlen(line);
		c1 = memchr(line, ':', eol - line);
		if (!c1)
			continue;
		c2 = memchr(c1 + 1, ':', eol - c1 - 1);
		if (!c2)
			continue;
		if (c2 == c1 + 1 && c1 - line == 1 && line[0] == '0') {
			if (!unit_from_path(c2 + 1, eol - c2 - 1, unit, len))
				return 0;
		} else if (c2 - c1 - 1 == 12 && !memcmp(c1 + 1, "name=systemd", 12)) {
			v1 = c2 + 1;
			v1_end = eol;
		}
	}
	if (v1 && !unit_from_path(v1, v1_end - v1, unit, len))
		return 0;
	return -ENOENT;
}

/*
 * Open-addressing hash, linear probing, power-of-two capacity kept at most
 * half full. Key 0 marks an empty slot: no socket has inode 0.
 */
struct sockmap_slot {
	uint64_t inode;
	uint32_t pid;
};

struct proc_sockmap {
	struct sockmap_slot *slots;
	size_t cap; /* power of two */
	size_t count;
};

/* Fibonacci hashing: socket inodes are nearly sequential. */
static size_t sockmap_hash(uint64_t inode, size_t cap)
{
	return (size_t)((inode * 0x9e3779b97f4a7c15ULL) >> 32) & (cap - 1);
}

static int sockmap_grow(struct proc_sockmap *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 4096;
	struct sockmap_slot *ns, *o;

	ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++) {
		o = &m->slots[i];
		if (!o->inode)
			continue;
		for (size_t h = sockmap_hash(o->inode, ncap);; h = (h + 1) & (ncap - 1)) {
			if (!ns[h].inode) {
				ns[h] = *o;
				break;
			}
		}
	}
	free(m->slots);
	m->slots = ns;
	m->cap = ncap;
	return 0;
}

/* Record that pid holds inode, keeping the lowest pid. 0 or -ENOMEM. */
static int sockmap_add(struct proc_sockmap *m, uint64_t inode, uint32_t pid)
{
	struct sockmap_slot *s;
	int err;

	if ((m->count + 1) * 2 > m->cap) {
		err = sockmap_grow(m);
		if (err)
			return err;
	}
	for (size_t h = sockmap_hash(inode, m->cap);; h = (h + 1) & (m->cap - 1)) {
		s = &m->slots[h];
		if (s->inode == inode) {
			if (pid < s->pid)
				s->pid = pid;
			return 0;
		}
		if (!s->inode) {
			s->inode = inode;
			s->pid = pid;
			m->count++;
			return 0;
		}
	}
}

uint32_t proc_sockmap_pid(const struct proc_sockmap *m, uint64_t inode)
{
	const struct sockmap_slot *s;

	if (!m || !m->cap || !inode)
		return 0;
	for (size_t h = sockmap_hash(inode, m->cap);; h = (h + 1) & (m->cap - 1)) {
		s = &m->slots[h];
		if (s->inode == inode)
			return s->pid;
		if (!s->inode)
			return 0;
	}
}

size_t proc_sockmap_size(const struct proc_sockmap *m)
{
	return m ? m->count : 0;
}

void proc_sockmap_free(struct proc_sockmap *m)
{
	if (!m)
		return;
	free(m->slots);
	free(m);
}

/* Parse a readlink target "socket:[12345]" (not NUL-terminated); 0 if not a socket. */
static uint64_t parse_socket_link(const char *s, ssize_t n)
{
	uint64_t ino = 0;
	ssize_t i;

	if (n < 10 || memcmp(s, "socket:[", 8) || s[n - 1] != ']')
		return 0;
	for (i = 8; i < n - 1; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		ino = ino * 10 + (s[i] - '0');
	}
	return ino;
}

/*
 * Add the sockets of one process. A process that exits or execs (EACCES
 * across a setuid exec) in the middle is skipped: returns 0 then too.
 * Only -ENOMEM is an error.
 */
static int scan_pid(struct proc_sockmap *m, int procfd, uint32_t pid)
{
	char path[32], link[64];
	struct dirent *de;
	uint64_t ino;
	ssize_t n;
	DIR *dir;
	int fdfd, err = 0;

	snprintf(path, sizeof(path), "%u/fd", pid);
	fdfd = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fdfd < 0)
		return 0;
	dir = fdopendir(fdfd);
	if (!dir) {
		close(fdfd);
		return errno == ENOMEM ? -ENOMEM : 0;
	}
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		n = readlinkat(fdfd, de->d_name, link, sizeof(link));
		if (n <= 0)
			continue;
		ino = parse_socket_link(link, n);
		if (!ino)
			continue;
		err = sockmap_add(m, ino, pid);
		if (err)
			break;
	}
	closedir(dir);
	return err;
}

int proc_foreach_pid(int (*fn)(int procfd, uint32_t pid, void *arg), void *arg)
{
	struct dirent *de;
	unsigned long pid;
	char *end;
	DIR *proc;
	int ret = 0;

	proc = opendir("/proc");
	if (!proc)
		return -errno;
	while (!ret && (de = readdir(proc))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		pid = strtoul(de->d_name, &end, 10);
		if (*end || pid > UINT32_MAX)
			continue;
		ret = fn(dirfd(proc), pid, arg);
	}
	closedir(proc);
	return ret;
}

static int scan_one(int procfd, uint32_t pid, void *arg)
{
	return scan_pid(arg, procfd, pid);
}

int proc_sockmap_new(struct proc_sockmap **out)
{
	struct proc_sockmap *m = calloc(1, sizeof(*m));

	if (!m || sockmap_grow(m)) {
		free(m);
		return -ENOMEM;
	}
	*out = m;
	return 0;
}

int proc_sockmap_add(struct proc_sockmap *m, uint64_t inode, uint32_t pid)
{
	return sockmap_add(m, inode, pid);
}

int proc_sockmap_scan(struct proc_sockmap **out)
{
	struct proc_sockmap *m;
	int err;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	err = sockmap_grow(m);
	if (!err)
		err = proc_foreach_pid(scan_one, m);
	if (err) {
		proc_sockmap_free(m);
		return err;
	}
	*out = m;
	return 0;
}

/* The fd number of pid that is socket inode, or -ENOENT / -errno. */
static int find_socket_fd(uint32_t pid, uint64_t inode)
{
	char path[32], link[64], want[32];
	struct dirent *de;
	int ret = -ENOENT;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%u/fd", pid);
	snprintf(want, sizeof(want), "socket:[%llu]", (unsigned long long)inode);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		ssize_t n = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);

		if (n < 0)
			continue;
		link[n] = '\0';
		if (!strcmp(link, want)) {
			ret = atoi(de->d_name);
			break;
		}
	}
	closedir(d);
	return ret;
}

int proc_sock_flags(uint32_t pid, uint64_t inode, struct pw_sock *sk)
{
	int fd, pidfd, copy, v, err = 0;
	socklen_t len = sizeof(v);
	struct stat st;

	fd = find_socket_fd(pid, inode);
	if (fd < 0)
		return fd;
	pidfd = pidfd_open(pid, 0);
	if (pidfd < 0)
		return -errno;
	copy = pidfd_getfd(pidfd, fd, 0);
	err = copy < 0 ? -errno : 0;
	close(pidfd);
	if (err)
		return err;
	if (fstat(copy, &st) || st.st_ino != inode) { /* the fd was reused meanwhile */
		close(copy);
		return -ENOENT;
	}
	if (!getsockopt(copy, SOL_SOCKET, SO_REUSEADDR, &v, &len))
		sk->reuseaddr = v != 0;
	len = sizeof(v);
	if (!getsockopt(copy, SOL_SOCKET, SO_REUSEPORT, &v, &len))
		sk->reuseport = v != 0;
	len = sizeof(v);
	if (sk->family == AF_INET6 && !getsockopt(copy, IPPROTO_IPV6, IPV6_V6ONLY, &v, &len))
		sk->v6only = v != 0;
	close(copy);
	return 0;
}

int proc_fd_is_socket(uint32_t pid, int fd, uint64_t inode)
{
	char path[48], link[64], want[32];
	ssize_t n;

	if (fd < 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%u/fd/%d", pid, fd);
	snprintf(want, sizeof(want), "socket:[%llu]", (unsigned long long)inode);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return 0;
	link[n] = '\0';
	return !strcmp(link, want);
}

int proc_sock_filter(uint32_t pid, uint64_t inode, int fd_hint, struct sock_filter *prog,
		     unsigned int cap, int *fd_out)
{
	int fd = proc_fd_is_socket(pid, fd_hint, inode) ? fd_hint : find_socket_fd(pid, inode);
	socklen_t len = cap;
	int pidfd, copy, err;
	struct stat st;

	if (fd < 0)
		return fd;
	if (fd_out)
		*fd_out = fd;
	pidfd = pidfd_open(pid, 0);
	if (pidfd < 0)
		return errno == ESRCH ? -ENOENT : -errno;
	copy = pidfd_getfd(pidfd, fd, 0);
	err = copy < 0 ? -errno : 0;
	close(pidfd);
	if (err)
		return err == -EBADF ? -ENOENT : err;
	if (fstat(copy, &st) || st.st_ino != inode) { /* the fd was reused meanwhile */
		close(copy);
		return -ENOENT;
	}
	err = getsockopt(copy, SOL_SOCKET, SO_GET_FILTER, prog, &len) ? -errno : (int)len;
	close(copy);
	return err;
}

int proc_cgroup_path(uint32_t pid, char *path, size_t len)
{
	char name[32], buf[4096];
	const char *line;
	ssize_t n;

	snprintf(name, sizeof(name), "/proc/%u/cgroup", pid);
	n = read_small(AT_FDCWD, name, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	for (line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (!strncmp(line, "0::", 3)) {
			size_t l = strcspn(line + 3, "\n");

			if (l >= len)
				return -ENAMETOOLONG;
			memcpy(path, line + 3, l);
			path[l] = '\0';
			return 0;
		}
	}
	return -ENOENT;
}
