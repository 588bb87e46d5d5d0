/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * portwatch/proto.h - what portwatchd and portwatchctl must agree on:
 * the release, the control protocol version and the default socket path.
 * The protocol itself is described in docs/protocol.md.
 */
#ifndef PORTWATCH_PROTO_H
#define PORTWATCH_PROTO_H

#define PW_RELEASE "0.1.0"

/*
 * Control protocol versions (every response carries "version"):
 *   1 - first version.
 */
#define PW_PROTO_VERSION 1

#define PW_DEFAULT_SOCKET "/run/portwatch/portwatchd.sock"

#endif /* PORTWATCH_PROTO_H */
