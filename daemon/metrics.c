/*
 * metrics.c: GET /metrics and the judgement of /healthz (see metrics.h).
 *
 * The day's ticket figures are gauges named *_today: they start again at
 * zero when the business day turns, which a Prometheus counter must never
 * do. They follow the daily report's rules (docs/reports.md) exactly: each
 * ticket counts once, by its newest leg, and overtime is a called ticket
 * whose first call of that leg came later than its service's threshold
 * after the original issue, or a ticket still waiting that has waited
 * longer. To know each ticket's newest leg without SQL, the struct keeps
 * one small entry per ticket of the day (origin id order), filled from the
 * store once at start and kept up by the bus: every ticket event carries
 * the newest leg as committed. A branch's day is a few thousand tickets,
 * so a scrape walks them in microseconds.
 *
 * What happens since start is counted with counters (*_total): requests,
 * commits, storage errors, printed and failed papers. They reset only when
 * the daemon restarts, as Prometheus expects.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>

#include <arpa/inet.h>
#include <sqlite3.h>

#include "api.h"
#include "bday.h"
#include "hall.h"
#include "log.h"
#include "metrics.h"
#include "printer.h"
#include "queue.h"
#include "render.h"
#include "sse.h"
#include "store.h"

#define LETTERS 26                     /* service prefixes A..Z */
#define STORAGE_RECENT_S 900           /* a storage error this recent makes /healthz degraded */

/* Request latencies: 1 ms to 10 s. */
#define REQUEST_BOUNDS 12
static const double request_bounds[REQUEST_BOUNDS] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10,
};
const double metrics_batch_bounds[METRICS_BATCH_BOUNDS] = { 1, 2, 4, 8, 16, 32, 64, 128 };
const double metrics_commit_bounds[METRICS_COMMIT_BOUNDS] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5,
};

/* A ticket of the day as its newest leg stands. */
struct day_ticket {
	int64_t origin, leg;
	int64_t issued_at, called_at;
	char service;                      /* prefix letter */
	unsigned char category, status;
};

struct metrics {
	struct queue *q;
	struct sse *sse;
	struct printer *printer;
	char db_path[4096];
	char bday[11];                     /* the day tickets[] holds */
	struct day_ticket *tickets;        /* by origin id */
	int nt, capt;
	uint64_t printed, print_failed;
	struct metrics_hist *requests;     /* one per route of api_routes */
	size_t nroutes;
	int64_t started_at;
};

void
metrics_hist_observe(struct metrics_hist *h, const double *bound, int nbounds, double v)
{
	int i = 0;

	while (i < nbounds && v > bound[i])
		i++;
	h->bucket[i]++;
	h->count++;
	h->sum += v;
}

double
metrics_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the day's tickets ------------------------------------------------------------------ */

static void
day_reset(struct metrics *m, const char *bday)
{
	snprintf(m->bday, sizeof(m->bday), "%s", bday);
	m->nt = 0;
}

/* Index of the entry of origin, or where it would go (*found false). */
static int
day_find(const struct metrics *m, int64_t origin, bool *found)
{
	int lo = 0, hi = m->nt;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		if (m->tickets[mid].origin < origin)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < m->nt && m->tickets[lo].origin == origin;
	return lo;
}

/* Take leg t as its ticket's newest, when it is of the day held (a later day starts anew). */
static void
day_put(struct metrics *m, const struct ticket *t)
{
	struct day_ticket *d;
	bool found;
	int i;

	if (strcmp(t->bday, m->bday) > 0)
		day_reset(m, t->bday);
	if (strcmp(t->bday, m->bday) != 0 || t->service[0] < 'A' || t->service[0] > 'Z')
		return;
	i = day_find(m, t->origin_id, &found);
	if (found && m->tickets[i].leg > t->id)
		return;                        /* an older leg's news: the newest is known */
	if (!found) {
		if (m->nt == m->capt) {
			int cap = m->capt ? m->capt * 2 : 256;
			struct day_ticket *n = realloc(m->tickets, (size_t)cap * sizeof(*n));
			if (n == NULL) {
				log_warnx("metrics: out of memory; today's figures miss a ticket");
				return;
			}
			m->tickets = n;
			m->capt = cap;
		}
		memmove(&m->tickets[i + 1], &m->tickets[i], (size_t)(m->nt - i) * sizeof(*m->tickets));
		m->nt++;
	}
	d = &m->tickets[i];
	d->origin = t->origin_id;
	d->leg = t->id;
	d->issued_at = t->issued_at;
	d->called_at = t->called_at;
	d->service = t->service[0];
	d->category = (unsigned char)t->category;
	d->status = (unsigned char)t->status;
}

/* The business day at now, turned when it is later than the one held. */
static void
day_roll(struct metrics *m, int64_t now)
{
	char today[11];

	date_format(bday_of(now, m->q->cfg->day_reset_min), today);
	if (strcmp(today, m->bday) > 0)
		day_reset(m, today);
}

static void
metrics_on_event(void *arg, const struct bus_event *ev)
{
	struct metrics *m = arg;

	if (!ev->has_ticket)
		return;
	if (ev->type == EV_TICKET_PRINT) {
		if (ev->ticket.print_state == PS_PRINTED)
			m->printed++;
		else if (ev->ticket.print_state == PS_FAILED)
			m->print_failed++;
	}
	day_put(m, &ev->ticket);
}

struct metrics *
metrics_new(struct queue *q, struct sse *sse, struct printer *p, int64_t now)
{
	struct metrics *m = calloc(1, sizeof(*m));
	struct ticket *t = NULL;
	const char *path;
	int n = 0;

	if (m == NULL)
		return NULL;
	m->q = q;
	m->sse = sse;
	m->printer = p;
	m->started_at = now;
	api_routes(&m->nroutes);
	if ((m->requests = calloc(m->nroutes, sizeof(*m->requests))) == NULL) {
		free(m);
		return NULL;
	}
	path = sqlite3_db_filename(store_db(q->store), "main");
	snprintf(m->db_path, sizeof(m->db_path), "%s", path != NULL ? path : "");
	day_roll(m, now);
	if (store_day_tickets(q->store, m->bday, &t, &n) != BQ_OK) {
		metrics_free(m);
		return NULL;
	}
	for (int i = 0; i < n; i++)
		day_put(m, &t[i]);
	free(t);
	if (bus_subscribe(q->bus, EV_ALL, metrics_on_event, m) != 0) {
		metrics_free(m);
		return NULL;
	}
	return m;
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	free(m->tickets);
	free(m->requests);
	free(m);
}

void
metrics_observe_request(struct metrics *m, int route, double seconds)
{
	if (m == NULL || route < 0 || (size_t)route >= m->nroutes)
		return;
	metrics_hist_observe(&m->requests[route], request_bounds, REQUEST_BOUNDS, seconds);
}

bool
metrics_addr_allowed(const struct config *cfg, const char *addr)
{
	const struct config_nets *nets = &cfg->monitoring.metrics_allow;
	struct in_addr a;
	uint32_t h;

	if (addr == NULL || nets->n == 0 || inet_pton(AF_INET, addr, &a) != 1)
		return false;
	h = ntohl(a.s_addr);
	for (int i = 0; i < nets->n; i++)
		if ((h & nets->net[i].mask) == nets->net[i].addr)
			return true;
	return false;
}

/* ---- figures ---------------------------------------------------------------------------- */

struct day_figures {
	int issued[LETTERS][CAT_COUNT], called[LETTERS][CAT_COUNT], served[LETTERS][CAT_COUNT];
	int no_show[LETTERS][CAT_COUNT], cancelled[LETTERS][CAT_COUNT];
	int waiting[LETTERS];
	int64_t longest[LETTERS];
	int overtime[LETTERS], overtime_base[LETTERS];
};

/* The day's figures at now, by the daily report's rules, from the tickets held. */
static void
day_figures(const struct metrics *m, int64_t now, struct day_figures *f)
{
	const struct config *cfg = m->q->cfg;
	int64_t thr[LETTERS] = { 0 };

	memset(f, 0, sizeof(*f));
	for (int s = 0; s < cfg->nservices; s++)
		thr[cfg->services[s].id[0] - 'A'] = cfg->services[s].overtime_s;
	for (int i = 0; i < m->nt; i++) {
		const struct day_ticket *d = &m->tickets[i];
		int s = d->service - 'A', c = d->category < CAT_COUNT ? d->category : CAT_NORMAL;

		f->issued[s][c]++;
		if (d->status == TS_WAITING) {
			int64_t w = now > d->issued_at ? now - d->issued_at : 0;
			f->waiting[s]++;
			if (w > f->longest[s])
				f->longest[s] = w;
			if (thr[s] > 0 && w > thr[s]) {
				f->overtime[s]++;
				f->overtime_base[s]++;
			}
		} else if (d->called_at == 0) {
			f->cancelled[s][c]++;
		} else {
			int64_t w = d->called_at > d->issued_at ? d->called_at - d->issued_at : 0;
			f->called[s][c]++;
			f->overtime_base[s]++;
			if (thr[s] > 0 && w > thr[s])
				f->overtime[s]++;
			if (d->status == TS_SERVED)
				f->served[s][c]++;
			else if (d->status == TS_NO_SHOW)
				f->no_show[s][c]++;
		}
	}
}

/* The database file and its WAL, in bytes (0 when absent). */
static void
db_sizes(const struct metrics *m, int64_t *main_b, int64_t *wal_b)
{
	char wal[sizeof(m->db_path) + 8];
	struct stat st;

	*main_b = *wal_b = 0;
	if (m->db_path[0] == '\0')
		return;
	if (stat(m->db_path, &st) == 0)
		*main_b = (int64_t)st.st_size;
	snprintf(wal, sizeof(wal), "%s-wal", m->db_path);
	if (stat(wal, &st) == 0)
		*wal_b = (int64_t)st.st_size;
}

/* Free and total bytes of the database's file system; -1 when it cannot be read. */
static int
disk_space(const struct metrics *m, int64_t *free_b, int64_t *size_b)
{
	char dir[sizeof(m->db_path)];
	char *slash;
	struct statvfs vfs;

	snprintf(dir, sizeof(dir), "%s", m->db_path[0] != '\0' ? m->db_path : ".");
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (statvfs(dir, &vfs) != 0)
		return -1;
	/* f_bavail: what an unprivileged writer may still use. */
	*free_b = (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
	*size_b = (int64_t)vfs.f_blocks * (int64_t)vfs.f_frsize;
	return 0;
}

/* ---- the text format -------------------------------------------------------------------- */

static void
head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value, escaped as the text format wants (\\, \" and \n). */
static void
label(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', f);
		if (*v == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc(*v, f);
	}
}

/* A histogram's _bucket, _sum and _count lines; labels ("" none) go before le. */
static void
hist_lines(FILE *f, const char *name, const char *labels, const struct metrics_hist *h,
    const double *bound, int nbounds)
{
	uint64_t cum = 0;
	const char *sep = labels[0] != '\0' ? "," : "";

	for (int i = 0; i < nbounds; i++) {
		cum += h->bucket[i];
		fprintf(f, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, bound[i],
		    (unsigned long long)cum);
	}
	cum += h->bucket[nbounds];
	fprintf(f, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep, (unsigned long long)cum);
	fprintf(f, "%s_sum%s%s%s %.9g\n", name, labels[0] ? "{" : "", labels, labels[0] ? "}" : "",
	    h->sum);
	fprintf(f, "%s_count%s%s%s %llu\n", name, labels[0] ? "{" : "", labels,
	    labels[0] ? "}" : "", (unsigned long long)h->count);
}

/* One *_today gauge by service and category. */
static void
today_lines(FILE *f, const struct config *cfg, const char *name, const char *help,
    int v[LETTERS][CAT_COUNT])
{
	head(f, name, "gauge", help);
	for (int s = 0; s < cfg->nservices; s++)
		for (int c = 0; c < CAT_COUNT; c++)
			fprintf(f, "%s{service=\"%s\",category=\"%s\"} %d\n", name, cfg->services[s].id,
			    category_name((enum category)c), v[cfg->services[s].id[0] - 'A'][c]);
}

char *
metrics_render(struct metrics *m, int64_t now, size_t *len)
{
	const struct config *cfg = m->q->cfg;
	static const char *const kinds[] = { "staff", "display", "phone" };
	static const char *const pstates[] = { "none", "unknown", "ok", "failing" };
	struct day_figures *fig = malloc(sizeof(*fig));
	struct store_stats ss;
	struct queue_view v;
	char *text = NULL;
	size_t rn;
	const struct route *routes = api_routes(&rn);
	int64_t main_b, wal_b, free_b, size_b;
	FILE *f;

	if (fig == NULL)
		return NULL;
	if ((f = open_memstream(&text, len)) == NULL) {
		free(fig);
		return NULL;
	}
	day_roll(m, now);
	day_figures(m, now, fig);

	today_lines(f, cfg, "branchq_tickets_issued_today", "Tickets issued this business day, by "
	    "the service and category of their newest leg.", fig->issued);
	today_lines(f, cfg, "branchq_tickets_called_today", "Tickets of this business day called "
	    "to a counter (at a counter, served or no-show).", fig->called);
	today_lines(f, cfg, "branchq_tickets_served_today", "Tickets of this business day served.",
	    fig->served);
	today_lines(f, cfg, "branchq_tickets_no_show_today", "Tickets of this business day marked "
	    "no-show.", fig->no_show);
	today_lines(f, cfg, "branchq_tickets_cancelled_today", "Tickets of this business day "
	    "cancelled before a call.", fig->cancelled);

	head(f, "branchq_tickets_waiting", "gauge", "Tickets waiting now, by service.");
	for (int s = 0; s < cfg->nservices; s++)
		fprintf(f, "branchq_tickets_waiting{service=\"%s\"} %d\n", cfg->services[s].id,
		    fig->waiting[cfg->services[s].id[0] - 'A']);
	head(f, "branchq_longest_wait_seconds", "gauge", "How long the longest-waiting ticket of "
	    "each service has waited so far (0 when none waits).");
	for (int s = 0; s < cfg->nservices; s++)
		fprintf(f, "branchq_longest_wait_seconds{service=\"%s\"} %lld\n", cfg->services[s].id,
		    (long long)fig->longest[cfg->services[s].id[0] - 'A']);
	head(f, "branchq_overtime_share", "gauge", "Today's overtime share by service: overtime "
	    "tickets / (called + overtime still waiting), 0 when none; as in the daily report.");
	for (int s = 0; s < cfg->nservices; s++) {
		int k = cfg->services[s].id[0] - 'A';
		fprintf(f, "branchq_overtime_share{service=\"%s\"} %.6g\n", cfg->services[s].id,
		    fig->overtime_base[k] > 0 ? (double)fig->overtime[k] / fig->overtime_base[k] : 0.0);
	}
	head(f, "branchq_overtime_target", "gauge", "The overtime share each service aims to stay "
	    "under (its target).");
	for (int s = 0; s < cfg->nservices; s++)
		fprintf(f, "branchq_overtime_target{service=\"%s\"} %.6g\n", cfg->services[s].id,
		    cfg->services[s].target_share);
	head(f, "branchq_overtime_tickets_today", "gauge", "Today's overtime tickets by service "
	    "(the share's numerator).");
	for (int s = 0; s < cfg->nservices; s++)
		fprintf(f, "branchq_overtime_tickets_today{service=\"%s\"} %d\n", cfg->services[s].id,
		    fig->overtime[cfg->services[s].id[0] - 'A']);

	head(f, "branchq_counters", "gauge", "Configured counters by state: open (no customer), "
	    "serving (a customer called or at it), paused.");
	if (queue_view_summary(m->q, now, &v) == BQ_OK) {
		int open = 0, serving = 0, paused = 0;
		for (int i = 0; i < cfg->ncounters; i++) {
			if (v.counters[i].paused)
				paused++;
			else if (v.counters[i].ticket_id != 0)
				serving++;
			else
				open++;
		}
		fprintf(f, "branchq_counters{state=\"open\"} %d\nbranchq_counters{state=\"serving\"} "
		    "%d\nbranchq_counters{state=\"paused\"} %d\n", open, serving, paused);
	}
	queue_view_free(&v);

	if (m->printer != NULL) {
		json_t *ph = printer_health(m->printer);
		const char *st = json_string_value(json_object_get(ph, "state"));
		head(f, "branchq_printer_state", "gauge", "The ticket printer's state: 1 for the "
		    "current one (none: no printer configured; unknown: nothing printed since start).");
		for (size_t i = 0; i < sizeof(pstates) / sizeof(pstates[0]); i++)
			fprintf(f, "branchq_printer_state{state=\"%s\"} %d\n", pstates[i],
			    st != NULL && strcmp(st, pstates[i]) == 0);
		head(f, "branchq_printer_jobs_queued", "gauge", "Paper tickets handed to the print "
		    "worker and not yet printed or failed.");
		fprintf(f, "branchq_printer_jobs_queued %lld\n",
		    (long long)json_integer_value(json_object_get(ph, "jobs")));
		json_decref(ph);
	}
	head(f, "branchq_printer_jobs_total", "counter", "Print jobs ended since start, by result "
	    "(a failed job is retried, and each try counts).");
	fprintf(f, "branchq_printer_jobs_total{result=\"printed\"} %llu\n"
	    "branchq_printer_jobs_total{result=\"failed\"} %llu\n", (unsigned long long)m->printed,
	    (unsigned long long)m->print_failed);

	if (m->sse != NULL) {
		head(f, "branchq_streams_open", "gauge", "Server-Sent Events streams open, by kind.");
		for (int k = SSE_STAFF; k <= SSE_PHONE; k++)
			fprintf(f, "branchq_streams_open{kind=\"%s\"} %d\n", kinds[k],
			    sse_count(m->sse, (enum sse_kind)k));
	}

	head(f, "branchq_http_request_duration_seconds", "histogram", "Time from a request's "
	    "arrival to its answer's end, by route (the route table's pattern); event streams "
	    "are not counted.");
	for (size_t i = 0; i < rn && i < m->nroutes; i++) {
		char labels[256];
		char *lp = NULL;
		size_t ll = 0;
		FILE *lf;

		if (m->requests[i].count == 0)
			continue;
		if ((lf = open_memstream(&lp, &ll)) == NULL)
			continue;
		fprintf(lf, "method=\"%s\",route=\"", routes[i].method);
		label(lf, routes[i].pattern);
		fputc('"', lf);
		fclose(lf);
		snprintf(labels, sizeof(labels), "%s", lp);
		free(lp);
		hist_lines(f, "branchq_http_request_duration_seconds", labels, &m->requests[i],
		    request_bounds, REQUEST_BOUNDS);
	}

	store_stats(m->q->store, &ss);
	head(f, "branchq_commits_total", "counter", "Database commits since start (each may hold "
	    "a batch of changes).");
	fprintf(f, "branchq_commits_total %llu\n", (unsigned long long)ss.commits);
	head(f, "branchq_commit_failures_total", "counter", "Commits that failed and were rolled "
	    "back, since start.");
	fprintf(f, "branchq_commit_failures_total %llu\n", (unsigned long long)ss.commit_failures);
	head(f, "branchq_commit_batch_size", "histogram", "Changes per commit (group commit).");
	hist_lines(f, "branchq_commit_batch_size", "", &ss.batch, metrics_batch_bounds,
	    METRICS_BATCH_BOUNDS);
	head(f, "branchq_commit_duration_seconds", "histogram", "How long each COMMIT took, its "
	    "fsync included.");
	hist_lines(f, "branchq_commit_duration_seconds", "", &ss.seconds, metrics_commit_bounds,
	    METRICS_COMMIT_BOUNDS);
	head(f, "branchq_storage_errors_total", "counter", "Database failures since start, by "
	    "kind: full (no space), io, readonly, corrupt, other.");
	for (int i = 0; i < STORE_ERR_CLASSES; i++)
		fprintf(f, "branchq_storage_errors_total{kind=\"%s\"} %llu\n",
		    store_err_class_name((enum store_err_class)i), (unsigned long long)ss.errors[i]);

	db_sizes(m, &main_b, &wal_b);
	head(f, "branchq_database_bytes", "gauge", "Size of the database's files: main and its "
	    "write-ahead log (wal).");
	fprintf(f, "branchq_database_bytes{file=\"main\"} %lld\nbranchq_database_bytes{file=\"wal\"} "
	    "%lld\n", (long long)main_b, (long long)wal_b);
	if (disk_space(m, &free_b, &size_b) == 0) {
		head(f, "branchq_disk_free_bytes", "gauge", "Free space on the database's file system.");
		fprintf(f, "branchq_disk_free_bytes %lld\n", (long long)free_b);
		head(f, "branchq_disk_size_bytes", "gauge", "Size of the database's file system.");
		fprintf(f, "branchq_disk_size_bytes %lld\n", (long long)size_b);
	}
	head(f, "branchq_disk_min_free_bytes", "gauge", "[monitoring] min_free_disk: below it "
	    "/healthz is degraded, below a tenth of it failing.");
	fprintf(f, "branchq_disk_min_free_bytes %lld\n", (long long)cfg->monitoring.min_free_disk);
	head(f, "branchq_start_time_seconds", "gauge", "When the daemon started, Unix time.");
	fprintf(f, "branchq_start_time_seconds %lld\n", (long long)m->started_at);
	free(fig);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* ---- /healthz --------------------------------------------------------------------------- */

enum health { HEALTH_OK, HEALTH_DEGRADED, HEALTH_FAILING };

static void
reason(json_t *reasons, enum health *h, enum health level, const char *text)
{
	if (level > *h)
		*h = level;
	json_array_append_new(reasons, json_string(text));
}

json_t *
metrics_health(struct metrics *m, int64_t now, bool *failing)
{
	static const char *const status[] = { "ok", "degraded", "failing" };
	const struct config *cfg = m->q->cfg;
	int64_t min_free = cfg->monitoring.min_free_disk, free_b = 0, size_b = 0;
	json_t *reasons = json_array(), *errors = json_object(), *printer = json_null(), *disk;
	enum health h = HEALTH_OK;
	struct store_stats ss;
	char text[160];
	bool have_disk;

	if (reasons == NULL || errors == NULL) {
		json_decref(reasons);
		json_decref(errors);
		return NULL;
	}
	store_stats(m->q->store, &ss);
	for (int i = 0; i < STORE_ERR_CLASSES; i++)
		json_object_set_new(errors, store_err_class_name((enum store_err_class)i),
		    json_integer((json_int_t)ss.errors[i]));
	if (ss.errors[STORE_ERR_CORRUPT] > 0) {
		reason(reasons, &h, HEALTH_FAILING, "the database is damaged: stop branchqd and "
		    "restore it from a backup");
	} else if (ss.failing) {
		snprintf(text, sizeof(text), "the database's last write failed (%s): changes are "
		    "refused", ss.errors[STORE_ERR_FULL] > 0 ? "the disk may be full" : "see the log");
		reason(reasons, &h, HEALTH_FAILING, text);
	} else if (ss.last_error_at != 0 && now - ss.last_error_at < STORAGE_RECENT_S) {
		reason(reasons, &h, HEALTH_DEGRADED, "the database failed in the last 15 minutes, "
		    "and has written since");
	}

	have_disk = disk_space(m, &free_b, &size_b) == 0;
	if (!have_disk) {
		reason(reasons, &h, HEALTH_DEGRADED, "cannot read the free disk space");
	} else if (free_b < min_free / 10) {
		snprintf(text, sizeof(text), "the disk is nearly full: %lld MiB free",
		    (long long)(free_b >> 20));
		reason(reasons, &h, HEALTH_FAILING, text);
	} else if (free_b < min_free) {
		snprintf(text, sizeof(text), "the disk is getting full: %lld MiB free, under "
		    "min_free_disk (%lld MiB)", (long long)(free_b >> 20), (long long)(min_free >> 20));
		reason(reasons, &h, HEALTH_DEGRADED, text);
	}
	disk = json_pack("{s:o,s:o,s:I}", "free_bytes", have_disk ? json_integer(free_b) :
	    json_null(), "size_bytes", have_disk ? json_integer(size_b) : json_null(),
	    "min_free_bytes", (json_int_t)min_free);

	if (m->printer != NULL) {
		const char *st;
		printer = printer_health(m->printer);
		st = json_string_value(json_object_get(printer, "state"));
		if (st != NULL && strcmp(st, "failing") == 0)
			reason(reasons, &h, HEALTH_DEGRADED, "the ticket printer is failing: tickets are "
			    "issued without paper");
	}
	*failing = h == HEALTH_FAILING;
	return json_pack("{s:s,s:o,s:{s:o,s:o,s:b},s:o,s:o}", "status", status[h], "reasons",
	    reasons, "database", "errors", errors, "last_error_at", ss.last_error_at ?
	    render_time(ss.last_error_at) : json_null(), "failing", ss.failing, "disk",
	    disk != NULL ? disk : json_null(), "printer", printer);
}
