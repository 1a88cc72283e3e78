/* SPDX-License-Identifier: MIT */
/* Forwarding: frames from the capture ring to peers, datagrams from peers to the inject ring. */
#ifndef WEFT_ROUTER_H
#define WEFT_ROUTER_H

#include <ev.h>

/* libev callbacks on struct weftd's capture_io and udp_io. */
void weft_router_on_capture(struct ev_loop *loop, ev_io *w, int revents);
void weft_router_on_udp(struct ev_loop *loop, ev_io *w, int revents);

#endif
