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
 * Bind bucket records (monitor_ports.c). sk joined its TCP port by bind()
 * (listen 0) or listen() (listen 1); others: the table holds other
 * sockets on that port. A held socket left (monitor_tb_left(), e->sk as
 * the table had it) or a connected/listening one went away and may leave
 * TIME_WAIT entries or children behind (monitor_tb_keep_alive()).
 */
void monitor_tb_join(struct pw_monitor *m, const struct pw_sock *sk, int others, int listen,
		     uint64_t now);
void monitor_tb_left(struct pw_monitor *m, const struct pw_entry *e, uint64_t now);
void monitor_tb_keep_alive(struct pw_monitor *m, const struct pw_sock *sk, uint64_t now);

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
