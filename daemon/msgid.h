/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * msgid.h - the journald MESSAGE_ID of each alert kind/reason
 * (sd-id128(3), generated once with `systemd-id128 new`). Stable forever:
 * admins filter on them (`journalctl MESSAGE_ID=...`) and
 * systemd/portwatch.catalog explains each under its id. A new reason gets
 * a new id here and a section in the catalog; an id is never reused or
 * changed. Each reason belongs to one kind (rules.h), so one id names the
 * pair; journal.c's table ties them to enum rules_alert_reason and
 * tests/unit/test_journal.c and tests/e2e/test_journal.py check the
 * table and the catalog against this file.
 */
#ifndef PORTWATCH_MSGID_H
#define PORTWATCH_MSGID_H

/* hijack_attempt */
#define PW_MSGID_SHADOW_WILDCARD     "e0c04731a9d74f9c99635e6592ec1cbc"
#define PW_MSGID_REUSEPORT_JOIN      "4928d41801394012aeb44cf96c290585"
#define PW_MSGID_UDP_SHARE           "24920c159aed4f45b9593f77467017ec"
#define PW_MSGID_TAKEOVER            "e3977c719d734f79a4b09f1680ac3907"
#define PW_MSGID_BLOCKED             "e141d92c6d2e4bc099cd4d85f7a4d668"
#define PW_MSGID_REUSEPORT_STEER     "ed695f8e76f24e938049759b9832f2b0"
#define PW_MSGID_PROTECTED_PORT      "beb4a2b554774a80a78f0bb8714a6ec8"
#define PW_MSGID_SQUATTED            "e20d720bbcc840dcb28ad101da65becb"
/* reuse_collision */
#define PW_MSGID_SHARED_BIND         "97a9e2d7792f41e8846fded29caf8585"
/* resource */
#define PW_MSGID_EPHEMERAL_EXHAUSTED "3298e636cf794dbfadaa93e63c00120d"
/* diversion */
#define PW_MSGID_NAT_REDIRECT        "1b011f95626e426ea6f2a395648b869c"
#define PW_MSGID_SK_LOOKUP           "65a5bb757516466eb082b60943983915"
/* exposure */
#define PW_MSGID_PORT_SHADOW         "fbd07673eb82482ca4319b2a878a1d95"
#define PW_MSGID_FREEBIND            "32f312f3462d455895e1eb0d7b6e9a6d"
#define PW_MSGID_PACKET_SNIFFER      "14869f7be3b04bac8bb4755dd72267c6"

#endif /* PORTWATCH_MSGID_H */
