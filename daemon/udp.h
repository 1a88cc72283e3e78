/* SPDX-License-Identifier: MIT */
/* The underlay UDP socket: recvmmsg batches (UDP_GRO segments handed out one
 * by one) and per-destination send batches (UDP_SEGMENT GSO, or sendmmsg). */
#ifndef WEFT_UDP_H
#define WEFT_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "common/sockaddr.h"
#include "common/weft.h"
#include "daemon/counters.h"

struct weft_udp;
struct weft_udp_batch;

/* Most datagrams one GSO send may carry (the kernel's UDP_MAX_SEGMENTS). */
#define WEFT_UDP_GSO_MAX_SEGMENTS 64
/* Most UDP payload bytes in one datagram (or one GSO send) over IPv4. */
#define WEFT_UDP_MAX_PAYLOAD 65507

struct weft_udp_config {
	/* Where to listen. The IPv6 any address (::) gives a dual-stack
	 * socket; any other address a socket of its family bound to it. Port 0
	 * picks a free one (see weft_udp_local). */
	union weft_sockaddr listen;
	int sndbuf;	     /* bytes; 0: the kernel's default */
	int rcvbuf;	     /* bytes; 0: the kernel's default */
	unsigned recv_batch; /* messages per recvmmsg(); 0: 64 */
	/* Longest datagram expected without GRO (the underlay MTU's payload);
	 * 0: 65535. With GRO every receive slot holds 64 KiB + anyway. */
	size_t max_datagram;
	bool no_gso; /* never use UDP_SEGMENT (tests, measurements) */
	bool no_gro; /* never enable UDP_GRO (tests, measurements) */
};

/* clang-format off */
#define WEFT_UDP_STAT_LIST(X)                                                                      \
	X(RX_DATAGRAMS, rx_datagrams)         /* datagrams (GRO segments) handed to the caller */  \
	X(RX_BYTES, rx_bytes)                                                                      \
	X(RX_CALLS, rx_calls)                 /* recvmmsg() calls that returned data */            \
	X(RX_GRO_MESSAGES, rx_gro_messages)   /* received messages of more than one segment */     \
	X(RX_TRUNCATED, rx_truncated)         /* messages cut short (MSG_TRUNC), dropped */         \
	X(RX_ERRORS, rx_errors)               /* recvmmsg() failures other than EAGAIN */          \
	X(TX_DATAGRAMS, tx_datagrams)         /* datagrams the kernel accepted */                  \
	X(TX_BYTES, tx_bytes)                                                                      \
	X(TX_CALLS, tx_calls)                 /* sendmmsg() calls */                               \
	X(TX_GSO_SENDS, tx_gso_sends)         /* messages sent with UDP_SEGMENT (2+ datagrams) */  \
	X(TX_EAGAIN, tx_eagain)               /* dropped: socket buffer full (EAGAIN/ENOBUFS) */   \
	X(TX_EMSGSIZE, tx_emsgsize)           /* dropped: larger than the path MTU (DF is set) */  \
	X(TX_OTHER_ERRORS, tx_other_errors)   /* dropped for any other reason */                   \
	X(TX_GSO_FALLBACKS, tx_gso_fallbacks) /* GSO sends refused and sent again one by one */    \
	X(TX_SOURCE_LOST, tx_source_lost)     /* batches whose source address the host lost */
/* clang-format on */
struct weft_udp_stats {
	WEFT_UDP_STAT_LIST(WEFT_COUNTER_FIELD)
};

/* Which of this host's addresses a datagram arrived at, so that the answer
 * leaves from it (IP_PKTINFO / IPV6_PKTINFO). Only a socket bound to a
 * wildcard address fills it in; family 0 means "let the kernel choose". An
 * IPv4 address on a dual-stack socket is kept IPv4-mapped. */
struct weft_udp_local_addr {
	int family; /* 0, AF_INET or AF_INET6 */
	int ifindex;	/* IPv6 link-local only: the interface it belongs to */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	};
};

/* A received datagram, from weft_udp_recv_next(). */
struct weft_udp_dgram {
	/* Borrowed: valid until the next weft_udp_recv_batch(); writable, so
	 * the caller may decrypt in place. */
	uint8_t *data;
	size_t len;
	/* Borrowed, same lifetime. IPv4-mapped IPv6 sources come as AF_INET,
	 * so a peer's address compares equal whichever socket family got it. */
	const union weft_sockaddr *src;
	struct weft_udp_local_addr local; /* where it arrived (see above) */
};

/* Open the socket: non-blocking, Don't Fragment (the underlay never
 * fragments weft's datagrams: a datagram larger than the path MTU fails
 * with EMSGSIZE), socket buffers as configured (forced past the sysctl
 * limits when CAP_NET_ADMIN allows), UDP_GRO and UDP_SEGMENT when the
 * kernel has them. Receive buffers are allocated here, once. */
int weft_udp_new(struct weft_udp **out, const struct weft_udp_config *cfg,
		  char err[static WEFT_ERRLEN]) WEFT_WUR;

/* Closes the socket and frees; accepts NULL. */
void weft_udp_free(struct weft_udp *u);

/* The socket to watch for EV_READ. */
int weft_udp_fd(const struct weft_udp *u);

/* The bound address (to learn the port picked for port 0). */
int weft_udp_local(const struct weft_udp *u, union weft_sockaddr *addr) WEFT_WUR;

/* Whether the socket receives GRO-merged datagrams / sends with GSO. */
bool weft_udp_gro(const struct weft_udp *u);
bool weft_udp_gso(const struct weft_udp *u);

/* Receive one batch (one recvmmsg()). Returns how many datagrams it holds,
 * GRO segments counted one by one (hand them out with weft_udp_recv_next),
 * 0 when nothing is waiting, or a negative errno (counted; the caller stops
 * this wakeup). Invalidates the datagrams of the previous batch. */
int weft_udp_recv_batch(struct weft_udp *u) WEFT_WUR;

/* The last weft_udp_recv_batch() found the socket empty before its slots
 * were full: another call now would only say EAGAIN (the EV_READ watcher is
 * level-triggered, so what arrives later wakes the loop again). */
bool weft_udp_recv_drained(const struct weft_udp *u);

/* The next datagram of the current batch; false when all were handed out. */
bool weft_udp_recv_next(struct weft_udp *u, struct weft_udp_dgram *d);

/* A send batch: datagrams for one destination, written in place into one
 * contiguous buffer. Allocate one per peer at start-up. */
int weft_udp_batch_new(struct weft_udp_batch **out, unsigned max_datagrams,
		       size_t max_datagram_len) WEFT_WUR;
void weft_udp_batch_free(struct weft_udp_batch *b);

/* Room for the next datagram: returns where to write it and sets *room to
 * max_datagram_len; NULL when the batch is full (flush it first). Nothing
 * is added until weft_udp_batch_commit(); a reservation may be held while
 * records are appended and is simply dropped if not committed. */
uint8_t *weft_udp_batch_reserve(struct weft_udp_batch *b, size_t *room);

/* Add the datagram written at the last reservation, @len bytes (1..room). */
void weft_udp_batch_commit(struct weft_udp_batch *b, size_t len);

/* Datagrams in the batch. */
unsigned weft_udp_batch_count(const struct weft_udp_batch *b);

/* Empties the batch (a reservation included) without sending; accepts NULL. */
void weft_udp_batch_clear(struct weft_udp_batch *b);

/* What one weft_udp_flush() did. */
struct weft_udp_sent {
	unsigned datagrams; /* the kernel accepted */
	unsigned dropped;   /* refused (also counted in the socket's stats, by reason) */
	/* The source address asked for is no longer the host's: the batch went
	 * from the kernel's choice instead, and so should what follows. */
	bool source_lost;
	/* The smallest datagram refused as larger than the kernel's path MTU
	 * toward @dst (EMSGSIZE: a router's ICMP taught it), 0: none. */
	size_t too_big_size;
};

/* Send every datagram of @b to @dst, then empty @b. Runs of equal-sized
 * datagrams (the last may be shorter) go as one UDP_SEGMENT send of at most
 * 64; the messages of a batch go out in one sendmmsg() call as far as the
 * kernel takes them. Never blocks: datagrams the kernel refuses are dropped
 * and counted by reason (EAGAIN/ENOBUFS, EMSGSIZE, other). @from (NULL or
 * family 0: the kernel's choice) is the source address; one the host no
 * longer has is refused by the kernel, and the batch is sent again from the
 * kernel's choice (counted as tx_source_lost, and said in @sent). Fills
 * @sent; returns 0 when every datagram left, else the negative errno of the
 * last failure. */
int weft_udp_flush(struct weft_udp *u, struct weft_udp_batch *b, const union weft_sockaddr *dst,
		   const struct weft_udp_local_addr *from, struct weft_udp_sent *sent);

void weft_udp_stats(const struct weft_udp *u, struct weft_udp_stats *stats);

#endif
