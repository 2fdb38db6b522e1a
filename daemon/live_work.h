/*
 * live_work.h: 建议增开窗口 Open another counter, during the day. Every
 * [advisor] live_every the loop hands the hall as it stands (the tickets
 * waiting, with their issue times, and which counters are open: not
 * paused) to a worker of its own, which fits today's weekday from the
 * history on its own read-only connection and simulates the rest of the
 * day from now (simday_live). When a service's predicted overtime share
 * crosses its target the loop logs advice.open_counter in the event log,
 * with the figures and the counter to open, and the staff's stream
 * carries it; when it falls back, advice.cleared. docs/advisor.md.
 */
#ifndef BRANCHQ_LIVE_WORK_H
#define BRANCHQ_LIVE_WORK_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "config.h"
#include "simday.h"
#include "work.h"

#define LIVE_MAX_WAITING 3000        /* tickets of a snapshot; past them the hall is overrun anyway */

/* One snapshot of the hall; zero it whole before filling it (the cache compares its bytes). */
struct live_job {
	struct config cfg;
	int64_t now;
	uint64_t seed;
	bool open[MAX_COUNTERS];
	int nwaiting;                    /* of them in waiting[] */
	int waiting_all;                 /* waiting in the hall */
	struct simday_waiting waiting[LIVE_MAX_WAITING];
};

struct live_result {
	int err;                         /* 0; -1: out of memory or the database failed */
	bool history;                    /* the arrivals are fitted from history (else: none expected) */
	int64_t now;
	struct simday_live live;
};

/* Start the live advice's worker; NULL when out of memory or no thread could start. */
struct work *live_work_new(void);

/* The event data of r (cfg's names) for advice.open_counter or advice.cleared. */
json_t *live_work_json(const struct config *cfg, const struct live_result *r);

#endif
