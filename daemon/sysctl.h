/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * sysctl.h - sysctls of a network namespace. procfs shows the net.*
 * sysctls of the namespace of the process that opens the file, so the
 * files are opened inside netns (snap_netns_call()) and read back home.
 * netns is the namespace's inode number.
 */
#ifndef PORTWATCH_SYSCTL_H
#define PORTWATCH_SYSCTL_H

#include <stdint.h>

#include "rules.h"
#include "snap.h"

/*
 * Read net.ipv4.ip_local_port_range and net.ipv4.ip_local_reserved_ports
 * of netns into *p (ports in host order; the kernel's
 * inet_get_local_port_range() and inet_is_local_reserved_port()). snap is
 * borrowed; NULL (unit tests) reads the caller's own namespace. Returns 0,
 * -errno when the range cannot be opened in netns (snap_netns_call()), or
 * -EINVAL when it does not parse (rules_ports_parse()).
 */
int sysctl_read_ports(struct snap *snap, uint32_t netns, struct rules_ports *p);

/*
 * An integer sysctl of netns, name relative to /proc/sys (e.g.
 * "net/ipv4/tcp_tw_reuse"); def when it cannot be opened or read, or does
 * not start with a number. snap as above.
 */
int sysctl_read_int(struct snap *snap, uint32_t netns, const char *name, int def);

#endif /* PORTWATCH_SYSCTL_H */
