/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * container.h - which container and Kubernetes pod a process runs in,
 * from its cgroup v2 path, and a pool that keeps each container once.
 *
 * The parser (container_from_cgroup()) is pure: it reads the names the
 * runtimes give their cgroups and nothing else (no runtime API, no I/O).
 * The schemes, innermost container component winning:
 *
 *   systemd cgroup driver (a transient scope per container)
 *     docker-<id>.scope            Docker (moby), also rootless under user@UID.service
 *     cri-containerd-<id>.scope    containerd's CRI plugin (Kubernetes)
 *     crio-<id>.scope              CRI-O (not crio-conmon-<id>.scope: the monitor)
 *     libpod-<id>.scope            Podman, rootful (machine.slice) and rootless
 *                                  (user.slice/.../user@UID.service/...); not
 *                                  libpod-conmon-<id>.scope
 *     machine-<name>.scope         systemd-nspawn registered with machined (name
 *                                  unit-escaped, "\x2d" for '-'); libvirt's
 *                                  machine-qemu\x2d... (VMs) are not containers
 *     systemd-nspawn@<name>.service  nspawn started by machinectl
 *   cgroupfs driver
 *     /docker/<id>                 Docker
 *     /kubepods/.../pod<uid>/<id>  a bare id in a pod: containerd or cri-dockerd,
 *                                  reported as "containerd"
 *     .../crio-<id>                CRI-O
 *     /libpod_parent/libpod-<id>   Podman
 *   LXC (and LXD/Incus, which use it)
 *     /lxc.payload.<name>/...      LXC 4+; /lxc.payload/<name> (LXC 3.x) and
 *                                  /lxc/<name> (older default lxc.cgroup.pattern)
 *                                  at the root; not lxc.monitor.<name>
 *   Kubernetes pods (kubelet's pod cgroup, above the container's)
 *     kubepods[-QOS]-pod<uid with '_' for '-'>.slice   systemd driver
 *     kubepods/[QOS/]pod<uid>                           cgroupfs driver
 *
 * <id> is 64 hex digits. A pod uid is a UUID (36 characters) or, for
 * static pods, 32 hex digits. No scheme carries a pod's namespace or name:
 * the JSON has them null (docs/protocol.md).
 */
#ifndef PORTWATCH_CONTAINER_H
#define PORTWATCH_CONTAINER_H

#include <stddef.h>
#include <stdint.h>

/* 64 hex digits of an OCI id, or a machine/LXC name of at most 64 bytes. */
#define PW_CONTAINER_ID_LEN 65
#define PW_POD_UID_LEN 37

enum container_runtime {
	CONTAINER_NONE = 0,
	CONTAINER_DOCKER,
	CONTAINER_CONTAINERD,
	CONTAINER_CRIO,
	CONTAINER_PODMAN,
	CONTAINER_NSPAWN,
	CONTAINER_LXC,
};

/* A container and its pod; "" / CONTAINER_NONE where not known. */
struct pw_container {
	char id[PW_CONTAINER_ID_LEN];
	char pod_uid[PW_POD_UID_LEN];
	uint8_t runtime; /* enum container_runtime */
};

/* "docker", "containerd", "cri-o", "podman", "systemd-nspawn", "lxc"; NULL for NONE. */
const char *container_runtime_name(uint8_t runtime);

/*
 * Parse a cgroup v2 path ("/system.slice/docker-<id>.scope") into *out,
 * which is cleared first. Returns 0 when a container or a pod was found
 * (out->runtime is CONTAINER_NONE for a process of a pod that is in none
 * of its containers), -ENOENT when neither was.
 */
int container_from_cgroup(const char *path, struct pw_container *out);

/*
 * The same from the text of /proc/PID/cgroup (cgroups(7)): the path of its
 * "0::" line. -ENOENT when there is no such line (cgroup v1 only).
 */
int container_from_proc_cgroup(const char *text, struct pw_container *out);

/*
 * The pool: each distinct container (id, runtime, pod) is stored once and
 * named by a handle, what struct pw_owner keeps (4 bytes instead of ~100
 * per socket). Handle 0 is "none". A handle carries a generation: once
 * its record is freed, the handle resolves to NULL, never to a newer
 * container.
 *
 * Records are counted by the sockets of the ownership table
 * (container_ref()/container_unref(), table.c). One no socket holds any
 * more is kept until CONTAINER_KEEP later ones are in the same state, so
 * that alerts about a container that just went away (a takeover of its
 * port), the alert history and the per-pid owner cache still resolve it;
 * after that their handles resolve to NULL. Single-threaded, like the
 * daemon.
 */
#define CONTAINER_KEEP 1024

/* The handle of c (interned now if new); 0 when c names nothing or on ENOMEM. */
uint32_t container_intern(const struct pw_container *c);
/* The record of h, or NULL (0, or freed). Valid until the next container_intern(). */
const struct pw_container *container_get(uint32_t h);
/* A socket of the table took / dropped h. A stale or 0 handle is ignored. */
void container_ref(uint32_t h);
void container_unref(uint32_t h);
/* Records stored (held or kept). */
size_t container_count(void);
/* Free everything (at exit, and between unit tests); handles given out before must not be used. */
void container_pool_free(void);

#endif /* PORTWATCH_CONTAINER_H */
