// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Unit tests of natdiv.c's pure part: the message of a diversion/nat_redirect
 * alert names the rule (text, family, table, chain, handle, origin), the
 * listener that loses the traffic and the socket that gets it, wherever
 * that socket is.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "natdiv.h"

static struct nat_diversion diversion(void)
{
	struct nat_diversion d = { .netns = 4026531840u };
	struct natrule *r = &d.rule;

	strcpy(r->family, "ip");
	strcpy(r->table, "nat");
	strcpy(r->chain, "PREROUTING");
	r->handle = 6;
	r->hooks = NATRULE_HOOK_PREROUTING;
	r->action = NATRULE_REDIRECT;
	r->to_port = 42391;
	r->text_exact = 1;
	strcpy(r->text, "ip saddr 192.0.2.7 tcp dport 22 redirect to :42391");
	d.listener.sk.netns = d.netns;
	d.listener.sk.family = AF_INET;
	d.listener.sk.protocol = IPPROTO_TCP;
	d.listener.sk.lport = 22;
	d.listener.owner.pid = 611;
	d.listener.owner.uid = 0;
	strcpy(d.listener.owner.comm, "sshd");
	return d;
}

static void test_message_names_rule_listener_and_receiver(void **state)
{
	struct nat_diversion d = diversion();
	char msg[PW_MSG_LEN];

	(void)state;
	d.target_local = 1;
	d.target.sk = d.listener.sk;
	d.target.sk.lport = 42391;
	d.target.owner.pid = 4242;
	d.target.owner.uid = 1000;
	strcpy(d.target.owner.comm, "sh");
	natdiv_message(msg, sizeof(msg), &d);
	assert_string_equal(msg,
			    "nat_redirect: rule \"ip saddr 192.0.2.7 tcp dport 22 redirect to :42391\" "
			    "(ip nat, chain PREROUTING, handle 6) sends the incoming traffic for "
			    "0.0.0.0:22/tcp, where pid 611 (sshd, uid 0) listens, to port 42391, held "
			    "by pid 4242 (sh, uid 1000)");
}

static void test_message_of_a_docker_dnat_to_a_container(void **state)
{
	struct nat_diversion d = diversion();
	struct natrule *r = &d.rule;
	char msg[PW_MSG_LEN];

	(void)state;
	strcpy(r->chain, "DOCKER");
	r->origin = NATRULE_ORIGIN_DOCKER;
	r->action = NATRULE_DNAT;
	r->to_port = 80;
	r->to_has_addr = 1;
	r->to_family = AF_INET;
	inet_pton(AF_INET, "172.17.0.2", r->to_addr);
	r->text_exact = 0;
	strcpy(r->text, "tcp dport 22 (other matches) dnat to 172.17.0.2:80");
	natdiv_message(msg, sizeof(msg), &d);
	assert_non_null(strstr(msg, "(summary) (ip nat, chain DOCKER, handle 6, docker)"));
	assert_non_null(strstr(msg, "to 172.17.0.2:80, no socket of this namespace"));
	/* the container's socket, in its own namespace */
	d.target_local = 1;
	d.target.sk = d.listener.sk;
	d.target.sk.netns = 4026532999u;
	d.target.sk.lport = 80;
	d.target.owner.pid = 77;
	d.target.owner.uid = 33;
	strcpy(d.target.owner.comm, "nginx");
	natdiv_message(msg, sizeof(msg), &d);
	assert_non_null(strstr(msg, "to 172.17.0.2:80, held by pid 77 (nginx, uid 33) in network "
				    "namespace 4026532999"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_message_names_rule_listener_and_receiver),
		cmocka_unit_test(test_message_of_a_docker_dnat_to_a_container),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
