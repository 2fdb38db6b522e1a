/*
 * log.c: one line per message on stderr, "2026-11-24T09:30:05 level: text".
 * In the foreground (-d) lines go to stderr; in the background to syslog.
 * Under systemd, when stderr is the journal (JOURNAL_STREAM names its
 * device and inode), each line starts with a "<N>" priority (sd-daemon(3))
 * instead of the timestamp, which the journal adds itself.
 * Nothing in branchq logs a request body, so an ID number never reaches it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static bool log_to_stderr = true;
static bool log_to_journal;     /* stderr is the journal: "<N>" prefixes, no timestamp */

/*
 * systemd sets JOURNAL_STREAM=DEVICE:INODE for a service whose stderr is
 * the journal; a child whose stderr was redirected keeps the variable but
 * not the descriptor, hence the comparison.
 */
static bool
stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	int end = 0;

	if (js == NULL || sscanf(js, "%llu:%llu%n", &dev, &ino, &end) != 2 || js[end] != '\0')
		return false;
	if (fstat(STDERR_FILENO, &st) != 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void
log_init(bool foreground)
{
	log_to_stderr = foreground;
	log_to_journal = foreground && stderr_is_journal();
	if (!foreground)
		openlog("branchqd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

/* The syslog priority of a level word: fatal, warning, info. */
static int
log_priority(const char *level)
{
	return level[0] == 'f' ? LOG_CRIT : level[0] == 'w' ? LOG_WARNING : LOG_INFO;
}

static void
log_vline(const char *level, const char *fmt, va_list ap, int errnum)
{
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;

	if (!log_to_stderr) {
		char msg[1024];
		int prio = log_priority(level);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		if (errnum)
			syslog(prio, "%s: %s", msg, strerror(errnum));
		else
			syslog(prio, "%s", msg);
		return;
	}
	if (log_to_journal) {
		snprintf(stamp, sizeof(stamp), "<%d>", log_priority(level));
	} else {
		localtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S ", &tm);
	}
	flockfile(stderr);
	fprintf(stderr, "%s%s: ", stamp, level);
	vfprintf(stderr, fmt, ap);
	if (errnum)
		fprintf(stderr, ": %s", strerror(errnum));
	fputc('\n', stderr);
	funlockfile(stderr);
}

#define LOG_BODY(level, errnum) do {		\
	va_list ap;				\
	va_start(ap, fmt);			\
	log_vline(level, fmt, ap, errnum);	\
	va_end(ap);				\
} while (0)

void log_info(const char *fmt, ...) { LOG_BODY("info", 0); }
void log_warnx(const char *fmt, ...) { LOG_BODY("warning", 0); }

void
log_warn(const char *fmt, ...)
{
	int e = errno;
	LOG_BODY("warning", e);
}

void
fatal(const char *fmt, ...)
{
	int e = errno;
	LOG_BODY("fatal", e);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY("fatal", 0);
	exit(1);
}

void
log_limited(struct log_limit *l, const char *fmt, ...)
{
	struct timespec ts;
	long long now;
	char msg[768];
	va_list ap;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + 1;	/* never 0 */
	if (l->since_ms != 0 && now - l->since_ms < LOG_LIMIT_S * 1000LL) {
		l->held++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (l->held > 0)
		log_warnx("%s (and %lu more like it since this was last logged, %lld s ago)", msg,
		    l->held, (now - l->since_ms) / 1000);
	else
		log_warnx("%s (repeats within %d s are counted, not logged)", msg, LOG_LIMIT_S);
	l->since_ms = now;
	l->held = 0;
}
