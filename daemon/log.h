/*
 * log.h: the daemon's log: stderr with a timestamp and level in the
 * foreground (-d, as under systemd), syslog otherwise. The vocabulary is OpenBSD's: log_warn adds strerror(errno),
 * log_warnx does not, fatal is for start-up and broken invariants only.
 */
#ifndef BRANCHQ_LOG_H
#define BRANCHQ_LOG_H

#include <stdbool.h>

/*
 * Log to stderr when foreground, else to syslog (daemon facility). On
 * stderr a line starts with its time, or with its "<N>" syslog priority
 * when stderr is systemd's journal (JOURNAL_STREAM), which stamps lines itself.
 */
void log_init(bool foreground);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/*
 * A warning that a flood could repeat (a refused request, a full worker):
 * the first of each LOG_LIMIT_S seconds is logged, the rest are counted,
 * and the next one logged says how many were not. One struct log_limit per
 * kind of message, zeroed; each is used by one thread.
 */
#define LOG_LIMIT_S 60
struct log_limit {
	long long since_ms;             /* monotonic time of the last one logged; 0: none yet */
	unsigned long held;             /* counted, not logged, since then */
};
void log_limited(struct log_limit *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
