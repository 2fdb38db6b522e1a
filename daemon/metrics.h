/*
 * metrics.h: GET /metrics, the Prometheus text exposition format (version
 * 0.0.4), and the figures /healthz judges. Every figure is read from what
 * the loop holds already: the day's tickets as the bus told them (one
 * entry per ticket, its newest leg), the hall's counters, the printer's
 * health, the streams, the request and commit histograms. A scrape runs no
 * SQL; the database's size is two stat(2) calls and the free disk one
 * statvfs(2). docs/operator.md ("Watching it") lists every metric.
 *
 * One struct metrics per daemon, made by metrics_new (which reads today's
 * tickets once, before the loop serves) and freed by metrics_free. Loop
 * thread only.
 */
#ifndef BRANCHQ_METRICS_H
#define BRANCHQ_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config.h"

struct queue;
struct sse;
struct printer;

/*
 * A histogram over fixed upper bounds: bucket[i] counts the observations
 * in (bound[i-1], bound[i]], bucket[nbounds] those above the last bound.
 * Exposed cumulative, as Prometheus wants. Plain values: observed and read
 * on the loop only.
 */
#define METRICS_HIST_MAX 16
struct metrics_hist {
	uint64_t bucket[METRICS_HIST_MAX + 1];
	uint64_t count;
	double sum;
};

void metrics_hist_observe(struct metrics_hist *h, const double *bound, int nbounds, double v);

/* The bounds of the commit histograms (store.c observes them). */
#define METRICS_BATCH_BOUNDS 8          /* 1 2 4 8 16 32 64 128 changes */
#define METRICS_COMMIT_BOUNDS 10        /* 1 ms .. 2.5 s */
extern const double metrics_batch_bounds[METRICS_BATCH_BOUNDS];
extern const double metrics_commit_bounds[METRICS_COMMIT_BOUNDS];

/* Seconds on a clock that never steps (CLOCK_MONOTONIC), for durations. */
double metrics_clock(void);

struct metrics;

/*
 * Watch q (its bus, store, config and hall), the streams of sse and the
 * printer p (either may be NULL). Reads the newest leg of each of today's
 * tickets from the store once; call it before the loop serves, with no
 * commit in flight. NULL when out of memory or the store cannot be read.
 */
struct metrics *metrics_new(struct queue *q, struct sse *sse, struct printer *p, int64_t now);
void metrics_free(struct metrics *m);

/*
 * A request answered by route index route of api_routes (-1: none, it is
 * not counted) took seconds, from its arrival to its completion. m may be
 * NULL. Event streams are not observed: they last for hours.
 */
void metrics_observe_request(struct metrics *m, int route, double seconds);

/*
 * The metrics at now as text; *len its length. The caller frees it. NULL
 * when out of memory.
 */
char *metrics_render(struct metrics *m, int64_t now, size_t *len);

/*
 * /healthz's body at now: {"status":"ok|degraded|failing","reasons":[…],
 * "database":{…},"disk":{…},"printer":{…}}; *failing when the status is
 * failing. A new reference; NULL when out of memory.
 */
json_t *metrics_health(struct metrics *m, int64_t now, bool *failing);

/* Whether addr (dotted IPv4 text; NULL or "" never) is in cfg's [monitoring] metrics_allow. */
bool metrics_addr_allowed(const struct config *cfg, const char *addr);

#endif
