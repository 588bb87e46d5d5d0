/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * monitor_int.h - what monitor.c and monitor_ports.c share and nothing
 * else may use. Times are CLOCK_REALTIME ns.
 */
#ifndef PORTWATCH_MONITOR_INT_H
#define PORTWATCH_MONITOR_INT_H

#include "monitor.h"

/* How long a conflict reuses the last walk: a flood of failing binds walks once a second. */
#define KCACHE_NS 1000000000ULL

/*
 * A new alert in the ring with the default message, neither counted nor
 * announced yet, so that the caller may complete it; then
 * monitor_alert_raise() counts it and hands it to syslog and subscribers.
 * NULL when an allow rule or an ignored port of the configuration
 * (m->cfg.policy) silences it: it is only counted (alerts_silenced), and
 * monitor_alert_raise(m, NULL) does nothing.
 */
struct pw_alert *monitor_alert_new(struct pw_monitor *m, const struct rules_alert *ra,
				   const struct pw_entry *holder, const struct pw_entry *contender,
				   int result, uint64_t now);
void monitor_alert_raise(struct pw_monitor *m, const struct pw_alert *a);

/*
 * Ephemeral-port exhaustion (monitor_ports.c): cf is a conflict whose
 * rule is ephemeral_exhausted (op connect or bind of port 0): fill its
 * details and raise the episode's alert when it starts one. A successful
 * bind of port 0 in netns ends the episode (monitor_eph_end()).
 */
void monitor_on_ephemeral(struct pw_monitor *m, struct pw_conflict *cf, enum rules_op op,
			  uint64_t now);
void monitor_eph_end(struct pw_monitor *m, uint32_t netns);

#endif /* PORTWATCH_MONITOR_INT_H */
