/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * sniffmon.h - the packet sniffers of every namespace (sniff.h), kept
 * from setsockopt events and a start-up scan, and their alerts: a sniffer
 * not seen before raises diversion/packet_sniffer once (through
 * monitor_raise(), so `allow = sniffer SELECTOR...` rules silence it).
 * portwatchd.c drives it; `owners --sniffers` reads the set.
 */
#ifndef PORTWATCH_SNIFFMON_H
#define PORTWATCH_SNIFFMON_H

#include "monitor.h"
#include "portwatch/event.h"
#include "sniff.h"

struct snap;

struct sniffmon {
	struct sniff_set set;      /* the sniffers in force */
	struct pw_monitor *mon;    /* borrowed: alerts, device names */
	struct snap *snap;         /* borrowed, may be NULL: namespaces of the start-up scan */
	struct sock_filter *prog;  /* owned: SNIFF_PROG_MAX instructions, for SO_GET_FILTER */
	int scan_err;              /* -errno of the last start-up scan; 0 it read everything */
};

/* Set up; 0 or -ENOMEM. mon must outlive s; snap may be NULL. */
int sniffmon_init(struct sniffmon *s, struct pw_monitor *mon, struct snap *snap);

/*
 * A PW_EV_SOCKOPT event of sockopt PW_SOCKOPT_FILTER_CBPF/_EBPF (event.h):
 * read the filter from the caller's fd, add the sniffer, raise its alert
 * when it is new. A filter attached again to a known sniffer only updates
 * its filter and ports.
 */
void sniffmon_event(struct sniffmon *s, const struct pw_event *e);

/*
 * Find the sniffers that exist already: the packet and raw sockets of
 * every namespace the last snapshot walked (sniffdiag.h), with a filter
 * read from their owner's fd; each new one is alerted as by an event.
 * Returns 0, or the -errno of the first namespace that could not be read
 * (the others are still read; also kept in scan_err).
 */
int sniffmon_scan(struct sniffmon *s);

/* Drop the sniffers that are gone (sniff_prune()); returns how many. */
size_t sniffmon_prune(struct sniffmon *s);

/* Free; accepts a zeroed struct. */
void sniffmon_free(struct sniffmon *s);

#endif /* PORTWATCH_SNIFFMON_H */
