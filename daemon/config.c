/*
 * config.c: read the branch's INI file (docs/configuration.md) into a
 * struct config, checking every value, and report every problem in one run
 * as "path:line: message", the way OpenBSD daemons do, so that `branchqd -n`
 * shows a lobby manager the whole list at once.
 *
 * inih splits lines into sections and key = value pairs. Debian builds it
 * without line numbers in the handler, so we feed it through our own line
 * reader: inih calls the handler right after reading a line, so the reader's
 * count is the line of the pair being handled. The reader also sees section
 * headers (inih does not report them) and lines inih would reject, which
 * lets us report each bad line, not only the first, and know the line of
 * every section.
 *
 * Each option is one row of a table (name, kind, range, field, default), as
 * in Redis's config.c; defaults go through the same parser as the file, so
 * a default is always a legal value. Values are parsed strictly: strtoll
 * with end-pointer and errno checks, no atoi, no silent truncation.
 */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <sys/stat.h>

#include <ini.h>

#include "config.h"

/* Longest line we accept, newline excluded; inih needs room for "\r\n\0". */
#define CONFIG_LINE_MAX 1024
#define CONFIG_ZONEINFO "/usr/share/zoneinfo"
#define CONFIG_DAY_S (24 * 3600)
#define CONFIG_QUOTE_MAX 48      /* bytes of a bad value echoed in a message */
#define CONFIG_SECNAME_MAX 64

enum opt_kind {
	OPT_STRING,     /* UTF-8 text, 1..size-1 bytes, no control characters */
	OPT_INT,        /* whole number in min..max */
	OPT_DURATION,   /* config_parse_duration, seconds in min..max */
	OPT_PERCENT,    /* 0..100 with optional '%', stored as a share 0..1 */
	OPT_BOOL,       /* yes/no, true/false, 1/0 */
	OPT_TIME,       /* HH:MM, stored as minutes after midnight */
	OPT_TIMEZONE,   /* IANA name with a TZif file under CONFIG_ZONEINFO */
	OPT_LISTEN,     /* IPv4 address, "localhost" or "*", ':', port */
	OPT_URL,        /* http:// or https:// base, trailing '/' dropped */
	OPT_SERVICES,   /* a counter's service prefixes, in order */
	OPT_PAPER,      /* "80mm" or "58mm", stored as the width in mm */
	OPT_DAYS,       /* config_parse_days, days in min..max */
	OPT_NETS,       /* IPv4 addresses or ADDR/BITS, separated by commas or blanks */
	OPT_SIZE,       /* bytes: a whole number with K, M, G or T (powers of 1024), in min..max */
	OPT_RATING_KEYS,/* 3 or 4 rating key names, in display order */
	OPT_KEYCODE,    /* a KeyboardEvent.code name: letters and digits, "NumpadAdd" */
};

struct option {
	const char *name;
	enum opt_kind kind;
	int64_t min, max;        /* OPT_INT, OPT_DURATION */
	size_t offset;           /* of the field in the section's struct */
	size_t size;             /* of the field, bounds OPT_STRING and friends */
	bool required;
	const char *def;         /* default, parsed like a value; NULL: none */
};

#define OPT(s, n, k, lo, hi, f, req, d) \
	{ n, k, lo, hi, offsetof(s, f), sizeof(((s *)0)->f), req, d }
#define BRANCH(n, k, lo, hi, f, req, d) OPT(struct config, n, k, lo, hi, f, req, d)
#define SERVICE(n, k, lo, hi, f, req, d) OPT(struct service_conf, n, k, lo, hi, f, req, d)
#define COUNTER(n, k, lo, hi, f, req, d) OPT(struct counter_conf, n, k, lo, hi, f, req, d)
#define REQUIRED true
#define OPTIONAL false

static const struct option branch_options[] = {
	BRANCH("name_zh",    OPT_STRING,   0, 0,  name_zh,       REQUIRED, NULL),
	BRANCH("name_en",    OPT_STRING,   0, 0,  name_en,       REQUIRED, NULL),
	BRANCH("timezone",   OPT_TIMEZONE, 0, 0,  timezone,      REQUIRED, NULL),
	BRANCH("day_reset",  OPT_TIME,     0, 0,  day_reset_min, OPTIONAL, "04:00"),
	BRANCH("listen",     OPT_LISTEN,   0, 0,  listen,        OPTIONAL, "127.0.0.1:8080"),
	BRANCH("database",   OPT_STRING,   0, 0,  database,      OPTIONAL, "var/branchq.db"),
	BRANCH("pages",      OPT_STRING,   0, 0,  pages,         OPTIONAL, "/usr/share/branchq/display"),
	/* The default, http://<listen>, is derived once listen is known. */
	BRANCH("public_url", OPT_URL,      0, 0,  public_url,    OPTIONAL, NULL),
	BRANCH("recalls",    OPT_INT,      0, 10, recalls,       OPTIONAL, "2"),
	BRANCH("call_repeats", OPT_INT,    1, 3,  call_repeats,  OPTIONAL, "2"),
	BRANCH("streams_per_address", OPT_INT, 0, 10000, streams_per_address, OPTIONAL, "16"),
	BRANCH("hosts",        OPT_STRING,   0, 0,            hosts,          OPTIONAL, NULL),
	BRANCH("session_idle", OPT_DURATION, 1, CONFIG_DAY_S, session_idle_s, OPTIONAL, "30m"),
	BRANCH("session_max",  OPT_DURATION, 1, 7 * CONFIG_DAY_S, session_max_s, OPTIONAL, "12h"),
	BRANCH("lockout",      OPT_DURATION, 1, CONFIG_DAY_S, lockout_s,      OPTIONAL, "15m"),
	BRANCH("kiosk_rate",   OPT_INT,      0, 6000,         kiosk_rate,     OPTIONAL, "30"),
	BRANCH("phone_alert_ahead", OPT_INT, 0, 20,           phone_alert_ahead, OPTIONAL, "3"),
	/* What `branchqd prune` keeps (maint_cli.c); it never removes today or yesterday. */
	BRANCH("keep",         OPT_DAYS,     1, CONFIG_KEEP_MAX_DAYS, keep_days, OPTIONAL, "3y"),
	/* A no-show put back in line (过号重排): see docs/policy.md. */
	BRANCH("reinstate_places", OPT_INT,  0, 50,           reinstate_places, OPTIONAL, "3"),
	BRANCH("reinstate_max",    OPT_INT,  0, 10,           reinstate_max,    OPTIONAL, "1"),
};

/* The boost keys are the category names of domain.c. */
static const struct option green_options[] = {
	BRANCH("elderly_age", OPT_INT,      50, 100,          elderly_age,           OPTIONAL, "60"),
	BRANCH("elderly",     OPT_DURATION, 0,  CONFIG_DAY_S, boost_s[CAT_ELDERLY],  OPTIONAL, "10m"),
	BRANCH("disabled",    OPT_DURATION, 0,  CONFIG_DAY_S, boost_s[CAT_DISABLED], OPTIONAL, "15m"),
	BRANCH("pregnant",    OPT_DURATION, 0,  CONFIG_DAY_S, boost_s[CAT_PREGNANT], OPTIONAL, "15m"),
	BRANCH("military",    OPT_DURATION, 0,  CONFIG_DAY_S, boost_s[CAT_MILITARY], OPTIONAL, "10m"),
	BRANCH("foreign",     OPT_DURATION, 0,  CONFIG_DAY_S, boost_s[CAT_FOREIGN],  OPTIONAL, "5m"),
};

static const struct option printer_options[] = {
	BRANCH("queue",   OPT_STRING,   0, 0,   printer.queue,     OPTIONAL, NULL),
	BRANCH("server",  OPT_STRING,   0, 0,   printer.server,    OPTIONAL, NULL),
	BRANCH("paper",   OPT_PAPER,    0, 0,   printer.paper_mm,  OPTIONAL, "80mm"),
	BRANCH("footer",  OPT_STRING,   0, 0,   printer.footer,    OPTIONAL, NULL),
	BRANCH("timeout", OPT_DURATION, 2, 300, printer.timeout_s, OPTIONAL, "20s"),
};

/* Both required: a [tls] section is HTTPS, and HTTPS needs the pair. */
static const struct option tls_options[] = {
	BRANCH("cert", OPT_STRING, 0, 0, tls.cert, REQUIRED, NULL),
	BRANCH("key",  OPT_STRING, 0, 0, tls.key,  REQUIRED, NULL),
};

static const struct option monitoring_options[] = {
	BRANCH("metrics_allow", OPT_NETS, 0, 0, monitoring.metrics_allow, OPTIONAL, NULL),
	BRANCH("min_free_disk", OPT_SIZE, 0, INT64_C(1) << 50, monitoring.min_free_disk, OPTIONAL,
	    "100M"),
};

static const struct option display_options[] = {
	BRANCH("show_staff_number", OPT_BOOL, 0, 0, show_staff_number, OPTIONAL, "no"),
};

static const struct option rating_options[] = {
	BRANCH("keys",         OPT_RATING_KEYS, 0, 0, rating, OPTIONAL,
	    "very_satisfied satisfied dissatisfied"),
	BRANCH("window",       OPT_DURATION, 5, 600,          rating.window_s,       OPTIONAL, "30s"),
	BRANCH("phone_window", OPT_DURATION, 60, CONFIG_DAY_S, rating.phone_window_s, OPTIONAL, "30m"),
};

static const struct option advisor_options[] = {
	BRANCH("open",         OPT_TIME,     0, 0,      advisor.open_min,     OPTIONAL, "09:00"),
	BRANCH("close",        OPT_TIME,     0, 0,      advisor.close_min,    OPTIONAL, "17:00"),
	BRANCH("weeks",        OPT_INT,      1, 52,     advisor.weeks,        OPTIONAL, "8"),
	BRANCH("replications", OPT_INT,      20, 10000, advisor.replications, OPTIONAL, "200"),
	BRANCH("live",         OPT_BOOL,     0, 0,      advisor.live,         OPTIONAL, "yes"),
	BRANCH("live_every",   OPT_DURATION, 1, 3600,   advisor.live_every_s, OPTIONAL, "2m"),
	BRANCH("live_replications", OPT_INT, 20, 10000, advisor.live_replications, OPTIONAL, "60"),
};

static const struct option uplink_options[] = {
	BRANCH("conninfo",  OPT_STRING,   0, 0,    uplink.conninfo,   REQUIRED, NULL),
	BRANCH("branch_id", OPT_STRING,   0, 0,    uplink.branch_id,  REQUIRED, NULL),
	BRANCH("batch",     OPT_INT,      1, 5000, uplink.batch,      OPTIONAL, "500"),
	BRANCH("interval",  OPT_DURATION, 1, 3600, uplink.interval_s, OPTIONAL, "2s"),
	BRANCH("retry",     OPT_DURATION, 1, 3600, uplink.retry_s,    OPTIONAL, "10s"),
};

/* The defaults are a common 叫号器's keys: + calls, . recalls, Enter finishes. */
static const struct option counter_key_options[] = {
	BRANCH("call",    OPT_KEYCODE, 0, 0, counter_keys[CK_CALL],    OPTIONAL, "NumpadAdd"),
	BRANCH("recall",  OPT_KEYCODE, 0, 0, counter_keys[CK_RECALL],  OPTIONAL, "NumpadDecimal"),
	BRANCH("start",   OPT_KEYCODE, 0, 0, counter_keys[CK_START],   OPTIONAL, "NumpadMultiply"),
	BRANCH("finish",  OPT_KEYCODE, 0, 0, counter_keys[CK_FINISH],  OPTIONAL, "NumpadEnter"),
	BRANCH("no_show", OPT_KEYCODE, 0, 0, counter_keys[CK_NO_SHOW], OPTIONAL, "NumpadSubtract"),
	BRANCH("pause",   OPT_KEYCODE, 0, 0, counter_keys[CK_PAUSE],   OPTIONAL, "NumpadDivide"),
	BRANCH("rate",    OPT_KEYCODE, 0, 0, counter_keys[CK_RATE],    OPTIONAL, "Numpad0"),
};

static const struct option service_options[] = {
	SERVICE("name_zh",      OPT_STRING,   0, 0,            name_zh,        REQUIRED, NULL),
	SERVICE("name_en",      OPT_STRING,   0, 0,            name_en,        REQUIRED, NULL),
	SERVICE("overtime",     OPT_DURATION, 1, CONFIG_DAY_S, overtime_s,     OPTIONAL, "20m"),
	SERVICE("target",       OPT_PERCENT,  0, 0,            target_share,   OPTIONAL, "5%"),
	SERVICE("service_time", OPT_DURATION, 1, CONFIG_DAY_S, service_time_s, OPTIONAL, "5m"),
};

static const struct option counter_options[] = {
	COUNTER("services", OPT_SERVICES, 0, 0, services, REQUIRED, NULL),
	COUNTER("green",    OPT_BOOL,     0, 0, green,    OPTIONAL, "no"),
	COUNTER("english",  OPT_BOOL,     0, 0, english,  OPTIONAL, "no"),
	COUNTER("name_zh",  OPT_STRING,   0, 0, name_zh,  OPTIONAL, NULL),
	COUNTER("name_en",  OPT_STRING,   0, 0, name_en,  OPTIONAL, NULL),
};

#define NOPTS(t) (sizeof(t) / sizeof((t)[0]))
#define OPTS_MAX 32              /* bits in struct parse.seen */
_Static_assert(NOPTS(branch_options) <= OPTS_MAX, "too many options for parse.seen");
_Static_assert(NOPTS(green_options) <= OPTS_MAX, "too many options for parse.seen");
_Static_assert(NOPTS(printer_options) <= OPTS_MAX, "too many options for parse.seen");
_Static_assert(NOPTS(tls_options) <= OPTS_MAX, "too many options for parse.seen");
_Static_assert(NOPTS(monitoring_options) <= OPTS_MAX, "too many options for parse.seen");
_Static_assert(NOPTS(service_options) <= OPTS_MAX, "too many options for parse.seen");
_Static_assert(NOPTS(counter_options) <= OPTS_MAX, "too many options for parse.seen");
_Static_assert(NOPTS(counter_key_options) <= OPTS_MAX, "too many options for parse.seen");

enum section {
	SEC_NONE,       /* before the first header */
	SEC_SKIP,       /* a header already reported bad: its keys are ignored */
	SEC_BRANCH,
	SEC_GREEN,
	SEC_PRINTER,
	SEC_TLS,
	SEC_SERVICE,
	SEC_COUNTER,
	SEC_MONITORING,
	SEC_DISPLAY,
	SEC_RATING,
	SEC_COUNTER_KEYS,
	SEC_ADVISOR,
	SEC_UPLINK,
};

/* The sections that appear once and take no name: [branch], [tls], ... */
static const struct singleton {
	const char *word;
	enum section sec;
	const struct option *opts;
	size_t nopts;
} singletons[] = {
	{ "branch",       SEC_BRANCH,       branch_options,      NOPTS(branch_options) },
	{ "green",        SEC_GREEN,        green_options,       NOPTS(green_options) },
	{ "printer",      SEC_PRINTER,      printer_options,     NOPTS(printer_options) },
	{ "tls",          SEC_TLS,          tls_options,         NOPTS(tls_options) },
	{ "monitoring",   SEC_MONITORING,   monitoring_options,  NOPTS(monitoring_options) },
	{ "display",      SEC_DISPLAY,      display_options,     NOPTS(display_options) },
	{ "rating",       SEC_RATING,       rating_options,      NOPTS(rating_options) },
	{ "counter_keys", SEC_COUNTER_KEYS, counter_key_options, NOPTS(counter_key_options) },
	{ "advisor",      SEC_ADVISOR,      advisor_options,     NOPTS(advisor_options) },
	{ "uplink",       SEC_UPLINK,       uplink_options,      NOPTS(uplink_options) },
};
#define NSINGLETONS NOPTS(singletons)

/* Everything config_load knows while it reads one file. */
struct parse {
	const char *path;
	FILE *file;
	FILE *errors;
	int nerrors;
	int line;                /* lines read so far: the current line */
	struct config *cfg;

	enum section sec;        /* the open section */
	char sec_name[CONFIG_SECNAME_MAX]; /* as written in the header, for messages */
	int sec_line;
	int sec_index;           /* services[] or counters[] index */
	const struct option *opts;
	size_t nopts;
	void *base;              /* the struct that opts' offsets point into */
	uint32_t seen;           /* bit i: opts[i] was given in this section */

	int single_line[NSINGLETONS]; /* where each of singletons[] began; 0 until seen */
	int keys_line[CK_COUNT]; /* of each [counter_keys] key given */
	int services_line[MAX_COUNTERS]; /* line of each counter's services key */
};

static void default_public_url(struct config *c);
static void config_error(struct parse *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Count a problem and write it as "path:line: msg", or "path: msg" for a
 * problem of the file as a whole (line 0).
 */
static void
config_error(struct parse *p, int line, const char *fmt, ...)
{
	va_list ap;

	p->nerrors++;
	if (p->errors == NULL)
		return;
	if (line > 0)
		fprintf(p->errors, "%s:%d: ", p->path, line);
	else
		fprintf(p->errors, "%s: ", p->path);
	va_start(ap, fmt);
	vfprintf(p->errors, fmt, ap);
	va_end(ap);
	fputc('\n', p->errors);
}

/*
 * Copy s into out for a message: at most CONFIG_QUOTE_MAX bytes, control
 * bytes shown as '?', so that a hostile file cannot write escape sequences
 * to the terminal of whoever runs `branchqd -n`.
 */
static const char *
config_quote(const char *s, char out[CONFIG_QUOTE_MAX + 4])
{
	size_t i;

	for (i = 0; i < CONFIG_QUOTE_MAX && s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];
		out[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (s[i] != '\0') {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
	return out;
}

/* "24h", "20m", "90s": the largest unit that states d exactly. */
static const char *
config_fmt_duration(int64_t d, char out[32])
{
	if (d != 0 && d % 3600 == 0)
		snprintf(out, 32, "%" PRId64 "h", d / 3600);
	else if (d != 0 && d % 60 == 0)
		snprintf(out, 32, "%" PRId64 "m", d / 60);
	else
		snprintf(out, 32, "%" PRId64 "s", d);
	return out;
}

/*
 * Parse an optionally negative decimal integer that is the whole of s.
 * A sign is accepted so that "-1" is reported as out of range rather than
 * as junk. Returns 0, or -1 (empty, junk, overflow).
 */
static int
config_parse_int(const char *s, int64_t *out)
{
	const char *d = (*s == '-') ? s + 1 : s;
	char *end;
	long long v;

	if (!isdigit((unsigned char)*d))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

/*
 * The digits s starts with, into *n, and where they end (a unit may follow).
 * strtoll would skip blanks and take a sign: only digits may lead. -1 when
 * none lead or they overflow.
 */
static int
leading_number(const char *s, long long *n, char **end)
{
	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	*n = strtoll(s, end, 10);
	return errno != 0 ? -1 : 0;
}

int
config_parse_duration(const char *s, int64_t *out_s)
{
	char *end;
	long long n;
	int64_t unit;

	if (leading_number(s, &n, &end) != 0)
		return -1;
	switch (*end) {
	case 's': unit = 1; end++; break;
	case 'm': unit = 60; end++; break;
	case 'h': unit = 3600; end++; break;
	case '\0': unit = 60; break;
	default: return -1;
	}
	if (*end != '\0' || n > INT64_MAX / unit)
		return -1;
	*out_s = (int64_t)n * unit;
	return 0;
}

int
config_parse_days(const char *s, int *out_days)
{
	char *end;
	long long n;
	int unit = 1;

	if (leading_number(s, &n, &end) != 0)
		return -1;
	if (*end == 'y') {
		unit = CONFIG_YEAR_DAYS;
		end++;
	} else if (*end == 'd') {
		end++;
	}
	if (*end != '\0' || n > CONFIG_KEEP_MAX_DAYS / unit)
		return -1;
	*out_days = (int)n * unit;
	return 0;
}

/* True when s is well-formed UTF-8 (no overlong forms, surrogates or > U+10FFFF). */
static bool
config_utf8_valid(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	while (*u != '\0') {
		unsigned char c = *u;
		int n;
		uint32_t cp;

		if (c < 0x80) {
			u++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			n = 1; cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2; cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3; cp = c & 0x07;
		} else {
			return false;
		}
		for (int i = 1; i <= n; i++) {
			if ((u[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (u[i] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		u += n + 1;
	}
	return true;
}

/* Check text for a string field of size bytes: 0, or -1 and why not. */
static int
config_check_text(const char *v, size_t size, char *why, size_t whylen)
{
	if (*v == '\0') {
		snprintf(why, whylen, "is empty");
		return -1;
	}
	if (strlen(v) >= size) {
		snprintf(why, whylen, "is too long (at most %zu bytes)", size - 1);
		return -1;
	}
	for (const char *c = v; *c != '\0'; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			snprintf(why, whylen, "contains a control character");
			return -1;
		}
	}
	if (!config_utf8_valid(v)) {
		snprintf(why, whylen, "is not valid UTF-8");
		return -1;
	}
	return 0;
}

/*
 * An IANA name ("Asia/Shanghai", "Etc/GMT+8") that names a compiled zone
 * file. Only letters, digits, '_', '-', '+' and inner single '/' are
 * allowed, which rules out "..", absolute paths and the data files that
 * share the directory (zone.tab, tzdata.zi). The file must start with the
 * TZif magic. Nothing here changes the process's time zone.
 */
static bool
config_timezone_valid(const char *name)
{
	char path[sizeof(CONFIG_ZONEINFO) + CONFIG_TZ_MAX + 1];
	char magic[4];
	struct stat st;
	const char *c;
	int fd;
	ssize_t n;

	if (*name == '\0' || *name == '/' || strlen(name) >= CONFIG_TZ_MAX)
		return false;
	for (c = name; *c != '\0'; c++) {
		if (*c == '/') {
			if (c[1] == '/' || c[1] == '\0')
				return false;
		} else if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-' && *c != '+') {
			return false;
		}
	}
	snprintf(path, sizeof(path), "%s/%s", CONFIG_ZONEINFO, name);
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return false;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, magic, sizeof(magic));
	close(fd);
	return n == (ssize_t)sizeof(magic) && memcmp(magic, "TZif", 4) == 0;
}

/* "127.0.0.1:8080", "localhost:8080", "*:8080". */
static bool
config_listen_valid(const char *v)
{
	const char *colon = strrchr(v, ':');
	char host[INET_ADDRSTRLEN];
	struct in_addr a;
	int64_t port;
	size_t hlen;

	if (colon == NULL)
		return false;
	hlen = (size_t)(colon - v);
	if (hlen == 0 || hlen >= sizeof(host))
		return false;
	memcpy(host, v, hlen);
	host[hlen] = '\0';
	if (strcmp(host, "*") != 0 && strcmp(host, "localhost") != 0 &&
	    inet_pton(AF_INET, host, &a) != 1)
		return false;
	/* No sign: "-1" and "+80" are not ports. */
	if (!isdigit((unsigned char)colon[1]) || config_parse_int(colon + 1, &port) != 0)
		return false;
	return port >= 1 && port <= 65535;
}

/* "HH:MM" or "H:MM", 00:00..23:59, into minutes after midnight. */
static int
config_parse_time(const char *v, int *out_min)
{
	int h, m;

	if (!isdigit((unsigned char)v[0]))
		return -1;
	h = v[0] - '0';
	v++;
	if (isdigit((unsigned char)*v))
		h = h * 10 + (*v++ - '0');
	if (v[0] != ':' || !isdigit((unsigned char)v[1]) ||
	    !isdigit((unsigned char)v[2]) || v[3] != '\0')
		return -1;
	m = (v[1] - '0') * 10 + (v[2] - '0');
	if (h > 23 || m > 59)
		return -1;
	*out_min = h * 60 + m;
	return 0;
}

/*
 * "5%", "5", "2.5%": a percentage 0..100, into a share 0..1. Parsed by hand
 * because strtod follows the locale and accepts hex, exponents and "inf".
 */
static int
config_parse_percent(const char *v, double *out)
{
	int64_t whole = 0;
	double frac = 0, scale = 1;
	int digits = 0;

	for (; isdigit((unsigned char)*v); v++, digits++) {
		whole = whole * 10 + (*v - '0');
		if (whole > 100)
			return -1;
	}
	if (digits == 0)
		return -1;
	if (*v == '.') {
		v++;
		if (!isdigit((unsigned char)*v))
			return -1;
		for (digits = 0; isdigit((unsigned char)*v); v++, digits++) {
			if (digits >= 6)
				return -1;
			scale /= 10;
			frac += (*v - '0') * scale;
		}
	}
	if (*v == '%')
		v++;
	if (*v != '\0' || whole + frac > 100)
		return -1;
	*out = ((double)whole + frac) / 100;
	return 0;
}

static int
config_parse_bool(const char *v, bool *out)
{
	if (strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0)
		*out = true;
	else if (strcasecmp(v, "no") == 0 || strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0)
		*out = false;
	else
		return -1;
	return 0;
}

/*
 * "A B", "A,B", "A, B": one letter per service, in the counter's order.
 * Until config_resolve runs, services[] holds letter numbers (A = 0), since
 * the services may be defined further down the file.
 */
static int
config_parse_services(const char *v, struct counter_conf *c, char *why, size_t whylen)
{
	bool listed[MAX_SERVICES] = { false };
	char q[CONFIG_QUOTE_MAX + 4];

	c->nservices = 0;
	while (*v != '\0') {
		const char *tok;
		size_t len;

		if (*v == ' ' || *v == '\t' || *v == ',') {
			v++;
			continue;
		}
		tok = v;
		len = strcspn(v, " \t,");
		v += len;
		if (len != 1 || tok[0] < 'A' || tok[0] > 'Z') {
			char word[CONFIG_QUOTE_MAX + 1];

			snprintf(word, sizeof(word), "%.*s", (int)(len < CONFIG_QUOTE_MAX ? len : CONFIG_QUOTE_MAX), tok);
			snprintf(why, whylen, "\"%s\" is not a service prefix (one letter A-Z)",
			    config_quote(word, q));
			return -1;
		}
		if (listed[tok[0] - 'A']) {
			snprintf(why, whylen, "service %c is listed twice", tok[0]);
			return -1;
		}
		listed[tok[0] - 'A'] = true;
		c->services[c->nservices++] = tok[0] - 'A';
	}
	if (c->nservices == 0) {
		snprintf(why, whylen, "lists no service");
		return -1;
	}
	return 0;
}

/*
 * A list of IPv4 addresses or networks ("127.0.0.1, 10.0.0.0/8") into out;
 * -1 with the reason in why.
 */
static int
config_parse_nets(const char *v, struct config_nets *out, char *why, size_t whylen)
{
	char word[32], q[CONFIG_QUOTE_MAX + 4];

	out->n = 0;
	while (*(v += strspn(v, " \t,")) != '\0') {
		size_t wl = strcspn(v, " \t,");
		char *slash;
		struct in_addr a;
		int64_t bits = 32;

		if (wl >= sizeof(word)) {
			snprintf(why, whylen, "\"%s\" is not an IPv4 address or ADDRESS/BITS",
			    config_quote(v, q));
			return -1;
		}
		memcpy(word, v, wl);
		word[wl] = '\0';
		v += wl;
		if ((slash = strchr(word, '/')) != NULL) {
			*slash = '\0';
			if (config_parse_int(slash + 1, &bits) != 0 || slash[1] == '-' || bits > 32) {
				*slash = '/';
				snprintf(why, whylen, "\"%s\": the bits after / are 0..32",
				    config_quote(word, q));
				return -1;
			}
		}
		if (inet_pton(AF_INET, word, &a) != 1) {
			snprintf(why, whylen, "\"%s\" is not an IPv4 address", config_quote(word, q));
			return -1;
		}
		if (out->n == CONFIG_NETS_MAX) {
			snprintf(why, whylen, "lists more than %d addresses", CONFIG_NETS_MAX);
			return -1;
		}
		out->net[out->n].mask = bits == 0 ? 0 : UINT32_MAX << (32 - bits);
		out->net[out->n].addr = ntohl(a.s_addr) & out->net[out->n].mask;
		out->n++;
	}
	return 0;
}

/* A size in bytes: digits, then K, M, G or T (powers of 1024) or nothing. -1 when not. */
static int
config_parse_size(const char *v, int64_t *out)
{
	static const char units[] = "KMGT";
	char *end;
	long long n;
	int64_t mult = 1;

	if (leading_number(v, &n, &end) != 0)
		return -1;
	if (*end != '\0') {
		const char *u = strchr(units, *end);
		if (u == NULL || end[1] != '\0')
			return -1;
		mult = INT64_C(1) << (10 * (u - units + 1));
	}
	if (n > INT64_MAX / mult)
		return -1;
	*out = (int64_t)n * mult;
	return 0;
}

static const struct {
	const char *name, *zh, *en;
} rating_keys[RK_COUNT] = {
	[RK_VERY_SATISFIED] = { "very_satisfied", "非常满意", "Very satisfied" },
	[RK_SATISFIED]      = { "satisfied",      "满意",     "Satisfied" },
	[RK_NEUTRAL]        = { "neutral",        "一般",     "Neutral" },
	[RK_DISSATISFIED]   = { "dissatisfied",   "不满意",   "Dissatisfied" },
};

const char *
rating_key_name(int k)
{
	return k >= 0 && k < RK_COUNT ? rating_keys[k].name : "?";
}

const char *
rating_key_zh(int k)
{
	return k >= 0 && k < RK_COUNT ? rating_keys[k].zh : "?";
}

const char *
rating_key_en(int k)
{
	return k >= 0 && k < RK_COUNT ? rating_keys[k].en : "?";
}

int
rating_key_parse(const char *s)
{
	for (int k = 0; k < RK_COUNT; k++)
		if (strcmp(s, rating_keys[k].name) == 0)
			return k;
	return -1;
}

const char *
counter_key_name(int k)
{
	static const char *const names[CK_COUNT] = {
		"call", "recall", "start", "finish", "no_show", "pause", "rate",
	};

	return k >= 0 && k < CK_COUNT ? names[k] : "?";
}

/*
 * "very_satisfied satisfied dissatisfied": 3 or 4 different keys, shown in
 * the order given. 不满意 must be among them: without it nobody hears of an
 * unhappy customer, which is the point of the keypad.
 */
static int
config_parse_rating_keys(const char *v, struct rating_conf *r, char *why, size_t whylen)
{
	char word[32], q[CONFIG_QUOTE_MAX + 4];
	bool seen[RK_COUNT] = { false };

	r->nkeys = 0;
	while (*(v += strspn(v, " \t,")) != '\0') {
		size_t wl = strcspn(v, " \t,");
		int k;

		snprintf(word, sizeof(word), "%.*s", (int)(wl < sizeof(word) - 1 ? wl : sizeof(word) - 1), v);
		v += wl;
		if (wl >= sizeof(word) || (k = rating_key_parse(word)) < 0) {
			snprintf(why, whylen, "\"%s\" is not a rating key (very_satisfied, satisfied, "
			    "neutral, dissatisfied)", config_quote(word, q));
			return -1;
		}
		if (seen[k]) {
			snprintf(why, whylen, "%s is listed twice", word);
			return -1;
		}
		seen[k] = true;
		r->keys[r->nkeys++] = k;
	}
	if (r->nkeys < RATING_KEYS_MIN) {
		snprintf(why, whylen, "lists %d keys: a keypad shows 3 or 4", r->nkeys);
		return -1;
	}
	if (!seen[RK_DISSATISFIED]) {
		snprintf(why, whylen, "has no dissatisfied: an unhappy customer could not say so");
		return -1;
	}
	return 0;
}

/*
 * Parse value v for option o into its field in base. Returns 0, or -1 with
 * the reason in why (the caller prefixes the key and the line).
 */
static int
config_set(const struct option *o, const char *v, void *base, char *why, size_t whylen)
{
	char *field = (char *)base + o->offset;
	char q[CONFIG_QUOTE_MAX + 4];
	int64_t n;

	switch (o->kind) {
	case OPT_STRING:
		if (config_check_text(v, o->size, why, whylen) != 0)
			return -1;
		memcpy(field, v, strlen(v) + 1);
		return 0;
	case OPT_INT:
		if (config_parse_int(v, &n) != 0) {
			snprintf(why, whylen, "\"%s\" is not a whole number", config_quote(v, q));
			return -1;
		}
		if (n < o->min || n > o->max) {
			snprintf(why, whylen, "%" PRId64 " is out of range %" PRId64 "..%" PRId64,
			    n, o->min, o->max);
			return -1;
		}
		assert(o->size == sizeof(int));
		*(int *)(void *)field = (int)n;
		return 0;
	case OPT_DURATION:
		if (config_parse_duration(v, &n) != 0) {
			snprintf(why, whylen, "\"%s\" is not a duration "
			    "(a whole number with s, m or h; minutes if bare)", config_quote(v, q));
			return -1;
		}
		if (n < o->min || n > o->max) {
			char d[32], lo[32], hi[32];

			snprintf(why, whylen, "%s is out of range %s..%s", config_fmt_duration(n, d),
			    config_fmt_duration(o->min, lo), config_fmt_duration(o->max, hi));
			return -1;
		}
		assert(o->size == sizeof(int64_t));
		*(int64_t *)(void *)field = n;
		return 0;
	case OPT_DAYS: {
		int days;

		if (config_parse_days(v, &days) != 0) {
			snprintf(why, whylen, "\"%s\" is not a number of days (a whole number with d or y; "
			    "days if bare; at most %d)", config_quote(v, q), CONFIG_KEEP_MAX_DAYS);
			return -1;
		}
		if (days < o->min || days > o->max) {
			snprintf(why, whylen, "%d days is out of range %" PRId64 "..%" PRId64, days,
			    o->min, o->max);
			return -1;
		}
		assert(o->size == sizeof(int));
		*(int *)(void *)field = days;
		return 0;
	}
	case OPT_PERCENT:
		assert(o->size == sizeof(double));
		if (config_parse_percent(v, (double *)(void *)field) != 0) {
			snprintf(why, whylen, "\"%s\" is not a percentage 0..100", config_quote(v, q));
			return -1;
		}
		return 0;
	case OPT_BOOL:
		assert(o->size == sizeof(bool));
		if (config_parse_bool(v, (bool *)(void *)field) != 0) {
			snprintf(why, whylen, "\"%s\" is not yes or no", config_quote(v, q));
			return -1;
		}
		return 0;
	case OPT_TIME:
		assert(o->size == sizeof(int));
		if (config_parse_time(v, (int *)(void *)field) != 0) {
			snprintf(why, whylen, "\"%s\" is not a time of day HH:MM (00:00..23:59)",
			    config_quote(v, q));
			return -1;
		}
		return 0;
	case OPT_TIMEZONE:
		if (!config_timezone_valid(v)) {
			snprintf(why, whylen, "\"%s\" is not a time zone in %s",
			    config_quote(v, q), CONFIG_ZONEINFO);
			return -1;
		}
		memcpy(field, v, strlen(v) + 1);
		return 0;
	case OPT_LISTEN:
		if (strlen(v) >= o->size || !config_listen_valid(v)) {
			snprintf(why, whylen, "\"%s\" is not ADDRESS:PORT "
			    "(an IPv4 address, localhost or *; a port 1..65535)", config_quote(v, q));
			return -1;
		}
		memcpy(field, v, strlen(v) + 1);
		return 0;
	case OPT_URL: {
		size_t len = strlen(v);
		size_t scheme = strncmp(v, "http://", 7) == 0 ? 7 :
		    strncmp(v, "https://", 8) == 0 ? 8 : 0;

		while (len > scheme && v[len - 1] == '/')
			len--;
		if (scheme == 0 || len == scheme) {
			snprintf(why, whylen, "\"%s\" is not an http:// or https:// URL",
			    config_quote(v, q));
			return -1;
		}
		if (len >= o->size) {
			snprintf(why, whylen, "is too long (at most %zu bytes)", o->size - 1);
			return -1;
		}
		for (size_t i = 0; i < len; i++) {
			/* The URL is printed on tickets as a QR code: ASCII only. */
			if ((unsigned char)v[i] <= 0x20 || (unsigned char)v[i] >= 0x7f) {
				snprintf(why, whylen, "contains a space, control or non-ASCII character");
				return -1;
			}
		}
		memcpy(field, v, len);
		field[len] = '\0';
		return 0;
	}
	case OPT_PAPER:
		assert(o->size == sizeof(int));
		if (strcmp(v, "80mm") != 0 && strcmp(v, "58mm") != 0) {
			snprintf(why, whylen, "\"%s\" is not 80mm or 58mm", config_quote(v, q));
			return -1;
		}
		*(int *)(void *)field = v[0] == '8' ? 80 : 58;
		return 0;
	case OPT_NETS:
		assert(o->size == sizeof(struct config_nets));
		return config_parse_nets(v, (struct config_nets *)(void *)field, why, whylen);
	case OPT_SIZE:
		assert(o->size == sizeof(int64_t));
		if (config_parse_size(v, &n) != 0 || n < o->min || n > o->max) {
			snprintf(why, whylen, "\"%s\" is not a size (a whole number with K, M, G or T, "
			    "at most 1024T)", config_quote(v, q));
			return -1;
		}
		*(int64_t *)(void *)field = n;
		return 0;
	case OPT_RATING_KEYS:
		assert(o->size == sizeof(struct rating_conf));
		return config_parse_rating_keys(v, (struct rating_conf *)(void *)field, why, whylen);
	case OPT_KEYCODE: {
		size_t len = strlen(v);

		for (size_t i = 0; i < len; i++) {
			if (!isalnum((unsigned char)v[i])) {
				len = 0;
				break;
			}
		}
		if (len == 0 || len >= o->size) {
			snprintf(why, whylen, "\"%s\" is not a key name such as NumpadAdd or KeyF "
			    "(KeyboardEvent.code: letters and digits)", config_quote(v, q));
			return -1;
		}
		memcpy(field, v, len + 1);
		return 0;
	}
	case OPT_SERVICES:
		if (config_parse_services(v, base, why, whylen) != 0) {
			/* An empty list tells config_resolve not to pile on. */
			((struct counter_conf *)base)->nservices = 0;
			return -1;
		}
		return 0;
	}
	snprintf(why, whylen, "unknown option kind");
	return -1;
}

/* Set every default of opts into base; a default that fails is a bug here. */
static void
config_defaults(const struct option *opts, size_t nopts, void *base)
{
	char why[256];

	for (size_t i = 0; i < nopts; i++) {
		if (opts[i].def == NULL)
			continue;
		if (config_set(&opts[i], opts[i].def, base, why, sizeof(why)) != 0) {
			fprintf(stderr, "config: bad default for %s: %s\n", opts[i].name, why);
			abort();
		}
	}
}

/* Report the required keys that the open section lacked, then close it. */
static void
config_section_close(struct parse *p)
{
	for (size_t i = 0; i < p->nopts; i++)
		if (p->opts[i].required && !(p->seen & (UINT32_C(1) << i)))
			config_error(p, p->sec_line, "[%s] has no %s", p->sec_name, p->opts[i].name);
	p->sec = SEC_SKIP;
	p->opts = NULL;
	p->nopts = 0;
	p->seen = 0;
}

/*
 * Open the section named in a header, "branch", "green", "service A" or
 * "counter 3" (blanks around the words are allowed). A bad or repeated
 * header is reported once and its keys are then ignored, so one mistake
 * gives one message.
 */
static void
config_section_open(struct parse *p, const char *name, size_t len)
{
	struct config *c = p->cfg;
	char text[CONFIG_SECNAME_MAX], q[CONFIG_QUOTE_MAX + 4];
	char word[16], arg[CONFIG_SECNAME_MAX];
	const char *s, *e;
	int64_t num;

	config_section_close(p);
	p->sec_line = p->line;

	/* Normalise to "word arg" for lookups and messages. */
	word[0] = arg[0] = '\0';
	s = name;
	e = name + len;
	while (s < e && isspace((unsigned char)*s))
		s++;
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	snprintf(text, sizeof(text), "%.*s", (int)(e - s), s);
	if ((size_t)(e - s) >= sizeof(text)) {
		config_error(p, p->line, "unknown section [%s]", config_quote(text, q));
		return;
	}
	{
		size_t wl = strcspn(text, " \t");
		const char *a = text + wl;

		while (*a == ' ' || *a == '\t')
			a++;
		if (wl >= sizeof(word)) {
			config_error(p, p->line, "unknown section [%s]", config_quote(text, q));
			return;
		}
		memcpy(word, text, wl);
		word[wl] = '\0';
		snprintf(arg, sizeof(arg), "%s", a);
	}

	for (size_t k = 0; k < NSINGLETONS; k++) {
		const struct singleton *g = &singletons[k];

		if (strcmp(word, g->word) != 0)
			continue;
		if (arg[0] != '\0') {
			config_error(p, p->line, "[%s] takes no name: write [%s]",
			    config_quote(text, q), word);
			return;
		}
		if (p->single_line[k] != 0) {
			config_error(p, p->line, "[%s] appears twice (first at line %d)", word,
			    p->single_line[k]);
			return;
		}
		p->single_line[k] = p->line;
		p->sec = g->sec;
		p->opts = g->opts;
		p->nopts = g->nopts;
		p->base = c;
		snprintf(p->sec_name, sizeof(p->sec_name), "%s", text);
		return;
	}
	if (strcmp(word, "service") == 0) {
		struct service_conf *sv;
		int i;

		if (arg[0] < 'A' || arg[0] > 'Z' || arg[1] != '\0') {
			config_error(p, p->line, "[%s]: a service's prefix is one letter A-Z, "
			    "as in [service A]", config_quote(text, q));
			return;
		}
		if ((i = config_service_index(c, arg)) >= 0) {
			config_error(p, p->line, "[service %s] appears twice (first at line %d)",
			    arg, c->services[i].line);
			return;
		}
		if (c->nservices >= MAX_SERVICES) {
			config_error(p, p->line, "too many services (at most %d)", MAX_SERVICES);
			return;
		}
		sv = &c->services[c->nservices];
		memset(sv, 0, sizeof(*sv));
		sv->id[0] = arg[0];
		sv->line = p->line;
		config_defaults(service_options, NOPTS(service_options), sv);
		p->sec = SEC_SERVICE;
		p->sec_index = c->nservices++;
		p->opts = service_options;
		p->nopts = NOPTS(service_options);
		p->base = sv;
	} else if (strcmp(word, "counter") == 0) {
		struct counter_conf *ct;
		int i;

		/* Digits only: "+3" or "03x" are not what is painted over a counter. */
		if (!isdigit((unsigned char)arg[0]) || config_parse_int(arg, &num) != 0 ||
		    num < 1 || num > MAX_COUNTER_NUMBER) {
			config_error(p, p->line, "[%s]: a counter's number is 1..%d, as in [counter 1]",
			    config_quote(text, q), MAX_COUNTER_NUMBER);
			return;
		}
		if ((i = config_counter_index(c, (int)num)) >= 0) {
			config_error(p, p->line, "[counter %d] appears twice (first at line %d)",
			    (int)num, c->counters[i].line);
			return;
		}
		if (c->ncounters >= MAX_COUNTERS) {
			config_error(p, p->line, "too many counters (at most %d)", MAX_COUNTERS);
			return;
		}
		ct = &c->counters[c->ncounters];
		memset(ct, 0, sizeof(*ct));
		ct->number = (int)num;
		ct->line = p->line;
		config_defaults(counter_options, NOPTS(counter_options), ct);
		p->sec = SEC_COUNTER;
		p->sec_index = c->ncounters++;
		p->opts = counter_options;
		p->nopts = NOPTS(counter_options);
		p->base = ct;
	} else {
		config_error(p, p->line, "unknown section [%s]", config_quote(text, q));
		return;
	}
	snprintf(p->sec_name, sizeof(p->sec_name), "%s", text);
}

/*
 * inih's "[...]" and "key = value" tests, repeated here so that every bad
 * line is reported (inih reports only the first): the first of chars not
 * inside an inline comment (';' after a blank), or the end of s.
 */
static char *
config_find(char *s, const char *chars)
{
	bool was_space = false;

	while (*s != '\0' && strchr(chars, *s) == NULL && !(was_space && *s == ';')) {
		was_space = isspace((unsigned char)*s);
		s++;
	}
	return s;
}

/*
 * Look at one line before inih does: open the section of a header, and
 * blank a line inih could not parse after reporting it, so that inih and
 * we agree on every line.
 */
static void
config_scan(struct parse *p, char *line)
{
	char *s = line, *end;

	if (p->line == 1 && strncmp(s, "\xef\xbb\xbf", 3) == 0)
		memmove(s, s + 3, strlen(s + 3) + 1);
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\0' || *s == ';' || *s == '#')
		return;
	if (*s == '[') {
		end = config_find(s + 1, "]");
		if (*end != ']') {
			config_error(p, p->line, "section header without ']'");
			config_section_close(p);
			line[0] = '\0';
			return;
		}
		config_section_open(p, s + 1, (size_t)(end - (s + 1)));
		for (end++; isspace((unsigned char)*end); end++)
			;
		if (*end != '\0' && *end != ';' && *end != '#')
			config_error(p, p->line, "text after the section header");
		return;
	}
	end = config_find(s, "=:");
	if (*end != '=' && *end != ':') {
		config_error(p, p->line, "expected key = value");
		line[0] = '\0';
	}
}

/*
 * The ini_reader: fgets for inih, but one call per physical line, so its
 * count is inih's line number. An over-long line or a NUL byte is reported
 * and handed to inih as a blank line, rather than split or cut.
 */
static char *
config_read_line(char *str, int num, void *stream)
{
	struct parse *p = stream;
	size_t n = 0;
	bool too_long = false, nul = false;
	int ch;

	if ((ch = getc(p->file)) == EOF)
		return NULL;
	p->line++;
	for (; ch != EOF && ch != '\n'; ch = getc(p->file)) {
		if (ch == '\0')
			nul = true;
		else if (n < CONFIG_LINE_MAX && n + 1 < (size_t)num)
			str[n++] = (char)ch;
		else
			too_long = true;
	}
	str[n] = '\0';
	if (too_long) {
		config_error(p, p->line, "line is longer than %d bytes", CONFIG_LINE_MAX);
		str[0] = '\0';
	} else if (nul) {
		config_error(p, p->line, "line contains a NUL byte");
		str[0] = '\0';
	} else {
		config_scan(p, str);
	}
	return str;
}

/* The ini_handler: one key = value of the open section. Always continues. */
static int
config_handle(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	char why[256], q[CONFIG_QUOTE_MAX + 4];
	size_t i;

	(void)section;  /* config_scan tracks sections, with their lines */
	if (p->sec == SEC_SKIP)
		return 1;
	if (p->sec == SEC_NONE) {
		config_error(p, p->line, "%s is outside any section", config_quote(name, q));
		return 1;
	}
	for (i = 0; i < p->nopts; i++)
		if (strcmp(p->opts[i].name, name) == 0)
			break;
	if (i == p->nopts) {
		config_error(p, p->line, "unknown key %s in [%s]", config_quote(name, q), p->sec_name);
		return 1;
	}
	if (p->seen & (UINT32_C(1) << i)) {
		config_error(p, p->line, "%s is set twice in [%s]", name, p->sec_name);
		return 1;
	}
	p->seen |= UINT32_C(1) << i;
	if (p->opts[i].kind == OPT_SERVICES)
		p->services_line[p->sec_index] = p->line;
	if (p->sec == SEC_TLS)
		*(i == 0 ? &p->cfg->tls.cert_line : &p->cfg->tls.key_line) = p->line;
	if (p->sec == SEC_COUNTER_KEYS)
		p->keys_line[i] = p->line;
	if (config_set(&p->opts[i], value, p->base, why, sizeof(why)) != 0)
		config_error(p, p->line, "%s: %s", name, why);
	return 1;
}

/*
 * After the whole file: turn counters' letters into service indexes, check
 * that every service has a counter, and derive public_url from listen.
 */
static void
config_resolve(struct parse *p)
{
	struct config *c = p->cfg;
	bool served[MAX_SERVICES] = { false };
	bool lists_ok = c->ncounters > 0;

	if (p->single_line[0] == 0)
		config_error(p, 0, "no [branch] section");
	if (c->nservices == 0)
		config_error(p, 0, "no [service X] section: define at least one service");
	if (c->ncounters == 0)
		config_error(p, 0, "no [counter N] section: define at least one counter");

	for (int i = 0; i < c->ncounters; i++) {
		struct counter_conf *ct = &c->counters[i];

		if (ct->name_zh[0] == '\0')
			snprintf(ct->name_zh, sizeof(ct->name_zh), "%d 号窗口", ct->number);
		if (ct->name_en[0] == '\0')
			snprintf(ct->name_en, sizeof(ct->name_en), "Counter %d", ct->number);
		if (ct->nservices == 0)
			lists_ok = false;
		for (int j = 0; j < ct->nservices; j++) {
			char id[2] = { (char)('A' + ct->services[j]), '\0' };
			int k = config_service_index(c, id);

			if (k < 0) {
				config_error(p, p->services_line[i],
				    "counter %d names service %s, which has no [service %s] section",
				    ct->number, id, id);
				continue;
			}
			ct->services[j] = k;
			served[k] = true;
		}
	}
	int advisor_line = 0, uplink_line = 0;
	for (size_t k = 0; k < NSINGLETONS; k++) {
		if (singletons[k].sec == SEC_ADVISOR)
			advisor_line = p->single_line[k];
		if (singletons[k].sec == SEC_UPLINK)
			uplink_line = p->single_line[k];
	}
	/* The head office's key and a PostgreSQL name: letters, digits, - and _. */
	for (const char *b = c->uplink.branch_id; *b != '\0'; b++) {
		if (!((*b >= 'A' && *b <= 'Z') || (*b >= 'a' && *b <= 'z') || (*b >= '0' && *b <= '9') ||
		    *b == '-' || *b == '_')) {
			config_error(p, uplink_line, "[uplink] branch_id \"%s\" may hold only letters, "
			    "digits, - and _", c->uplink.branch_id);
			break;
		}
	}
	if (c->advisor.close_min <= c->advisor.open_min)
		config_error(p, advisor_line,
		    "[advisor] close must be after open: the advisor plans the hours between");
	/* A missing or bad list was reported already; it may be what serves k. */
	for (int k = 0; k < c->nservices && lists_ok; k++)
		if (!served[k])
			config_error(p, c->services[k].line, "service %s is served by no counter",
			    c->services[k].id);

	/* One key, one action: the keypad could not tell which was meant. */
	for (int i = 0; i < CK_COUNT; i++)
		for (int j = 0; j < i; j++)
			if (strcmp(c->counter_keys[i], c->counter_keys[j]) == 0)
				config_error(p, p->keys_line[i] ? p->keys_line[i] : p->keys_line[j],
				    "[counter_keys] %s and %s are both %s", counter_key_name(j),
				    counter_key_name(i), c->counter_keys[i]);

	/* Half a pair serves nothing (config_section_close said so): no https:// is assumed. */
	if (c->tls.cert[0] == '\0' || c->tls.key[0] == '\0')
		c->tls.cert[0] = c->tls.key[0] = '\0';
	if (c->public_url[0] == '\0')
		default_public_url(c);
}

/* public_url from listen, when the file sets none. */
static void
default_public_url(struct config *c)
{
	const char *colon = strrchr(c->listen, ':');
	const char *scheme = config_tls_on(c) ? "https" : "http";

	/* "*" is no address a phone can reach; set public_url for that case. */
	if (strncmp(c->listen, "*:", 2) == 0 || strncmp(c->listen, "0.0.0.0:", 8) == 0)
		snprintf(c->public_url, sizeof(c->public_url), "%s://127.0.0.1%s", scheme,
		    colon ? colon : "");
	else
		snprintf(c->public_url, sizeof(c->public_url), "%s://%s", scheme, c->listen);
}

bool
config_public_url_unreachable(const struct config *c)
{
	const char *host = strstr(c->public_url, "://");
	bool lan = strncmp(c->listen, "127.", 4) != 0 && strncmp(c->listen, "localhost:", 10) != 0;

	host = host != NULL ? host + 3 : c->public_url;
	return lan && (strncmp(host, "127.", 4) == 0 || strncmp(host, "localhost", 9) == 0 ||
	    strncmp(host, "[::1]", 5) == 0);
}



/*
 * inih's options are process-wide variables in Debian's build: set every one
 * our line scanner relies on, whatever a previous caller left.
 */
static void
config_inih_setup(void)
{
	static char start_comments[] = ";#";
	static char inline_comments[] = ";";

	ini_max_line = CONFIG_LINE_MAX + 3;    /* "\r\n\0" */
	ini_use_stack = true;
	ini_allow_realloc = false;
	/* Off, so an indented line is an ordinary line, not a continuation. */
	ini_allow_multiline = false;
	ini_allow_bom = true;
	ini_allow_inline_comments = true;
	ini_start_comment_prefixes = start_comments;
	ini_inline_comment_prefixes = inline_comments;
	ini_allow_no_value = false;
	ini_stop_on_first_error = false;
}

int
config_load(const char *path, struct config *out, FILE *errors)
{
	struct parse p;
	int rc;

	memset(&p, 0, sizeof(p));
	memset(out, 0, sizeof(*out));
	p.path = path;
	p.errors = errors;
	p.cfg = out;
	p.sec = SEC_NONE;

	if (strlen(path) >= sizeof(out->path)) {
		config_error(&p, 0, "path is too long");
		return p.nerrors;
	}
	memcpy(out->path, path, strlen(path) + 1);
	for (size_t k = 0; k < NSINGLETONS; k++)
		config_defaults(singletons[k].opts, singletons[k].nopts, out);

	if ((p.file = fopen(path, "r")) == NULL) {
		config_error(&p, 0, "cannot open: %s", strerror(errno));
		return p.nerrors;
	}
	config_inih_setup();
	rc = ini_parse_stream(config_read_line, &p, config_handle, &p);
	if (ferror(p.file))
		config_error(&p, 0, "cannot read: %s", strerror(errno));
	fclose(p.file);
	config_section_close(&p);

	/* config_scan blanks every line inih would refuse: this is a backstop. */
	if (rc > 0)
		config_error(&p, rc, "syntax error");
	else if (rc < 0)
		config_error(&p, 0, "cannot parse: %s", rc == -2 ? "out of memory" : "read failed");

	config_resolve(&p);
	return p.nerrors;
}

/*
 * Each file's problem is reported at its key's line; a pair that cannot
 * serve, at the key's.
 */
int
config_tls_files(struct config *c, FILE *errors)
{
	struct parse p = { .path = c->path, .errors = errors, .cfg = c };
	struct tls_conf *t = &c->tls;
	char why[512], *cert = NULL, *key = NULL;

	if (!config_tls_on(c))
		return 0;
	if (tls_pem_read(t->cert, false, &cert, &t->cert_id, why, sizeof(why)) != 0)
		config_error(&p, t->cert_line, "cert: %s", why);
	if (tls_pem_read(t->key, true, &key, &t->key_id, why, sizeof(why)) != 0)
		config_error(&p, t->key_line, "key: %s", why);
	if (cert != NULL && key != NULL && tls_check(cert, key, why, sizeof(why)) != 0)
		config_error(&p, t->key_line, "key: libmicrohttpd cannot serve HTTPS with "
		    "certificate %s and key %s: %s", t->cert, t->key, why);
	tls_pem_free(cert);
	tls_pem_free(key);
	return p.nerrors;
}

bool
config_tls_same(const struct config *a, const struct config *b)
{
	const struct tls_conf *x = &a->tls, *y = &b->tls;

	return strcmp(x->cert, y->cert) == 0 && strcmp(x->key, y->key) == 0 &&
	    memcmp(&x->cert_id, &y->cert_id, sizeof(x->cert_id)) == 0 &&
	    memcmp(&x->key_id, &y->key_id, sizeof(x->key_id)) == 0;
}

int
config_service_index(const struct config *c, const char *id)
{
	for (int i = 0; i < c->nservices; i++)
		if (strcmp(c->services[i].id, id) == 0)
			return i;
	return -1;
}

int
config_counter_index(const struct config *c, int number)
{
	for (int i = 0; i < c->ncounters; i++)
		if (c->counters[i].number == number)
			return i;
	return -1;
}
