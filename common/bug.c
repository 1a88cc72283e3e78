/* SPDX-License-Identifier: MIT */
/* The one way weft stops on a broken invariant (WEFT_BUG_ON in common/weft.h).
 * It writes to stderr rather than through the daemon's log because it must
 * work in every program that links libweft.a, and the process is about to
 * end: the message is all that is left. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/weft.h"

void weft_bug(const char *file, int line, const char *what)
{
	fprintf(stderr, "<2>BUG at %s:%d: %s\n", file, line, what);
	fflush(stderr);
	abort();
}
