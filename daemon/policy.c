// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* policy.c - ignored ports and allow rules; see policy.h. */
#include <errno.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy.h"

void policy_free(struct pw_policy *p)
{
	for (size_t i = 0; i < p->nallow; i++)
		free(p->allow[i].sel);
	free(p->allow);
	memset(p, 0, sizeof(*p));
}

void policy_ignore_ports(struct pw_policy *p, uint16_t lo, uint16_t hi)
{
	for (uint32_t port = lo; port <= hi; port++) {
		if (!(p->ignored[port / 8] & (1u << (port % 8))))
			p->nignored++;
		p->ignored[port / 8] |= 1u << (port % 8);
	}
}

int policy_port_ignored(const struct pw_policy *p, uint16_t port)
{
	return p && (p->ignored[port / 8] & (1u << (port % 8)));
}

/* "N" or "N-M", 1..65535 each: 0, or -EINVAL with a message. */
static int parse_range(const char *s, uint16_t *lo, uint16_t *hi, char *err, size_t errlen)
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
			goto bad;
	}
	if (errno || end == s || *end || a < 1 || b > 65535 || a > b)
		goto bad;
	*lo = a;
	*hi = b;
	return 0;
bad:
	snprintf(err, errlen, "'%s' is not a port (1-65535) or a range LO-HI", s);
	return -EINVAL;
}

int policy_parse_ports(struct pw_policy *p, const char *value, char *err, size_t errlen)
{
	char buf[1024], *save, *tok;
	uint16_t lo, hi;
	int n = 0;

	if (strlen(value) >= sizeof(buf)) {
		snprintf(err, errlen, "port list longer than %zu bytes", sizeof(buf) - 1);
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "%s", value);
	for (tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		if (parse_range(tok, &lo, &hi, err, errlen))
			return -EINVAL;
		policy_ignore_ports(p, lo, hi);
		n++;
	}
	if (!n) {
		snprintf(err, errlen, "empty port list");
		return -EINVAL;
	}
	return 0;
}

int policy_sel_split(const char *tok, size_t *klen, char *value, size_t len, const char *usage,
		     char *err, size_t errlen)
{
	const char *eq = strchr(tok, '=');
	const char *v = eq ? eq + 1 : "";

	*klen = eq ? (size_t)(eq - tok) : strlen(tok);
	if (!eq || !*v) {
		snprintf(err, errlen, "'%s': expected %s", tok, usage);
		return -EINVAL;
	}
	if (strlen(v) >= len) {
		snprintf(err, errlen, "'%.40s...': value too long", tok);
		return -EINVAL;
	}
	snprintf(value, len, "%s", v);
	return 0;
}

int policy_sel_exe(const char *tok, const char *v, char *err, size_t errlen)
{
	if (v[0] == '/')
		return 0;
	snprintf(err, errlen, "'%s': exe= needs an absolute path", tok);
	return -EINVAL;
}

int policy_sel_uid(const char *tok, const char *v, uint32_t *uid, char *err, size_t errlen)
{
	unsigned long n;
	struct passwd *pw;
	char *end;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (!errno && end != v && !*end && v[0] != '-' && n < UINT32_MAX) {
		*uid = (uint32_t)n;
		return 0;
	}
	pw = getpwnam(v);
	if (!pw) {
		snprintf(err, errlen, "'%s': no such user", tok);
		return -EINVAL;
	}
	*uid = pw->pw_uid;
	return 0;
}

static int parse_selector(struct pw_selector *s, const char *tok, char *err, size_t errlen)
{
	size_t klen;

	memset(s, 0, sizeof(*s));
	if (policy_sel_split(tok, &klen, s->value, sizeof(s->value),
			     "exe=PATH, unit=NAME or uid=UID", err, errlen))
		return -EINVAL;
	if (klen == 3 && !strncmp(tok, "exe", 3)) {
		s->type = PW_SEL_EXE;
		return policy_sel_exe(tok, s->value, err, errlen);
	}
	if (klen == 4 && !strncmp(tok, "unit", 4)) {
		s->type = PW_SEL_UNIT;
		return 0;
	}
	if (klen == 3 && !strncmp(tok, "uid", 3)) {
		s->type = PW_SEL_UID;
		return policy_sel_uid(tok, s->value, &s->uid, err, errlen);
	}
	snprintf(err, errlen, "'%.*s=': unknown selector (exe=, unit=, uid=)", (int)klen, tok);
	return -EINVAL;
}

int policy_add_allow(struct pw_policy *p, const char *value, unsigned int line, char *err,
		     size_t errlen)
{
	struct pw_allow_rule r = { .line = line }, *v;
	char buf[4096], *save, *tok;
	int ret = -EINVAL;

	if (strlen(value) >= sizeof(buf)) {
		snprintf(err, errlen, "allow rule longer than %zu bytes", sizeof(buf) - 1);
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "%s", value);
	tok = strtok_r(buf, " \t", &save);
	if (tok && !strcasecmp(tok, "sniffer")) {
		r.cls = PW_ALLOW_SNIFFER; /* selectors only: a sniffer binds no port */
	} else if (tok && !strcasecmp(tok, "sk_lookup")) {
		r.cls = PW_ALLOW_SK_LOOKUP; /* selectors only: a link binds no port */
	} else if (!tok || (strcasecmp(tok, "tcp") && strcasecmp(tok, "udp"))) {
		snprintf(err, errlen, "expected 'tcp', 'udp', 'sniffer' or 'sk_lookup' first, got '%s'",
			 tok ? tok : "");
		return -EINVAL;
	} else {
		r.protocol = strcasecmp(tok, "tcp") ? IPPROTO_UDP : IPPROTO_TCP;
		tok = strtok_r(NULL, " \t", &save);
		if (!tok) {
			snprintf(err, errlen, "a port or LO-HI range must follow the protocol");
			return -EINVAL;
		}
		if (parse_range(tok, &r.port_lo, &r.port_hi, err, errlen))
			return -EINVAL;
	}
	while ((tok = strtok_r(NULL, " \t", &save))) {
		struct pw_selector *s = realloc(r.sel, (r.nsel + 1) * sizeof(*s));

		if (!s) {
			ret = -ENOMEM;
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		r.sel = s;
		if (parse_selector(&r.sel[r.nsel], tok, err, errlen))
			goto fail;
		r.nsel++;
	}
	v = realloc(p->allow, (p->nallow + 1) * sizeof(*v));
	if (!v) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	p->allow = v;
	p->allow[p->nallow++] = r;
	return 0;
fail:
	free(r.sel);
	return ret;
}

static int selector_matches(const struct pw_selector *s, const struct pw_owner *o)
{
	switch (s->type) {
	case PW_SEL_EXE:
		return !strcmp(pw_owner_exe(o), s->value);
	case PW_SEL_UNIT:
		return !strcmp(pw_owner_unit(o), s->value);
	case PW_SEL_UID:
		return o->uid == s->uid;
	}
	return 0;
}

static int rule_covers(const struct pw_allow_rule *r, const struct pw_owner *o)
{
	if (!r->nsel)
		return 1;
	for (size_t i = 0; i < r->nsel; i++)
		if (selector_matches(&r->sel[i], o))
			return 1;
	return 0;
}

const struct pw_allow_rule *policy_silences(const struct pw_policy *p,
					    const struct pw_entry *contender,
					    const struct pw_entry *holder)
{
	static const struct pw_allow_rule ignored_port;
	uint16_t port = contender->sk.lport;

	if (!p)
		return NULL;
	if (policy_port_ignored(p, port))
		return &ignored_port;
	for (size_t i = 0; i < p->nallow; i++) {
		const struct pw_allow_rule *r = &p->allow[i];

		if (r->cls != PW_ALLOW_PORTS)
			continue;
		if (r->protocol == contender->sk.protocol && port >= r->port_lo &&
		    port <= r->port_hi && rule_covers(r, &contender->owner) &&
		    rule_covers(r, &holder->owner))
			return r;
	}
	return NULL;
}

const struct pw_allow_rule *policy_silences_owner(const struct pw_policy *p,
						  enum pw_allow_class cls,
						  const struct pw_owner *owner)
{
	for (size_t i = 0; p && i < p->nallow; i++)
		if (p->allow[i].cls == cls && rule_covers(&p->allow[i], owner))
			return &p->allow[i];
	return NULL;
}
