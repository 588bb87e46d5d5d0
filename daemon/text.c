// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* text.c - escaping of names portwatchd does not control; see text.h. */
#include <stdio.h>
#include <string.h>

#include "text.h"

size_t text_utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned int cp;

	if (!n)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0; /* a continuation byte, 0xc0/0xc1 (overlong) or 0xf5+ */
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/*
 * The \xNN rule of text.h: control bytes, invalid UTF-8 and the ASCII
 * bytes of `also` become \xNN; valid UTF-8 is copied.
 */
static char *escape(char *dst, size_t len, const char *src, const char *also)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t n = strlen(src), o = 0;

	if (!len)
		return dst;
	for (size_t i = 0; i < n;) {
		size_t l = text_utf8_len(s + i, n - i);
		int esc = !l || (l == 1 && (s[i] < 0x20 || s[i] == 0x7f || strchr(also, s[i])));

		if (esc) {
			if (o + 4 >= len)
				break;
			snprintf(dst + o, 5, "\\x%02x", s[i]);
			o += 4;
			i++;
		} else {
			if (o + l >= len)
				break;
			memcpy(dst + o, s + i, l);
			o += l;
			i += l;
		}
	}
	dst[o] = '\0';
	return dst;
}

char *text_kv_escape(char *dst, size_t len, const char *src)
{
	return escape(dst, len, src, " \"=\\");
}

char *text_journal_escape(char *dst, size_t len, const char *src)
{
	return escape(dst, len, src, "\\");
}

char *text_utf8_clean(char *dst, size_t len, const char *src)
{
	static const char fffd[] = "\xef\xbf\xbd";
	const unsigned char *s = (const unsigned char *)src;
	size_t n = strlen(src), o = 0;

	if (!len)
		return dst;
	for (size_t i = 0; i < n;) {
		size_t l = text_utf8_len(s + i, n - i);
		const void *from = l ? (const void *)(s + i) : fffd;
		size_t w = l ? l : 3;

		if (o + w >= len)
			break;
		memcpy(dst + o, from, w);
		o += w;
		i += l ? l : 1;
	}
	dst[o] = '\0';
	return dst;
}
