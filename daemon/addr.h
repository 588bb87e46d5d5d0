/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * addr.h - socket address helpers on struct pw_sock addresses: 16 bytes,
 * network order, an IPv4 address in bytes 0..3 (event.h). Pure.
 */
#ifndef PORTWATCH_ADDR_H
#define PORTWATCH_ADDR_H

#include <stddef.h>
#include <stdint.h>

/* Enough for "ffff:ffff:...:255.255.255.255" and the NUL. */
#define PW_ADDRSTRLEN 46

/* Text of addr as inet_ntop(3) writes it for family (AF_INET/AF_INET6). Returns buf. */
const char *pw_addr_ntop(uint16_t family, const uint8_t addr[16], char buf[PW_ADDRSTRLEN]);

/*
 * Parse text as an IPv4 or IPv6 address (inet_pton(3)); IPv6 may be in
 * brackets. Sets *family and addr. Returns 0 or -EINVAL.
 */
int pw_addr_pton(const char *text, uint16_t *family, uint8_t addr[16]);

/* The family's wildcard: 0.0.0.0 or ::. */
int pw_addr_is_any(uint16_t family, const uint8_t addr[16]);

/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d, RFC 4291 2.5.5.2). */
int pw_addr_is_v4mapped(const uint8_t addr[16]);

/* Equal addresses of one family. */
int pw_addr_equal(uint16_t family, const uint8_t a[16], const uint8_t b[16]);

#endif /* PORTWATCH_ADDR_H */
