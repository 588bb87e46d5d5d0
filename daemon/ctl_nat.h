/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ctl_nat.h - the nftables diversions (nat.h) in the answers of
 * `diversions`, `stats`, `owners` and `why` (docs/protocol.md). Reads
 * what nat.c and the table hold; serialisation only. Objects returned
 * are owned by the caller.
 */
#ifndef PORTWATCH_CTL_NAT_H
#define PORTWATCH_CTL_NAT_H

#include <stddef.h>

#include <json-c/json.h>

#include "ctl_req.h"
#include "nat.h"

/*
 * Append to the array v the diversions of nftables rules: those in force
 * ("state": "active") and the cleared history ("state": "cleared"), newest
 * cleared first.
 */
void ctl_nat_diversions(const struct nat *n, json_object *v);

/* The "nat" member of `stats`. */
json_object *ctl_nat_stats(const struct nat *n);

/*
 * The diversions in force whose listener passes the filter f, as a
 * compact array for `owners` ("diverted").
 */
json_object *ctl_nat_owners(const struct nat *n, const struct ctl_filter *f);

/*
 * For `why` of port f->port: the diversions in force of listeners on it
 * that pass f, and the tproxy rules of namespace netns that hand the
 * port to a transparent socket of the table (t). Returns the "diverted"
 * array; a sentence per item goes to text (NUL-terminated, "" none).
 */
json_object *ctl_nat_why(const struct nat *n, const struct pw_table *t,
			 const struct ctl_filter *f, uint32_t netns, char *text, size_t len);

#endif /* PORTWATCH_CTL_NAT_H */
