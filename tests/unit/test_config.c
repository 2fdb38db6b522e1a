/*
 * test_config.c: config_load against the demo config and against small
 * files written for each case, checking values and the exact text of every
 * error, line numbers included. Run from the repository root, where
 * config/branchq.conf is.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "metrics.h"

#define DEMO_CONFIG "config/branchq.conf"

/* The smallest valid file, to which a test appends or prepends its case. */
#define BRANCH_OK \
	"[branch]\n" \
	"name_zh = 测试支行\n" \
	"name_en = Test Branch\n" \
	"timezone = Asia/Shanghai\n"
#define SERVICE_A_OK \
	"[service A]\n" \
	"name_zh = 个人业务\n" \
	"name_en = Personal banking\n"
#define COUNTER_1_OK \
	"[counter 1]\n" \
	"services = A\n"

static struct config cfg;        /* large: kept off the stack */
static char errs[8192];          /* errors of the last load, path shown as "T" */

/* Shares such as 0.05 are computed, so compare them with a tolerance. */
static bool
near(double a, double b)
{
	return a - b < 1e-12 && b - a < 1e-12;
}

/* Write n bytes to a fresh temporary file; the caller unlinks path. */
static void
write_temp(const char *text, size_t n, char path[64])
{
	int fd;

	snprintf(path, 64, "/tmp/test_config.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	assert_int_equal(close(fd), 0);
}

/* Copy s into errs with every occurrence of path replaced by "T". */
static void
keep_errors(const char *s, const char *path)
{
	size_t plen = strlen(path), o = 0;

	while (*s != '\0' && o + 2 < sizeof(errs)) {
		if (strncmp(s, path, plen) == 0) {
			errs[o++] = 'T';
			s += plen;
		} else {
			errs[o++] = *s++;
		}
	}
	errs[o] = '\0';
}

/* Load path into cfg, capturing the error text into errs. */
static int
load_path(const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int n;

	assert_non_null(f);
	n = config_load(path, &cfg, f);
	assert_int_equal(fclose(f), 0);
	keep_errors(buf, path);
	free(buf);
	return n;
}

/* Load n bytes of text as a config file. */
static int
load_bytes(const char *text, size_t n)
{
	char path[64];
	int rc;

	write_temp(text, n, path);
	rc = load_path(path);
	unlink(path);
	return rc;
}

static int
load(const char *text)
{
	return load_bytes(text, strlen(text));
}

/*
 * The [branch] and [green] values the issue sets for the demo branch, which
 * are also the defaults: the demo file spells them out, a minimal file
 * leaves them to the defaults, and both must come out the same.
 */
static void
assert_issue_settings(const struct config *c)
{
	assert_int_equal(c->day_reset_min, 4 * 60);
	assert_string_equal(c->listen, "127.0.0.1:8080");
	assert_string_equal(c->database, "var/branchq.db");
	assert_string_equal(c->public_url, "http://127.0.0.1:8080");
	assert_int_equal(c->recalls, 2);
	assert_int_equal(c->call_repeats, 2);
	assert_int_equal(c->elderly_age, 60);
	assert_int_equal(c->boost_s[CAT_NORMAL], 0);
	assert_int_equal(c->boost_s[CAT_ELDERLY], 600);
	assert_int_equal(c->boost_s[CAT_DISABLED], 900);
	assert_int_equal(c->boost_s[CAT_PREGNANT], 900);
	assert_int_equal(c->boost_s[CAT_MILITARY], 600);
	assert_int_equal(c->boost_s[CAT_FOREIGN], 300);
}

static void
test_demo_config(void **state)
{
	const struct counter_conf *c;
	(void)state;

	assert_int_equal(load_path(DEMO_CONFIG), 0);
	assert_string_equal(errs, "");
	assert_string_equal(cfg.path, DEMO_CONFIG);
	assert_string_equal(cfg.name_zh, "中国示范银行 北京示范支行");
	assert_string_equal(cfg.name_en, "Demo Bank, Beijing Demo Branch");
	assert_string_equal(cfg.timezone, "Asia/Shanghai");
	assert_issue_settings(&cfg);

	assert_int_equal(cfg.nservices, 3);
	assert_string_equal(cfg.services[0].id, "A");
	assert_string_equal(cfg.services[0].name_zh, "个人业务");
	assert_string_equal(cfg.services[0].name_en, "Personal banking");
	assert_string_equal(cfg.services[1].id, "B");
	assert_string_equal(cfg.services[1].name_zh, "对公业务");
	assert_string_equal(cfg.services[1].name_en, "Corporate banking");
	assert_string_equal(cfg.services[2].id, "V");
	assert_string_equal(cfg.services[2].name_zh, "贵宾理财");
	assert_string_equal(cfg.services[2].name_en, "Wealth (VIP)");
	for (int i = 0; i < cfg.nservices; i++) {
		assert_int_equal(cfg.services[i].overtime_s, 1200);
		assert_true(near(cfg.services[i].target_share, 0.05));
		assert_int_equal(cfg.services[i].service_time_s, 300);
	}
	assert_int_equal(config_service_index(&cfg, "A"), 0);
	assert_int_equal(config_service_index(&cfg, "V"), 2);
	assert_int_equal(config_service_index(&cfg, "Z"), -1);

	assert_int_equal(cfg.ncounters, 5);
	assert_int_equal(config_counter_index(&cfg, 1), 0);
	assert_int_equal(config_counter_index(&cfg, 5), 4);
	assert_int_equal(config_counter_index(&cfg, 6), -1);

	c = &cfg.counters[config_counter_index(&cfg, 1)];
	assert_int_equal(c->number, 1);
	assert_true(c->green);
	assert_false(c->english);
	assert_int_equal(c->nservices, 2);
	assert_int_equal(c->services[0], config_service_index(&cfg, "A"));
	assert_int_equal(c->services[1], config_service_index(&cfg, "B"));

	c = &cfg.counters[config_counter_index(&cfg, 2)];
	assert_false(c->green);
	assert_true(c->english);
	assert_int_equal(c->nservices, 2);

	for (int n = 3; n <= 4; n++) {
		c = &cfg.counters[config_counter_index(&cfg, n)];
		assert_false(c->green);
		assert_false(c->english);
		assert_int_equal(c->nservices, 1);
		assert_int_equal(c->services[0], config_service_index(&cfg, "A"));
	}

	c = &cfg.counters[config_counter_index(&cfg, 5)];
	assert_int_equal(c->nservices, 2);
	assert_int_equal(c->services[0], config_service_index(&cfg, "B"));
	assert_int_equal(c->services[1], config_service_index(&cfg, "V"));
}

static void
test_defaults(void **state)
{
	(void)state;

	assert_int_equal(load(BRANCH_OK SERVICE_A_OK COUNTER_1_OK), 0);
	assert_string_equal(errs, "");
	assert_issue_settings(&cfg);
	assert_int_equal(cfg.services[0].overtime_s, 1200);
	assert_true(near(cfg.services[0].target_share, 0.05));
	assert_int_equal(cfg.services[0].service_time_s, 300);
	assert_int_equal(cfg.services[0].line, 5);
	assert_false(cfg.counters[0].green);
	assert_false(cfg.counters[0].english);
	assert_int_equal(cfg.counters[0].line, 8);
}

static void
test_values(void **state)
{
	(void)state;

	/* Counters before the services they name; blanks, CRLF, indentation. */
	assert_int_equal(load(
	    "\xef\xbb\xbf[branch]\r\n"
	    "  name_zh = 测试支行\r\n"
	    "\tname_en = Test Branch\r\n"
	    "timezone = Etc/GMT-8\r\n"
	    "day_reset = 0:30\r\n"
	    "listen = *:9000\r\n"
	    "database = /var/lib/branchq/q.db\r\n"
	    "recalls = 0\r\n"
	    "[ counter  12 ]   ; comment\n"
	    "services = B,A , C\n"
	    "green = TRUE\n"
	    "english = 1\n"
	    "[green]\n"
	    "elderly_age = 65\n"
	    "elderly = 90s\n"
	    "foreign = 0\n"
	    "military = 1h\n"
	    "[service B]\n" "name_zh = b\n" "name_en = b\n"
	    "overtime = 15\n" "target = 2.5%\n" "service_time = 90s\n"
	    "[service C]\n" "name_zh = c\n" "name_en = c\n" "target = 100\n"
	    "[service A]\n" "name_zh = a\n" "name_en = a\n" "target = 0%\n"), 0);
	assert_string_equal(errs, "");
	assert_string_equal(cfg.name_zh, "测试支行");
	assert_string_equal(cfg.name_en, "Test Branch");
	assert_string_equal(cfg.timezone, "Etc/GMT-8");
	assert_int_equal(cfg.day_reset_min, 30);
	assert_string_equal(cfg.listen, "*:9000");
	assert_string_equal(cfg.public_url, "http://127.0.0.1:9000");
	assert_string_equal(cfg.database, "/var/lib/branchq/q.db");
	assert_int_equal(cfg.recalls, 0);
	assert_int_equal(cfg.elderly_age, 65);
	assert_int_equal(cfg.boost_s[CAT_ELDERLY], 90);
	assert_int_equal(cfg.boost_s[CAT_FOREIGN], 0);
	assert_int_equal(cfg.boost_s[CAT_MILITARY], 3600);
	assert_int_equal(cfg.boost_s[CAT_DISABLED], 900);
	assert_int_equal(cfg.counters[0].number, 12);
	assert_int_equal(cfg.counters[0].line, 9);
	assert_true(cfg.counters[0].green);
	assert_true(cfg.counters[0].english);
	assert_int_equal(cfg.counters[0].nservices, 3);
	assert_int_equal(cfg.counters[0].services[0], config_service_index(&cfg, "B"));
	assert_int_equal(cfg.counters[0].services[1], config_service_index(&cfg, "A"));
	assert_int_equal(cfg.counters[0].services[2], config_service_index(&cfg, "C"));
	assert_int_equal(config_service_index(&cfg, "B"), 0);
	assert_int_equal(cfg.services[0].overtime_s, 900);
	assert_true(near(cfg.services[0].target_share, 0.025));
	assert_int_equal(cfg.services[0].service_time_s, 90);
	assert_true(near(cfg.services[1].target_share, 1.0));
	assert_true(near(cfg.services[2].target_share, 0));

	/* public_url keeps no trailing slash; its default follows listen. */
	assert_int_equal(load(BRANCH_OK "public_url = https://q.example.cn/b1//\n"
	    SERVICE_A_OK COUNTER_1_OK), 0);
	assert_string_equal(cfg.public_url, "https://q.example.cn/b1");
	assert_int_equal(load(BRANCH_OK "listen = localhost:80\n" SERVICE_A_OK COUNTER_1_OK), 0);
	assert_string_equal(cfg.public_url, "http://localhost:80");
	assert_int_equal(load(BRANCH_OK "listen = 10.1.2.3:65535\n" SERVICE_A_OK COUNTER_1_OK), 0);
	assert_string_equal(cfg.public_url, "http://10.1.2.3:65535");
}

static void
test_duration(void **state)
{
	static const struct {
		const char *s;
		int rc;
		int64_t v;
	} cases[] = {
		{ "90s", 0, 90 }, { "20m", 0, 1200 }, { "1h", 0, 3600 }, { "15", 0, 900 },
		{ "0", 0, 0 }, { "0s", 0, 0 }, { "007m", 0, 420 },
		{ "9223372036854775807s", 0, INT64_MAX },
		{ "-5m", -1, 0 }, { "10x", -1, 0 }, { "", -1, 0 },
		{ "99999999999999999999m", -1, 0 }, { "153722867280912931m", -1, 0 },
		{ "m", -1, 0 }, { " 5m", -1, 0 }, { "5m ", -1, 0 }, { "+5m", -1, 0 },
		{ "5mm", -1, 0 }, { "5 m", -1, 0 }, { "1.5h", -1, 0 }, { "5M", -1, 0 },
		{ "0x10", -1, 0 }, { "5d", -1, 0 },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t v = -12345;
		int rc = config_parse_duration(cases[i].s, &v);

		if (rc != cases[i].rc || (rc == 0 && v != cases[i].v) || (rc != 0 && v != -12345))
			fail_msg("config_parse_duration(\"%s\") = %d, %lld", cases[i].s, rc, (long long)v);
	}
}

/* One value of one key in a valid file: accepted or not, and what it gives. */
static void
test_value_syntax(void **state)
{
	static const struct {
		const char *line;        /* written after the [branch] keys */
		int ok;
	} cases[] = {
		{ "day_reset = 00:00", 1 }, { "day_reset = 23:59", 1 }, { "day_reset = 7:05", 1 },
		{ "day_reset = 12:60", 0 }, { "day_reset = 24:00", 0 }, { "day_reset = 7:5", 0 },
		{ "day_reset = 123:00", 0 }, { "day_reset = 04:00:00", 0 }, { "day_reset = :30", 0 },
		{ "listen = 0.0.0.0:1", 1 }, { "listen = 127.0.0.1:65536", 0 },
		{ "listen = 127.0.0.1", 0 }, { "listen = 127.0.0.1:+80", 0 },
		{ "listen = 256.0.0.1:80", 0 }, { "listen = [::1]:80", 0 }, { "listen = :80", 0 },
		{ "listen = example.org:80", 0 }, { "listen = 127.0.0.1:80x", 0 },
		{ "public_url = http://", 0 }, { "public_url = https://a b", 0 },
		{ "public_url = http://示范.cn", 0 }, { "public_url = HTTP://x", 0 },
		{ "recalls = 10", 1 }, { "recalls = -1", 0 }, { "recalls = 2.0", 0 },
		{ "recalls = 0x2", 0 }, { "recalls = 99999999999999999999", 0 },
		{ "call_repeats = 1", 1 }, { "call_repeats = 3", 1 }, { "call_repeats = 0", 0 },
		{ "call_repeats = 4", 0 },
	};
	static const struct {
		const char *value;
		double share;            /* < 0: refused */
	} targets[] = {
		{ "5%", 0.05 }, { "5", 0.05 }, { "100%", 1 }, { "0", 0 }, { "12.5%", 0.125 },
		{ "100.5", -1 }, { "100.000001%", -1 }, { "-1%", -1 }, { "5%%", -1 }, { ".5", -1 },
		{ "5.", -1 }, { "%", -1 }, { "1e1", -1 }, { "inf", -1 }, { "5 %", -1 }, { "0100", 1 }, { "1000", -1 },
	};
	static const struct {
		const char *value;
		int b;                   /* -1: refused */
	} bools[] = {
		{ "yes", 1 }, { "Yes", 1 }, { "true", 1 }, { "1", 1 }, { "no", 0 }, { "FALSE", 0 },
		{ "0", 0 }, { "y", -1 }, { "on", -1 }, { "2", -1 }, { "", -1 },
	};
	char text[1024];
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), BRANCH_OK "%s\n" SERVICE_A_OK COUNTER_1_OK, cases[i].line);
		if (load(text) != !cases[i].ok)
			fail_msg("%s: %s", cases[i].line, errs);
	}
	assert_int_equal(load(BRANCH_OK "day_reset = 23:59\n" SERVICE_A_OK COUNTER_1_OK), 0);
	assert_int_equal(cfg.day_reset_min, 23 * 60 + 59);

	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		int n;

		snprintf(text, sizeof(text), BRANCH_OK SERVICE_A_OK "target = %s\n" COUNTER_1_OK,
		    targets[i].value);
		n = load(text);
		if (targets[i].share < 0 ? n != 1 :
		    n != 0 || !near(cfg.services[0].target_share, targets[i].share))
			fail_msg("target = %s: %d %s", targets[i].value, n, errs);
	}
	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		int n;

		snprintf(text, sizeof(text), BRANCH_OK SERVICE_A_OK COUNTER_1_OK "english = %s\n",
		    bools[i].value);
		n = load(text);
		if (bools[i].b < 0 ? n != 1 : n != 0 || cfg.counters[0].english != (bools[i].b == 1))
			fail_msg("english = %s: %d %s", bools[i].value, n, errs);
	}
}

static void
test_several_errors(void **state)
{
	(void)state;

	assert_int_equal(load(
	    "[branch]\n"                       /* 1 */
	    "name_zh = 测试支行\n"              /* 2 */
	    "name_en = Test Branch\n"          /* 3 */
	    "timezone = Asia/Atlantis\n"       /* 4 */
	    "colour = red\n"                   /* 5 */
	    "\n"                               /* 6 */
	    "[service A]\n"                    /* 7 */
	    "name_zh = 个人业务\n"              /* 8 */
	    "name_en = Personal banking\n"     /* 9 */
	    "overtime = 10x\n"                 /* 10 */
	    "[counter 1]\n"                    /* 11 */
	    "services = A Z\n"                 /* 12 */
	    "[counter 2]\n"                    /* 13 */
	    "green = maybe\n"                  /* 14 */
	    "services = A\n"), 5);             /* 15 */
	assert_string_equal(errs,
	    "T:4: timezone: \"Asia/Atlantis\" is not a time zone in /usr/share/zoneinfo\n"
	    "T:5: unknown key colour in [branch]\n"
	    "T:10: overtime: \"10x\" is not a duration (a whole number with s, m or h; minutes if bare)\n"
	    "T:14: green: \"maybe\" is not yes or no\n"
	    "T:12: counter 1 names service Z, which has no [service Z] section\n");
}

static void
test_syntax_errors(void **state)
{
	(void)state;

	/* inih itself would report only line 2; each bad line is reported. */
	assert_int_equal(load(
	    BRANCH_OK                          /* 1-4 */
	    "recalls 3\n"                      /* 5 */
	    "[service A\n"                     /* 6 */
	    "name_zh = x\n"                    /* 7: ignored, its section is bad */
	    SERVICE_A_OK                       /* 8-10 */
	    "just words ; = not a key\n"       /* 11 */
	    "[counter 1] junk\n"               /* 12 */
	    "services = A\n"), 4);             /* 13 */
	assert_string_equal(errs,
	    "T:5: expected key = value\n"
	    "T:6: section header without ']'\n"
	    "T:11: expected key = value\n"
	    "T:12: text after the section header\n");

	/* A key before any section. */
	assert_int_equal(load("recalls = 3\n" BRANCH_OK SERVICE_A_OK COUNTER_1_OK), 1);
	assert_string_equal(errs, "T:1: recalls is outside any section\n");
}

static void
test_long_line_and_nul(void **state)
{
	char text[4096];
	int n;
	(void)state;

	/* 1024 bytes is the longest line; one more is reported, not split. */
	n = snprintf(text, sizeof(text), "%s; %01022d\n; %01023d\n%s%s", BRANCH_OK, 0, 0,
	    SERVICE_A_OK, COUNTER_1_OK);
	assert_true(n > 0 && (size_t)n < sizeof(text));
	assert_int_equal(load(text), 1);
	assert_string_equal(errs, "T:6: line is longer than 1024 bytes\n");

	n = snprintf(text, sizeof(text), "%sname_en = x%1100s\n%s%s", "[branch]\nname_zh = a\n"
	    "timezone = UTC\n", "", SERVICE_A_OK, COUNTER_1_OK);
	assert_true(n > 0 && (size_t)n < sizeof(text));
	assert_int_equal(load(text), 2);
	assert_string_equal(errs, "T:4: line is longer than 1024 bytes\n"
	    "T:1: [branch] has no name_en\n");

	{
		static const char nul[] = BRANCH_OK "recalls = 1\0x\n" SERVICE_A_OK COUNTER_1_OK;

		assert_int_equal(load_bytes(nul, sizeof(nul) - 1), 1);
		assert_string_equal(errs, "T:5: line contains a NUL byte\n");
	}
}

static void
test_bad_values(void **state)
{
	(void)state;

	assert_int_equal(load(
	    "[branch]\n"                                  /* 1 */
	    "name_zh = \x01x\n"                           /* 2 */
	    "name_en = \xff\xfe\n"                        /* 3 */
	    "timezone = ../../../etc/passwd\n"            /* 4 */
	    "day_reset = 24:00\n"                         /* 5 */
	    "listen = 127.0.0.1:0\n"                      /* 6 */
	    "database =\n"                                /* 7 */
	    "public_url = ftp://x\n"                      /* 8 */
	    "recalls = 11\n"                              /* 9 */
	    "[green]\n"                                   /* 10 */
	    "elderly_age = 49\n"                          /* 11 */
	    "elderly = 25h\n"                             /* 12 */
	    "disabled = -1\n"                             /* 13 */
	    "[service A]\n"                               /* 14 */
	    "name_zh = a\n" "name_en = a\n"               /* 15, 16 */
	    "overtime = 0\n"                              /* 17 */
	    "target = 101%\n"                             /* 18 */
	    "[counter 1]\n"                               /* 19 */
	    "services = A A\n"                            /* 20 */
	    "[counter 2]\n"                               /* 21 */
	    "services = A, BC\n"), 15);                   /* 22 */
	assert_string_equal(errs,
	    "T:2: name_zh: contains a control character\n"
	    "T:3: name_en: is not valid UTF-8\n"
	    "T:4: timezone: \"../../../etc/passwd\" is not a time zone in /usr/share/zoneinfo\n"
	    "T:5: day_reset: \"24:00\" is not a time of day HH:MM (00:00..23:59)\n"
	    "T:6: listen: \"127.0.0.1:0\" is not ADDRESS:PORT (an IPv4 address, localhost or *; a port 1..65535)\n"
	    "T:7: database: is empty\n"
	    "T:8: public_url: \"ftp://x\" is not an http:// or https:// URL\n"
	    "T:9: recalls: 11 is out of range 0..10\n"
	    "T:11: elderly_age: 49 is out of range 50..100\n"
	    "T:12: elderly: 25h is out of range 0s..24h\n"
	    "T:13: disabled: \"-1\" is not a duration (a whole number with s, m or h; minutes if bare)\n"
	    "T:17: overtime: 0s is out of range 1s..24h\n"
	    "T:18: target: \"101%\" is not a percentage 0..100\n"
	    "T:20: services: service A is listed twice\n"
	    "T:22: services: \"BC\" is not a service prefix (one letter A-Z)\n");

	/* Other time zones that must not pass, and limits of strings. */
	static const char *const zones[] = {
		"/etc/localtime", "Asia//Shanghai", "Asia/", "zone.tab", "Asia", "..", "asia/shanghai",
	};
	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		char text[512];

		snprintf(text, sizeof(text), "[branch]\nname_zh = a\nname_en = b\ntimezone = %s\n"
		    SERVICE_A_OK COUNTER_1_OK, zones[i]);
		if (load(text) != 1 || strstr(errs, "T:4: timezone: ") != errs)
			fail_msg("timezone %s: %s", zones[i], errs);
	}
	{
		char text[1024], name[CONFIG_NAME_MAX + 1];

		memset(name, 'x', CONFIG_NAME_MAX - 1);
		name[CONFIG_NAME_MAX - 1] = '\0';
		snprintf(text, sizeof(text), "%sname_zh = %s\nname_en = %sy\ntimezone = UTC\n"
		    SERVICE_A_OK COUNTER_1_OK, "[branch]\n", name, name);
		assert_int_equal(load(text), 1);
		assert_string_equal(errs, "T:3: name_en: is too long (at most 127 bytes)\n");
		assert_int_equal(strlen(cfg.name_zh), CONFIG_NAME_MAX - 1);
	}
}

static void
test_unknown_section(void **state)
{
	(void)state;

	assert_int_equal(load(BRANCH_OK "[sevrice A]\nname_zh = x\nname_en = y\n"
	    "[service a]\n[service AB]\n[branch extra]\n[counter 0]\n[counter 1000]\n"
	    "[counter +3]\n" SERVICE_A_OK COUNTER_1_OK), 7);
	assert_string_equal(errs,
	    "T:5: unknown section [sevrice A]\n"
	    "T:8: [service a]: a service's prefix is one letter A-Z, as in [service A]\n"
	    "T:9: [service AB]: a service's prefix is one letter A-Z, as in [service A]\n"
	    "T:10: [branch extra] takes no name: write [branch]\n"
	    "T:11: [counter 0]: a counter's number is 1..999, as in [counter 1]\n"
	    "T:12: [counter 1000]: a counter's number is 1..999, as in [counter 1]\n"
	    "T:13: [counter +3]: a counter's number is 1..999, as in [counter 1]\n");
}

static void
test_duplicates(void **state)
{
	(void)state;

	assert_int_equal(load(BRANCH_OK SERVICE_A_OK COUNTER_1_OK       /* 1-9 */
	    "[counter 2]\n"                                          /* 10 */
	    "services = A\n"                                         /* 11 */
	    "green = yes\n"                                          /* 12 */
	    "green = no\n"                                           /* 13 */
	    "[counter 1]\n"                                          /* 14 */
	    "services = Z\n"                                         /* 15: ignored */
	    "[service A]\n"                                          /* 16 */
	    "[branch]\n"                                             /* 17 */
	    "[green]\n[green]\n"), 5);                               /* 18, 19 */
	assert_string_equal(errs,
	    "T:13: green is set twice in [counter 2]\n"
	    "T:14: [counter 1] appears twice (first at line 8)\n"
	    "T:16: [service A] appears twice (first at line 5)\n"
	    "T:17: [branch] appears twice (first at line 1)\n"
	    "T:19: [green] appears twice (first at line 18)\n");
	/* The first occurrence stands. */
	assert_int_equal(cfg.ncounters, 2);
	assert_true(cfg.counters[1].green);
}

static void
test_missing_required(void **state)
{
	(void)state;

	assert_int_equal(load(
	    "[branch]\n"                       /* 1 */
	    "name_en = Test Branch\n"          /* 2 */
	    "timezone = UTC\n"                 /* 3 */
	    "[service A]\n"                    /* 4 */
	    "name_en = Personal banking\n"     /* 5 */
	    "[counter 1]\n"                    /* 6 */
	    "green = yes\n"                    /* 7 */
	    "[counter 2]\n"                    /* 8 */
	    "services = A\n"), 3);             /* 9 */
	assert_string_equal(errs,
	    "T:1: [branch] has no name_zh\n"
	    "T:4: [service A] has no name_zh\n"
	    "T:6: [counter 1] has no services\n");

	/* An empty file lacks everything, and says so without a line. */
	assert_int_equal(load("; nothing\n"), 3);
	assert_string_equal(errs,
	    "T: no [branch] section\n"
	    "T: no [service X] section: define at least one service\n"
	    "T: no [counter N] section: define at least one counter\n");
}

static void
test_missing_file(void **state)
{
	(void)state;

	assert_int_equal(load_path("/nonexistent/branchq.conf"), 1);
	assert_string_equal(errs, "T: cannot open: No such file or directory\n");

	/* Without an error stream, problems are still counted. */
	assert_int_equal(config_load("/nonexistent/branchq.conf", &cfg, NULL), 1);
}

static void
test_unserved_service(void **state)
{
	(void)state;

	assert_int_equal(load(BRANCH_OK SERVICE_A_OK COUNTER_1_OK      /* 1-9 */
	    "[service V]\n"                                         /* 10 */
	    "name_zh = 贵宾理财\n" "name_en = Wealth (VIP)\n"), 1);
	assert_string_equal(errs, "T:10: service V is served by no counter\n");
}

static void
test_too_many_counters(void **state)
{
	char text[8192];
	size_t o;
	(void)state;

	o = (size_t)snprintf(text, sizeof(text), "%s%s", BRANCH_OK, SERVICE_A_OK);
	for (int i = 1; i <= MAX_COUNTERS + 1; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "[counter %d]\nservices = A\n", i);
	assert_true(o < sizeof(text));
	assert_int_equal(load(text), 1);
	assert_string_equal(errs, "T:136: too many counters (at most 64)\n");
	assert_int_equal(cfg.ncounters, MAX_COUNTERS);
}

static void
test_reload_resets(void **state)
{
	(void)state;

	assert_int_equal(load_path(DEMO_CONFIG), 0);
	assert_int_equal(cfg.ncounters, 5);
	assert_int_equal(load(BRANCH_OK SERVICE_A_OK COUNTER_1_OK), 0);
	assert_int_equal(cfg.ncounters, 1);
	assert_int_equal(cfg.nservices, 1);
	assert_string_equal(cfg.name_en, "Test Branch");
}

/* [monitoring]: address lists and sizes, their limits, and who they let scrape. */
static void
test_monitoring(void **state)
{
	(void)state;

	assert_int_equal(load(BRANCH_OK SERVICE_A_OK COUNTER_1_OK), 0);
	assert_int_equal(cfg.monitoring.metrics_allow.n, 0);
	assert_true(cfg.monitoring.min_free_disk == 100 * 1024 * 1024);
	assert_false(metrics_addr_allowed(&cfg, "127.0.0.1"));

	assert_int_equal(load(BRANCH_OK SERVICE_A_OK COUNTER_1_OK "[monitoring]\n"
	    "metrics_allow = 10.1.2.3/8, 192.168.7.9 ,0.0.0.0/32\nmin_free_disk = 2G\n"), 0);
	assert_int_equal(cfg.monitoring.metrics_allow.n, 3);
	assert_true(cfg.monitoring.metrics_allow.net[0].addr == 0x0a000000u);
	assert_true(cfg.monitoring.metrics_allow.net[0].mask == 0xff000000u);
	assert_true(cfg.monitoring.min_free_disk == INT64_C(2) << 30);
	assert_true(metrics_addr_allowed(&cfg, "10.200.0.1"));
	assert_true(metrics_addr_allowed(&cfg, "192.168.7.9"));
	assert_false(metrics_addr_allowed(&cfg, "192.168.7.10"));
	assert_false(metrics_addr_allowed(&cfg, "11.0.0.1"));
	assert_false(metrics_addr_allowed(&cfg, ""));
	assert_false(metrics_addr_allowed(&cfg, NULL));

	assert_int_equal(load(BRANCH_OK SERVICE_A_OK COUNTER_1_OK "[monitoring]\n"
	    "metrics_allow = 0.0.0.0/0\nmin_free_disk = 0\n"), 0);
	assert_true(metrics_addr_allowed(&cfg, "203.0.113.5"));
	assert_true(cfg.monitoring.min_free_disk == 0);

	assert_int_equal(load(BRANCH_OK SERVICE_A_OK COUNTER_1_OK "[monitoring]\n"
	    "metrics_allow = 10.0.0.0/33\nmin_free_disk = 1025T\n"
	    "[monitoring]\n"), 3);
	assert_string_equal(errs,
	    "T:11: metrics_allow: \"10.0.0.0/33\": the bits after / are 0..32\n"
	    "T:12: min_free_disk: \"1025T\" is not a size (a whole number with K, M, G or T, "
	    "at most 1024T)\n"
	    "T:13: [monitoring] appears twice (first at line 10)\n");
	assert_int_equal(load(BRANCH_OK SERVICE_A_OK COUNTER_1_OK "[monitoring]\n"
	    "metrics_allow = localhost\nmin_free_disk = -5M\n"), 2);
	assert_string_equal(errs,
	    "T:11: metrics_allow: \"localhost\" is not an IPv4 address\n"
	    "T:12: min_free_disk: \"-5M\" is not a size (a whole number with K, M, G or T, "
	    "at most 1024T)\n");
	assert_int_equal(load(BRANCH_OK SERVICE_A_OK COUNTER_1_OK "[monitoring]\n"
	    "metrics_allow = 1.1.1.1 1.1.1.2 1.1.1.3 1.1.1.4 1.1.1.5 1.1.1.6 1.1.1.7 1.1.1.8 "
	    "1.1.1.9 1.1.1.10 1.1.1.11 1.1.1.12 1.1.1.13 1.1.1.14 1.1.1.15 1.1.1.16 1.1.1.17\n"),
	    1);
	assert_string_equal(errs, "T:11: metrics_allow: lists more than 16 addresses\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_demo_config),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_value_syntax),
		cmocka_unit_test(test_several_errors),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_long_line_and_nul),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_unknown_section),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_missing_required),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_unserved_service),
		cmocka_unit_test(test_too_many_counters),
		cmocka_unit_test(test_reload_resets),
		cmocka_unit_test(test_monitoring),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
