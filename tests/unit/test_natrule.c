// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Unit tests of natrule.c: the JSON ruleset -> diversion matcher and the
 * Port Shadow facts, on listings captured from real `nft -j list ruleset`
 * and `nft -a list ruleset` output (nftables 1.0.6, Debian 12) under
 * tests/unit/nft/: divert.* (redirect, dnat through a jump to a DOCKER
 * chain, an OUTPUT rule with a set, a range and a daddr, a udp dnat,
 * masquerade/snat, tproxy with a named set) and shadow.* (masquerade, the
 * three mitigations of nft_nat.sh, an inet table with ip6 and ip rules)
 * and xt.* (iptables-nft REDIRECT and DNAT targets, one of them an ip6
 * DNAT that libxtables could not print).
 * Run from the top of the tree (make unit).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "natrule.h"

#define FIXTURES "tests/unit/nft/"

static char *slurp(const char *name)
{
	char path[256];
	FILE *f;
	char *buf;
	long len;

	snprintf(path, sizeof(path), FIXTURES "%s", name);
	f = fopen(path, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	return buf;
}

/* Parse NAME.json, then take the rules' text from NAME.txt. */
static void load(const char *name, struct natrule_set *s)
{
	char j[64], t[64];
	char *json, *text;

	snprintf(j, sizeof(j), "%s.json", name);
	snprintf(t, sizeof(t), "%s.txt", name);
	json = slurp(j);
	text = slurp(t);
	assert_int_equal(natrule_parse(json, s), 0);
	natrule_set_text(s, text);
	free(json);
	free(text);
}

static const struct natrule *rule(const struct natrule_set *s, const char *table,
				  const char *chain, uint64_t handle)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->rules[i].table, table) && !strcmp(s->rules[i].chain, chain) &&
		    s->rules[i].handle == handle)
			return &s->rules[i];
	return NULL;
}

static struct pw_sock sock(uint8_t proto, const char *addr, uint16_t port)
{
	struct pw_sock sk = { .protocol = proto, .lport = port };

	if (strchr(addr, ':')) {
		sk.family = AF_INET6;
		inet_pton(AF_INET6, addr, sk.laddr);
	} else {
		sk.family = AF_INET;
		inet_pton(AF_INET, addr, sk.laddr);
	}
	return sk;
}

static void test_divert_rules_found(void **state)
{
	struct natrule_set s;
	const struct natrule *r;

	(void)state;
	load("divert", &s);
	/* redirect, two OUTPUT rules, DOCKER's dnat, two tproxy; masquerade/snat are not */
	assert_int_equal(s.n, 6);
	assert_int_equal(s.nrules_all, 9);

	r = rule(&s, "nat", "PREROUTING", 6);
	assert_non_null(r);
	assert_int_equal(r->action, NATRULE_REDIRECT);
	assert_int_equal(r->hooks, NATRULE_HOOK_PREROUTING);
	assert_int_equal(r->to_port, 42391);
	assert_int_equal(r->protos, NATRULE_TCP);
	assert_true(r->conditions); /* ip saddr 192.0.2.7 */
	assert_true(r->text_exact);
	assert_string_equal(r->text, "ip saddr 192.0.2.7 tcp dport 22 redirect to :42391");

	/* reached from PREROUTING through `jump DOCKER`: Docker's own chain */
	r = rule(&s, "nat", "DOCKER", 10);
	assert_non_null(r);
	assert_int_equal(r->action, NATRULE_DNAT);
	assert_int_equal(r->origin, NATRULE_ORIGIN_DOCKER);
	assert_int_equal(r->hooks, NATRULE_HOOK_PREROUTING);
	assert_true(r->to_has_addr);
	assert_int_equal(r->to_port, 80);
	assert_string_equal(natrule_origin_name(r->origin), "docker");

	/* tproxy through a named set */
	r = rule(&s, "tp", "pre", 3);
	assert_non_null(r);
	assert_int_equal(r->action, NATRULE_TPROXY);
	assert_string_equal(r->family, "inet");
	assert_true(natrule_ports_has(&r->dport, 443));
	assert_true(natrule_ports_has(&r->dport, 4443));
	assert_false(natrule_ports_has(&r->dport, 80));
	assert_string_equal(r->text, "tcp dport @ports tproxy ip to :50080");

	/* Port Shadow facts of the same listing: masquerade and snat, no mitigation */
	assert_int_equal(s.nsnat, 2);
	assert_string_equal(s.snat_where, "ip nat POSTROUTING handle 11");
	assert_int_equal(s.nmit, 0);
	natrule_set_free(&s);
}

static void test_divert_covers(void **state)
{
	struct natrule_set s;
	const struct natrule *redir, *out, *udp, *tp;
	struct pw_sock sk;

	(void)state;
	load("divert", &s);
	redir = rule(&s, "nat", "PREROUTING", 6);
	out = rule(&s, "nat", "OUTPUT", 8);
	udp = rule(&s, "nat", "OUTPUT", 9);
	tp = rule(&s, "tp", "pre", 4);
	assert_non_null(redir);
	assert_non_null(out);
	assert_non_null(udp);
	assert_non_null(tp);

	sk = sock(IPPROTO_TCP, "0.0.0.0", 22);
	assert_true(natrule_covers(redir, &sk));
	sk.protocol = IPPROTO_UDP; /* tcp dport only */
	assert_false(natrule_covers(redir, &sk));
	sk = sock(IPPROTO_TCP, "::", 22); /* dual-stack gets IPv4 too: family ip covers it */
	assert_true(natrule_covers(redir, &sk));
	sk.v6only = 1;
	assert_false(natrule_covers(redir, &sk));
	sk = sock(IPPROTO_TCP, "0.0.0.0", 23);
	assert_false(natrule_covers(redir, &sk));

	/* { 80, 8000-8100 } and ip daddr 127.0.0.1 */
	sk = sock(IPPROTO_TCP, "127.0.0.1", 8050);
	assert_true(natrule_covers(out, &sk));
	sk = sock(IPPROTO_TCP, "0.0.0.0", 80); /* the wildcard gets 127.0.0.1's traffic too */
	assert_true(natrule_covers(out, &sk));
	sk = sock(IPPROTO_TCP, "10.0.0.1", 80); /* another address: not its traffic */
	assert_false(natrule_covers(out, &sk));
	sk = sock(IPPROTO_TCP, "127.0.0.1", 8101);
	assert_false(natrule_covers(out, &sk));
	assert_int_equal(natrule_target_port(out, 80), 9090);

	sk = sock(IPPROTO_UDP, "0.0.0.0", 53);
	assert_true(natrule_covers(udp, &sk));
	assert_int_equal(natrule_target_port(udp, 53), 5353);

	/* tproxy 7000 -> 127.0.0.1:50081; a listener on the target port itself is not taken */
	sk = sock(IPPROTO_TCP, "0.0.0.0", 7000);
	assert_true(natrule_covers(tp, &sk));
	assert_int_equal(tp->to_port, 50081);
	natrule_set_free(&s);
}

static void test_shadow_mitigations(void **state)
{
	struct natrule_set s;

	(void)state;
	load("shadow", &s);
	assert_int_equal(s.nsnat, 2);
	assert_string_equal(s.snat_where, "ip nat postrouting handle 2");
	assert_int_equal(s.nmit, 3);
	/* masquerade to :1406-65535 for udp sport <= 1405 */
	assert_true(natrule_shadow_mitigated(&s, IPPROTO_UDP, 1405));
	assert_true(natrule_shadow_mitigated(&s, IPPROTO_UDP, 500));
	assert_false(natrule_shadow_mitigated(&s, IPPROTO_UDP, 1406));
	assert_false(natrule_shadow_mitigated(&s, IPPROTO_TCP, 1405));
	/* notrack of udp dport 5353 */
	assert_true(natrule_shadow_mitigated(&s, IPPROTO_UDP, 5353));
	/* forward drop of tcp sport { 22, 8000-8100 } */
	assert_true(natrule_shadow_mitigated(&s, IPPROTO_TCP, 22));
	assert_true(natrule_shadow_mitigated(&s, IPPROTO_TCP, 8080));
	assert_false(natrule_shadow_mitigated(&s, IPPROTO_TCP, 443));
	assert_true(natrule_shadow_mitigated(&s, IPPROTO_UDP, 22)); /* the remap again */
	assert_false(natrule_shadow_mitigated(&s, IPPROTO_UDP, 8080)); /* that drop is tcp only */
	natrule_set_free(&s);
}

static void test_inet_families_and_negation(void **state)
{
	struct natrule_set s;
	const struct natrule *d6, *r4;
	struct pw_sock sk;

	(void)state;
	load("shadow", &s);
	assert_int_equal(s.n, 2);
	d6 = rule(&s, "v6", "pre", 3);
	r4 = rule(&s, "v6", "pre", 4);
	assert_non_null(d6);
	assert_non_null(r4);
	assert_string_equal(d6->text,
			    "ip6 daddr 2001:db8::/64 tcp dport != { 22, 80 } dnat ip6 to [2001:db8::2]:8080");

	/* tcp dport != { 22, 80 } in 2001:db8::/64 */
	sk = sock(IPPROTO_TCP, "2001:db8::5", 443);
	assert_true(natrule_covers(d6, &sk));
	sk.lport = 22;
	assert_false(natrule_covers(d6, &sk));
	sk = sock(IPPROTO_TCP, "2001:db9::5", 443);
	assert_false(natrule_covers(d6, &sk));
	sk = sock(IPPROTO_TCP, "0.0.0.0", 443); /* ip6 daddr: not IPv4 traffic */
	assert_false(natrule_covers(d6, &sk));

	/* meta nfproto ipv4 + ip daddr 10.1.2.3 in an inet table: IPv4 only */
	sk = sock(IPPROTO_TCP, "0.0.0.0", 443);
	assert_true(natrule_covers(r4, &sk));
	sk = sock(IPPROTO_TCP, "::", 443);
	sk.v6only = 1;
	assert_false(natrule_covers(r4, &sk));
	natrule_set_free(&s);
}

static void test_summary_when_the_text_is_unknown(void **state)
{
	struct natrule_set s;
	const struct natrule *r;
	char *json = slurp("divert.json");
	char buf[NATRULE_TEXT_LEN];

	(void)state;
	assert_int_equal(natrule_parse(json, &s), 0);
	natrule_set_text(&s, "table ip other { # handle 9\n"); /* names none of them */
	r = rule(&s, "nat", "OUTPUT", 8);
	assert_non_null(r);
	assert_false(r->text_exact);
	natrule_summary(r, buf, sizeof(buf));
	assert_string_equal(buf, "tcp dport { 80, 8000-8100 } redirect to :9090");
	r = rule(&s, "nat", "PREROUTING", 6);
	assert_string_equal(r->text, "tcp dport 22 (other matches) redirect to :42391");
	natrule_set_free(&s);
	free(json);
}

static void test_iptables_nft_targets(void **state)
{
	struct natrule_set s;
	const struct natrule *r;
	struct pw_sock sk;

	(void)state;
	load("xt", &s);
	assert_int_equal(s.n, 3);
	/* BPFDoor's: -s ATTACKER -p tcp --dport 22 -j REDIRECT --to-ports 42391 */
	r = rule(&s, "nat", "PREROUTING", 2);
	assert_non_null(r);
	assert_string_equal(r->family, "ip");
	assert_int_equal(r->action, NATRULE_REDIRECT);
	assert_string_equal(r->xt_name, "REDIRECT");
	assert_int_equal(r->to_port, 42391);
	assert_true(r->conditions);
	sk = sock(IPPROTO_TCP, "0.0.0.0", 22);
	assert_true(natrule_covers(r, &sk));
	r = rule(&s, "nat", "PREROUTING", 3);
	assert_non_null(r);
	assert_int_equal(r->action, NATRULE_DNAT);
	assert_true(r->to_has_addr);
	assert_int_equal(r->to_family, AF_INET);
	assert_int_equal(r->to_port, 80);
	/* the ip6 table's DNAT, which libxtables did not print: destination unknown */
	for (size_t i = 0; i < s.n; i++)
		if (!strcmp(s.rules[i].family, "ip6"))
			r = &s.rules[i];
	assert_string_equal(r->family, "ip6");
	assert_int_equal(r->action, NATRULE_XT);
	assert_int_equal(r->to_port, 0);
	sk = sock(IPPROTO_TCP, "::", 2225);
	assert_true(natrule_covers(r, &sk)); /* it takes the port, to where is not known */
	natrule_set_free(&s);
}

/*
 * The text after "dnat to " is anybody's: a rule's comment can hold it.
 * A 63-byte token used to be written into a 62-byte buffer (ASan, or a
 * smashed stack).
 */
static void test_xt_text_long_token(void **state)
{
	struct natrule_set s;
	char text[512], tok[80];
	char *json = slurp("xt.json");

	(void)state;
	memset(tok, 'A', sizeof(tok) - 1);
	tok[sizeof(tok) - 1] = '\0';
	assert_int_equal(natrule_parse(json, &s), 0);
	snprintf(text, sizeof(text), "table ip6 nat { # handle 2\n\tchain PREROUTING { # handle 1\n"
		 "\t\ttcp dport 2225 comment \"dnat to %.63s\" # handle 2\n\t}\n}\n", tok);
	natrule_set_text(&s, text);
	for (size_t i = 0; i < s.n; i++)
		if (!strcmp(s.rules[i].family, "ip6")) /* not an address: still not known */
			assert_int_equal(s.rules[i].action, NATRULE_XT);
	natrule_set_free(&s);
	free(json);
}

static void test_a_set_after_a_chain_is_not_a_rule(void **state)
{
	struct natrule_set s;
	const struct natrule *r;
	char *json = slurp("divert.json");

	(void)state;
	assert_int_equal(natrule_parse(json, &s), 0);
	/* OUTPUT's rule 8, then a set whose handle is 8 too: the set's line is not its text */
	natrule_set_text(&s, "table ip nat { # handle 1\n"
			     "\tchain OUTPUT { # handle 2\n"
			     "\t\ttcp dport { 80, 8000-8100 } ip daddr 127.0.0.1 redirect to :9090 # handle 8\n"
			     "\t}\n"
			     "\tset decoy { # handle 8\n"
			     "\t}\n"
			     "}\n");
	r = rule(&s, "nat", "OUTPUT", 8);
	assert_non_null(r);
	assert_true(r->text_exact);
	assert_string_equal(r->text, "tcp dport { 80, 8000-8100 } ip daddr 127.0.0.1 redirect to :9090");
	natrule_set_free(&s);
	free(json);
}

/*
 * Chains and sets are found by (family, table, name): the same names in
 * two tables, listed in any order, are not mixed up (they are looked up
 * by binary search since a linear search per rule made a 30,000-rule
 * ruleset cost over a second per read).
 */
static void test_same_names_in_two_tables(void **state)
{
	static const char json[] =
		"{\"nftables\": [{\"table\": {\"family\": \"ip\", \"name\": \"b\", \"handle\": 2}},"
		"{\"rule\": {\"family\": \"ip\", \"table\": \"b\", \"chain\": \"pre\", \"handle\": 5,"
		" \"expr\": [{\"match\": {\"op\": \"==\", \"left\": {\"payload\": {\"protocol\": \"tcp\","
		" \"field\": \"dport\"}}, \"right\": \"@ports\"}}, {\"redirect\": {\"port\": 9}}]}},"
		"{\"rule\": {\"family\": \"ip\", \"table\": \"a\", \"chain\": \"pre\", \"handle\": 4,"
		" \"expr\": [{\"match\": {\"op\": \"==\", \"left\": {\"payload\": {\"protocol\": \"tcp\","
		" \"field\": \"dport\"}}, \"right\": \"@ports\"}}, {\"redirect\": {\"port\": 9}}]}},"
		"{\"set\": {\"family\": \"ip\", \"name\": \"ports\", \"table\": \"b\","
		" \"type\": \"inet_service\", \"handle\": 3, \"elem\": [3333]}},"
		"{\"chain\": {\"family\": \"ip\", \"table\": \"b\", \"name\": \"pre\", \"handle\": 1}},"
		"{\"table\": {\"family\": \"ip\", \"name\": \"a\", \"handle\": 1}},"
		"{\"set\": {\"family\": \"ip\", \"name\": \"ports\", \"table\": \"a\","
		" \"type\": \"inet_service\", \"handle\": 2, \"elem\": [2222]}},"
		"{\"chain\": {\"family\": \"ip\", \"table\": \"a\", \"name\": \"pre\", \"handle\": 1,"
		" \"type\": \"nat\", \"hook\": \"prerouting\", \"prio\": -100, \"policy\": \"accept\"}}]}";
	struct natrule_set s;
	struct pw_sock sk;

	(void)state;
	assert_int_equal(natrule_parse(json, &s), 0);
	assert_int_equal(s.n, 1); /* b's pre is hooked nowhere */
	assert_string_equal(s.rules[0].table, "a");
	assert_int_equal(s.rules[0].handle, 4);
	sk = sock(IPPROTO_TCP, "0.0.0.0", 2222);
	assert_true(natrule_covers(&s.rules[0], &sk));
	sk.lport = 3333; /* b's set of the same name */
	assert_false(natrule_covers(&s.rules[0], &sk));
	natrule_set_free(&s);
}

/* The text of each rule by (family, table, chain, handle): handles repeat across tables. */
static void test_text_by_handle_per_table(void **state)
{
	static const char json[] =
		"{\"nftables\": ["
		"{\"chain\": {\"family\": \"ip\", \"table\": \"b\", \"name\": \"pre\", \"handle\": 1,"
		" \"type\": \"nat\", \"hook\": \"prerouting\", \"prio\": -100, \"policy\": \"accept\"}},"
		"{\"chain\": {\"family\": \"ip\", \"table\": \"a\", \"name\": \"pre\", \"handle\": 1,"
		" \"type\": \"nat\", \"hook\": \"prerouting\", \"prio\": -100, \"policy\": \"accept\"}},"
		"{\"rule\": {\"family\": \"ip\", \"table\": \"b\", \"chain\": \"pre\", \"handle\": 4,"
		" \"expr\": [{\"redirect\": {\"port\": 9}}]}},"
		"{\"rule\": {\"family\": \"ip\", \"table\": \"b\", \"chain\": \"pre\", \"handle\": 3,"
		" \"expr\": [{\"redirect\": {\"port\": 7}}]}},"
		"{\"rule\": {\"family\": \"ip\", \"table\": \"a\", \"chain\": \"pre\", \"handle\": 4,"
		" \"expr\": [{\"redirect\": {\"port\": 8}}]}}]}";
	struct natrule_set s;

	(void)state;
	assert_int_equal(natrule_parse(json, &s), 0);
	assert_int_equal(s.n, 3);
	natrule_set_text(&s, "table ip a { # handle 9\n\tchain pre { # handle 1\n"
			     "\t\tredirect to :8 # handle 4\n\t}\n}\n"
			     "table ip b { # handle 10\n\tchain pre { # handle 1\n"
			     "\t\tredirect to :7 # handle 3\n"
			     "\t\tredirect to :9 # handle 4\n\t}\n}\n");
	assert_string_equal(rule(&s, "a", "pre", 4)->text, "redirect to :8");
	assert_string_equal(rule(&s, "b", "pre", 4)->text, "redirect to :9");
	assert_string_equal(rule(&s, "b", "pre", 3)->text, "redirect to :7");
	for (size_t i = 0; i < s.n; i++)
		assert_true(s.rules[i].text_exact);
	natrule_set_free(&s);
}

static void test_not_a_listing(void **state)
{
	struct natrule_set s;

	(void)state;
	assert_int_equal(natrule_parse("{\"x\": 1}", &s), -EINVAL);
	natrule_set_free(&s);
	assert_int_equal(natrule_parse("not json", &s), -EINVAL);
	natrule_set_free(&s);
	assert_int_equal(natrule_parse("{\"nftables\": []}", &s), 0);
	assert_int_equal(s.n, 0);
	natrule_set_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_divert_rules_found),
		cmocka_unit_test(test_divert_covers),
		cmocka_unit_test(test_shadow_mitigations),
		cmocka_unit_test(test_inet_families_and_negation),
		cmocka_unit_test(test_summary_when_the_text_is_unknown),
		cmocka_unit_test(test_iptables_nft_targets),
		cmocka_unit_test(test_xt_text_long_token),
		cmocka_unit_test(test_a_set_after_a_chain_is_not_a_rule),
		cmocka_unit_test(test_same_names_in_two_tables),
		cmocka_unit_test(test_text_by_handle_per_table),
		cmocka_unit_test(test_not_a_listing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
