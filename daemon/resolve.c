/* SPDX-License-Identifier: MIT */
/* Host names are looked up with getaddrinfo_a() without notification: glibc
 * runs them on its own threads, and a timer on the loop (running only while
 * lookups are under way) asks gai_error() which are done. Nothing here waits
 * except weft_resolver_settle(), which start-up calls before the loop runs.
 * The previous answer of each name is kept, so that the caller can tell a
 * name whose address changed from one that answered as before. */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/clock.h"
#include "daemon/log.h"
#include "daemon/resolve.h"

/* How often the loop asks whether lookups are done, while some are. */
#define RESOLVER_POLL_S 0.05
/* Lookups under way at once, given up ones included (their threads still
 * wait for the resolver): a configuration naming more host names than this
 * gets the rest at its next reload. */
#define RESOLVER_LOOKUPS_MAX 64
/* Previous answers kept; the oldest goes first. */
#define RESOLVER_ANSWERS_MAX 1024

struct name {
	char host[WEFT_ENDPOINT_HOST_MAX];
	char port[8];
	int family;
};

struct lookup {
	struct gaicb cb; /* glibc writes into it until gai_error() says done */
	struct addrinfo hints;
	struct name name;
	double started; /* seconds on weft_clock_now_ms() */
	bool given_up; /* answered as failed at the deadline; the answer is dropped */
	unsigned flags;
	struct lookup *next;
};

struct answer {
	struct name name;
	union weft_sockaddr addr;
};

struct weft_resolver {
	struct ev_loop *loop;
	ev_timer poll;
	weft_resolver_answer answer;
	void *ctx;
	struct lookup *lookups;
	unsigned n_lookups;
	struct answer *answers; /* ring of RESOLVER_ANSWERS_MAX */
	unsigned n_answers, next_answer;
};

int weft_resolve_endpoint(const struct weft_endpoint *ep, int family, union weft_sockaddr *out,
			  char err[static WEFT_ERRLEN])
{
	(void)family;
	if (!ep->numeric)
		return weft_errorf(err, -EINPROGRESS, "%.160s is looked up in the background",
				   ep->host);
	/* An IPv4-mapped literal becomes IPv4, as received addresses do, so
	 * that the two compare equal. */
	if (weft_sockaddr_from(out, &ep->addr.sa, weft_sockaddr_len(&ep->addr)) < 0)
		return weft_errorf(err, -EHOSTUNREACH, "%.160s: not an IPv4/IPv6 address",
				   ep->host);
	return 0;
}

static bool same_name(const struct name *a, const struct name *b)
{
	return a->family == b->family && !strcmp(a->port, b->port) && !strcmp(a->host, b->host);
}

static struct answer *find_answer(struct weft_resolver *r, const struct name *n)
{
	for (unsigned i = 0; i < r->n_answers; i++)
		if (same_name(&r->answers[i].name, n))
			return &r->answers[i];
	return NULL;
}

/* Keeps @addr as @n's answer; true when it differs from the previous one. */
static bool remember(struct weft_resolver *r, const struct name *n, const union weft_sockaddr *addr)
{
	struct answer *a = find_answer(r, n);

	if (a) {
		if (weft_sockaddr_equal(&a->addr, addr))
			return false;
	} else {
		a = &r->answers[r->next_answer];
		r->next_answer = (r->next_answer + 1) % RESOLVER_ANSWERS_MAX;
		if (r->n_answers < RESOLVER_ANSWERS_MAX)
			r->n_answers++;
		a->name = *n;
	}
	a->addr = *addr;
	return true;
}

static void forget(struct weft_resolver *r, const struct name *n)
{
	struct answer *a = find_answer(r, n);

	if (a)
		a->name.host[0] = '\0'; /* matches no name any more */
}

/* The lookup @l is done (gai_error() was @ret): its answer, unless given up. */
static void deliver(struct weft_resolver *r, struct lookup *l, int ret)
{
	const struct name *n = &l->name;
	uint16_t port = (uint16_t)atoi(n->port);
	union weft_sockaddr addr;
	char why[WEFT_ERRLEN];

	if (l->given_up)
		return;
	if (ret != 0) {
		snprintf(why, sizeof(why), "%s", gai_strerror(ret));
		r->answer(r->ctx, n->host, port, n->family, NULL, false, why, l->flags);
		return;
	}
	if (weft_sockaddr_from(&addr, l->cb.ar_result->ai_addr, l->cb.ar_result->ai_addrlen) < 0) {
		r->answer(r->ctx, n->host, port, n->family, NULL, false,
			  "an address that is neither IPv4 nor IPv6", l->flags);
		return;
	}
	if (l->flags & WEFT_RESOLVER_FRESH)
		forget(r, n);
	r->answer(r->ctx, n->host, port, n->family, &addr, remember(r, n, &addr), NULL, l->flags);
}

/* Delivers what is done, gives up what is late; true while some are under way. */
static bool collect(struct weft_resolver *r)
{
	/* monotonic: a wall-clock step neither gives up a lookup early nor
	 * keeps a dead one forever */
	double now = (double)weft_clock_now_ms() / 1000.0;

	for (struct lookup **pl = &r->lookups, *l; (l = *pl);) {
		int ret = gai_error(&l->cb);
		char why[64];

		if (ret == EAI_INPROGRESS) {
			if (!l->given_up && now - l->started >= WEFT_RESOLVER_DEADLINE_S) {
				l->given_up = true;
				snprintf(why, sizeof(why), "no answer in %.0f s",
					 WEFT_RESOLVER_DEADLINE_S);
				r->answer(r->ctx, l->name.host, (uint16_t)atoi(l->name.port),
					  l->name.family, NULL, false, why, l->flags);
			}
			pl = &l->next;
			continue;
		}
		/* unlinked first: the callback may start lookups */
		*pl = l->next;
		r->n_lookups--;
		deliver(r, l, ret);
		if (l->cb.ar_result)
			freeaddrinfo(l->cb.ar_result);
		free(l);
	}
	return r->lookups != NULL;
}

static void on_poll(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct weft_resolver *r = container_of(w, struct weft_resolver, poll);

	if (!collect(r))
		ev_timer_stop(loop, w);
}

int weft_resolver_lookup(struct weft_resolver *r, const struct weft_endpoint *ep, int family,
			 unsigned flags)
{
	struct gaicb *list[1];
	struct lookup *l;
	struct name n = {.family = family};
	int ret;

	snprintf(n.host, sizeof(n.host), "%s", ep->host);
	snprintf(n.port, sizeof(n.port), "%u", ep->port);
	for (l = r->lookups; l; l = l->next) {
		if (!l->given_up && same_name(&l->name, &n)) {
			l->flags = ((l->flags | flags) & WEFT_RESOLVER_FRESH) |
				   (l->flags & flags & WEFT_RESOLVER_RETRY);
			return 0;
		}
	}
	if (r->n_lookups >= RESOLVER_LOOKUPS_MAX)
		return -EBUSY;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->name = n;
	l->flags = flags;
	l->hints.ai_family = family;
	l->hints.ai_socktype = SOCK_DGRAM;
	l->cb.ar_name = l->name.host;
	l->cb.ar_service = l->name.port;
	l->cb.ar_request = &l->hints;
	l->started = (double)weft_clock_now_ms() / 1000.0;
	list[0] = &l->cb;
	ret = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL);
	if (ret != 0) {
		free(l);
		return ret == EAI_MEMORY ? -ENOMEM : -EAGAIN;
	}
	l->next = r->lookups;
	r->lookups = l;
	r->n_lookups++;
	if (!ev_is_active(&r->poll)) {
		ev_timer_set(&r->poll, RESOLVER_POLL_S, RESOLVER_POLL_S);
		ev_timer_start(r->loop, &r->poll);
	}
	return 0;
}

void weft_resolver_settle(struct weft_resolver *r, double timeout_s)
{
	double until = (double)weft_clock_now_ms() / 1000.0 + timeout_s;

	ev_now_update(r->loop);
	while (collect(r)) {
		const struct gaicb *list[RESOLVER_LOOKUPS_MAX];
		struct timespec ts;
		double left = until - (double)weft_clock_now_ms() / 1000.0;
		int n = 0;

		if (left <= 0)
			break;
		for (struct lookup *l = r->lookups; l; l = l->next)
			list[n++] = &l->cb;
		ts.tv_sec = (time_t)left;
		ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
		/* returns when one is done, at the timeout, or on a signal */
		gai_suspend(list, n, &ts);
		ev_now_update(r->loop);
	}
}

int weft_resolver_new(struct weft_resolver **out, struct ev_loop *loop, weft_resolver_answer answer,
		      void *ctx, char err[static WEFT_ERRLEN])
{
	struct weft_resolver *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (!r || !(r->answers = calloc(RESOLVER_ANSWERS_MAX, sizeof(*r->answers)))) {
		free(r);
		return weft_errorf(err, -ENOMEM, "resolver");
	}
	r->loop = loop;
	r->answer = answer;
	r->ctx = ctx;
	ev_timer_init(&r->poll, on_poll, RESOLVER_POLL_S, RESOLVER_POLL_S);
	*out = r;
	return 0;
}

void weft_resolver_free(struct weft_resolver *r)
{
	if (!r)
		return;
	ev_timer_stop(r->loop, &r->poll);
	while (r->lookups) {
		struct lookup *l = r->lookups;

		r->lookups = l->next;
		/* A lookup that a glibc thread is running cannot be cancelled:
		 * the thread writes into it when the resolver answers, so it is
		 * left to glibc (this is the end of the process). */
		switch (gai_cancel(&l->cb)) {
		case EAI_NOTCANCELED:
			continue;
		case EAI_ALLDONE:
			if (l->cb.ar_result)
				freeaddrinfo(l->cb.ar_result);
			break;
		}
		free(l);
	}
	free(r->answers);
	free(r);
}
