/*
 * report_work.h: reports built off the event loop. A 92-day range reads
 * tens of thousands of rows (0.45 s on a branch box), and on the loop every
 * call, issue and stream would wait for it; so GET /api/v1/reports/... is
 * a job for a worker (work.c) that opens its own read-only connection to
 * the database for each report, builds it (report_build) and renders it in
 * the asked format. The request waits suspended, as a voice call does, and
 * is asked again when report_work's work_fd is readable.
 *
 * A job's input is a whole struct report_job, config included: a reload
 * that swaps the live config cannot change one under the worker. It names
 * the request it is for, so a request asked again finds its own job and
 * no other: a result is never shared, so a "today so far" always holds
 * every change committed before its request arrived.
 */
#ifndef BRANCHQ_REPORT_WORK_H
#define BRANCHQ_REPORT_WORK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "bday.h"
#include "config.h"
#include "error.h"
#include "work.h"

#define REPORT_WORK_JOBS 4           /* reports being built or waiting, and results kept */
#define REPORT_WORK_WHY_MAX 160

enum report_format { REPORT_FORMAT_JSON, REPORT_FORMAT_CSV, REPORT_FORMAT_HTML };

/* One report to build; zero it whole before filling it (the cache compares its bytes). */
struct report_job {
	struct config cfg;               /* a copy of the live config; database is the file to read */
	struct date from, to;
	int64_t now;
	uint64_t request;                /* the request's seq (struct api_request) */
	int max_days;
	enum report_format format;
	bool tellers;                    /* with by_teller: for those who may read every report */
};

/* A finished job: the error, or the body (JSON text as the API sends it, CSV or HTML). */
struct report_result {
	enum bq_err err;
	char why[REPORT_WORK_WHY_MAX];   /* the error's message; "" for the default */
	size_t len;
	char body[];                     /* len bytes */
};

/*
 * Build and render job's report from db, on the calling thread: what the
 * worker runs, and the loop's fallback when no worker could start. Returns
 * a malloc'ed result the caller frees, its size in *size; NULL when out of
 * memory.
 */
struct report_result *report_work_build(sqlite3 *db, const struct report_job *j, size_t *size);

/*
 * Start the reports' worker. NULL when out of memory or no thread could
 * start. Free with work_free; ask with work_lookup(w, key, &job, ...),
 * whose READY result is a struct report_result.
 */
struct work *report_work_new(void);

#endif
