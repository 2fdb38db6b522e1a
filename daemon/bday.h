/*
 * bday.h: calendar arithmetic for the branch's business day and the times
 * the API shows. All of it works in the process's local time zone, which
 * branchqd sets from the config (bday_set_timezone) before serving.
 */
#ifndef BRANCHQ_BDAY_H
#define BRANCHQ_BDAY_H

#include <stdint.h>

#include "domain.h"

/*
 * Make zone (an IANA name such as "Asia/Shanghai") the process's local time
 * zone. Returns 0, or -1 when the zone is unknown (no file under
 * /usr/share/zoneinfo); on failure the time zone is unchanged.
 */
int bday_set_timezone(const char *zone);

/*
 * The business date that contains the instant now (unix seconds): the local
 * calendar date, or the day before when local time is earlier than
 * reset_min minutes after midnight.
 */
struct date bday_of(int64_t now, int reset_min);

/* Write d as "YYYY-MM-DD" into out. */
void date_format(struct date d, char out[11]);

/* Parse exactly "YYYY-MM-DD" naming a real date; 0 or -1. */
int date_parse(const char *s, struct date *out);

/* True when d names a real day of the Gregorian calendar (years 1800..9999). */
int date_valid(struct date d);

/* -1, 0, 1 as a is before, equal to, after b. */
int date_cmp(struct date a, struct date b);

/*
 * The unix time at which business date d begins (its local midnight plus
 * reset_min), for queries over a day.
 */
int64_t bday_start(struct date d, int reset_min);

/* Write t as ISO 8601 local time with offset, "2026-11-24T09:30:05+08:00". */
void time_iso8601(int64_t t, char out[32]);

/* Milliseconds of CLOCK_MONOTONIC: for timers and deadlines, which a wall clock set back must not move. */
int64_t mono_ms(void);

#endif
