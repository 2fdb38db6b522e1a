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

#endif
