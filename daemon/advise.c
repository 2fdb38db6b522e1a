/*
 * advise.c: the advisor (advise.h).
 */
#include <math.h>
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
	/*
	 * Check: the plan chosen on one seed's customers, simulated again on
	 * customers it has not seen (another seed, twice the days); an hour
	 * that misses there gets a counter back, until none does. Without it,
	 * the counters given back would favour the trials that passed by luck.
	 */
	for (int check = 0; res->met && check < ADVISE_MAX_ROUNDS; check++) {
		if (advise_evaluate(sc, plan, 2 * replications, seed + 1, ev) != 0)
			return -1;
		res->rounds++;
		bool grew = false;
		for (int h = 0; h < sc->hours; h++)
			if (ev[h].n > 0 && ev[h].share + ev[h].half > target && plan[h] < max) {
				plan[h]++;
				grew = true;
			}
		if (!grew)
			break;
	}
	res->met = advise_meets(ev, sc->hours, target);
	for (int h = 0; h < sc->hours; h++) {
		res->hour[h].counters = plan[h];
		res->hour[h].share = ev[h].share;
		res->hour[h].half = ev[h].half;
		res->hour[h].n = ev[h].n;
	}
	return 0;
}

/* ---- a branch: groups of counters that serve the same services ---- */

static bool
same_services(const struct policy_counter *a, const struct policy_counter *b)
{
	bool in[MAX_SERVICES] = { false };

	if (a->nservices != b->nservices)
		return false;
	for (int i = 0; i < a->nservices; i++)
		in[a->services[i]] = true;
	for (int i = 0; i < b->nservices; i++)
		if (!in[b->services[i]])
			return false;
	return true;
}

static bool
serves(const struct policy_counter *c, int s)
{
	for (int i = 0; i < c->nservices; i++)
		if (c->services[i] == s)
			return true;
	return false;
}

void
advise_branch_apply(const struct advise_branch *res, bool erlang, struct sim_scenario *sc)
{
	for (int g = 0; g < res->ngroups; g++) {
		const struct advise_group *G = &res->group[g];
		for (int i = 0; i < G->ncounters; i++)
			for (int h = 0; h < sc->hours; h++)
				sc->counters[G->counter[i]].open[h] =
				    i < (erlang ? G->erlang_c[h] : G->plan[h]);
	}
}

/* Simulate the plan in run (counters' open[] set): each service's share of each hour. */
static int
branch_evaluate(const struct sim_scenario *run, int replications, uint64_t seed,
    double share[][SIM_MAX_HOURS], double half[][SIM_MAX_HOURS], int nrep[][SIM_MAX_HOURS])
{
	struct sim_rng g;
	struct sim_day d = { 0 };
	double *x = calloc((size_t)replications * MAX_SERVICES * SIM_MAX_HOURS, sizeof(*x));
	int rc = -1;

	if (x == NULL)
		return -1;
	memset(nrep, 0, sizeof(int) * MAX_SERVICES * SIM_MAX_HOURS);
	sim_rng_seed(&g, seed);
	for (int r = 0; r < replications; r++) {
		int n[MAX_SERVICES][SIM_MAX_HOURS] = { { 0 } }, over[MAX_SERVICES][SIM_MAX_HOURS] =
		    { { 0 } };
		if (sim_day_generate(run, &g, &d) != 0 || sim_day_run(run, &d) != 0)
			goto out;
		for (int i = 0; i < d.n; i++) {
			const struct sim_outcome *o = &d.o[i];
			if (!o->measured)
				continue;
			n[o->service][o->hour]++;
			over[o->service][o->hour] += o->overtime;
		}
		for (int s = 0; s < run->nservices; s++)
			for (int h = 0; h < run->hours; h++)
				if (n[s][h] > 0)
					x[((size_t)s * SIM_MAX_HOURS + h) * replications +
					    nrep[s][h]++] = (double)over[s][h] / n[s][h];
	}
	for (int s = 0; s < run->nservices; s++)
		for (int h = 0; h < run->hours; h++)
			sim_ci95(&x[((size_t)s * SIM_MAX_HOURS + h) * replications], nrep[s][h],
			    &share[s][h], &half[s][h]);
	rc = 0;
out:
	sim_day_free(&d);
	free(x);
	return rc;
}

/* Whether every service meets its target in every hour it had customers. */
static bool
branch_meets(const struct sim_scenario *sc, const double *target,
    double share[][SIM_MAX_HOURS], double half[][SIM_MAX_HOURS], int nrep[][SIM_MAX_HOURS])
{
	for (int s = 0; s < sc->nservices; s++)
		for (int h = 0; h < sc->hours; h++)
			if (nrep[s][h] > 0 && share[s][h] + half[s][h] > target[s])
				return false;
	return true;
}

int
advise_branch(const struct sim_scenario *sc, const double *target, int replications,
    uint64_t seed, struct advise_branch *res)
{
	struct sim_scenario *run = malloc(sizeof(*run));
	double (*share)[SIM_MAX_HOURS] = res->share, (*half)[SIM_MAX_HOURS] = res->half;
	int (*nrep)[SIM_MAX_HOURS] = res->n;
	int rc = -1;

	if (run == NULL)
		return -1;
	memset(res, 0, sizeof(*res));
	*run = *sc;
	/* The groups, in the order of their first counter. */
	for (int k = 0; k < sc->ncounters; k++) {
		int g = 0;
		while (g < res->ngroups &&
		    !same_services(&sc->counters[res->group[g].counter[0]].pc, &sc->counters[k].pc))
			g++;
		if (g == res->ngroups)
			res->ngroups++;
		res->group[g].counter[res->group[g].ncounters++] = k;
	}
	/* Erlang C: each service's load shared among the groups serving it, by their size. */
	for (int h = 0; h < sc->hours; h++)
		for (int g = 0; g < res->ngroups; g++) {
			struct advise_group *G = &res->group[g];
			const struct policy_counter *pc = &sc->counters[G->counter[0]].pc;
			double load = 0, rate = 0, t_s = INFINITY, tgt = 1;
			for (int i = 0; i < pc->nservices; i++) {
				int s = pc->services[i], size = 0;
				for (int q = 0; q < res->ngroups; q++)
					if (serves(&sc->counters[res->group[q].counter[0]].pc, s))
						size += res->group[q].ncounters;
				double r = 0;
				for (int c = 0; c < CAT_COUNT; c++)
					r += sc->services[s].rate[h][c];
				r *= (double)G->ncounters / size;
				rate += r;
				load += r * sc->services[s].mean_s / 3600.0;
				if ((double)sc->rules.overtime_s[s] < t_s)
					t_s = (double)sc->rules.overtime_s[s];
				if (target[s] < tgt)
					tgt = target[s];
			}
			G->offered[h] = load;
			double mean = rate > 0 ? load * 3600.0 / rate : 1;
			G->erlang_c[h] = rate > 0 ? erlang_staff(load, mean, t_s, tgt, G->ncounters) : 0;
			if (G->erlang_c[h] > G->ncounters)
				G->erlang_c[h] = G->ncounters;
			G->plan[h] = G->erlang_c[h];
		}
	/* Make sure every service has a counter whenever it has customers. */
	for (int h = 0; h < sc->hours; h++)
		for (int s = 0; s < sc->nservices; s++) {
			double r = 0;
			bool covered = false;
			int best = -1;
			for (int c = 0; c < CAT_COUNT; c++)
				r += sc->services[s].rate[h][c];
			for (int g = 0; g < res->ngroups; g++)
				if (serves(&sc->counters[res->group[g].counter[0]].pc, s)) {
					covered = covered || res->group[g].plan[h] > 0;
					if (best < 0)
						best = g;
				}
			if (r > 0 && !covered && best >= 0)
				res->group[best].plan[h] = res->group[best].erlang_c[h] = 1;
		}
	advise_branch_apply(res, true, run);
	if (branch_evaluate(run, replications, seed, res->erlang_share, res->erlang_half,
	    nrep) != 0)
		goto out;
	res->erlang_met = branch_meets(sc, target, res->erlang_share, res->erlang_half, nrep);
	memcpy(share, res->erlang_share, sizeof(res->share));
	memcpy(half, res->erlang_half, sizeof(res->half));
	res->rounds = 1;
	/* Up: in each hour a service misses, one more counter in the busiest group serving it. */
	for (;;) {
		bool grew = false;
		for (int h = 0; h < sc->hours; h++) {
			bool added[ADVISE_MAX_GROUPS] = { false };
			for (int s = 0; s < sc->nservices; s++) {
				if (nrep[s][h] == 0 || share[s][h] + half[s][h] <= target[s])
					continue;
				int best = -1;
				double busiest = -1;
				for (int g = 0; g < res->ngroups; g++) {
					struct advise_group *G = &res->group[g];
					if (!serves(&sc->counters[G->counter[0]].pc, s) ||
					    G->plan[h] >= G->ncounters || added[g])
						continue;
					double per = G->offered[h] / (G->plan[h] + 1);
					if (per > busiest) {
						busiest = per;
						best = g;
					}
				}
				if (best >= 0) {
					res->group[best].plan[h]++;
					added[best] = true;
					grew = true;
				}
			}
		}
		if (!grew || res->rounds >= ADVISE_MAX_ROUNDS)
			break;
		advise_branch_apply(res, false, run);
		if (branch_evaluate(run, replications, seed, share, half, nrep) != 0)
			goto out;
		res->rounds++;
	}
	res->met = branch_meets(sc, target, share, half, nrep);
	/*
	 * Down: one fewer wherever the day still meets every target it met
	 * and no hour that misses gets worse (an hour that even every counter
	 * cannot bring under its target does not keep the other hours from
	 * giving counters back).
	 */
	for (int g = 0; g < res->ngroups; g++)
		for (int h = 0; h < sc->hours; h++) {
			struct advise_group *G = &res->group[g];
			while (G->plan[h] > 0 && res->rounds < 6 * ADVISE_MAX_ROUNDS) {
				double ts[MAX_SERVICES][SIM_MAX_HOURS], th[MAX_SERVICES][SIM_MAX_HOURS];
				int tn[MAX_SERVICES][SIM_MAX_HOURS];
				G->plan[h]--;
				advise_branch_apply(res, false, run);
				if (branch_evaluate(run, replications, seed, ts, th, tn) != 0)
					goto out;
				res->rounds++;
				/* A service left with nobody to call it never meets it. */
				bool ok = true;
				for (int s = 0; s < sc->nservices && ok; s++)
					for (int q = 0; q < sc->hours && ok; q++)
						ok = tn[s][q] == 0 || ts[s][q] + th[s][q] <= target[s] ||
						    (share[s][q] + half[s][q] > target[s] &&
						    ts[s][q] <= share[s][q]);
				for (int s = 0; ok && s < sc->nservices; s++) {
					bool any = false;
					for (int q = 0; q < res->ngroups; q++)
						any = any || (res->group[q].plan[h] > 0 &&
						    serves(&sc->counters[res->group[q].counter[0]].pc, s));
					double r = 0;
					for (int c = 0; c < CAT_COUNT; c++)
						r += sc->services[s].rate[h][c];
					ok = any || r == 0;
				}
				if (!ok) {
					G->plan[h]++;
					break;
				}
				memcpy(share, ts, sizeof(ts));
				memcpy(half, th, sizeof(th));
				memcpy(nrep, tn, sizeof(tn));
			}
		}
	/* Check on customers the plan has not seen, as advise_plan does. */
	for (int check = 0; check < ADVISE_MAX_ROUNDS; check++) {
		double cs[MAX_SERVICES][SIM_MAX_HOURS], ch[MAX_SERVICES][SIM_MAX_HOURS];
		int cn[MAX_SERVICES][SIM_MAX_HOURS];
		advise_branch_apply(res, false, run);
		if (branch_evaluate(run, 2 * replications, seed + 1, cs, ch, cn) != 0)
			goto out;
		res->rounds++;
		memcpy(share, cs, sizeof(cs));
		memcpy(half, ch, sizeof(ch));
		memcpy(nrep, cn, sizeof(cn));
		bool grew = false;
		for (int h = 0; h < sc->hours; h++) {
			bool added[ADVISE_MAX_GROUPS] = { false };
			for (int s = 0; s < sc->nservices; s++) {
				if (cn[s][h] == 0 || cs[s][h] + ch[s][h] <= target[s])
					continue;
				for (int g = 0; g < res->ngroups; g++) {
					struct advise_group *G = &res->group[g];
					if (serves(&sc->counters[G->counter[0]].pc, s) && !added[g] &&
					    G->plan[h] < G->ncounters) {
						G->plan[h]++;
						added[g] = grew = true;
						break;
					}
				}
			}
		}
		if (!grew)
			break;
	}
	res->met = branch_meets(sc, target, share, half, nrep);
	rc = 0;
out:
	free(run);
	return rc;
}
