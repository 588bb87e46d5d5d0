// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_config.c - portwatch.conf parsing (config.c over inih) and the
 * policy it builds (policy.c): values, line numbers of errors, allow-rule
 * matching.
 */
#include <errno.h>
#include <stdlib.h>
#include <syslog.h>
#include <unistd.h>

#include "helpers.h"

#include "config.h"
#include "policy.h"

/* Write text to a temporary file; returns its path (static buffer). */
static const char *conf_file(const char *text)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/pwt-conf-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

/* Load text over the defaults: the return code, the message in err. */
static int load(const char *text, struct pw_config *c, char *err, size_t len)
{
	const char *path = conf_file(text);
	int r;

	config_defaults(c);
	err[0] = '\0';
	r = config_load(c, path, 0, err, len);
	unlink(path);
	return r;
}

static void test_defaults_and_every_key(void **state)
{
	struct pw_config c;
	char err[600];

	(void)state;
	assert_int_equal(load("", &c, err, sizeof(err)), 0);
	assert_int_equal(c.log_level, LOG_INFO);
	assert_int_equal(c.reconcile_s, 5);
	assert_int_equal(c.ring_bytes, 8u << 20);
	assert_int_equal(c.socket_mode, 0660);
	assert_string_equal(c.socket_group, "portwatch");
	assert_int_equal(c.syslog_facility, LOG_DAEMON);
	assert_int_equal(c.journal, PW_JOURNAL_AUTO);
	assert_int_equal(c.takeover_window_ns, 60000000000ULL);
	assert_string_equal(c.metrics_textfile, ""); /* no metrics file unless asked */
	assert_int_equal(c.metrics_interval_s, 15);
	config_free(&c);

	assert_int_equal(load("; comment\n# comment\n[daemon]\nlog_level = DEBUG\n"
			      "reconcile_interval = 0\nring_size = 64\n"
			      "[control]\nsocket = /run/x.sock\nmode = 0600\ngroup = adm\n"
			      "[syslog]\nfacility = local7\nformat = json ; inline comment\n"
			      "journal = no\n"
			      "[alerts]\ntakeover_window = 5\nalert_history = 7\n"
			      "conflict_history = 9\nignore_ports = 53, 60000-60009 7\n"
			      "allow = udp 5353 exe=/usr/sbin/avahi-daemon uid=0\n"
			      "allow = TCP 8000-8080\n"
			      "[metrics]\ntextfile = /var/lib/node-exporter/portwatch.prom\n"
			      "interval = 60\n",
			      &c, err, sizeof(err)),
			 0);
	assert_int_equal(c.log_level, LOG_DEBUG);
	assert_int_equal(c.reconcile_s, 0);
	assert_int_equal(c.ring_bytes, 64u << 20);
	assert_string_equal(c.socket_path, "/run/x.sock");
	assert_int_equal(c.socket_mode, 0600);
	assert_string_equal(c.socket_group, "adm");
	assert_int_equal(c.syslog_facility, LOG_LOCAL7);
	assert_int_equal(c.syslog_format, PW_SYSLOG_JSON);
	assert_int_equal(c.journal, PW_JOURNAL_NO);
	assert_int_equal(c.takeover_window_ns, 5000000000ULL);
	assert_int_equal(c.alert_history, 7);
	assert_int_equal(c.conflict_history, 9);
	assert_int_equal(c.policy.nignored, 12);
	assert_true(policy_port_ignored(&c.policy, 53));
	assert_true(policy_port_ignored(&c.policy, 60009));
	assert_false(policy_port_ignored(&c.policy, 60010));
	assert_int_equal(c.policy.nallow, 2);
	assert_int_equal(c.policy.allow[0].protocol, IPPROTO_UDP);
	assert_int_equal(c.policy.allow[0].nsel, 2);
	assert_int_equal(c.policy.allow[0].line, 20);
	assert_int_equal(c.policy.allow[1].protocol, IPPROTO_TCP);
	assert_int_equal(c.policy.allow[1].port_lo, 8000);
	assert_int_equal(c.policy.allow[1].port_hi, 8080);
	assert_int_equal(c.policy.allow[1].nsel, 0);
	assert_string_equal(c.metrics_textfile, "/var/lib/node-exporter/portwatch.prom");
	assert_int_equal(c.metrics_interval_s, 60);
	config_free(&c);
}

/* [syslog] format: kv, json, ecs; each name as --check prints it. */
static void test_syslog_formats(void **state)
{
	static const char *const names[] = { "kv", "json", "ecs" };
	static const enum pw_syslog_format fmts[] = { PW_SYSLOG_KV, PW_SYSLOG_JSON, PW_SYSLOG_ECS };
	struct pw_config c;
	char err[200];

	(void)state;
	config_defaults(&c);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(config_set(&c, "syslog", "format", names[i], 1, err, sizeof(err)), 0);
		assert_int_equal(c.syslog_format, fmts[i]);
		assert_string_equal(config_syslog_format_name(c.syslog_format), names[i]);
	}
	assert_int_equal(config_set(&c, "syslog", "format", "ECS", 1, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "format: 'ECS' is not 'kv', 'json' or 'ecs'");
	config_free(&c);
}

static void test_error_lines(void **state)
{
	static const struct {
		const char *text;
		const char *want; /* after "PATH:" */
	} cases[] = {
		{ "[daemon]\nlog_level = info\nbogus = 1\n", "3: unknown key 'bogus' in section [daemon]" },
		{ "\n\n[x]\na = 1\n", "4: unknown section [x]" },
		{ "a = 1\n", "1: 'a' is outside a section" },
		{ "[daemon]\n\n[daemon\n", "3: syntax error" },
		{ "[daemon]\nring_size = 0\n", "2: ring_size: '0' is not a whole number in 1..1024" },
		{ "[syslog]\njournal = maybe\n", "2: journal: 'maybe' is not 'auto', 'yes' or 'no'" },
		{ "[alerts]\nignore_ports = 5-1\n", "2: ignore_ports: '5-1' is not a port" },
		{ "[alerts]\nignore_ports = 0\n", "2: ignore_ports: '0' is not a port" },
		{ "[alerts]\nallow = udp 53\nallow = udp 53 exe=\n", "3: allow: 'exe=': expected" },
		{ "[metrics]\ntextfile = portwatch.prom\n", "2: textfile: 'portwatch.prom' must be" },
		{ "[metrics]\ntextfile = /tmp/portwatch.txt\n", "2: textfile: '/tmp/portwatch.txt'" },
		{ "[metrics]\ninterval = 0\n", "2: interval: '0' is not a whole number in 1..86400" },
		{ "[metrics]\nport = 9100\n", "2: unknown key 'port' in section [metrics]" },
		/* a handler error after a syntax error: the first one is reported */
		{ "[daemon\n[alerts]\nallow = x\n", "1: syntax error" },
	};
	struct pw_config c;
	char err[600];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *colon;

		assert_int_equal(load(cases[i].text, &c, err, sizeof(err)), -EINVAL);
		colon = strchr(err, ':');
		assert_non_null(colon);
		if (strncmp(colon + 1, cases[i].want, strlen(cases[i].want)))
			fail_msg("case %zu: got '%s', want '...:%s'", i, err, cases[i].want);
		config_free(&c);
	}
}

static void test_missing_file(void **state)
{
	struct pw_config c;
	char err[600];

	(void)state;
	config_defaults(&c);
	assert_int_equal(config_load(&c, "/nonexistent/portwatch.conf", 1, err, sizeof(err)), 0);
	assert_string_equal(c.path, "");
	assert_int_equal(config_load(&c, "/nonexistent/portwatch.conf", 0, err, sizeof(err)),
			 -ENOENT);
	assert_string_equal(err, "/nonexistent/portwatch.conf: No such file or directory");
	config_free(&c);
}

/* An entry of proto on port owned by uid running exe, in unit. */
static struct pw_entry who(uint8_t proto, uint16_t port, uint32_t uid, const char *exe,
			   const char *unit)
{
	struct pw_sock sk = proto == IPPROTO_TCP ? pwt_tcp("0.0.0.0", port, PW_TCP_CLOSE, 0, uid) :
						   pwt_udp("0.0.0.0", port, 0, uid);
	struct pw_entry e = pwt_entry(&sk, PWT_NS1, 1, 100, uid, "x");

	e.owner.exe = pwt_str("%s", exe);
	e.owner.unit = pwt_str("%s", unit ? unit : "");
	return e;
}

static void test_allow_rule_matching(void **state)
{
	struct pw_policy p = { 0 };
	char err[200];
	struct pw_entry avahi = who(IPPROTO_UDP, 5353, 108, "/usr/sbin/avahi-daemon", NULL);
	struct pw_entry chrome = who(IPPROTO_UDP, 5353, 1000, "/usr/lib/chromium/chromium", NULL);
	struct pw_entry other = who(IPPROTO_UDP, 5353, 1000, "/tmp/evil", NULL);
	struct pw_entry tcp = who(IPPROTO_TCP, 5353, 1000, "/usr/lib/chromium/chromium", NULL);
	struct pw_entry web1 = who(IPPROTO_TCP, 8080, 33, "/usr/sbin/nginx", "nginx.service");
	struct pw_entry web2 = who(IPPROTO_TCP, 8080, 0, "/usr/sbin/nginx", "nginx.service");
	struct pw_entry web3 = who(IPPROTO_TCP, 8080, 0, "/usr/sbin/nginx", "other.service");

	(void)state;
	assert_int_equal(policy_add_allow(&p, "udp 5353 exe=/usr/sbin/avahi-daemon "
					      "exe=/usr/lib/chromium/chromium",
					  4, err, sizeof(err)),
			 0);
	assert_int_equal(policy_add_allow(&p, "tcp 8000-8999 unit=nginx.service", 5, err,
					  sizeof(err)),
			 0);
	assert_null(policy_silences(NULL, &chrome, &avahi));
	assert_int_equal(policy_silences(&p, &chrome, &avahi)->line, 4);
	assert_int_equal(policy_silences(&p, &avahi, &chrome)->line, 4);
	assert_null(policy_silences(&p, &other, &avahi));  /* the contender is not named */
	assert_null(policy_silences(&p, &chrome, &other)); /* nor is the holder */
	assert_null(policy_silences(&p, &tcp, &avahi));    /* the rule is UDP's */
	chrome.sk.lport = 5354;
	assert_null(policy_silences(&p, &chrome, &avahi)); /* another port */
	assert_int_equal(policy_silences(&p, &web1, &web2)->line, 5);
	assert_null(policy_silences(&p, &web3, &web2));

	/* ignored ports silence whatever the owners; uid selectors */
	policy_ignore_ports(&p, 5354, 5354);
	assert_non_null(policy_silences(&p, &chrome, &other));
	assert_int_equal(policy_add_allow(&p, "udp 9 uid=1000 uid=root", 6, err, sizeof(err)), 0);
	other.sk.lport = chrome.sk.lport = 9;
	other.owner.uid = 0;
	assert_int_equal(policy_silences(&p, &other, &chrome)->line, 6);
	other.owner.uid = 2;
	assert_null(policy_silences(&p, &other, &chrome));
	/* a negative number is no uid (strtoul() would wrap "-4294967295" to 1) */
	assert_int_equal(policy_add_allow(&p, "udp 9 uid=-4294967295", 7, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "no such user"));
	policy_free(&p);
}

/* "allow = sniffer SELECTOR...": packet sniffers only, by owner; no port, no other alert. */
static void test_allow_sniffer_rule(void **state)
{
	struct pw_policy p = { 0 };
	char err[200];
	struct pw_entry tcpdump = who(0, 0, 72, "/usr/bin/tcpdump", NULL);
	struct pw_entry evil = who(0, 0, 0, "/tmp/.x/bd", NULL);
	struct pw_entry web = who(IPPROTO_TCP, 0, 72, "/usr/bin/tcpdump", NULL);

	(void)state;
	assert_int_equal(policy_add_allow(&p, "sniffer exe=/usr/bin/tcpdump exe=/usr/sbin/lldpd", 3,
					  err, sizeof(err)),
			 0);
	assert_int_equal(p.allow[0].cls, PW_ALLOW_SNIFFER);
	assert_int_equal(policy_silences_owner(&p, PW_ALLOW_SNIFFER, &tcpdump.owner)->line, 3);
	assert_null(policy_silences_owner(&p, PW_ALLOW_SNIFFER, &evil.owner));
	assert_null(policy_silences_owner(NULL, PW_ALLOW_SNIFFER, &tcpdump.owner));
	/* a sniffer rule silences no bind alert, even on port 0 of protocol 0 */
	assert_null(policy_silences(&p, &tcpdump, &tcpdump));
	assert_null(policy_silences(&p, &web, &web));
	/* and port rules silence no sniffer */
	assert_int_equal(policy_add_allow(&p, "tcp 1-65535", 4, err, sizeof(err)), 0);
	assert_null(policy_silences_owner(&p, PW_ALLOW_SNIFFER, &evil.owner));
	/* without selectors: every sniffer */
	assert_int_equal(policy_add_allow(&p, "sniffer", 5, err, sizeof(err)), 0);
	assert_int_equal(policy_silences_owner(&p, PW_ALLOW_SNIFFER, &evil.owner)->line, 5);
	assert_int_equal(policy_add_allow(&p, "snifer exe=/x", 6, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "'sniffer'"));
	policy_free(&p);
}

/* "allow = sk_lookup SELECTOR...": sk_lookup links only, by the owner holding the link. */
static void test_allow_sk_lookup_rule(void **state)
{
	struct pw_policy p = { 0 };
	char err[200];
	struct pw_entry lb = who(0, 0, 0, "/usr/sbin/lbd", NULL);
	struct pw_entry evil = who(0, 0, 0, "/tmp/.x/bd", NULL);

	(void)state;
	assert_int_equal(policy_add_allow(&p, "sk_lookup exe=/usr/sbin/lbd", 2, err, sizeof(err)),
			 0);
	assert_int_equal(p.allow[0].cls, PW_ALLOW_SK_LOOKUP);
	assert_int_equal(policy_silences_owner(&p, PW_ALLOW_SK_LOOKUP, &lb.owner)->line, 2);
	assert_null(policy_silences_owner(&p, PW_ALLOW_SK_LOOKUP, &evil.owner));
	/* one class does not silence the other, nor a bind alert */
	assert_null(policy_silences_owner(&p, PW_ALLOW_SNIFFER, &lb.owner));
	assert_null(policy_silences(&p, &lb, &lb));
	assert_int_equal(policy_add_allow(&p, "sniffer", 3, err, sizeof(err)), 0);
	assert_null(policy_silences_owner(&p, PW_ALLOW_SK_LOOKUP, &evil.owner));
	assert_int_equal(policy_add_allow(&p, "sk-lookup", 4, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "'sk_lookup'"));
	policy_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allow_sniffer_rule),
		cmocka_unit_test(test_allow_sk_lookup_rule),
		cmocka_unit_test(test_defaults_and_every_key),
		cmocka_unit_test(test_syslog_formats),
		cmocka_unit_test(test_error_lines),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_allow_rule_matching),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
