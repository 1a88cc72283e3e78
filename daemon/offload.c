/* SPDX-License-Identifier: MIT */
/* Offload features by name, through the ethtool ioctl (the kernel's string
 * set names them; the bit numbers differ between kernels). */
#include "config.h"

#include "daemon/offload.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <linux/ethtool.h>
#include <linux/sockios.h>

#include "daemon/log.h"

static bool tx_offload(const char *f)
{
	size_t n = strlen(f);

	if (strncmp(f, "tx-checksum-", 12) == 0)
		return true;
	if (strncmp(f, "tx-", 3) == 0 && n > 13 && strcmp(f + n - 13, "-segmentation") == 0)
		return true;
	return strcmp(f, "tx-gso-partial") == 0 || strcmp(f, "tx-gso-list") == 0;
}

/* What a superframe port keeps on: only checksums weftd completes with
 * the internet checksum, only segmentation common/gso.c does. */
static bool superframe_offload(const char *f)
{
	static const char *const on[] = {
	    "tx-checksum-ip-generic",	    "tx-checksum-ipv4",	       "tx-checksum-ipv6",
	    "tx-tcp-segmentation",	    "tx-tcp-ecn-segmentation", "tx-tcp6-segmentation",
	    "tx-tcp-mangleid-segmentation", "tx-udp-segmentation",     "tx-generic-segmentation",
	};

	for (size_t i = 0; i < sizeof(on) / sizeof(on[0]); i++)
		if (strcmp(f, on[i]) == 0)
			return true;
	return false;
}

static bool rx_aggregation(const char *f)
{
	return strcmp(f, "rx-gro") == 0 || strcmp(f, "rx-gro-list") == 0 ||
	       strcmp(f, "rx-udp-gro-forwarding") == 0 || strcmp(f, "rx-gro-hw") == 0 ||
	       strcmp(f, "rx-lro") == 0;
}

static int ethtool(int fd, const char *ifname, void *data)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = data;
	return ioctl(fd, SIOCETHTOOL, &ifr) < 0 ? -errno : 0;
}

static int get_features(int fd, const char *ifname, struct ethtool_gfeatures *gf, uint32_t blocks)
{
	memset(gf, 0, sizeof(*gf) + blocks * sizeof(gf->features[0]));
	gf->cmd = ETHTOOL_GFEATURES;
	gf->size = blocks;
	return ethtool(fd, ifname, gf);
}

static bool bit(const struct ethtool_gfeatures *gf, uint32_t i, size_t field)
{
	const struct ethtool_get_features_block *b = &gf->features[i / 32];
	uint32_t word;

	memcpy(&word, (const char *)b + field, sizeof(word));
	return word & (1U << (i % 32));
}

/* Sets every feature @match() names: off, or, when @want_on() says so, on.
 * A feature left other than asked is logged. */
static int apply(const char *ifname, bool (*match)(const char *), bool (*want_on)(const char *),
		 char err[static WEFT_ERRLEN])
{
	struct {
		struct ethtool_sset_info hdr;
		uint32_t len;
	} sset = {.hdr = {.cmd = ETHTOOL_GSSET_INFO, .sset_mask = 1ULL << ETH_SS_FEATURES}};
	struct ethtool_gstrings *names = NULL;
	struct ethtool_gfeatures *gf = NULL;
	struct ethtool_sfeatures *sf = NULL;
	uint32_t count, blocks;
	char stuck[128] = "";
	char unasked[128] = "";
	bool change = false;
	int fd, rc;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return weft_errorf(err, -errno, "%s: socket for ethtool", ifname);
	rc = ethtool(fd, ifname, &sset);
	if (rc < 0 || !(sset.hdr.sset_mask & (1ULL << ETH_SS_FEATURES))) {
		rc = weft_errorf(err, rc ? rc : -EOPNOTSUPP, "%s: ethtool feature names", ifname);
		goto out;
	}
	count = sset.len;
	blocks = (count + 31) / 32;
	names = calloc(1, sizeof(*names) + (size_t)count * ETH_GSTRING_LEN);
	gf = calloc(1, sizeof(*gf) + blocks * sizeof(gf->features[0]));
	sf = calloc(1, sizeof(*sf) + blocks * sizeof(sf->features[0]));
	if (!names || !gf || !sf) {
		rc = weft_errorf(err, -ENOMEM, "%s: ethtool", ifname);
		goto out;
	}
	names->cmd = ETHTOOL_GSTRINGS;
	names->string_set = ETH_SS_FEATURES;
	names->len = count;
	rc = ethtool(fd, ifname, names);
	if (rc == 0)
		rc = get_features(fd, ifname, gf, blocks);
	if (rc < 0) {
		rc = weft_errorf(err, rc, "%s: reading offload features", ifname);
		goto out;
	}

	sf->cmd = ETHTOOL_SFEATURES;
	sf->size = blocks;
	for (uint32_t i = 0; i < count; i++) {
		char name[ETH_GSTRING_LEN + 1];
		bool on;

		memcpy(name, names->data + (size_t)i * ETH_GSTRING_LEN, ETH_GSTRING_LEN);
		name[ETH_GSTRING_LEN] = '\0';
		if (!match(name))
			continue;
		if (!bit(gf, i, offsetof(struct ethtool_get_features_block, available)))
			continue; /* fixed: reported below if it is not as asked */
		on = want_on && want_on(name);
		if (bit(gf, i, offsetof(struct ethtool_get_features_block, requested)) != on ||
		    bit(gf, i, offsetof(struct ethtool_get_features_block, active)) != on) {
			sf->features[i / 32].valid |= 1U << (i % 32);
			if (on)
				sf->features[i / 32].requested |= 1U << (i % 32);
			change = true;
		}
	}
	if (change) {
		rc = ethtool(fd, ifname, sf);
		if (rc < 0) {
			rc = weft_errorf(err, rc, "%s: switching offloads", ifname);
			goto out;
		}
		rc = get_features(fd, ifname, gf, blocks);
		if (rc < 0) {
			rc = weft_errorf(err, rc, "%s: reading offload features", ifname);
			goto out;
		}
	}
	for (uint32_t i = 0; i < count; i++) {
		char name[ETH_GSTRING_LEN + 1];
		bool active = bit(gf, i, offsetof(struct ethtool_get_features_block, active));
		char *list;
		size_t used;

		memcpy(name, names->data + (size_t)i * ETH_GSTRING_LEN, ETH_GSTRING_LEN);
		name[ETH_GSTRING_LEN] = '\0';
		if (!match(name) || active == (want_on && want_on(name)))
			continue;
		list = active ? stuck : unasked;
		used = strlen(list);
		snprintf(list + used, sizeof(stuck) - used, "%s%s", used ? " " : "", name);
	}
	if (stuck[0])
		log_warn("%s: offloads still on (the device will not switch them off): %s", ifname,
			 stuck);
	/* Not fatal: the kernel then cuts and checksums those frames itself. */
	if (unasked[0])
		log_info("%s: offloads the device will not switch on: %s", ifname, unasked);
out:
	free(names);
	free(gf);
	free(sf);
	close(fd);
	return rc;
}

int weft_offload_off(const char *ifname, enum weft_offload_set set, char err[static WEFT_ERRLEN])
{
	return apply(ifname, set == WEFT_OFFLOAD_TX ? tx_offload : rx_aggregation, NULL, err);
}

int weft_offload_superframes(const char *ifname, char err[static WEFT_ERRLEN])
{
	return apply(ifname, tx_offload, superframe_offload, err);
}
