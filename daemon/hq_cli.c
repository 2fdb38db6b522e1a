/*
 * hq_cli.c: `branchqd hq report --conninfo CONNINFO (--date D | --from D
 * --to D) [--format json|csv|html]`. Each branch's totals over the days,
 * worst share first, then all branches together; the same field names as
 * the daily report's JSON, the share summed from counts, never averaged
 * from shares. The HTML is one page, its chart an inline SVG.
 *
 * Exit status: 0; 2 for bad arguments; 1 when the head office cannot be
 * read (the reason on stderr).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "bday.h"
#include "hq_cli.h"

static const char *const FIGS[] = { "issued", "called", "served", "no_show", "cancelled",
	"waiting_at_close", "overtime", "overtime_base", NULL };

static int
usage(void)
{
	fprintf(stderr, "usage: branchqd hq report --conninfo CONNINFO (--date YYYY-MM-DD | --from "
	    "YYYY-MM-DD --to YYYY-MM-DD) [--format json|csv|html]\n");
	return 2;
}

static void
html_text(FILE *f, const char *s)
{
	for (; s != NULL && *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

static void
csv_text(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s != NULL && *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/* The league of [from, to] from the head office, as the JSON this command prints. */
static json_t *
league(PGconn *c, const char *from, const char *to)
{
	const char *params[] = { from, to };
	PGresult *r = PQexecParams(c, "SELECT row_to_json(l)::text FROM hq.league($1::date, "
	    "$2::date) l", 2, NULL, params, NULL, NULL, 0);
	json_t *out, *rows, *tot;
	double target = -1;

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "branchqd hq report: %s", PQresultErrorMessage(r));
		PQclear(r);
		return NULL;
	}
	rows = json_array();
	tot = json_object();
	for (int k = 0; FIGS[k]; k++)
		json_object_set_new(tot, FIGS[k], json_integer(0));
	for (int i = 0; i < PQntuples(r); i++) {
		json_t *b = json_loads(PQgetvalue(r, i, 0), 0, NULL);
		if (b == NULL)
			continue;
		for (int k = 0; FIGS[k]; k++)
			json_object_set_new(tot, FIGS[k], json_integer(json_integer_value(
			    json_object_get(tot, FIGS[k])) + json_integer_value(json_object_get(b,
			    FIGS[k]))));
		json_t *ts = json_object_get(b, "target_share");
		if (json_is_number(ts) && (target < 0 || json_number_value(ts) < target))
			target = json_number_value(ts);
		json_array_append_new(rows, b);
	}
	PQclear(r);
	json_int_t ov = json_integer_value(json_object_get(tot, "overtime"));
	json_int_t base = json_integer_value(json_object_get(tot, "overtime_base"));
	json_object_set_new(tot, "branches", json_integer((json_int_t)json_array_size(rows)));
	json_object_set_new(tot, "overtime_share", base > 0 ? json_real((double)ov / (double)base) :
	    json_null());
	json_object_set_new(tot, "target_share", target >= 0 ? json_real(target) : json_null());
	json_object_set_new(tot, "target_met", json_boolean(target < 0 || (double)ov <= target *
	    (double)base));
	out = json_object();
	json_object_set_new(out, "from", json_string(from));
	json_object_set_new(out, "to", json_string(to));
	json_object_set_new(out, "branches", rows);
	json_object_set_new(out, "totals", tot);
	return out;
}

static const char *const COLS[] = { "branch_id", "name_zh", "name_en", "days", "issued",
	"called", "served", "no_show", "cancelled", "waiting_at_close", "overtime", "overtime_base",
	"overtime_share", "target_share", "target_met", NULL };

static void
print_csv(FILE *f, const json_t *j)
{
	size_t i;
	json_t *b;

	for (int k = 0; COLS[k]; k++)
		fprintf(f, "%s%s", k ? "," : "", COLS[k]);
	fputs("\r\n", f);
	json_array_foreach(json_object_get(j, "branches"), i, b) {
		for (int k = 0; COLS[k]; k++) {
			json_t *v = json_object_get(b, COLS[k]);
			if (k)
				fputc(',', f);
			if (json_is_string(v))
				csv_text(f, json_string_value(v));
			else if (json_is_integer(v))
				fprintf(f, "%lld", (long long)json_integer_value(v));
			else if (json_is_real(v))
				fprintf(f, "%.6g", json_real_value(v));
			else if (json_is_boolean(v))
				fputs(json_is_true(v) ? "true" : "false", f);
		}
		fputs("\r\n", f);
	}
}

/* One page: the league as a bar chart of shares against each target, and as a table. */
static void
print_html(FILE *f, const json_t *j)
{
	const json_t *rows = json_object_get(j, "branches"), *tot = json_object_get(j, "totals");
	size_t n = json_array_size(rows), i;
	double max = 0.01;
	json_t *b;

	json_array_foreach(rows, i, b) {
		double s = json_number_value(json_object_get(b, "overtime_share"));
		double t = json_number_value(json_object_get(b, "target_share"));
		if (s > max)
			max = s;
		if (t * 2 > max)
			max = t * 2;
	}
	fputs("<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\n"
	    "<title>总行超时等候占比 Head office: overtime share by branch</title>\n<style>\n"
	    "body{font-family:\"Noto Sans CJK SC\",sans-serif;margin:1.5em;color:#111}\n"
	    "table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:13px}\n"
	    "th,td{border:1px solid #999;padding:2px 6px;text-align:right}th{background:#eee}\n"
	    "td.text{text-align:left}.met{color:#0a6b2d}.missed{color:#b00020}\n"
	    "svg text{font-size:12px}\n</style></head><body>\n", f);
	fprintf(f, "<h1>总行超时等候占比 Overtime share by branch, %s – %s</h1>\n",
	    json_string_value(json_object_get(j, "from")), json_string_value(json_object_get(j, "to")));
	if (json_is_real(json_object_get(tot, "overtime_share")))
		fprintf(f, "<p>全部网点 All branches: %.2f%% (%lld / %lld), %s</p>\n",
		    json_real_value(json_object_get(tot, "overtime_share")) * 100.0,
		    (long long)json_integer_value(json_object_get(tot, "overtime")),
		    (long long)json_integer_value(json_object_get(tot, "overtime_base")),
		    json_is_true(json_object_get(tot, "target_met")) ? "达标 met" : "未达标 missed");
	int w = 720, rowh = 22, left = 160, h = (int)n * rowh + 30;
	fprintf(f, "<svg role=\"img\" aria-label=\"overtime share by branch, worst first\" "
	    "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n", w, h, w, h);
	json_array_foreach(rows, i, b) {
		double s = json_number_value(json_object_get(b, "overtime_share"));
		double t = json_number_value(json_object_get(b, "target_share"));
		bool met = json_is_true(json_object_get(b, "target_met"));
		int y = (int)i * rowh + 10, bw = (int)(s / max * (w - left - 80));
		int tx = left + (int)(t / max * (w - left - 80));
		fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", left - 6, y + 14);
		html_text(f, json_string_value(json_object_get(b, "branch_id")));
		fputc(' ', f);
		html_text(f, json_string_value(json_object_get(b, "name_zh")));
		fprintf(f, "</text><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"16\" fill=\"%s\"/>"
		    "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"#333\" stroke-dasharray=\"3 2\"/>"
		    "<text x=\"%d\" y=\"%d\">%.2f%%</text>\n", left, y, bw, met ? "#0a7a36" : "#c0152f",
		    tx, tx, y - 2, y + 18, left + bw + 4, y + 13, s * 100.0);
	}
	fputs("</svg>\n<table>\n<tr>", f);
	for (int k = 0; COLS[k]; k++)
		fprintf(f, "<th scope=\"col\">%s</th>", COLS[k]);
	fputs("</tr>\n", f);
	json_array_foreach(rows, i, b) {
		fputs("<tr>", f);
		for (int k = 0; COLS[k]; k++) {
			json_t *v = json_object_get(b, COLS[k]);
			if (json_is_string(v)) {
				fputs("<td class=\"text\">", f);
				html_text(f, json_string_value(v));
			} else if (json_is_integer(v)) {
				fprintf(f, "<td>%lld", (long long)json_integer_value(v));
			} else if (json_is_real(v)) {
				fprintf(f, "<td>%.2f%%", json_real_value(v) * 100.0);
			} else if (json_is_boolean(v)) {
				fprintf(f, "<td class=\"%s\">%s", json_is_true(v) ? "met" : "missed",
				    json_is_true(v) ? "达标 met" : "未达标 missed");
			} else {
				fputs("<td>–", f);
			}
			fputs("</td>", f);
		}
		fputs("</tr>\n", f);
	}
	fputs("</table>\n<p>定义见 docs/reports.md 与 docs/hq.md。</p>\n</body></html>\n", f);
}

int
hq_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "conninfo", required_argument, NULL, 'c' },
		{ "date", required_argument, NULL, 'd' },
		{ "from", required_argument, NULL, 'F' },
		{ "to", required_argument, NULL, 'T' },
		{ "format", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conninfo = NULL, *date = NULL, *from = NULL, *to = NULL, *format = "json";
	struct date dd;
	int ch;

	if (argc < 2 || strcmp(argv[1], "report") != 0)
		return usage();
	argc--;
	argv++;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': conninfo = optarg; break;
		case 'd': date = optarg; break;
		case 'F': from = optarg; break;
		case 'T': to = optarg; break;
		case 'o': format = optarg; break;
		default: return usage();
		}
	}
	if (optind != argc || conninfo == NULL || (date != NULL) == (from != NULL || to != NULL) ||
	    (date == NULL && (from == NULL || to == NULL)))
		return usage();
	if (date != NULL)
		from = to = date;
	if (date_parse(from, &dd) != 0 || date_parse(to, &dd) != 0) {
		fprintf(stderr, "branchqd hq report: dates are YYYY-MM-DD\n");
		return 2;
	}
	if (strcmp(format, "json") != 0 && strcmp(format, "csv") != 0 && strcmp(format, "html") != 0) {
		fprintf(stderr, "branchqd hq report: --format is json, csv or html\n");
		return 2;
	}
	PGconn *c = PQconnectdb(conninfo);
	if (c == NULL || PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "branchqd hq report: cannot connect to the head office: %s",
		    c != NULL ? PQerrorMessage(c) : "out of memory\n");
		PQfinish(c);
		return 1;
	}
	json_t *j = league(c, from, to);
	PQfinish(c);
	if (j == NULL)
		return 1;
	if (strcmp(format, "json") == 0) {
		char *text = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
		if (text != NULL)
			printf("%s\n", text);
		free(text);
	} else if (strcmp(format, "csv") == 0) {
		print_csv(stdout, j);
	} else {
		print_html(stdout, j);
	}
	json_decref(j);
	return 0;
}
