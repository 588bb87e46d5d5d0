// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* protect.c - protected ports: parsing, printing, matching; see protect.h. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/socket.h>

#include "addr.h"
#include "policy.h"
#include "protect.h"

void protect_free(struct pw_protect *p)
{
	for (size_t i = 0; i < p->nrules; i++)
		free(p->rules[i].sel);
	free(p->rules);
	memset(p, 0, sizeof(*p));
}

static const char *const mode_names[] = {
	[PW_PROTECT_OFF] = "off",
	[PW_PROTECT_MONITOR] = "monitor",
	[PW_PROTECT_ENFORCE] = "enforce",
};

const char *protect_mode_name(enum pw_protect_mode mode)
{
	return (unsigned int)mode < sizeof(mode_names) / sizeof(mode_names[0]) ? mode_names[mode] :
										 "?";
}

int protect_parse_mode(const char *text)
{
	for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
		if (!strcmp(text, mode_names[i]))
			return (int)i;
	return -EINVAL;
}

static const char *const takeover_names[] = {
	[PW_TAKEOVER_PROTECTED] = "protected",
	[PW_TAKEOVER_LISTENERS] = "listeners",
	[PW_TAKEOVER_OFF] = "off",
};

const char *protect_takeover_name(enum pw_protect_takeover t)
{
	return (unsigned int)t < sizeof(takeover_names) / sizeof(takeover_names[0]) ?
		       takeover_names[t] :
		       "?";
}

static int parse_netns(struct pw_protect_rule *r, const char *v, const char *netns_dir,
		       char *err, size_t errlen);

int protect_set_takeover(struct pw_protect *p, const char *value, const char *netns_dir,
			 char *err, size_t errlen)
{
	static const char listeners_ns[] = "listeners netns=";
	struct pw_protect_rule r;

	p->takeover_netns = 0;
	p->takeover_netns_text[0] = '\0';
	for (size_t i = 0; i < sizeof(takeover_names) / sizeof(takeover_names[0]); i++)
		if (!strcmp(value, takeover_names[i])) {
			p->takeover = (enum pw_protect_takeover)i;
			return 0;
		}
	if (strncmp(value, listeners_ns, sizeof(listeners_ns) - 1)) {
		snprintf(err, errlen, "takeover: '%s' is not 'protected', 'listeners [netns=NS]' "
			 "or 'off'", value);
		return -EINVAL;
	}
	memset(&r, 0, sizeof(r));
	if (parse_netns(&r, value + sizeof(listeners_ns) - 1, netns_dir, err, errlen))
		return -EINVAL;
	p->takeover = PW_TAKEOVER_LISTENERS;
	p->takeover_netns = r.netns;
	snprintf(p->takeover_netns_text, sizeof(p->takeover_netns_text), "%s", r.netns_text);
	return 0;
}

void protect_takeover_text(const struct pw_protect *p, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", protect_takeover_name(p->takeover),
		 p->takeover_netns_text[0] ? " netns=" : "", p->takeover_netns_text);
}

/* "N" or "N-M", 1..65535 each. */
static int parse_range(const char *s, uint16_t *lo, uint16_t *hi)
{
	unsigned long a, b;
	char *end;

	errno = 0;
	a = strtoul(s, &end, 10);
	b = a;
	if (!errno && end != s && *end == '-') {
		const char *s2 = end + 1;

		b = strtoul(s2, &end, 10);
		if (end == s2)
			return -EINVAL;
	}
	if (errno || end == s || *end || s[0] == '-' || a < 1 || b > 65535 || a > b)
		return -EINVAL;
	*lo = a;
	*hi = b;
	return 0;
}

static int parse_netns(struct pw_protect_rule *r, const char *v, const char *netns_dir,
		       char *err, size_t errlen)
{
	char path[4200];
	unsigned long long n;
	struct stat st;
	char *end;

	snprintf(r->netns_text, sizeof(r->netns_text), "%s", v);
	errno = 0;
	n = strtoull(v, &end, 10);
	if (!errno && end != v && !*end && n > 0 && n <= UINT32_MAX) {
		r->netns = (uint32_t)n;
		return 0;
	}
	if (strlen(v) >= sizeof(r->netns_text) || strchr(v, '/') || v[0] == '.') {
		snprintf(err, errlen, "'netns=%s': expected an inode number or a name of %s", v,
			 netns_dir);
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "%s/%s", netns_dir, v);
	if (stat(path, &st)) {
		snprintf(err, errlen, "'netns=%s': %s: %s", v, path, strerror(errno));
		return -EINVAL;
	}
	r->netns = (uint32_t)st.st_ino;
	return 0;
}

static int parse_sel(struct pw_psel *s, const char *tok, char *err, size_t errlen)
{
	const char *v = s->value;
	size_t klen, n;

	memset(s, 0, sizeof(*s));
	if (policy_sel_split(tok, &klen, s->value, sizeof(s->value),
			     "exe=PATH, unit=NAME, uid=UID, cgroup=PATH or netns=NS", err, errlen))
		return -EINVAL;
	if (klen == 3 && !strncmp(tok, "exe", 3)) {
		s->type = PW_PSEL_EXE;
		return policy_sel_exe(tok, v, err, errlen);
	}
	if (klen == 4 && !strncmp(tok, "unit", 4)) {
		s->type = PW_PSEL_UNIT;
		if (!strchr(v, '/'))
			return 0;
		snprintf(err, errlen, "'%s': a unit name has no '/' (cgroup= takes paths)", tok);
		return -EINVAL;
	}
	if (klen == 3 && !strncmp(tok, "uid", 3)) {
		s->type = PW_PSEL_UID;
		return policy_sel_uid(tok, v, &s->uid, err, errlen);
	}
	if (klen == 6 && !strncmp(tok, "cgroup", 6)) {
		n = strlen(v);
		s->type = PW_PSEL_CGROUP;
		if (v[0] != '/' || strstr(v, "/../") || strstr(v, "/./") ||
		    (n >= 3 && !strcmp(v + n - 3, "/..")) || strstr(v, "//")) {
			snprintf(err, errlen,
				 "'%s': cgroup= needs a cgroup v2 path from its root, such as "
				 "/system.slice/nginx.service",
				 tok);
			return -EINVAL;
		}
		while (n > 1 && s->value[n - 1] == '/') /* "/a/" is "/a" */
			s->value[--n] = '\0';
		return 0;
	}
	snprintf(err, errlen, "'%.*s=': unknown selector (exe=, unit=, uid=, cgroup=, netns=)",
		 (int)klen, tok);
	return -EINVAL;
}

int protect_add(struct pw_protect *p, const char *value, unsigned int line,
		const char *netns_dir, char *err, size_t errlen)
{
	struct pw_protect_rule r = { .line = line }, *v;
	char buf[4096], *save, *tok;
	int ret = -EINVAL, first = 1;

	if (strlen(value) >= sizeof(buf)) {
		snprintf(err, errlen, "rule longer than %zu bytes", sizeof(buf) - 1);
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "%s", value);
	tok = strtok_r(buf, " \t", &save);
	if (!tok || (strcasecmp(tok, "tcp") && strcasecmp(tok, "udp"))) {
		snprintf(err, errlen, "expected 'tcp' or 'udp' first, got '%s'", tok ? tok : "");
		return -EINVAL;
	}
	r.protocol = strcasecmp(tok, "tcp") ? IPPROTO_UDP : IPPROTO_TCP;
	tok = strtok_r(NULL, " \t", &save);
	if (!tok) {
		snprintf(err, errlen, "a port or LO-HI range must follow the protocol");
		return -EINVAL;
	}
	if (parse_range(tok, &r.port_lo, &r.port_hi)) {
		snprintf(err, errlen, "'%s' is not a port (1-65535) or a range LO-HI", tok);
		return -EINVAL;
	}
	while ((tok = strtok_r(NULL, " \t", &save))) {
		struct pw_psel *s;

		if (first && !strchr(tok, '=')) { /* the optional ADDR */
			uint8_t a[16];
			uint16_t fam;

			first = 0;
			if (pw_addr_pton(tok, &fam, a)) {
				snprintf(err, errlen, "'%s' is not an IPv4 or IPv6 address", tok);
				goto fail;
			}
			if (fam == AF_INET6 && pw_addr_is_v4mapped(a)) { /* ::ffff:a.b.c.d */
				memmove(a, a + 12, 4);
				memset(a + 4, 0, 12);
				fam = AF_INET;
			}
			r.family = fam;
			memcpy(r.addr, a, 16);
			continue;
		}
		first = 0;
		if (!strncmp(tok, "netns=", 6)) {
			if (r.netns_text[0]) {
				snprintf(err, errlen, "netns= given twice");
				goto fail;
			}
			if (parse_netns(&r, tok + 6, netns_dir, err, errlen))
				goto fail;
			continue;
		}
		s = realloc(r.sel, (r.nsel + 1) * sizeof(*s));
		if (!s) {
			ret = -ENOMEM;
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		r.sel = s;
		if (parse_sel(&r.sel[r.nsel], tok, err, errlen))
			goto fail;
		r.nsel++;
	}
	if (!r.nsel) {
		snprintf(err, errlen, "no owner: name who may bind with exe=, unit=, uid= or "
				      "cgroup=");
		goto fail;
	}
	v = realloc(p->rules, (p->nrules + 1) * sizeof(*v));
	if (!v) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	p->rules = v;
	p->rules[p->nrules++] = r;
	return 0;
fail:
	free(r.sel);
	return ret;
}

void protect_rule_text(const struct pw_protect_rule *r, char *buf, size_t len)
{
	static const char *const sel_keys[] = {
		[PW_PSEL_EXE] = "exe", [PW_PSEL_UNIT] = "unit", [PW_PSEL_UID] = "uid",
		[PW_PSEL_CGROUP] = "cgroup",
	};
	char addr[PW_ADDRSTRLEN];
	size_t n;

	n = (size_t)snprintf(buf, len, "%s %u", r->protocol == IPPROTO_TCP ? "tcp" : "udp",
			     r->port_lo);
	if (n < len && r->port_hi != r->port_lo)
		n += (size_t)snprintf(buf + n, len - n, "-%u", r->port_hi);
	if (n < len && r->family)
		n += (size_t)snprintf(buf + n, len - n, " %s%s%s",
				      r->family == AF_INET6 ? "[" : "",
				      pw_addr_ntop(r->family, r->addr, addr),
				      r->family == AF_INET6 ? "]" : "");
	if (n < len && r->netns_text[0])
		n += (size_t)snprintf(buf + n, len - n, " netns=%s", r->netns_text);
	for (size_t i = 0; i < r->nsel && n < len; i++) {
		const struct pw_psel *s = &r->sel[i];

		if (s->type == PW_PSEL_UID)
			n += (size_t)snprintf(buf + n, len - n, " uid=%u", s->uid);
		else
			n += (size_t)snprintf(buf + n, len - n, " %s=%s", sel_keys[s->type],
					      s->value);
	}
}

void protect_resolve_exes(struct pw_protect *p)
{
	for (size_t i = 0; i < p->nrules; i++) {
		for (size_t j = 0; j < p->rules[i].nsel; j++) {
			struct pw_psel *s = &p->rules[i].sel[j];
			struct stat st;

			if (s->type != PW_PSEL_EXE)
				continue;
			if (stat(s->value, &st)) {
				s->exe_ino = 0;
				s->exe_dev = 0;
				continue;
			}
			s->exe_ino = st.st_ino;
			s->exe_dev = pw_kernel_dev(major(st.st_dev), minor(st.st_dev));
		}
	}
}

/* An address as (is IPv4, is a wildcard of its family, its bytes). */
struct norm_addr {
	int v4;
	int any;
	uint8_t a[16];
};

static struct norm_addr norm(uint16_t family, const uint8_t addr[16])
{
	struct norm_addr n = { .v4 = family == AF_INET };

	memcpy(n.a, addr, 16);
	if (family == AF_INET6 && pw_addr_is_v4mapped(addr)) {
		n.v4 = 1;
		memmove(n.a, n.a + 12, 4);
		memset(n.a + 4, 0, 12);
	}
	n.any = pw_addr_is_any(n.v4 ? AF_INET : AF_INET6, n.a);
	return n;
}

int protect_covers(const struct pw_protect_rule *r, const struct pw_sock *sk)
{
	struct norm_addr a, b;

	if (sk->protocol != r->protocol || sk->lport < r->port_lo || sk->lport > r->port_hi ||
	    (r->netns && sk->netns != r->netns))
		return 0;
	if (!r->family)
		return 1;
	a = norm(r->family, r->addr);
	b = norm(sk->family, sk->laddr);
	if (a.v4 == b.v4)
		return a.any || b.any || !memcmp(a.a, b.a, a.v4 ? 4 : 16);
	/*
	 * Across families only [::] meets IPv4 addresses. With IPV6_V6ONLY it
	 * does not in the kernel's own check, but the cgroup/bind6 hook cannot
	 * see that option, so enforcement refuses it too: so do we, and mode
	 * monitor, `check` and the kernel agree.
	 */
	return b.any && !b.v4 && a.v4;
}

static int cgroup_under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	if (!strcmp(prefix, "/"))
		return path[0] == '/';
	return !strncmp(path, prefix, n) && (path[n] == '\0' || path[n] == '/');
}

int protect_owner_allowed(const struct pw_protect_rule *r, const struct pw_owner *o,
			  const char *cgroup)
{
	for (size_t i = 0; i < r->nsel; i++) {
		const struct pw_psel *s = &r->sel[i];

		switch (s->type) {
		case PW_PSEL_EXE:
			if ((pw_owner_exe(o)[0] && !strcmp(pw_owner_exe(o), s->value)) ||
			    (s->exe_ino && o->exe_ino == s->exe_ino && o->exe_dev == s->exe_dev))
				return 1;
			break;
		case PW_PSEL_UNIT:
			if (pw_owner_unit(o)[0] && !strcmp(pw_owner_unit(o), s->value))
				return 1;
			break;
		case PW_PSEL_UID:
			if (o->uid == s->uid)
				return 1;
			break;
		case PW_PSEL_CGROUP:
			if (cgroup && cgroup_under(cgroup, s->value))
				return 1;
			break;
		}
	}
	return 0;
}

struct pw_protect_rule *protect_match(const struct pw_protect *p, const struct pw_sock *sk,
				      const struct pw_owner *o, const char *cgroup, int *allowed)
{
	struct pw_protect_rule *first = NULL;

	*allowed = 1;
	for (size_t i = 0; p && i < p->nrules; i++) {
		struct pw_protect_rule *r = &p->rules[i];

		if (!protect_covers(r, sk))
			continue;
		if (!first)
			first = r;
		if (!protect_owner_allowed(r, o, cgroup)) {
			*allowed = 0;
			return r;
		}
	}
	return first;
}

const struct pw_protect_rule *protect_in_range(const struct pw_protect *p, uint8_t protocol,
					       uint16_t lo, uint16_t hi)
{
	for (size_t i = 0; p && i < p->nrules; i++) {
		const struct pw_protect_rule *r = &p->rules[i];

		if ((!protocol || r->protocol == protocol) && r->port_lo <= hi && r->port_hi >= lo)
			return r;
	}
	return NULL;
}

void protect_keep_counts(struct pw_protect *p, const struct pw_protect *old)
{
	char a[600], b[600];

	for (size_t i = 0; i < p->nrules; i++) {
		protect_rule_text(&p->rules[i], a, sizeof(a));
		for (size_t j = 0; j < old->nrules; j++) {
			protect_rule_text(&old->rules[j], b, sizeof(b));
			if (!strcmp(a, b)) {
				p->rules[i].n = old->rules[j].n;
				break;
			}
		}
	}
}
