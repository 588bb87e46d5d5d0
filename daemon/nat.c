// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* nat.c - nftables rulesets of every namespace, followed by notification; see nat.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <nftables/libnftables.h>

#include "log.h"
#include "nat.h"
#include "sysctl.h"


#define NAT_XT_EVERY 10    /* seconds between two looks at the x_tables table names */
#define NAT_RETRY_TICKS 60 /* seconds before a namespace that could not be entered is tried again */

struct nat_ns {
	struct natdiv_ns d;         /* netns, the ruleset and what natdiv.c keeps of it */
	int dirty;                  /* changed since the last read */
	int err;                    /* -errno of the last read; 0 ok */
	struct mnl_socket *nl;      /* NFNLGRP_NFTABLES, made inside the namespace */
	char xt[NAT_XT_LEN];        /* x_tables tables seen: "ip:nat,filter ip6:raw" */
	uint64_t not_before_ms;     /* CLOCK_MONOTONIC ms: no read before (nat_read_pause_ms()) */
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t nat_read_pause_ms(uint64_t read_ms)
{
	return read_ms <= NAT_COALESCE_MS ? 0 : (NAT_READ_SHARE - 1) * read_ms;
}

/* ---- setup ---- */

int nat_init(struct nat *n, struct snap *snap, struct pw_monitor *mon)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

	memset(n, 0, sizeof(*n));
	n->snap = snap;
	n->mon = mon;
	n->div.snap = snap;
	n->div.mon = mon;
	n->timer_fd = -1;
	n->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (n->epoll_fd < 0)
		return -errno;
	n->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (n->timer_fd < 0 || epoll_ctl(n->epoll_fd, EPOLL_CTL_ADD, n->timer_fd, &ev)) {
		int err = -errno;

		nat_free(n);
		return err;
	}
	n->unseen = 1; /* the first tick walks the table */
	return 0;
}

int nat_fd(const struct nat *n)
{
	return n->epoll_fd;
}

static void ns_free(struct nat *n, struct nat_ns *s)
{
	if (!s)
		return;
	if (s->nl) {
		if (n->epoll_fd >= 0)
			epoll_ctl(n->epoll_fd, EPOLL_CTL_DEL, mnl_socket_get_fd(s->nl), NULL);
		mnl_socket_close(s->nl);
	}
	natdiv_ns_free(&s->d);
	free(s);
}

void nat_free(struct nat *n)
{
	for (size_t i = 0; i < n->nns; i++)
		ns_free(n, n->ns[i]);
	free(n->ns);
	natdiv_free(&n->div);
	if (n->timer_fd >= 0)
		close(n->timer_fd);
	if (n->epoll_fd >= 0)
		close(n->epoll_fd);
	n->ns = NULL;
	n->nns = 0;
	n->timer_fd = n->epoll_fd = -1;
}

/*
 * Inside the namespace (only opened there: snap_netns_call()): the
 * notification socket, kept while the namespace is followed.
 */
static int ns_open_fn(void *arg)
{
	struct mnl_socket **nl = arg;
	int group = NFNLGRP_NFTABLES;

	*nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!*nl)
		return -errno;
	if (mnl_socket_bind(*nl, 0, MNL_SOCKET_AUTOPID) ||
	    mnl_socket_setsockopt(*nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)))
		return -errno;
	return 0;
}

/*
 * Inside the namespace: a libnftables context for one read. nft_ctx_new()
 * opens its NETLINK_NETFILTER socket at once (nftables 1.0.6), so the
 * listing is of this namespace wherever it runs. Made per read, not kept:
 * one fd per followed namespace instead of two, and no cache held between
 * changes.
 */
static int nft_open_fn(void *arg)
{
	struct nft_ctx **nft = arg;

	*nft = nft_ctx_new(NFT_CTX_DEFAULT);
	return *nft ? 0 : -ENOMEM;
}

/* x_tables: the legacy tables' names, opened inside the namespace. */
struct xt_open {
	int fd[2];
};

static int xt_open_fn(void *arg)
{
	struct xt_open *o = arg;

	o->fd[0] = open("/proc/self/net/ip_tables_names", O_RDONLY | O_CLOEXEC);
	o->fd[1] = open("/proc/self/net/ip6_tables_names", O_RDONLY | O_CLOEXEC);
	return 0;
}

/* The x_tables table names of s into s->xt; 0, or -errno (-ENOENT: the namespace is gone). */
static int xt_read(struct nat *n, struct nat_ns *s)
{
	static const char *const fam[2] = { "ip", "ip6" };
	struct xt_open o = { { -1, -1 } };
	size_t len = 0;
	int err;

	s->xt[0] = '\0';
	err = snap_netns_call(n->snap, s->d.netns, xt_open_fn, &o);
	if (err) { /* opened, but the way home failed (snap_netns_call()) */
		for (int i = 0; i < 2; i++)
			if (o.fd[i] >= 0)
				close(o.fd[i]);
		return err;
	}
	for (int i = 0; i < 2; i++) {
		char buf[256], *p, *save = NULL;
		ssize_t r;
		int first = 1;

		if (o.fd[i] < 0)
			continue;
		r = read(o.fd[i], buf, sizeof(buf) - 1);
		close(o.fd[i]);
		if (r <= 0)
			continue;
		buf[r] = '\0';
		for (p = strtok_r(buf, "\n", &save); p; p = strtok_r(NULL, "\n", &save)) {
			len += snprintf(s->xt + len, len < sizeof(s->xt) ? sizeof(s->xt) - len : 0,
					"%s%s%s", first ? (len ? " " : "") : ",",
					first ? fam[i] : "", first ? ":" : "");
			if (len < sizeof(s->xt))
				len += snprintf(s->xt + len, sizeof(s->xt) - len, "%s", p);
			first = 0;
		}
	}
	if (len >= sizeof(s->xt))
		s->xt[sizeof(s->xt) - 1] = '\0';
	return 0;
}

static struct nat_ns *ns_find(const struct nat *n, uint32_t netns)
{
	for (size_t i = 0; i < n->nns; i++)
		if (n->ns[i]->d.netns == netns)
			return n->ns[i];
	return NULL;
}

static void note_err(struct nat *n, uint32_t netns, int err, const char *what)
{
	if (err && err != n->last_err)
		log_warnx("nftables of network namespace %u: %s: %s; its NAT rules are not seen "
			  "until it works again", netns, what, strerror(-err));
	n->last_err = err;
	n->last_err_netns = netns;
}

/* ---- reading ---- */

static int list(struct nft_ctx *nft, unsigned int flags, const char **out)
{
	nft_ctx_output_set_flags(nft, flags);
	if (nft_run_cmd_from_buffer(nft, "list ruleset")) {
		const char *e = nft_ctx_get_error_buffer(nft);

		log_debug("nft list ruleset: %s", e ? e : "?");
		return -EIO;
	}
	*out = nft_ctx_get_output_buffer(nft);
	nft_ctx_get_error_buffer(nft); /* drop what it said */
	return *out ? 0 : -EIO;
}

static void ns_read_now(struct nat *n, struct nat_ns *s);

/* Read s, and say when it may be read next by what this read cost. */
static void ns_read(struct nat *n, struct nat_ns *s)
{
	uint64_t t0 = mono_ms(), t1;

	ns_read_now(n, s);
	t1 = mono_ms();
	s->not_before_ms = t1 + nat_read_pause_ms(t1 - t0);
}

static void ns_read_now(struct nat *n, struct nat_ns *s)
{
	struct natrule_set rs;
	struct nft_ctx *nft = NULL;
	const char *text;
	uint64_t now = monitor_now();
	int err;

	s->dirty = 0;
	n->reads++;
	err = snap_netns_call(n->snap, s->d.netns, nft_open_fn, &nft);
	if (!err) {
		nft_ctx_buffer_output(nft);
		nft_ctx_buffer_error(nft);
		err = list(nft, NFT_CTX_OUTPUT_JSON, &text);
	}
	if (!err)
		err = natrule_parse(text, &rs);
	if (err) {
		if (nft)
			nft_ctx_free(nft);
		s->err = err;
		if (err != -ENOENT) /* gone: dropped at the next liveness check */
			note_err(n, s->d.netns, err, "reading the ruleset");
		return;
	}
	if (rs.n && !list(nft, NFT_CTX_OUTPUT_HANDLE, &text))
		natrule_set_text(&rs, text);
	nft_ctx_free(nft);
	natdiv_set_rules(&s->d, &rs);
	s->err = 0;
	if (n->last_err && n->last_err_netns == s->d.netns)
		note_err(n, s->d.netns, 0, "");
	s->d.forwarding = sysctl_read_int(n->snap, s->d.netns, "net/ipv4/ip_forward", 0) > 0 ||
			sysctl_read_int(n->snap, s->d.netns, "net/ipv6/conf/all/forwarding", 0) > 0;
	natdiv_rematch(&n->div, &s->d, now);
	natdiv_shadow(&n->div, &s->d, now);
}

static struct nat_ns *ns_add(struct nat *n, uint32_t netns)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct mnl_socket *nl = NULL;
	struct nat_ns *s, **v;
	int err;

	if (n->nns >= NAT_MAX_NS) { /* said in stats.nat.error, as nat.h promises */
		note_err(n, netns, -ENOSPC, "following it (NAT_MAX_NS namespaces are followed)");
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	v = realloc(n->ns, (n->nns + 1) * sizeof(*v));
	if (!s || !v) {
		free(s);
		if (v)
			n->ns = v;
		return NULL;
	}
	n->ns = v;
	s->d.netns = netns;
	err = snap_netns_call(n->snap, netns, ns_open_fn, &nl);
	s->nl = nl;
	ev.data.ptr = s;
	if (!err && epoll_ctl(n->epoll_fd, EPOLL_CTL_ADD, mnl_socket_get_fd(s->nl), &ev))
		err = -errno;
	if (err) {
		if (err != -ENOENT) /* gone since it was listed */
			note_err(n, netns, err, "watching it");
		ns_free(n, s);
		return NULL;
	}
	n->ns[n->nns++] = s;
	xt_read(n, s);
	if (s->xt[0])
		log_notice("network namespace %u has iptables-legacy (x_tables) tables %s: their "
			   "rules are not visible to portwatch", netns, s->xt);
	return s;
}

static void ns_drop(struct nat *n, size_t i)
{
	struct nat_ns *s = n->ns[i];
	uint64_t now = monitor_now();

	if (n->known[s->d.netns % 64] == s->d.netns)
		n->known[s->d.netns % 64] = 0;
	natdiv_clear_netns(&n->div, s->d.netns, "namespace gone", now);
	ns_free(n, s);
	n->ns[i] = n->ns[--n->nns];
}

/* Read every message waiting on s's socket: 1 when the ruleset changed (or may have). */
static int ns_drain(struct nat *n, struct nat_ns *s)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int changed = 0;

	for (;;) {
		ssize_t r = mnl_socket_recvfrom(s->nl, buf, sizeof(buf));
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		int len = (int)r;

		if (r < 0) {
			if (errno == ENOBUFS) { /* notifications lost: read anyway */
				n->overruns++;
				changed = 1;
				continue;
			}
			break; /* EAGAIN: drained */
		}
		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			changed = 1;
			if (NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_NEWGEN)
				n->notifications++;
		}
	}
	return changed;
}

/*
 * Arm the timer for ms from now, unless it is armed to fire sooner already
 * (this change joins that read; one deferred by nat_read_pause_ms() does
 * not delay the others).
 */
static void arm_in(struct nat *n, uint64_t ms)
{
	struct itimerspec its = { .it_value = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L } };
	struct itimerspec cur;

	if (!timerfd_gettime(n->timer_fd, &cur) &&
	    (cur.it_value.tv_sec || cur.it_value.tv_nsec) &&
	    (uint64_t)cur.it_value.tv_sec * 1000 + (uint64_t)cur.it_value.tv_nsec / 1000000 <= ms)
		return;
	timerfd_settime(n->timer_fd, 0, &its, NULL);
}

static void arm(struct nat *n)
{
	arm_in(n, NAT_COALESCE_MS);
}

void nat_handle(struct nat *n)
{
	struct epoll_event evs[32];
	int k, fired = 0;

	while ((k = epoll_wait(n->epoll_fd, evs, 32, 0)) > 0) {
		for (int i = 0; i < k; i++) {
			struct nat_ns *s = evs[i].data.ptr;

			if (!s) {
				uint64_t x;

				fired = read(n->timer_fd, &x, sizeof(x)) > 0 || fired;
			} else if (ns_drain(n, s)) {
				s->dirty = 1;
				arm(n);
			}
		}
		if (k < 32)
			break;
	}
	if (!fired)
		return;
	{
		uint64_t now = mono_ms(), next = 0;

		for (size_t i = 0; i < n->nns; i++) {
			struct nat_ns *s = n->ns[i];

			if (!s->dirty)
				continue;
			if (now < s->not_before_ms) { /* its last read was slow: later */
				if (!next || s->not_before_ms < next)
					next = s->not_before_ms;
				continue;
			}
			ns_read(n, s);
			now = mono_ms();
		}
		if (next)
			arm_in(n, next > now ? next - now : 1);
	}
}

/*
 * Namespaces that ip-netns(8) mounted under /run/netns since the last
 * listing: a readdir and a stat per name, each tick, so that a namespace
 * made between two reconciliations is followed within a second. (The
 * others, held only by processes, come from snapshots' listings.)
 */
static void run_netns(struct nat *n)
{
	struct stat self, st;
	struct dirent *de;
	DIR *d;

	if (stat("/proc/self/ns/net", &self))
		return;
	d = opendir("/run/netns");
	while (d && (de = readdir(d))) {
		struct nat_ns *s;

		if (de->d_name[0] == '.' || fstatat(dirfd(d), de->d_name, &st, 0) ||
		    st.st_dev != self.st_dev || ns_find(n, (uint32_t)st.st_ino))
			continue;
		s = ns_add(n, (uint32_t)st.st_ino);
		if (s)
			ns_read(n, s);
	}
	if (d)
		closedir(d);
}

/* Namespaces of the table's sockets that are not followed yet (ids, at most max). */
struct unseen {
	const struct nat *n;
	uint32_t ids[16];
	size_t k;
	uint32_t last; /* sockets of one namespace come in runs: skip the repeats cheaply */
};

static int unseen_fn(struct pw_entry *e, void *arg)
{
	struct unseen *u = arg;

	if (e->sk.netns == u->last)
		return 0;
	u->last = e->sk.netns;
	if (ns_find(u->n, e->sk.netns))
		return 0;
	for (size_t i = 0; i < u->k; i++)
		if (u->ids[i] == e->sk.netns)
			return 0;
	u->ids[u->k++] = e->sk.netns;
	return u->k == sizeof(u->ids) / sizeof(u->ids[0]); /* the rest next tick */
}

void nat_note_netns(struct nat *n, uint32_t netns)
{
	uint32_t *k = &n->known[netns % 64];
	size_t slot = netns % (sizeof(n->failed) / sizeof(n->failed[0]));

	if (!netns || *k == netns || n->unseen || n->nns >= NAT_MAX_NS ||
	    (n->failed[slot].netns == netns && n->ticks < n->failed[slot].until))
		return; /* known, already due, or not to be tried now */
	if (ns_find(n, netns))
		*k = netns;
	else
		n->unseen = 1;
}

void nat_tick(struct nat *n, unsigned int secs)
{
	uint32_t ids[256], *v = ids;
	size_t k = snap_netns_list(n->snap, ids, 256);
	uint64_t now = monitor_now();
	unsigned int prev = n->ticks;

	n->ticks += secs;
	if (k > 256) {
		v = calloc(k, sizeof(*v));
		if (!v)
			return;
		k = snap_netns_list(n->snap, v, k);
	}
	for (size_t i = 0; i < k; i++) {
		struct nat_ns *s = ns_find(n, v[i]);

		if (!s && (s = ns_add(n, v[i])))
			ns_read(n, s);
	}
	if (v != ids)
		free(v);
	run_netns(n);
	{
		/*
		 * Namespaces of sockets the table holds: one made after the last
		 * listing, that no /run/netns mount visible here names (the daemon
		 * may run in a mount namespace of its own), is followed as soon as
		 * a socket of it is seen. snap_netns_call() finds it through
		 * /proc/PID/ns/net.
		 */
		struct unseen u = { .n = n };

		/*
		 * The walk costs ~3 ms per 100k sockets, and up to ~50 ms with
		 * 1,000 followed namespaces: only when an event named one not
		 * followed, and once a minute for what a reconciliation added.
		 */
		if (n->unseen || prev / NAT_RETRY_TICKS != n->ticks / NAT_RETRY_TICKS) {
			n->unseen = 0;
			n->walks++;
			table_foreach(n->mon->table, unseen_fn, &u);
			if (u.k == sizeof(u.ids) / sizeof(u.ids[0]))
				n->unseen = 1; /* the rest next tick */
		}
		for (size_t i = 0; i < u.k; i++) {
			/* one that cannot be entered (its processes left) is tried once a minute */
			size_t slot = u.ids[i] % (sizeof(n->failed) / sizeof(n->failed[0]));
			struct nat_ns *s;

			if (n->failed[slot].netns == u.ids[i] && n->ticks < n->failed[slot].until)
				continue;
			s = ns_add(n, u.ids[i]);
			if (s) {
				ns_read(n, s);
			} else {
				n->failed[slot].netns = u.ids[i];
				n->failed[slot].until = n->ticks + NAT_RETRY_TICKS;
			}
		}
	}
	for (size_t i = n->nns; i-- > 0;) {
		struct nat_ns *s = n->ns[i];
		char before[NAT_XT_LEN];

		if (prev / NAT_XT_EVERY != n->ticks / NAT_XT_EVERY) {
			/*
			 * Our own sockets keep the namespace alive (sk_net holds a
			 * reference): it is gone when no process or mount can
			 * enter it any more.
			 */
			memcpy(before, s->xt, sizeof(before));
			if (xt_read(n, s) == -ENOENT) {
				ns_drop(n, i);
				continue;
			}
			if (s->xt[0] && strcmp(before, s->xt))
				log_notice("network namespace %u has iptables-legacy (x_tables) tables "
					   "%s: their rules are not visible to portwatch",
					   s->d.netns, s->xt);
		}
		if (s->d.rules.n)
			natdiv_rematch(&n->div, &s->d, now);
	}
}

/* ---- views ---- */

size_t nat_namespaces(const struct nat *n)
{
	return n->nns;
}

size_t nat_rules(const struct nat *n)
{
	size_t k = 0;

	for (size_t i = 0; i < n->nns; i++)
		k += n->ns[i]->d.rules.n;
	return k;
}

void nat_foreach_ns(const struct nat *n, nat_ns_fn fn, void *arg)
{
	for (size_t i = 0; i < n->nns; i++)
		fn(n->ns[i]->d.netns, &n->ns[i]->d.rules, n->ns[i]->xt, n->ns[i]->d.forwarding,
		   n->ns[i]->err, arg);
}

void nat_rules_on(const struct nat *n, const struct pw_sock *sk,
		  void (*fn)(const struct natrule *r, uint64_t target_inode, int transparent,
			     void *arg),
		  void *arg)
{
	const struct nat_ns *s = ns_find(n, sk->netns);

	if (s)
		natdiv_rules_on(&s->d, sk, fn, arg);
}
