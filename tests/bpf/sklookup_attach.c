// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sklookup_attach - load an sk_lookup program from a BPF object and attach
 * it to a network namespace with a BPF link (bpf_link_create(),
 * BPF_SK_LOOKUP), for tests/e2e/test_sklookup.py.
 *
 *   sklookup_attach OBJECT PROGRAM NETNS_PATH
 *
 * Prints one JSON line {"link_id", "prog_id", "pid"} once attached, holds
 * the link until its standard input ends, then detaches, prints
 * {"detached": true} and exits 0. Errors: "sklookup_attach: what: why" on
 * stderr, exit 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

int main(int argc, char **argv)
{
	struct bpf_object *obj = NULL;
	struct bpf_program *prog;
	struct bpf_link *link = NULL;
	struct bpf_link_info info;
	__u32 len = sizeof(info);
	const char *what;
	char buf[64];
	int nsfd = -1, err = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: sklookup_attach OBJECT PROGRAM NETNS_PATH\n");
		return 2;
	}
	what = "open the object";
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		err = -errno;
		goto out;
	}
	what = "load the object";
	err = bpf_object__load(obj);
	if (err)
		goto close_obj;
	what = "find the program";
	prog = bpf_object__find_program_by_name(obj, argv[2]);
	if (!prog) {
		err = -ENOENT;
		goto close_obj;
	}
	what = "open the namespace";
	nsfd = open(argv[3], O_RDONLY | O_CLOEXEC);
	if (nsfd < 0) {
		err = -errno;
		goto close_obj;
	}
	what = "attach the program to the namespace";
	link = bpf_program__attach_netns(prog, nsfd);
	if (!link) {
		err = -errno;
		goto close_ns;
	}
	what = "read the link's info";
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(bpf_link__fd(link), &info, &len)) {
		err = -errno;
		goto detach;
	}
	printf("{\"link_id\": %u, \"prog_id\": %u, \"pid\": %d}\n", info.id, info.prog_id,
	       (int)getpid());
	fflush(stdout);
	while (read(STDIN_FILENO, buf, sizeof(buf)) > 0)
		;
detach:
	bpf_link__destroy(link);
close_ns:
	close(nsfd);
close_obj:
	bpf_object__close(obj);
out:
	if (err) {
		fprintf(stderr, "sklookup_attach: cannot %s: %s\n", what, strerror(-err));
		return 1;
	}
	printf("{\"detached\": true}\n");
	return 0;
}
