/* SPDX-License-Identifier: MIT */
/* What the fuzz targets share: the check() of their invariants, and the
 * reference frames' byte-by-byte checksum (fx_sum, fx_fold), which their
 * checksum checks use to stay independent of common/gso.c. */
#ifndef WEFT_TESTS_FUZZ_H
#define WEFT_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "tests/unit/superframe_fixture.h"

/* Aborts: the fuzzer and the replay driver both treat an abort as a finding. */
#define check(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

#endif
