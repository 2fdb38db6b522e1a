/*
 * simday.c: the simulator on a real branch (simday.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bday.h"
#include "report.h"
#include "simday.h"

#define DAY_S 86400
#define NO_SHOW_S_DEFAULT 60.0

int64_t
simday_open_at(const struct config *cfg, struct date d)
{
	int after = (cfg->advisor.open_min - cfg->day_reset_min + 24 * 60) % (24 * 60);

	return bday_start(d, cfg->day_reset_min) + (int64_t)after * 60;
}

int
simday_hours(const struct config *cfg)
{
	int h = (cfg->advisor.close_min - cfg->advisor.open_min + 59) / 60;

	return h < 1 ? 1 : h > SIM_MAX_HOURS ? SIM_MAX_HOURS : h;
}

void
simday_scenario(const struct config *cfg, struct sim_scenario *sc)
{
	memset(sc, 0, sizeof(*sc));
	sc->hours = simday_hours(cfg);
	sc->nservices = cfg->nservices;
	for (int s = 0; s < cfg->nservices; s++) {
		sc->services[s].dist = SIM_EXPONENTIAL;
		sc->services[s].mean_s = (double)cfg->services[s].service_time_s;
		sc->services[s].transfer_to = -1;
		sc->rules.overtime_s[s] = cfg->services[s].overtime_s;
	}
	for (int c = 0; c < CAT_COUNT; c++)
		sc->rules.boost_s[c] = cfg->boost_s[c];
	sc->ncounters = cfg->ncounters;
	for (int k = 0; k < cfg->ncounters; k++) {
		const struct counter_conf *cc = &cfg->counters[k];
		struct sim_counter *x = &sc->counters[k];
		memcpy(x->pc.services, cc->services, sizeof(x->pc.services));
		x->pc.nservices = cc->nservices;
		x->pc.green = cc->green;
		x->pc.english = cc->english;
		for (int h = 0; h < sc->hours; h++)
			x->open[h] = true;
	}
	sc->no_show_s = NO_SHOW_S_DEFAULT;
}

/* ---- reading the tickets of a day ---- */

struct row {
	int64_t id, origin_id, issued_at, called_at, ended_at, transferred_to;
	int service;                 /* index into cfg->services; -1: no longer configured */
	enum category category;
	enum ticket_status status;
	bool english;
	int counter;                 /* index into cfg->counters; -1: none */
	int next_service;            /* the service of the leg it was transferred to; -1 */
};

static int
read_day(sqlite3 *db, const struct config *cfg, struct date d, struct row **out, int *nout)
{
	static const char sql[] = "SELECT a.id, a.origin_id, a.service, a.category, a.lang, "
	    "a.status, a.issued_at, a.called_at, a.ended_at, a.counter, a.transferred_to, "
	    "b.service FROM tickets a LEFT JOIN tickets b ON b.id = a.transferred_to "
	    "WHERE a.bday = ?1 ORDER BY a.id";
	sqlite3_stmt *st;
	struct row *v = NULL;
	int n = 0, cap = 0, rc;
	char sd[11];

	*out = NULL;
	*nout = 0;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	date_format(d, sd);
	sqlite3_bind_text(st, 1, sd, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			int ncap = cap ? cap * 2 : 512;
			struct row *nv = realloc(v, (size_t)ncap * sizeof(*nv));
			if (nv == NULL) {
				rc = SQLITE_NOMEM;
				break;
			}
			v = nv;
			cap = ncap;
		}
		struct row *r = &v[n++];
		const char *t;
		int x;
		r->id = sqlite3_column_int64(st, 0);
		r->origin_id = sqlite3_column_int64(st, 1);
		t = (const char *)sqlite3_column_text(st, 2);
		r->service = t ? config_service_index(cfg, t) : -1;
		x = category_parse((const char *)sqlite3_column_text(st, 3));
		r->category = x < 0 ? CAT_NORMAL : (enum category)x;
		t = (const char *)sqlite3_column_text(st, 4);
		r->english = t != NULL && strcmp(t, "en") == 0;
		x = status_parse((const char *)sqlite3_column_text(st, 5));
		r->status = x < 0 ? TS_CANCELLED : (enum ticket_status)x;
		r->issued_at = sqlite3_column_int64(st, 6);
		r->called_at = sqlite3_column_int64(st, 7);
		r->ended_at = sqlite3_column_int64(st, 8);
		r->counter = config_counter_index(cfg, sqlite3_column_int(st, 9));
		r->transferred_to = sqlite3_column_int64(st, 10);
		t = (const char *)sqlite3_column_text(st, 11);
		r->next_service = t ? config_service_index(cfg, t) : -1;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(v);
		return -1;
	}
	*out = v;
	*nout = n;
	return 0;
}

/* The hour of the day's plan that instant t falls in, clamped to the plan. */
static int
hour_of(int64_t t, int64_t open, int hours)
{
	int64_t h = t < open ? 0 : (t - open) / 3600;

	return h >= hours ? hours - 1 : (int)h;
}

/* A leg that was at a counter: called, then served, transferred or a no-show. */
static bool
at_counter(const struct row *r)
{
	return r->called_at > 0 && r->ended_at >= r->called_at && r->counter >= 0 &&
	    (r->status == TS_SERVED || r->status == TS_TRANSFERRED || r->status == TS_NO_SHOW);
}

/* ---- fitting ---- */

void
simday_fit_free(struct simday_fit *fit)
{
	for (int s = 0; s < MAX_SERVICES; s++)
		free(fit->samples[s]);
	memset(fit, 0, sizeof(*fit));
}

static int
sample_add(struct simday_fit *fit, int s, double v, int *cap)
{
	if (fit->nsamples[s] == cap[s]) {
		int ncap = cap[s] ? cap[s] * 2 : 256;
		double *nv = realloc(fit->samples[s], (size_t)ncap * sizeof(*nv));
		if (nv == NULL)
			return -1;
		fit->samples[s] = nv;
		cap[s] = ncap;
	}
	fit->samples[s][fit->nsamples[s]++] = v;
	return 0;
}

static int
dbl_cmp(const void *pa, const void *pb)
{
	double a = *(const double *)pa, b = *(const double *)pb;

	return (a > b) - (a < b);
}

/* Keep at most SIM_MAX_EMPIRICAL samples, evenly spread over the sorted ones. */
static void
samples_thin(double *v, int *n)
{
	qsort(v, (size_t)*n, sizeof(v[0]), dbl_cmp);
	if (*n <= SIM_MAX_EMPIRICAL)
		return;
	for (int i = 0; i < SIM_MAX_EMPIRICAL; i++)
		v[i] = v[(int)((int64_t)i * *n / SIM_MAX_EMPIRICAL)];
	*n = SIM_MAX_EMPIRICAL;
}

int
simday_fit(sqlite3 *db, const struct config *cfg, struct date date, struct sim_scenario *sc,
    struct simday_fit *fit, char *why, size_t whylen)
{
	int hours = sc->hours, cap[MAX_SERVICES] = { 0 };
	double first[MAX_SERVICES] = { 0 }, english[MAX_SERVICES] = { 0 };
	double called[MAX_SERVICES] = { 0 }, no_show[MAX_SERVICES] = { 0 };
	double finished[MAX_SERVICES] = { 0 }, moved[MAX_SERVICES] = { 0 };
	int moved_to[MAX_SERVICES][MAX_SERVICES];
	int opened[MAX_COUNTERS][SIM_MAX_HOURS];
	double *noshow_s = NULL;
	int nnoshow = 0, capnoshow = 0;
	int64_t start = bday_start(date, cfg->day_reset_min);

	memset(fit, 0, sizeof(*fit));
	memset(moved_to, 0, sizeof(moved_to));
	memset(opened, 0, sizeof(opened));
	fit->weeks = cfg->advisor.weeks < SIMDAY_MAX_WEEKS ? cfg->advisor.weeks : SIMDAY_MAX_WEEKS;
	for (int s = 0; s < sc->nservices; s++)
		memset(sc->services[s].rate, 0, sizeof(sc->services[s].rate));
	for (int w = 1; w <= fit->weeks; w++) {
		struct date d = bday_of(start - (int64_t)w * 7 * DAY_S + DAY_S / 2, cfg->day_reset_min);
		struct row *rows;
		int n;
		bool called_in[MAX_COUNTERS][SIM_MAX_HOURS];

		fit->looked[w - 1] = d;
		if (read_day(db, cfg, d, &rows, &n) != 0) {
			snprintf(why, whylen, "cannot read the database: %s", sqlite3_errmsg(db));
			free(noshow_s);
			return -1;
		}
		if (n == 0)
			continue;
		fit->days[fit->ndays++] = d;
		memset(called_in, 0, sizeof(called_in));
		int64_t open = simday_open_at(cfg, d);
		for (int i = 0; i < n; i++) {
			const struct row *r = &rows[i];
			if (r->service < 0)
				continue;
			if (r->id == r->origin_id) {
				sc->services[r->service].rate[hour_of(r->issued_at, open, hours)]
				    [r->category] += 1;
				first[r->service]++;
				english[r->service] += r->english;
				fit->tickets++;
			}
			if (!at_counter(r))
				continue;
			called[r->service]++;
			called_in[r->counter][hour_of(r->called_at, open, hours)] = true;
			double spent = (double)(r->ended_at - r->called_at);
			if (r->status == TS_NO_SHOW) {
				no_show[r->service]++;
				if (nnoshow == capnoshow) {
					int ncap = capnoshow ? capnoshow * 2 : 64;
					double *nv = realloc(noshow_s, (size_t)ncap * sizeof(*nv));
					if (nv == NULL)
						goto oom;
					noshow_s = nv;
					capnoshow = ncap;
				}
				noshow_s[nnoshow++] = spent;
				continue;
			}
			finished[r->service]++;
			if (r->status == TS_TRANSFERRED && r->next_service >= 0) {
				moved[r->service]++;
				moved_to[r->service][r->next_service]++;
			}
			if (spent > 0 && sample_add(fit, r->service, spent, cap) != 0)
				goto oom;
		}
		for (int k = 0; k < sc->ncounters && k < MAX_COUNTERS; k++)
			for (int h = 0; h < hours; h++) {
				opened[k][h] += called_in[k][h];
				fit->counters_open[h] += called_in[k][h];
			}
		free(rows);
		continue;
oom:
		free(rows);
		free(noshow_s);
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	if (fit->ndays == 0) {
		char a[11], b[11];
		date_format(fit->looked[fit->weeks - 1], a);
		date_format(fit->looked[0], b);
		snprintf(why, whylen, "no history: none of the %d same weekdays before the date "
		    "(%s … %s) has tickets; give a scenario file instead (docs/advisor.md)",
		    fit->weeks, a, b);
		free(noshow_s);
		return -1;
	}
	for (int s = 0; s < sc->nservices; s++) {
		struct sim_service *v = &sc->services[s];
		for (int h = 0; h < hours; h++)
			for (int c = 0; c < CAT_COUNT; c++)
				v->rate[h][c] /= fit->ndays;
		v->english_share = first[s] > 0 ? english[s] / first[s] : 0;
		v->no_show = called[s] > 0 ? no_show[s] / called[s] : 0;
		v->transfer = finished[s] > 0 ? moved[s] / finished[s] : 0;
		v->transfer_to = -1;
		for (int t = 0, best = 0; t < sc->nservices; t++)
			if (t != s && moved_to[s][t] > best) {
				best = moved_to[s][t];
				v->transfer_to = t;
			}
		if (v->transfer_to < 0)
			v->transfer = 0;
		if (fit->nsamples[s] > 0) {
			samples_thin(fit->samples[s], &fit->nsamples[s]);
			v->dist = SIM_EMPIRICAL;
			v->empirical = fit->samples[s];
			v->nempirical = fit->nsamples[s];
			double sum = 0;
			for (int i = 0; i < v->nempirical; i++)
				sum += v->empirical[i];
			v->mean_s = sum / v->nempirical;
		}
	}
	if (nnoshow > 0) {
		qsort(noshow_s, (size_t)nnoshow, sizeof(noshow_s[0]), dbl_cmp);
		sc->no_show_s = noshow_s[nnoshow / 2];
	}
	free(noshow_s);
	for (int h = 0; h < hours; h++)
		fit->counters_open[h] /= fit->ndays;
	for (int k = 0; k < sc->ncounters; k++)
		for (int h = 0; h < hours; h++)
			sc->counters[k].open[h] = 2 * opened[k][h] >= fit->ndays && opened[k][h] > 0;
	return 0;
}

/* ---- a recorded day ---- */

int
simday_replay(sqlite3 *db, const struct config *cfg, struct date date,
    struct sim_scenario *sc, struct sim_day *d, char *why, size_t whylen)
{
	struct row *rows;
	int n, hours = sc->hours;
	int64_t open = simday_open_at(cfg, date);
	char sd[11];

	date_format(date, sd);
	if (read_day(db, cfg, date, &rows, &n) != 0) {
		snprintf(why, whylen, "cannot read the database: %s", sqlite3_errmsg(db));
		return -1;
	}
	if (n == 0) {
		snprintf(why, whylen, "no tickets on %s: nothing to replay", sd);
		return -1;
	}
	for (int k = 0; k < sc->ncounters; k++)
		memset(sc->counters[k].open, 0, sizeof(sc->counters[k].open));
	d->n = 0;
	/* A no-show holds the counter as long as that day's no-shows did (their mean). */
	double ns_sum = 0;
	int ns_n = 0;
	for (int i = 0; i < n; i++)
		if (at_counter(&rows[i]) && rows[i].status == TS_NO_SHOW) {
			ns_sum += (double)(rows[i].ended_at - rows[i].called_at);
			ns_n++;
		}
	if (ns_n > 0)
		sc->no_show_s = ns_sum / ns_n;
	for (int i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		if (at_counter(r)) {
			int h0 = hour_of(r->called_at, open, hours), h1 = hour_of(r->ended_at, open, hours);
			for (int h = h0; h <= h1; h++)
				sc->counters[r->counter].open[h] = true;
		}
		if (r->id != r->origin_id || r->service < 0 || r->status == TS_CANCELLED)
			continue;
		if (sim_day_reserve(d, d->n + 1) != 0) {
			free(rows);
			snprintf(why, whylen, "out of memory");
			return -1;
		}
		struct sim_customer *x = &d->c[d->n++];
		memset(x, 0, sizeof(*x));
		x->arrive_s = (double)(r->issued_at - open);
		if (x->arrive_s < 0)
			x->arrive_s = 0;
		x->service = r->service;
		x->category = r->category;
		x->english = r->english;
		x->service_s = at_counter(r) ? (double)(r->ended_at - r->called_at) :
		    sc->services[r->service].mean_s;
		x->no_show = r->status == TS_NO_SHOW;
		x->transfer_to = -1;
		if (r->status == TS_TRANSFERRED && r->next_service >= 0) {
			x->transfer_to = r->next_service;
			x->transfer_service_s = sc->services[r->next_service].mean_s;
			/* The next leg's own time at the counter, when it had one. */
			for (int j = i + 1; j < n; j++)
				if (rows[j].id == r->transferred_to) {
					if (at_counter(&rows[j]))
						x->transfer_service_s =
						    (double)(rows[j].ended_at - rows[j].called_at);
					break;
				}
		}
	}
	free(rows);
	if (d->n == 0) {
		snprintf(why, whylen, "no ticket of %s was waiting for a counter: nothing to replay",
		    sd);
		return -1;
	}
	/* Rows come in id order, which is issue order; equal seconds keep it. */
	for (int i = 1; i < d->n; i++)
		if (d->c[i].arrive_s < d->c[i - 1].arrive_s)
			d->c[i].arrive_s = d->c[i - 1].arrive_s;
	return 0;
}

/* ---- the report of simulated days ---- */

/* One played day as the ticket legs the hall would have stored. */
static int
day_legs(const struct config *cfg, const struct sim_day *d, int64_t open, struct report_leg *legs)
{
	int n = 0;

	for (int i = 0; i < d->n; i++) {
		const struct sim_customer *x = &d->c[i];
		const struct sim_outcome *o = &d->o[i];
		struct report_leg *a = &legs[n++];
		int64_t issued = open + (int64_t)floor(x->arrive_s);

		memset(a, 0, sizeof(*a));
		a->id = a->origin_id = 2 * (int64_t)i + 1;
		snprintf(a->number, sizeof(a->number), "%c%03d", cfg->services[x->service].id[0],
		    (i + 1) % 1000);
		a->service = x->service;
		a->category = x->category;
		a->issued_at = a->created_at = issued;
		if (o->nlegs == 0) {
			a->status = TS_WAITING;
			continue;
		}
		a->called_at = open + (int64_t)floor(o->leg[0].called_s);
		a->ended_at = open + (int64_t)floor(o->leg[0].ended_s);
		a->counter = cfg->counters[o->leg[0].counter].number;
		a->status = x->no_show ? TS_NO_SHOW : x->transfer_to >= 0 ? TS_TRANSFERRED : TS_SERVED;
		if (a->status != TS_TRANSFERRED)
			continue;
		struct report_leg *b = &legs[n++];
		memset(b, 0, sizeof(*b));
		a->transferred_to = b->id = 2 * (int64_t)i + 2;
		b->origin_id = a->id;
		memcpy(b->number, a->number, sizeof(b->number));
		b->service = x->transfer_to;
		b->category = x->category;
		b->issued_at = issued;
		b->created_at = a->ended_at;
		if (o->nlegs < 2) {
			b->status = TS_WAITING;
			continue;
		}
		b->called_at = open + (int64_t)floor(o->leg[1].called_s);
		b->ended_at = open + (int64_t)floor(o->leg[1].ended_s);
		b->counter = cfg->counters[o->leg[1].counter].number;
		b->status = TS_SERVED;
	}
	return n;
}

/* The figures that get a 95 % interval beside them. */
static bool
ci_figure(const char *key)
{
	return strcmp(key, "overtime_share") == 0 || strcmp(key, "wait_avg_s") == 0 ||
	    strcmp(key, "wait_p90_s") == 0 || strcmp(key, "pushed_past_threshold") == 0;
}

/* What the report has that a simulated day has not. */
static bool
dropped(const char *key)
{
	static const char *const k[] = { "generated_at", "by_teller", "satisfaction",
		"longest_waits", "so_far", "rated", "ratings", "not_rated", "prompt_not_shown",
		"satisfied_share", "rated_share", "help_calls", "help_acknowledged",
		"help_ack_avg_s", "help_ack_max_s", "reinstated", "reinstated_called",
		"reinstated_wait_avg_s", "reinstated_wait_max_s", NULL };

	for (int i = 0; k[i] != NULL; i++)
		if (strcmp(key, k[i]) == 0)
			return true;
	return false;
}

/* The key that names a row of a report table. */
static const char *
row_key(const json_t *row)
{
	static const char *const k[] = { "service", "category", "hour", "counter", "band",
		"from_s", NULL };

	for (int i = 0; k[i] != NULL; i++)
		if (json_object_get(row, k[i]) != NULL)
			return k[i];
	return NULL;
}

static bool
same_row(const json_t *a, const json_t *b, const char *key)
{
	return json_equal(json_object_get(a, key), json_object_get(b, key));
}

/* Six significant digits, as the report rounds a share, and stable bytes. */
static json_t *
real6(double v)
{
	char buf[32];

	if (!isfinite(v))
		return json_null();
	snprintf(buf, sizeof(buf), "%.6g", v);
	return json_real(strtod(buf, NULL));
}

static json_t *merge(json_t **v, int n, const char *key, double *scratch);

/* Objects: every key any of them has, each merged across those that have it. */
static json_t *
merge_objects(json_t **v, int n, double *scratch)
{
	json_t *out = json_object(), **sub = malloc((size_t)n * sizeof(*sub));

	if (out == NULL || sub == NULL) {
		json_decref(out);
		free(sub);
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		const char *key;
		json_t *x;
		json_object_foreach(v[i], key, x) {
			if (dropped(key) || json_object_get(out, key) != NULL)
				continue;
			int m = 0;
			for (int j = i; j < n; j++) {
				json_t *y = json_object_get(v[j], key);
				if (y != NULL)
					sub[m++] = y;
			}
			json_t *mv = merge(sub, m, key, scratch);
			if (mv == NULL)
				continue;
			json_object_set_new(out, key, mv);
			if (!ci_figure(key))
				continue;
			int k = 0;
			for (int j = 0; j < m; j++)
				if (json_is_number(sub[j]))
					scratch[k++] = json_number_value(sub[j]);
			double mean, half;
			char name[64];
			sim_ci95(scratch, k, &mean, &half);
			double lo = mean - half < 0 ? 0 : mean - half, hi = mean + half;
			if (strcmp(key, "overtime_share") == 0 && hi > 1)
				hi = 1;
			snprintf(name, sizeof(name), "%s_ci", key);
			json_object_set_new(out, name, k > 0 ? json_pack("[oo]", real6(lo), real6(hi)) :
			    json_null());
		}
	}
	/* A group meets its target when its averaged share does. */
	json_t *share = json_object_get(out, "overtime_share"),
	    *target = json_object_get(out, "target_share");
	if (json_is_number(share) && json_is_number(target) && json_object_get(out, "target_met"))
		json_object_set_new(out, "target_met",
		    json_boolean(json_number_value(share) <= json_number_value(target)));
	free(sub);
	return out;
}

/* Tables: their rows matched by what names them, in the order they first appear. */
static json_t *
merge_arrays(json_t **v, int n, double *scratch)
{
	json_t *out = json_array(), **sub = malloc((size_t)n * sizeof(*sub));
	size_t longest = 0;
	int li = 0;

	if (out == NULL || sub == NULL) {
		json_decref(out);
		free(sub);
		return NULL;
	}
	for (int i = 0; i < n; i++)
		if (json_array_size(v[i]) > longest) {
			longest = json_array_size(v[i]);
			li = i;
		}
	const json_t *first = json_array_get(v[li], 0);
	const char *key = json_is_object(first) ? row_key(first) : NULL;
	if (key == NULL) {
		/* Not a table: every day has the same (a pair, a list of names). */
		free(sub);
		json_decref(out);
		return json_deep_copy(v[li]);
	}
	/* Rows of the longest table first, then any row only other days had. */
	for (int pass = 0; pass < 2; pass++)
		for (int i = pass == 0 ? li : 0; i < (pass == 0 ? li + 1 : n); i++) {
			size_t r;
			json_t *row;
			json_array_foreach(v[i], r, row) {
				bool seen = false;
				for (size_t q = 0; q < json_array_size(out) && !seen; q++)
					seen = same_row(json_array_get(out, q), row, key);
				if (seen)
					continue;
				int m = 0;
				for (int j = 0; j < n; j++)
					for (size_t q = 0; q < json_array_size(v[j]); q++)
						if (same_row(json_array_get(v[j], q), row, key)) {
							sub[m++] = json_array_get(v[j], q);
							break;
						}
				json_t *mv = merge(sub, m, NULL, scratch);
				if (mv != NULL)
					json_array_append_new(out, mv);
			}
		}
	free(sub);
	return out;
}

static json_t *
merge(json_t **v, int n, const char *key, double *scratch)
{
	int numbers = 0, k = 0;

	if (n == 0)
		return json_null();
	for (int i = 0; i < n; i++)
		numbers += json_is_number(v[i]);
	if (json_is_object(v[0]))
		return merge_objects(v, n, scratch);
	if (json_is_array(v[0]))
		return merge_arrays(v, n, scratch);
	if (numbers == 0) {
		for (int i = 0; i < n; i++)
			if (!json_is_null(v[i]))
				return json_deep_copy(v[i]);
		return json_null();
	}
	/* What names a row (an hour, a counter) stays as it is. */
	if (key == NULL || strcmp(key, "hour") == 0 || strcmp(key, "counter") == 0 ||
	    strcmp(key, "from_s") == 0 || strcmp(key, "to_s") == 0 ||
	    strcmp(key, "overtime_threshold_s") == 0 || strcmp(key, "bin_s") == 0)
		for (int i = 0; i < n; i++)
			if (json_is_number(v[i]) && (key != NULL || json_is_integer(v[i])))
				return json_deep_copy(v[i]);
	double sum = 0;
	for (int i = 0; i < n; i++)
		if (json_is_number(v[i])) {
			sum += json_number_value(v[i]);
			k++;
		}
	return real6(sum / k);
}

json_t *
simday_report(const struct config *cfg, struct date date, const struct sim_scenario *sc,
    int replications, uint64_t seed, const struct sim_day *replay, bool pushed)
{
	struct sim_scenario *plain = pushed ? malloc(sizeof(*plain)) : NULL;
	struct sim_day d = { 0 }, p = { 0 };
	struct sim_rng g;
	struct report_leg *legs = NULL;
	json_t **reps = calloc((size_t)replications, sizeof(*reps)), *out = NULL;
	double *scratch = malloc((size_t)replications * sizeof(*scratch));
	bool state[MAX_COUNTERS] = { false };
	int64_t open = simday_open_at(cfg, date), start = bday_start(date, cfg->day_reset_min);
	int made = 0;

	if (reps == NULL || scratch == NULL || (pushed && plain == NULL))
		goto out;
	if (pushed)
		sim_scenario_plain(sc, plain);
	sim_rng_seed(&g, seed);
	for (int r = 0; r < replications; r++) {
		if (replay != NULL) {
			if (sim_day_reserve(&d, replay->n) != 0)
				goto out;
			memcpy(d.c, replay->c, (size_t)replay->n * sizeof(*d.c));
			d.n = replay->n;
		} else if (sim_day_generate(sc, &g, &d) != 0) {
			goto out;
		}
		if (sim_day_run(sc, &d) != 0)
			goto out;
		struct report_leg *nl = realloc(legs, (size_t)(2 * d.n + 1) * sizeof(*nl));
		if (nl == NULL)
			goto out;
		legs = nl;
		struct report_day day = { .date = date, .start = start, .legs = legs,
		    .paused_at_start = state };
		struct tm tm;
		time_t t0 = (time_t)start;
		day.close = start + DAY_S;
		if (open + (int64_t)ceil(d.end_s) >= day.close)
			day.close = open + (int64_t)ceil(d.end_s) + 1;
		day.utc_offset_s = localtime_r(&t0, &tm) != NULL ? (int)tm.tm_gmtoff : 0;
		day.nlegs = day_legs(cfg, &d, open, legs);
		struct report *rep = report_new(cfg);
		if (rep == NULL || report_add_day(rep, &day) != 0) {
			report_free(rep);
			goto out;
		}
		reps[r] = report_json(rep, date, date, start);
		report_free(rep);
		if (reps[r] == NULL)
			goto out;
		made++;
		if (pushed) {
			if (sim_day_reserve(&p, d.n) != 0)
				goto out;
			memcpy(p.c, d.c, (size_t)d.n * sizeof(*p.c));
			p.n = d.n;
			if (sim_day_run(plain, &p) != 0)
				goto out;
			json_t *normal = json_object_get(json_object_get(reps[r], "green_vs_normal"),
			    "normal");
			if (normal != NULL)
				json_object_set_new(normal, "pushed_past_threshold",
				    json_integer(sim_pushed(&d, &p)));
		}
		if (replay != NULL)
			break;
	}
	out = merge(reps, made, NULL, scratch);
out:
	for (int r = 0; r < made; r++)
		json_decref(reps[r]);
	free(reps);
	free(scratch);
	free(legs);
	free(plain);
	sim_day_free(&d);
	sim_day_free(&p);
	return out;
}

/* ---- the advice ---- */

void
simday_hour_label(const struct config *cfg, int h, char out[6])
{
	unsigned m = (unsigned)(cfg->advisor.open_min + 60 * h) % (24 * 60);

	snprintf(out, 6, "%02u:%02u", m / 60, m % 60);
}

static json_t *
ci_pair(double m, double half, bool share)
{
	double lo = m - half < 0 ? 0 : m - half, hi = m + half;

	if (share && hi > 1)
		hi = 1;
	return json_pack("[oo]", real6(lo), real6(hi));
}

json_t *
simday_advice(const struct config *cfg, struct date date, const struct sim_scenario *sc,
    int replications, uint64_t seed)
{
	struct advise_branch *res = malloc(sizeof(*res));
	struct sim_scenario *run = malloc(sizeof(*run));
	double target[MAX_SERVICES];
	json_t *j = NULL, *hours, *groups, *plan, *eplan;
	char sd[11], label[6];

	if (res == NULL || run == NULL)
		goto out;
	for (int s = 0; s < cfg->nservices; s++)
		target[s] = cfg->services[s].target_share;
	if (advise_branch(sc, target, replications, seed, res) != 0)
		goto out;
	date_format(date, sd);
	j = json_object();
	hours = json_array();
	groups = json_array();
	plan = json_array();
	eplan = json_array();
	json_object_set_new(j, "date", json_string(sd));
	json_object_set_new(j, "replications", json_integer(replications));
	json_object_set_new(j, "seed", json_integer((json_int_t)seed));
	simday_hour_label(cfg, 0, label);
	json_object_set_new(j, "open", json_string(label));
	simday_hour_label(cfg, sc->hours, label);
	json_object_set_new(j, "close", json_string(label));
	json_object_set_new(j, "met", json_boolean(res->met));
	json_object_set_new(j, "erlang_c_met", json_boolean(res->erlang_met));
	json_object_set_new(j, "rounds", json_integer(res->rounds));
	for (int h = 0; h < sc->hours; h++) {
		int total = 0, etotal = 0;
		double arrivals = 0;
		json_t *bys = json_array();
		for (int g = 0; g < res->ngroups; g++) {
			total += res->group[g].plan[h];
			etotal += res->group[g].erlang_c[h];
		}
		for (int s = 0; s < sc->nservices; s++) {
			double r = 0;
			for (int c = 0; c < CAT_COUNT; c++)
				r += sc->services[s].rate[h][c];
			arrivals += r;
			bool any = res->n[s][h] > 0;
			json_array_append_new(bys, json_pack("{s:s,s:o,s:o,s:o,s:o,s:o,s:o}",
			    "service", cfg->services[s].id, "arrivals", real6(r),
			    "overtime_share", any ? real6(res->share[s][h]) : json_null(),
			    "overtime_share_ci", any ? ci_pair(res->share[s][h], res->half[s][h], true) :
			    json_null(),
			    "erlang_c_overtime_share", any ? real6(res->erlang_share[s][h]) : json_null(),
			    "erlang_c_overtime_share_ci", any ? ci_pair(res->erlang_share[s][h],
			    res->erlang_half[s][h], true) : json_null(),
			    "target_share", real6(cfg->services[s].target_share)));
		}
		simday_hour_label(cfg, h, label);
		json_array_append_new(hours, json_pack("{s:s,s:o,s:i,s:i,s:o}", "hour", label,
		    "arrivals", real6(arrivals), "erlang_c", etotal, "counters", total,
		    "by_service", bys));
		json_array_append_new(plan, json_integer(total));
		json_array_append_new(eplan, json_integer(etotal));
	}
	json_object_set_new(j, "counters_per_hour", plan);
	json_object_set_new(j, "erlang_c_per_hour", eplan);
	json_object_set_new(j, "hours", hours);
	for (int g = 0; g < res->ngroups; g++) {
		const struct advise_group *G = &res->group[g];
		const struct counter_conf *first = &cfg->counters[G->counter[0]];
		json_t *nums = json_array(), *svc = json_array(), *p = json_array(), *e = json_array(),
		    *off = json_array();
		for (int i = 0; i < G->ncounters; i++)
			json_array_append_new(nums, json_integer(cfg->counters[G->counter[i]].number));
		for (int i = 0; i < first->nservices; i++)
			json_array_append_new(svc, json_string(cfg->services[first->services[i]].id));
		for (int h = 0; h < sc->hours; h++) {
			json_array_append_new(p, json_integer(G->plan[h]));
			json_array_append_new(e, json_integer(G->erlang_c[h]));
			json_array_append_new(off, real6(G->offered[h]));
		}
		json_array_append_new(groups, json_pack("{s:o,s:o,s:o,s:o,s:o}", "counters", nums,
		    "services", svc, "offered_erlangs", off, "erlang_c_per_hour", e,
		    "counters_per_hour", p));
	}
	json_object_set_new(j, "groups", groups);
	*run = *sc;
	advise_branch_apply(res, false, run);
	json_t *pred = simday_report(cfg, date, run, replications, seed, NULL, true);
	json_object_set_new(j, "predicted", pred != NULL ? pred : json_null());
out:
	free(res);
	free(run);
	return j;
}

/* ---- the rest of today, from the hall as it stands ---- */

static int
waiting_cmp(const void *pa, const void *pb)
{
	const struct simday_waiting *a = pa, *b = pb;

	return a->issued_at < b->issued_at ? -1 : a->issued_at > b->issued_at;
}

/* Each service's and the whole day's overtime share of one played day into share[], -1: nobody. */
static void
live_shares(const struct sim_day *d, int nservices, double *share, double *total)
{
	int n[MAX_SERVICES] = { 0 }, over[MAX_SERVICES] = { 0 }, all = 0, all_over = 0;

	for (int i = 0; i < d->n; i++) {
		int s = d->o[i].service;
		if (s < 0 || s >= nservices)
			continue;
		n[s]++;
		all++;
		if (d->o[i].overtime) {
			over[s]++;
			all_over++;
		}
	}
	for (int s = 0; s < nservices; s++)
		share[s] = n[s] > 0 ? (double)over[s] / n[s] : -1;
	*total = all > 0 ? (double)all_over / all : -1;
}

/* Mean and 95 % interval of the values of x[0..n) that are not negative (a day without customers). */
static void
live_ci(const double *x, int n, double *scratch, struct simday_share *out)
{
	int k = 0;
	double mean = 0, half = 0;

	for (int i = 0; i < n; i++)
		if (x[i] >= 0)
			scratch[k++] = x[i];
	out->days = k;
	if (k == 0) {
		out->share = out->lo = out->hi = 0;
		return;
	}
	sim_ci95(scratch, k, &mean, &half);
	out->share = mean;
	out->lo = mean - half < 0 ? 0 : mean - half;
	out->hi = mean + half > 1 ? 1 : mean + half;
}

int
simday_live(const struct config *cfg, const struct sim_scenario *fitted, int64_t now,
    const struct simday_waiting *waiting, int nwaiting, const bool open[MAX_COUNTERS],
    int replications, uint64_t seed, struct simday_live *out)
{
	struct sim_scenario *sc = malloc(sizeof(*sc));
	struct simday_waiting *w = NULL;
	struct sim_day d;
	struct sim_rng g;
	double *x = NULL, *xw = NULL, *scratch = NULL, *col = NULL;
	struct date today = bday_of(now, cfg->day_reset_min);
	int64_t open_at = simday_open_at(cfg, today);
	int64_t close_at = open_at + (int64_t)(cfg->advisor.close_min - cfg->advisor.open_min) * 60;
	int ns = fitted->nservices, rc = -1, R = replications < 1 ? 1 : replications;

	memset(out, 0, sizeof(*out));
	memset(&d, 0, sizeof(d));
	out->counter = -1;
	out->waiting = nwaiting;
	if (sc == NULL)
		return -1;
	if (now < open_at || now >= close_at) {
		/* Outside the hours the advisor plans: nothing to say. */
		free(sc);
		return 0;
	}
	out->in_hours = true;
	double off = (double)(now - open_at);
	int hours = (int)((close_at - now + 3599) / 3600);
	if (hours > SIM_MAX_HOURS)
		hours = SIM_MAX_HOURS;
	*sc = *fitted;
	sc->hours = hours;
	sc->warmup_s = 0;
	sc->start_at_zero = true;
	/* The rest of the day's arrivals, its hours counted from now: each a mix of the two it spans. */
	for (int s = 0; s < ns; s++) {
		for (int k = 0; k < hours; k++) {
			double from = off + k * 3600.0, to = from + 3600.0;
			for (int c = 0; c < CAT_COUNT; c++) {
				double r = 0;
				for (int h = (int)(from / 3600); h < fitted->hours && h * 3600.0 < to; h++) {
					double a = fmax(from, h * 3600.0), b = fmin(to, (h + 1) * 3600.0);
					if (b > a)
						r += fitted->services[s].rate[h][c] * (b - a) / 3600.0;
				}
				sc->services[s].rate[k][c] = r;
				out->arrivals += r;
			}
		}
	}
	for (int k = 0; k < sc->ncounters; k++)
		for (int h = 0; h < SIM_MAX_HOURS; h++)
			sc->counters[k].open[h] = open[k];
	if ((w = malloc(sizeof(*w) * (size_t)(nwaiting > 0 ? nwaiting : 1))) == NULL ||
	    (x = malloc(sizeof(*x) * (size_t)R * (MAX_SERVICES + 1))) == NULL ||
	    (xw = malloc(sizeof(*xw) * (size_t)R * (MAX_SERVICES + 1))) == NULL ||
	    (scratch = malloc(sizeof(*scratch) * (size_t)R)) == NULL ||
	    (col = malloc(sizeof(*col) * (size_t)R)) == NULL)
		goto out;
	if (nwaiting > 0)
		memcpy(w, waiting, sizeof(*w) * (size_t)nwaiting);
	qsort(w, (size_t)nwaiting, sizeof(*w), waiting_cmp);

	/* Which counter to open: the first closed one serving the service furthest over. */
	sim_rng_seed(&g, seed);
	for (int pass = 0; pass < 2; pass++) {
		double *into = pass == 0 ? x : xw;
		if (pass == 1) {
			int worst = -1;
			double by = 0;
			for (int s = 0; s < ns; s++) {
				double over = out->service[s].share - cfg->services[s].target_share;
				if (out->service[s].days > 0 && over > by) {
					by = over;
					worst = s;
				}
			}
			for (int k = 0; worst >= 0 && k < sc->ncounters && out->counter < 0; k++)
				for (int i = 0; !open[k] && i < sc->counters[k].pc.nservices; i++)
					if (sc->counters[k].pc.services[i] == worst)
						out->counter = k;
			if (out->counter < 0)
				break;
			for (int h = 0; h < SIM_MAX_HOURS; h++)
				sc->counters[out->counter].open[h] = true;
			/* The same customers through the other plan: common random numbers. */
			sim_rng_seed(&g, seed);
		}
		for (int r = 0; r < R; r++) {
			if (sim_day_generate(sc, &g, &d) != 0 || sim_day_reserve(&d, d.n + nwaiting) != 0)
				goto out;
			if (d.n > 0 && nwaiting > 0)
				memmove(d.c + nwaiting, d.c, sizeof(*d.c) * (size_t)d.n);
			for (int i = 0; i < nwaiting; i++) {
				sim_customer_draw(sc, &g, w[i].service, w[i].category,
				    (double)(w[i].issued_at - now), &d.c[i]);
				d.c[i].english = w[i].english;
			}
			d.n += nwaiting;
			if (sim_day_run(sc, &d) != 0)
				goto out;
			live_shares(&d, ns, into + (size_t)r * (MAX_SERVICES + 1),
			    into + (size_t)r * (MAX_SERVICES + 1) + MAX_SERVICES);
		}
		for (int s = 0; s <= ns; s++) {
			int at = s == ns ? MAX_SERVICES : s;
			for (int r = 0; r < R; r++)
				col[r] = into[(size_t)r * (MAX_SERVICES + 1) + at];
			struct simday_share *o = pass == 0 ? (s == ns ? &out->total : &out->service[s]) :
			    (s == ns ? &out->total_with : &out->service_with[s]);
			live_ci(col, R, scratch, o);
		}
	}
	for (int s = 0; s < ns; s++)
		if (out->service[s].days > 0 && out->service[s].share > cfg->services[s].target_share)
			out->on = true;
	rc = 0;
out:
	sim_day_free(&d);
	free(col);
	free(scratch);
	free(xw);
	free(x);
	free(w);
	free(sc);
	return rc;
}
