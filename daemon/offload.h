/* SPDX-License-Identifier: MIT */
/* Switching a device's offloads off, so that the rings see what the wire would. */
#ifndef WEFT_OFFLOAD_H
#define WEFT_OFFLOAD_H

#include "common/weft.h"

enum weft_offload_set {
	/* Checksum and segmentation offloads on transmit: frames a bridge port
	 * sends are then complete, with valid checksums. */
	WEFT_OFFLOAD_TX,
	/* Receive aggregation (GRO, LRO and their kin): each frame stays a frame. */
	WEFT_OFFLOAD_RX_AGGREGATION,
};

/* Switches off every feature of @ifname in @set that the device lets us
 * change. Features that stay on are logged, not fatal: the kernel knows
 * better what it can do, and frames are still checked for length. Needs
 * CAP_NET_ADMIN; returns 0 or a negative errno with @err filled. */
int weft_offload_off(const char *ifname, enum weft_offload_set set,
		     char err[static WEFT_ERRLEN]) WEFT_WUR;

/* The transmit offloads whose frames weftd's capture cuts or completes
 * itself switched on (scatter-gather, generic checksum, TCP and UDP
 * segmentation: daemon/capture.c, common/gso.c), every other transmit
 * checksum and segmentation offload off, so that the kernel finishes
 * those before the frame reaches weftd: an SCTP CRC32c, tunnel, ESP or
 * fraglist superframe is never handed over half done. For weft's bridge
 * port. Same errors as weft_offload_off(). */
int weft_offload_superframes(const char *ifname, char err[static WEFT_ERRLEN]) WEFT_WUR;

#endif
