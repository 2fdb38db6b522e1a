/*
 * advice_work.c: the staffing advice's worker (see advice_work.h). As the
 * reports' worker, each job opens the database read-only for itself and
 * closes it when the advice is made.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "advice_work.h"
#include "log.h"
#include "simday.h"

/* A result of err (why) and no body. */
static struct report_result *
failed(enum bq_err err, const char *why, size_t *size)
{
	struct report_result *res = calloc(1, sizeof(*res));

	if (res == NULL)
		return NULL;
	res->err = err;
	snprintf(res->why, sizeof(res->why), "%s", why);
	*size = sizeof(*res);
	return res;
}

struct report_result *
advice_work_build(sqlite3 *db, const struct advice_job *j, size_t *size)
{
	struct sim_scenario *sc = malloc(sizeof(*sc));
	struct report_result *res = NULL;
	struct simday_fit fit;
	json_t *a = NULL, *days;
	char why[REPORT_WORK_WHY_MAX] = "", sd[11];
	char *text = NULL;
	size_t n;

	memset(&fit, 0, sizeof(fit));
	if (sc == NULL)
		return NULL;
	simday_scenario(&j->cfg, sc);
	if (simday_fit(db, &j->cfg, j->date, sc, &fit, why, sizeof(why)) != 0) {
		res = failed(BQ_ERR_NO_HISTORY, why, size);
		goto out;
	}
	if ((a = simday_advice(&j->cfg, j->date, sc, j->cfg.advisor.replications, j->seed)) == NULL)
		goto out;
	/* What it rests on, as `branchqd advise --date` prints it. */
	json_object_set_new(a, "source", json_string("history"));
	days = json_array();
	for (int i = 0; i < fit.ndays; i++) {
		date_format(fit.days[i], sd);
		json_array_append_new(days, json_string(sd));
	}
	json_object_set_new(a, "history", json_pack("{s:i,s:o,s:i}", "weeks", fit.weeks, "days",
	    days, "tickets", fit.tickets));
	if ((text = json_dumps(a, JSON_COMPACT | JSON_REAL_PRECISION(6))) == NULL)
		goto out;
	n = strlen(text);
	if ((res = malloc(sizeof(*res) + n + 1)) == NULL)
		goto out;
	memset(res, 0, sizeof(*res));
	res->err = BQ_OK;
	memcpy(res->body, text, n);
	res->body[n] = '\n';
	res->len = n + 1;
	*size = sizeof(*res) + res->len;
out:
	free(text);
	json_decref(a);
	simday_fit_free(&fit);
	free(sc);
	return res;
}

/* work_run_fn: one advice, on a connection of the job's own. Worker thread only. */
static bool
advice_work_run(const void *in, uint8_t **out, size_t *len)
{
	const struct advice_job *j = in;
	struct report_result *res = NULL;
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(j->cfg.database, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		log_warnx("advice: cannot open %s to read: %s", j->cfg.database,
		    db != NULL ? sqlite3_errmsg(db) : "out of memory");
		res = failed(BQ_ERR_STORAGE, "", len);
	} else {
		sqlite3_busy_timeout(db, 2000);
		res = advice_work_build(db, j, len);
	}
	sqlite3_close(db);
	*out = (uint8_t *)res;
	return res != NULL;
}

struct work *
advice_work_new(void)
{
	json_object_seed(0);
	return work_new("advice", ADVICE_WORK_JOBS, sizeof(struct advice_job), advice_work_run);
}
