/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * rules.h - Linux's address-reuse rules, as pure functions over struct
 * pw_sock (event.h), and the classification of what portwatch reports.
 *
 * Kernel sources followed (net/ipv4, net/ipv6, Linux 6.x):
 *   overlap       inet_rcv_saddr_equal(), ipv6_rcv_saddr_equal(),
 *                 ipv4_rcv_saddr_equal()       (net/ipv4/inet_connection_sock.c)
 *   TCP bind      inet_csk_get_port() (fast path: inet_csk_update_fastreuse(),
 *                 sk_reuseport_match()), inet_bind_conflict() with relax =
 *                 true at bind(2) and again at listen(2) (inet_csk_listen_start())
 *                 with the socket already LISTEN; port 0: inet_csk_find_open_port()
 *   UDP bind      udp_lib_get_port(), udp_lib_lport_inuse()  (net/ipv4/udp.c)
 *   connect       __inet_hash_connect(), __inet_check_established()
 *                 (net/ipv4/inet_hashtables.c), tcp_twsk_unique() (tcp_ipv4.c)
 *   ports         ip_local_port_range, ip_local_reserved_ports
 *                 (inet_is_local_reserved_port())
 *
 * The pairwise checks take sockets of one netns, protocol and port.
 * Device binding (SO_BINDTODEVICE) counts as the kernel's checks count it
 * (rules_overlap()); VRF (l3mdev) bind buckets are not modelled (predict.c
 * says RULES_UNCERTAIN_L3MDEV where a VRF device is involved). Only the port-0 and
 * autobind predictions allocate (a port bitmap).
 *
 * Two levels. The pairwise checks (rules_overlap(), rules_blocks(),
 * rules_block_rule()) say whether one holder refuses a contender by the
 * flags both have now: they explain conflicts and list holders. The
 * prediction (rules_predict(), used by `check` and `why`) is the kernel's
 * whole decision: the bind bucket's fast path, whose state depends on the
 * order sockets joined the port (struct rules_tb), the order of the UDP
 * port chain, where the first conflicting socket decides, the port-0 and
 * autobind searches and the 4-tuple. It agrees with the kernel on every
 * call of the differential test (tests/e2e/test_differential.py); where
 * it does not model the kernel is said at rules_predict().
 */
#ifndef PORTWATCH_RULES_H
#define PORTWATCH_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "portwatch/event.h"
#include "table.h"

/* Operations whose failures are recorded as conflicts. */
enum rules_op {
	RULES_OP_BIND,
	RULES_OP_LISTEN,
	RULES_OP_CONNECT,
};

/*
 * The rules by which the kernel refuses (or admits) an address: what
 * conflicts and predictions report. Names (the DESIGN.md contract names,
 * rules_rule_name()) are spelled only where output is written.
 */
enum rules_rule {
	RULES_RULE_NONE = 0,            /* no rule: the call succeeds, or none decided yet */
	RULES_RULE_FAST_PATH,           /* "fast_path": admitted by the bind bucket's fast path */
	RULES_RULE_LISTENER,            /* "listener" */
	RULES_RULE_WILDCARD_LISTENER,   /* "wildcard_listener" */
	RULES_RULE_NO_REUSEADDR,        /* "no_reuseaddr" */
	RULES_RULE_REUSEPORT_UID,       /* "reuseport_uid" */
	RULES_RULE_TIME_WAIT,           /* "time_wait" */
	RULES_RULE_FOUR_TUPLE,          /* "four_tuple" */
	RULES_RULE_EPHEMERAL_EXHAUSTED, /* "ephemeral_exhausted" */
	RULES_RULE_NO_LOCAL_ADDRESS,    /* "no_local_address" */
	RULES_RULE_UNKNOWN_HOLDER,      /* "unknown_holder" */
	RULES_RULE_PRIVILEGED_PORT,     /* "privileged_port": EACCES */
	RULES_RULE_MULTICAST_STREAM,    /* "multicast_stream": EINVAL, TCP on IPv6 multicast */
	RULES_RULE_NEEDS_DEVICE,        /* "needs_device": EINVAL, link-local IPv6 without one */
	RULES_RULE_CGROUP_PROGRAM,      /* "cgroup_program": a cgroup/bind4|6 program may
					 * refuse it (EPERM) */
	RULES_RULE_PROTECTED,           /* "protected": a protect rule of portwatch's own
					 * (enforce mode) refuses the caller (EPERM) */
	RULES_RULE_REUSEPORT_OWN_GROUP, /* "reuseport_own_group": EADDRINUSE, the socket has
					 * a reuseport group of its own (a program attached
					 * before bind) and cannot join the port's */
	RULES_RULE_VRF_DEVICE,          /* "vrf_device": (uncertain) the socket is bound to a
					 * VRF (l3mdev) device, whose bind buckets and
					 * addresses are not modelled */
	RULES_RULE_COUNT
};

/* Alert severities (DESIGN.md contract), ordered by urgency. */
enum rules_severity {
	RULES_SEV_NONE = 0,
	RULES_SEV_NOTICE,
	RULES_SEV_WARNING,
	RULES_SEV_CRITICAL,
	RULES_SEV_COUNT
};

/*
 * Alert kinds and reasons (DESIGN.md contract; rules_alert_kind_name(),
 * rules_alert_reason_name() give the names). NONE: no alert.
 */
enum rules_alert_kind {
	RULES_KIND_NONE = 0,
	RULES_KIND_HIJACK_ATTEMPT,  /* "hijack_attempt" */
	RULES_KIND_REUSE_COLLISION, /* "reuse_collision" */
	RULES_KIND_RESOURCE,        /* "resource" */
	RULES_KIND_DIVERSION,       /* "diversion": traffic taken without a bind conflict */
	RULES_KIND_EXPOSURE,        /* "exposure": an advisory, a configuration that lets
				     * traffic be taken (nat.h) */
	RULES_KIND_COUNT
};

enum rules_alert_reason {
	RULES_REASON_NONE = 0,
	RULES_REASON_SHADOW_WILDCARD,     /* "shadow_wildcard" */
	RULES_REASON_REUSEPORT_JOIN,      /* "reuseport_join" */
	RULES_REASON_UDP_SHARE,           /* "udp_share" */
	RULES_REASON_SHARED_BIND,         /* "shared_bind" */
	RULES_REASON_TAKEOVER,            /* "takeover" */
	RULES_REASON_BLOCKED,             /* "blocked" */
	RULES_REASON_REUSEPORT_STEER,     /* "reuseport_steer" */
	RULES_REASON_EPHEMERAL_EXHAUSTED, /* "ephemeral_exhausted" */
	RULES_REASON_PROTECTED_PORT,      /* "protected_port": a bind of a protected port
					   * by someone not its owner (protect.h) */
	RULES_REASON_SK_LOOKUP,           /* "sk_lookup": diversion, a BPF sk_lookup link */
	RULES_REASON_SQUATTED,            /* "squatted": hijack_attempt, the port's expected
					   * owner was refused */
	RULES_REASON_NAT_REDIRECT,        /* "nat_redirect": diversion, an nftables dnat,
					   * redirect or tproxy rule takes a listener's
					   * traffic (nat.h) */
	RULES_REASON_PORT_SHADOW,         /* "port_shadow": exposure, forwarding with
					   * masquerade and no mitigation (CVE-2021-3773) */
	RULES_REASON_PACKET_SNIFFER,      /* "packet_sniffer": diversion, a raw or packet
					   * socket with a socket filter (sniff.h) */
	RULES_REASON_FREEBIND,            /* "freebind": diversion, an address bound with
					   * IP_FREEBIND/IP_TRANSPARENT before the namespace
					   * had it came into use (freebind.h) */
	RULES_REASON_COUNT
};

/* What a successful bind of one owner group over another's socket is. */
struct rules_alert {
	enum rules_alert_kind kind; /* RULES_KIND_NONE: nothing */
	enum rules_alert_reason reason;
	enum rules_severity severity;
};

/*
 * Do a and b meet in the kernel's bind conflict check: their local
 * addresses overlap (inet_rcv_saddr_equal() with match_wildcard = true)
 * and their devices do (inet_bind_conflict(), inet_bhash2_conflict(),
 * udp_lib_lport_inuse(): either socket bound to no device, or both to
 * the same ifindex)? An IPv4 socket counts as its v4-mapped IPv6 address;
 * a wildcard matches every address of its family, and an IPv6 wildcard
 * without IPV6_V6ONLY also every IPv4 address. Symmetric.
 */
int rules_overlap(const struct pw_sock *a, const struct pw_sock *b);

/*
 * How wide a socket's local address is: 0 a specific address, 1 one
 * family's wildcard (0.0.0.0, or [::] with IPV6_V6ONLY), 2 a dual-stack
 * [::]. A narrower socket overlapping a wider one shadows it: delivery
 * prefers the most specific match (compute_score() in net/ipv4/udp.c and
 * inet_lhash2_lookup() in net/ipv4/inet_hashtables.c).
 */
int rules_width(const struct pw_sock *s);

/*
 * Would holder h make a bind of c fail (EADDRINUSE)? c carries the
 * requested address and c's flags; c->sk_uid is c's creator uid.
 * For TCP this is inet_bind_conflict() with relax = true; for a listen()
 * of c, pass c->state = LISTEN (the kernel re-checks the bucket then).
 * For UDP, udp_lib_lport_inuse(). Overlap is checked too.
 */
int rules_blocks(const struct pw_sock *c, const struct pw_sock *h);

/*
 * The rule by which holder h refuses c, for a holder that rules_blocks():
 * RULES_RULE_LISTENER, _WILDCARD_LISTENER, _REUSEPORT_UID, _NO_REUSEADDR
 * or _TIME_WAIT.
 */
enum rules_rule rules_block_rule(const struct pw_sock *c, const struct pw_sock *h);

/*
 * rules_block_rule() of holder h for the contender q->c, with h's uid as
 * the kernel of q->reuseport_uid counts it (for UNKNOWN, as sock_i_uid():
 * a holder that refuses only on such a kernel is explained by its uid).
 */
struct rules_query;
enum rules_rule rules_block_rule_q(const struct rules_query *q, const struct pw_sock *h);

/*
 * Rank of a rule for picking the one to report: higher wins; 0 for the
 * rules that rules_block_rule() does not give.
 */
int rules_rule_rank(enum rules_rule rule);

/*
 * Classify a successful bind (or listen) of c over holder h of ANOTHER
 * owner group (callers skip same uid + same exe). uid_c/uid_h are the
 * owners' uids, which decide the severity of a hijack: critical across
 * uids, warning under one uid.
 *   - c narrower than h (rules_width) -> hijack_attempt/shadow_wildcard
 *   - both SO_REUSEPORT               -> hijack_attempt/reuseport_join
 *   - UDP, SO_REUSEADDR               -> hijack_attempt/udp_share
 *   - TCP, SO_REUSEADDR, not listening-> reuse_collision/shared_bind (warning)
 * Returns 1 and fills *out when it is an alert, 0 when the addresses do
 * not overlap.
 */
int rules_classify_bind(const struct pw_sock *c, uint32_t uid_c, const struct pw_sock *h,
			uint32_t uid_h, struct rules_alert *out);

/* The contract name of a rule: "listener", ... (NULL for NONE or out of range). */
const char *rules_rule_name(enum rules_rule rule);
/*
 * "hijack_attempt", "reuse_collision", "resource", "diversion", "exposure"
 * (NULL for NONE or out of range).
 */
const char *rules_alert_kind_name(enum rules_alert_kind kind);
/* "shadow_wildcard", "takeover", ... (NULL for NONE or out of range). */
const char *rules_alert_reason_name(enum rules_alert_reason reason);
/* "critical", "warning", "notice" (NULL for NONE). */
const char *rules_severity_name(enum rules_severity sev);
/* "bind", "listen", "connect". */
const char *rules_op_name(enum rules_op op);

/*
 * One sentence (NUL-terminated, truncated to len) naming what the rule
 * means for this holder, e.g. "pid 17 (nginx, uid 33) listens on
 * 0.0.0.0:80/tcp, and a wildcard listener holds every address of its
 * port". holder may be NULL (then the rule alone is explained).
 */
void rules_explain(char *buf, size_t len, enum rules_rule rule, const struct pw_entry *holder);

/*
 * ---- Prediction: what the kernel will answer to a bind, listen or connect.
 *
 * The fast-path fields of the kernel's bind bucket (struct
 * inet_bind_bucket, include/net/inet_hashtables.h) for one (netns, TCP
 * port). inet_csk_get_port() admits a socket through them without looking
 * at the bucket's sockets, so a prediction must know them: they depend on
 * the order in which sockets joined, not only on who is there now.
 */
enum {
	RULES_FASTREUSEPORT_ANY = 1,    /* FASTREUSEPORT_ANY */
	RULES_FASTREUSEPORT_STRICT = 2, /* FASTREUSEPORT_STRICT */
};

struct rules_tb {
	int8_t fastreuse;     /* -1: made by connect(), else 0/1 */
	int8_t fastreuseport; /* -1: made by connect(), 0, RULES_FASTREUSEPORT_* */
	uint32_t fastuid;     /* sk_uid of the socket that set fastreuseport */
	struct pw_sock fast;  /* its family, laddr and v6only (fast_rcv_saddr & co) */
};

/*
 * A socket sk joins the bucket tb through bind() or listen() (sk->state
 * LISTEN for listen): inet_csk_update_fastreuse(). first: the bucket had
 * no socket before (a new bucket).
 */
void rules_tb_join(struct rules_tb *tb, int first, const struct pw_sock *sk);

/*
 * Would inet_csk_get_port() admit c on the fast path, without a conflict
 * check: (tb->fastreuse > 0 && reuse) || sk_reuseport_match(tb, c)?
 * c->state LISTEN for a listen(). 0 when tb is NULL.
 */
int rules_tb_fast(const struct rules_tb *tb, const struct pw_sock *c);

/*
 * The ephemeral port range of one netns: net.ipv4.ip_local_port_range
 * (lo..hi inclusive, host order) and net.ipv4.ip_local_reserved_ports
 * (one bit per port), read inside that netns (ip-sysctl.rst).
 */
struct rules_ports {
	uint16_t lo, hi;
	uint8_t reserved[65536 / 8];
};

/*
 * Parse the text of ip_local_port_range ("32768\t60999") and of
 * ip_local_reserved_ports ("8080,9000-9100", may be empty or NULL).
 * Returns 0 or -EINVAL.
 */
int rules_ports_parse(struct rules_ports *p, const char *range, const char *reserved);
/* inet_is_local_reserved_port(). */
int rules_port_reserved(const struct rules_ports *p, uint16_t port);

#define RULES_MAX_BLOCKERS 16

/*
 * Why a prediction cannot be sure (rules_prediction.uncertain).
 *   ODD_RANGE  the only free port is an edge of a TCP search window with an
 *              odd number of ports, which the kernel tries or not depending
 *              on a random offset;
 *   UDP_WALK   the running kernel's UDP walk is unknown (RULES_UDP_WALK_UNKNOWN)
 *              and the two walks the kernel has had answer differently.
 */
enum rules_uncertain {
	RULES_SURE = 0,
	RULES_UNCERTAIN_ODD_RANGE,
	RULES_UNCERTAIN_UDP_WALK,
	RULES_UNCERTAIN_PRIVILEGE, /* whether the caller has CAP_NET_BIND_SERVICE is unknown */
	RULES_UNCERTAIN_ADDRESS,   /* the namespace's addresses could not be read */
	RULES_UNCERTAIN_CGROUP,    /* a cgroup/bind4|6 program runs first and decides */
	RULES_UNCERTAIN_REUSEPORT_UID, /* the running kernel's reuseport uid is unknown
					* (RULES_REUSEPORT_UID_UNKNOWN) and the two
					* answer differently */
	RULES_UNCERTAIN_BHASH2,    /* the running kernel's bhash2 view is unknown
				    * (rules_query.tcp_bhash2_unsure) and matters */
	RULES_UNCERTAIN_L3MDEV,    /* the socket, or a holder that refuses it, is bound to
				    * a VRF (l3mdev) device or one enslaved to a VRF
				    * (predict.c: the kernel's VRF bind buckets and
				    * address tables are not modelled) */
};

/*
 * What bind(2) checks before it looks for a port conflict, in
 * __inet_bind() (net/ipv4/af_inet.c: the address, then the privileged
 * port) and __inet6_bind() (net/ipv6/af_inet6.c: multicast on a stream
 * socket, the privileged port, then the address). A cgroup/bind4 or
 * bind6 program runs before both (inet_bind(), inet6_bind()) and is not
 * modelled here.
 */
struct rules_bind_env {
	int known;       /* 0: not gathered (the checks are skipped) */
	int prot_sock;   /* net.ipv4.ip_unprivileged_port_start of the netns
			  * (inet_port_requires_bind_service(): port < it needs the
			  * capability; IPv6 uses the same) */
	int cap_net_bind_service; /* the caller has CAP_NET_BIND_SERVICE in the user
				   * namespace owning the netns (ns_capable()): 1, 0,
				   * or -1 unknown */
	int addr_ok;     /* the address passes the kernel's address check without
			  * a non-local bind: 1 (local, broadcast, multicast, the
			  * wildcard), 0 (EADDRNOTAVAIL), -1 unknown,
			  * RULES_ADDR_NEEDS_DEVICE (IPv6 link-local or
			  * link-scoped multicast without a device: EINVAL) */
	int nonlocal_v4; /* net.ipv4.ip_nonlocal_bind (also for v4-mapped addresses) */
	int nonlocal_v6; /* net.ipv6.ip_nonlocal_bind */
	uint8_t freebind;    /* IP_FREEBIND / IPV6_FREEBIND on the socket */
	uint8_t transparent; /* IP_TRANSPARENT / IPV6_TRANSPARENT */
	int32_t caller_pid;  /* the process asked about, 0 none (its cgroup is then
			      * unknown: the root's programs are looked at) */
	int cgroup_progs;    /* cgroup/bind programs effective for the caller's
			      * cgroup (bpfload.h pwbpf_bind_programs()), portwatch's
			      * own protect programs left out */
	int protected;       /* portwatch's own protect program refuses this caller
			      * (mode enforce, protect_match()): EPERM, for sure */
	unsigned int protect_line; /* the line of that protect rule */
};

/*
 * How udp_lib_lport_inuse() (and udp_lib_lport_inuse2()) of the running
 * kernel treat a reuseport-compatible socket met in the port chain: an
 * overlapping socket that has SO_REUSEPORT with the new socket's creator
 * uid (not both SO_REUSEADDR). Kernels differ, so portwatchd finds out by
 * trial at start (kbehavior.h), never from the version number.
 *   FIRST_DECIDES  the walk returns at the first overlapping socket that
 *                  lacks SO_REUSEADDR on either side: a compatible one admits
 *                  the bind, whatever comes after it in the chain
 *                  (`if (!bitmap) return 0;` in the 6.1 and 6.12 sources).
 *                  The chain order then decides (rules_udp_chain_before()).
 *   ANY_REFUSES    a compatible socket is passed over and any conflicting
 *                  one refuses, in any order.
 *   UNKNOWN        the trial could not tell: both are computed, and where
 *                  they differ the prediction is RULES_UNCERTAIN_UDP_WALK.
 *                  Linux 6.18.44 is such a kernel: it refuses like
 *                  ANY_REFUSES a wildcard bind behind a compatible socket,
 *                  and admits like FIRST_DECIDES a specific-address bind
 *                  behind a compatible socket without SO_REUSEADDR (its
 *                  source was not at hand: docs/semantics.md has the trials).
 *                  Every answer it gave in the differential test was one
 *                  of the two walks'.
 */
enum rules_udp_walk {
	RULES_UDP_WALK_UNKNOWN = 0,
	RULES_UDP_WALK_FIRST_DECIDES,
	RULES_UDP_WALK_ANY_REFUSES,
};

/* "first_decides", "any_refuses", "unknown": the names `stats` shows. */
const char *rules_udp_walk_name(enum rules_udp_walk w);

/*
 * Which uid the running kernel's TCP bind check compares for SO_REUSEPORT
 * (inet_bind_conflict(), sk_reuseport_match(), inet_csk_update_fastreuse()
 * in net/ipv4/inet_connection_sock.c). Found by trial (kbehavior.h).
 *   INODE   sock_i_uid(): the uid of the socket's inode, GLOBAL_ROOT_UID (0)
 *           for a socket that has no struct socket (sk_socket NULL): a
 *           connection still in its listener's accept queue, or an orphan
 *           closed by its process and finishing (FIN_WAIT1/2, CLOSING,
 *           LAST_ACK). Linux 6.1 and 6.12.
 *   SK_UID  sk->sk_uid: the creator's uid, which such sockets keep (a child
 *           inherits its listener's; sock_graft() at accept(2) sets it to
 *           the accepting socket's inode uid). Linux 6.17 and later.
 *   UNKNOWN both are computed; where they differ the prediction is
 *           RULES_UNCERTAIN_REUSEPORT_UID.
 * While a socket has a struct socket, both are the same (sock_init_data()
 * and sockfs_setattr() keep sk_uid equal to the inode's uid, fchown(2)
 * included), so only holders without one, pw_sock.inode 0 outside
 * TIME_WAIT (which the check exempts from the uid comparison), differ. UDP
 * sockets always have one while bound: udp_lib_lport_inuse() is the same.
 */
enum rules_reuseport_uid {
	RULES_REUSEPORT_UID_UNKNOWN = 0,
	RULES_REUSEPORT_UID_INODE,
	RULES_REUSEPORT_UID_SK,
};

/*
 * What the TCP bind check of a contender on a specific IPv4 or v4-mapped
 * address meets in the port's wildcard bhash2 buckets, and whether it meets
 * TIME_WAIT entries at all: bits of rules_query.tcp_bhash2_deviate. Such a
 * contender takes the bhash2 path (inet_use_hash2_on_bind()):
 * inet_bhash2_addr_any_conflict() walks the wildcard buckets that
 * inet_bind2_bucket_match_addr_any() matches, and inet_bhash2_conflict()
 * calls inet_bind_conflict() on their sockets without comparing addresses
 * (__inet_bhash2_conflict() exempts IPV6_V6ONLY holders). Both functions
 * were fixed several times after bhash2 came in Linux 6.1, each fix
 * backported to stable kernels, so they are found by trial (kbehavior.h):
 *   TIME_WAIT entries in bhash2  "tcp: Add TIME_WAIT sockets in bhash2"
 *                                (6.2, 6.1.x): before it none is met;
 *   AF_INET contender vs [::]    "tcp: Fix bind() conflict check for
 *                                dual-stack wildcard address" (6.3, 6.1.21):
 *                                before it a family mismatch matched no
 *                                bucket;
 *   AF_INET vs ::ffff:0.0.0.0    "tcp: Fix bind() regression for v4-mapped v6
 *                                wildcard address" (ipv6_addr_v4mapped_any());
 *   [::] with IPV6_V6ONLY        "tcp: Fix bind() regression for v6-only
 *                                wildcard address" (the exemption above):
 *                                before it such a holder was met (refusing
 *                                by the flags alone);
 *   v4-mapped contender vs       inet_use_hash2_on_bind() and
 *   0.0.0.0 / ::ffff:0.0.0.0     inet_bind2_bucket_match_addr_any() for
 *                                v4-mapped addresses ("...v4-mapped v6
 *                                non-wildcard address"; Linux 6.1.192 still
 *                                passes over ::ffff:0.0.0.0 buckets an
 *                                AF_INET6 socket made, which
 *                                rules_query.tcp_mapped_any_unseen models
 *                                with the bucket's maker).
 * A bit index is contender kind * 4 + holder kind, or TW.
 */
enum rules_b2_contender { RULES_B2_C_V4 = 0, RULES_B2_C_MAPPED = 1 };
enum rules_b2_holder {
	RULES_B2_H_V4ANY = 0,     /* AF_INET 0.0.0.0 */
	RULES_B2_H_DUAL = 1,      /* AF_INET6 [::] without IPV6_V6ONLY */
	RULES_B2_H_V6ONLY = 2,    /* AF_INET6 [::] with IPV6_V6ONLY */
	RULES_B2_H_MAPPEDANY = 3, /* AF_INET6 ::ffff:0.0.0.0 */
};
#define RULES_B2_BIT(ck, hk) (1u << ((ck) * 4 + (hk)))
#define RULES_B2_TW (1u << 8)
/* The pairs a fixed kernel (6.12+) meets: every one but the v6only holder. */
#define RULES_B2_FIXED                                                                         \
	(RULES_B2_TW | RULES_B2_BIT(0, 0) | RULES_B2_BIT(0, 1) | RULES_B2_BIT(0, 3) |          \
	 RULES_B2_BIT(1, 0) | RULES_B2_BIT(1, 1) | RULES_B2_BIT(1, 3))
/* The pairs rules_query.tcp_bhash2_deviate applies to (the mapped-any pair is
 * tcp_mapped_any_unseen's). */
#define RULES_B2_MODELLED (0x1ffu & ~RULES_B2_BIT(1, 3))

/*
 * The name `stats` gives bit b (one of RULES_B2_*): "127.0.0.1/0.0.0.0",
 * "127.0.0.1/[::]", "127.0.0.1/[::]v6only", "127.0.0.1/[::ffff:0.0.0.0]",
 * "[::ffff:127.0.0.1]/..." alike, "time_wait"; NULL for other values.
 */
const char *rules_b2_name(unsigned int b);

/* "inode", "sk_uid", "unknown": the names `stats` shows. */
const char *rules_reuseport_uid_name(enum rules_reuseport_uid r);

/*
 * The uid holder h counts with in the TCP SO_REUSEPORT comparisons of a
 * kernel of kind r (UNKNOWN counts as SK_UID here): h->sk_uid, or 0 for
 * an INODE kernel and a TCP holder without a struct socket.
 */
uint32_t rules_reuseport_holder_uid(enum rules_reuseport_uid r, const struct pw_sock *h);

/*
 * A prediction. blockers[] index the holder array given to
 * rules_predict(), highest-ranked rule first (at most RULES_MAX_BLOCKERS;
 * nblockers counts them all). For port 0 and autobind, free_ports is the
 * number of ports of the range that are free and in_use those that are
 * not. uncertain: the kernel may answer either way (enum rules_uncertain
 * says why); ok is 0 then (the call may fail) and, for a bind, the
 * blockers are the sockets that may refuse it.
 */
struct rules_prediction {
	int ok;           /* 1: the call would succeed */
	enum rules_uncertain uncertain; /* RULES_SURE, or why not */
	int err;          /* positive errno when !ok: EADDRINUSE, EADDRNOTAVAIL */
	enum rules_rule rule; /* when !ok; RULES_RULE_FAST_PATH or _NONE when ok */
	size_t blockers[RULES_MAX_BLOCKERS];
	size_t nblockers;
	uint32_t free_ports, in_use;
};

/* What is asked: a bind or listen of c, or a connect of c to raddr:rport. */
struct rules_query {
	struct pw_sock c;   /* netns, protocol, family, laddr, lport (0: let the kernel
			     * choose), flags, sk_uid, state (LISTEN for listen; for
			     * connect of a bound socket its lport), raddr/rport for connect */
	enum rules_op op;
	uint64_t self;      /* inode of c when it exists (listen, connect): not a holder */
	int tw_reuse;       /* net.ipv4.tcp_tw_reuse of the netns (connect) */
	int timestamps;     /* net.ipv4.tcp_timestamps of the netns (connect) */
	enum rules_udp_walk udp_walk; /* the running kernel's (kbehavior.h) */
	enum rules_reuseport_uid reuseport_uid; /* the running kernel's (kbehavior.h) */
	/*
	 * Kernels whose TCP bind check, for an AF_INET6 socket binding a
	 * specific v4-mapped address, does not see the port's IPv4-wildcard
	 * bhash2 bucket when an AF_INET6 socket on ::ffff:0.0.0.0 made it
	 * (Linux 6.1: inet_bind2_bucket_match_addr_any() takes only [::]
	 * among AF_INET6 buckets; an AF_INET 0.0.0.0 socket bound later joins
	 * that bucket, inet_bind2_bucket_addr_match(), and is unseen too).
	 * 0: every such holder is seen (later kernels, kbehavior.h);
	 * RULES_MAPPED_ANY_V6: the AF_INET6 ::ffff:0.0.0.0 holders are unseen
	 * (who made the bucket unknown); RULES_MAPPED_ANY_BUCKET: every
	 * 0.0.0.0 and ::ffff:0.0.0.0 holder is (an AF_INET6 socket made it).
	 */
	int tcp_mapped_any_unseen;
	struct rules_bind_env env; /* the checks bind(2) makes before the conflicts */
	/*
	 * net.ipv4.ip_autobind_reuse of the netns: a TCP bind of port 0 with
	 * SO_REUSEADDR that finds no free port searches again letting
	 * bound, not listening SO_REUSEADDR sockets share
	 * (inet_csk_find_open_port(), relax = true).
	 */
	int autobind_reuse;
	/*
	 * IP_LOCAL_PORT_RANGE of the socket (Linux 6.3+), host order; 0, 0
	 * none. Narrows the namespace's range where it falls inside it
	 * (inet_sk_get_local_port_range()); see rules_ports_narrow().
	 */
	uint16_t sk_range_lo, sk_range_hi;
	/*
	 * c (an existing, unbound socket: self) has a reuseport group of its
	 * own, made when it attached SO_ATTACH_REUSEPORT_CBPF/EBPF before
	 * bind (reuseport_attach_prog() -> reuseport_alloc()). Such a socket
	 * shares a port through SO_REUSEPORT with nobody:
	 * inet_bind_conflict() with reuseport_cb_ok false, no fast path
	 * (sk_reuseport_match()), and udp_lib_lport_inuse() takes it as
	 * incompatible; SO_REUSEADDR sharing is unchanged. A refusal that
	 * SO_REUSEPORT would have avoided gets RULES_RULE_REUSEPORT_OWN_GROUP.
	 */
	int own_group;
	/*
	 * The running kernel's bhash2 view (RULES_B2_*): bits of
	 * RULES_B2_MODELLED where it differs from RULES_B2_FIXED
	 * (deviate), and bits the start-up trial could not measure (unsure:
	 * both are computed, and where they differ the prediction is
	 * RULES_UNCERTAIN_BHASH2). 0, 0: a fixed kernel.
	 */
	uint16_t tcp_bhash2_deviate, tcp_bhash2_unsure;
};

/*
 * Narrow the namespace's range p to a socket's IP_LOCAL_PORT_RANGE
 * (lo, hi; 0, 0 none) as inet_sk_get_local_port_range() does: each end
 * replaces the namespace's when it lies within the namespace's range.
 */
void rules_ports_narrow(struct rules_ports *p, uint16_t lo, uint16_t hi);

#define RULES_ADDR_NEEDS_DEVICE 2

/*
 * The checks of struct rules_bind_env for a bind (q->op RULES_OP_BIND)
 * of q->c, in the kernel's order for its family. Returns 1 and fills p
 * (ok 0, err, rule; uncertain when an input is unknown) when one decides
 * or may decide the call, 0 when the port conflicts decide.
 */
int rules_bind_checks(const struct rules_query *q, struct rules_prediction *p);

enum {
	RULES_MAPPED_ANY_V6 = 1,
	RULES_MAPPED_ANY_BUCKET = 2,
};

/*
 * Predict the kernel's answer. v[0..n) are the sockets of c's netns and
 * protocol that the kernel holds, TIME_WAIT entries included (state
 * PW_TCP_TIME_WAIT), every port; for UDP in the order of the kernel's
 * port hash chain (rules_udp_chain_before()).
 * tb_of(port, arg) returns the bucket's fast fields for a TCP port, or
 * NULL when unknown (no fast path is then assumed). ports is the netns's
 * ephemeral range (for lport 0 and autobind).
 *
 * Followed: bind/listen TCP - inet_csk_get_port(), inet_csk_find_open_port(),
 * inet_csk_bind_conflict() / inet_bhash2_conflict() / inet_bind_conflict();
 * UDP - udp_lib_get_port(), udp_lib_lport_inuse() as q->udp_walk says; connect TCP -
 * __inet_hash_connect() and __inet_check_established(); a TIME_WAIT
 * 4-tuple is taken over (tcp_twsk_unique()) by a socket whose port was
 * bound explicitly when timestamps are on, and by autobind only with
 * tcp_tw_reuse (then after a second: counted as free).
 * Not modelled: VRF (l3mdev) bind buckets, the hash-2 walk of
 * udp_lib_lport_inuse2() that the kernel uses when more than 10 sockets
 * share a UDP hash slot (it meets the same sockets as the port chain, in
 * another order, so only a FIRST_DECIDES kernel can answer otherwise).
 */
void rules_predict(const struct rules_query *q, const struct pw_sock *v, size_t n,
		   const struct rules_tb *(*tb_of)(uint16_t port, void *arg), void *arg,
		   const struct rules_ports *ports, struct rules_prediction *p);

/*
 * Same remote address and port, as the kernel's 4-tuple lookups compare
 * them: an IPv4 address equals its v4-mapped IPv6 form.
 */
int rules_same_remote(const struct pw_sock *a, const struct pw_sock *b);

/*
 * Where udp_lib_get_port() puts a UDP socket with these flags *at bind
 * time* in its port hash chain, which udp_lib_lport_inuse() walks and
 * where the first conflicting socket decides: 1 at the tail (IPv6 with
 * SO_REUSEPORT), 0 at the head. A later setsockopt() does not move it.
 */
int rules_udp_chain_tail(const struct pw_sock *at_bind);

/*
 * Does UDP socket a come before b in that chain? a_tail/b_tail:
 * rules_udp_chain_tail() of each when it was bound; a_ns/b_ns: when each
 * was bound (any monotonic clock). Head sockets newest first, then tail
 * sockets oldest first. (Found by the differential test: test_rules.c.)
 */
int rules_udp_chain_before(int a_tail, uint64_t a_ns, int b_tail, uint64_t b_ns);

/*
 * What would change the answer, for people: one or more sentences
 * (NUL-terminated, truncated to len) for rule, given the first blocker
 * (may be NULL), the query and, for time_wait, the longest remaining
 * TIME_WAIT time in seconds (< 0 unknown). For ephemeral_exhausted,
 * ports gives the range.
 */
void rules_advice(char *buf, size_t len, enum rules_rule rule, const struct rules_query *q,
		  const struct pw_sock *blocker, long tw_wait_s, const struct rules_ports *ports);

#endif /* PORTWATCH_RULES_H */
