/* SPDX-License-Identifier: MIT */
/* What the fuzz targets share: the check() of their invariants and the one's
 * complement sum their checksum checks compute on their own. */
#ifndef WEFT_TESTS_FUZZ_H
#define WEFT_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* Aborts: the fuzzer and the replay driver both treat an abort as a finding. */
#define check(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

/* Adds @n bytes at @p to @sum as big-endian 16-bit words (RFC 1071), unfolded. */
static inline uint32_t sum_bytes(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sum += i % 2 ? p[i] : (uint32_t)p[i] << 8;
	return sum;
}

/* Folds the carries of @sum into 16 bits: 0xffff when the checksum in it is valid. */
static inline uint16_t fold(uint32_t sum)
{
	while (sum > 0xffff)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

#endif
