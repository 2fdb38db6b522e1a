/*
 * report.h: the branch head's daily report, and the same over a range of
 * days: ticket counts, waits (average, median, 90th percentile, maximum),
 * overtime (超时等候) and its share against the target, by service, by
 * category, by hour, by counter and by teller, waits in bands, satisfaction
 * (ratings), missed and abandoned tickets, and the longest waits. docs/reports.md
 * defines every figure; this header and report.c compute exactly those.
 *
 * Two layers. The core (report_new … report_json) is pure: it is handed the
 * ticket legs and counter pause events of each business day, the day's
 * bounds and the config, and returns the figures; no I/O, no clock, so the
 * unit tests check every rule to the second. The loader (report_build)
 * reads a day or a range from the database, with an explicit "now" for
 * today so far, and runs the core. report_csv and report_html render the
 * JSON, so every output shows the same figures.
 */
#ifndef BRANCHQ_REPORT_H
#define BRANCHQ_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "config.h"
#include "domain.h"
#include "error.h"

#define REPORT_RANGE_MAX_DAYS 366    /* branchqd report, beside the daemon */
#define REPORT_RANGE_API_DAYS 92     /* over HTTP: bounds what one click costs the branch box */
#define REPORT_LONGEST 10            /* longest waits listed */
#define REPORT_BIN_S 300             /* the wait distribution's bins: 5 minutes… */
#define REPORT_BINS 13               /* …0-5, 5-10, … 55-60 min and 60 min or more */
#define REPORT_TELLER_MAX 64         /* a teller's name as the events record it, with its NUL */
#define REPORT_BANDS 7               /* wait bands: <=3, 3-5, 5-10, 10-15, 15-20, 20-30, >30 min */
#define REPORT_RATING_KEYS 4         /* very_satisfied satisfied neutral dissatisfied */

/* One leg of a ticket as the report needs it (see struct ticket). */
struct report_leg {
	int64_t id;
	int64_t origin_id;
	char number[16];
	int service;                     /* index into cfg->services; -1: no longer configured */
	enum category category;
	enum ticket_status status;       /* as stored now; report_add_day reads it as of close */
	int64_t issued_at;               /* the ticket's original issue time */
	int64_t created_at;              /* this leg's start */
	int64_t called_at;               /* first call of this leg; 0 = none */
	int64_t ended_at;                /* 0 = open */
	int counter;                     /* counter that called it; 0 = none */
	int64_t transferred_to;          /* next leg's id; 0 = none */
	const char *by;                  /* who finished it (served, no-show), from its event's
	                                    "by"; NULL: not recorded. Not owned; read in add_day */
	int64_t prompted_at;             /* first rating.prompted for this leg; 0 = none */
	int64_t rated_at;                /* its ticket.rated; 0 = none */
	int rating;                      /* the key rated: 1 + its report_rating_key index; 0 none */
};

/* A help call from a kiosk (help.called), and when the lobby acknowledged it (0: not). */
struct report_help {
	int64_t at;
	int64_t acked_at;
};

/* A counter paused (paused = true) or resumed at `at`. */
struct report_pause {
	int64_t at;
	int counter;                     /* counter number */
	bool paused;
	const char *by;                  /* who did it ("by"); NULL: not recorded. Not owned */
};

/* One business day's input. */
struct report_day {
	struct date date;
	int64_t start;                   /* the business day's first second */
	int64_t close;                   /* end of the day, or now for today so far (exclusive) */
	int utc_offset_s;                /* local time minus UTC at start, for hours of the day */
	const struct report_leg *legs;   /* every leg of the day's tickets, any order */
	int nlegs;
	const struct report_pause *pauses;   /* pause/resume events in [start, close), in order */
	int npauses;
	const bool *paused_at_start;     /* per config counter index: paused when the day began */
	const char *const *paused_by_at_start;   /* per counter index: who paused it then
	                                            (NULL array or entry: not recorded) */
	const struct report_help *helps; /* the day's help calls (at in [start, close]), any order */
	int nhelps;
};

/* The rating key of index k (0..REPORT_RATING_KEYS-1), in display order. */
const char *report_rating_key(int k);

/* The index of rating key name, -1 when it is none of them. */
int report_rating_parse(const char *name);

/* The wait band (0..REPORT_BANDS-1) of a wait of w seconds: bands are (from, to]. */
int report_band(int64_t w);

struct report;

/*
 * A new, empty report over cfg (which must outlive it). NULL when out of
 * memory. Free with report_free.
 */
struct report *report_new(const struct config *cfg);
void report_free(struct report *r);

/* Add one business day. Days are added in date order. 0, or -1 when out of memory. */
int report_add_day(struct report *r, const struct report_day *day);

/*
 * The report as JSON (the shape in docs/reports.md): a daily report when
 * from and to are the same date, else a range. generated_at is `now`.
 * Returns a new reference, NULL when out of memory.
 */
json_t *report_json(struct report *r, struct date from, struct date to, int64_t now);

/*
 * Nearest-rank percentile p (1..100) of the n values in sorted (ascending):
 * the value at rank ceil(p × n / 100). n must be > 0.
 */
int64_t report_percentile(const int64_t *sorted, int n, int p);

/*
 * Seconds in [start, close) in which counter ci of cfg was open (not
 * paused), had no current ticket (none called or being served there), and
 * a leg of a service it serves was waiting. *pause_s gets the paused
 * seconds. Legs and pauses as in struct report_day, already read as of close.
 * Returns -1 when out of memory.
 */
int64_t report_idle_s(const struct config *cfg, int ci, const struct report_day *day,
    int64_t *pause_s);

/*
 * Read the business days from..to (inclusive) from db and build the report
 * as JSON into *out (a new reference). Today's close is now; a day after
 * today is refused with BQ_ERR_INVALID_QUERY, as is a range over max_days
 * days or one whose from is after to. The process's time
 * zone must be the branch's (bday_set_timezone).
 */
enum bq_err report_build(sqlite3 *db, const struct config *cfg, struct date from,
    struct date to, int64_t now, int max_days, json_t **out, char *why, size_t whylen);

/*
 * The report as CSV: UTF-8 with a byte-order mark, CRLF line ends, one
 * section per table (docs/reports.md lists the columns). Returns a malloc'ed
 * buffer the caller frees and its length in *len; NULL when out of memory.
 */
char *report_csv(const json_t *report, size_t *len);

/*
 * One CSV cell (RFC 4180 quoting), after a comma unless first. A text a
 * spreadsheet would run as a formula (it starts with = + - @, a tab or a CR
 * and is not a number) is written as text, after an apostrophe.
 */
void report_csv_cell(FILE *f, const char *s, bool first);

/* The report as one self-contained HTML page (tables, no script). As report_csv. */
char *report_html(const json_t *report, size_t *len);

/* The JSON text of a report, exactly as the API sends it. Caller frees. */
char *report_dumps(const json_t *report);

/*
 * `branchqd report …` (report_cli.c): argv[0] is "report". Prints the report
 * on stdout; returns the exit status (0, 1 on failure, 2 on bad usage).
 */
int report_main(int argc, char **argv, const char *default_config);

#endif
