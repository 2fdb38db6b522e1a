/*
 * simday.h: the simulator on a real branch. The scenario of a branch's
 * config (its services, counters, green boosts and thresholds); the same
 * fitted from its own database (arrivals, service times, no-shows and
 * transfers of the last N same weekdays); a recorded day read back as
 * simulated customers with the counter plan it had (a replay); and a
 * simulated day's figures as the daily report computes them (report.c's
 * own core, so the field names, definitions and CSV and HTML are the
 * report's), averaged over the replications with 95 % intervals.
 *
 * The process's time zone must be the branch's (bday_set_timezone).
 * docs/advisor.md describes the fit and its limits.
 */
#ifndef BRANCHQ_SIMDAY_H
#define BRANCHQ_SIMDAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "config.h"
#include "advise.h"
#include "sim.h"

#define SIMDAY_MAX_WEEKS 52

/* What the fit found, and the service-time samples the scenario points into. */
struct simday_fit {
	int weeks;                           /* same weekdays looked at */
	struct date looked[SIMDAY_MAX_WEEKS];
	int ndays;                           /* of them, days that had tickets */
	struct date days[SIMDAY_MAX_WEEKS];
	int tickets;                         /* first legs over those days */
	double *samples[MAX_SERVICES];       /* service times, call to end (owned) */
	int nsamples[MAX_SERVICES];
	double counters_open[SIM_MAX_HOURS]; /* counters that called, a day, by hour */
};

/* The first second of the hall's opening on business day d. */
int64_t simday_open_at(const struct config *cfg, struct date d);

/* The hours from [advisor] open to close, 1..SIM_MAX_HOURS. */
int simday_hours(const struct config *cfg);

/*
 * The branch's config as a scenario: its services (exponential service of
 * each one's service_time, no arrivals), counters open all day, boosts and
 * thresholds. Counter k of sc is cfg->counters[k].
 */
void simday_scenario(const struct config *cfg, struct sim_scenario *sc);

/*
 * Fit sc (from simday_scenario) to the last cfg->advisor.weeks days of db
 * with the same weekday as date: arrivals per service, category and hour,
 * the English share, empirical service times, no-show and transfer rates,
 * and the counter plan most of those days had (a counter is open in an
 * hour when it called in that hour on at least half of the days). -1 with
 * why when no such day has tickets or the database cannot be read; free
 * with simday_fit_free either way.
 */
int simday_fit(sqlite3 *db, const struct config *cfg, struct date date, struct sim_scenario *sc,
    struct simday_fit *fit, char *why, size_t whylen);
void simday_fit_free(struct simday_fit *fit);

/*
 * Business day date as recorded: its customers into d (arrival, service,
 * category, language, time at the counter, no-show, transfer; a ticket
 * cancelled while waiting is left out, as it took no counter time) and the
 * counter plan it had into sc (a counter is open in an hour when it called
 * or served anyone in it). -1 with why when the day has no tickets.
 */
int simday_replay(sqlite3 *db, const struct config *cfg, struct date date,
    struct sim_scenario *sc, struct sim_day *d, char *why, size_t whylen);

/*
 * The daily report of R simulated days of sc on business day date of cfg
 * (whose services and counters sc must be): each day drawn (or, with
 * replay, always those customers) and played, its report built by
 * report.c, and the reports averaged figure by figure, with a `_ci` (95 %)
 * beside each overtime_share, wait_avg_s and wait_p90_s. With pushed, the
 * normal group also carries pushed_past_threshold (sim_pushed). Tellers,
 * ratings and the longest waits are left out: a simulation has none.
 * NULL when out of memory.
 */
json_t *simday_report(const struct config *cfg, struct date date, const struct sim_scenario *sc,
    int replications, uint64_t seed, const struct sim_day *replay, bool pushed);

/*
 * The staffing advice for business day date of cfg on sc (fitted, or a
 * scenario's; sc's counters are cfg's): advise_branch with each service's
 * target, shown with its work (each hour's Erlang C answer, the advice, the
 * predicted share of each service with its interval, and the Erlang C
 * plan's share simulated the same way) and the plan's predicted daily
 * report under "predicted". NULL when out of memory.
 */
json_t *simday_advice(const struct config *cfg, struct date date, const struct sim_scenario *sc,
    int replications, uint64_t seed);

/* A ticket waiting now, for the live advice. */
struct simday_waiting {
	int service;
	enum category category;
	bool english;
	int64_t issued_at;
};

/* A predicted overtime share over replications, with its 95 % interval. */
struct simday_share {
	double share, lo, hi;
	int days;                            /* replications that had customers of it; 0: none */
};

/* What the rest of today looks like, simulated from now. */
struct simday_live {
	bool in_hours;                       /* now is between [advisor] open and close */
	bool on;                             /* some service's predicted share is over its target */
	int waiting;                         /* waiting now */
	double arrivals;                     /* expected to arrive before close */
	struct simday_share service[MAX_SERVICES], total;
	int counter;                         /* the counter to open (index into cfg); -1: none */
	struct simday_share service_with[MAX_SERVICES], total_with;   /* with it open */
};

/*
 * The rest of business day today from now: the tickets waiting now (their
 * issue times, so a long wait counts) and the arrivals fitted expects
 * until [advisor] close, played R times through the counters open now
 * (open[k] for cfg's counter k). Each service's predicted overtime share
 * with its interval; `on` when one of them is over its target, and then
 * the first closed counter that serves the service furthest over and the
 * shares with it open too (the same simulated customers). Outside the
 * advisor's hours in_hours is false and nothing else is said. 0, or -1
 * when out of memory.
 */
int simday_live(const struct config *cfg, const struct sim_scenario *fitted, int64_t now,
    const struct simday_waiting *waiting, int nwaiting, const bool open[MAX_COUNTERS],
    int replications, uint64_t seed, struct simday_live *out);

/* "HH:MM" of hour h of the plan. */
void simday_hour_label(const struct config *cfg, int h, char out[6]);

#endif
