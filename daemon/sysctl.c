// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* sysctl.c - sysctls of a network namespace, opened inside it; see sysctl.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "sysctl.h"

struct sysctl_open {
	const char *paths[2];
	int fds[2];
};

/* Inside the namespace: open only (snap_netns_call() says why). */
static int sysctl_open_fn(void *arg)
{
	struct sysctl_open *o = arg;

	for (int i = 0; i < 2; i++)
		o->fds[i] = o->paths[i] ? open(o->paths[i], O_RDONLY | O_CLOEXEC) : -1;
	return o->fds[0] < 0 ? -errno : 0;
}

/*
 * Open up to two /proc/sys files (p1 may be NULL) inside netns and read
 * them into NUL-terminated bufs, empty when unreadable. 0, or -errno when
 * p0 could not be opened there.
 */
static int sysctl_read(struct snap *snap, uint32_t netns, const char *p0, char *b0, size_t l0,
		       const char *p1, char *b1, size_t l1)
{
	struct sysctl_open o = { { p0, p1 }, { -1, -1 } };
	char *bufs[2] = { b0, b1 };
	size_t lens[2] = { l0, l1 };
	int err;

	err = snap ? snap_netns_call(snap, netns, sysctl_open_fn, &o) : sysctl_open_fn(&o);
	for (int i = 0; i < 2; i++) {
		ssize_t n = -1;

		if (o.fds[i] >= 0) {
			n = read(o.fds[i], bufs[i], lens[i] - 1);
			close(o.fds[i]);
		}
		if (bufs[i])
			bufs[i][n > 0 ? n : 0] = '\0';
	}
	return err;
}

int sysctl_read_ports(struct snap *snap, uint32_t netns, struct rules_ports *p)
{
	char range[64], reserved[4096];
	int err = sysctl_read(snap, netns, "/proc/sys/net/ipv4/ip_local_port_range", range,
			      sizeof(range), "/proc/sys/net/ipv4/ip_local_reserved_ports", reserved,
			      sizeof(reserved));

	if (err)
		return err;
	return rules_ports_parse(p, range, reserved);
}

int sysctl_read_int(struct snap *snap, uint32_t netns, const char *name, int def)
{
	char path[128], buf[32];
	char *end;
	long v;

	snprintf(path, sizeof(path), "/proc/sys/%s", name);
	if (sysctl_read(snap, netns, path, buf, sizeof(buf), NULL, NULL, 0))
		return def;
	v = strtol(buf, &end, 10);
	return end == buf ? def : (int)v;
}
