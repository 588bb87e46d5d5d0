/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * policy.h - what the administrator told portwatch to stay quiet about:
 * ignored ports and allow rules (portwatch.conf(5), [alerts] section).
 *
 * An allow rule names a protocol, a port or port range and the programs
 * known to share it (by executable path, systemd unit or uid). It silences
 * an alert when the contender's socket has that protocol and port and
 * both the contender and the holder match one of the rule's selectors; a
 * rule without selectors silences every alert on its ports. An ignored
 * port silences every alert and every recorded conflict on it, for TCP
 * and UDP alike. Nothing else is affected: the table keeps every socket.
 */
#ifndef PORTWATCH_POLICY_H
#define PORTWATCH_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "table.h"

enum pw_selector_type {
	PW_SEL_EXE,  /* owner.exe equals value (absolute path) */
	PW_SEL_UNIT, /* owner.unit equals value (e.g. "avahi-daemon.service") */
	PW_SEL_UID,  /* owner.uid equals uid (a user name is resolved when parsed) */
};

struct pw_selector {
	enum pw_selector_type type;
	uint32_t uid;
	char value[PW_EXE_LEN];
};

/*
 * What the selectors of allow and protect rules share (portwatch.conf(5)).
 * policy_sel_split(): split the token KEY=VALUE, VALUE copied into value
 * (len bytes, NUL included), *klen the length of KEY; usage is the
 * "expected ..." text for a token without a value. policy_sel_exe():
 * exe= takes an absolute path. policy_sel_uid(): uid= takes a number
 * below UINT32_MAX or a user name (getpwnam(3)), into *uid. Each returns
 * 0, or -EINVAL with a message naming the token in err.
 */
int policy_sel_split(const char *tok, size_t *klen, char *value, size_t len, const char *usage,
		     char *err, size_t errlen);
int policy_sel_exe(const char *tok, const char *v, char *err, size_t errlen);
int policy_sel_uid(const char *tok, const char *v, uint32_t *uid, char *err, size_t errlen);

/*
 * What an allow rule silences: the alerts about a port (the first word is
 * the protocol), or those of a diversion that binds no port, by its
 * owner only: "allow = sniffer SELECTOR..." (diversion/packet_sniffer),
 * "allow = sk_lookup SELECTOR..." (diversion/sk_lookup: the owner is the
 * process holding the link).
 */
enum pw_allow_class {
	PW_ALLOW_PORTS = 0,
	PW_ALLOW_SNIFFER,
	PW_ALLOW_SK_LOOKUP,
};

struct pw_allow_rule {
	uint8_t protocol;          /* IPPROTO_TCP or IPPROTO_UDP; 0 unless PW_ALLOW_PORTS */
	uint8_t cls;               /* enum pw_allow_class */
	uint16_t port_lo, port_hi; /* host order, inclusive */
	struct pw_selector *sel;   /* owned; nsel entries */
	size_t nsel;
	unsigned int line;         /* line of the config file it came from, for logs */
};

struct pw_policy {
	uint8_t ignored[65536 / 8]; /* bit per port (host order), both protocols */
	size_t nignored;
	struct pw_allow_rule *allow; /* owned; nallow entries */
	size_t nallow;
};

/* Free what the policy owns and zero it; accepts a zeroed policy. */
void policy_free(struct pw_policy *p);

/* Add ports lo..hi (host order, lo <= hi) to the ignored set. */
void policy_ignore_ports(struct pw_policy *p, uint16_t lo, uint16_t hi);
/* Is port (host order) ignored? A NULL policy ignores nothing. */
int policy_port_ignored(const struct pw_policy *p, uint16_t port);

/*
 * Parse the value of an `allow` line:
 *   PROTO PORT[-PORT] [exe=PATH | unit=NAME | uid=UID|USER] ...
 * PROTO is tcp or udp. Appends the rule (line recorded) and returns 0, or
 * writes what is wrong into err and returns -EINVAL (-ENOMEM on ENOMEM).
 */
int policy_add_allow(struct pw_policy *p, const char *value, unsigned int line, char *err,
		     size_t errlen);

/*
 * Parse a port list "5353, 1900 60000-61000" (commas and/or blanks) into
 * the ignored set. 0 or -EINVAL with a message in err.
 */
int policy_parse_ports(struct pw_policy *p, const char *value, char *err, size_t errlen);

/*
 * Should an alert about contender (who bound or tried to bind) against
 * holder be silenced? Returns the matching allow rule, a static dummy
 * rule with line 0 for an ignored port, or NULL when the alert must be
 * raised. A NULL policy silences nothing.
 */
const struct pw_allow_rule *policy_silences(const struct pw_policy *p,
					    const struct pw_entry *contender,
					    const struct pw_entry *holder);

/*
 * Should the alert of a diversion of class cls (PW_ALLOW_SNIFFER,
 * PW_ALLOW_SK_LOOKUP) owned by owner be silenced? The first rule of that
 * class one of whose selectors matches owner (a rule without selectors
 * matches every owner), or NULL.
 */
const struct pw_allow_rule *policy_silences_owner(const struct pw_policy *p,
						  enum pw_allow_class cls,
						  const struct pw_owner *owner);

#endif /* PORTWATCH_POLICY_H */
