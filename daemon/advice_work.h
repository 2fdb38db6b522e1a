/*
 * advice_work.h: the staffing advice (simday_advice) off the event loop.
 * An advice fits the last [advisor] weeks of the same weekday from the
 * database and simulates hundreds of days per hour and plan: seconds of
 * work, which on the loop would stop every call, issue and stream. So
 * GET /api/v1/advice is a job for a worker (work.c) of its own, which
 * opens its own read-only connection to the database, and the request
 * waits suspended, as a report does.
 *
 * The result is kept: the same date, config and business day of asking
 * answer from the cache, so a reports page opened by every branch head at
 * 08:00 runs the simulation once. A new business day, a reload that
 * changes the config, or another date makes a new job.
 */
#ifndef BRANCHQ_ADVICE_WORK_H
#define BRANCHQ_ADVICE_WORK_H

#include <sqlite3.h>

#include "bday.h"
#include "config.h"
#include "report_work.h"
#include "work.h"

#define ADVICE_WORK_JOBS 3           /* advices being made or waiting, and results kept */

/* One advice to make; zero it whole before filling it (the cache compares its bytes). */
struct advice_job {
	struct config cfg;               /* a copy of the live config; database is the file to read */
	struct date date;                /* the day to plan */
	struct date today;               /* the business day it was asked on */
	uint64_t seed;
};

/*
 * The advice for j from db on the calling thread, as JSON text and a
 * newline, in a struct report_result (err BQ_ERR_NO_HISTORY when no day
 * of the history had tickets). The process's time zone is the branch's.
 * Malloc'ed, its size in *size; NULL when out of memory.
 */
struct report_result *advice_work_build(sqlite3 *db, const struct advice_job *j, size_t *size);

/* Start the advice's worker; NULL when out of memory or no thread could start. */
struct work *advice_work_new(void);

#endif
