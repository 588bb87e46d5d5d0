/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ctlconn.h - portwatchctl's side of the control socket: connect, send a
 * request line, read response lines and check them against version 1 of
 * docs/protocol.md (one JSON object per line on a Unix stream socket).
 *
 * Errors: the functions that return an exit status have already said what
 * failed on stderr, as "portwatchctl: what failed: why"; that status is
 * CTLCONN_EXIT_DAEMON or CTLCONN_EXIT_IO, for main() to return as is.
 * ctlconn_read_line() alone returns a negative errno and says nothing;
 * ctlconn_read_failed() turns that into the message and the exit status.
 */
#ifndef PORTWATCH_CTLCONN_H
#define PORTWATCH_CTLCONN_H

#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct json_object;

/*
 * How long the daemon may stay silent: a connection opened with timeout
 * gives up when sending blocks, or no byte arrives, for this many seconds.
 */
#define CTLCONN_TIMEOUT_S 10

/* portwatchctl's exit statuses for failures on the connection. */
enum {
	CTLCONN_EXIT_DAEMON = 1, /* the daemon answered an error, or another version */
	CTLCONN_EXIT_IO = 3,	 /* cannot connect, I/O or protocol error with the daemon */
};

/* Bytes read from the daemon: lines are cut out of buf[start, len). */
struct ctlconn_linebuf {
	char *buf; /* owned; NULL until the first read */
	size_t start, len, cap;
	size_t scanned; /* buf[start, scanned) holds no '\n' */
};

/*
 * One connection to the daemon. Before ctlconn_connect(), set path and
 * fd = -1 and zero the rest (a designated initializer does); set
 * interrupted to a flag that a signal handler raises to end a read early,
 * or leave it NULL. ctlconn_close() releases what the connection holds.
 */
struct ctlconn {
	const char *path; /* socket path, borrowed; named in every message */
	int fd;		  /* -1 while not connected */
	bool timeout;	  /* give up after CTLCONN_TIMEOUT_S without a byte */
	struct ctlconn_linebuf in;
	volatile sig_atomic_t *interrupted; /* borrowed; may be NULL */
};

/* Print "portwatchctl: " fmt "\n" on stderr: how every failure is told. */
void ctlconn_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ctlconn_verr(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/*
 * Connect to conn->path; with timeout, sends that block and reads that
 * wait CTLCONN_TIMEOUT_S fail, else both wait forever. Returns 0 or
 * CTLCONN_EXIT_IO (a missing socket or a refused connection asks whether
 * portwatchd runs; EACCES says who may connect).
 */
int ctlconn_connect(struct ctlconn *conn, bool timeout);

/*
 * Add "version" to req (which stays the caller's) and send it as one
 * line. Returns 0 or CTLCONN_EXIT_IO.
 */
int ctlconn_send(struct ctlconn *conn, struct json_object *req);

/*
 * Read the next line into *line, without its '\n'. The line lives in
 * conn->in and is valid until the next read or ctlconn_close(); do not
 * free it. Returns 1, 0 at EOF between lines, or a negative errno:
 * -ETIMEDOUT after CTLCONN_TIMEOUT_S of silence (when connected with
 * timeout), -EINTR when a signal arrived and *conn->interrupted is set,
 * -EPIPE at EOF inside a line, -EMSGSIZE for a line of 1 GiB or more,
 * -ENOMEM, or the errno of ppoll() or recv(). Prints nothing.
 *
 * A caller that sets *conn->interrupted from a signal handler should
 * keep that signal blocked: it is unblocked only inside ppoll(), so it
 * cannot arrive just before the wait and be lost.
 */
int ctlconn_read_line(struct ctlconn *conn, char **line);

/*
 * Say why ctlconn_read_line() failed (err < 0, or 0 for EOF). Returns
 * CTLCONN_EXIT_IO.
 */
int ctlconn_read_failed(const struct ctlconn *conn, int err);

/*
 * Parse and check one line from the daemon: one JSON object with
 * "version" equal to PW_PROTO_VERSION, and not "ok": false. want_ok: it
 * must also have "ok" (every response but the alert lines of a
 * subscription). Returns 0 with *resp, which the caller must
 * json_object_put(); or CTLCONN_EXIT_DAEMON (an error answered, another
 * protocol version) or CTLCONN_EXIT_IO (bad response, out of memory),
 * with *resp left alone.
 */
int ctlconn_parse_response(const struct ctlconn *conn, const char *line, bool want_ok,
			   struct json_object **resp);

/*
 * One request and its response: connect with the timeout, send req, read
 * the first non-empty line and check it as ctlconn_parse_response() with
 * want_ok. req is taken over (put here, even on failure); NULL means
 * building it ran out of memory. Returns 0 with *resp, which the caller
 * must json_object_put(), or an exit status. The read buffer is freed
 * once the response is parsed.
 */
int ctlconn_call(struct ctlconn *conn, struct json_object *req, struct json_object **resp);

/* Close the socket and free the read buffer; conn may be NULL. */
void ctlconn_close(struct ctlconn *conn);

#endif /* PORTWATCH_CTLCONN_H */
