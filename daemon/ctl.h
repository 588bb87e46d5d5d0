/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ctl.h - the control socket: a Unix stream socket speaking
 * newline-delimited JSON (docs/protocol.md, version PW_PROTO_VERSION).
 *
 * It is a trust boundary. Every client is non-blocking; its input is
 * bounded (PW_CTL_MAX_REQUEST bytes a request, the rest of an oversized
 * line is discarded) and so is its pending output, and so is the output
 * of all clients together (a client that stops reading is dropped rather
 * than let block the loop or grow memory). Connections are limited per
 * uid, with slots kept for root, and idle ones are closed. Every request
 * is shape-checked before use; a bad one gets
 * {"version":1,"ok":false,"error":"..."} and the connection stays.
 *
 * Data flows one way. ctl_handle() only moves bytes: it accepts, reads
 * requests into their client's buffer and writes pending answers. The
 * event loop then drains the ring buffer - so every call that returned
 * before a request was sent is in the table - and only then has
 * ctl_serve() answer a turn's worth of requests (a budget of requests
 * and bytes, shared fairly). No request drains the ring or re-enters the
 * event pipeline; a client that fails is marked dead and freed by
 * ctl_reap(), which only the loop calls.
 */
#ifndef PORTWATCH_CTL_H
#define PORTWATCH_CTL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bpfload.h"
#include "ctl_cmd.h"
#include "portwatch/proto.h"
#include "monitor.h"

#define PW_CTL_MAX_REQUEST 65536
#define PW_CTL_MAX_CLIENTS 1024
#define PW_CTL_MAX_OUTPUT (64u << 20) /* pending bytes before a client is dropped */
#define PW_CTL_SUBSCRIBER_MAX_OUTPUT (4u << 20)
#define PW_CTL_TOTAL_OUTPUT (64u << 20) /* pending bytes of all clients together */
#define PW_CTL_ROOT_SLOTS 16            /* of PW_CTL_MAX_CLIENTS, only uid 0 may take */

struct ctl_client;

/*
 * Reload the configuration (the `reload` request, peer uid 0 only).
 * Returns 0, or -errno with a message in msg; the daemon keeps its old
 * configuration then.
 */
typedef int (*ctl_reload_fn)(void *arg, char *msg, size_t msglen);

/* Where the control socket comes from (portwatch.conf(5) [control]). */
struct ctl_socket_opts {
	const char *path;  /* socket path, when the daemon creates it */
	mode_t mode;       /* its file mode, e.g. 0660 */
	const char *group; /* group owning it ("" or NULL: leave root's) */
	int fd;            /* a listening socket passed by systemd (LISTEN_FDS), or -1 */
	unsigned int idle_timeout_s;  /* portwatch.conf(5) idle_timeout; 0 never */
	unsigned int clients_per_uid; /* max_clients_per_uid, 1..PW_CTL_MAX_CLIENTS */
};

struct pw_ctl {
	int listen_fd;
	int epoll_fd;              /* borrowed: the daemon's loop */
	int activated;             /* listen_fd came from systemd: leave the file alone */
	char path[108];            /* socket path; unlinked at ctl_close() unless activated */
	struct ctl_client **clients;
	size_t nclients;
	struct pw_monitor *mon;    /* borrowed */
	struct pw_bpf *bpf;        /* borrowed, for counters and hooks */
	const struct sklookup *sklookup; /* borrowed, for `diversions`; NULL: not scanned */
	const struct nat *nat;     /* borrowed, for `diversions`, `why`, `owners`; NULL: none */
	const struct sniff_set *sniffers; /* borrowed, for `owners --sniffers`; NULL: none kept */
	const struct freebind *freebind;  /* borrowed, for `stats`; NULL: not followed */
	uint64_t start_ns;         /* CLOCK_REALTIME ns at daemon start */
	ctl_reload_fn reload;      /* NULL: `reload` is refused */
	int listen_paused;         /* out of fds (EMFILE/ENFILE): listener not polled
				    * until a client leaves */
	uint64_t refused_log_ns;   /* CLOCK_MONOTONIC ns of the last "cannot accept" line */
	uint64_t refused;          /* connections refused or left waiting since that line */
	uint64_t dropped_log_ns;   /* CLOCK_MONOTONIC ns of the last "dropping a client" line */
	uint64_t dropped;          /* clients dropped since that line */
	void *reload_arg;
	uint64_t idle_timeout_ns;  /* an idle client is closed after this; 0 never */
	unsigned int clients_per_uid; /* connections a non-root uid may hold */
	size_t out_total;          /* pending output bytes of all clients */
	uint64_t queued;           /* bytes ever queued (for the per-turn budget) */
	size_t rr;                 /* where the next ctl_serve() turn starts */
	struct ctl_stats stats;
};

/*
 * Use the socket systemd passed (o->fd >= 0; made non-blocking), or
 * create one at o->path with o->mode and o->group (the parent directory
 * is created 0755 when missing), and register it with epoll_fd. A stale
 * socket file nobody answers on is replaced; a live one is -EADDRINUSE;
 * anything but a socket at o->path is left alone: -EEXIST.
 * A group that does not exist is logged and left out. Returns 0 or
 * -errno. Access control is the file's mode and group (unix(7): connect
 * needs write permission on the socket file); each client's SO_PEERCRED
 * (socket(7)) is read at accept for the requests reserved to root.
 */
int ctl_open(struct pw_ctl *c, const struct ctl_socket_opts *o, int epoll_fd,
	     struct pw_monitor *mon, struct pw_bpf *bpf);
/* Close every client and the socket, and unlink it. Accepts a zeroed struct. */
void ctl_close(struct pw_ctl *c);

/*
 * Handle epoll readiness of fd, which belongs to the control socket (ptr
 * is what ctl registered: the struct pw_ctl for the listener, a client
 * otherwise): accept, read, write. Requests are not answered here but by
 * ctl_serve(). Returns 1 when it was ctl's, 0 when not.
 */
int ctl_handle(struct pw_ctl *c, void *ptr, uint32_t events);

/*
 * Complete requests wait to be answered: the loop must drain the ring
 * buffer, then call ctl_serve(), and not block in epoll_wait() while
 * this stays true.
 */
int ctl_pending(const struct pw_ctl *c);
/*
 * Answer one turn's worth of waiting requests: at most 16 of one client
 * and 64 or 8 MiB of answers in all, clients taking turns; a streamed
 * answer (`owners`, ctl_cmd.h struct ctl_stream) gets its next piece, at
 * most 256 KiB, and holds back its client's later requests. Call only
 * with the table up to date (the ring buffer drained).
 */
void ctl_serve(struct pw_ctl *c);

/*
 * At each housekeeping tick (each second; every PW_IDLE_TICK_S seconds
 * while the daemon is idle, daemon/portwatchd.c): close the clients idle for idle_timeout_ns (not
 * subscribed, no request or answer pending, no complete request and no
 * answer sent for that long: a partial line does not count);
 * now: CLOCK_MONOTONIC ns.
 */
void ctl_tick(struct pw_ctl *c, uint64_t now);

/*
 * Send an alert to every subscriber (while the loop drains the ring
 * buffer, or during a `reload`): a subscriber that cannot take it is
 * closed, not freed (ctl_reap()).
 */
void ctl_publish_alert(struct pw_ctl *c, const struct pw_alert *a);

/*
 * Free the clients dropped since the last call. Only the event loop calls
 * it, after each batch of events: nothing below it holds a client then.
 */
void ctl_reap(struct pw_ctl *c);

#endif /* PORTWATCH_CTL_H */
