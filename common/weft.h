/* SPDX-License-Identifier: MIT */
/* Definitions shared by every weft module. */
#ifndef WEFT_WEFT_H
#define WEFT_WEFT_H

#include <stddef.h>
#include <stdint.h>

/* Size of the caller-provided buffer that fallible functions fill with a reason. */
#define WEFT_ERRLEN 256

/* X25519 keys and the network secret are all 32 bytes. */
#define WEFT_KEY_LEN 32

/* The characters of network names, peer names and nicknames: the one
 * definition that the configuration and the handshake's identity record share. */
#define WEFT_NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"

#define WEFT_WUR __attribute__((warn_unused_result))
#define WEFT_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

#define WEFT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A broken invariant: a bug in weft, never bad input. Unlike assert() it is
 * never compiled out; it names the place on stderr and aborts. */
#define WEFT_BUG_ON(cond)                                                                          \
	do {                                                                                       \
		if (__builtin_expect(!!(cond), 0))                                                 \
			weft_bug(__FILE__, __LINE__, #cond);                                       \
	} while (0)
void weft_bug(const char *file, int line, const char *what) __attribute__((noreturn, cold));

#ifndef container_of
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
#endif

#endif
