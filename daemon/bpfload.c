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
#include <time.h>
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
 * How many rings and how big: one per possible CPU up to PW_RINGS_MAX
 * (or PORTWATCH_RINGS), sharing total bytes, each a power of two of at
 * least a page (the kernel's ringbuf_map_alloc() wants both). 0 or -errno.
 */
static int ring_layout(struct pw_bpf *b, size_t total)
{
	const char *env = getenv("PORTWATCH_RINGS");
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	int n = libbpf_num_possible_cpus();

	if (env) {
		char *end;
		long v = strtol(env, &end, 10);

		if (*end || v < 1 || v > PW_RINGS_MAX)
			return -EINVAL;
		n = (int)v;
	}
	if (n <= 0)
		return n ? n : -EINVAL;
	b->nrings = n < PW_RINGS_MAX ? (unsigned int)n : PW_RINGS_MAX;
	b->ring_bytes = page;
	while (b->ring_bytes * 2 <= total / b->nrings)
		b->ring_bytes *= 2;
	return 0;
}

/* Create the rings and store each in the loaded object's `rings`. 0 or -errno, *what set. */
static int make_rings(struct pw_bpf *b, const char **what)
{
	int outer = bpf_map__fd(b->skel->maps.rings);

	for (__u32 i = 0; i < b->nrings; i++) {
		b->ring_fd[i] = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "pw_ring", 0, 0,
					       (__u32)b->ring_bytes, NULL);
		if (b->ring_fd[i] < 0) {
			b->ring_fd[i] = -1;
			*what = "create the ring buffers";
			return -errno;
		}
		if (bpf_map_update_elem(outer, &i, &b->ring_fd[i], BPF_ANY)) {
			*what = "store the ring buffers in the `rings` map";
			return -errno;
		}
	}
	return 0;
}

/*
 * A record from ring ctx->idx: to the caller's callback when there is one
 * ring (its order is the order), else into that ring's merge queue. A
 * record the queue has no memory for goes to the callback at once: out of
 * its turn, counted, but not lost.
 */
static int ring_sample(void *ctx, void *data, size_t size)
{
	struct pwbpf_ring *r = ctx;
	struct pw_bpf *b = r->b;

	if (b->nrings == 1)
		return b->fn(b->fn_ctx, data, size);
	if (ringmerge_push(&b->merge, r->idx, data, size)) {
		b->merge_late++;
		return b->fn(b->fn_ctx, data, size);
	}
	return 0;
}

/*
 * Open and load one set of programs: the twins that read sockets through
 * bpf_rdonly_cast() (probe = 0) or through bpf_probe_read_kernel() (probe
 * = 1); programs without a twin are in both. 0 or -errno with *what set.
 */
static int load_set(struct pw_bpf *b, int probe, const char **what)
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
	/*
	 * The rings themselves are made after load (make_rings()); the
	 * object's inner-map template stays at its 64 KiB (libbpf 1.1 cannot
	 * resize an inner map: bpf_map__set_max_entries() reads its object).
	 */
	err = bpf_map__set_max_entries(b->skel->maps.rings, b->nrings);
	if (err) {
		*what = "size the ring buffers";
		return err;
	}
	b->skel->rodata->nr_rings = b->nrings;
	/*
	 * Wake the daemon once 256 KiB (~1,600 events) are pending, or a 16th
	 * of a small ring. At 64 KiB, 2-process bind churn woke it ~900 times
	 * a second and context switches were 22% of its profile; at 256 KiB
	 * ~250-380 (the 5 ms flush timer's 200 included), 8% of it. Latency
	 * is bounded by the flush timer either way.
	 */
	b->skel->rodata->wakeup_bytes = b->ring_bytes / 16 < 256 * 1024 ? b->ring_bytes / 16 :
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
	for (int i = 0; i < PW_RINGS_MAX; i++)
		b->ring_fd[i] = -1;
	b->fn = fn;
	b->fn_ctx = ctx;
	libbpf_set_print(libbpf_log);
	err = ring_layout(b, ringbuf_bytes);
	if (err) {
		*what = "count the possible CPUs (or read PORTWATCH_RINGS)";
		return err;
	}

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
	err = load_set(b, probe, what);
	if (err && !probe) {
		log_info("the programs that use bpf_rdonly_cast() did not load (%s): trying "
			 "their probe-read twins",
			 strerror(-err));
		portwatch__destroy(b->skel);
		b->skel = NULL;
		probe = 1;
		err = load_set(b, probe, what);
	}
	if (err)
		return err;
	b->fd_read = probe ? "bpf_probe_read_kernel (no usable bpf_rdonly_cast on this kernel)" :
			     "bpf_rdonly_cast";

	/* the rings exist before any program runs: an event finds its ring */
	err = make_rings(b, what);
	if (err)
		return err;

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

	/*
	 * One libbpf consumer over every ring (one epoll fd); each ring's
	 * callback context says which ring a record came from. Beside it, each
	 * ring's first two pages, read-only: consumer and producer positions,
	 * for pwbpf_consume() and pwbpf_sleep() (libbpf 1.1 has no
	 * ring_buffer__avail_data_size()); the same pages, so the same values.
	 */
	b->pos_len = 2 * (size_t)sysconf(_SC_PAGESIZE);
	for (unsigned int i = 0; i < b->nrings; i++) {
		b->ring_ctx[i].b = b;
		b->ring_ctx[i].idx = i;
		if (!i)
			b->rb = ring_buffer__new(b->ring_fd[0], ring_sample, &b->ring_ctx[0], NULL);
		else if (b->rb && ring_buffer__add(b->rb, b->ring_fd[i], ring_sample, &b->ring_ctx[i]))
			goto no_consumer;
		if (!b->rb)
			goto no_consumer;
		b->ring_pos[i] = mmap(NULL, b->pos_len, PROT_READ, MAP_SHARED, b->ring_fd[i], 0);
		if (b->ring_pos[i] == MAP_FAILED) {
			b->ring_pos[i] = NULL;
			*what = "map the ring buffers' positions";
			return -errno;
		}
	}
	if (b->nrings > 1 && ringmerge_init(&b->merge, b->nrings)) {
		*what = "allocate the ring merge queues";
		return -ENOMEM;
	}
	return 0;

no_consumer:
	*what = "create the ring buffer consumer";
	return -errno;
}

void pwbpf_close(struct pw_bpf *b)
{
	ring_buffer__free(b->rb);
	b->rb = NULL;
	/* only the rings pwbpf_open() counted: a zeroed struct has nrings 0 (and fds 0) */
	for (unsigned int i = 0; i < b->nrings && i < PW_RINGS_MAX; i++) {
		if (b->ring_pos[i])
			munmap(b->ring_pos[i], b->pos_len);
		b->ring_pos[i] = NULL;
		if (b->ring_fd[i] >= 0)
			close(b->ring_fd[i]);
		b->ring_fd[i] = -1;
	}
	b->nrings = 0;
	ringmerge_free(&b->merge);
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

/* Ring i's consumer and producer positions (ringbuf layout: the consumer page, then the producer page). */
static const unsigned long *cons_pos(const struct pw_bpf *b, unsigned int i)
{
	return b->ring_pos[i];
}

static const unsigned long *prod_pos(const struct pw_bpf *b, unsigned int i)
{
	return (const void *)((const char *)b->ring_pos[i] + b->pos_len / 2);
}

/* CLOCK_BOOTTIME, the clock of bpf_ktime_get_boot_ns(), in ns. */
static uint64_t boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * The BPF side stamps with ktime_get_boot_fast_ns(), which reads the same
 * clocksource as clock_gettime(CLOCK_BOOTTIME) through the timekeeper's
 * other copy (kernel/time/timekeeping.c): the two may differ by a few
 * nanoseconds across an update. Clean times are taken this much earlier
 * so that a record reserved after the reading is still stamped after it.
 * Small against the wake-up latency, or the event that woke the daemon
 * would wait for the next drain.
 */
#define CLOCK_SLACK_NS 2000ULL
/* Drains of a ring still short of its producer position before giving up for this time. */
#define SETTLE_TRIES 8

int pwbpf_consume(struct pw_bpf *b)
{
	unsigned long prod[PW_RINGS_MAX];
	uint64_t t, now, mark;
	int n, k, left;

	if (b->nrings == 1)
		return ring_buffer__consume(b->rb);
	/*
	 * Clean times (ringmerge.h): t read before each ring's producer
	 * position; a ring is clean at t once every record below that
	 * position is consumed. A record still uncommitted there (its program
	 * runs on another CPU) stops libbpf's consumer: try again a few
	 * times, it commits within microseconds.
	 */
	t = boot_ns();
	t = t > CLOCK_SLACK_NS ? t - CLOCK_SLACK_NS : 0;
	for (unsigned int i = 0; i < b->nrings; i++)
		prod[i] = __atomic_load_n(prod_pos(b, i), __ATOMIC_ACQUIRE);
	n = ring_buffer__consume(b->rb);
	for (int tries = 0; n >= 0; tries++) {
		left = 0;
		for (unsigned int i = 0; i < b->nrings; i++) {
			if ((long)(__atomic_load_n(cons_pos(b, i), __ATOMIC_ACQUIRE) - prod[i]) < 0)
				left++;
			else
				ringmerge_clean(&b->merge, i, t);
		}
		if (!left || tries == SETTLE_TRIES)
			break;
		k = ring_buffer__consume(b->rb);
		n = k < 0 ? k : n + k;
	}
	if (n < 0)
		return n;
	/*
	 * A record waits at most PWBPF_MERGE_MAX_NS for a ring that is never
	 * clean (a program preempted between its reservation and its commit
	 * on a preemptible kernel): then it is applied, counted as late.
	 */
	mark = ringmerge_watermark(&b->merge);
	now = boot_ns();
	if (now > PWBPF_MERGE_MAX_NS && mark < now - PWBPF_MERGE_MAX_NS) {
		b->merge_late += ringmerge_apply(&b->merge, now - PWBPF_MERGE_MAX_NS, b->fn, b->fn_ctx);
	}
	ringmerge_apply(&b->merge, mark, b->fn, b->fn_ctx);
	b->merge_behind += b->merge.queued && mark < t;
	return n;
}

/* Drains before handing on, at most, what is stamped before the call regardless. */
#define SYNC_TRIES 64

int pwbpf_consume_sync(struct pw_bpf *b)
{
	uint64_t t;
	int n = 0, k;

	if (b->nrings == 1)
		return ring_buffer__consume(b->rb);
	t = boot_ns();
	for (int i = 0; i < SYNC_TRIES; i++) {
		k = pwbpf_consume(b);
		if (k < 0)
			return k;
		n += k;
		if (!b->merge.queued || ringmerge_watermark(&b->merge) > t)
			return n;
	}
	b->merge_late += ringmerge_apply(&b->merge, t, b->fn, b->fn_ctx);
	return n;
}

/* Something was reserved in a ring and not consumed yet, committed or not. */
static int ring_pending(const struct pw_bpf *b)
{
	for (unsigned int i = 0; i < b->nrings; i++)
		if (__atomic_load_n(prod_pos(b, i), __ATOMIC_ACQUIRE) !=
		    __atomic_load_n(cons_pos(b, i), __ATOMIC_RELAXED))
			return 1;
	return 0;
}

/*
 * The daemon's half of the wake-up protocol; record_submit() in
 * bpf/portwatch.bpf.c has the other half and the argument. The store of
 * the flag and the read of the producer positions must not be reordered
 * (a store followed by a load of another location may be, on x86 too):
 * hence the full fence between them. Records drained but waiting for
 * their turn (ringmerge.h) keep the caller on its timer as well.
 */
int pwbpf_sleep(struct pw_bpf *b)
{
	__u32 *asleep = &b->skel->bss->consumer_asleep;

	if (b->merge.queued)
		return 0;
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
