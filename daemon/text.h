/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * text.h - what portwatchd writes about names it does not control
 * (process names, executable paths, unit names: any local user chooses
 * them) leaves it clean, by one rule per output:
 *
 *   syslog key=value values (text_kv_escape()): bytes 0x00-0x1f and 0x7f,
 *   invalid UTF-8, and the bytes that would end or split a field - space,
 *   '"', '=', '\' - become \xNN (two lowercase hex digits). Valid UTF-8
 *   beyond ASCII is kept. So a value never contains a raw control byte, a
 *   quote or an '=', and \xNN can be undone byte for byte.
 *
 *   journald field values (text_journal_escape()): the same \xNN rule
 *   for bytes 0x00-0x1f and 0x7f, invalid UTF-8 and '\'; space, quotes
 *   and '=' are kept, since a field's value is everything after its name's
 *   '=' (sd_journal_sendv(3)). So a value is valid UTF-8 without a newline
 *   or another control byte: one line in `journalctl -o export`'s text
 *   form, never "[blob data]" in journalctl's output, and \xNN can be
 *   undone byte for byte.
 *
 *   JSON strings (text_utf8_clean()): every invalid UTF-8 sequence becomes
 *   U+FFFD, so that the output is valid UTF-8 (RFC 8259 section 8.1);
 *   json-c escapes control characters and quotes itself.
 *
 * A sequence is valid UTF-8 as RFC 3629 defines it: no overlong forms, no
 * surrogates (U+D800-DFFF), nothing above U+10FFFF.
 */
#ifndef PORTWATCH_TEXT_H
#define PORTWATCH_TEXT_H

#include <stddef.h>

/*
 * Length (1-4) of the valid UTF-8 sequence at s (which has n bytes), or 0
 * when the bytes there are not one.
 */
size_t text_utf8_len(const unsigned char *s, size_t n);

/*
 * Escape NUL-terminated src into dst (len bytes, NUL-terminated,
 * truncated at a whole character or escape). Returns dst.
 */
char *text_kv_escape(char *dst, size_t len, const char *src);
/* The same for a journald field value (the journald rule above). */
char *text_journal_escape(char *dst, size_t len, const char *src);

/*
 * Copy NUL-terminated src into dst (len bytes, NUL-terminated, truncated
 * at a whole character) with each invalid UTF-8 byte replaced by U+FFFD.
 * Returns dst.
 */
char *text_utf8_clean(char *dst, size_t len, const char *src);

#endif /* PORTWATCH_TEXT_H */
