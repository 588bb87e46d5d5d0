/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * bpfload.h - loads bpf/portwatch.bpf.c (skeleton `portwatch`), attaches
 * what works on this kernel, and hands events to a callback through one
 * libbpf ring buffer.
 *
 * Lifecycle: pwbpf_open() = __open() -> size the ring buffer, set rodata ->
 * __load() -> attach each program on its own (so one unavailable hook is
 * reported, not fatal unless it is a required one) -> ring_buffer__new().
 */
#ifndef PORTWATCH_BPFLOAD_H
#define PORTWATCH_BPFLOAD_H

#include <stddef.h>
#include <stdint.h>

#include <bpf/libbpf.h>

struct pw_event;

#define PWBPF_MAX_HOOKS 16

struct pw_bpf {
	struct portwatch *skel;
	struct ring_buffer *rb;
	int cgroup_fd;                        /* cgroup v2 root, -1 when not used */
	char hooks[PWBPF_MAX_HOOKS][64];      /* attached programs, "SEC name" form */
	int nhooks;
	int release_hook;                     /* cgroup/sock_release attached */
	/* how the programs read the socket behind an fd (static string) */
	const char *fd_read;
	/* ring-buffer records shorter than struct pw_event, skipped (stats) */
	uint64_t short_records;
	void *pos;                            /* the ring's position pages, read-only */
	size_t pos_len;
};

/*
 * Mount tracefs when needed, open/load/attach, create the ring buffer of
 * ringbuf_bytes (a power of two, >= page size) with fn(ctx, data, size) as
 * the sample callback. The programs that read the socket behind an fd
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
/* Consume every pending event; returns the count or -errno. */
int pwbpf_consume(struct pw_bpf *b);

/*
 * The event a ring record of size bytes holds: data itself when it is a
 * struct pw_event, buf filled from it when it is a struct
 * pw_release_record (event.h), NULL for a record of neither size (a BPF
 * side of another layout: the caller counts it in short_records).
 */
const struct pw_event *pwbpf_record(const void *data, size_t size, struct pw_event *buf);
/*
 * Wake-ups (bpf/portwatch.bpf.c, event_submit()). pwbpf_sleep(): the
 * consumer, having drained the ring, is about to block with no timer:
 * tell the BPF side (the next event forces a wake-up), then check that
 * nothing was reserved in the ring since the drain. Returns 1 when it may
 * block; 0 when the ring is not empty, the flag withdrawn (keep draining
 * on the timer). pwbpf_asleep(): the flag is still set, no event has
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
