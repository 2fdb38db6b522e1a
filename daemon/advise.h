/*
 * advise.h: the staffing advisor. For one group of identical counters
 * (they serve the same services), the fewest counters open in each hour
 * that keep the predicted overtime share of every hour at or under the
 * target, with 95 % confidence: the upper end of the share's 95 %
 * confidence interval over the replications must be at or under it.
 *
 * The algorithm (docs/advisor.md) is the iterative-staffing idea of the
 * queueing literature: start from Erlang C hour by hour, simulate the
 * plan, add a counter to each hour that misses, and repeat, because a busy
 * hour's queue spills into the next; then take a counter away wherever the
 * whole day still meets the target without it. Every simulation of one
 * advice uses the same seed, so two plans are compared on the same
 * customers. Pure: no I/O, no clock.
 */
#ifndef BRANCHQ_ADVISE_H
#define BRANCHQ_ADVISE_H

#include <stdint.h>

#include "sim.h"

#define ADVISE_MAX_ROUNDS 40

struct advise_hour {
	double offered;              /* erlangs offered in the hour (arrivals x mean service) */
	int erlang_c;                /* the hour alone, by Erlang C */
	int counters;                /* the advice */
	double share, half;          /* predicted overtime share of the hour's arrivals, CI half-width */
	int n;                       /* replications in which the hour had customers */
};

struct advise_result {
	struct advise_hour hour[SIM_MAX_HOURS];
	int rounds;                  /* simulations run */
	bool met;                    /* every hour meets the target (false: max_counters ran out) */
};

/*
 * Predicted per-hour overtime share of sc with counters 0..plan[h]-1 open in
 * hour h (sc's counters must all serve the group; sc->ncounters at least
 * the plan's largest entry). Writes share, half and n of out[h] for each
 * hour. 0, or -1 when out of memory.
 */
int advise_evaluate(const struct sim_scenario *sc, const int *plan, int replications,
    uint64_t seed, struct advise_hour *out);

/*
 * The advice for sc (a group of identical counters; sc->ncounters is the
 * most that may open), whose service times have the given mean (for Erlang
 * C) and whose threshold is the first service's. 0, or -1 when out of memory.
 */
int advise_plan(const struct sim_scenario *sc, double mean_service_s, double target,
    int replications, uint64_t seed, struct advise_result *res);

/* Whether every hour with customers meets target with 95 % confidence. */
bool advise_meets(const struct advise_hour *h, int hours, double target);

/*
 * A branch: its counters in groups that serve the same services (counters
 * 1 and 2 serve A and B, 3 and 4 serve A, 5 serves B and V), and for each
 * group the counters open in each hour, the first ones of the group in the
 * config's order. Every service must meet its own target in every hour.
 */
#define ADVISE_MAX_GROUPS MAX_COUNTERS

struct advise_group {
	int counter[MAX_COUNTERS];   /* indexes into the scenario's counters */
	int ncounters;
	int erlang_c[SIM_MAX_HOURS]; /* the group's share of the hour's load alone, by Erlang C */
	int plan[SIM_MAX_HOURS];     /* the advice */
	double offered[SIM_MAX_HOURS];
};

struct advise_branch {
	struct advise_group group[ADVISE_MAX_GROUPS];
	int ngroups;
	/* The plan's prediction, by service of the customer's last leg and hour of arrival. */
	double share[MAX_SERVICES][SIM_MAX_HOURS], half[MAX_SERVICES][SIM_MAX_HOURS];
	int n[MAX_SERVICES][SIM_MAX_HOURS];  /* replications in which it had customers */
	double erlang_share[MAX_SERVICES][SIM_MAX_HOURS], erlang_half[MAX_SERVICES][SIM_MAX_HOURS];
	int rounds;
	bool met;
	bool erlang_met;             /* the Erlang C plan, simulated the same way, meets it */
};

/*
 * The advice for a branch day sc (its counters' open[] are ignored) with
 * each service's target. 0, or -1 when out of memory.
 */
int advise_branch(const struct sim_scenario *sc, const double *target, int replications,
    uint64_t seed, struct advise_branch *res);

/* sc with the counters of res's plan (or, with erlang, its Erlang C plan) open. */
void advise_branch_apply(const struct advise_branch *res, bool erlang, struct sim_scenario *sc);

#endif
