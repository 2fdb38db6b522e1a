/*
 * config.h: the branch's configuration, read from an INI file with inih.
 *
 * A config is a plain value with fixed-size tables: it owns no heap memory,
 * so a reload builds a new one aside, validates it whole, and is swapped in
 * by assignment only when it has no error.
 */
#ifndef BRANCHQ_CONFIG_H
#define BRANCHQ_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "domain.h"
#include "tls.h"

#define CONFIG_NAME_MAX 128
#define CONFIG_URL_MAX 256
#define CONFIG_TZ_MAX 64
#define CONFIG_YEAR_DAYS 366             /* a year of `keep`: at least a calendar year */
#define CONFIG_KEEP_MAX_DAYS (100 * CONFIG_YEAR_DAYS)

struct service_conf {
	char id[2];                      /* the prefix letter, "A", NUL-terminated */
	char name_zh[CONFIG_NAME_MAX];
	char name_en[CONFIG_NAME_MAX];
	int64_t overtime_s;              /* overtime threshold; default 20 min */
	double target_share;             /* overtime share target, 0..1; default 0.05 */
	int64_t service_time_s;          /* assumed service time before history exists; default 5 min */
	int line;                        /* line of the section header, for messages */
};

struct counter_conf {
	int number;                      /* 1..MAX_COUNTER_NUMBER, as painted over the counter */
	int services[MAX_SERVICES];      /* indexes into config.services, in the counter's order */
	int nservices;
	bool green;                      /* 爱心窗口: calls green tickets first */
	bool english;                    /* a teller here speaks English */
	char name_zh[CONFIG_NAME_MAX];   /* "3 号窗口" unless the file names it */
	char name_en[CONFIG_NAME_MAX];   /* "Counter 3" */
	int line;
};

/* [printer]: the thermal printer behind a CUPS queue. No queue: tickets are issued without paper. */
struct printer_conf {
	char queue[CONFIG_NAME_MAX];     /* CUPS queue name; "" = no printer */
	char server[CONFIG_URL_MAX];     /* CUPS server, HOST[:PORT] or a socket path; "" = CUPS's default */
	int paper_mm;                    /* 80 or 58 */
	char footer[CONFIG_NAME_MAX * 2];/* last line of every ticket, e.g. the complaint hotline */
	int64_t timeout_s;               /* a job not printed by then has failed */
};

/*
 * [tls]: HTTPS, served by libmicrohttpd with GnuTLS. Both paths or neither;
 * both "" is plain HTTP. The files are read at start; a reload keeps the
 * running ones and says when a restart is needed (docs/security.md).
 */
struct tls_conf {
	char cert[PATH_MAX];             /* PEM: the certificate, then any intermediates */
	char key[PATH_MAX];              /* PEM: its unencrypted private key, not world-readable */
	struct tls_file_id cert_id, key_id;  /* the files that were checked */
	int cert_line, key_line;         /* of the keys, for messages */
};

/* [monitoring]: who may scrape /metrics without a token, and when free disk is low. */
#define CONFIG_NETS_MAX 16
struct config_net {
	uint32_t addr, mask;             /* IPv4, host byte order; addr is already masked */
};
struct config_nets {
	struct config_net net[CONFIG_NETS_MAX];
	int n;
};
struct monitoring_conf {
	struct config_nets metrics_allow;/* addresses that may GET /metrics with no token */
	int64_t min_free_disk;           /* bytes: below, /healthz is degraded; below a tenth, failing */
};

/* The keys a customer may press on the rating keypad, in the order they are shown. */
enum rating_key {
	RK_VERY_SATISFIED,               /* 非常满意 */
	RK_SATISFIED,                    /* 满意 */
	RK_NEUTRAL,                      /* 一般 */
	RK_DISSATISFIED,                 /* 不满意: an alert to the lobby */
	RK_COUNT
};
#define RATING_KEYS_MIN 3

/* [rating]: the keypad at each counter and the phone page's rating. */
struct rating_conf {
	int keys[RK_COUNT];              /* enum rating_key, in display order */
	int nkeys;                       /* 3 or 4 */
	int64_t window_s;                /* the keypad takes a press this long after its prompt */
	int64_t phone_window_s;          /* the phone page offers it this long after the service */
};

/*
 * [advisor]: the staffing advisor and the simulator (docs/advisor.md): the
 * hall's opening hours it plans, and how much history it fits.
 */
struct advisor_conf {
	int open_min;                    /* the hall opens, minutes after midnight */
	int close_min;                   /* and closes to new customers */
	int weeks;                       /* fit the last N same weekdays */
	int replications;                /* simulated days per figure */
	bool live;                       /* during the day, advise opening another counter */
	int64_t live_every_s;            /* how often the rest of the day is simulated */
	int live_replications;           /* simulated rests of the day behind the live advice */
};

/*
 * [uplink]: the event log up to the head office's PostgreSQL (uplink.h,
 * docs/hq.md). No section: no uplink (conninfo is "").
 */
#define CONFIG_CONNINFO_MAX 1024
#define CONFIG_BRANCH_ID_MAX 33
struct uplink_conf {
	char conninfo[CONFIG_CONNINFO_MAX];  /* a libpq connection string */
	char branch_id[CONFIG_BRANCH_ID_MAX];/* the head office's code for the branch (网点号) */
	int batch;                       /* events a transaction */
	int64_t interval_s;              /* a quiet uplink looks for new events this often */
	int64_t retry_s;                 /* after a failure, try again this much later */
};

/* [counter_keys]: the USB numeric keypad (叫号器) at a counter, as KeyboardEvent.code names. */
enum counter_key {
	CK_CALL, CK_RECALL, CK_START, CK_FINISH, CK_NO_SHOW, CK_PAUSE, CK_RATE, CK_COUNT
};
#define CONFIG_KEYCODE_MAX 32

struct config {
	char path[PATH_MAX];
	char name_zh[CONFIG_NAME_MAX];
	char name_en[CONFIG_NAME_MAX];
	char timezone[CONFIG_TZ_MAX];    /* IANA name, e.g. Asia/Shanghai */
	int day_reset_min;               /* business day starts this many minutes after local midnight */
	char listen[64];                 /* ADDR:PORT; default 127.0.0.1:8080 */
	char database[PATH_MAX];         /* relative paths are relative to the working directory */
	char public_url[CONFIG_URL_MAX]; /* base of the customers' phone-page links */
	char pages[PATH_MAX];            /* directory of the pages' static files (display/) */
	int recalls;                     /* recalls announced before a further recall makes a no-show */
	int call_repeats;                /* times the hall display speaks each call, 1-3 */
	int streams_per_address;         /* event streams one client address may hold; 0: no cap */
	char hosts[CONFIG_URL_MAX];      /* more names the Host header may give, space-separated */
	int64_t session_idle_s;          /* a staff session ends this long after its last request */
	int64_t session_max_s;           /* ... and this long after its sign-in, whatever */
	int64_t lockout_s;               /* how long 5 failed sign-ins lock a name */
	int kiosk_rate;                  /* tickets a minute one kiosk device may issue; 0: no limit */
	int phone_alert_ahead;           /* the phone page alerts when this many are ahead; 0: only the call */
	int keep_days;                   /* branchqd prune keeps this many days before today */
	int elderly_age;                 /* age on the business date that makes a ticket elderly */
	int reinstate_places;            /* a reinstated no-show is called after this many calls of its service */
	int reinstate_max;               /* reinstatements one ticket may have; 0: none */
	bool show_staff_number;          /* [display]: the window screen shows the teller's 工号 */
	struct rating_conf rating;
	struct advisor_conf advisor;
	char counter_keys[CK_COUNT][CONFIG_KEYCODE_MAX];
	int64_t boost_s[CAT_COUNT];      /* green head start per category; boost_s[CAT_NORMAL] == 0 */
	struct service_conf services[MAX_SERVICES];
	int nservices;
	struct counter_conf counters[MAX_COUNTERS];
	int ncounters;
	struct printer_conf printer;
	struct tls_conf tls;
	struct monitoring_conf monitoring;
	struct uplink_conf uplink;
};

/* Whether the daemon serves HTTPS: cookies Secure and __Host-, HSTS, https:// origins. */
static inline bool
config_tls_on(const struct config *c)
{
	return c->tls.cert[0] != '\0';
}

/* Whether a and b name the same [tls] files, unchanged on disk since each was checked. */
bool config_tls_same(const struct config *a, const struct config *b);

/*
 * Read and validate the file at path into *out. Every problem is written to
 * errors (may be NULL) as "path:line: message\n" ("path: message" for the
 * file as a whole, such as a missing section), all of them in one run, and
 * counted. Returns the number of problems; *out is meaningful only when 0.
 * Does not touch the process's time zone. Sets inih's process-wide options,
 * so call it from one thread at a time. The [tls] files are not read here
 * (config_tls_files).
 */
int config_load(const char *path, struct config *out, FILE *errors);

/*
 * Read the [tls] files of c, loaded by config_load, and have libmicrohttpd
 * load the pair (tls_check), so that a missing file, a key open to every
 * user or a key that is not the certificate's is a config error at its
 * key's line, written to errors as config_load does. Records which files
 * were read (config_tls_same). Returns the number of problems; 0 without
 * [tls]. The daemon calls it after config_load; the command-line tools do
 * not, as they serve no HTTPS and may run where the key cannot be read.
 */
int config_tls_files(struct config *c, FILE *errors);

/* Index of the service with prefix id ("A"), or -1. */
int config_service_index(const struct config *c, const char *id);

/* "very_satisfied", ...; the wire name of a rating key, and back (-1 when unknown). */
const char *rating_key_name(int k);
int rating_key_parse(const char *s);
/* 非常满意, Very satisfied. */
const char *rating_key_zh(int k);
const char *rating_key_en(int k);
/* "call", "no_show": the action a counter key stands for. */
const char *counter_key_name(int k);

/* Index of the counter with this number, or -1. */
int config_counter_index(const struct config *c, int number);

/*
 * Parse a duration: a whole number with an optional unit, "90s", "20m",
 * "1h"; a bare number means minutes. Returns 0 and sets *out_s, or -1.
 */
int config_parse_duration(const char *s, int64_t *out_s);

/*
 * Parse a number of days, "30d", "3y", or a bare number of days; a year
 * counts CONFIG_YEAR_DAYS days, so "3y" keeps at least three calendar
 * years. Returns 0 and sets *out_days (at most CONFIG_KEEP_MAX_DAYS), or -1.
 */
int config_parse_days(const char *s, int *out_days);

/*
 * The daemon listens on the branch's network but public_url names this
 * machine's loopback: no phone that scans a ticket's QR code can open it.
 */
bool config_public_url_unreachable(const struct config *c);

#endif
