// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* ctl.c - the control socket server; see ctl.h and docs/protocol.md. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "ctl.h"
#include "ctl_cmd.h"
#include "ctl_req.h"
#include "log.h"
#include "pwjson.h"

/*
 * The per-turn budget of control work (ctl_serve()): requests of one
 * client, requests of all, and bytes of answers queued, before the loop
 * goes back to the ring buffer. 8 MiB is about 25,000 sockets of
 * `owners`; an answer is never cut, so one turn may exceed it once.
 */
#define CTL_REQUESTS_PER_CLIENT 16
#define CTL_REQUESTS_PER_TURN 64
#define CTL_BYTES_PER_TURN (8u << 20)

/*
 * A streamed answer (ctl_cmd.h struct ctl_stream: `owners`) is written
 * at most CTL_STREAM_CHUNK bytes per client per turn, handed to the
 * socket every CTL_STREAM_WINDOW bytes, and only while less than
 * CTL_STREAM_WINDOW waits to be sent to that client. A dump of 100k
 * sockets (30 MB) takes ~120 turns, each after a drain of the ring
 * buffer and with the other clients served in between; a client that
 * does not read holds one window of output (a 128 KiB buffer) and its
 * stream's keys in the daemon, not the whole answer.
 */
#define CTL_STREAM_CHUNK (256u << 10)
#define CTL_STREAM_WINDOW (64u << 10)

/* A client's first input buffer; it doubles up to PW_CTL_MAX_REQUEST + 1. */
#define CTL_IN_START 1024

struct ctl_client {
	int fd;
	struct ucred peer;  /* SO_PEERCRED at accept; uid (uid_t)-1 when unknown */
	uint32_t events;    /* currently registered with epoll */
	int subscribed;
	int discarding;     /* inside an oversized request: drop up to '\n' */
	int eof;            /* the peer shut down its side: close once the output is out */
	int backlog;        /* complete requests wait in `in` for their turn */
	int dead;           /* closed; freed by ctl_reap(), never under a caller */
	uint64_t active_ns; /* CLOCK_MONOTONIC ns of the last complete request or of
			     * the last answer bytes sent: a partial line trickled
			     * byte by byte does not keep a client (slowloris) */
	/*
	 * Input: grown as a request needs it, up to PW_CTL_MAX_REQUEST + 1,
	 * so that a thousand idle clients cost a page each, not 64 KiB.
	 */
	char *in;
	size_t inlen, incap;
	char *out;          /* pending output */
	size_t outlen, outcap, outoff;
	/*
	 * An answer being written a piece at a time (stream_more()); its
	 * requests after it wait. NULL when none. stream_items: elements
	 * written so far; stream_bytes: its heap, counted in out_total.
	 */
	struct ctl_stream *stream;
	size_t stream_items, stream_bytes;
};

static int make_dir_of(const char *path)
{
	char tmp[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *dir;

	snprintf(tmp, sizeof(tmp), "%s", path);
	dir = dirname(tmp);
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

/* Is a daemon answering on path? (connect succeeds) */
static int socket_is_live(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), live;

	if (fd < 0)
		return 0;
	live = !connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	close(fd);
	return live;
}

/*
 * Give the socket file (just bound: its mode came from the umask of
 * bind_with_mode()) its group. lchown(): never follow a symlink someone
 * put in its place. A missing group or a failure is logged, not fatal.
 */
static void socket_group(const char *path, const char *group)
{
	struct group *gr;

	if (!group || !group[0])
		return;
	gr = getgrnam(group);
	if (!gr) {
		log_notice("control socket %s: group '%s' does not exist, only root can connect "
			   "(create it, e.g. with systemd-sysusers, and restart)",
			   path, group);
		return;
	}
	if (lchown(path, (uid_t)-1, gr->gr_gid))
		log_warn("control socket %s: cannot give it to group '%s'", path, group);
}

/* bind() creating the file with exactly mode (no chmod() on a path afterwards). */
static int bind_with_mode(int fd, const struct sockaddr_un *sun, mode_t mode)
{
	mode_t old = umask(~mode & 0777);
	int r = bind(fd, (const struct sockaddr *)sun, sizeof(*sun));

	umask(old);
	return r;
}

/*
 * Remove a stale socket file at path, and only a socket: a configuration
 * naming a regular file (or anything else) must not make us delete it.
 * 0, or -EEXIST when something other than a socket is there.
 */
static int remove_stale(const char *path)
{
	struct stat st;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	return unlink(path) ? -errno : 0;
}

int ctl_open(struct pw_ctl *c, const struct ctl_socket_opts *o, int epoll_fd,
	     struct pw_monitor *mon, struct pw_bpf *bpf)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN };
	socklen_t sl = sizeof(sun);
	int err;

	memset(c, 0, sizeof(*c));
	c->listen_fd = -1;
	c->epoll_fd = epoll_fd;
	c->mon = mon;
	c->bpf = bpf;
	c->start_ns = monitor_now();
	c->idle_timeout_ns = (uint64_t)o->idle_timeout_s * 1000000000ULL;
	c->clients_per_uid = o->clients_per_uid ? o->clients_per_uid : PW_CTL_MAX_CLIENTS;
	if (o->fd >= 0) {
		/* systemd made it (portwatchd.socket): its mode, group and file are systemd's */
		c->listen_fd = o->fd;
		c->activated = 1;
		if (fcntl(o->fd, F_SETFL, fcntl(o->fd, F_GETFL) | O_NONBLOCK) ||
		    fcntl(o->fd, F_SETFD, FD_CLOEXEC))
			goto fail;
		if (!getsockname(o->fd, (struct sockaddr *)&sun, &sl) && sun.sun_path[0])
			snprintf(c->path, sizeof(c->path), "%s", sun.sun_path);
		else
			snprintf(c->path, sizeof(c->path), "(passed by systemd)");
		goto registered;
	}
	if (strlen(o->path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", o->path);
	err = make_dir_of(o->path);
	if (err)
		return err;
	if (socket_is_live(&sun))
		return -EADDRINUSE;
	err = remove_stale(o->path);
	if (err)
		return err;
	c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->listen_fd < 0)
		return -errno;
	if (bind_with_mode(c->listen_fd, &sun, o->mode))
		goto fail;
	snprintf(c->path, sizeof(c->path), "%s", o->path);
	socket_group(o->path, o->group);
	if (listen(c->listen_fd, 128))
		goto fail;
registered:
	ev.data.ptr = c;
	if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, c->listen_fd, &ev))
		goto fail;
	return 0;
fail:
	err = -errno;
	close(c->listen_fd);
	c->listen_fd = -1;
	if (c->path[0] && !c->activated)
		unlink(c->path);
	c->path[0] = '\0';
	return err;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * Drop a client: its fd is closed at once (no more events, no more output),
 * its memory stays until ctl_reap(), so that whoever holds a pointer or an
 * index to it - a request being served, an alert being published, the
 * loop's batch of epoll events - never meets freed memory.
 */
static void client_kill(struct pw_ctl *c, struct ctl_client *cl)
{
	if (cl->dead)
		return;
	epoll_ctl(c->epoll_fd, EPOLL_CTL_DEL, cl->fd, NULL);
	close(cl->fd);
	cl->fd = -1;
	cl->dead = 1;
	cl->backlog = 0;
	cl->subscribed = 0;
	c->out_total -= cl->outlen - cl->outoff + cl->stream_bytes;
	ctl_stream_free(cl->stream);
	cl->stream = NULL;
	cl->stream_bytes = 0;
	free(cl->out); /* unsent output goes now, not at ctl_reap() */
	cl->out = NULL;
	cl->outlen = cl->outoff = cl->outcap = 0;
}

static void client_free(struct pw_ctl *c, size_t i)
{
	struct ctl_client *cl = c->clients[i];

	client_kill(c, cl);
	free(cl->out);
	free(cl->in);
	free(cl);
	c->clients[i] = c->clients[--c->nclients];
}

/* Stop or resume polling the listener (out of fds: accept would fail at once). */
static void listen_pause(struct pw_ctl *c, int pause)
{
	struct epoll_event ev = { .events = pause ? 0 : EPOLLIN, .data.ptr = c };

	if (c->listen_paused == pause || c->listen_fd < 0)
		return;
	if (!epoll_ctl(c->epoll_fd, EPOLL_CTL_MOD, c->listen_fd, &ev))
		c->listen_paused = pause;
}

void ctl_reap(struct pw_ctl *c)
{
	int freed = 0;

	for (size_t i = 0; i < c->nclients;)
		if (c->clients[i]->dead) {
			client_free(c, i);
			freed = 1;
		} else {
			i++;
		}
	if (freed)
		listen_pause(c, 0);
}

void ctl_close(struct pw_ctl *c)
{
	while (c->nclients)
		client_free(c, 0);
	free(c->clients);
	c->clients = NULL;
	if (c->listen_fd >= 0) {
		close(c->listen_fd);
		c->listen_fd = -1;
	}
	if (c->path[0] && !c->activated)
		unlink(c->path);
	c->path[0] = '\0';
}

static void client_rearm(struct pw_ctl *c, struct ctl_client *cl)
{
	uint32_t want = (cl->eof || cl->backlog ? 0 : EPOLLIN) |
			(cl->outlen > cl->outoff ? EPOLLOUT : 0);
	struct epoll_event ev = { .events = want, .data.ptr = cl };

	if (want != cl->events && !epoll_ctl(c->epoll_fd, EPOLL_CTL_MOD, cl->fd, &ev))
		cl->events = want;
}

#define CTL_LOG_INTERVAL_NS (60ULL * 1000000000ULL)

/*
 * One line a minute at most about clients dropped for unread output, with
 * their count: a flood of them must not become a flood of log lines.
 */
static void note_dropped(struct pw_ctl *c, const struct ctl_client *cl, const char *why)
{
	uint64_t now = mono_ns();

	c->dropped++;
	c->stats.dropped_slow++;
	if (c->dropped_log_ns && now - c->dropped_log_ns < CTL_LOG_INTERVAL_NS)
		return;
	log_warnx("control socket: dropping a client of uid %ld that does not read its answers: "
		  "%s (%llu client%s dropped in the last minute)",
		  cl->peer.uid == (uid_t)-1 ? -1L : (long)cl->peer.uid, why,
		  (unsigned long long)c->dropped, c->dropped == 1 ? "" : "s");
	c->dropped_log_ns = now;
	c->dropped = 0;
}

/* What cl holds of the output budget: unsent bytes and its stream's keys. */
static size_t unsent(const struct ctl_client *cl)
{
	return cl->outlen - cl->outoff + cl->stream_bytes;
}

/*
 * Make room for len more bytes of self's output within the budget of all
 * clients: drop the others that hold the most unsent output, clients of
 * other uids than root first. 0, or -ENOBUFS when self alone is too much.
 */
static int make_room(struct pw_ctl *c, struct ctl_client *self, size_t len)
{
	while (c->out_total + len > PW_CTL_TOTAL_OUTPUT) {
		struct ctl_client *victim = NULL;

		for (int root = 0; root < 2 && !victim; root++)
			for (size_t i = 0; i < c->nclients; i++) {
				struct ctl_client *cl = c->clients[i];

				if (cl == self || cl->dead || !unsent(cl) ||
				    (cl->peer.uid == 0) != root)
					continue;
				if (!victim || unsent(cl) > unsent(victim))
					victim = cl;
			}
		if (!victim)
			return -ENOBUFS;
		note_dropped(c, victim, "the output budget of all clients (64 MiB) is spent");
		client_kill(c, victim);
	}
	return 0;
}

/* Queue bytes; -ENOBUFS when the client is past its output bound. */
static int client_queue(struct pw_ctl *c, struct ctl_client *cl, const char *data, size_t len)
{
	size_t limit = cl->subscribed ? PW_CTL_SUBSCRIBER_MAX_OUTPUT : PW_CTL_MAX_OUTPUT;

	if (cl->outoff == cl->outlen)
		cl->outoff = cl->outlen = 0;
	if (cl->outlen - cl->outoff + len > limit || make_room(c, cl, len))
		return -ENOBUFS;
	if (cl->outlen + len > cl->outcap) {
		size_t cap = cl->outcap ? cl->outcap : 4096;
		char *p;

		if (cl->outoff) { /* compact first */
			memmove(cl->out, cl->out + cl->outoff, cl->outlen - cl->outoff);
			cl->outlen -= cl->outoff;
			cl->outoff = 0;
		}
		while (cap < cl->outlen + len)
			cap *= 2;
		p = realloc(cl->out, cap);
		if (!p)
			return -ENOMEM;
		cl->out = p;
		cl->outcap = cap;
	}
	memcpy(cl->out + cl->outlen, data, len);
	cl->outlen += len;
	c->out_total += len;
	c->queued += len;
	return 0;
}

/*
 * Output buffers above CTL_KEEP_OUTPUT are freed once sent, and so are
 * those above CTL_KEEP_IDLE when no stream will fill them again (the
 * heap is trimmed after one above CTL_KEEP_OUTPUT).
 */
#define CTL_KEEP_OUTPUT (1u << 20)
#define CTL_KEEP_IDLE (64u << 10)

/*
 * Write what the socket takes now; -errno when the client is gone. Once a
 * large answer (a piece of an `owners` stream: ~420 bytes a socket) is
 * out, its buffer goes back to the system: malloc_trim(), since glibc
 * keeps freed heap memory and the RSS would stay at the peak.
 */
static int client_flush(struct pw_ctl *c, struct ctl_client *cl)
{
	while (cl->outoff < cl->outlen) {
		ssize_t n = send(cl->fd, cl->out + cl->outoff, cl->outlen - cl->outoff,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
		cl->outoff += n;
		c->out_total -= n;
		cl->active_ns = mono_ns();
	}
	if (cl->outcap > CTL_KEEP_OUTPUT || (!cl->stream && cl->outcap > CTL_KEEP_IDLE)) {
		int trim = cl->outcap > CTL_KEEP_OUTPUT;

		free(cl->out);
		cl->out = NULL;
		cl->outcap = cl->outlen = cl->outoff = 0;
		if (trim)
			malloc_trim(0);
	}
	return 0;
}

/* Serialize obj (consumed) as one line and queue it. */
static int client_send(struct pw_ctl *c, struct ctl_client *cl, json_object *obj)
{
	size_t len;
	const char *s = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN, &len);
	int err = client_queue(c, cl, s, len);

	if (!err)
		err = client_queue(c, cl, "\n", 1);
	json_object_put(obj);
	return err;
}

/* The spending of one ctl_serve() turn. */
struct turn {
	unsigned int requests;
	uint64_t queued_at_start; /* c->queued when the turn began */
};

static int turn_spent(const struct pw_ctl *c, const struct turn *t)
{
	return t->requests >= CTL_REQUESTS_PER_TURN ||
	       c->queued - t->queued_at_start >= CTL_BYTES_PER_TURN;
}

/*
 * May cl's stream be written now? (It has one, and less than a window
 * waits.) A subscriber's is written whole at once, as every answer was
 * before streams: an alert published between two pieces would land in
 * the middle of the array (its output bound, 4 MiB, still applies).
 */
static int stream_ready(const struct ctl_client *cl)
{
	return cl->stream && (cl->subscribed || cl->outlen - cl->outoff < CTL_STREAM_WINDOW);
}

/*
 * Write the next piece of cl's stream: elements, comma-separated, each
 * window handed to the socket, until CTL_STREAM_CHUNK bytes are queued in
 * this call, a window waits that the socket did not take, or the turn is
 * spent; then, once no element is left, the array's and the answer's ends
 * ("]}\n"), and the stream is freed. 0, or -ENOBUFS/-ENOMEM when the
 * client cannot take it, -errno when it is gone.
 */
static int stream_more(struct pw_ctl *c, struct ctl_client *cl, const struct turn *t)
{
	uint64_t start = c->queued;
	int err = 0;

	while (!err && (cl->subscribed ||
			(c->queued - start < CTL_STREAM_CHUNK && !turn_spent(c, t)))) {
		json_object *o;
		const char *s;
		size_t len;

		if (!stream_ready(cl) && ((err = client_flush(c, cl)) || !stream_ready(cl)))
			break;
		o = ctl_stream_next(cl->stream, c->mon);
		if (!o) {
			err = client_queue(c, cl, "]}\n", 3);
			c->out_total -= cl->stream_bytes;
			ctl_stream_free(cl->stream);
			cl->stream = NULL;
			cl->stream_bytes = 0;
			break;
		}
		s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
		err = cl->stream_items++ ? client_queue(c, cl, ",", 1) : 0;
		if (!err)
			err = client_queue(c, cl, s, len);
		json_object_put(o);
	}
	return err;
}

/*
 * Queue obj (consumed) without its closing brace, then the member
 * stream->member opening its array, and make stream (taken) cl's:
 * stream_more() writes the rest, beginning now. The stream's keys count
 * against the output budget of all clients.
 */
static int stream_begin(struct pw_ctl *c, struct ctl_client *cl, json_object *obj,
			struct ctl_stream *stream, const struct turn *t)
{
	size_t len, keys = ctl_stream_bytes(stream);
	const char *s = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN, &len);
	char head[64];
	int err;

	snprintf(head, sizeof(head), ",\"%s\":[", stream->member);
	err = make_room(c, cl, keys);
	if (!err)
		err = client_queue(c, cl, s, len - 1);
	if (!err)
		err = client_queue(c, cl, head, strlen(head));
	json_object_put(obj);
	if (err) {
		ctl_stream_free(stream);
		return err;
	}
	cl->stream = stream;
	cl->stream_bytes = keys;
	cl->stream_items = 0;
	c->out_total += keys;
	return stream_more(c, cl, t);
}

/* Answer one request; -ENOBUFS/-ENOMEM when the client cannot take the answer. */
static int handle_line(struct pw_ctl *c, struct ctl_client *cl, const char *line, size_t len,
		       const struct turn *t)
{
	struct ctl_cmd_ctx ctx = { .mon = c->mon, .bpf = c->bpf, .start_ns = c->start_ns,
				   .nclients = c->nclients, .ctl_stats = &c->stats,
				   .sklookup = c->sklookup, .sniffers = c->sniffers,
				   .freebind = c->freebind, .nat = c->nat,
				   .peer_uid = cl->peer.uid, .peer_pid = cl->peer.pid,
				   .reload = c->reload, .reload_arg = c->reload_arg,
				   .can_stream = 1 };
	json_object *resp = ctl_cmd_dispatch(&ctx, line, len);

	c->stats.requests++;
	if (ctx.subscribe)
		cl->subscribed = 1;
	if (ctx.stream)
		return stream_begin(c, cl, resp, ctx.stream, t);
	return client_send(c, cl, resp);
}

/*
 * After input arrived: skip the rest of an oversized request, note
 * whether a complete request waits (cl->backlog), and answer a line that
 * outgrew PW_CTL_MAX_REQUEST with an error once, discarding it up to its
 * newline.
 */
static void client_scan(struct pw_ctl *c, struct ctl_client *cl)
{
	char *nl;

	if (cl->discarding && cl->inlen) {
		nl = memchr(cl->in, '\n', cl->inlen);
		if (!nl) {
			cl->inlen = 0;
			return;
		}
		cl->discarding = 0;
		cl->inlen -= (size_t)(nl + 1 - cl->in);
		memmove(cl->in, nl + 1, cl->inlen);
	}
	cl->backlog = cl->inlen && memchr(cl->in, '\n', cl->inlen) != NULL;
	if (!cl->backlog && cl->inlen > PW_CTL_MAX_REQUEST) {
		client_send(c, cl, ctl_error("request longer than 65536 bytes"));
		cl->discarding = 1;
		cl->inlen = 0;
	}
}

/*
 * Go on with cl's stream, then, once it is done, answer the complete
 * requests in cl->in, at most CTL_REQUESTS_PER_CLIENT of them and what is
 * left of the turn's budget; cl->backlog stays set when some are left
 * (answers go out in order: requests wait behind a stream). *gone: the
 * client cannot take its answers.
 */
static void client_process(struct pw_ctl *c, struct ctl_client *cl, struct turn *t, int *gone)
{
	unsigned int done = 0;
	char *nl;
	int err;

	if (cl->stream) {
		err = stream_more(c, cl, t);
		if (err) {
			if ((err == -ENOBUFS || err == -ENOMEM) && !cl->dead)
				note_dropped(c, cl, "its answers exceed the output bound");
			*gone = 1;
			return;
		}
	}
	while (!cl->stream && !cl->dead && cl->inlen && (nl = memchr(cl->in, '\n', cl->inlen))) {
		size_t linelen = nl - cl->in;

		if (done == CTL_REQUESTS_PER_CLIENT || turn_spent(c, t))
			return;
		done++;
		t->requests++;
		cl->active_ns = mono_ns();
		if (linelen && (err = handle_line(c, cl, cl->in, linelen, t))) {
			if ((err == -ENOBUFS || err == -ENOMEM) && !cl->dead)
				note_dropped(c, cl, "its answers exceed the output bound");
			*gone = 1;
			return;
		}
		memmove(cl->in, nl + 1, cl->inlen - linelen - 1);
		cl->inlen -= linelen + 1;
	}
	if (cl->stream) /* the requests after it wait: backlog is checked again then */
		return;
	if (!cl->inlen && cl->incap > CTL_IN_START) { /* a big request is done */
		free(cl->in);
		cl->in = NULL;
		cl->incap = 0;
	}
	client_scan(c, cl);
}

/* Room for more input: 0, or -ENOMEM. */
static int in_room(struct ctl_client *cl)
{
	size_t cap = cl->incap ? cl->incap * 2 : CTL_IN_START;
	char *p;

	if (cl->inlen < cl->incap)
		return 0;
	if (cap > PW_CTL_MAX_REQUEST + 1)
		cap = PW_CTL_MAX_REQUEST + 1;
	p = realloc(cl->in, cap);
	if (!p)
		return -ENOMEM;
	cl->in = p;
	cl->incap = cap;
	return 0;
}

/* Read what the client sent, up to its first complete request(s). */
static void client_read(struct pw_ctl *c, struct ctl_client *cl, int *gone)
{
	while (!cl->backlog && !cl->eof) {
		ssize_t n;

		if (in_room(cl)) {
			*gone = 1;
			return;
		}
		n = recv(cl->fd, cl->in + cl->inlen, cl->incap - cl->inlen, MSG_DONTWAIT);

		if (n == 0) {
			cl->eof = 1;
			return;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			*gone = 1;
			return;
		}
		if (n < 0)
			return;
		cl->inlen += n;
		client_scan(c, cl);
	}
}

/* The peer's pid, uid and gid as of connect() (socket(7) SO_PEERCRED). */
static void peer_cred(int fd, struct ucred *cred)
{
	socklen_t len = sizeof(*cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, &len)) {
		cred->pid = 0;
		cred->uid = (uid_t)-1;
		cred->gid = (gid_t)-1;
	}
}

/*
 * One line a minute at most about connections that cannot be taken, with
 * their count: a flood of them must not become a flood of log lines.
 */
static void note_refused(struct pw_ctl *c, const char *why)
{
	uint64_t now = mono_ns();

	c->refused++;
	if (c->refused_log_ns && now - c->refused_log_ns < CTL_LOG_INTERVAL_NS)
		return;
	log_warnx("control socket %s: %s (%llu connection%s refused or kept waiting in the "
		  "last minute)", c->path, why, (unsigned long long)c->refused,
		  c->refused == 1 ? "" : "s");
	c->refused_log_ns = now;
	c->refused = 0;
}

/*
 * May a connection of uid be taken? Not past PW_CTL_MAX_CLIENTS; a uid
 * other than root not into the PW_CTL_ROOT_SLOTS kept for root, nor past
 * clients_per_uid connections of its own. NULL yes, else why not.
 */
static const char *over_limit(const struct pw_ctl *c, uid_t uid)
{
	size_t live = 0, nonroot = 0, mine = 0;

	/* clients dropped in this batch still sit in the array until ctl_reap() */
	for (size_t i = 0; i < c->nclients; i++) {
		const struct ctl_client *cl = c->clients[i];

		if (cl->dead)
			continue;
		live++;
		if (cl->peer.uid == 0)
			continue;
		nonroot++;
		mine += cl->peer.uid == uid;
	}
	if (live >= PW_CTL_MAX_CLIENTS)
		return "too many clients";
	if (uid == 0)
		return NULL;
	if (nonroot >= PW_CTL_MAX_CLIENTS - PW_CTL_ROOT_SLOTS)
		return "the clients of users other than root fill their slots (the last 16 "
		       "are kept for root)";
	if (mine >= c->clients_per_uid)
		return "a uid holds max_clients_per_uid connections";
	return NULL;
}

static void accept_clients(struct pw_ctl *c)
{
	for (;;) {
		int fd = accept4(c->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct ctl_client *cl, **v;
		struct epoll_event ev = { .events = EPOLLIN };
		struct ucred peer;
		const char *why;

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				/* level-triggered: polling on would spin; a client
				 * leaving frees an fd and resumes it (ctl_reap()) */
				note_refused(c, strerror(errno));
				listen_pause(c, 1);
			} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				log_warn("accept on %s", c->path);
			}
			return;
		}
		peer_cred(fd, &peer);
		why = over_limit(c, peer.uid);
		if (!why && !(v = realloc(c->clients, (c->nclients + 1) * sizeof(*v))))
			why = "out of memory";
		if (why) {
			c->stats.refused++;
			note_refused(c, why);
			close(fd);
			continue;
		}
		c->clients = v;
		cl = calloc(1, sizeof(*cl));
		if (!cl) {
			close(fd);
			continue;
		}
		cl->fd = fd;
		cl->events = EPOLLIN;
		cl->peer = peer;
		cl->active_ns = mono_ns();
		ev.data.ptr = cl;
		if (epoll_ctl(c->epoll_fd, EPOLL_CTL_ADD, fd, &ev)) {
			log_warn("epoll_ctl for a control client");
			close(fd);
			free(cl);
			continue;
		}
		c->clients[c->nclients++] = cl;
	}
}

/*
 * After a client's I/O or requests: drop it when it failed, or when it
 * shut its side down and has nothing left to be answered or to receive
 * (a subscriber that shut down its sending side still gets alerts);
 * otherwise poll what it now needs.
 */
static void client_settle(struct pw_ctl *c, struct ctl_client *cl, int gone)
{
	if (cl->dead)
		return;
	if (!gone && client_flush(c, cl) < 0)
		gone = 1;
	if (gone || (cl->eof && !cl->backlog && !cl->stream && !cl->subscribed &&
		     cl->outoff == cl->outlen)) {
		client_kill(c, cl);
		return;
	}
	client_rearm(c, cl);
}

int ctl_handle(struct pw_ctl *c, void *ptr, uint32_t events)
{
	struct ctl_client *cl = NULL;
	int gone = 0;

	if (ptr == c) {
		accept_clients(c);
		return 1;
	}
	for (size_t i = 0; i < c->nclients; i++)
		if (c->clients[i] == ptr) {
			cl = c->clients[i];
			break;
		}
	if (!cl)
		return 0;
	if (cl->dead) /* dropped earlier in this batch of events */
		return 1;
	/*
	 * The peer closed both directions: nobody will read an answer, so its
	 * requests, read or not, are not served. A flood of clients that send
	 * and hang up must not keep the loop from the ring buffer (issue 17).
	 * (A peer that only shut its sending side, EPOLLRDHUP, is served.)
	 */
	if (events & (EPOLLHUP | EPOLLERR)) {
		client_kill(c, cl);
		return 1;
	}
	if (events & EPOLLIN)
		client_read(c, cl, &gone);
	client_settle(c, cl, gone);
	return 1;
}

/*
 * Has cl work for ctl_serve()? Its stream when there is room to write
 * it (a stream waiting for the client to read is not work: EPOLLOUT
 * brings it back), else its waiting requests.
 */
static int client_ready(const struct ctl_client *cl)
{
	if (cl->dead)
		return 0;
	return cl->stream ? stream_ready(cl) : cl->backlog;
}

int ctl_pending(const struct pw_ctl *c)
{
	for (size_t i = 0; i < c->nclients; i++)
		if (client_ready(c->clients[i]))
			return 1;
	return 0;
}

void ctl_serve(struct pw_ctl *c)
{
	struct turn t = { .queued_at_start = c->queued };
	size_t n = c->nclients, start = n ? c->rr % n : 0;

	size_t k;

	/* by index: serving accepts no client and frees none (ctl_reap()) */
	for (k = 0; k < n && !turn_spent(c, &t); k++) {
		struct ctl_client *cl = c->clients[(start + k) % n];
		int gone = 0;

		if (!client_ready(cl))
			continue;
		client_process(c, cl, &t, &gone);
		client_settle(c, cl, gone);
	}
	/* the next turn starts after the last client this one reached */
	c->rr = start + (k ? k : 1);
}

void ctl_tick(struct pw_ctl *c, uint64_t now)
{
	for (size_t i = 0; c->idle_timeout_ns && i < c->nclients; i++) {
		struct ctl_client *cl = c->clients[i];

		if (cl->dead || cl->subscribed || cl->backlog || cl->stream ||
		    cl->outlen > cl->outoff || now - cl->active_ns < c->idle_timeout_ns)
			continue;
		c->stats.idle_closed++;
		log_debug("control socket: closing a client of uid %ld idle for %llu s",
			  cl->peer.uid == (uid_t)-1 ? -1L : (long)cl->peer.uid,
			  (unsigned long long)((now - cl->active_ns) / 1000000000ULL));
		client_kill(c, cl);
	}
}

void ctl_publish_alert(struct pw_ctl *c, const struct pw_alert *a)
{
	for (size_t i = 0; i < c->nclients; i++) {
		struct ctl_client *cl = c->clients[i];
		json_object *o;

		if (!cl->subscribed || cl->dead)
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "version", json_object_new_int(PW_PROTO_VERSION));
		json_object_object_add(o, "alert", pwj_alert(a));
		if (client_send(c, cl, o) || client_flush(c, cl) < 0) {
			if (!cl->dead)
				note_dropped(c, cl, "a subscriber cannot take the alerts");
			client_kill(c, cl);
			continue;
		}
		client_rearm(c, cl);
	}
}
