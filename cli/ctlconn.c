// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ctlconn.c - portwatchctl's connection to portwatchd's control socket:
 * one request line out, response lines in, each checked before use.
 * See ctlconn.h for what each function returns and says.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "portwatch/proto.h"
#include "ctlconn.h"

#define CTLCONN_MAX_LINE (1U << 30) /* json_tokener takes an int length */

void ctlconn_verr(const char *fmt, va_list ap)
{
	fputs("portwatchctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void ctlconn_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctlconn_verr(fmt, ap);
	va_end(ap);
}

int ctlconn_connect(struct ctlconn *conn, bool timeout)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = CTLCONN_TIMEOUT_S };
	const char *hint = "";

	if (strlen(conn->path) >= sizeof(sa.sun_path)) {
		ctlconn_err("cannot connect to %s: %s", conn->path, strerror(ENAMETOOLONG));
		return CTLCONN_EXIT_IO;
	}
	strcpy(sa.sun_path, conn->path);
	conn->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (conn->fd < 0) {
		ctlconn_err("cannot create a Unix socket: %s", strerror(errno));
		return CTLCONN_EXIT_IO;
	}
	conn->timeout = timeout;
	if (timeout && setsockopt(conn->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv))) {
		ctlconn_err("cannot set a timeout on the socket: %s", strerror(errno));
		return CTLCONN_EXIT_IO;
	}
	if (connect(conn->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			hint = " (is portwatchd running?)";
		else if (errno == EACCES)
			hint = " (root or the socket's group can connect)";
		ctlconn_err("cannot connect to %s: %s%s", conn->path, strerror(errno), hint);
		return CTLCONN_EXIT_IO;
	}
	return 0;
}

int ctlconn_send(struct ctlconn *conn, struct json_object *req)
{
	const char *s;
	char *line;
	size_t len, off = 0;
	int ret = 0;

	json_object_object_add(req, "version", json_object_new_int(PW_PROTO_VERSION));
	s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	len = strlen(s);
	line = malloc(len + 1);
	if (!line) {
		ctlconn_err("sending the request: %s", strerror(ENOMEM));
		return CTLCONN_EXIT_IO;
	}
	memcpy(line, s, len);
	line[len++] = '\n';
	while (off < len) {
		ssize_t n = send(conn->fd, line + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ctlconn_err("writing to %s: %s", conn->path,
				    errno == EAGAIN ? "timed out" : strerror(errno));
			ret = CTLCONN_EXIT_IO;
			break;
		}
		off += n;
	}
	free(line);
	return ret;
}

int ctlconn_read_line(struct ctlconn *conn, char **line)
{
	struct ctlconn_linebuf *b = &conn->in;
	struct pollfd pfd = { .fd = conn->fd, .events = POLLIN };
	struct timespec ts = { .tv_sec = CTLCONN_TIMEOUT_S };
	sigset_t none;
	int n;

	sigemptyset(&none);
	for (;;) {
		/* no buffer yet before the first read: memchr() wants a real pointer */
		char *nl = b->buf ? memchr(b->buf + b->scanned, '\n', b->len - b->scanned) : NULL;
		ssize_t got;

		if (nl) {
			*nl = '\0';
			*line = b->buf + b->start;
			b->start = b->scanned = nl + 1 - b->buf;
			return 1;
		}
		b->scanned = b->len;
		if (b->start) {
			memmove(b->buf, b->buf + b->start, b->len - b->start);
			b->len -= b->start;
			b->scanned = b->len;
			b->start = 0;
		}
		if (b->len == b->cap) {
			size_t ncap = b->cap ? b->cap * 2 : 65536;
			char *nbuf;

			if (ncap > CTLCONN_MAX_LINE)
				return -EMSGSIZE;
			nbuf = realloc(b->buf, ncap);
			if (!nbuf)
				return -ENOMEM;
			b->buf = nbuf;
			b->cap = ncap;
		}
		/* The caller may block its signal but during ppoll(): no lost wake-up. */
		n = ppoll(&pfd, 1, conn->timeout ? &ts : NULL, &none);
		if (n == 0)
			return -ETIMEDOUT;
		if (n < 0 && errno == EINTR && !(conn->interrupted && *conn->interrupted))
			continue;
		if (n < 0)
			return -errno;
		got = recv(conn->fd, b->buf + b->len, b->cap - b->len, MSG_DONTWAIT);
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got < 0)
			return -errno;
		if (got == 0)
			return b->len ? -EPIPE : 0;
		b->len += got;
	}
}

int ctlconn_read_failed(const struct ctlconn *conn, int err)
{
	if (err == 0 || err == -EPIPE)
		ctlconn_err("reading from %s: the daemon closed the connection%s", conn->path,
			    err ? " in the middle of a line" : "");
	else if (err == -ETIMEDOUT)
		ctlconn_err("reading from %s: no response within %d s", conn->path,
			    CTLCONN_TIMEOUT_S);
	else
		ctlconn_err("reading from %s: %s", conn->path,
			    err == -EMSGSIZE ? "line too long" : strerror(-err));
	return CTLCONN_EXIT_IO;
}

int ctlconn_parse_response(const struct ctlconn *conn, const char *line, bool want_ok,
			   struct json_object **resp)
{
	struct json_tokener *tok;
	struct json_object *o, *m;

	tok = json_tokener_new();
	if (!tok) {
		ctlconn_err("parsing the response: %s", strerror(ENOMEM));
		return CTLCONN_EXIT_IO;
	}
	o = json_tokener_parse_ex(tok, line, (int)strlen(line));
	if (!o || json_tokener_get_parse_end(tok) != strlen(line)) {
		enum json_tokener_error jerr = json_tokener_get_error(tok);

		if (o)
			ctlconn_err("bad response from %s: trailing data after the JSON object",
				    conn->path);
		else
			ctlconn_err("bad response from %s: not JSON (%s)", conn->path,
				    jerr == json_tokener_continue ? "truncated"
								  : json_tokener_error_desc(jerr));
		json_object_put(o);
		json_tokener_free(tok);
		return CTLCONN_EXIT_IO;
	}
	json_tokener_free(tok);
	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "version", &m) ||
	    !json_object_is_type(m, json_type_int)) {
		ctlconn_err("bad response from %s: not an object with a version", conn->path);
		goto err_io;
	}
	if (json_object_get_int64(m) != PW_PROTO_VERSION) {
		ctlconn_err("daemon speaks protocol version %s, this portwatchctl speaks %d",
			    json_object_get_string(m), PW_PROTO_VERSION);
		json_object_put(o);
		return CTLCONN_EXIT_DAEMON;
	}
	if (json_object_object_get_ex(o, "ok", &m) && !json_object_get_boolean(m)) {
		json_object_object_get_ex(o, "error", &m);
		ctlconn_err("daemon: %s",
			    m ? json_object_get_string(m) : "error without a message");
		json_object_put(o);
		return CTLCONN_EXIT_DAEMON;
	}
	if (want_ok && !m) {
		ctlconn_err("bad response from %s: no \"ok\" member", conn->path);
		goto err_io;
	}
	*resp = o;
	return 0;
err_io: /* drop the parsed object */
	json_object_put(o);
	return CTLCONN_EXIT_IO;
}

/* Read one response to a request: see ctlconn_parse_response(). */
static int recv_response(struct ctlconn *conn, struct json_object **resp)
{
	char *line;
	int err;

	do
		err = ctlconn_read_line(conn, &line);
	while (err == 1 && !*line);
	if (err < 1)
		return ctlconn_read_failed(conn, err);
	err = ctlconn_parse_response(conn, line, true, resp);
	/* The text of a large response is no longer needed once it is a tree. */
	free(conn->in.buf);
	conn->in = (struct ctlconn_linebuf){ 0 };
	return err;
}

int ctlconn_call(struct ctlconn *conn, struct json_object *req, struct json_object **resp)
{
	int ret;

	if (!req) {
		ctlconn_err("building the request: %s", strerror(ENOMEM));
		return CTLCONN_EXIT_IO;
	}
	ret = ctlconn_connect(conn, true) ?: ctlconn_send(conn, req) ?: recv_response(conn, resp);
	json_object_put(req);
	return ret;
}

void ctlconn_close(struct ctlconn *conn)
{
	if (!conn)
		return;
	if (conn->fd >= 0)
		close(conn->fd);
	conn->fd = -1;
	free(conn->in.buf);
	conn->in = (struct ctlconn_linebuf){ 0 };
}
