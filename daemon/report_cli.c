/*
 * report_cli.c: `branchqd report`, the report from the command line.
 *
 *   branchqd report [-f CONFIG] [--db PATH] [--date D | --from D --to D]
 *                   [--format json|csv|html]
 *
 * It reads the database read-only and needs no running daemon; with one
 * running it reads beside it (WAL lets a reader see the last commit without
 * blocking the writer). The output is what the API answers for the same
 * day: the same JSON text, CSV or HTML.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bday.h"
#include "config.h"
#include "report.h"

static int
report_usage(void)
{
	fprintf(stderr, "usage: branchqd report [-f config] [--db path] [--date YYYY-MM-DD | "
	    "--from YYYY-MM-DD --to YYYY-MM-DD] [--format json|csv|html]\n"
	    "  without a date: today so far\n");
	return 2;
}

static int
cli_date(const char *opt, const char *v, struct date *d)
{
	if (date_parse(v, d) == 0)
		return 0;
	fprintf(stderr, "branchqd report: --%s must be a date YYYY-MM-DD\n", opt);
	return -1;
}

int
report_main(int argc, char **argv, const char *default_config)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'D' },
		{ "date", required_argument, NULL, 'd' },
		{ "from", required_argument, NULL, 'F' },
		{ "to", required_argument, NULL, 'T' },
		{ "format", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct config cfg;
	const char *config = default_config, *db_path = NULL, *format = "json";
	struct date from = { 0 }, to = { 0 };
	bool has_date = false, has_from = false, has_to = false;
	sqlite3 *db = NULL;
	json_t *rep = NULL;
	char why[160] = "", *out = NULL;
	size_t len = 0;
	int ch, rc = 1;
	int64_t now;
	enum bq_err e;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "f:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f': config = optarg; break;
		case 'D': db_path = optarg; break;
		case 'd':
			if (cli_date("date", optarg, &from) != 0)
				return 2;
			to = from;
			has_date = true;
			break;
		case 'F':
			if (cli_date("from", optarg, &from) != 0)
				return 2;
			has_from = true;
			break;
		case 'T':
			if (cli_date("to", optarg, &to) != 0)
				return 2;
			has_to = true;
			break;
		case 'o': format = optarg; break;
		default: return report_usage();
		}
	}
	if (optind != argc || (has_date && (has_from || has_to)) || has_from != has_to)
		return report_usage();
	if (strcmp(format, "json") != 0 && strcmp(format, "csv") != 0 && strcmp(format, "html") != 0) {
		fprintf(stderr, "branchqd report: --format must be json, csv or html\n");
		return 2;
	}
	if (config_load(config, &cfg, stderr) > 0) {
		fprintf(stderr, "branchqd report: %s has errors\n", config);
		return 1;
	}
	if (bday_set_timezone(cfg.timezone) != 0) {
		fprintf(stderr, "branchqd report: unknown time zone %s\n", cfg.timezone);
		return 1;
	}
	if (db_path == NULL)
		db_path = cfg.database;
	now = (int64_t)time(NULL);
	if (!has_date && !has_from)
		from = to = bday_of(now, cfg.day_reset_min);
	if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		fprintf(stderr, "branchqd report: %s: %s\n", db_path, db ? sqlite3_errmsg(db) :
		    "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(db, 2000);
	e = report_build(db, &cfg, from, to, now, REPORT_RANGE_MAX_DAYS, &rep, why, sizeof(why));
	if (e != BQ_OK) {
		fprintf(stderr, "branchqd report: %s\n", why[0] ? why : e == BQ_ERR_STORAGE ?
		    sqlite3_errmsg(db) : bq_err_message(e));
		rc = e == BQ_ERR_INVALID_QUERY ? 2 : 1;
		goto out;
	}
	if (strcmp(format, "json") == 0) {
		out = report_dumps(rep);
		len = out != NULL ? strlen(out) : 0;
	} else if (strcmp(format, "csv") == 0) {
		out = report_csv(rep, &len);
	} else {
		out = report_html(rep, &len);
	}
	if (out == NULL) {
		fprintf(stderr, "branchqd report: out of memory\n");
		goto out;
	}
	if (fwrite(out, 1, len, stdout) != len || (strcmp(format, "json") == 0 &&
	    fputc('\n', stdout) == EOF) || fflush(stdout) != 0) {
		perror("branchqd report: stdout");
		goto out;
	}
	rc = 0;
out:
	free(out);
	json_decref(rep);
	sqlite3_close(db);
	return rc;
}
