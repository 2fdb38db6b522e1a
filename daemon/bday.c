/*
 * bday.c: the branch's business day and the times the API shows.
 *
 * A branch's day does not end at midnight UTC, nor always at local midnight:
 * ticket numbers restart and reports roll over at a configured reset time in
 * the branch's own time zone (TheQ's numbers went wrong after 5 pm because
 * its day was cut in UTC). Everything here therefore works in the process's
 * local time zone, set once at start-up by bday_set_timezone, and leaves the
 * rules of that zone (offsets, daylight saving) to the C library. Dates
 * themselves are plain proleptic Gregorian arithmetic with no time zone.
 */
#include <sys/stat.h>

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bday.h"

#define ZONEINFO_DIR	"/usr/share/zoneinfo/"
#define ZONE_NAME_MAX	64	/* "right/America/Argentina/ComodRivadavia" is 38 */
#define MIN_PER_DAY	(24 * 60)
#define DATE_YEAR_MIN	1800
#define DATE_YEAR_MAX	9999

static int
date_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
date_days_in_month(int y, int m)
{
	static const int days[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31,
	};

	if (m == 2 && date_leap(y))
		return 29;
	return days[m - 1];
}

/* The calendar day before d; d must be valid. */
static struct date
date_prev(struct date d)
{
	if (d.d > 1) {
		d.d--;
		return d;
	}
	if (d.m > 1) {
		d.m--;
	} else {
		d.m = 12;
		d.y--;
	}
	d.d = date_days_in_month(d.y, d.m);
	return d;
}

/*
 * Only names made of the characters IANA uses, relative, and without "."
 * (so no ".." either): TZ is also read by the C library as a path, and a
 * name from the config must not reach outside the zoneinfo tree.
 */
static int
bday_zone_name_ok(const char *zone)
{
	size_t n = strnlen(zone, ZONE_NAME_MAX + 1);

	if (n == 0 || n > ZONE_NAME_MAX || zone[0] == '/')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = zone[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '+' ||
		    c == '-' || c == '/'))
			return 0;
	}
	return 1;
}

/*
 * Zone must name a regular file that starts with the TZif magic. The magic
 * matters: zoneinfo also holds plain-text files such as "leapseconds", and
 * glibc silently falls back to UTC when TZ names a file it cannot parse,
 * which would shift every business day without a word in the log.
 * Call it before any thread starts: setenv and tzset are not thread-safe.
 */
int
bday_set_timezone(const char *zone)
{
	char path[sizeof(ZONEINFO_DIR) + ZONE_NAME_MAX];
	char magic[4];
	struct stat st;
	ssize_t got;
	int fd;

	if (zone == NULL || !bday_zone_name_ok(zone))
		return -1;
	if (snprintf(path, sizeof(path), "%s%s", ZONEINFO_DIR, zone) >=
	    (int)sizeof(path))
		return -1;

	/* fstat the file we opened, not the name: every check sees one file. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	do
		got = read(fd, magic, sizeof(magic));
	while (got == -1 && errno == EINTR);
	close(fd);
	if (got != (ssize_t)sizeof(magic) || memcmp(magic, "TZif", 4) != 0)
		return -1;

	/*
	 * TZ names the file just checked, by its full path: a bare name would let
	 * glibc look under $TZDIR instead and quietly fall back to UTC. setenv
	 * fails only for lack of memory, and then leaves TZ as it was.
	 */
	if (setenv("TZ", path, 1) == -1)
		return -1;
	tzset();
	return 0;
}

/*
 * Returns {0, 0, 0}, which date_valid rejects, only when now is too far
 * from the present for the C library to convert. reset_min is the config's
 * day reset, 0 (local midnight) to 23:59.
 */
struct date
bday_of(int64_t now, int reset_min)
{
	struct date d = { 0, 0, 0 };
	time_t t = (time_t)now;
	struct tm tm;

	assert(reset_min >= 0 && reset_min < MIN_PER_DAY);
	if (localtime_r(&t, &tm) == NULL)
		return d;
	d.y = tm.tm_year + 1900;
	d.m = tm.tm_mon + 1;
	d.d = tm.tm_mday;
	/* Wall-clock minutes, so a DST day still resets at the time on the wall. */
	if (tm.tm_hour * 60 + tm.tm_min < reset_min)
		d = date_prev(d);
	return d;
}

void
date_format(struct date d, char out[11])
{
	/* Only a valid date (year <= 9999) is promised to fit; others truncate. */
	snprintf(out, 11, "%04d-%02d-%02d", d.y, d.m, d.d);
}

/*
 * Strict: exactly ten characters, digits where digits belong, no sign or
 * space, and the date must exist. s must be NUL-terminated; it is read no
 * further than its eleventh byte or its NUL, whichever comes first. *out is
 * written only on success.
 */
int
date_parse(const char *s, struct date *out)
{
	static const char pattern[] = "dddd-dd-dd";
	int v[3] = { 0, 0, 0 };
	int field = 0;
	struct date d;

	assert(s != NULL && out != NULL);
	/* Stops at the first mismatch, so a short string's NUL ends the scan. */
	for (size_t i = 0; i < sizeof(pattern) - 1; i++) {
		if (pattern[i] == '-') {
			if (s[i] != '-')
				return -1;
			field++;
		} else {
			if (s[i] < '0' || s[i] > '9')
				return -1;
			v[field] = v[field] * 10 + (s[i] - '0');
		}
	}
	if (s[sizeof(pattern) - 1] != '\0')
		return -1;
	d.y = v[0];
	d.m = v[1];
	d.d = v[2];
	if (!date_valid(d))
		return -1;
	*out = d;
	return 0;
}

/*
 * The year range is what four digits and the birth dates on ID cards need;
 * it also keeps every valid date inside struct tm and time_t arithmetic.
 */
int
date_valid(struct date d)
{
	if (d.y < DATE_YEAR_MIN || d.y > DATE_YEAR_MAX)
		return 0;
	if (d.m < 1 || d.m > 12)
		return 0;
	return d.d >= 1 && d.d <= date_days_in_month(d.y, d.m);
}

int
date_cmp(struct date a, struct date b)
{
	if (a.y != b.y)
		return a.y < b.y ? -1 : 1;
	if (a.m != b.m)
		return a.m < b.m ? -1 : 1;
	if (a.d != b.d)
		return a.d < b.d ? -1 : 1;
	return 0;
}

/*
 * mktime with tm_isdst = -1 lets the C library decide whether daylight
 * saving is in force at that wall time; on the rare day whose reset time
 * falls in a DST gap it moves the instant forward past the gap. Returns -1
 * when d cannot be converted (mktime's own failure value).
 */
int64_t
bday_start(struct date d, int reset_min)
{
	struct tm tm;

	assert(reset_min >= 0 && reset_min < MIN_PER_DAY);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = d.y - 1900;
	tm.tm_mon = d.m - 1;
	tm.tm_mday = d.d;
	tm.tm_hour = reset_min / 60;
	tm.tm_min = reset_min % 60;
	tm.tm_isdst = -1;
	return (int64_t)mktime(&tm);
}

/*
 * The offset comes from tm_gmtoff, so it is the one in force at t, not the
 * zone's standard offset. ISO 8601 has no seconds in an offset; the few
 * historical offsets with seconds (local mean time before about 1900) are
 * cut to whole minutes. out is the empty string if t cannot be converted or
 * its year does not fit.
 */
void
time_iso8601(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	long off, ah, am;
	char sign;
	int n;

	if (localtime_r(&tt, &tm) == NULL) {
		out[0] = '\0';
		return;
	}
	off = tm.tm_gmtoff;
	sign = off < 0 ? '-' : '+';
	/* Split the magnitude, so -03:30 does not come out as -03:-30. */
	if (off < 0)
		off = -off;
	ah = off / 3600;
	am = off % 3600 / 60;
	n = snprintf(out, 32, "%04lld-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld",
	    (long long)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	    tm.tm_hour, tm.tm_min, tm.tm_sec, sign, ah, am);
	/* Only a year of eleven characters or more: no half a timestamp. */
	if (n < 0 || n >= 32)
		out[0] = '\0';
}

int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
