/* SPDX-License-Identifier: MIT */
/* ring_touch: what a lone frame pays for a packet ring's pages (root, by
 * hand; docs/design.md, "A ping's gap, found").
 *
 *   ring_touch rx SLOTS N      a TPACKET_V2 RX ring of SLOTS 2 KiB slots on
 *                              lo, one frame per 2 ms: the cost of reading
 *                              each slot's status and of the write that
 *                              hands it back, first and second slot of a page
 *   ring_touch tx IFNAME N     one frame per 2 ms on IFNAME (a veth in a
 *                              namespace of your own): written into a TX
 *                              ring of 4096 2 KiB slots and kicked, against
 *                              send() on a socket without a ring
 *
 * Prints percentiles in microseconds. On the 2-core VM of docs/design.md the
 * first write to each RX page costs 5-13 us with thousands of slots and
 * nothing with 32; a lone frame written into the TX ring and kicked costs
 * 9.5-10.6 us against 3.9-4.5 us for send(). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SLOT   2048u
#define GAP_US 2000

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void print_pct(const char *what, uint64_t *v, size_t n)
{
	uint64_t sum = 0;

	if (!n)
		return;
	qsort(v, n, sizeof(*v), cmp_u64);
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	printf("%-34s n %5zu  p50 %6.2f  p75 %6.2f  p90 %6.2f  mean %6.2f us\n", what, n,
	       v[n / 2] / 1e3, v[n * 3 / 4] / 1e3, v[n * 9 / 10] / 1e3, sum / 1e3 / n);
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* A packet socket on @ifindex (protocol @proto), with a ring of @slots if
 * @ring_opt, mapped at *map. */
static int packet_socket(int ifindex, int proto, int ring_opt, unsigned slots, uint8_t **map)
{
	int fd = socket(AF_PACKET, SOCK_RAW, htons(proto)), v = TPACKET_V2, one = 1;
	struct sockaddr_ll sll = {
	    .sll_family = AF_PACKET, .sll_protocol = htons(proto), .sll_ifindex = ifindex};
	struct tpacket_req req = {.tp_block_size = 4096,
				  .tp_block_nr = slots * SLOT / 4096,
				  .tp_frame_size = SLOT,
				  .tp_frame_nr = slots};

	if (fd < 0)
		die("socket(AF_PACKET)");
	if (ring_opt == PACKET_TX_RING || ring_opt == 0)
		if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0)
			die("PACKET_VNET_HDR");
	if (ring_opt) {
		if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v, sizeof(v)) < 0 ||
		    setsockopt(fd, SOL_PACKET, ring_opt, &req, sizeof(req)) < 0)
			die("ring");
		*map = mmap(NULL, (size_t)slots * SLOT, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_POPULATE, fd, 0);
		if (*map == MAP_FAILED)
			die("mmap");
	}
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		die("bind");
	return fd;
}

static int cmd_rx(unsigned slots, size_t n)
{
	uint8_t *map;
	int fd = packet_socket((int)if_nametoindex("lo"), ETH_P_ALL, PACKET_RX_RING, slots, &map);
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in dst = {
	    .sin_family = AF_INET, .sin_port = htons(9), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	uint64_t *rd = calloc(n, 8), *first = calloc(n, 8), *second = calloc(n, 8);
	size_t nr = 0, nf = 0, ns = 0;
	unsigned head = 0;

	if (u < 0 || !rd || !first || !second)
		die("setup");
	while (nr < n) {
		struct pollfd p = {fd, POLLIN, 0};

		usleep(GAP_US);
		(void)sendto(u, "x", 1, 0, (struct sockaddr *)&dst, sizeof(dst));
		(void)poll(&p, 1, 100);
		for (;;) {
			struct tpacket2_hdr *h = (struct tpacket2_hdr *)(map + (size_t)head * SLOT);
			uint64_t t0 = now_ns(), t1, t2;
			uint32_t st = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);

			t1 = now_ns();
			if (!(st & TP_STATUS_USER))
				break;
			__atomic_store_n(&h->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
			t2 = now_ns();
			if (nr < n) {
				rd[nr++] = t1 - t0;
				if (head % (4096 / SLOT) == 0)
					first[nf++] = t2 - t1;
				else
					second[ns++] = t2 - t1;
			}
			head = (head + 1) % slots;
		}
	}
	printf("RX ring on lo, %u slots of %u bytes, a frame per %d us:\n", slots, SLOT, GAP_US);
	print_pct("  status read", rd, nr);
	print_pct("  hand back, first slot of a page", first, nf);
	print_pct("  hand back, second slot of a page", second, ns);
	return 0;
}

static int cmd_tx(const char *ifname, size_t n)
{
	const unsigned slots = 4096;
	const size_t off = TPACKET2_HDRLEN - sizeof(struct sockaddr_ll);
	int ifindex = (int)if_nametoindex(ifname);
	uint8_t *map, frame[98], buf[sizeof(struct virtio_net_hdr) + sizeof(frame)];
	struct virtio_net_hdr vh = {.gso_type = VIRTIO_NET_HDR_GSO_NONE, .hdr_len = sizeof(frame)};
	int ring_fd, lone_fd;
	uint64_t *ring = calloc(n, 8), *lone = calloc(n, 8);
	unsigned head = 0;

	if (!ifindex)
		die(ifname);
	if (!ring || !lone)
		die("setup");
	ring_fd = packet_socket(ifindex, 0, PACKET_TX_RING, slots, &map);
	lone_fd = packet_socket(ifindex, 0, 0, 0, NULL);
	memset(frame, 0xff, 12);
	frame[12] = 0x88; /* local experimental EtherType */
	frame[13] = 0xb5;
	for (size_t i = 14; i < sizeof(frame); i++)
		frame[i] = (uint8_t)i;
	for (size_t i = 0; i < n; i++) {
		struct tpacket2_hdr *h = (struct tpacket2_hdr *)(map + (size_t)head * SLOT);
		uint64_t t0;

		usleep(GAP_US);
		t0 = now_ns();
		while (__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) != TP_STATUS_AVAILABLE)
			;
		memcpy((uint8_t *)h + off, &vh, sizeof(vh));
		memcpy((uint8_t *)h + off + sizeof(vh), frame, sizeof(frame));
		h->tp_len = h->tp_snaplen = sizeof(vh) + sizeof(frame);
		__atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
		if (send(ring_fd, NULL, 0, MSG_DONTWAIT) < 0)
			die("kick");
		ring[i] = now_ns() - t0;
		head = (head + 1) % slots;
		usleep(GAP_US);
		t0 = now_ns();
		memcpy(buf, &vh, sizeof(vh));
		memcpy(buf + sizeof(vh), frame, sizeof(frame));
		if (send(lone_fd, buf, sizeof(buf), MSG_DONTWAIT) < 0)
			die("send");
		lone[i] = now_ns() - t0;
	}
	printf("a lone %zu-byte frame on %s, one per %d us:\n", sizeof(frame), ifname, GAP_US);
	print_pct("  TX ring of 4096: write and kick", ring, n);
	print_pct("  send() on a socket without a ring", lone, n);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "rx"))
		return cmd_rx((unsigned)atoi(argv[2]), (size_t)atol(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "tx"))
		return cmd_tx(argv[2], (size_t)atol(argv[3]));
	fprintf(stderr, "usage: ring_touch rx SLOTS N | ring_touch tx IFNAME N\n");
	return 2;
}
