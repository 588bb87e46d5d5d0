// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* expected.c - the expected owner of each listening port; see expected.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "expected.h"
#include "strpool.h"

#define HEADER "portwatch-expected-owners 1\n"

int expected_init(struct expected_owners *x)
{
	x->slots = calloc(EXPECTED_SLOTS, sizeof(*x->slots));
	x->dirty = 0;
	return x->slots ? 0 : -ENOMEM;
}

void expected_free(struct expected_owners *x)
{
	for (size_t i = 0; x->slots && i < EXPECTED_SLOTS; i++)
		strpool_unref(x->slots[i].exe);
	free(x->slots);
	x->slots = NULL;
}

static size_t slot_of(uint32_t netns, uint8_t protocol, uint16_t port)
{
	uint64_t h = ((uint64_t)netns * 0x9e3779b97f4a7c15ULL) ^
		     (((uint64_t)protocol << 16 | port) * 0xff51afd7ed558ccdULL);

	return (h >> 22) % EXPECTED_SLOTS;
}

const char *expected_exe(const struct expected_owner *r)
{
	return strpool_get(r->exe);
}

/* Point the record's path at exe (a handle), moving the reference. */
static void set_exe(struct expected_owner *s, uint32_t exe)
{
	if (s->exe == exe)
		return;
	strpool_ref(exe);
	strpool_unref(s->exe);
	s->exe = exe;
}

/*
 * Put r (its exe: a handle r holds no reference to) in its slot unless the
 * slot holds a record that went away later.
 */
static void put(struct expected_owners *x, const struct expected_owner *r)
{
	struct expected_owner *s = &x->slots[slot_of(r->netns, r->protocol, r->port)];
	int same = s->netns == r->netns && s->protocol == r->protocol && s->port == r->port;
	uint32_t exe = s->exe;

	if (s->gone_ns && !same && s->gone_ns > r->gone_ns)
		return;
	*s = *r;
	s->exe = exe;
	set_exe(s, r->exe);
	x->dirty = 1;
}

void expected_note(struct expected_owners *x, const struct pw_entry *e, uint64_t now)
{
	/* 48 bytes with the path as a handle: building and copying it is cheap */
	struct expected_owner r = {
		.gone_ns = now ? now : 1,
		.exe_ino = e->owner.exe_ino,
		.exe_dev = e->owner.exe_dev,
		.netns = e->sk.netns,
		.uid = e->owner.uid,
		.port = e->sk.lport,
		.protocol = e->sk.protocol,
		.exe = e->owner.exe,
	};

	if (!x->slots || !e->owner.pid || !e->sk.lport)
		return;
	memcpy(r.comm, e->owner.comm, sizeof(r.comm));
	r.comm[sizeof(r.comm) - 1] = '\0';
	put(x, &r);
}

const struct expected_owner *expected_get(const struct expected_owners *x, uint32_t netns,
					  uint8_t protocol, uint16_t port)
{
	const struct expected_owner *s;

	if (!x || !x->slots)
		return NULL;
	s = &x->slots[slot_of(netns, protocol, port)];
	return s->gone_ns && s->netns == netns && s->protocol == protocol && s->port == port ? s :
															     NULL;
}

int expected_is_owner(const struct expected_owner *r, const struct pw_owner *o)
{
	if (!o->pid || r->uid != o->uid)
		return 0;
	if (r->exe_ino && o->exe_ino)
		return r->exe_ino == o->exe_ino && r->exe_dev == o->exe_dev;
	return r->exe && !strcmp(expected_exe(r), pw_owner_exe(o));
}

/* s escaped into buf (room for 3 bytes per byte of s, plus NUL); "-" when empty. */
static void escape(const char *s, char *buf)
{
	static const char hex[] = "0123456789ABCDEF";

	if (!*s) {
		strcpy(buf, "-");
		return;
	}
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c > ' ' && c <= '~' && c != '%') {
			*buf++ = (char)c;
		} else {
			*buf++ = '%';
			*buf++ = hex[c >> 4];
			*buf++ = hex[c & 15];
		}
	}
	*buf = '\0';
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 :
	       c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The field at *p (up to a blank) unescaped into out[len]: 0 or -EINVAL. */
static int unescape(const char **p, char *out, size_t len)
{
	const char *s = *p;
	size_t n = 0;

	while (*s == ' ')
		s++;
	if (!*s || *s == '\n')
		return -EINVAL;
	if (s[0] == '-' && (s[1] == ' ' || s[1] == '\n' || !s[1])) {
		out[0] = '\0';
		*p = s + 1;
		return 0;
	}
	for (; *s && *s != ' ' && *s != '\n'; s++) {
		int c = (unsigned char)*s;

		if (c == '%') {
			int hi = hexval(s[1]), lo = hi < 0 ? -1 : hexval(s[2]);

			if (lo < 0)
				return -EINVAL;
			c = hi << 4 | lo;
			s += 2;
		}
		if (!c || n + 1 >= len)
			return -EINVAL;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	*p = s;
	return 0;
}

void expected_format(const struct expected_owner *r, char *buf, size_t len)
{
	char comm[3 * PW_COMM_LEN + 1], exe[3 * PW_EXE_LEN + 1];

	escape(r->comm, comm);
	escape(expected_exe(r), exe);
	snprintf(buf, len, "%u %u %u %u %u %" PRIu64 " %" PRIu64 " %s %s\n", r->netns,
		 r->protocol, r->port, r->uid, r->exe_dev, r->exe_ino, (uint64_t)(r->gone_ns / 1000000000ULL),
		 comm, exe);
}

int expected_parse(const char *line, struct expected_owner *r)
{
	unsigned int netns, proto, port, uid, dev;
	uint64_t ino, gone;
	int used = 0;
	char path[PW_EXE_LEN];
	const char *p;

	memset(r, 0, sizeof(*r));
	if (sscanf(line, "%u %u %u %u %u %" SCNu64 " %" SCNu64 "%n", &netns, &proto, &port, &uid,
		   &dev, &ino, &gone, &used) != 7 || !used)
		return -EINVAL;
	if ((proto != 6 && proto != 17) || !port || port > 65535 || !gone ||
	    gone > UINT64_MAX / 1000000000ULL)
		return -EINVAL;
	p = line + used;
	if (*p != ' ' || unescape(&p, r->comm, sizeof(r->comm)) || *p != ' ' ||
	    unescape(&p, path, sizeof(path)))
		return -EINVAL;
	while (*p == ' ')
		p++;
	if (*p && *p != '\n')
		return -EINVAL;
	r->netns = netns;
	r->protocol = (uint8_t)proto;
	r->port = (uint16_t)port;
	r->uid = uid;
	r->exe_dev = dev;
	r->exe_ino = ino;
	r->gone_ns = gone * 1000000000ULL;
	r->exe = strpool_intern(path);
	return 0;
}

int expected_load(struct expected_owners *x, const char *dir)
{
	char path[4200], line[EXPECTED_LINE_MAX + 2];
	struct expected_owner r;
	int skipped = 0;
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, EXPECTED_FILE);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!fgets(line, sizeof(line), f) || strcmp(line, HEADER)) {
		fclose(f);
		return -EINVAL; /* not ours, or another version: left alone, rewritten at save */
	}
	while (n < EXPECTED_SLOTS && fgets(line, sizeof(line), f)) {
		n++;
		if (!strchr(line, '\n')) { /* longer than any line we write: skip its rest */
			int c;

			while ((c = fgetc(f)) != EOF && c != '\n')
				;
			skipped++;
			continue;
		}
		if (expected_parse(line, &r)) {
			skipped++;
			continue;
		}
		put(x, &r);
	}
	fclose(f);
	x->dirty = 0;
	return skipped;
}

int expected_save(struct expected_owners *x, const char *dir)
{
	char path[4200], tmp[4210], line[EXPECTED_LINE_MAX + 2];
	int fd, err = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s", dir);
	for (char *p = path + 1;; p++) { /* mkdir -p */
		char c = *p;

		if (c && c != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) && errno != EEXIST)
			return -errno;
		*p = c;
		if (!c)
			break;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, EXPECTED_FILE);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		err = -errno;
		close(fd);
		goto unlink_tmp;
	}
	fputs(HEADER, f);
	for (size_t i = 0; i < EXPECTED_SLOTS; i++) {
		if (!x->slots[i].gone_ns)
			continue;
		expected_format(&x->slots[i], line, sizeof(line));
		fputs(line, f);
	}
	if (fflush(f) || fsync(fd))
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	if (err)
		goto unlink_tmp;
	if (rename(tmp, path)) {
		err = -errno;
		goto unlink_tmp;
	}
	x->dirty = 0;
	return 0;
unlink_tmp:
	unlink(tmp);
	return err;
}
