/*
 * sim_cli.c: `branchqd simulate` and `branchqd advise`, the simulator and
 * the staffing advisor from the command line (docs/advisor.md).
 *
 *   branchqd simulate --scenario FILE [--replications R] [--seed S]
 *                     [--boost CATEGORY=DURATION]... [--green-window N]
 *                     [--english-window N] [--format json|csv|html]
 *   branchqd simulate --mm-c --arrivals-per-hour N[,N…] --mean-service-min M
 *                     (--counters C --hours H | --counters-per-hour C,C…)
 *                     --threshold-min T [--open HH:MM] [--replications R]
 *                     [--seed S] [--format json|csv|html]
 *   branchqd advise   --arrivals-per-hour N,N… --mean-service-min M
 *                     --threshold-min T --target P [--open HH:MM]
 *                     [--max-counters C] [--replications R] [--seed S]
 *                     [--format json|csv|html]
 *   branchqd advise   --scenario FILE [--target P] …
 *
 * The commands only read their inputs and print; the work is sim.c,
 * erlang.c and advise.c, which are pure. The same arguments and seed
 * print the same bytes.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ini.h>
#include <sqlite3.h>
#include <jansson.h>

#include "advise.h"
#include "config.h"
#include "erlang.h"
#include "sim.h"
#include "sim_cli.h"
#include "simday.h"
#include "report.h"
#include "bday.h"

#define CLI_DEFAULT_REPLICATIONS 200
#define CLI_MAX_REPLICATIONS 100000
#define CLI_MAX_COUNTERS 64

/* ---- strict parsing of the arguments ---- */

static int
cli_double(const char *s, double *out)
{
	char *end;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	double v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

static int
cli_long(const char *s, long lo, long hi, long *out)
{
	char *end;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* A comma-separated list of numbers; returns how many (1..max) or -1. */
static int
cli_list(const char *s, double *out, int max)
{
	char buf[1024];
	int n = 0;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	for (char *save = NULL, *p = strtok_r(buf, ",", &save); p != NULL;
	    p = strtok_r(NULL, ",", &save)) {
		while (isspace((unsigned char)*p))
			p++;
		if (n >= max || cli_double(p, &out[n]) != 0)
			return -1;
		n++;
	}
	return n > 0 ? n : -1;
}

/* A share: "0.05" or "5%". */
static int
cli_share(const char *s, double *out)
{
	char buf[64];
	size_t len = strlen(s);
	double v;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	bool pct = buf[len - 1] == '%';
	if (pct)
		buf[len - 1] = '\0';
	if (cli_double(buf, &v) != 0)
		return -1;
	if (pct)
		v /= 100.0;
	if (v < 0 || v > 1)
		return -1;
	*out = v;
	return 0;
}

/* "HH:MM" as minutes after midnight. */
static int
cli_hhmm(const char *s, int *out)
{
	if (strlen(s) != 5 || !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) ||
	    s[2] != ':' || !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
		return -1;
	int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
	if (h > 23 || m > 59)
		return -1;
	*out = h * 60 + m;
	return 0;
}

static void
cli_hour_label(int open_min, int h, char out[6])
{
	unsigned m = (unsigned)(open_min + 60 * h) % (24 * 60);

	snprintf(out, 6, "%02u:%02u", (m / 60) % 24, m % 60);
}

/* ---- the scenario file (INI, docs/advisor.md) ---- */

struct scen_parse {
	struct sim_scenario *sc;
	struct sim_cli_day *day;
	const char *path;
	FILE *f;
	int line;                    /* of the line inih last read */
	int errors;
	bool have_hours;
};

/* inih's reader: fgets that counts lines, for file:line messages. */
static char *
scen_read_line(char *str, int num, void *stream)
{
	struct scen_parse *p = stream;
	char *r = fgets(str, num, p->f);

	if (r != NULL)
		p->line++;
	return r;
}

static void
scen_error(struct scen_parse *p, int line, const char *what, const char *v)
{
	fprintf(stderr, "%s:%d: %s%s%s\n", p->path, line, what, v ? ": " : "", v ? v : "");
	p->errors++;
}

static bool
scen_bool(const char *v, bool *out)
{
	if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
		*out = true;
	else if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
		*out = false;
	else
		return false;
	return true;
}

/* A service letter already declared, or -1. */
static int
scen_service(const struct sim_cli_day *day, const char *id)
{
	for (int s = 0; s < day->nservices; s++)
		if (strcmp(day->service_id[s], id) == 0)
			return s;
	return -1;
}

static int
scen_section_service(struct scen_parse *p, const char *section, int line)
{
	const char *id = section + strlen("service ");
	int s = scen_service(p->day, id);

	if (s >= 0)
		return s;
	if (strlen(id) != 1 || id[0] < 'A' || id[0] > 'Z' || p->day->nservices >= MAX_SERVICES) {
		scen_error(p, line, "a service is one letter A-Z", id);
		return -1;
	}
	s = p->day->nservices++;
	p->sc->nservices = p->day->nservices;
	strcpy(p->day->service_id[s], id);
	p->sc->services[s].transfer_to = -1;
	p->sc->rules.overtime_s[s] = 20 * 60;
	p->day->target[s] = 0.05;
	p->sc->services[s].dist = SIM_EXPONENTIAL;
	p->sc->services[s].mean_s = 300;
	return s;
}

static int
scen_counter(struct scen_parse *p, const char *section, int line)
{
	long num;
	const char *v = section + strlen("counter ");

	for (int k = 0; k < p->sc->ncounters; k++)
		if (p->day->counter_number[k] == atoi(v))
			return k;
	if (cli_long(v, 1, MAX_COUNTER_NUMBER, &num) != 0 || p->sc->ncounters >= MAX_COUNTERS) {
		scen_error(p, line, "a counter is a number 1-999", v);
		return -1;
	}
	int k = p->sc->ncounters++;
	p->day->counter_number[k] = (int)num;
	for (int h = 0; h < SIM_MAX_HOURS; h++)
		p->sc->counters[k].open[h] = true;
	return k;
}

static int
scen_handle(void *user, const char *section, const char *name, const char *v)
{
	struct scen_parse *p = user;
	int line = p->line;
	struct sim_scenario *sc = p->sc;
	double list[SIM_MAX_HOURS];
	int64_t dur;

	if (name == NULL)
		return 1;
	if (strcmp(section, "day") == 0) {
		long n;
		if (strcmp(name, "open") == 0) {
			if (cli_hhmm(v, &p->day->open_min) != 0)
				scen_error(p, line, "open must be HH:MM", v);
		} else if (strcmp(name, "hours") == 0) {
			if (cli_long(v, 1, SIM_MAX_HOURS, &n) != 0)
				scen_error(p, line, "hours must be 1-24", v);
			else {
				sc->hours = (int)n;
				p->have_hours = true;
			}
		} else if (strcmp(name, "no_show_time") == 0) {
			if (config_parse_duration(v, &dur) != 0)
				scen_error(p, line, "no_show_time must be a duration", v);
			else
				sc->no_show_s = (double)dur;
		} else {
			scen_error(p, line, "unknown key in [day]", name);
		}
		return 1;
	}
	if (strcmp(section, "green") == 0) {
		int c = category_parse(name);
		if (c <= CAT_NORMAL || c >= CAT_COUNT)
			scen_error(p, line, "unknown green category", name);
		else if (config_parse_duration(v, &dur) != 0)
			scen_error(p, line, "a head start must be a duration", v);
		else
			sc->rules.boost_s[c] = dur;
		return 1;
	}
	if (strncmp(section, "service ", 8) == 0) {
		int s = scen_section_service(p, section, line);
		if (s < 0)
			return 1;
		struct sim_service *sv = &sc->services[s];
		int c = category_parse(strcmp(name, "arrivals") == 0 ? "normal" : name);
		if (c >= 0 && c < CAT_COUNT) {
			int n = cli_list(v, list, SIM_MAX_HOURS);
			if (n < 0) {
				scen_error(p, line, "arrivals are a list of numbers, one an hour", v);
				return 1;
			}
			for (int h = 0; h < n; h++) {
				if (list[h] < 0)
					scen_error(p, line, "an arrival rate is negative", v);
				sv->rate[h][c] = list[h];
			}
			p->day->rate_len[s][c] = n;
		} else if (strcmp(name, "overtime") == 0) {
			if (config_parse_duration(v, &dur) != 0)
				scen_error(p, line, "overtime must be a duration", v);
			else
				sc->rules.overtime_s[s] = dur;
		} else if (strcmp(name, "target") == 0) {
			if (cli_share(v, &p->day->target[s]) != 0)
				scen_error(p, line, "target must be a share, 0.05 or 5%", v);
		} else if (strcmp(name, "service_time") == 0) {
			char kind[16];
			char a[32] = "", b[32] = "";
			int64_t m = 0, sd = 0;
			int k = sscanf(v, "%15s %31s %31s", kind, a, b);
			if (k >= 2 && config_parse_duration(a, &m) == 0 && m > 0 &&
			    strcmp(kind, "exponential") == 0 && k == 2) {
				sv->dist = SIM_EXPONENTIAL;
			} else if (k == 2 && config_parse_duration(a, &m) == 0 && m > 0 &&
			    strcmp(kind, "fixed") == 0) {
				sv->dist = SIM_FIXED;
			} else if (k == 3 && strcmp(kind, "lognormal") == 0 &&
			    config_parse_duration(a, &m) == 0 && m > 0 &&
			    config_parse_duration(b, &sd) == 0 && sd > 0) {
				sv->dist = SIM_LOGNORMAL;
				sv->sd_s = (double)sd;
			} else {
				scen_error(p, line, "service_time is exponential MEAN, fixed TIME or "
				    "lognormal MEAN SD", v);
				return 1;
			}
			sv->mean_s = (double)m;
		} else if (strcmp(name, "english") == 0 || strcmp(name, "no_show") == 0) {
			double x;
			if (cli_share(v, &x) != 0)
				scen_error(p, line, "a share must be 0 to 1 or 0% to 100%", v);
			else if (name[0] == 'e')
				sv->english_share = x;
			else
				sv->no_show = x;
		} else if (strcmp(name, "transfer") == 0) {
			char share[32], to[8];
			double x;
			if (sscanf(v, "%31s %7s", share, to) != 2 || cli_share(share, &x) != 0) {
				scen_error(p, line, "transfer is SHARE SERVICE, 2% B", v);
				return 1;
			}
			sv->transfer = x;
			snprintf(p->day->transfer_id[s], sizeof(p->day->transfer_id[s]), "%s", to);
			p->day->transfer_line[s] = line;
		} else if (strcmp(name, "name") != 0) {
			scen_error(p, line, "unknown key in a service", name);
		}
		return 1;
	}
	if (strncmp(section, "counter ", 8) == 0) {
		int k = scen_counter(p, section, line);
		if (k < 0)
			return 1;
		struct sim_counter *ct = &sc->counters[k];
		bool b;
		if (strcmp(name, "services") == 0) {
			char buf[128];
			snprintf(buf, sizeof(buf), "%s", v);
			ct->pc.nservices = 0;
			for (char *save = NULL, *t = strtok_r(buf, " ,", &save); t != NULL;
			    t = strtok_r(NULL, " ,", &save)) {
				int s = scen_service(p->day, t);
				if (s < 0) {
					scen_error(p, line, "unknown service (declare its [service X] "
					    "first)", t);
					continue;
				}
				if (ct->pc.nservices < MAX_SERVICES)
					ct->pc.services[ct->pc.nservices++] = s;
			}
		} else if (strcmp(name, "green") == 0 || strcmp(name, "english") == 0) {
			if (!scen_bool(v, &b))
				scen_error(p, line, "must be yes or no", v);
			else if (name[0] == 'g')
				ct->pc.green = b;
			else
				ct->pc.english = b;
		} else if (strcmp(name, "open") == 0) {
			if (strcmp(v, "all") == 0)
				return 1;
			int n = cli_list(v, list, SIM_MAX_HOURS);
			if (n < 0) {
				scen_error(p, line, "open is all, or a list of 1 and 0, one an hour", v);
				return 1;
			}
			for (int h = 0; h < n; h++) {
				if (list[h] != 0 && list[h] != 1)
					scen_error(p, line, "open takes 1 or 0 for each hour", v);
				ct->open[h] = list[h] == 1;
			}
			p->day->open_len[k] = n;
		} else {
			scen_error(p, line, "unknown key in a counter", name);
		}
		return 1;
	}
	scen_error(p, line, "unknown section", section);
	return 1;
}

int
sim_cli_load_scenario(const char *path, struct sim_scenario *sc, struct sim_cli_day *day)
{
	struct scen_parse p = { sc, day, path, NULL, 0, 0, false };
	FILE *f = fopen(path, "r");

	memset(sc, 0, sizeof(*sc));
	memset(day, 0, sizeof(*day));
	day->open_min = 9 * 60;
	sc->no_show_s = 60;
	if (f == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	p.f = f;
	int rc = ini_parse_stream(scen_read_line, &p, scen_handle, &p);
	fclose(f);
	if (rc > 0)
		scen_error(&p, rc, "not INI syntax", NULL);
	if (!p.have_hours)
		scen_error(&p, 0, "[day] hours is missing", NULL);
	for (int s = 0; s < day->nservices; s++) {
		if (sc->services[s].transfer > 0) {
			int to = scen_service(day, day->transfer_id[s]);
			if (to < 0)
				scen_error(&p, day->transfer_line[s], "transfer to an unknown service",
				    day->transfer_id[s]);
			sc->services[s].transfer_to = to;
		}
		for (int c = 0; c < CAT_COUNT; c++)
			if (day->rate_len[s][c] != 0 && day->rate_len[s][c] != sc->hours)
				scen_error(&p, 0, "an arrivals list must have one rate for each hour "
				    "of the day", day->service_id[s]);
	}
	for (int k = 0; k < sc->ncounters; k++)
		if (day->open_len[k] != 0 && day->open_len[k] != sc->hours)
			scen_error(&p, 0, "a counter's open list must have one entry for each hour",
			    NULL);
	if (p.errors == 0) {
		char why[160];
		if (sim_scenario_check(sc, why, sizeof(why)) != 0) {
			fprintf(stderr, "%s: %s\n", path, why);
			p.errors++;
		}
	}
	return p.errors == 0 ? 0 : -1;
}

/* ---- running replications ---- */

/* Per replication figures, kept for the means and intervals. */
struct cli_reps {
	int n;
	double *mean_wait, *p_wait, *share, *p90, *share_green, *share_normal;
	double *p90_green, *p90_normal, *pushed, *customers;
	double *hour_share[SIM_MAX_HOURS];
	int hour_n[SIM_MAX_HOURS];
};

static void
cli_reps_free(struct cli_reps *r)
{
	free(r->mean_wait);
	free(r->p_wait);
	free(r->share);
	free(r->p90);
	free(r->share_green);
	free(r->share_normal);
	free(r->p90_green);
	free(r->p90_normal);
	free(r->pushed);
	free(r->customers);
	for (int h = 0; h < SIM_MAX_HOURS; h++)
		free(r->hour_share[h]);
}

static int
cli_reps_alloc(struct cli_reps *r, int n)
{
	memset(r, 0, sizeof(*r));
	double **all[] = { &r->mean_wait, &r->p_wait, &r->share, &r->p90, &r->share_green,
		&r->share_normal, &r->p90_green, &r->p90_normal, &r->pushed, &r->customers };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if ((*all[i] = calloc((size_t)n, sizeof(double))) == NULL)
			return -1;
	for (int h = 0; h < SIM_MAX_HOURS; h++)
		if ((r->hour_share[h] = calloc((size_t)n, sizeof(double))) == NULL)
			return -1;
	return 0;
}

/*
 * Simulate R replications of sc from seed; with `pushed`, each day is
 * played again without green priority to count the normal customers it
 * pushed past their threshold.
 */
static int
cli_replicate(const struct sim_scenario *sc, int reps, uint64_t seed, bool pushed,
    struct cli_reps *out)
{
	struct sim_scenario *plain = malloc(sizeof(*plain));
	struct sim_rng g;
	struct sim_day d = { 0 }, p = { 0 };
	double *scratch = NULL;
	int rc = -1;

	if (plain == NULL || cli_reps_alloc(out, reps) != 0)
		goto out;
	sim_scenario_plain(sc, plain);
	sim_rng_seed(&g, seed);
	for (int r = 0; r < reps; r++) {
		struct sim_stats st;
		if (sim_day_generate(sc, &g, &d) != 0 || sim_day_run(sc, &d) != 0)
			goto out;
		double *grown = realloc(scratch, (size_t)(d.n > 0 ? d.n : 1) * sizeof(*scratch));
		if (grown == NULL)
			goto out;
		scratch = grown;
		sim_stats_of(&d, &st, scratch);
		if (pushed) {
			if (sim_day_reserve(&p, d.n) != 0)
				goto out;
			memcpy(p.c, d.c, (size_t)d.n * sizeof(*d.c));
			p.n = d.n;
			if (sim_day_run(plain, &p) != 0)
				goto out;
			st.pushed = sim_pushed(&d, &p);
		}
		int called = 0;
		for (int i = 0; i < d.n; i++)
			called += d.o[i].measured && d.o[i].wait_s >= 0;
		out->customers[r] = st.n;
		out->mean_wait[r] = called > 0 ? st.wait_sum_s / called : 0;
		out->p_wait[r] = st.n > 0 ? (double)st.waited / st.n : 0;
		out->share[r] = st.n > 0 ? (double)st.overtime / st.n : 0;
		out->p90[r] = st.p90_s;
		out->share_green[r] = st.n_green > 0 ? (double)st.overtime_green / st.n_green : 0;
		out->share_normal[r] = st.n_normal > 0 ? (double)st.overtime_normal / st.n_normal : 0;
		out->p90_green[r] = st.p90_green_s;
		out->p90_normal[r] = st.p90_normal_s;
		out->pushed[r] = st.pushed;
		for (int h = 0; h < sc->hours; h++)
			if (st.n_hour[h] > 0)
				out->hour_share[h][out->hour_n[h]++] =
				    (double)st.overtime_hour[h] / st.n_hour[h];
	}
	out->n = reps;
	rc = 0;
out:
	free(plain);
	free(scratch);
	sim_day_free(&d);
	sim_day_free(&p);
	return rc;
}

/* ---- output ---- */

/* Six significant digits: the report's rounding of a share, and stable bytes. */
static json_t *
cli_real(double v)
{
	char buf[32];

	if (!isfinite(v))
		return json_null();
	snprintf(buf, sizeof(buf), "%.6g", v);
	return json_real(strtod(buf, NULL));
}

static void
cli_ci(json_t *o, const char *name, const double *x, int n)
{
	double m, half;
	char key[64];

	sim_ci95(x, n, &m, &half);
	json_object_set_new(o, name, n > 0 ? cli_real(m) : json_null());
	snprintf(key, sizeof(key), "%s_ci", name);
	json_object_set_new(o, key, n > 0 ? json_pack("[oo]", cli_real(m - half),
	    cli_real(m + half)) : json_null());
}

static json_t *
cli_reals(const double *v, int n)
{
	json_t *a = json_array();

	for (int i = 0; i < n; i++)
		json_array_append_new(a, cli_real(v[i]));
	return a;
}

static json_t *
cli_ints(const int *v, int n)
{
	json_t *a = json_array();

	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_integer(v[i]));
	return a;
}

static void
cli_per_hour(json_t *o, const struct cli_reps *r, int hours, int open_min)
{
	json_t *share = json_array(), *ci = json_array(), *by = json_array();

	for (int h = 0; h < hours; h++) {
		double m, half;
		char label[6];
		sim_ci95(r->hour_share[h], r->hour_n[h], &m, &half);
		cli_hour_label(open_min, h, label);
		bool any = r->hour_n[h] > 0;
		json_array_append_new(share, any ? cli_real(m) : json_null());
		json_array_append_new(ci, any ? json_pack("[oo]", cli_real(m - half),
		    cli_real(m + half)) : json_null());
		json_array_append_new(by, json_pack("{s:s, s:o, s:o}", "hour", label,
		    "overtime_share", any ? cli_real(m) : json_null(), "overtime_share_ci",
		    any ? json_pack("[oo]", cli_real(m - half), cli_real(m + half)) : json_null()));
	}
	json_object_set_new(o, "overtime_share_per_hour", share);
	json_object_set_new(o, "overtime_share_per_hour_ci", ci);
	json_object_set_new(o, "by_hour", by);
}

/* A CSV or HTML rendering: one row per figure, the JSON flattened. */
static void
cli_flat(FILE *f, const char *prefix, const json_t *v, bool html)
{
	json_t *x;
	char name[256];

	if (json_is_object(v)) {
		const char *key;
		json_object_foreach((json_t *)v, key, x) {
			snprintf(name, sizeof(name), "%s%s%s", prefix, *prefix ? "." : "", key);
			cli_flat(f, name, x, html);
		}
		return;
	}
	if (json_is_array(v)) {
		size_t i;
		json_array_foreach(v, i, x) {
			snprintf(name, sizeof(name), "%s[%zu]", prefix, i);
			cli_flat(f, name, x, html);
		}
		return;
	}
	char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(6));
	const char *t = text != NULL ? text : "";
	if (json_is_string(v))
		t = json_string_value(v);
	if (html)
		fprintf(f, "<tr><th>%s</th><td>%s</td></tr>\n", prefix, t);
	else
		fprintf(f, "%s,%s\r\n", prefix, t);
	free(text);
}

static int
cli_print(const json_t *o, const char *format, const char *title)
{
	if (strcmp(format, "json") == 0) {
		char *s = json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
		if (s == NULL)
			return 1;
		fputs(s, stdout);
		fputc('\n', stdout);
		free(s);
	} else if (strcmp(format, "csv") == 0) {
		fputs("figure,value\r\n", stdout);
		cli_flat(stdout, "", o, false);
	} else {
		printf("<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
		    "<title>%s</title></head><body><h1>%s</h1>\n<table>\n", title, title);
		cli_flat(stdout, "", o, true);
		fputs("</table></body></html>\n", stdout);
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

/* ---- the shared options ---- */

struct cli_opts {
	const char *scenario, *format;
	double rates[SIM_MAX_HOURS];
	int nrates;
	double plan_d[SIM_MAX_HOURS];
	int nplan;
	double mean_service_min, threshold_min, target;
	long counters, hours, reps, max_counters;
	uint64_t seed;
	int open_min;
	bool mmc, have_mean, have_threshold, have_target, have_counters, have_hours;
	int64_t boost[CAT_COUNT];
	bool boost_set[CAT_COUNT];
	int green_window, english_window;
	const char *config, *db;
	struct date date, replay;
	bool have_date, have_replay, have_reps;
	long weeks;
};

enum {
	OPT_SCENARIO = 256, OPT_MMC, OPT_ARRIVALS, OPT_MEAN, OPT_COUNTERS, OPT_PLAN, OPT_HOURS,
	OPT_THRESHOLD, OPT_REPS, OPT_SEED, OPT_FORMAT, OPT_OPEN, OPT_TARGET, OPT_MAXC,
	OPT_BOOST, OPT_GREENW, OPT_ENGW, OPT_CONFIG, OPT_DB, OPT_DATE, OPT_REPLAY, OPT_WEEKS,
};

static int
cli_bad(const char *cmd, const char *opt, const char *what)
{
	fprintf(stderr, "branchqd %s: --%s %s\n", cmd, opt, what);
	return 2;
}

static int
cli_parse(const char *cmd, int argc, char **argv, struct cli_opts *o)
{
	static const struct option longopts[] = {
		{ "scenario", required_argument, NULL, OPT_SCENARIO },
		{ "mm-c", no_argument, NULL, OPT_MMC },
		{ "arrivals-per-hour", required_argument, NULL, OPT_ARRIVALS },
		{ "mean-service-min", required_argument, NULL, OPT_MEAN },
		{ "counters", required_argument, NULL, OPT_COUNTERS },
		{ "counters-per-hour", required_argument, NULL, OPT_PLAN },
		{ "hours", required_argument, NULL, OPT_HOURS },
		{ "threshold-min", required_argument, NULL, OPT_THRESHOLD },
		{ "replications", required_argument, NULL, OPT_REPS },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "open", required_argument, NULL, OPT_OPEN },
		{ "target", required_argument, NULL, OPT_TARGET },
		{ "max-counters", required_argument, NULL, OPT_MAXC },
		{ "boost", required_argument, NULL, OPT_BOOST },
		{ "green-window", required_argument, NULL, OPT_GREENW },
		{ "english-window", required_argument, NULL, OPT_ENGW },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "db", required_argument, NULL, OPT_DB },
		{ "date", required_argument, NULL, OPT_DATE },
		{ "replay", required_argument, NULL, OPT_REPLAY },
		{ "weeks", required_argument, NULL, OPT_WEEKS },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	long v;

	memset(o, 0, sizeof(*o));
	o->format = "json";
	o->reps = CLI_DEFAULT_REPLICATIONS;
	o->seed = 1;
	o->open_min = 9 * 60;
	o->max_counters = 20;
	optind = 1;
	opterr = 1;
	while ((ch = getopt_long(argc, argv, "f:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
		case OPT_CONFIG: o->config = optarg; break;
		case OPT_DB: o->db = optarg; break;
		case OPT_DATE:
		case OPT_REPLAY:
			if (date_parse(optarg, ch == OPT_DATE ? &o->date : &o->replay) != 0)
				return cli_bad(cmd, ch == OPT_DATE ? "date" : "replay",
				    "must be a date, YYYY-MM-DD");
			if (ch == OPT_DATE)
				o->have_date = true;
			else
				o->have_replay = true;
			break;
		case OPT_WEEKS:
			if (cli_long(optarg, 1, SIMDAY_MAX_WEEKS, &o->weeks) != 0)
				return cli_bad(cmd, "weeks", "must be 1 to 52");
			break;
		case OPT_SCENARIO: o->scenario = optarg; break;
		case OPT_MMC: o->mmc = true; break;
		case OPT_ARRIVALS:
			o->nrates = cli_list(optarg, o->rates, SIM_MAX_HOURS);
			if (o->nrates < 0)
				return cli_bad(cmd, "arrivals-per-hour", "takes numbers, comma-separated, "
				    "at most 24");
			for (int i = 0; i < o->nrates; i++)
				if (o->rates[i] < 0)
					return cli_bad(cmd, "arrivals-per-hour", "must not be negative");
			break;
		case OPT_MEAN:
			if (cli_double(optarg, &o->mean_service_min) != 0 || o->mean_service_min <= 0)
				return cli_bad(cmd, "mean-service-min", "must be a positive number");
			o->have_mean = true;
			break;
		case OPT_COUNTERS:
			if (cli_long(optarg, 1, CLI_MAX_COUNTERS, &o->counters) != 0)
				return cli_bad(cmd, "counters", "must be 1 to 64");
			o->have_counters = true;
			break;
		case OPT_PLAN:
			o->nplan = cli_list(optarg, o->plan_d, SIM_MAX_HOURS);
			if (o->nplan < 0)
				return cli_bad(cmd, "counters-per-hour", "takes whole numbers, "
				    "comma-separated");
			for (int i = 0; i < o->nplan; i++)
				if (o->plan_d[i] < 0 || o->plan_d[i] > CLI_MAX_COUNTERS ||
				    o->plan_d[i] != floor(o->plan_d[i]))
					return cli_bad(cmd, "counters-per-hour", "takes whole numbers "
					    "0 to 64");
			break;
		case OPT_HOURS:
			if (cli_long(optarg, 1, SIM_MAX_HOURS, &o->hours) != 0)
				return cli_bad(cmd, "hours", "must be 1 to 24");
			o->have_hours = true;
			break;
		case OPT_THRESHOLD:
			if (cli_double(optarg, &o->threshold_min) != 0 || o->threshold_min < 0)
				return cli_bad(cmd, "threshold-min", "must be a number of minutes, not "
				    "negative");
			o->have_threshold = true;
			break;
		case OPT_REPS:
			if (cli_long(optarg, 2, CLI_MAX_REPLICATIONS, &o->reps) != 0)
				return cli_bad(cmd, "replications", "must be 2 to 100000");
			o->have_reps = true;
			break;
		case OPT_SEED: {
			char *end;
			errno = 0;
			unsigned long long s = strtoull(optarg, &end, 10);
			if (!isdigit((unsigned char)*optarg) || *end != '\0' || errno != 0)
				return cli_bad(cmd, "seed", "must be a whole number");
			o->seed = s;
			break;
		}
		case OPT_FORMAT:
			if (strcmp(optarg, "json") != 0 && strcmp(optarg, "csv") != 0 &&
			    strcmp(optarg, "html") != 0)
				return cli_bad(cmd, "format", "must be json, csv or html");
			o->format = optarg;
			break;
		case OPT_OPEN:
			if (cli_hhmm(optarg, &o->open_min) != 0)
				return cli_bad(cmd, "open", "must be HH:MM");
			break;
		case OPT_TARGET:
			if (cli_share(optarg, &o->target) != 0)
				return cli_bad(cmd, "target", "must be a share, 0.05 or 5%");
			o->have_target = true;
			break;
		case OPT_MAXC:
			if (cli_long(optarg, 1, CLI_MAX_COUNTERS, &o->max_counters) != 0)
				return cli_bad(cmd, "max-counters", "must be 1 to 64");
			break;
		case OPT_BOOST: {
			char buf[64];
			int64_t dur;
			snprintf(buf, sizeof(buf), "%s", optarg);
			char *eq = strchr(buf, '=');
			if (eq == NULL)
				return cli_bad(cmd, "boost", "is CATEGORY=DURATION, elderly=15m");
			*eq = '\0';
			int c = category_parse(buf);
			if (c <= CAT_NORMAL || c >= CAT_COUNT)
				return cli_bad(cmd, "boost", "names an unknown green category");
			if (config_parse_duration(eq + 1, &dur) != 0)
				return cli_bad(cmd, "boost", "needs a duration, 15m");
			o->boost[c] = dur;
			o->boost_set[c] = true;
			break;
		}
		case OPT_GREENW:
		case OPT_ENGW:
			if (cli_long(optarg, 1, MAX_COUNTER_NUMBER, &v) != 0)
				return cli_bad(cmd, ch == OPT_GREENW ? "green-window" : "english-window",
				    "must be a counter number");
			if (ch == OPT_GREENW)
				o->green_window = (int)v;
			else
				o->english_window = (int)v;
			break;
		default:
			fprintf(stderr, "branchqd %s: see docs/advisor.md for the options\n", cmd);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "branchqd %s: unexpected argument %s\n", cmd, argv[optind]);
		return 2;
	}
	return 0;
}

/* One service, identical counters: the textbook and checking forms. */
static int
cli_one_service(const char *cmd, const struct cli_opts *o, int hours, int ncounters,
    struct sim_scenario *sc)
{
	memset(sc, 0, sizeof(*sc));
	sc->hours = hours;
	sc->nservices = 1;
	sc->services[0].dist = SIM_EXPONENTIAL;
	sc->services[0].mean_s = o->mean_service_min * 60.0;
	sc->services[0].transfer_to = -1;
	for (int h = 0; h < hours; h++)
		sc->services[0].rate[h][CAT_NORMAL] = o->nrates == 1 ? o->rates[0] : o->rates[h];
	sc->rules.overtime_s[0] = (int64_t)llround(o->threshold_min * 60.0);
	sc->ncounters = ncounters;
	for (int k = 0; k < ncounters; k++) {
		sc->counters[k].pc.services[0] = 0;
		sc->counters[k].pc.nservices = 1;
	}
	char why[160];
	if (sim_scenario_check(sc, why, sizeof(why)) != 0) {
		fprintf(stderr, "branchqd %s: %s\n", cmd, why);
		return 2;
	}
	return 0;
}

/* The what-if options over a scenario: other boosts, a moved green or English window. */
static int
cli_what_if(const struct cli_opts *o, struct sim_scenario *sc, const struct sim_cli_day *day)
{
	for (int c = 0; c < CAT_COUNT; c++)
		if (o->boost_set[c])
			sc->rules.boost_s[c] = o->boost[c];
	for (int pass = 0; pass < 2; pass++) {
		int num = pass == 0 ? o->green_window : o->english_window;
		if (num == 0)
			continue;
		int found = -1;
		for (int k = 0; k < sc->ncounters; k++)
			if (day->counter_number[k] == num)
				found = k;
		if (found < 0) {
			fprintf(stderr, "branchqd simulate: --%s-window: the scenario has no counter "
			    "%d\n", pass == 0 ? "green" : "english", num);
			return 2;
		}
		for (int k = 0; k < sc->ncounters; k++) {
			if (pass == 0)
				sc->counters[k].pc.green = k == found;
			else
				sc->counters[k].pc.english = k == found;
		}
	}
	return 0;
}

/* ---- a branch: its config and its database, or a scenario as one ---- */

#define CLI_DAY_S 86400

/* A scenario file's day as a branch config, so the report's core can count it. */
static void
cli_scenario_config(const struct sim_scenario *sc, const struct sim_cli_day *day,
    struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->name_zh, sizeof(cfg->name_zh), "模拟");
	snprintf(cfg->name_en, sizeof(cfg->name_en), "Simulated branch");
	snprintf(cfg->timezone, sizeof(cfg->timezone), "UTC");
	cfg->nservices = sc->nservices;
	for (int s = 0; s < sc->nservices; s++) {
		struct service_conf *v = &cfg->services[s];
		memcpy(v->id, day->service_id[s], sizeof(v->id));
		memcpy(v->name_zh, v->id, sizeof(v->id));
		memcpy(v->name_en, v->id, sizeof(v->id));
		v->overtime_s = sc->rules.overtime_s[s];
		v->target_share = day->target[s];
		v->service_time_s = (int64_t)llround(sc->services[s].mean_s);
	}
	cfg->ncounters = sc->ncounters;
	for (int k = 0; k < sc->ncounters; k++) {
		struct counter_conf *c = &cfg->counters[k];
		c->number = day->counter_number[k];
		memcpy(c->services, sc->counters[k].pc.services, sizeof(c->services));
		c->nservices = sc->counters[k].pc.nservices;
		c->green = sc->counters[k].pc.green;
		c->english = sc->counters[k].pc.english;
		snprintf(c->name_zh, sizeof(c->name_zh), "%d 号窗口", c->number);
		snprintf(c->name_en, sizeof(c->name_en), "Counter %d", c->number);
	}
	for (int c = 0; c < CAT_COUNT; c++)
		cfg->boost_s[c] = sc->rules.boost_s[c];
	cfg->advisor.open_min = day->open_min;
	cfg->advisor.close_min = day->open_min + 60 * sc->hours;
	cfg->advisor.replications = CLI_DEFAULT_REPLICATIONS;
	cfg->advisor.weeks = 8;
}

/* A scenario's day: --date, else a fixed one, so the same arguments print the same bytes. */
static struct date
cli_scenario_date(const struct cli_opts *o)
{
	static const struct date fixed = { 2000, 1, 3 };

	return o->have_date ? o->date : fixed;
}

/* The branch's config (its time zone set) and its database, read-only. */
static int
cli_branch_open(const char *cmd, const struct cli_opts *o, const char *default_config,
    struct config *cfg, sqlite3 **db)
{
	const char *path = o->config != NULL ? o->config : default_config;

	*db = NULL;
	if (config_load(path, cfg, stderr) > 0) {
		fprintf(stderr, "branchqd %s: %s has errors\n", cmd, path);
		return 2;
	}
	if (bday_set_timezone(cfg->timezone) != 0) {
		fprintf(stderr, "branchqd %s: unknown time zone %s\n", cmd, cfg->timezone);
		return 1;
	}
	if (o->weeks > 0)
		cfg->advisor.weeks = (int)o->weeks;
	const char *dbp = o->db != NULL ? o->db : cfg->database;
	if (sqlite3_open_v2(dbp, db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		fprintf(stderr, "branchqd %s: %s: %s\n", cmd, dbp, *db ? sqlite3_errmsg(*db) :
		    "out of memory");
		sqlite3_close(*db);
		*db = NULL;
		return 1;
	}
	sqlite3_busy_timeout(*db, 2000);
	return 0;
}

/* The business day after today's. */
static struct date
cli_tomorrow(const struct config *cfg)
{
	struct date today = bday_of((int64_t)time(NULL), cfg->day_reset_min);

	return bday_of(bday_start(today, cfg->day_reset_min) + CLI_DAY_S + CLI_DAY_S / 2,
	    cfg->day_reset_min);
}

/* What the simulated figures rest on, before them in the output. */
static void
cli_header(json_t *j, const char *source, const struct cli_opts *o, int reps,
    const struct config *cfg, const struct sim_scenario *sc)
{
	json_t *boosts = json_object(), *plan = json_array();
	char label[6];

	json_object_set_new(j, "source", json_string(source));
	json_object_set_new(j, "replications", json_integer(reps));
	json_object_set_new(j, "seed", json_integer((json_int_t)o->seed));
	simday_hour_label(cfg, 0, label);
	json_object_set_new(j, "open", json_string(label));
	simday_hour_label(cfg, sc->hours, label);
	json_object_set_new(j, "close", json_string(label));
	for (int c = CAT_NORMAL + 1; c < CAT_COUNT; c++)
		json_object_set_new(boosts, category_name((enum category)c),
		    json_integer(sc->rules.boost_s[c]));
	json_object_set_new(j, "boost_s", boosts);
	for (int h = 0; h < sc->hours; h++) {
		json_t *open = json_array();
		for (int k = 0; k < sc->ncounters; k++)
			if (sc->counters[k].open[h])
				json_array_append_new(open, json_integer(cfg->counters[k].number));
		simday_hour_label(cfg, h, label);
		json_array_append_new(plan, json_pack("{s:s,s:o}", "hour", label, "counters", open));
	}
	json_object_set_new(j, "plan", plan);
}

static void
cli_history(json_t *j, const struct simday_fit *fit)
{
	json_t *days = json_array();
	char sd[11];

	for (int i = 0; i < fit->ndays; i++) {
		date_format(fit->days[i], sd);
		json_array_append_new(days, json_string(sd));
	}
	json_object_set_new(j, "history", json_pack("{s:i,s:o,s:i}", "weeks", fit->weeks,
	    "days", days, "tickets", fit->tickets));
}

/* A simulated daily report: its JSON, or the report's own CSV and HTML. */
static int
cli_print_report(const json_t *j, const char *format)
{
	char *out;
	size_t len;

	if (strcmp(format, "json") == 0) {
		out = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
		len = out != NULL ? strlen(out) : 0;
	} else if (strcmp(format, "csv") == 0) {
		out = report_csv(j, &len);
	} else {
		out = report_html(j, &len);
	}
	if (out == NULL) {
		fprintf(stderr, "branchqd: out of memory\n");
		return 1;
	}
	int bad = fwrite(out, 1, len, stdout) != len ||
	    (strcmp(format, "json") == 0 && fputc('\n', stdout) == EOF) || fflush(stdout) != 0;
	free(out);
	return bad ? 1 : 0;
}

/* The counters of a branch config, for the what-if options. */
static void
cli_config_day(const struct config *cfg, struct sim_cli_day *day)
{
	memset(day, 0, sizeof(*day));
	day->open_min = cfg->advisor.open_min;
	day->nservices = cfg->nservices;
	for (int k = 0; k < cfg->ncounters; k++)
		day->counter_number[k] = cfg->counters[k].number;
}

/* Move the report's figures under the header's. */
static json_t *
cli_join(json_t *head, json_t *rep)
{
	const char *key;
	json_t *v;

	if (rep == NULL) {
		json_decref(head);
		return NULL;
	}
	json_object_foreach(rep, key, v) {
		json_object_set(head, key, v);
	}
	json_decref(rep);
	return head;
}

static int
cli_simulate_branch(const struct cli_opts *o, const char *default_config)
{
	static struct config cfg;
	struct sim_scenario *sc = malloc(sizeof(*sc));
	struct simday_fit fit;
	struct sim_day d = { 0 };
	struct sim_cli_day day;
	sqlite3 *db = NULL;
	json_t *j = NULL;
	char why[256] = "";
	int rc;

	memset(&fit, 0, sizeof(fit));
	if (sc == NULL)
		return 1;
	if ((rc = cli_branch_open("simulate", o, default_config, &cfg, &db)) != 0)
		goto out;
	int reps = o->have_reps ? (int)o->reps : cfg.advisor.replications;
	simday_scenario(&cfg, sc);
	cli_config_day(&cfg, &day);
	rc = 1;
	if (o->have_replay) {
		if (simday_replay(db, &cfg, o->replay, sc, &d, why, sizeof(why)) != 0) {
			fprintf(stderr, "branchqd simulate: --replay: %s\n", why);
			rc = 2;
			goto out;
		}
		j = json_object();
		cli_header(j, "replay", o, 1, &cfg, sc);
		j = cli_join(j, simday_report(&cfg, o->replay, sc, 1, o->seed, &d, false));
		json_t *rec = NULL;
		if (j != NULL && report_build(db, &cfg, o->replay, o->replay, (int64_t)time(NULL), 1,
		    &rec, why, sizeof(why)) == BQ_OK) {
			json_object_set(j, "recorded", json_object_get(rec, "totals"));
			json_decref(rec);
		}
	} else {
		if (simday_fit(db, &cfg, o->date, sc, &fit, why, sizeof(why)) != 0) {
			fprintf(stderr, "branchqd simulate: --date: %s\n", why);
			rc = 2;
			goto out;
		}
		if ((rc = cli_what_if(o, sc, &day)) != 0)
			goto out;
		rc = 1;
		j = json_object();
		cli_header(j, "history", o, reps, &cfg, sc);
		cli_history(j, &fit);
		j = cli_join(j, simday_report(&cfg, o->date, sc, reps, o->seed, NULL, true));
	}
	if (j == NULL) {
		fprintf(stderr, "branchqd simulate: out of memory\n");
		goto out;
	}
	rc = cli_print_report(j, o->format);
out:
	json_decref(j);
	simday_fit_free(&fit);
	sim_day_free(&d);
	sqlite3_close(db);
	free(sc);
	return rc;
}

static int
cli_simulate_scenario(const struct cli_opts *o)
{
	static struct config cfg;
	struct sim_scenario *sc = malloc(sizeof(*sc));
	struct sim_cli_day day;
	int rc = 1;

	memset(&day, 0, sizeof(day));
	if (sc == NULL)
		return 1;
	if (sim_cli_load_scenario(o->scenario, sc, &day) != 0) {
		rc = 2;
		goto out;
	}
	if ((rc = cli_what_if(o, sc, &day)) != 0)
		goto out;
	rc = 1;
	cli_scenario_config(sc, &day, &cfg);
	if (bday_set_timezone("UTC") != 0)
		goto out;
	json_t *j = json_object();
	json_object_set_new(j, "scenario", json_string(o->scenario));
	cli_header(j, "scenario", o, (int)o->reps, &cfg, sc);
	j = cli_join(j, simday_report(&cfg, cli_scenario_date(o), sc, (int)o->reps, o->seed,
	    NULL, true));
	if (j == NULL) {
		fprintf(stderr, "branchqd simulate: out of memory\n");
		goto out;
	}
	rc = cli_print_report(j, o->format);
	json_decref(j);
out:
	free(sc);
	return rc;
}

/* The advice for a branch day (history) or a scenario's day. */
static int
cli_advise_day(const struct cli_opts *o, const char *default_config)
{
	static struct config cfg;
	struct sim_scenario *sc = malloc(sizeof(*sc));
	struct simday_fit fit;
	struct sim_cli_day day;
	sqlite3 *db = NULL;
	json_t *j = NULL;
	struct date date;
	char why[256] = "";
	int rc, reps;

	memset(&fit, 0, sizeof(fit));
	memset(&day, 0, sizeof(day));
	if (sc == NULL)
		return 1;
	if (o->scenario != NULL) {
		if (sim_cli_load_scenario(o->scenario, sc, &day) != 0) {
			rc = 2;
			goto out;
		}
		cli_scenario_config(sc, &day, &cfg);
		rc = 1;
		if (bday_set_timezone("UTC") != 0)
			goto out;
		date = cli_scenario_date(o);
		reps = (int)o->reps;
	} else {
		if ((rc = cli_branch_open("advise", o, default_config, &cfg, &db)) != 0)
			goto out;
		simday_scenario(&cfg, sc);
		date = o->have_date ? o->date : cli_tomorrow(&cfg);
		if (simday_fit(db, &cfg, date, sc, &fit, why, sizeof(why)) != 0) {
			fprintf(stderr, "branchqd advise: %s\n", why);
			rc = 2;
			goto out;
		}
		reps = o->have_reps ? (int)o->reps : cfg.advisor.replications;
	}
	cli_config_day(&cfg, &day);
	if ((rc = cli_what_if(o, sc, &day)) != 0)
		goto out;
	rc = 1;
	j = simday_advice(&cfg, date, sc, reps, o->seed);
	if (j == NULL) {
		fprintf(stderr, "branchqd advise: out of memory\n");
		goto out;
	}
	json_object_set_new(j, "source", json_string(o->scenario ? "scenario" : "history"));
	if (o->scenario == NULL)
		cli_history(j, &fit);
	rc = cli_print(j, o->format, "排班建议 Staffing advice");
	if (rc == 0 && !json_is_true(json_object_get(j, "met"))) {
		fprintf(stderr, "branchqd advise: even every counter cannot meet the target in "
		    "every hour\n");
		rc = 3;
	}
out:
	json_decref(j);
	simday_fit_free(&fit);
	sqlite3_close(db);
	free(sc);
	return rc;
}

int
sim_cli_simulate(int argc, char **argv, const char *default_config)
{
	struct cli_opts o;
	int rc = cli_parse("simulate", argc, argv, &o);

	if (rc != 0)
		return rc;
	if (o.scenario != NULL)
		return o.mmc || o.nrates > 0 || o.have_replay ? cli_bad("simulate", "scenario",
		    "goes alone, without --mm-c, --arrivals-per-hour or --replay") :
		    cli_simulate_scenario(&o);
	if (o.have_date && o.have_replay)
		return cli_bad("simulate", "replay", "goes alone, without --date");
	if (o.have_date || o.have_replay) {
		if (o.mmc || o.nrates > 0)
			return cli_bad("simulate", o.have_date ? "date" : "replay", "simulates the "
			    "branch of --config: it goes without --mm-c or --arrivals-per-hour");
		return cli_simulate_branch(&o, default_config);
	}
	if (!o.mmc) {
		fprintf(stderr, "branchqd simulate: give --date D, --replay D, --scenario FILE or "
		    "--mm-c (docs/advisor.md)\n");
		return 2;
	}
	if (o.nrates < 1 || !o.have_mean || !o.have_threshold)
		return cli_bad("simulate", "mm-c", "needs --arrivals-per-hour, --mean-service-min "
		    "and --threshold-min");

	/* Steady state: one rate, C counters, H hours, the first hour a warm-up. */
	bool steady = o.nrates == 1 && o.nplan == 0;
	int hours, plan[SIM_MAX_HOURS], maxc = 0;
	if (steady) {
		if (!o.have_counters || !o.have_hours)
			return cli_bad("simulate", "mm-c", "with one rate needs --counters and --hours "
			    "(or --counters-per-hour)");
		hours = (int)o.hours;
		for (int h = 0; h < hours; h++)
			plan[h] = (int)o.counters;
	} else {
		hours = o.nrates > 1 ? o.nrates : o.nplan;
		if (o.have_hours && o.hours != hours)
			return cli_bad("simulate", "hours", "must match the lists' length");
		if (o.nplan == 0 && o.have_counters) {
			for (int h = 0; h < hours; h++)
				plan[h] = (int)o.counters;
		} else if (o.nplan != hours || (o.nrates != 1 && o.nrates != hours)) {
			fprintf(stderr, "branchqd simulate: --counters-per-hour has %d entries, "
			    "--arrivals-per-hour %d: give one of each per hour\n", o.nplan, o.nrates);
			return 2;
		} else {
			for (int h = 0; h < hours; h++)
				plan[h] = (int)o.plan_d[h];
		}
	}
	for (int h = 0; h < hours; h++)
		if (plan[h] > maxc)
			maxc = plan[h];

	struct sim_scenario *sc = malloc(sizeof(*sc));
	struct cli_reps r;
	memset(&r, 0, sizeof(r));
	if (sc == NULL)
		return 1;
	if ((rc = cli_one_service("simulate", &o, hours, maxc, sc)) != 0) {
		free(sc);
		return rc;
	}
	for (int k = 0; k < maxc; k++)
		for (int h = 0; h < hours; h++)
			sc->counters[k].open[h] = k < plan[h];
	/* A quarter of the day: long enough for an empty branch to reach steady state at 0.9. */
	sc->warmup_s = steady ? hours * 3600.0 / 4 : 0;
	if (cli_replicate(sc, (int)o.reps, o.seed, false, &r) != 0) {
		fprintf(stderr, "branchqd simulate: out of memory\n");
		cli_reps_free(&r);
		free(sc);
		return 1;
	}
	json_t *j = json_object();
	char open[6];
	cli_hour_label(o.open_min, 0, open);
	json_object_set_new(j, "model", json_string("mm-c"));
	json_object_set_new(j, "replications", json_integer(o.reps));
	json_object_set_new(j, "seed", json_integer((json_int_t)o.seed));
	json_object_set_new(j, "open", json_string(open));
	json_object_set_new(j, "hours", json_integer(hours));
	json_object_set_new(j, "arrivals_per_hour", cli_reals(o.rates, o.nrates));
	json_object_set_new(j, "counters_per_hour", cli_ints(plan, hours));
	json_object_set_new(j, "mean_service_s", cli_real(sc->services[0].mean_s));
	json_object_set_new(j, "threshold_s", json_integer(sc->rules.overtime_s[0]));
	json_object_set_new(j, "warmup_s", cli_real(sc->warmup_s));
	cli_ci(j, "customers", r.customers, r.n);
	cli_ci(j, "mean_wait_s", r.mean_wait, r.n);
	cli_ci(j, "p_wait", r.p_wait, r.n);
	cli_ci(j, "overtime_share", r.share, r.n);
	cli_ci(j, "wait_p90_s", r.p90, r.n);
	if (steady) {
		double a = o.rates[0] * o.mean_service_min / 60.0, s = sc->services[0].mean_s;
		json_object_set_new(j, "erlang_c", json_pack("{s:o, s:o, s:o}",
		    "mean_wait_s", cli_real(erlang_mean_wait(plan[0], a, s)),
		    "p_wait", cli_real(erlang_c(plan[0], a)),
		    "overtime_share", cli_real(erlang_p_wait_over(plan[0], a, s,
		    (double)sc->rules.overtime_s[0]))));
	}
	cli_per_hour(j, &r, hours, o.open_min);
	rc = cli_print(j, o.format, "模拟 M/M/c");
	json_decref(j);
	cli_reps_free(&r);
	free(sc);
	return rc;
}

static int
cli_advise_print(const struct cli_opts *o, const struct sim_scenario *sc, int open_min,
    double target, const struct advise_result *res)
{
	json_t *j = json_object(), *hours = json_array();
	int plan[SIM_MAX_HOURS], ec[SIM_MAX_HOURS];
	double share[SIM_MAX_HOURS];
	json_t *ci = json_array();
	char open[6];

	cli_hour_label(open_min, 0, open);
	for (int h = 0; h < sc->hours; h++) {
		const struct advise_hour *x = &res->hour[h];
		char label[6];
		cli_hour_label(open_min, h, label);
		plan[h] = x->counters;
		ec[h] = x->erlang_c;
		share[h] = x->share;
		json_array_append_new(ci, json_pack("[oo]", cli_real(x->share - x->half),
		    cli_real(x->share + x->half)));
		json_array_append_new(hours, json_pack("{s:s, s:o, s:i, s:i, s:i, s:o, s:[oo], "
		    "s:b}", "hour", label, "offered_erlangs", cli_real(x->offered),
		    "erlang_c_counters", x->erlang_c, "correction", x->counters - x->erlang_c,
		    "counters", x->counters, "overtime_share", cli_real(x->share),
		    "overtime_share_ci", cli_real(x->share - x->half), cli_real(x->share + x->half),
		    "target_met", x->n == 0 || x->share + x->half <= target));
	}
	json_object_set_new(j, "open", json_string(open));
	json_object_set_new(j, "target", cli_real(target));
	json_object_set_new(j, "confidence", cli_real(0.95));
	json_object_set_new(j, "threshold_s", json_integer(sc->rules.overtime_s[0]));
	json_object_set_new(j, "replications", json_integer(o->reps));
	json_object_set_new(j, "seed", json_integer((json_int_t)o->seed));
	json_object_set_new(j, "max_counters", json_integer(sc->ncounters));
	json_object_set_new(j, "simulations", json_integer(res->rounds));
	json_object_set_new(j, "target_met", json_boolean(res->met));
	json_object_set_new(j, "counters_per_hour", cli_ints(plan, sc->hours));
	json_object_set_new(j, "erlang_c_counters_per_hour", cli_ints(ec, sc->hours));
	json_object_set_new(j, "overtime_share_per_hour", cli_reals(share, sc->hours));
	json_object_set_new(j, "overtime_share_per_hour_ci", ci);
	json_object_set_new(j, "by_hour", hours);
	int rc = cli_print(j, o->format, "排班建议 Staffing advice");
	json_decref(j);
	return rc;
}

int
sim_cli_advise(int argc, char **argv, const char *default_config)
{
	struct cli_opts o;
	struct advise_result res;
	int rc = cli_parse("advise", argc, argv, &o);

	if (rc != 0)
		return rc;
	if (o.scenario != NULL || o.nrates == 0) {
		if (o.nrates > 0 || o.have_mean || o.have_threshold || o.have_target || o.mmc ||
		    o.have_replay)
			return cli_bad("advise", o.scenario ? "scenario" : "date", "plans a branch "
			    "day: it goes without --arrivals-per-hour, --mean-service-min, "
			    "--threshold-min, --target, --mm-c and --replay (each service's own "
			    "target applies)");
		return cli_advise_day(&o, default_config);
	}
	if (o.nrates < 1 || !o.have_mean || !o.have_threshold || !o.have_target)
		return cli_bad("advise", "arrivals-per-hour", "needs --mean-service-min, "
		    "--threshold-min and --target beside it");
	int hours = o.nrates;
	if (o.have_hours && o.hours != hours)
		return cli_bad("advise", "hours", "must match --arrivals-per-hour's length");
	struct sim_scenario *sc = malloc(sizeof(*sc));
	if (sc == NULL)
		return 1;
	if ((rc = cli_one_service("advise", &o, hours, (int)o.max_counters, sc)) != 0) {
		free(sc);
		return rc;
	}
	if (advise_plan(sc, sc->services[0].mean_s, o.target, (int)o.reps, o.seed, &res) != 0) {
		fprintf(stderr, "branchqd advise: out of memory\n");
		free(sc);
		return 1;
	}
	rc = cli_advise_print(&o, sc, o.open_min, o.target, &res);
	if (rc == 0 && !res.met) {
		fprintf(stderr, "branchqd advise: even %ld counters cannot meet the target in "
		    "every hour\n", o.max_counters);
		rc = 3;
	}
	free(sc);
	return rc;
}
