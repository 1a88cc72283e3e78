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

#ifndef container_of
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
#endif

#endif
