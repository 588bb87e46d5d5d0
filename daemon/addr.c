// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* addr.c - see addr.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"

const char *pw_addr_ntop(uint16_t family, const uint8_t addr[16], char buf[PW_ADDRSTRLEN])
{
	if (!inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, addr, buf, PW_ADDRSTRLEN))
		strcpy(buf, "?");
	return buf;
}

int pw_addr_pton(const char *text, uint16_t *family, uint8_t addr[16])
{
	char tmp[PW_ADDRSTRLEN + 2];
	size_t len = strlen(text);

	memset(addr, 0, 16);
	if (inet_pton(AF_INET, text, addr) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (len >= 2 && text[0] == '[' && text[len - 1] == ']' && len - 2 < sizeof(tmp)) {
		memcpy(tmp, text + 1, len - 2);
		tmp[len - 2] = '\0';
		text = tmp;
	}
	if (inet_pton(AF_INET6, text, addr) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

int pw_addr_is_any(uint16_t family, const uint8_t addr[16])
{
	static const uint8_t zero[16];

	return !memcmp(addr, zero, family == AF_INET6 ? 16 : 4);
}

int pw_addr_is_v4mapped(const uint8_t addr[16])
{
	static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return !memcmp(addr, prefix, sizeof(prefix));
}

int pw_addr_equal(uint16_t family, const uint8_t a[16], const uint8_t b[16])
{
	return !memcmp(a, b, family == AF_INET6 ? 16 : 4);
}
