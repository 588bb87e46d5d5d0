/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * strpool.h - interned strings: the executable paths and systemd units of
 * socket owners (struct pw_owner, table.h), each distinct string stored
 * once and named by a 4-byte handle. 74k held sockets of a few dozen
 * programs carried 384 bytes of exe[256] and unit[128] each (28 MB);
 * they now carry 8.
 *
 * Handle 0 is "" (none). A handle carries a generation: once its string
 * is freed, the handle resolves to "", never to a newer string.
 *
 * Lifetime, as for the container pool (container.h): strings are counted
 * by the sockets of the ownership table (strpool_ref()/strpool_unref(),
 * table.c), by the monitor's per-pid owner cache and by the entries of
 * the alert and conflict histories (pw_owner_pin(), table.h). One nothing
 * holds any more is kept until STRPOOL_KEEP later ones are in the same
 * state, so that the takeover memory of closed listeners and the other
 * copies of an owner that hold no reference still resolve it for a
 * while; after that those copies read "". Single-threaded, like the
 * daemon.
 */
#ifndef PORTWATCH_STRPOOL_H
#define PORTWATCH_STRPOOL_H

#include <stddef.h>
#include <stdint.h>

#define STRPOOL_KEEP 4096

/*
 * The handle of the NUL-terminated s (interned now if new, copied); 0 for
 * "" and on ENOMEM (the owner then reads as unknown, as when /proc could
 * not be read).
 */
uint32_t strpool_intern(const char *s);
/* The string of h: "" for 0 or a freed handle. Valid until h's string is freed. */
const char *strpool_get(uint32_t h);
/* A holder took / dropped h. 0 and freed handles are ignored. */
void strpool_ref(uint32_t h);
void strpool_unref(uint32_t h);
/* Strings stored (held or kept). */
size_t strpool_count(void);
/* Free everything (at exit, between unit tests); handles given out before must not be used. */
void strpool_free(void);

#endif /* PORTWATCH_STRPOOL_H */
