// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_container.c - unit tests of daemon/container.c: the cgroup paths
 * the runtimes create, as /proc/PID/cgroup shows them from the host, and
 * the pool's handles.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "container.h"

#define ID "3f0c1a9e5b7d4c2a8e6f1b3d5a7c9e0f2b4d6a8c0e1f3a5b7d9c1e3f5a7b9d0c"
#define ID2 "aa11bb22cc33dd44ee55ff6600778899aabbccddeeff00112233445566778899"
#define UID "0d2e4a4b-9d2f-4c7e-8b7a-1c2d3e4f5a6b"
#define UID_ "0d2e4a4b_9d2f_4c7e_8b7a_1c2d3e4f5a6b"

static const struct {
	const char *path;
	const char *id;      /* NULL: no container */
	const char *runtime; /* container_runtime_name() */
	const char *pod;     /* NULL: no pod */
} cases[] = {
	/* Docker, systemd driver (the default on cgroup v2) */
	{ "/system.slice/docker-" ID ".scope", ID, "docker", NULL },
	/* a systemd inside the container: its own units below the scope */
	{ "/system.slice/docker-" ID ".scope/system.slice/nginx.service", ID, "docker", NULL },
	/* rootless Docker */
	{ "/user.slice/user-1000.slice/user@1000.service/app.slice/docker-" ID ".scope", ID,
	  "docker", NULL },
	/* Docker, cgroupfs driver */
	{ "/docker/" ID, ID, "docker", NULL },
	/* Kubernetes + containerd, systemd driver, every QoS class */
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
	  ".slice/cri-containerd-" ID ".scope",
	  ID, "containerd", UID },
	{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
	  ".slice/cri-containerd-" ID ".scope",
	  ID, "containerd", UID },
	{ "/kubepods.slice/kubepods-pod" UID_ ".slice/cri-containerd-" ID ".scope", ID,
	  "containerd", UID },
	/* Kubernetes + CRI-O, systemd driver; its conmon is not in the container */
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
	  ".slice/crio-" ID ".scope",
	  ID, "cri-o", UID },
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
	  ".slice/crio-conmon-" ID ".scope",
	  NULL, NULL, UID },
	/* Kubernetes, cgroupfs driver: containerd's bare id, CRI-O's crio-<id> */
	{ "/kubepods/burstable/pod" UID "/" ID, ID, "containerd", UID },
	{ "/kubepods/pod" UID "/" ID, ID, "containerd", UID },
	{ "/kubepods/besteffort/pod" UID "/crio-" ID, ID, "cri-o", UID },
	/* a static pod: kubelet's uid is the 32-digit hash of the manifest */
	{ "/kubepods.slice/kubepods-burstable.slice/"
	  "kubepods-burstable-pod6e3c5b1a2f4d4e8b9c0d1e2f3a4b5c6d.slice/cri-containerd-" ID
	  ".scope",
	  ID, "containerd", "6e3c5b1a2f4d4e8b9c0d1e2f3a4b5c6d" },
	/* kubelet itself and the QoS slices are in no pod */
	{ "/kubepods.slice/kubepods-burstable.slice", NULL, NULL, NULL },
	/* Podman: rootful (machine.slice), rootless, in a pod, cgroupfs; not its conmon */
	{ "/machine.slice/libpod-" ID ".scope", ID, "podman", NULL },
	{ "/machine.slice/libpod-" ID ".scope/container", ID, "podman", NULL },
	{ "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID ".scope", ID,
	  "podman", NULL },
	{ "/machine.slice/machine-libpod_pod_" ID2 ".slice/libpod-" ID ".scope", ID, "podman",
	  NULL },
	{ "/libpod_parent/libpod-" ID, ID, "podman", NULL },
	{ "/machine.slice/libpod-conmon-" ID ".scope", NULL, NULL, NULL },
	/* systemd-nspawn: machined's scope (unit-escaped name), machinectl's service */
	{ "/machine.slice/machine-web.scope", "web", "systemd-nspawn", NULL },
	{ "/machine.slice/machine-debian\\x2dbuild.scope/payload/system.slice/ssh.service",
	  "debian-build", "systemd-nspawn", NULL },
	{ "/machine.slice/systemd-nspawn@web.service/payload", "web", "systemd-nspawn", NULL },
	/* libvirt's QEMU guests register with machined too: VMs, not containers */
	{ "/machine.slice/machine-qemu\\x2d1\\x2dvm1.scope/libvirt/emulator", NULL, NULL, NULL },
	/* LXC 4+ (and LXD/Incus), LXC 3.x, older default pattern; not the monitor */
	{ "/lxc.payload.c1/system.slice/nginx.service", "c1", "lxc", NULL },
	{ "/lxc.payload/c1", "c1", "lxc", NULL },
	{ "/lxc/c1/init.scope", "c1", "lxc", NULL },
	{ "/lxc.monitor.c1", NULL, NULL, NULL },
	/* nested: Docker in an LXC container, the innermost wins */
	{ "/lxc.payload.c1/system.slice/docker-" ID ".scope", ID, "docker", NULL },
	/* plain hosts */
	{ "/", NULL, NULL, NULL },
	{ "/system.slice/nginx.service", NULL, NULL, NULL },
	{ "/system.slice/docker.service", NULL, NULL, NULL },
	{ "/user.slice/user-0.slice/session-3.scope", NULL, NULL, NULL },
	/* near misses: a short id, a bare id outside /docker and pods, a bad pod uid */
	{ "/system.slice/docker-3f0c1a9e5b7d.scope", NULL, NULL, NULL },
	{ "/system.slice/" ID, NULL, NULL, NULL },
	{ "/docker/" ID "0", NULL, NULL, NULL },
	{ "/kubepods.slice/kubepods-podnot_a_uid.slice", NULL, NULL, NULL },
};

static void test_paths(void **state)
{
	struct pw_container c;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int err = container_from_cgroup(cases[i].path, &c);
		const char *rt = container_runtime_name(c.runtime);

		if ((cases[i].id ? strcmp(c.id, cases[i].id) : !!c.id[0]) ||
		    (cases[i].runtime ? !rt || strcmp(rt, cases[i].runtime) : rt != NULL) ||
		    (cases[i].pod ? strcmp(c.pod_uid, cases[i].pod) : !!c.pod_uid[0]) ||
		    err != (cases[i].id || cases[i].pod ? 0 : -ENOENT))
			fail_msg("%s: got id \"%s\" runtime %s pod \"%s\" (%d)", cases[i].path, c.id,
				 rt ? rt : "-", c.pod_uid, err);
	}
}

static void test_lxc_root_only(void **state)
{
	struct pw_container c;

	(void)state;
	assert_int_equal(container_from_cgroup("/lxc/c1", &c), 0);
	assert_string_equal(c.id, "c1");
	/* "lxc" deeper down is some service's own cgroup, not LXC's */
	assert_int_equal(container_from_cgroup("/system.slice/foo.service/lxc/c1", &c), -ENOENT);
}

static void test_names_too_long(void **state)
{
	char path[256];
	struct pw_container c;

	(void)state;
	/* 65-byte names do not fit the id: no container rather than a cut one */
	snprintf(path, sizeof(path), "/lxc.payload.%065d", 0);
	assert_int_equal(container_from_cgroup(path, &c), -ENOENT);
	snprintf(path, sizeof(path), "/lxc.payload.%064d", 0);
	assert_int_equal(container_from_cgroup(path, &c), 0);
	assert_int_equal(strlen(c.id), 64);
	/* a truncated or bad escape is not a name */
	assert_int_equal(container_from_cgroup("/machine.slice/machine-a\\x2.scope", &c), -ENOENT);
	assert_int_equal(container_from_cgroup("/machine.slice/machine-a\\x00b.scope", &c),
			 -ENOENT);
}

static void test_proc_text(void **state)
{
	struct pw_container c;

	(void)state;
	/* hybrid host: v1 lines first, the v2 line decides */
	assert_int_equal(container_from_proc_cgroup("12:memory:/docker/" ID "\n"
						    "1:name=systemd:/docker/" ID "\n"
						    "0::/system.slice/docker-" ID2 ".scope\n",
						    &c),
			 0);
	assert_string_equal(c.id, ID2);
	assert_int_equal(container_from_proc_cgroup("0::/system.slice/docker-" ID ".scope", &c), 0);
	assert_string_equal(c.id, ID);
	/* v1 only: nothing */
	assert_int_equal(container_from_proc_cgroup("4:pids:/docker/" ID "\n", &c), -ENOENT);
	assert_int_equal(container_from_proc_cgroup("", &c), -ENOENT);
}

static void mk(struct pw_container *c, const char *id, uint8_t rt, const char *pod)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->id, sizeof(c->id), "%s", id);
	snprintf(c->pod_uid, sizeof(c->pod_uid), "%s", pod);
	c->runtime = rt;
}

static void test_pool(void **state)
{
	struct pw_container a, b, none;
	uint32_t ha, hb;

	(void)state;
	container_pool_free();
	mk(&a, ID, CONTAINER_CONTAINERD, UID);
	mk(&b, ID2, CONTAINER_DOCKER, "");
	mk(&none, "", CONTAINER_NONE, "");
	assert_int_equal(container_intern(&none), 0);
	assert_null(container_get(0));
	ha = container_intern(&a);
	hb = container_intern(&b);
	assert_int_not_equal(ha, 0);
	assert_int_not_equal(ha, hb);
	assert_int_equal(container_intern(&a), ha); /* stored once */
	assert_int_equal(container_count(), 2);
	assert_string_equal(container_get(ha)->id, ID);
	assert_string_equal(container_get(ha)->pod_uid, UID);
	assert_string_equal(container_get(hb)->id, ID2);
	/* held, a's record outlives any number of unheld ones */
	container_ref(ha);
	for (int i = 0; i < CONTAINER_KEEP + 10; i++) {
		struct pw_container t;
		char id[16];

		snprintf(id, sizeof(id), "m%d", i);
		mk(&t, id, CONTAINER_NSPAWN, "");
		assert_int_not_equal(container_intern(&t), 0);
	}
	assert_non_null(container_get(ha));
	/* b was never held: freed once CONTAINER_KEEP others queued after it */
	assert_null(container_get(hb));
	/* the freed slot is reused, and the old handle still resolves to nothing */
	hb = container_intern(&b);
	assert_non_null(container_get(hb));
	/* a dropped: kept for CONTAINER_KEEP more, then freed */
	container_unref(ha);
	assert_non_null(container_get(ha));
	for (int i = 0; i < CONTAINER_KEEP; i++) {
		struct pw_container t;
		char id[16];

		snprintf(id, sizeof(id), "n%d", i);
		mk(&t, id, CONTAINER_LXC, "");
		container_intern(&t);
	}
	assert_null(container_get(ha));
	container_unref(ha); /* stale: ignored */
	container_ref(ha);
	assert_true(container_count() <= CONTAINER_KEEP + 1);
	container_pool_free();
	assert_int_equal(container_count(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),	       cmocka_unit_test(test_lxc_root_only),
		cmocka_unit_test(test_names_too_long), cmocka_unit_test(test_proc_text),
		cmocka_unit_test(test_pool),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
