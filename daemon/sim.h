/*
 * sim.h: a discrete-event simulation of a branch day. Customers arrive
 * (non-homogeneous Poisson per service, category and hour), wait, and are
 * called by the counters open in each hour through the daemon's own policy
 * (policy_next in policy.c, not a copy), so the green channel, the overtime
 * tier and the English rule act exactly as in the hall. A called customer
 * may not come (a no-show, after the recalls) or be transferred to another
 * service, where they wait again with their original issue time.
 *
 * Pure, like policy.c: no I/O, no clock, no globals. Randomness comes from
 * struct sim_rng, seeded by the caller, so the same seed gives the same
 * numbers on every machine (docs/advisor.md). A day is made in two steps:
 * sim_day_generate draws the customers (arrival, service, category,
 * language, service time, no-show, transfer), sim_day_run plays them
 * through a counter plan. Splitting them lets the same customers be played
 * through two plans or two policies (common random numbers), which is how
 * "pushed past the threshold by a green customer" is counted customer by
 * customer, and lets a recorded day be replayed (sim_cli.c).
 */
#ifndef BRANCHQ_SIM_H
#define BRANCHQ_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain.h"
#include "policy.h"

#define SIM_MAX_HOURS 24
#define SIM_MAX_EMPIRICAL 4096        /* service-time samples kept per service */

/*
 * The PRNG: xoshiro256** (Blackman and Vigna, 2018), seeded through
 * splitmix64 so any 64-bit seed, 0 included, gives a good state. Chosen for
 * speed and because its output is defined bit for bit, unlike rand().
 */
struct sim_rng {
	uint64_t s[4];
};

void sim_rng_seed(struct sim_rng *g, uint64_t seed);
uint64_t sim_rng_next(struct sim_rng *g);
double sim_rng_uniform(struct sim_rng *g);            /* in (0, 1), never 0 or 1 */
double sim_rng_exp(struct sim_rng *g, double mean);
double sim_rng_normal(struct sim_rng *g);              /* standard normal, Box-Muller */

enum sim_dist { SIM_EXPONENTIAL = 0, SIM_LOGNORMAL, SIM_EMPIRICAL, SIM_FIXED };

struct sim_service {
	double rate[SIM_MAX_HOURS][CAT_COUNT];  /* arrivals an hour, by hour from opening and category */
	double english_share;        /* share of its customers served in English, 0..1 */
	enum sim_dist dist;
	double mean_s;               /* service time: mean (exponential, lognormal, fixed) */
	double sd_s;                 /* lognormal: standard deviation */
	const double *empirical;     /* SIM_EMPIRICAL: samples in seconds; not owned */
	int nempirical;
	double no_show;              /* chance a called customer does not come, 0..1 */
	double transfer;             /* chance a served customer is sent on to transfer_to */
	int transfer_to;             /* service index; -1: none */
};

/* One counter: what it serves (policy_counter; `open` is ignored) and when it is open. */
struct sim_counter {
	struct policy_counter pc;
	bool open[SIM_MAX_HOURS];
};

struct sim_scenario {
	int hours;                   /* the day's length from opening, 1..SIM_MAX_HOURS */
	int nservices;
	struct sim_service services[MAX_SERVICES];
	int ncounters;
	struct sim_counter counters[MAX_COUNTERS];
	struct policy_rules rules;   /* boosts and each service's overtime threshold */
	double no_show_s;            /* how long a counter spends on a customer who does not come */
	double warmup_s;             /* customers arriving before this are not measured */
	bool start_at_zero;          /* nobody is called before 0: those who came earlier wait for it */
};

/* One customer of a day, drawn before the day is played. */
struct sim_customer {
	double arrive_s;             /* seconds from opening */
	int service;
	enum category category;
	bool english;
	double service_s;            /* time at the counter in its first service */
	bool no_show;
	int transfer_to;             /* -1: none */
	double transfer_service_s;   /* time at the counter in the service transferred to */
};

/* What became of one customer, as the daily report measures it. */
struct sim_outcome {
	double wait_s;               /* first call of the last leg minus arrival; < 0: never called */
	int service;                 /* of the last leg */
	int hour;                    /* hour of arrival from opening */
	bool overtime;               /* wait (or, never called, the day's end) past the threshold */
	bool measured;               /* arrived at or after the warm-up */
	/* Each leg (two for a transfer) as the hall would have recorded it. */
	int nlegs;                   /* 0: never called */
	struct {
		double called_s;     /* its (first) call */
		double ended_s;      /* served, or the no-show's time spent */
		int counter;         /* index into the scenario's counters */
	} leg[2];
};

struct sim_day {
	struct sim_customer *c;      /* in arrival order */
	struct sim_outcome *o;       /* one per customer, filled by sim_day_run */
	int n, cap;
	double end_s;                /* when the last customer left */
};

/*
 * Check a scenario: hours in range, rates and shares not negative (shares
 * at most 1), service times positive, every counter's services known, a
 * transfer to a known service. 0, or -1 with why (at most whylen) said.
 */
int sim_scenario_check(const struct sim_scenario *sc, char *why, size_t whylen);

/*
 * Draw one day's customers from the scenario into d (whose arrays it grows
 * with realloc; start from a zeroed struct and free with sim_day_free).
 * Arrivals are a Poisson process per service and category whose rate is
 * constant within each hour. 0, or -1 when out of memory.
 */
int sim_day_generate(const struct sim_scenario *sc, struct sim_rng *g, struct sim_day *d);

/*
 * Draw the rest of one customer of service s and category cat arriving at
 * arrive_s (language, service time, no-show, transfer) as sim_day_generate
 * does: for customers already waiting when a simulation starts.
 */
void sim_customer_draw(const struct sim_scenario *sc, struct sim_rng *g, int s, enum category cat,
    double arrive_s, struct sim_customer *x);

/* Make room for n customers in d (for a replayed day). 0, or -1 when out of memory. */
int sim_day_reserve(struct sim_day *d, int n);

/*
 * Play d's customers (in arrival order) through the scenario's counters and
 * rules: whenever a counter is open and free it calls policy_next over the
 * waiting customers. Counters open and close on the hour; one that closes
 * finishes its customer first; after the last hour the counters open in it
 * stay until nobody waits. Fills d->o. 0, or -1 when out of memory.
 */
int sim_day_run(const struct sim_scenario *sc, struct sim_day *d);

void sim_day_free(struct sim_day *d);

/* The figures of one played day, over its measured customers. */
struct sim_stats {
	int n;                       /* measured customers */
	int waited;                  /* of them, waited more than a second… */
	int overtime;                /* …and past their threshold */
	double wait_sum_s;
	double p90_s;                /* nearest-rank 90th percentile of the waits */
	int n_hour[SIM_MAX_HOURS], overtime_hour[SIM_MAX_HOURS];
	int n_green, overtime_green, n_normal, overtime_normal;
	double p90_green_s, p90_normal_s;
	int pushed;                  /* see sim_pushed */
};

/*
 * The figures of a played day. scratch must have room for d->n doubles.
 * `pushed` is left 0.
 */
void sim_stats_of(const struct sim_day *d, struct sim_stats *st, double *scratch);

/*
 * Normal customers pushed past their threshold because a green customer
 * went first: d was played with the scenario's rules, plain with the same
 * customers under rules that give the green channel nothing (no boost, no
 * green window); a normal customer counts when overtime in d and not in
 * plain. Both days must hold the same customers.
 */
int sim_pushed(const struct sim_day *d, const struct sim_day *plain);

/* The scenario without green priority: every boost 0, no green window. */
void sim_scenario_plain(const struct sim_scenario *sc, struct sim_scenario *out);

/* Mean and half-width of its 95 % confidence interval (Student t) of n values. */
void sim_ci95(const double *x, int n, double *mean, double *half);

#endif
