/*
 * branchqd: the branch queue daemon.
 *
 *   branchqd -f CONFIG [-d] [-n] [--listen ADDR:PORT] [--db PATH]
 *   branchqd report [-f CONFIG] [--db PATH] [--date D] [--format F]   (report_cli.c)
 *   branchqd user|token ... [-f CONFIG] [--db PATH]                     (auth_cli.c)
 *   branchqd routes                                                     (auth_cli.c)
 *   branchqd backup|restore|prune ... [-f CONFIG] [--db PATH]           (maint_cli.c)
 *
 * One thread runs one loop (main_loop): it polls libmicrohttpd's epoll
 * descriptor and a signalfd, and owns all periodic work. Each turn it
 *  - answers HTTP requests (http_run), every one of which runs to completion;
 *  - reads signals: SIGHUP reloads the config, SIGTERM and SIGINT shut down;
 *  - when the voice, the preview, the reports' or the advice's worker finished a job,
 *    retries the requests that waited;
 *  - every SSE_KEEPALIVE_S seconds sends a keep-alive on every event stream;
 *  - under a systemd watchdog, pings it at half its interval: the ping comes
 *    from the loop itself, so a loop that is stuck stops the pings and
 *    systemd restarts the daemon;
 *  - takes in the print worker's news (its eventfd) and starts print retries
 *    that are due (printer_run): printing itself runs on that worker;
 *  - while shutting down, waits for requests in flight to finish (at most
 *    SHUTDOWN_GRACE_S), then closes the server and the database.
 *
 * Under systemd (Type=notify) the daemon says READY=1 once it listens with
 * the database open, RELOADING=1 then READY=1 around a SIGHUP reload, and
 * STOPPING=1 when it begins to shut down. Without NOTIFY_SOCKET each
 * sd_notify is a no-op.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "auth.h"
#include "auth_cli.h"
#include "clock.h"
#include "pages.h"
#include "bday.h"
#include "bus.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "maint_cli.h"
#include "metrics.h"
#include "printer.h"
#include "queue.h"
#include "report.h"
#include "advice_work.h"
#include "hall.h"
#include "live_work.h"
#include "uplink.h"
#include "hq_cli.h"
#include "report_work.h"
#include "sim_cli.h"
#include "sse.h"
#include "store.h"
#include "voice.h"

#define SHUTDOWN_GRACE_S 5
#define DEFAULT_CONFIG "/etc/branchq/branchq.conf"

struct options {
	const char *config;
	const char *listen;          /* overrides the config's; NULL: the config's */
	const char *db;
	bool foreground;
	bool check_only;
};

struct daemon {
	struct options opt;
	struct config cfg;           /* the live config; queue.cfg points here */
	struct store *store;
	struct bus bus;
	struct queue queue;
	struct api api;
	struct pages pages;          /* the pages' files; api.pages points here */
	struct sse *sse;
	struct printer *printer;
	struct voice *voice;         /* api.voice points here */
	struct work *reports;        /* api.reports points here */
	struct work *advice;         /* api.advice points here */
	struct work *live;           /* the live advice's worker ([advisor] live) */
	struct live_job *live_job;   /* the snapshot being simulated, while live_pending */
	bool live_pending;
	bool live_on;                /* the last advice.* logged was open_counter */
	int64_t live_next_ms;        /* when to take the next snapshot */
	struct uplink *uplink;       /* api.uplink points here; NULL: no [uplink] */
	int64_t uplink_saved;        /* the cursor as SQLite holds it */
	struct work *signins;        /* api.signins points here */
	struct http *http;
	int sigfd;
	int lockfd;
	int64_t watchdog_ms;         /* systemd's watchdog ping interval; 0: no watchdog */
};

/*
 * The hall as it stands, for the live advice: the tickets waiting (their
 * issue times) and which counters are open (not paused). False when the
 * hall cannot be read now.
 */
static bool
live_snapshot(struct daemon *d, int64_t now, struct live_job *j)
{
	struct queue_view v;
	struct ticket *w = NULL;
	int n = 0;

	memset(&v, 0, sizeof(v));
	if (queue_view_summary(&d->queue, now, &v) != BQ_OK || hall_waiting_copy(d->queue.hall, &w,
	    &n) != 0) {
		queue_view_free(&v);
		return false;
	}
	memset(j, 0, sizeof(*j));
	memcpy(&j->cfg, &d->cfg, sizeof(j->cfg));
	j->now = now;
	j->seed = 1;
	for (int k = 0; k < d->cfg.ncounters; k++)
		j->open[k] = v.counters[k].paused == 0;
	j->waiting_all = n;
	for (int i = 0; i < n && j->nwaiting < LIVE_MAX_WAITING; i++) {
		int s = config_service_index(&d->cfg, w[i].service);
		if (s < 0)
			continue;
		j->waiting[j->nwaiting++] = (struct simday_waiting){ .service = s,
		    .category = w[i].category, .english = w[i].lang == LANG_EN,
		    .issued_at = w[i].issued_at };
	}
	free(w);
	queue_view_free(&v);
	return true;
}

/* Take a snapshot and hand it to the live worker, when one is due and none is being simulated. */
static void
live_start(struct daemon *d)
{
	const uint8_t *out;
	size_t len;

	if (d->live == NULL || !d->cfg.advisor.live || d->live_pending ||
	    mono_ms() < d->live_next_ms)
		return;
	d->live_next_ms = mono_ms() + d->cfg.advisor.live_every_s * 1000;
	if (!live_snapshot(d, clock_now(), d->live_job))
		return;
	if (work_lookup(d->live, "live", d->live_job, NULL, &out, &len) == WORK_PENDING)
		d->live_pending = true;
}

/*
 * The worker's answer: when the rest of the day crosses its target (or
 * falls back under it) log advice.open_counter (advice.cleared), which the
 * staff stream carries; GET /api/v1/advice/live shows the latest.
 */
static void
live_collect(struct daemon *d)
{
	const struct live_result *res;
	const uint8_t *out;
	size_t len;
	enum bq_err e;

	if (!d->live_pending)
		return;
	switch (work_lookup(d->live, "live", d->live_job, NULL, &out, &len)) {
	case WORK_PENDING:
		return;
	case WORK_READY:
		break;
	default:
		d->live_pending = false;
		return;
	}
	d->live_pending = false;
	res = (const struct live_result *)(const void *)out;
	if (res->err != 0)
		return;
	bool on = res->live.on;
	json_t *data = live_work_json(&d->cfg, res);
	if (data == NULL)
		return;
	json_decref(d->api.live);
	d->api.live = NULL;
	if (on) {
		json_incref(data);
		d->api.live = data;
	}
	if (on == d->live_on) {
		json_decref(data);
		return;
	}
	if ((e = queue_advice(&d->queue, on, data, clock_now())) != BQ_OK) {
		log_warnx("advice: cannot log %s: %s", on ? "advice.open_counter" :
		    "advice.cleared", bq_err_code(e));
		return;
	}
	d->live_on = on;
	log_info("advice: %s", on ? "the rest of the day would miss its target: open another "
	    "counter" : "the rest of the day meets its target again");
}

/* The uplink's durable cursor: the last event the head office committed, into SQLite. */
static enum bq_err
write_uplink(struct sqlite3 *db, void *ctx)
{
	return store_uplink_set(db, *(const int64_t *)ctx);
}

static void
uplink_saved(struct daemon *d)
{
	int64_t sent = uplink_collect(d->uplink);

	if (sent <= d->uplink_saved)
		return;
	/* A failed write only means a batch is sent again after a crash: the head office ignores it. */
	if (queue_write(&d->queue, write_uplink, &sent) == BQ_OK)
		d->uplink_saved = sent;
}

/* Committed events wake the uplink, so a quiet branch's events go up within a round trip. */
static void
uplink_on_event(void *arg, const struct bus_event *ev)
{
	(void)ev;
	uplink_kick(arg);
}

static void
usage(void)
{
	fprintf(stderr, "usage: branchqd [-dn] [-f config] [--listen addr:port] [--db path]\n"
	    "  -f FILE    configuration file (default " DEFAULT_CONFIG ")\n"
	    "  -d         stay in the foreground, log to stderr\n"
	    "  -n         check the configuration, print every error, and exit\n"
	    "  --listen   listen on ADDR:PORT instead of the config's (port 0: any free port)\n"
	    "  --db PATH  use this database instead of the config's\n"
	    "       branchqd report [-f config] [--db path] [--date YYYY-MM-DD] "
	    "[--format json|csv|html]\n"
	    "       branchqd backup --to FILE [--keep N] | restore --from FILE | "
	    "prune [--keep 3y|DAYS]\n");
	exit(2);
}

/* Load path into *cfg, logging every problem; 0 when it is usable. */
/*
 * --listen and --db over the file's. public_url stays the file's (or what
 * the file's listen made it): a --listen of port 0 or of a test's own port
 * names no address a customer's phone should be sent to.
 */
static void
apply_overrides(const struct options *opt, struct config *cfg)
{
	if (opt->listen != NULL)
		snprintf(cfg->listen, sizeof(cfg->listen), "%s", opt->listen);
	if (opt->db != NULL)
		snprintf(cfg->database, sizeof(cfg->database), "%s", opt->db);
}

static int
load_config(const char *path, const struct options *opt, struct config *cfg)
{
	char *text = NULL;
	size_t len = 0;
	FILE *errs = open_memstream(&text, &len);
	int n = config_load(path, cfg, errs);

	n += config_tls_files(cfg, errs);
	if (errs != NULL)
		fclose(errs);
	if (n > 0 && text != NULL) {
		for (char *save = NULL, *line = strtok_r(text, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save))
			log_warnx("%s", line);
	}
	free(text);
	if (n > 0)
		return -1;
	apply_overrides(opt, cfg);
	return 0;
}

/* (Re)read the pages' files; a missing directory leaves the API working and the pages 404. */
static void
load_pages(struct daemon *d)
{
	char err[512];

	if (pages_load(&d->pages, d->cfg.pages, err, sizeof(err)) != 0)
		log_warnx("pages: %s; the pages are not served", err);
	else
		log_info("pages: %d files from %s", d->pages.n, d->cfg.pages);
}

/*
 * SIGHUP: build the new config aside and swap it in only when it is whole.
 * 0 when the new config runs, -1 when the running one was kept.
 */
static void audit_reload(struct daemon *d);

/* Does some counter of cfg serve service index s? */
static bool
served_by_some_counter(const struct config *cfg, int s)
{
	for (int i = 0; i < cfg->ncounters; i++)
		for (int j = 0; j < cfg->counters[i].nservices; j++)
			if (cfg->counters[i].services[j] == s)
				return true;
	return false;
}

/*
 * Would next strand anyone: a service with customers waiting today that
 * next removes, or that no counter of next serves? Then why names the
 * service and its tickets, and the reload is refused: nobody could call them.
 */
static bool
reload_strands(struct daemon *d, const struct config *next, char *why, size_t len)
{
	struct queue_view v;
	bool stranded = false;

	memset(&v, 0, sizeof(v));
	if (queue_view_load(&d->queue, clock_now(), &v) != BQ_OK) {
		queue_view_free(&v);
		return false;                   /* nothing known to strand; the hall is read anew */
	}
	for (int s = 0; s < d->cfg.nservices && !stranded; s++) {
		const char *id = d->cfg.services[s].id;
		int ns = config_service_index(next, id), k = 0;
		size_t n;

		if (v.count[s] == 0 || (ns >= 0 && served_by_some_counter(next, ns)))
			continue;
		stranded = true;
		n = (size_t)snprintf(why, len, "service %s %s, and %d waiting for it could never be "
		    "called:", id, ns < 0 ? "is removed" : "has no counter", v.count[s]);
		for (int i = 0; i < v.nwaiting && n < len; i++) {
			if (strcmp(v.waiting[i].service, id) != 0)
				continue;
			if (k++ == 10) {
				snprintf(why + n, len - n, " and %d more", v.count[s] - 10);
				break;
			}
			n += (size_t)snprintf(why + n, len - n, " %s", v.waiting[i].number);
		}
	}
	queue_view_free(&v);
	return stranded;
}

static int
reload(struct daemon *d)
{
	char why[512];
	struct printer_conf old_printer;

	struct config *next = malloc(sizeof(*next));
	int rc = -1;

	if (next == NULL) {
		log_warnx("reload: out of memory; keeping the running configuration");
		return -1;
	}
	if (load_config(d->opt.config, &d->opt, next) != 0) {
		log_warnx("reload: %s has errors; keeping the running configuration", d->opt.config);
	} else if (bday_set_timezone(next->timezone) != 0) {
		log_warnx("reload: unknown time zone %s; keeping the running configuration",
		    next->timezone);
	} else if (reload_strands(d, next, why, sizeof(why))) {
		log_warnx("reload refused: %s; serve or cancel them first, or give the service a "
		    "counter; keeping the running configuration", why);
		bday_set_timezone(d->cfg.timezone);
	} else {
		if (strcmp(next->listen, d->cfg.listen) != 0)
			log_warnx("reload: listen changed to %s; restart branchqd to apply it", next->listen);
		if (strcmp(next->database, d->cfg.database) != 0)
			log_warnx("reload: database changed to %s; restart branchqd to apply it",
			    next->database);
		/* libmicrohttpd takes its certificate at start only. */
		if (!config_tls_same(next, &d->cfg))
			log_warnx("reload: [tls] or its files changed; restart branchqd to serve them");
		next->tls = d->cfg.tls;
		for (int i = 0; i < d->cfg.nservices; i++)
			if (config_service_index(next, d->cfg.services[i].id) < 0)
				log_info("reload: service %s removed (nobody was waiting for it)",
				    d->cfg.services[i].id);
		for (int i = 0; i < d->cfg.ncounters; i++)
			if (config_counter_index(next, d->cfg.counters[i].number) < 0)
				log_warnx("reload: counter %d removed: a ticket it called stays called",
				    d->cfg.counters[i].number);
		snprintf(next->listen, sizeof(next->listen), "%s", d->cfg.listen);
		snprintf(next->database, sizeof(next->database), "%s", d->cfg.database);
		old_printer = d->cfg.printer;
		d->cfg = *next;
		printer_reloaded(d->printer, &old_printer, clock_now());
		auth_set_config(d->api.auth, &d->cfg);
		load_pages(d);
		audit_reload(d);
		if (queue_sync_counters(&d->queue) != BQ_OK)
			log_warnx("reload: could not record the new counters");
		if (d->uplink != NULL)
			uplink_config(d->uplink, &d->cfg);
		log_info("configuration reloaded from %s", d->opt.config);
		rc = 0;
	}
	free(next);
	return rc;
}

static enum bq_err
write_reload(struct sqlite3 *db, void *ctx)
{
	struct principal sys = { .role = ROLE_NONE };

	(void)ctx;
	return auth_audit(db, clock_now(), &sys, "branchqd", "config-reload", 0, 0, "ok",
	    "local");
}

/* A reload changes what the branch does: the audit trail records it. */
static void
audit_reload(struct daemon *d)
{
	if (queue_write(&d->queue, write_reload, NULL) != BQ_OK)
		log_warnx("reload: not recorded in the audit trail");
}

/*
 * Every phone, display and page holds a connection, and each is a
 * descriptor: take all the hard limit allows (the unit sets LimitNOFILE).
 * http_start sizes its connection limit from what this leaves.
 */
static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		log_warn("getrlimit RLIMIT_NOFILE");
		return;
	}
	if (rl.rlim_cur != rl.rlim_max) {
		rlim_t was = rl.rlim_cur;
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
			log_warn("cannot raise the descriptor limit from %llu to %llu",
			    (unsigned long long)was, (unsigned long long)rl.rlim_max);
			return;
		}
	}
	log_info("descriptors: %llu (the hard limit)", (unsigned long long)rl.rlim_cur);
}

/* Refuse to share a database with another branchqd: two writers would split the event stream. */
static int
lock_database(struct daemon *d)
{
	char path[PATH_MAX + 8];

	snprintf(path, sizeof(path), "%s.lock", d->cfg.database);
	d->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (d->lockfd < 0) {
		log_warn("%s", path);
		return -1;
	}
	if (flock(d->lockfd, LOCK_EX | LOCK_NB) != 0) {
		log_warnx("database %s is in use by another branchqd", d->cfg.database);
		return -1;
	}
	return 0;
}

/* At a day reset (or a start after one): close what earlier days left waiting. */
static void
expire_days(struct daemon *d)
{
	int n;

	if (queue_expire(&d->queue, clock_now(), &n) != BQ_OK)
		log_warnx("day reset: cannot close the tickets earlier days left waiting; trying "
		    "again in %d s", SSE_KEEPALIVE_S);
	else if (n > 0)
		log_info("day reset: %d ticket%s left waiting on earlier business days closed as "
		    "expired", n, n == 1 ? "" : "s");
}

/*
 * Tell systemd the daemon serves (READY=1), with a status line that
 * `systemctl status` shows: note, then where it listens.
 */
static void
notify_ready(const struct daemon *d, const char *note)
{
	sd_notifyf(0, "READY=1\nSTATUS=%s; listening on %s://%.*s:%d", note,
	    config_tls_on(&d->cfg) ? "https" : "http",
	    (int)(strrchr(d->cfg.listen, ':') - d->cfg.listen), d->cfg.listen, http_port(d->http));
}

/* systemd's watchdog (WatchdogSec= sets WATCHDOG_USEC): ping at half its interval. */
static void
watchdog_init(struct daemon *d)
{
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return;
	d->watchdog_ms = (int64_t)(usec / 2000);
	if (d->watchdog_ms == 0)
		d->watchdog_ms = 1;
	log_info("systemd watchdog: %llu ms; the loop pings it every %lld ms",
	    (unsigned long long)(usec / 1000), (long long)d->watchdog_ms);
}

static int
main_loop(struct daemon *d)
{
	int64_t next_keepalive = sse_keepalive_next(mono_ms());
	int64_t next_watchdog = d->watchdog_ms > 0 ? mono_ms() + d->watchdog_ms : INT64_MAX;
	int64_t deadline = 0;
	bool stopping = false, failed = false;

	for (;;) {
		struct pollfd pfd[11] = {
			{ .fd = d->sigfd, .events = POLLIN },
			{ .fd = http_fd(d->http), .events = POLLIN },
			{ .fd = printer_fd(d->printer), .events = POLLIN },
			{ .fd = d->voice != NULL ? voice_fd(d->voice) : -1, .events = POLLIN },
			{ .fd = printer_preview_fd(d->printer), .events = POLLIN },
			{ .fd = d->reports != NULL ? work_fd(d->reports) : -1, .events = POLLIN },
			{ .fd = http_commit_fd(d->http), .events = POLLIN },
			{ .fd = d->signins != NULL ? work_fd(d->signins) : -1, .events = POLLIN },
			{ .fd = d->advice != NULL ? work_fd(d->advice) : -1, .events = POLLIN },
			{ .fd = d->live != NULL ? work_fd(d->live) : -1, .events = POLLIN },
			{ .fd = d->uplink != NULL ? uplink_fd(d->uplink) : -1, .events = POLLIN },
		};
		int64_t now = mono_ms(), timeout = next_keepalive - now, t = http_timeout_ms(d->http);

		if (t >= 0 && t < timeout)
			timeout = t;
		if (next_watchdog - now < timeout)
			timeout = next_watchdog - now;
		if (d->live != NULL && d->cfg.advisor.live && !d->live_pending &&
		    d->live_next_ms - now < timeout)
			timeout = d->live_next_ms - now;
		if ((t = printer_timeout_ms(d->printer)) >= 0 && t < timeout)
			timeout = t;
		if (stopping && timeout > 100)
			timeout = 100;
		if (sse_take_resumed(d->sse))
			timeout = 0;
		if (http_take_batch_waiting(d->http))
			timeout = 0;
		if (timeout < 0)
			timeout = 0;
		if (poll(pfd, 11, (int)timeout) < 0 && errno != EINTR) {
			/* Shut down the orderly way: suspended streams must end before MHD stops. */
			log_warn("poll");
			failed = true;
			if (!stopping) {
				sd_notify(0, "STOPPING=1");
				stopping = true;
				deadline = mono_ms() + SHUTDOWN_GRACE_S * 1000;
				http_quiesce(d->http);
				sse_close_all(d->sse);
			}
		}
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(d->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				if (si.ssi_signo == SIGHUP) {
					sd_notify(0, "RELOADING=1\nSTATUS=reloading the configuration");
					notify_ready(d, reload(d) == 0 ? "configuration reloaded" :
					    "reload refused (see the log); the running configuration stays");
				} else if (!stopping) {
					log_info("signal %d: shutting down", (int)si.ssi_signo);
					sd_notify(0, "STOPPING=1\nSTATUS=shutting down");
					stopping = true;
					deadline = mono_ms() + SHUTDOWN_GRACE_S * 1000;
					http_quiesce(d->http);
					sse_close_all(d->sse);
				}
			}
		}
		/* First: a group commit that ended lets its answers go and the next batch start. */
		if (pfd[6].revents & POLLIN)
			http_commit_done(d->http);
		printer_run(d->printer);
		if (pfd[3].revents & POLLIN)
			voice_collect(d->voice);
		if (pfd[4].revents & POLLIN)
			printer_preview_collect(d->printer);
		if (pfd[5].revents & POLLIN)
			work_collect(d->reports);
		if (pfd[7].revents & POLLIN)
			work_collect(d->signins);
		if (pfd[8].revents & POLLIN)
			work_collect(d->advice);
		if (pfd[9].revents & POLLIN) {
			work_collect(d->live);
			live_collect(d);
		}
		if (!stopping)
			live_start(d);
		if (pfd[10].revents & POLLIN)
			uplink_saved(d);
		if ((pfd[3].revents | pfd[4].revents | pfd[5].revents | pfd[7].revents |
		    pfd[8].revents) & POLLIN)
			http_wake_pending(d->http);
		if (mono_ms() >= next_keepalive) {
			expire_days(d);
			sse_keepalive(d->sse);
			next_keepalive = sse_keepalive_next(mono_ms());
		}
		if (mono_ms() >= next_watchdog) {
			sd_notify(0, "WATCHDOG=1");
			next_watchdog = mono_ms() + d->watchdog_ms;
		}
		/*
		 * Last in the turn: a stream resumed above (keep-alive, shutdown) is
		 * only picked up by libmicrohttpd's next run, and poll would not wake
		 * for it.
		 */
		http_run(d->http);
		if (stopping && (http_active(d->http) == 0 || mono_ms() >= deadline)) {
			if (http_active(d->http) != 0)
				log_warnx("%u requests still open at shutdown", http_active(d->http));
			return failed ? -1 : 0;
		}
	}
}

static void
parse_options(int argc, char **argv, struct options *opt)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'L' },
		{ "db", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	opt->config = DEFAULT_CONFIG;
	while ((ch = getopt_long(argc, argv, "df:nh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': opt->foreground = true; break;
		case 'f': opt->config = optarg; break;
		case 'n': opt->check_only = true; break;
		case 'L': opt->listen = optarg; break;
		case 'D': opt->db = optarg; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
}

/* Who is signed in at a counter, for the window screens' 工号 ([display] show_staff_number). */
static const char *
counter_holder(void *arg, int counter, int64_t now)
{
	return auth_counter_holder(arg, counter, now, 0);
}

int
main(int argc, char **argv)
{
	static struct daemon d;
	char err[512];
	sigset_t mask;
	int64_t last_at;
	int rc;

	if (argc > 1 && strcmp(argv[1], "report") == 0)
		return report_main(argc - 1, argv + 1, DEFAULT_CONFIG);
	if (argc > 1 && strcmp(argv[1], "simulate") == 0)
		return sim_cli_simulate(argc - 1, argv + 1, DEFAULT_CONFIG);
	if (argc > 1 && strcmp(argv[1], "advise") == 0)
		return sim_cli_advise(argc - 1, argv + 1, DEFAULT_CONFIG);
	if (argc > 1 && strcmp(argv[1], "hq") == 0)
		return hq_main(argc - 1, argv + 1);
	if (argc > 1 && (strcmp(argv[1], "user") == 0 || strcmp(argv[1], "token") == 0 ||
	    strcmp(argv[1], "routes") == 0))
		return auth_main(argc - 1, argv + 1, DEFAULT_CONFIG);
	if (argc > 1 && (strcmp(argv[1], "backup") == 0 || strcmp(argv[1], "restore") == 0 ||
	    strcmp(argv[1], "prune") == 0))
		return maint_main(argc - 1, argv + 1, DEFAULT_CONFIG);
	parse_options(argc, argv, &d.opt);
	log_init(true);
	if (d.opt.check_only) {
		int n = config_load(d.opt.config, &d.cfg, stderr);

		n += config_tls_files(&d.cfg, stderr);
		if (n > 0) {
			fprintf(stderr, "%s: %d error%s\n", d.opt.config, n, n == 1 ? "" : "s");
			return 1;
		}
		apply_overrides(&d.opt, &d.cfg);
		printf("%s: configuration OK\n", d.opt.config);
		/* What the daemon would use, one "key value" a line: make run prints its URLs from it. */
		{
			/* Every address ("*", 0.0.0.0) includes this machine's loopback. */
			const char *colon = strrchr(d.cfg.listen, ':');
			bool any = strncmp(d.cfg.listen, "*:", 2) == 0 ||
			    strncmp(d.cfg.listen, "0.0.0.0:", 8) == 0;
			printf("listen %s\nurl %s://%s%s\npublic_url %s\ndatabase %s\ncounters",
			    d.cfg.listen, config_tls_on(&d.cfg) ? "https" : "http",
			    any ? "127.0.0.1" : d.cfg.listen, any && colon ? colon : "",
			    d.cfg.public_url, d.cfg.database);
		}
		for (int i = 0; i < d.cfg.ncounters; i++)
			printf(" %d", d.cfg.counters[i].number);
		printf("\npublic_url_reachable %s\n", config_public_url_unreachable(&d.cfg) ? "no" :
		    strncmp(d.cfg.listen, "127.", 4) == 0 ? "this machine only" : "yes");
		return 0;
	}
	if (load_config(d.opt.config, &d.opt, &d.cfg) != 0)
		fatalx("%s: configuration has errors (check with branchqd -n -f %s)", d.opt.config,
		    d.opt.config);
	if (bday_set_timezone(d.cfg.timezone) != 0)
		fatalx("unknown time zone %s", d.cfg.timezone);
	if (config_public_url_unreachable(&d.cfg))
		log_warnx("public_url is %s, this machine's loopback, but branchqd listens on %s: no "
		    "phone that scans a ticket's QR code can open it; set public_url in [branch] to the "
		    "address phones reach this machine at (http://ADDRESS:PORT)", d.cfg.public_url,
		    d.cfg.listen);

	signal(SIGPIPE, SIG_IGN);
	/* A file-size limit must fail a write (the database reports it), not kill us. */
	signal(SIGXFSZ, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0)
		fatal("sigprocmask");
	if (!d.opt.foreground && daemon(1, 0) != 0)
		fatal("daemon");
	log_init(d.opt.foreground);
	if ((d.sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		fatal("signalfd");

	raise_fd_limit();
	if (lock_database(&d) != 0)
		return 1;
	if ((d.store = store_open(d.cfg.database, err, sizeof(err))) == NULL)
		fatalx("database: %s", err);
	if (store_quick_check(d.store, err, sizeof(err)) != 0)
		fatalx("database: %s", err);
	d.queue.store = d.store;
	d.queue.cfg = &d.cfg;
	d.queue.bus = &d.bus;
	if (queue_sync_counters(&d.queue) != BQ_OK)
		fatalx("database: cannot record the counters");
	if (store_last_event_time(d.store, &last_at) != BQ_OK)
		fatalx("database: cannot read the time of its last event");
	clock_start(last_at);
	/* The day's hall is read now, not by whichever request comes first. */
	if (queue_version(&d.queue, clock_now(), &(uint64_t){ 0 }) != BQ_OK)
		fatalx("database: cannot read the day's hall");
	expire_days(&d);
	d.api.queue = &d.queue;
	d.api.pages = &d.pages;
	load_pages(&d);
	if ((d.sse = sse_new(&d.queue)) == NULL)
		fatalx("out of memory");
	bus_subscribe(&d.bus, EV_ALL, sse_on_event, d.sse);
	if ((d.printer = printer_new(&d.queue)) == NULL)
		fatalx("cannot start the printer's worker");
	d.api.printer = d.printer;
	bus_subscribe(&d.bus, EV_TICKET_ISSUED, printer_on_event, d.printer);
	if ((d.voice = voice_new()) == NULL)
		log_warnx("voice: cannot start the worker; calls are not spoken");
	d.api.voice = d.voice;
	if ((d.reports = report_work_new()) == NULL)
		log_warnx("report: cannot start the worker; reports are built on the loop");
	d.api.reports = d.reports;
	if ((d.advice = advice_work_new()) == NULL)
		log_warnx("advice: cannot start the worker; GET /api/v1/advice is refused");
	d.api.advice = d.advice;
	if ((d.live_job = malloc(sizeof(*d.live_job))) == NULL || (d.live = live_work_new()) == NULL)
		log_warnx("advice: cannot start the live advice's worker; no 建议增开窗口 today");
	if ((d.api.auth = auth_new(d.cfg.database, &d.cfg, clock_now())) == NULL)
		fatalx("database: cannot read the staff accounts and tokens");
	if (d.cfg.uplink.conninfo[0] != '\0') {
		char install[STORE_INSTALL_ID_MAX];
		if (store_uplink_get(d.store, &d.uplink_saved, install) != BQ_OK)
			fatalx("database: cannot read the uplink's cursor");
		if ((d.uplink = uplink_start(&d.cfg, d.cfg.database, d.uplink_saved, install)) == NULL)
			fatalx("cannot start the uplink's worker");
		d.api.uplink = d.uplink;
		bus_subscribe(&d.bus, EV_ALL, uplink_on_event, d.uplink);
	}
	d.queue.holder = counter_holder;
	d.queue.holder_arg = d.api.auth;
	if ((d.signins = work_new("sign-in", 16, sizeof(struct signin_job), api_signin_run)) == NULL)
		fatalx("cannot start the sign-in worker");
	work_set_secret(d.signins);
	d.api.signins = d.signins;
	if ((d.api.metrics = metrics_new(&d.queue, d.sse, d.printer, (int64_t)time(NULL))) == NULL)
		fatalx("database: cannot read today's tickets for the metrics");
	if ((d.http = http_start(d.cfg.listen, &d.api, d.sse, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	if (auth_count_users(d.api.auth) == 0)
		log_info("no staff account yet: create the first with "
		    "`branchqd user add NAME --role admin -f %s` (it asks for the password)",
		    d.opt.config);

	watchdog_init(&d);
	log_info("branchqd ready: %s (%s), listening on %s://%.*s:%d, database %s",
	    d.cfg.name_en, d.cfg.timezone, config_tls_on(&d.cfg) ? "https" : "http",
	    (int)(strrchr(d.cfg.listen, ':') - d.cfg.listen),
	    d.cfg.listen, http_port(d.http), d.cfg.database);
	notify_ready(&d, "serving");

	rc = main_loop(&d);
	http_stop(d.http);
	uplink_stop(d.uplink);
	metrics_free(d.api.metrics);
	printer_free(d.printer);
	voice_free(d.voice);
	work_free(d.reports);
	work_free(d.advice);
	work_free(d.live);
	free(d.live_job);
	json_decref(d.api.live);
	work_free(d.signins);
	auth_free(d.api.auth);
	auth_audit_forget();
	sse_free(d.sse);
	pages_free(&d.pages);
	api_close(&d.api);
	queue_close(&d.queue);
	store_close(d.store);
	close(d.lockfd);
	log_info("branchqd stopped");
	return rc == 0 ? 0 : 1;
}
