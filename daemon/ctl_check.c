// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ctl_check.c - the `check` command: a dry run of bind(2), listen(2) or
 * connect(2) for a socket with given options in a given network
 * namespace. This file reads the request; predict.c answers it from the
 * state the daemon holds (the event loop has applied every pending event
 * first, so every call that returned before the request is in the table).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/nsfs.h>
#include <net/if.h>
#include <unistd.h>

#include "addr.h"
#include "ctl_cmd.h"
#include "ctl_req.h"
#include "predict.h"
#include "snap.h"

static int opt_addr(json_object *req, const char *key, int required, uint16_t *family,
		    uint8_t addr[16], char *err, size_t len)
{
	json_object *v;

	if (!json_object_object_get_ex(req, key, &v)) {
		if (required)
			snprintf(err, len, "\"check\" needs \"%s\": an IPv4 or IPv6 address", key);
		return required ? -EINVAL : 1;
	}
	if (!json_object_is_type(v, json_type_string) ||
	    pw_addr_pton(json_object_get_string(v), family, addr)) {
		snprintf(err, len, "\"%s\": not an IPv4 or IPv6 address", key);
		return -EINVAL;
	}
	return 0;
}

/* The members a `check` request may have (docs/protocol.md). */
static const char *const check_members[] = {
	"cmd",	   "version", "proto",	 "addr",      "port",	    "uid",
	"netns",   "pid",     "inode",	 "raddr",     "rport",	    "reuseaddr",
	"reuseport", "v6only", "listen", "freebind", "transparent", "cap_net_bind_service",
	"device", "port_range",
};

/* An unknown member is an error: a misspelt option must not go unnoticed. */
static int known_members(json_object *req, char *err, size_t len)
{
	json_object_object_foreach(req, key, val) {
		size_t i;

		(void)val;
		for (i = 0; i < sizeof(check_members) / sizeof(check_members[0]); i++)
			if (!strcmp(key, check_members[i]))
				break;
		if (i == sizeof(check_members) / sizeof(check_members[0])) {
			snprintf(err, len, "\"check\" has no member \"%.40s\"", key);
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * The socket creator's uid of a process (its fsuid: sock_init_data()
 * takes the inode's, made with current_fsuid()) and whether it holds
 * CAP_NET_BIND_SERVICE over its own network namespace: in its effective
 * set (proc(5) CapEff) and in a user namespace that is the netns's owner
 * or an ancestor of it (ns_capable(): capabilities reach down the user
 * namespace tree). *cap: 1, 0, or -1 when the namespaces cannot be read.
 * 0, or -ENOENT when the process is gone.
 */
static int pid_creds(int64_t pid, int64_t *uid, int *cap)
{
	char path[64], line[256];
	unsigned long long capeff = 0;
	long fsuid = -1;
	struct stat own, st;
	FILE *f;
	int fd, ok = 0;

	snprintf(path, sizeof(path), "/proc/%lld/status", (long long)pid);
	f = fopen(path, "re");
	if (!f)
		return -ENOENT;
	while (fgets(line, sizeof(line), f)) {
		long r, e, sv, fs;

		if (sscanf(line, "Uid: %ld %ld %ld %ld", &r, &e, &sv, &fs) == 4)
			fsuid = fs;
		sscanf(line, "CapEff: %llx", &capeff);
	}
	fclose(f);
	if (fsuid < 0)
		return -ENOENT;
	*uid = fsuid;
	*cap = 0;
	if (!(capeff >> CAP_NET_BIND_SERVICE & 1))
		return 0;
	snprintf(path, sizeof(path), "/proc/%lld/ns/user", (long long)pid);
	if (stat(path, &own)) {
		*cap = -1;
		return 0;
	}
	/* walk up from the user namespace owning the netns (ioctl_ns(2)) */
	snprintf(path, sizeof(path), "/proc/%lld/ns/net", (long long)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		int u = ioctl(fd, NS_GET_USERNS);

		close(fd);
		for (int depth = 0; u >= 0 && depth < 33; depth++) {
			int parent;

			if (!fstat(u, &st) && st.st_ino == own.st_ino && st.st_dev == own.st_dev)
				ok = 1;
			parent = ok ? -1 : ioctl(u, NS_GET_PARENT);
			close(u);
			u = parent; /* EPERM past the caller's own namespace: stop */
		}
		*cap = ok;
		return 0;
	}
	*cap = -1;
	return 0;
}

/*
 * "inode" names an unbound socket that attached a reuseport program before
 * bind(2) (monitor_own_group()): it has a reuseport group of its own, and
 * the options it had then count where the request does not give them
 * (flags; uid unless "uid" or "pid"; device unless "device").
 */
static void take_own_group(struct pw_monitor *m, struct rules_query *q, json_object *req,
			   int has_who, int has_device)
{
	const struct pw_sock *o = monitor_own_group(m, q->c.netns, q->self);

	if (!o || o->protocol != q->c.protocol || o->family != q->c.family)
		return;
	q->own_group = 1;
	if (!json_object_object_get_ex(req, "reuseaddr", NULL))
		q->c.reuseaddr = o->reuseaddr;
	if (!json_object_object_get_ex(req, "reuseport", NULL))
		q->c.reuseport = o->reuseport;
	if (!json_object_object_get_ex(req, "v6only", NULL) && q->c.family == AF_INET6 &&
	    (pw_addr_is_any(AF_INET6, q->c.laddr) || pw_addr_is_v4mapped(q->c.laddr)))
		q->c.v6only = o->v6only;
	if (!has_who)
		q->c.sk_uid = o->sk_uid;
	if (!has_device)
		q->c.bound_dev_if = o->bound_dev_if;
}

/* Parse the request into *q. 0, or a message in err and -EINVAL. */
static int parse(struct pw_monitor *m, struct rules_query *q, const char **device,
		 json_object *req, char *err, size_t len)
{
	struct pw_sock *s = &q->c;
	int64_t port = -1, uid = -1, netns = 0, pid = 0, rport = -1, inode = 0;
	uint8_t listen = 0, cap = 0, has_cap, has_uid;
	uint16_t rfamily;
	const char *proto;
	json_object *v;
	int r;

	memset(q, 0, sizeof(*q));
	if (known_members(req, err, len))
		return -EINVAL;
	if (!json_object_object_get_ex(req, "proto", &v) || !json_object_is_type(v, json_type_string) ||
	    (strcmp((proto = json_object_get_string(v)), "tcp") && strcmp(proto, "udp"))) {
		snprintf(err, len, "\"check\" needs \"proto\": \"tcp\" or \"udp\"");
		return -EINVAL;
	}
	s->protocol = !strcmp(proto, "tcp") ? IPPROTO_TCP : IPPROTO_UDP;
	if (opt_addr(req, "addr", 1, &s->family, s->laddr, err, len) ||
	    ctl_opt_int(req, "port", 0, 65535, &port, err, len) ||
	    ctl_opt_int(req, "uid", 0, UINT32_MAX - 1, &uid, err, len) ||
	    ctl_opt_int(req, "netns", 1, UINT32_MAX, &netns, err, len) ||
	    ctl_opt_int(req, "pid", 1, 4194304, &pid, err, len) ||
	    ctl_opt_int(req, "rport", 1, 65535, &rport, err, len) ||
	    ctl_opt_int(req, "inode", 1, INT64_MAX, &inode, err, len) ||
	    ctl_opt_bool(req, "reuseaddr", &s->reuseaddr, err, len) ||
	    ctl_opt_bool(req, "reuseport", &s->reuseport, err, len) ||
	    ctl_opt_bool(req, "v6only", &s->v6only, err, len) ||
	    ctl_opt_bool(req, "listen", &listen, err, len) ||
	    ctl_opt_bool(req, "freebind", &q->env.freebind, err, len) ||
	    ctl_opt_bool(req, "transparent", &q->env.transparent, err, len) ||
	    ctl_opt_bool(req, "cap_net_bind_service", &cap, err, len) ||
	    ctl_opt_string(req, "device", device, err, len))
		return -EINVAL;
	if (json_object_object_get_ex(req, "port_range", &v)) {
		json_object *lo, *hi;

		if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) != 2 ||
		    !json_object_is_type((lo = json_object_array_get_idx(v, 0)), json_type_int) ||
		    !json_object_is_type((hi = json_object_array_get_idx(v, 1)), json_type_int) ||
		    json_object_get_int64(lo) < 1 || json_object_get_int64(hi) > 65535 ||
		    json_object_get_int64(lo) > json_object_get_int64(hi)) {
			/* do_ip_setsockopt(IP_LOCAL_PORT_RANGE): lo <= hi, or 0 */
			snprintf(err, len, "\"port_range\" must be [lo, hi] with 1 <= lo <= hi <= 65535");
			return -EINVAL;
		}
		q->sk_range_lo = (uint16_t)json_object_get_int64(lo);
		q->sk_range_hi = (uint16_t)json_object_get_int64(hi);
	}
	if (*device && (!**device || strlen(*device) >= IF_NAMESIZE || strchr(*device, '/'))) {
		snprintf(err, len, "\"device\": not an interface name");
		return -EINVAL;
	}
	has_cap = json_object_object_get_ex(req, "cap_net_bind_service", NULL);
	has_uid = uid >= 0;
	if (port < 0) {
		snprintf(err, len, "\"check\" needs \"port\": an integer from 0 to 65535");
		return -EINVAL;
	}
	if (listen && s->protocol != IPPROTO_TCP) {
		snprintf(err, len, "\"listen\" is for TCP sockets");
		return -EINVAL;
	}
	if (netns && pid) {
		snprintf(err, len, "\"netns\" and \"pid\" exclude each other");
		return -EINVAL;
	}
	r = opt_addr(req, "raddr", 0, &rfamily, s->raddr, err, len);
	if (r < 0)
		return r;
	if ((r == 0) != (rport > 0)) {
		snprintf(err, len, "a connect check needs both \"raddr\" and \"rport\"");
		return -EINVAL;
	}
	if (r == 0 && (listen || s->protocol != IPPROTO_TCP)) {
		snprintf(err, len, "\"raddr\" (connect) is for TCP sockets, without \"listen\"");
		return -EINVAL;
	}
	if (s->family == AF_INET6 && pw_addr_is_v4mapped(s->laddr) && s->v6only) {
		snprintf(err, len, "an IPV6_V6ONLY socket cannot bind a v4-mapped address (EINVAL)");
		return -EINVAL;
	}
	/*
	 * Who asks: the uid given (0 by default: root, who holds every
	 * capability), or a process's uid and capability; an explicit
	 * "uid" or "cap_net_bind_service" wins.
	 */
	q->env.cap_net_bind_service = uid <= 0;
	if (pid) {
		char path[64];
		struct stat st;
		int64_t puid;
		int pcap;

		snprintf(path, sizeof(path), "/proc/%lld/ns/net", (long long)pid);
		if (stat(path, &st) || pid_creds(pid, &puid, &pcap)) {
			snprintf(err, len, "\"pid\": no process %lld", (long long)pid);
			return -EINVAL;
		}
		netns = (int64_t)st.st_ino;
		q->env.caller_pid = (int32_t)pid;
		if (uid < 0)
			uid = puid;
		q->env.cap_net_bind_service = pcap;
	}
	if (uid < 0)
		uid = 0;
	if (has_cap)
		q->env.cap_net_bind_service = cap;
	/* inet6_bind(): a specific non-mapped IPv6 address implies IPV6_V6ONLY */
	if (s->family == AF_INET6 && !pw_addr_is_any(AF_INET6, s->laddr) &&
	    !pw_addr_is_v4mapped(s->laddr))
		s->v6only = 1;
	if (s->family == AF_INET)
		s->v6only = 0;
	s->lport = (uint16_t)port;
	s->sk_uid = (uint32_t)uid;
	s->netns = netns ? (uint32_t)netns : m->snap ? snap_self_netns(m->snap) : 0;
	s->state = listen ? PW_TCP_LISTEN : PW_TCP_CLOSE;
	s->rport = rport > 0 ? (uint16_t)rport : 0;
	q->self = (uint64_t)inode;
	q->op = r == 0 ? RULES_OP_CONNECT : listen ? RULES_OP_LISTEN : RULES_OP_BIND;
	if (inode && q->op == RULES_OP_BIND)
		take_own_group(m, q, req, pid || has_uid, *device != NULL);
	return 0;
}

json_object *ctl_cmd_check(struct ctl_cmd_ctx *ctx, json_object *req)
{
	struct pw_prediction p;
	struct rules_query q;
	const char *device = NULL;
	json_object *ok;
	char err[200];
	int ret;

	if (parse(ctx->mon, &q, &device, req, err, sizeof(err)))
		return ctl_error(err);
	/* an answer about a namespace nobody holds would be a guess */
	ret = predict_netns_held(ctx->mon, q.c.netns);
	if (ret < 0) {
		snprintf(err, sizeof(err), "network namespace %u: %s", q.c.netns,
			 ret == -ENOENT ? "no process or /run/netns mount holds it" :
					  strerror(-ret));
		return ctl_error(err);
	}
	/* SO_BINDTODEVICE before bind(2): sock_bindtoindex() wants the device to exist */
	if (device && (ret = predict_device_index(ctx->mon, q.c.netns, device,
						  &q.c.bound_dev_if)) < 0) {
		snprintf(err, sizeof(err), "network namespace %u has no device \"%s\" (%s)",
			 q.c.netns, device, ret == -ENODEV ? "ENODEV" : strerror(-ret));
		return ctl_error(err);
	}
	if (predict(ctx->mon, &q, monitor_now(), &p))
		return ctl_error("out of memory");
	ok = ctl_ok();
	json_object_object_add(ok, "prediction", ctl_prediction_json(&p));
	predict_free(&p);
	return ok;
}
