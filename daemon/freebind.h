/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * freebind.h - free binds of addresses a namespace does not have.
 *
 * IP_FREEBIND and IP_TRANSPARENT (and the IPV6_ ones) let bind(2) take an
 * address no interface of the namespace has (inet_addr_valid_or_nonlocal(),
 * include/net/inet_sock.h). Nothing receives traffic for it yet; but once
 * the address is configured - or another program binds it, which means it
 * is - the first socket takes the traffic of its port, whoever the
 * address was meant for. So a successful bind of a specific address by a
 * socket with one of those flags is checked against the namespace's
 * addresses (ifaddr_check(), in the namespace) and, when the address is
 * missing, kept as pending; it is reported as diversion/freebind, once,
 * when
 *   - an address added to that namespace is the pending one: the
 *     namespace's RTM_NEWADDR notifications are followed (ifaddr_watch_*())
 *     while it has pending free binds, no polling; or
 *   - a socket of another owner group binds that address (any port).
 * A pending entry whose socket left the table is dropped without a report.
 *
 * portwatchd.c feeds it bind events after the monitor applied them, and
 * polls freebind_fd() (an epoll fd over the namespaces' notification
 * sockets) in its loop.
 */
#ifndef PORTWATCH_FREEBIND_H
#define PORTWATCH_FREEBIND_H

#include <stddef.h>
#include <stdint.h>

#include "monitor.h"
#include "portwatch/event.h"

struct snap;

#define FREEBIND_MAX_PENDING 4096 /* free binds waiting; more are counted, not kept */
#define FREEBIND_MAX_WATCH 256    /* namespaces followed at once */

/* A free bind waiting for its address. */
struct freebind_pending {
	uint64_t inode;   /* the free-bound socket */
	uint32_t netns;
	uint16_t family;  /* AF_INET, AF_INET6 */
	uint8_t addr[16]; /* network order, IPv4 in 0..3 */
	uint8_t configured; /* set by a recheck inside the namespace, reported once home */
};

/* A namespace's RTM_NEWADDR socket, open while it has pending free binds. */
struct freebind_watch {
	uint32_t netns;
	int fd;
};

struct freebind {
	struct freebind_pending *v; /* owned: n used of FREEBIND_MAX_PENDING */
	size_t n;
	struct freebind_watch w[FREEBIND_MAX_WATCH];
	size_t nw;
	int epfd;                   /* epoll over w[].fd (data.u32: netns) */
	struct pw_monitor *mon;     /* borrowed: the table, alerts */
	struct snap *snap;          /* borrowed, may be NULL: namespace entry */
	uint64_t seen;              /* free binds of missing addresses, in all */
	uint64_t reported;          /* diversion/freebind alerts asked for */
	uint64_t not_kept;          /* pending entries refused (full, no watch) */
};

/* Set up; 0 or -errno. mon must outlive f; snap may be NULL (own namespace only). */
int freebind_init(struct freebind *f, struct pw_monitor *mon, struct snap *snap);

/* The fd to poll for readability; call freebind_on_ready() then. */
int freebind_fd(const struct freebind *f);

/*
 * A ring event, after monitor_handle_event() applied it: a successful
 * bind of a specific address. Reports the pending free binds of that
 * address held by another owner group, then, if the bound socket is free
 * bound (pw_sock.ipflags) to an address its namespace lacks, keeps it.
 */
void freebind_on_event(struct freebind *f, const struct pw_event *e);

/* freebind_fd() is readable: read the namespaces' address notifications. */
void freebind_on_ready(struct freebind *f);

/* Drop pending entries whose socket left the table; close idle watches. */
void freebind_housekeeping(struct freebind *f);

/*
 * The alert message (NUL-terminated, truncated to len): holder bound
 * its address with IP_FREEBIND/IP_TRANSPARENT before the namespace had it;
 * other is the socket of another program that bound the address, or NULL
 * when the address was configured. Pure.
 */
void freebind_message(char *buf, size_t len, const struct pw_entry *holder,
		      const struct pw_entry *other);

/* Free; accepts a zeroed struct (one freebind_init() never ran on). */
void freebind_free(struct freebind *f);

#endif /* PORTWATCH_FREEBIND_H */
