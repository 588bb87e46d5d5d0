// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* sniffmon.c - packet sniffers from events and the start-up scan; see sniffmon.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "diag.h"
#include "log.h"
#include "proc.h"
#include "report.h"
#include "rules.h"
#include "sniffdiag.h"
#include "sniffmon.h"
#include "snap.h"

/* Namespaces the start-up scan reads at most (more are logged, not read). */
#define SNIFFMON_MAX_NETNS 4096

int sniffmon_init(struct sniffmon *s, struct pw_monitor *mon, struct snap *snap)
{
	memset(s, 0, sizeof(*s));
	s->mon = mon;
	s->snap = snap;
	s->prog = calloc(SNIFF_PROG_MAX, sizeof(*s->prog));
	return s->prog ? 0 : -ENOMEM;
}

void sniffmon_free(struct sniffmon *s)
{
	sniff_free(&s->set);
	free(s->prog);
	s->prog = NULL;
}

/*
 * Read f's filter through its owner (f->owner.pid, f->inode): sets
 * filter, ports and fd. A classic program reported by sock_diag (cbpf,
 * may be NULL) is used when the owner's fd cannot be read. Returns 1 when
 * the socket has a filter, 0 when it has none, -errno when it could not
 * be told.
 */
static int read_filter(struct sniffmon *s, struct sniffer *f, int fd_hint,
		       const struct sock_filter *cbpf, size_t cbpf_len)
{
	int n = -ENOENT, fd = -1;
	size_t np = 0;

	if (f->owner.pid)
		n = proc_sock_filter(f->owner.pid, f->inode, fd_hint, s->prog, SNIFF_PROG_MAX, &fd);
	f->fd = fd;
	if (n < 0 && n != -EACCES && cbpf) { /* sock_diag's copy */
		n = (int)cbpf_len;
		memcpy(s->prog, cbpf, cbpf_len * sizeof(*cbpf));
	}
	if (n == -EACCES) {
		f->filter = SNIFF_FILTER_EBPF;
		f->ports_known = 0;
		f->nports = 0;
		return 1;
	}
	if (n <= 0)
		return n;
	f->filter = SNIFF_FILTER_CBPF;
	f->accepts_none = (uint8_t)sniff_cbpf_accepts_none(s->prog, (size_t)n);
	f->ports_known = (uint8_t)sniff_cbpf_ports(s->prog, (size_t)n, f->ports, SNIFF_MAX_PORTS,
						   &np);
	f->nports = (uint8_t)np;
	return 1;
}

/* The interface's name in the sniffer's namespace (monitor_name_device()). */
static void name_interface(struct sniffmon *s, struct sniffer *f)
{
	struct pw_entry e = { .sk = { .netns = f->netns, .bound_dev_if = f->ifindex } };

	f->ifname[0] = '\0';
	if (!f->ifindex)
		return;
	monitor_name_device(s->mon, &e);
	snprintf(f->ifname, sizeof(f->ifname), "%s", e.device);
}

/*
 * diversion/packet_sniffer for a new sniffer (warning). As for sk_lookup
 * (portwatchd.c), the holder names no socket: the sniffer reads every
 * port its filter lets through; the contender is the sniffer's owner,
 * whose socket inode and namespace the alert carries.
 */
static void raise_alert(struct sniffmon *s, struct sniffer *f)
{
	struct rules_alert ra = { RULES_KIND_DIVERSION, RULES_REASON_PACKET_SNIFFER,
				  RULES_SEV_WARNING };
	struct pw_entry holder = { .sk = { .family = AF_INET, .netns = f->netns } };
	struct pw_entry contender = holder;
	char msg[PW_MSG_LEN];

	contender.sk.inode = f->inode;
	contender.owner = f->owner;
	contender.since_ns = f->first_ns;
	sniff_message(msg, sizeof(msg), f);
	f->alert_id = monitor_raise(s->mon, &ra, &holder, &contender, 0, msg, f->first_ns);
}

/*
 * Add n (owner and filter read) and raise its alert when new, or, for a
 * socket whose classic program accepted no packet so far (libpcap's
 * drop-all filter before the real one), once it is given one that does:
 * the alert then names the ports of the filter that reads them.
 */
static void add(struct sniffmon *s, const struct sniffer *n)
{
	struct sniffer *f;
	int is_new;

	f = sniff_add(&s->set, n, &is_new);
	if (!f) {
		/* not kept, but not unseen: its alert is raised all the same */
		struct sniffer copy = *n;
		uint64_t k = s->set.not_kept;

		if (!(k & (k - 1))) /* the 1st, 2nd, 4th, 8th ... */
			log_warnx("sniffers: %llu not kept (%zu in force, at most %d, or out of "
				  "memory); the newest, netns %u inode %llu, is alerted on but "
				  "not listed", (unsigned long long)k, s->set.n, SNIFF_MAX,
				  n->netns, (unsigned long long)n->inode);
		name_interface(s, &copy);
		if (!copy.accepts_none)
			raise_alert(s, &copy);
		return;
	}
	if (!is_new) { /* attached again: the newest program counts */
		f->filter = n->filter;
		f->accepts_none = n->accepts_none;
		f->ports_known = n->ports_known;
		f->nports = n->nports;
		memcpy(f->ports, n->ports, sizeof(f->ports));
		if (n->fd >= 0)
			f->fd = n->fd;
		if (f->alert_due && !f->accepts_none) {
			f->alert_due = 0;
			raise_alert(s, f);
		}
		return;
	}
	name_interface(s, f);
	if (f->accepts_none)
		f->alert_due = 1;
	else
		raise_alert(s, f);
}

void sniffmon_event(struct sniffmon *s, const struct pw_event *e)
{
	struct sniffer n = {
		.inode = e->sk.inode,
		.netns = e->sk.netns,
		.ifindex = e->sk.bound_dev_if,
		.family = e->sk.family,
		.type = e->req_family,
		.protocol = e->req_port,
		.filter = e->sockopt == PW_SOCKOPT_FILTER_EBPF ? SNIFF_FILTER_EBPF :
								 SNIFF_FILTER_CBPF,
		.fd = e->fd,
		.first_ns = monitor_realtime(s->mon, e->ts_ns),
	};
	int r;

	if (!n.inode || !s->prog)
		return; /* no sniffer, or before sniffmon_init() */
	snprintf(n.owner.comm, sizeof(n.owner.comm), "%.*s", (int)sizeof(e->comm), e->comm);
	if (proc_owner(e->pid, &n.owner)) { /* gone already: what the event says */
		n.owner.pid = e->pid;
		n.owner.uid = e->uid;
	}
	r = read_filter(s, &n, e->fd, NULL, 0);
	if (r < 0) {
		/* the type of program is the event's; its ports stay unknown */
		s->set.read_errors++;
		log_debug("sniffers: the filter of pid %u fd %d: %s", e->pid, e->fd,
			  strerror(-r));
	}
	add(s, &n);
}

/* One namespace's scan: the diag socket made there, and what it found. */
struct scan_ns {
	struct sniffmon *s;
	uint32_t netns;
	int fd;                   /* NETLINK_SOCK_DIAG in netns */
	struct proc_sockmap *map; /* inode -> pid, read once for the whole scan */
};

static int open_diag(void *arg)
{
	struct scan_ns *c = arg;

	c->fd = diag_open();
	return c->fd < 0 ? c->fd : 0;
}

static int on_diag(const struct sniffdiag_sock *d, void *arg)
{
	struct scan_ns *c = arg;
	struct sniffer n = {
		.inode = d->inode,
		.netns = c->netns,
		.ifindex = d->ifindex,
		.family = d->family,
		.type = d->type,
		.protocol = d->protocol,
		.fd = -1,
		.first_ns = monitor_now(),
	};
	uint32_t pid = proc_sockmap_pid(c->map, d->inode);

	if (sniff_find(&c->s->set, n.netns, n.inode))
		return 0;
	if (pid && proc_owner(pid, &n.owner))
		n.owner.pid = 0;
	if (read_filter(c->s, &n, -1, d->cbpf, d->cbpf_len) <= 0)
		return 0; /* no filter: it reads what it asked for, not a sniffer */
	add(c->s, &n);
	return 0;
}

int sniffmon_scan(struct sniffmon *s)
{
	uint32_t *ns = calloc(SNIFFMON_MAX_NETNS, sizeof(*ns));
	struct scan_ns c = { .s = s };
	size_t n;
	int err = 0, e;

	if (!ns)
		return -ENOMEM;
	if (!s->snap) {
		free(ns);
		return -ENOTSUP;
	}
	e = proc_sockmap_scan(&c.map);
	if (e) {
		free(ns);
		return e;
	}
	n = snap_netns_list(s->snap, ns, SNIFFMON_MAX_NETNS);
	if (n > SNIFFMON_MAX_NETNS) {
		log_warnx("sniffers: %zu network namespaces, only the first %d are read at start-up",
			  n, SNIFFMON_MAX_NETNS);
		n = SNIFFMON_MAX_NETNS;
	}
	for (size_t i = 0; i < n; i++) {
		c.netns = ns[i];
		c.fd = -1;
		e = snap_netns_call(s->snap, ns[i], open_diag, &c);
		if (e == -ENOENT) /* gone since the walk */
			continue;
		if (!e) {
			e = sniffdiag_dump(c.fd, 1, on_diag, &c);
			if (!e || e == -ENOENT) {
				int r = sniffdiag_dump(c.fd, 0, on_diag, &c);

				/* ENOENT: no raw_diag in this kernel (CONFIG_INET_RAW_DIAG) */
				e = r == -ENOENT ? e : r;
			}
			close(c.fd);
		} else if (c.fd >= 0) { /* opened, but the way home failed (snap_netns_call()) */
			close(c.fd);
		}
		if (e && !err) {
			log_debug("sniffers: netns %u: %s", ns[i], strerror(-e));
			err = e;
		}
	}
	proc_sockmap_free(c.map);
	free(ns);
	s->scan_err = err;
	return err;
}

size_t sniffmon_prune(struct sniffmon *s)
{
	return sniff_prune(&s->set);
}
