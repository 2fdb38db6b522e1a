/*
 * advise.c: the advisor (advise.h).
 */
#include <stdlib.h>
#include <string.h>

#include "advise.h"
#include "erlang.h"

int
advise_evaluate(const struct sim_scenario *sc, const int *plan, int replications,
    uint64_t seed, struct advise_hour *out)
{
	struct sim_scenario *run = malloc(sizeof(*run));   /* 40 KB: off the stack */
	struct sim_rng g;
	struct sim_day d = { 0 };
	double *share = calloc((size_t)replications * SIM_MAX_HOURS, sizeof(*share));
	double *scratch = NULL;
	int *nrep = calloc(SIM_MAX_HOURS, sizeof(*nrep));
	int rc = -1;

	if (run == NULL || share == NULL || nrep == NULL)
		goto out;
	*run = *sc;
	for (int k = 0; k < run->ncounters; k++)
		for (int h = 0; h < run->hours; h++)
			run->counters[k].open[h] = k < plan[h];
	sim_rng_seed(&g, seed);
	for (int r = 0; r < replications; r++) {
		struct sim_stats st;
		if (sim_day_generate(run, &g, &d) != 0 || sim_day_run(run, &d) != 0)
			goto out;
		double *grown = realloc(scratch, (size_t)(d.n > 0 ? d.n : 1) * sizeof(*scratch));
		if (grown == NULL)
			goto out;
		scratch = grown;
		sim_stats_of(&d, &st, scratch);
		for (int h = 0; h < run->hours; h++)
			if (st.n_hour[h] > 0)
				share[h * replications + nrep[h]++] =
				    (double)st.overtime_hour[h] / st.n_hour[h];
	}
	for (int h = 0; h < run->hours; h++) {
		sim_ci95(&share[h * replications], nrep[h], &out[h].share, &out[h].half);
		out[h].n = nrep[h];
	}
	rc = 0;
out:
	free(nrep);
	free(share);
	free(scratch);
	sim_day_free(&d);
	free(run);
	return rc;
}

bool
advise_meets(const struct advise_hour *h, int hours, double target)
{
	for (int i = 0; i < hours; i++)
		if (h[i].n > 0 && h[i].share + h[i].half > target)
			return false;
	return true;
}

int
advise_plan(const struct sim_scenario *sc, double mean_service_s, double target,
    int replications, uint64_t seed, struct advise_result *res)
{
	int plan[SIM_MAX_HOURS];
	struct advise_hour ev[SIM_MAX_HOURS];
	int max = sc->ncounters;

	memset(res, 0, sizeof(*res));
	for (int h = 0; h < sc->hours; h++) {
		double rate = 0;
		for (int s = 0; s < sc->nservices; s++)
			for (int c = 0; c < CAT_COUNT; c++)
				rate += sc->services[s].rate[h][c];
		struct advise_hour *x = &res->hour[h];
		x->offered = rate * mean_service_s / 3600.0;
		x->erlang_c = erlang_staff(x->offered, mean_service_s,
		    (double)sc->rules.overtime_s[0], target, max);
		if (x->erlang_c > max)
			x->erlang_c = max;
		plan[h] = x->erlang_c > 0 ? x->erlang_c : 1;
	}
	/* Up: every hour that misses gets one more, until none misses. */
	for (;;) {
		if (advise_evaluate(sc, plan, replications, seed, ev) != 0)
			return -1;
		res->rounds++;
		bool grew = false;
		for (int h = 0; h < sc->hours; h++)
			if (ev[h].n > 0 && ev[h].share + ev[h].half > target && plan[h] < max) {
				plan[h]++;
				grew = true;
			}
		if (!grew || res->rounds >= ADVISE_MAX_ROUNDS)
			break;
	}
	res->met = advise_meets(ev, sc->hours, target);
	/* Down: one fewer wherever the whole day still meets the target. */
	for (int h = 0; res->met && h < sc->hours; h++) {
		while (plan[h] > 1 && res->rounds < 4 * ADVISE_MAX_ROUNDS) {
			struct advise_hour trial[SIM_MAX_HOURS];
			plan[h]--;
			if (advise_evaluate(sc, plan, replications, seed, trial) != 0)
				return -1;
			res->rounds++;
			if (!advise_meets(trial, sc->hours, target)) {
				plan[h]++;
				break;
			}
			memcpy(ev, trial, sizeof(ev));
		}
	}
	for (int h = 0; h < sc->hours; h++) {
		res->hour[h].counters = plan[h];
		res->hour[h].share = ev[h].share;
		res->hour[h].half = ev[h].half;
		res->hour[h].n = ev[h].n;
	}
	return 0;
}
