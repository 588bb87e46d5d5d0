// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_proc.c - unit tests of daemon/proc.c: the pure cgroup-to-unit
 * parser, and the /proc socket scan and owner lookup against this very
 * process.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "proc.h"

/* Parse text and check the unit (NULL: no unit expected). */
static void check_unit(const char *text, const char *want)
{
	char unit[PW_UNIT_LEN];

	memset(unit, 'x', sizeof(unit));
	if (want) {
		assert_int_equal(proc_unit_from_cgroup(text, unit, sizeof(unit)), 0);
		assert_string_equal(unit, want);
	} else {
		assert_int_equal(proc_unit_from_cgroup(text, unit, sizeof(unit)), -ENOENT);
		assert_string_equal(unit, "");
	}
}

static void test_unit_v2_service(void **state)
{
	(void)state;
	check_unit("0::/system.slice/nginx.service\n", "nginx.service");
	check_unit("0::/system.slice/nginx.service", "nginx.service"); /* no final newline */
}

static void test_unit_v2_nested(void **state)
{
	(void)state;
	check_unit("0::/system.slice/nginx.service/worker\n", "nginx.service");
	check_unit("0::/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service\n",
		   "foo.service");
	check_unit("0::/system.slice/docker.socket\n", "docker.socket");
	check_unit("0::/system.slice/boot-efi.mount\n", "boot-efi.mount");
}

static void test_unit_scope(void **state)
{
	(void)state;
	check_unit("0::/user.slice/user-0.slice/session-3.scope\n", "session-3.scope");
}

static void test_unit_v1_systemd(void **state)
{
	(void)state;
	check_unit("12:memory:/system.slice/cron.service\n"
		   "1:name=systemd:/system.slice/ssh.service\n",
		   "ssh.service");
	/* Hybrid: v2 line is "/", the name=systemd line names the unit. */
	check_unit("1:name=systemd:/system.slice/ssh.service\n0::/\n", "ssh.service");
	/* Both name one: the v2 line wins. */
	check_unit("1:name=systemd:/system.slice/a.service\n0::/system.slice/b.service\n",
		   "b.service");
}

static void test_unit_none(void **state)
{
	(void)state;
	check_unit("0::/\n", NULL);
	check_unit("0::/init\n", NULL);
	check_unit("0::/system.slice\n", NULL);
	check_unit("0::/x/.service\n", NULL); /* a bare suffix is no unit name */
	check_unit("4:memory:/system.slice/cron.service\n", NULL); /* other v1 controllers */
	check_unit("", NULL);
	check_unit("garbage without colons\n", NULL);
}

static void test_unit_truncated(void **state)
{
	char unit[8];

	(void)state;
	assert_int_equal(proc_unit_from_cgroup("0::/a/nginx.service\n", unit, sizeof(unit)), 0);
	assert_string_equal(unit, "nginx.s");
}

static void test_sockmap_own_socket(void **state)
{
	struct proc_sockmap *m = NULL;
	struct stat st;
	int fd;

	(void)state;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));

	assert_int_equal(proc_sockmap_scan(&m), 0);
	assert_non_null(m);
	assert_true(proc_sockmap_size(m) >= 1);
	assert_int_equal(proc_sockmap_pid(m, st.st_ino), getpid());
	assert_int_equal(proc_sockmap_pid(m, 0), 0);
	proc_sockmap_free(m);
	close(fd);
	proc_sockmap_free(NULL);
}

static void test_sockmap_many(void **state)
{
	enum { N = 3000 };
	struct proc_sockmap *m = NULL;
	static int fds[N];
	static ino_t inos[N];
	struct stat st;
	int n, i;

	(void)state;
	/* Enough sockets to make the map grow several times. */
	for (n = 0; n < N; n++) {
		fds[n] = socket(AF_INET6, SOCK_DGRAM, 0);
		if (fds[n] < 0)
			break; /* RLIMIT_NOFILE */
		assert_int_equal(fstat(fds[n], &st), 0);
		inos[n] = st.st_ino;
	}
	assert_true(n > 100);
	assert_int_equal(proc_sockmap_scan(&m), 0);
	assert_true(proc_sockmap_size(m) >= (size_t)n);
	for (i = 0; i < n; i++)
		assert_int_equal(proc_sockmap_pid(m, inos[i]), getpid());
	proc_sockmap_free(m);
	for (i = 0; i < n; i++)
		close(fds[i]);
}

static void test_owner_self(void **state)
{
	struct pw_owner o;
	char exe[PW_EXE_LEN], comm[PW_COMM_LEN] = "";
	ssize_t n;

	(void)state;
	memset(&o, 0, sizeof(o));
	assert_int_equal(proc_owner(getpid(), &o), 0);
	assert_int_equal(o.pid, getpid());
	assert_int_equal(o.uid, getuid());
	assert_int_equal(prctl(PR_GET_NAME, comm), 0);
	assert_string_equal(o.comm, comm);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	assert_string_equal(pw_owner_exe(&o), exe);

	/* A comm already set is the one at bind time: kept. */
	memset(&o, 0, sizeof(o));
	strcpy(o.comm, "oldname");
	assert_int_equal(proc_owner(getpid(), &o), 0);
	assert_string_equal(o.comm, "oldname");
}

static void test_owner_gone(void **state)
{
	struct pw_owner o;
	int err;

	(void)state;
	memset(&o, 0, sizeof(o));
	err = proc_owner(UINT32_MAX - 1, &o); /* above pid_max */
	assert_true(err == -ENOENT || err == -ESRCH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unit_v2_service),
		cmocka_unit_test(test_unit_v2_nested),
		cmocka_unit_test(test_unit_scope),
		cmocka_unit_test(test_unit_v1_systemd),
		cmocka_unit_test(test_unit_none),
		cmocka_unit_test(test_unit_truncated),
		cmocka_unit_test(test_sockmap_own_socket),
		cmocka_unit_test(test_sockmap_many),
		cmocka_unit_test(test_owner_self),
		cmocka_unit_test(test_owner_gone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
