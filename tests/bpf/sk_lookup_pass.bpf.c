// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sk_lookup_pass.bpf.c - the smallest sk_lookup program: it picks no
 * socket and lets the kernel's own lookup go on (SK_PASS). Loaded and
 * attached to a fresh network namespace by sklookup_attach.c, for
 * tests/e2e/test_sklookup.py: a real BPF_SK_LOOKUP link for portwatchd to
 * find (issue 19, item 3).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("sk_lookup")
int pwt_sk_pass(struct bpf_sk_lookup *ctx)
{
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
