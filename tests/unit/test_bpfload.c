// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_bpfload.c - pwbpf_record() (daemon/bpfload.c): how a ring record
 * becomes a struct pw_event. A full event passes as it is; a compact
 * release record (struct pw_release_record, event.h) is expanded with
 * every field it does not carry 0; a record of any other size, or a
 * 48-byte record of another type, is refused. That the BPF side writes
 * these records is tests/bpf/test_bpf_events.c's.
 */
#include <string.h>

#include "helpers.h"
#include "bpfload.h"
#include "portwatch/event.h"

static void test_full_event_passes(void **state)
{
	struct pw_event e, buf;

	(void)state;
	memset(&e, 0x5a, sizeof(e));
	assert_ptr_equal(pwbpf_record(&e, sizeof(e), &buf), &e);
	/* a larger record (a later BPF side with more fields) reads its known part */
	assert_ptr_equal(pwbpf_record(&e, sizeof(e) + 8, &buf), &e);
}

static void test_release_record_expands(void **state)
{
	struct pw_release_record r = {
		.ts_ns = 123456789, .inode = 424242, .type = PW_EV_RELEASE, .pid = 77,
		.tid = 78, .uid = 1000, .gid = 1001, .netns = 4026531840U, .lport = 8080,
		.protocol = 6,
	};
	struct pw_event buf, zero;
	const struct pw_event *e;

	(void)state;
	memset(&buf, 0xff, sizeof(buf));
	e = pwbpf_record(&r, sizeof(r), &buf);
	assert_ptr_equal(e, &buf);
	assert_int_equal(e->type, PW_EV_RELEASE);
	assert_int_equal(e->ts_ns, 123456789);
	assert_int_equal(e->pid, 77);
	assert_int_equal(e->tid, 78);
	assert_int_equal(e->uid, 1000);
	assert_int_equal(e->gid, 1001);
	assert_int_equal(e->sk.inode, 424242);
	assert_int_equal(e->sk.netns, 4026531840U);
	assert_int_equal(e->sk.lport, 8080);
	assert_int_equal(e->sk.protocol, 6);
	/* everything else 0 */
	memset(&zero, 0, sizeof(zero));
	buf.ts_ns = buf.type = buf.pid = buf.tid = buf.uid = buf.gid = 0;
	buf.sk.inode = buf.sk.netns = buf.sk.lport = buf.sk.protocol = 0;
	assert_memory_equal(&buf, &zero, sizeof(zero));
}

static void test_other_records_refused(void **state)
{
	struct pw_release_record r = { .type = PW_EV_BIND };
	char small[16] = { 0 };
	struct pw_event buf;

	(void)state;
	assert_null(pwbpf_record(&r, sizeof(r), &buf));          /* 48 bytes, not a release */
	r.type = PW_EV_RELEASE;
	assert_null(pwbpf_record(&r, sizeof(r) - 8, &buf));      /* a size of neither */
	assert_null(pwbpf_record(&r, sizeof(r) + 8, &buf));
	assert_null(pwbpf_record(small, sizeof(small), &buf));
	assert_null(pwbpf_record(&buf, sizeof(struct pw_event) - 1, &buf));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_event_passes),
		cmocka_unit_test(test_release_record_expands),
		cmocka_unit_test(test_other_records_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
