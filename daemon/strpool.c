// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* strpool.c - interned strings with generation handles; see strpool.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "handlepool.h"
#include "strpool.h"

/* 4M strings; the rest of a handle is the generation */
#define IDX_BITS 22

/* FNV-1a, 32 bits. */
static uint32_t str_hash(const void *key)
{
	uint32_t h = 2166136261u;

	for (const char *s = key; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

/* A record's payload is its string: a char *, owned. */
static int str_equal(const void *payload, const void *key)
{
	return !strcmp(*(char *const *)payload, key);
}

static int str_init(void *payload, const void *key)
{
	char *copy = strdup(key);

	if (!copy)
		return -ENOMEM;
	*(char **)payload = copy;
	return 0;
}

static void str_release(void *payload)
{
	free(*(char **)payload);
}

static const struct handlepool_ops str_ops = {
	.hash = str_hash,
	.equal = str_equal,
	.init = str_init,
	.release = str_release,
};

static struct handlepool_kept kept[STRPOOL_KEEP];
static struct handlepool pool = HANDLEPOOL_INIT(&str_ops, sizeof(char *), IDX_BITS, kept);

uint32_t strpool_intern(const char *s)
{
	if (!s || !s[0])
		return 0;
	return handlepool_intern(&pool, s);
}

const char *strpool_get(uint32_t h)
{
	char **s = handlepool_get(&pool, h);

	return s ? *s : "";
}

void strpool_ref(uint32_t h)
{
	handlepool_ref(&pool, h);
}

void strpool_unref(uint32_t h)
{
	handlepool_unref(&pool, h);
}

size_t strpool_count(void)
{
	return handlepool_count(&pool);
}

void strpool_free(void)
{
	handlepool_free(&pool);
}
