// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* hold.c - ports kept for their departed owner (takeover protection); see hold.h. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hold.h"
#include "pwname.h"

int hold_init(struct pw_holds *t)
{
	t->n = 0;
	t->slot = calloc(HOLD_SLOTS, sizeof(*t->slot));
	return t->slot ? 0 : -ENOMEM;
}

void hold_free(struct pw_holds *t)
{
	free(t->slot);
	t->slot = NULL;
	t->n = 0;
}

static size_t home(uint32_t netns, uint8_t protocol, uint16_t port)
{
	uint64_t h = ((uint64_t)netns << 24 | (uint64_t)protocol << 16 | port) *
		     0x9e3779b97f4a7c15ULL;

	return (size_t)(h >> 40) % HOLD_SLOTS;
}

static int is(const struct pw_hold *h, uint32_t netns, uint8_t protocol, uint16_t port)
{
	return h->protocol == protocol && h->port == port && h->netns == netns;
}

struct pw_hold *hold_find(const struct pw_holds *t, uint32_t netns, uint8_t protocol,
			  uint16_t port)
{
	if (!t || !t->n)
		return NULL;
	for (size_t i = home(netns, protocol, port);; i = (i + 1) % HOLD_SLOTS) {
		struct pw_hold *h = &t->slot[i];

		if (!h->protocol)
			return NULL;
		if (is(h, netns, protocol, port))
			return h;
	}
}

struct pw_hold *hold_get(struct pw_holds *t, uint32_t netns, uint8_t protocol, uint16_t port)
{
	size_t i = home(netns, protocol, port);

	for (;; i = (i + 1) % HOLD_SLOTS) {
		struct pw_hold *h = &t->slot[i];

		if (!h->protocol)
			break;
		if (is(h, netns, protocol, port))
			return h;
	}
	if (t->n >= PW_PROTECT_MAX_HOLDS)
		return NULL;
	/* at most half the slots are used: the probe above always ends */
	memset(&t->slot[i], 0, sizeof(t->slot[i]));
	t->slot[i].netns = netns;
	t->slot[i].protocol = protocol;
	t->slot[i].port = port;
	t->n++;
	return &t->slot[i];
}

struct pw_hold *hold_soonest(const struct pw_holds *t)
{
	struct pw_hold *best = NULL;

	for (size_t i = 0; t->n && i < HOLD_SLOTS; i++)
		if (t->slot[i].protocol && (!best || t->slot[i].until_ns < best->until_ns))
			best = &t->slot[i];
	return best;
}

struct pw_hold *hold_victim(const struct pw_holds *t, unsigned int line)
{
	struct pw_hold *best = NULL;

	for (size_t i = 0; t->n && i < HOLD_SLOTS; i++)
		if (t->slot[i].protocol && !t->slot[i].line &&
		    (!best || t->slot[i].until_ns < best->until_ns))
			best = &t->slot[i];
	return best || !line ? best : hold_soonest(t);
}

void hold_remove(struct pw_holds *t, struct pw_hold *h)
{
	size_t i = (size_t)(h - t->slot), j = i;

	/* backward-shift deletion: no tombstones, lookups stay short */
	for (;;) {
		size_t k;

		j = (j + 1) % HOLD_SLOTS;
		if (!t->slot[j].protocol)
			break;
		k = home(t->slot[j].netns, t->slot[j].protocol, t->slot[j].port);
		/* slot j may move to i when its home is not in (i, j] (cyclically) */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		t->slot[i] = t->slot[j];
		i = j;
	}
	memset(&t->slot[i], 0, sizeof(t->slot[i]));
	t->n--;
}

int hold_is_owner(const struct pw_hold *h, const struct pw_owner *o)
{
	return o->uid == h->gone.owner.uid && o->exe_ino && o->exe_ino == h->gone.owner.exe_ino &&
	       o->exe_dev == h->gone.owner.exe_dev;
}

void hold_explain(char *buf, size_t len, const struct pw_hold *h)
{
	const struct pw_owner *o = &h->gone.owner;
	char t1[40], t2[40];

	snprintf(buf, len,
		 "takeover protection keeps port %u/%s until %s for uid %u (%s), whose %s "
		 "(pid %u, %s) went away at %s; anybody else is refused (EPERM) until then",
		 h->port, pw_proto_name(h->protocol), pw_time_rfc3339(h->until_ns, t1), o->uid,
		 *pw_owner_exe(o) ? pw_owner_exe(o) : "executable unknown",
		 h->protocol == IPPROTO_TCP ? "listener" : "socket", o->pid,
		 o->comm[0] ? o->comm : "?", pw_time_rfc3339(h->since_ns, t2));
}
