// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* bpfload.c - load and attach bpf/portwatch.bpf.c; see bpfload.h. */
#include <errno.h>
#include <fcntl.h>
#include <mntent.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>

#include "bpfload.h"
#include "log.h"
#include "portwatch/event.h"
#include "portwatch.skel.h"

#define TRACEFS "/sys/kernel/tracing"

/* libbpf's messages go to our log at debug level (warnings at info). */
static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	log_at(level == LIBBPF_WARN ? LOG_INFO : LOG_DEBUG, "%s%s", strncmp(buf, "libbpf: ", 8) ? "libbpf: " : "", buf);
	return 0;
}

/* Syscall tracepoints need tracefs, which is not mounted at boot here. */
static int ensure_tracefs(void)
{
	struct stat st;

	if (!stat(TRACEFS "/events", &st) || !stat("/sys/kernel/debug/tracing/events", &st))
		return 0;
	if (mount("tracefs", TRACEFS, "tracefs", 0, NULL))
		return -errno;
	log_info("mounted tracefs on " TRACEFS);
	return 0;
}

/* The cgroup v2 mount point (/sys/fs/cgroup or /sys/fs/cgroup/unified), opened. */
static int open_cgroup2_root(void)
{
	FILE *f = setmntent("/proc/self/mounts", "re");
	struct mntent *me;
	int fd = -ENOENT;

	if (!f)
		return -errno;
	while ((me = getmntent(f)))
		if (!strcmp(me->mnt_type, "cgroup2")) {
			fd = open(me->mnt_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (fd < 0)
				fd = -errno;
			break;
		}
	endmntent(f);
	return fd;
}

static void note_hook(struct pw_bpf *b, const struct bpf_program *prog)
{
	if (b->nhooks < PWBPF_MAX_HOOKS)
		snprintf(b->hooks[b->nhooks++], sizeof(b->hooks[0]), "%s",
			 bpf_program__section_name(prog));
}

/* Does the program's name end in "_probe" (a PW_PROBE twin, portwatch.bpf.c)? */
static int is_probe_twin(const struct bpf_program *prog)
{
	const char *name = bpf_program__name(prog);
	size_t n = strlen(name);

	return n > 6 && !strcmp(name + n - 6, "_probe");
}

/* Does the running kernel's BTF have the kfunc bpf_rdonly_cast() (Linux 6.2+)? */
static int have_rdonly_cast(void)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	int found;

	if (!vmlinux)
		return 0;
	found = btf__find_by_name_kind(vmlinux, "bpf_rdonly_cast", BTF_KIND_FUNC) >= 0;
	btf__free(vmlinux);
	return found;
}

/*
 * Open and load one set of programs: the twins that read sockets through
 * bpf_rdonly_cast() (probe = 0) or through bpf_probe_read_kernel() (probe
 * = 1); programs without a twin are in both. 0 or -errno with *what set.
 */
static int load_set(struct pw_bpf *b, int probe, size_t ringbuf_bytes, const char **what)
{
	struct bpf_program *prog;
	int err;

	b->skel = portwatch__open();
	if (!b->skel) {
		*what = "open the BPF object";
		return -errno;
	}
	bpf_object__for_each_program(prog, b->skel->obj) {
		char twin[64];

		if (is_probe_twin(prog)) {
			bpf_program__set_autoload(prog, probe);
			continue;
		}
		snprintf(twin, sizeof(twin), "%s_probe", bpf_program__name(prog));
		if (probe && bpf_object__find_program_by_name(b->skel->obj, twin))
			bpf_program__set_autoload(prog, false);
	}
	err = bpf_map__set_max_entries(b->skel->maps.events, ringbuf_bytes);
	if (err) {
		*what = "size the ring buffer";
		return err;
	}
	/*
	 * Wake the daemon once 256 KiB (~1,600 events) are pending, or a 16th
	 * of a small ring. At 64 KiB, 2-process bind churn woke it ~900 times
	 * a second and context switches were 22% of its profile; at 256 KiB
	 * ~250-380 (the 5 ms flush timer's 200 included), 8% of it. Latency
	 * is bounded by the flush timer either way.
	 */
	b->skel->rodata->wakeup_bytes = ringbuf_bytes / 16 < 256 * 1024 ? ringbuf_bytes / 16 :
									  256 * 1024;
	err = portwatch__load(b->skel);
	if (err)
		*what = "load the BPF programs (verifier log at --log-level debug)";
	return err;
}

int pwbpf_open(struct pw_bpf *b, size_t ringbuf_bytes, ring_buffer_sample_fn fn, void *ctx,
	       const char **what)
{
	struct bpf_program *prog;
	int err, probe;

	memset(b, 0, sizeof(*b));
	b->cgroup_fd = -1;
	libbpf_set_print(libbpf_log);

	/* the floor no variant can serve: say which feature and which version brings it */
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		*what = "read the kernel's BTF, /sys/kernel/btf/vmlinux (a kernel built with "
			"CONFIG_DEBUG_INFO_BTF, Linux 5.4 or later, is needed)";
		return -errno;
	}
	if (libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) != 1) {
		*what = "create a BPF ring buffer (Linux 5.8 or later is needed)";
		return -EOPNOTSUPP;
	}
	err = ensure_tracefs();
	if (err) {
		*what = "mount tracefs on " TRACEFS;
		return err;
	}
	/*
	 * fd -> socket: bpf_rdonly_cast() where the kernel has it and lets
	 * these program types call it, else probe reads. Tried, not assumed
	 * from the version: the kfunc may exist and still be refused.
	 */
	probe = !have_rdonly_cast() || getenv("PORTWATCH_PROBE_READ");
	err = load_set(b, probe, ringbuf_bytes, what);
	if (err && !probe) {
		log_info("the programs that use bpf_rdonly_cast() did not load (%s): trying "
			 "their probe-read twins",
			 strerror(-err));
		portwatch__destroy(b->skel);
		b->skel = NULL;
		probe = 1;
		err = load_set(b, probe, ringbuf_bytes, what);
	}
	if (err)
		return err;
	b->fd_read = probe ? "bpf_probe_read_kernel (no usable bpf_rdonly_cast on this kernel)" :
			     "bpf_rdonly_cast";

	bpf_object__for_each_program(prog, b->skel->obj) {
		const char *sec = bpf_program__section_name(prog);
		struct bpf_link *link;

		if (!bpf_program__autoload(prog))
			continue;
		if (!strcmp(sec, "cgroup/sock_release")) {
			b->cgroup_fd = open_cgroup2_root();
			if (b->cgroup_fd < 0) {
				log_warnx("no cgroup v2 hierarchy (%s): sockets leave the table only "
					  "at reconciliation", strerror(-b->cgroup_fd));
				continue;
			}
			link = bpf_program__attach_cgroup(prog, b->cgroup_fd);
		} else {
			link = bpf_program__attach(prog);
		}
		if (!link) {
			err = -errno;
			if (!strncmp(sec, "tracepoint/", 11)) {
				*what = sec;
				return err;
			}
			log_warnx("cannot attach %s: %s", sec, strerror(-err));
			continue;
		}
		bpf_program__set_autoattach(prog, false);
		/* the skeleton's links array owns the link, destroyed with it */
		for (int i = 0; i < b->skel->skeleton->prog_cnt; i++)
			if (*b->skel->skeleton->progs[i].prog == prog)
				*b->skel->skeleton->progs[i].link = link;
		if (!strcmp(sec, "cgroup/sock_release"))
			b->release_hook = 1;
		note_hook(b, prog);
	}

	b->rb = ring_buffer__new(bpf_map__fd(b->skel->maps.events), fn, ctx, NULL);
	if (!b->rb) {
		*what = "create the ring buffer consumer";
		return -errno;
	}
	/*
	 * The ring's first two pages, read-only: consumer and producer
	 * positions, for pwbpf_sleep() (libbpf 1.1 has no
	 * ring_buffer__avail_data_size()). A mapping of its own beside
	 * libbpf's: the same pages, so the same values.
	 */
	b->pos_len = 2 * (size_t)sysconf(_SC_PAGESIZE);
	b->pos = mmap(NULL, b->pos_len, PROT_READ, MAP_SHARED, bpf_map__fd(b->skel->maps.events), 0);
	if (b->pos == MAP_FAILED) {
		b->pos = NULL;
		*what = "map the ring buffer's positions";
		return -errno;
	}
	return 0;
}

void pwbpf_close(struct pw_bpf *b)
{
	if (b->pos)
		munmap(b->pos, b->pos_len);
	b->pos = NULL;
	ring_buffer__free(b->rb);
	b->rb = NULL;
	portwatch__destroy(b->skel);
	b->skel = NULL;
	if (b->cgroup_fd >= 0)
		close(b->cgroup_fd);
	b->cgroup_fd = -1;
}

int pwbpf_epoll_fd(const struct pw_bpf *b)
{
	return ring_buffer__epoll_fd(b->rb);
}

const struct pw_event *pwbpf_record(const void *data, size_t size, struct pw_event *buf)
{
	const struct pw_release_record *r = data;

	if (size >= sizeof(struct pw_event))
		return data;
	if (size != sizeof(*r) || r->type != PW_EV_RELEASE)
		return NULL;
	memset(buf, 0, sizeof(*buf));
	buf->ts_ns = r->ts_ns;
	buf->type = r->type;
	buf->pid = r->pid;
	buf->tid = r->tid;
	buf->uid = r->uid;
	buf->gid = r->gid;
	buf->sk.inode = r->inode;
	buf->sk.netns = r->netns;
	buf->sk.lport = r->lport;
	buf->sk.protocol = r->protocol;
	return buf;
}

int pwbpf_consume(struct pw_bpf *b)
{
	return ring_buffer__consume(b->rb);
}

/*
 * Producer position != consumer position: something was reserved in the
 * ring and not consumed yet, committed or not (ringbuf layout: the
 * consumer page, then the producer page, each starting with its position).
 */
static int ring_pending(const struct pw_bpf *b)
{
	const unsigned long *cons = b->pos;
	const unsigned long *prod = (const void *)((const char *)b->pos + b->pos_len / 2);

	return __atomic_load_n(prod, __ATOMIC_ACQUIRE) != __atomic_load_n(cons, __ATOMIC_RELAXED);
}

/*
 * The daemon's half of the wake-up protocol; event_submit() in
 * bpf/portwatch.bpf.c has the other half and the argument. The store of
 * the flag and the read of the producer position must not be reordered
 * (a store followed by a load of another location may be, on x86 too):
 * hence the full fence between them.
 */
int pwbpf_sleep(struct pw_bpf *b)
{
	__u32 *asleep = &b->skel->bss->consumer_asleep;

	__atomic_store_n(asleep, 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!ring_pending(b))
		return 1;
	__atomic_store_n(asleep, 0, __ATOMIC_RELAXED);
	return 0;
}

int pwbpf_asleep(const struct pw_bpf *b)
{
	return __atomic_load_n(&b->skel->bss->consumer_asleep, __ATOMIC_RELAXED);
}

void pwbpf_wake(struct pw_bpf *b)
{
	__atomic_store_n(&b->skel->bss->consumer_asleep, 0, __ATOMIC_RELAXED);
}

int pwbpf_tracked_fd(const struct pw_bpf *b)
{
	return bpf_map__fd(b->skel->maps.tracked);
}

int pwbpf_counter(const struct pw_bpf *b, unsigned int idx, uint64_t *sum)
{
	int ncpus = libbpf_num_possible_cpus(), err = 0;
	__u64 *vals;

	*sum = 0;
	if (ncpus <= 0)
		return ncpus ? ncpus : -EINVAL;
	vals = calloc(ncpus, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(bpf_map__fd(b->skel->maps.counters), &idx, vals))
		err = -errno;
	for (int i = 0; !err && i < ncpus; i++)
		*sum += vals[i];
	free(vals);
	return err;
}

int pwbpf_bind_programs(const char *cgroup_path, int family, char *names, size_t len,
			const uint32_t *skip, size_t nskip)
{
	enum bpf_attach_type type = family == AF_INET6 ? BPF_CGROUP_INET6_BIND :
							 BPF_CGROUP_INET4_BIND;
	__u32 ids[64], cnt = 64;
	int root, fd, err;
	size_t used = 0;

	names[0] = '\0';
	root = open_cgroup2_root();
	if (root < 0)
		return root;
	while (*cgroup_path == '/')
		cgroup_path++;
	fd = *cgroup_path ? openat(root, cgroup_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) :
			    dup(root);
	err = fd < 0 ? -errno : 0;
	close(root);
	if (err)
		return err;
	err = bpf_prog_query(fd, type, BPF_F_QUERY_EFFECTIVE, NULL, ids, &cnt);
	err = err ? -errno : 0;
	close(fd);
	if (err)
		return err;
	for (__u32 i = 0, kept = 0; i < cnt; i++) {
		int own = 0;

		for (size_t j = 0; j < nskip; j++)
			own |= skip[j] && skip[j] == ids[i];
		if (!own)
			ids[kept++] = ids[i];
		if (i + 1 == cnt)
			cnt = kept;
	}
	for (__u32 i = 0; i < cnt && used + 1 < len; i++) {
		struct bpf_prog_info info = { 0 };
		__u32 ilen = sizeof(info);
		int pfd = bpf_prog_get_fd_by_id(ids[i]);
		int n;

		if (pfd < 0 || bpf_obj_get_info_by_fd(pfd, &info, &ilen))
			info.name[0] = '\0';
		if (pfd >= 0)
			close(pfd);
		n = snprintf(names + used, len - used, "%s%s (id %u)", i ? ", " : "",
			     info.name[0] ? info.name : "?", ids[i]);
		used += n > 0 ? (size_t)n : 0;
	}
	return (int)cnt;
}
