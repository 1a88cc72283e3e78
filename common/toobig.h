/* SPDX-License-Identifier: MIT */
/* Frames too big for the path to their destination: what can be done with
 * each (IPv4 with DF set: an ICMP "fragmentation needed"; IPv6: an ICMPv6
 * "packet too big"; IPv4 without DF: IP fragments; anything else: drop) and
 * the frames that do it. Also TCP MSS clamping. Pure logic on Ethernet
 * frames (untagged: a VLAN tag is the caller's, see common/frame.h). */
#ifndef WEFT_TOOBIG_H
#define WEFT_TOOBIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/weft.h"

enum weft_toobig_action {
	WEFT_TOOBIG_ICMP4,    /* IPv4, DF set: answer "fragmentation needed" */
	WEFT_TOOBIG_ICMP6,    /* IPv6: answer "packet too big" */
	WEFT_TOOBIG_FRAGMENT, /* IPv4, DF clear: fragment */
	WEFT_TOOBIG_DROP,     /* anything else (another EtherType, a broken header) */
};

/* What to do with the untagged Ethernet frame @frame (@len bytes, possibly
 * cut short by the capture: only the headers are read) that is larger than
 * the path carries. */
enum weft_toobig_action weft_toobig_classify(const uint8_t *frame, size_t len);

/* Largest answer frame the builders write. */
#define WEFT_TOOBIG_ANSWER_MAX (14 + 1280)

/* Writes into @out (at least WEFT_TOOBIG_ANSWER_MAX bytes) the Ethernet frame
 * that answers @frame: MAC addresses swapped, the IP addresses swapped (the
 * answer comes from the destination, so the sender's stack takes it), an
 * ICMP type 3 code 4 with next-hop MTU @mtu (IPv4; it quotes as much of the
 * packet as fits in a 576-byte answer) or an
 * ICMPv6 type 2 with MTU @mtu (IPv6; it quotes as much of the packet as
 * fits in 1280 bytes), checksums computed. @len may be less than the frame's
 * real length (a capture cut short): only what is there is quoted. Returns
 * the answer's length, or 0 when there is nothing to answer: @frame is not an
 * IPv4/IPv6 packet whose headers can be read (IPv4: with a valid header
 * checksum), is itself an ICMP/ICMPv6 error or a non-first fragment, or has
 * an address that is not one host's, either way (RFC 1122 3.2.2, RFC 4443
 * 2.4: unspecified, loopback, broadcast or multicast IP; a group MAC). @out
 * and @frame must not overlap. */
size_t weft_toobig_answer(uint8_t *out, const uint8_t *frame, size_t len, unsigned mtu);

/* IPv4 fragmentation of the untagged frame @frame (DF clear) into frames
 * whose IP packets are at most @mtu bytes: calls @emit for each fragment
 * frame, built in @scratch (at least 14 + @mtu bytes, not overlapping
 * @frame), in order. Fragment offsets are multiples of 8; options marked
 * "copied" go into every fragment, others only into the first. A packet
 * that fits @mtu already is emitted once, unchanged. Returns the number of
 * fragments, or -EINVAL when the frame cannot be fragmented (not IPv4, DF
 * set, truncated or broken headers: a bad header checksum, malformed
 * options; a total length beyond @len, @mtu too small for a fragment); then
 * @emit was not called. */
int weft_toobig_fragment(const uint8_t *frame, size_t len, unsigned mtu, uint8_t *scratch,
			 void (*emit)(void *ctx, const uint8_t *frag, size_t frag_len),
			 void *ctx) WEFT_WUR;

/* TCP MSS clamping: when @frame (untagged, @len bytes) is an IPv4 or IPv6
 * TCP SYN whose MSS option is above what @mtu allows (mtu - 40 over IPv4,
 * mtu - 60 over IPv6), lowers it in place and fixes the TCP checksum
 * incrementally. Returns true when it changed the frame. */
bool weft_toobig_clamp_mss(uint8_t *frame, size_t len, unsigned mtu);

#endif
