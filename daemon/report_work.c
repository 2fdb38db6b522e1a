/*
 * report_work.c: the reports' worker (see report_work.h). Each job opens
 * the database read-only, so it reads the last committed state through
 * SQLite's WAL while the loop goes on writing on its own connection, and
 * closes it when the report is built: a report is rare and slow, an open
 * costs well under a millisecond, and no connection outlives its job.
 *
 * The worker reads the process's time zone (localtime_r in report_build)
 * as the loop does; a reload that changes the zone while a report is being
 * built may give that one report mixed hours, nothing worse.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "log.h"
#include "report.h"
#include "report_work.h"

/* The body of a report in j's format; malloc'ed, its length in *len; NULL when out of memory. */
static char *
render(const struct report_job *j, const json_t *rep, size_t *len)
{
	char *text, *t;

	switch (j->format) {
	case REPORT_FORMAT_CSV:
		return report_csv(rep, len);
	case REPORT_FORMAT_HTML:
		return report_html(rep, len);
	default:
		/* As http.c sends JSON: the compact text and one newline. */
		if ((text = report_dumps(rep)) == NULL)
			return NULL;
		*len = strlen(text);
		if ((t = realloc(text, *len + 2)) == NULL) {
			free(text);
			return NULL;
		}
		t[(*len)++] = '\n';
		t[*len] = '\0';
		return t;
	}
}

struct report_result *
report_work_build(sqlite3 *db, const struct report_job *j, size_t *size)
{
	struct report_result head = { .err = BQ_OK };
	struct report_result *res;
	json_t *rep = NULL;
	char *body = NULL;
	size_t n = 0;

	head.err = report_build(db, &j->cfg, j->from, j->to, j->now, j->max_days, &rep, head.why,
	    sizeof(head.why));
	if (head.err == BQ_OK && !j->tellers)
		json_object_del(rep, "by_teller");
	if (head.err == BQ_OK && (body = render(j, rep, &n)) == NULL)
		head.err = BQ_ERR_INTERNAL;
	json_decref(rep);
	if (head.err != BQ_OK)
		n = 0;
	if ((res = malloc(sizeof(*res) + n)) == NULL) {
		free(body);
		return NULL;
	}
	*res = head;
	res->len = n;
	if (n > 0)
		memcpy(res->body, body, n);
	free(body);
	*size = sizeof(*res) + n;
	return res;
}

/* work_run_fn: one report, read on a connection of the job's own. Worker thread only. */
static bool
report_work_run(const void *in, uint8_t **out, size_t *len)
{
	const struct report_job *j = in;
	struct report_result *res = NULL;
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(j->cfg.database, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		log_warnx("report: cannot open %s to read: %s", j->cfg.database,
		    db != NULL ? sqlite3_errmsg(db) : "out of memory");
		if ((res = calloc(1, sizeof(*res))) != NULL) {
			res->err = BQ_ERR_STORAGE;
			*len = sizeof(*res);
		}
	} else {
		sqlite3_busy_timeout(db, 2000);
		res = report_work_build(db, j, len);
	}
	sqlite3_close(db);
	*out = (uint8_t *)res;
	return res != NULL;
}

struct work *
report_work_new(void)
{
	/*
	 * jansson seeds its hash function on first use; seed it here, before
	 * the worker makes its first object, so two threads never race to it.
	 */
	json_object_seed(0);
	return work_new("report", REPORT_WORK_JOBS, sizeof(struct report_job), report_work_run);
}
