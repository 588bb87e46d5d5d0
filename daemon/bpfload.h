/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * bpfload.h - loads bpf/portwatch.bpf.c (skeleton `portwatch`), attaches
 * what works on this kernel, and hands events to a callback, in order,
 * from its ring buffers (one per CPU, merged by ringmerge.h).
 *
 * Lifecycle: pwbpf_open() = __open() -> size the rings, set rodata ->
 * __load() -> create the rings and store them in `rings` -> attach each
 * program on its own (so one unavailable hook is reported, not fatal
 * unless it is a required one) -> one libbpf ring_buffer over them all.
 */
#ifndef PORTWATCH_BPFLOAD_H
#define PORTWATCH_BPFLOAD_H

#include <stddef.h>
#include <stdint.h>

#include <bpf/libbpf.h>

#include "portwatch/event.h"
#include "ringmerge.h"

struct pw_event;

#define PWBPF_MAX_HOOKS 16

struct pw_bpf;

/* The context of one ring's sample callback: which ring a record came from. */
struct pwbpf_ring {
	struct pw_bpf *b;
	unsigned int idx;
};

struct pw_bpf {
	struct portwatch *skel;
	struct ring_buffer *rb;               /* every ring, one epoll fd */
	unsigned int nrings;                  /* 1..PW_RINGS_MAX (event.h) */
	size_t ring_bytes;                    /* the size of each ring */
	int ring_fd[PW_RINGS_MAX];            /* the rings (inner maps of `rings`), -1 when none */
	void *ring_pos[PW_RINGS_MAX];         /* each ring's position pages, read-only */
	struct pwbpf_ring ring_ctx[PW_RINGS_MAX];
	struct ringmerge merge;               /* records drained, not yet final (nrings > 1) */
	uint64_t merge_late;                  /* records applied before their turn was known (stats) */
	uint64_t merge_behind;                /* drains that left records waiting for a ring not yet clean */
	ring_buffer_sample_fn fn;             /* the caller's callback, and its context */
	void *fn_ctx;
	int cgroup_fd;                        /* cgroup v2 root, -1 when not used */
	char hooks[PWBPF_MAX_HOOKS][64];      /* attached programs, "SEC name" form */
	int nhooks;
	int release_hook;                     /* cgroup/sock_release attached */
	/* how the programs read the socket behind an fd (static string) */
	const char *fd_read;
	/* ring-buffer records shorter than struct pw_event, skipped (stats) */
	uint64_t short_records;
	size_t pos_len;                       /* bytes of each ring_pos mapping */
};

/*
 * Mount tracefs when needed, open/load/attach, create the ring buffers:
 * one per possible CPU up to PW_RINGS_MAX (PORTWATCH_RINGS=N in the
 * environment sets the count, for tests and benchmarks), sharing
 * ringbuf_bytes (a power of two: each ring gets ringbuf_bytes / count
 * rounded down to a power of two, at least a page). fn(ctx, data, size)
 * is called for each record, in timestamp order across the rings
 * (ringmerge.h), from pwbpf_consume() and pwbpf_consume_sync() only. The programs that read the socket behind an fd
 * come in two sets (portwatch.bpf.c, enum pw_read): bpf_rdonly_cast()
 * where the kernel's BTF has it and the load succeeds, else probe reads
 * (Linux before 6.2); PORTWATCH_PROBE_READ in the environment forces the
 * latter (tests). b->fd_read says which. Returns 0, or -errno with *what set to the step
 * that failed (static string) for the caller's message.
 */
int pwbpf_open(struct pw_bpf *b, size_t ringbuf_bytes, ring_buffer_sample_fn fn, void *ctx,
	       const char **what);
/* Detach and free everything; accepts a zeroed or half-opened struct. */
void pwbpf_close(struct pw_bpf *b);

/* The epoll fd to wait on for wake-ups (ring_buffer__epoll_fd()). */
int pwbpf_epoll_fd(const struct pw_bpf *b);
/*
 * Drain every ring and hand the callback each record no record still in
 * a ring can precede (ringmerge.h); the others wait for a later call
 * (pwbpf_sleep() keeps the caller awake while any wait, and none waits
 * longer than PWBPF_MERGE_MAX_NS). Returns how many records were drained
 * from the rings, or -errno (ring_buffer__consume()).
 */
int pwbpf_consume(struct pw_bpf *b);
/*
 * pwbpf_consume(), then hand on every record stamped before this call
 * began: what a request or a reconciliation must see (every call that
 * returned before it). Drains again while a ring is still behind that
 * time (a program between its reservation and its commit), a bounded
 * number of times. Returns as pwbpf_consume().
 */
int pwbpf_consume_sync(struct pw_bpf *b);
/* How long a drained record may wait for the other rings: 10 ms (see pwbpf_consume()). */
#define PWBPF_MERGE_MAX_NS (10ULL * 1000 * 1000)

/*
 * The event a ring record of size bytes holds: data itself when it is a
 * struct pw_event, buf filled from it when it is a struct
 * pw_release_record (event.h), NULL for a record of neither size (a BPF
 * side of another layout: the caller counts it in short_records).
 */
const struct pw_event *pwbpf_record(const void *data, size_t size, struct pw_event *buf);
/*
 * Wake-ups (bpf/portwatch.bpf.c, event_submit()). pwbpf_sleep(): the
 * consumer, having drained the rings, is about to block with no timer:
 * tell the BPF side (the next event forces a wake-up), then check that
 * nothing was reserved in any ring since the drain and that no drained
 * record waits for its turn (ringmerge.h). Returns 1 when it may block;
 * 0 when a ring is not empty or records wait, the flag withdrawn (keep
 * draining on the timer). pwbpf_asleep(): the flag is still set, no event has
 * taken the wake-up since. pwbpf_wake(): withdraw it (awake, on a timer).
 */
int pwbpf_sleep(struct pw_bpf *b);
int pwbpf_asleep(const struct pw_bpf *b);
void pwbpf_wake(struct pw_bpf *b);
/* fd of the `tracked` map (socket inodes the table holds). */
int pwbpf_tracked_fd(const struct pw_bpf *b);
/*
 * Sum over CPUs of counter idx (enum pw_counter) into *sum. Returns 0, or
 * -errno when the map cannot be read (*sum then 0).
 */
int pwbpf_counter(const struct pw_bpf *b, unsigned int idx, uint64_t *sum);

/*
 * The BPF programs that run before bind(2) of a socket of family (AF_INET
 * or AF_INET6) made by a process of cgroup path (cgroup v2, relative to
 * its mount, "/" for the root): those attached as BPF_CGROUP_INET4_BIND or
 * BPF_CGROUP_INET6_BIND and effective there, its ancestors' included
 * (BPF_PROG_QUERY with BPF_F_QUERY_EFFECTIVE; inet_bind() and
 * inet6_bind() run them, BPF_CGROUP_RUN_PROG_INET_BIND_LOCK()). Such a
 * program may refuse the bind (EPERM) or rewrite its address. Writes
 * "name (id N), ..." into names (len > 0). Returns how many, or -errno.
 */
int pwbpf_bind_programs(const char *cgroup_path, int family, char *names, size_t len,
			const uint32_t *skip, size_t nskip);

#endif /* PORTWATCH_BPFLOAD_H */
