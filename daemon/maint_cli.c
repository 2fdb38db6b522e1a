/*
 * maint_cli.c: keeping the data, from the command line.
 *
 *   branchqd backup --to FILE [--keep N]   a consistent copy, the daemon serving
 *   branchqd restore --from FILE           the daemon stopped: check FILE, put it in place
 *   branchqd prune [--keep 3y|DAYS]        remove the days older than the config's keep
 *
 * Each takes -f CONFIG and --db PATH as the daemon does.
 *
 * backup copies the database with SQLite's online backup API inside one
 * read transaction on a connection of its own: under WAL a reader sees one
 * snapshot and never blocks the daemon's writer, so the copy is the
 * database as of one commit, whatever the daemon writes meanwhile. It is
 * copied a step of pages at a time, with a short pause between steps so
 * the daemon's commits share the disk, into FILE.tmp; the copy is turned
 * into a single file (journal_mode DELETE), checked (integrity_check),
 * fsynced and only then renamed to FILE, so a file with the final name is
 * always a whole, checked backup. FILE may hold strftime conversions
 * (branchq-%Y%m%d.db); --keep N then removes all but the newest N files
 * that the same pattern names.
 *
 * restore refuses while a branchqd holds the database: the daemon holds an
 * exclusive flock on DB.lock from before it opens the database until after
 * it closed it (branchqd.c), and restore takes the same lock, without
 * waiting, for its whole run, so no daemon can start in the middle either.
 * A lock, not a pid file: the kernel drops it when the daemon dies however
 * it dies, so it never lies. FILE is copied beside the database, checked
 * (integrity_check; a branchq schema no newer than this build), the old
 * database is kept as DB.before-restore-TIMESTAMP (with its -wal, which may
 * hold its last commits) and the copy renamed into place with the old
 * file's owner and mode.
 *
 * prune keeps the daily report of each business day before the kept ones
 * in daily_summaries and removes that day's tickets in the same
 * transaction, one day at a time, so the API and `branchqd report` answer
 * the day from its summary from then on; then it removes the events and
 * audit rows older than the kept days. The event log and the audit trail
 * are append-only (triggers refuse DELETE): prune is the one exception,
 * and drops a table's trigger and creates it again inside each transaction
 * that deletes from it, so no other writer ever sees it missing. It runs
 * beside the daemon; each transaction is short (a day, or PRUNE_CHUNK rows),
 * so the daemon's commits wait for it milliseconds at most.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "auth.h"
#include "bday.h"
#include "config.h"
#include "maint_cli.h"
#include "report.h"
#include "store.h"

#define BACKUP_STEP_PAGES 256        /* 1 MiB of 4 KiB pages a step */
#define BACKUP_PAUSE_US 1000         /* between steps */
#define BACKUP_BUSY_US 20000         /* a busy or locked step is retried after this… */
#define BACKUP_BUSY_TRIES 250        /* …this many times (5 s) */
#define BACKUP_KEEP_MAX 10000        /* --keep and the files it looks at */
#define PRUNE_TRIGGERS 2
#define PRUNE_CHUNK 5000             /* rows of the log removed in one transaction */

struct maint_opts {
	const char *cmd;
	const char *to, *from, *keep;
	const char *db;
	struct config *cfg;
};

static int
maint_usage(void)
{
	fprintf(stderr,
	    "usage: branchqd backup --to FILE [--keep N] [-f CONFIG] [--db PATH]\n"
	    "       branchqd restore --from FILE [-f CONFIG] [--db PATH]\n"
	    "       branchqd prune [--keep 3y|DAYS] [-f CONFIG] [--db PATH]\n"
	    "  FILE may hold strftime conversions, e.g. branchq-%%Y%%m%%d.db\n");
	return 2;
}

static void
fail(const struct maint_opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
fail(const struct maint_opts *o, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "branchqd %s: ", o->cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static bool
same_file(const char *a, const char *b)
{
	struct stat x, y;

	return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

/* True when path is the database or one of the files SQLite and branchqd keep beside it. */
static bool
is_live(const char *db, const char *path)
{
	static const char *const side[] = { "", "-wal", "-shm", "-journal", ".lock" };
	char p[PATH_MAX + 16];

	for (size_t i = 0; i < sizeof(side) / sizeof(side[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", db, side[i]);
		if (strcmp(p, path) == 0 || same_file(p, path))
			return true;
	}
	return false;
}

/* fsync the directory that holds path, so a rename in it is durable. */
static int
sync_dir(const char *path)
{
	char copy[PATH_MAX];
	int fd, rc;

	snprintf(copy, sizeof(copy), "%s", path);
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

static int
sync_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* The one integer of sql's first row into *out; 0, or -1 with why set. */
static int
query_int(sqlite3 *db, const char *sql, long long *out, char *why, size_t whylen)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(why, whylen, "%s", sqlite3_errmsg(db));
		return -1;
	}
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else
		snprintf(why, whylen, "%s", rc == SQLITE_DONE ? "no row" : sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

/*
 * That db is a branchq database whose schema this build knows, and when
 * integrity, that PRAGMA integrity_check finds it whole (which reads all of
 * it). 0 with *version and *tickets set, or -1 with why saying what is wrong.
 */
static int
check_database(sqlite3 *db, bool integrity, int *version, long long *tickets, char *why,
    size_t whylen)
{
	sqlite3_stmt *st;
	long long v = 0, tables = 0;
	int rc;

	if (sqlite3_prepare_v2(db, integrity ? "PRAGMA integrity_check(5)" :
	    "PRAGMA schema_version", -1, &st, NULL) != SQLITE_OK) {
		snprintf(why, whylen, "not a database SQLite can read: %s", sqlite3_errmsg(db));
		return -1;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW || (integrity &&
	    strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0)) {
		snprintf(why, whylen, "%s: %s", integrity ? "damaged: integrity_check says" :
		    "not a database SQLite can read", rc == SQLITE_ROW ?
		    (const char *)sqlite3_column_text(st, 0) : sqlite3_errmsg(db));
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_finalize(st);
	if (query_int(db, "PRAGMA user_version", &v, why, whylen) != 0 ||
	    query_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
	    "('tickets', 'events', 'sequences', 'counters')", &tables, why, whylen) != 0)
		return -1;
	if (v < 1 || tables != 4) {
		snprintf(why, whylen, "not a branchq database (no branchq schema in it)");
		return -1;
	}
	if (v > store_schema_version()) {
		snprintf(why, whylen, "its schema version %lld is newer than this branchqd's (%d): "
		    "restore it with the branchqd that wrote it", v, store_schema_version());
		return -1;
	}
	if (query_int(db, "SELECT count(*) FROM tickets", tickets, why, whylen) != 0)
		return -1;
	*version = (int)v;
	return 0;
}

/* Expand pattern's strftime conversions at now into out; -1 when too long or empty. */
static int
expand_path(const char *pattern, time_t now, char *out, size_t len)
{
	struct tm tm;

	if (strchr(pattern, '%') == NULL) {
		if (snprintf(out, len, "%s", pattern) >= (int)len)
			return -1;
		return 0;
	}
	if (localtime_r(&now, &tm) == NULL)
		return -1;
	/* The pattern is the operator's --to: a format string by design. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	return strftime(out, len, pattern, &tm) == 0 ? -1 : 0;
#pragma GCC diagnostic pop
}

/* pattern's file name as a glob: each conversion is '*', "%%" a '%', the rest literal. */
static int
pattern_glob(const char *pattern, char *out, size_t len)
{
	char copy[PATH_MAX];
	const char *p;
	size_t n = 0;

	snprintf(copy, sizeof(copy), "%s", pattern);
	p = basename(copy);
	for (; *p != '\0'; p++) {
		if (n + 3 >= len)
			return -1;
		if (*p == '%' && p[1] == '%') {
			out[n++] = '%';
			p++;
		} else if (*p == '%' && p[1] != '\0') {
			if (n == 0 || out[n - 1] != '*')
				out[n++] = '*';
			p++;
		} else {
			if (strchr("*?[\\", *p) != NULL)
				out[n++] = '\\';
			out[n++] = *p;
		}
	}
	out[n] = '\0';
	return 0;
}

struct old_backup {
	char name[NAME_MAX + 1];
	time_t mtime;
};

static int
newest_first(const void *a, const void *b)
{
	const struct old_backup *x = a, *y = b;

	if (x->mtime != y->mtime)
		return x->mtime > y->mtime ? -1 : 1;
	return -strcmp(x->name, y->name);
}

static bool
ends_with(const char *s, const char *end)
{
	size_t n = strlen(s), m = strlen(end);

	return n >= m && strcmp(s + n - m, end) == 0;
}

/* --keep N: remove all but the newest keep backups that pattern names; written is one. */
static int
backup_keep(const struct maint_opts *o, const char *pattern, const char *written, int keep)
{
	char glob[NAME_MAX + 1], dcopy[PATH_MAX], wcopy[PATH_MAX], path[PATH_MAX + NAME_MAX + 2];
	struct old_backup *v = NULL;
	const char *wname, *dir;
	struct dirent *e;
	DIR *dp;
	int n = 0, rc = 0;

	/* dirname may return a static "." rather than its argument: keep what it returns. */
	snprintf(dcopy, sizeof(dcopy), "%s", pattern);
	dir = dirname(dcopy);
	snprintf(wcopy, sizeof(wcopy), "%s", written);
	wname = basename(wcopy);
	if (pattern_glob(pattern, glob, sizeof(glob)) != 0 || (dp = opendir(dir)) == NULL) {
		fail(o, "--keep: cannot list the backups' directory: %s", strerror(errno));
		return -1;
	}
	if ((v = calloc(BACKUP_KEEP_MAX, sizeof(*v))) == NULL) {
		closedir(dp);
		fail(o, "out of memory");
		return -1;
	}
	while ((e = readdir(dp)) != NULL && n < BACKUP_KEEP_MAX) {
		struct stat sb;

		if (fnmatch(glob, e->d_name, FNM_PERIOD) != 0 || strcmp(e->d_name, wname) == 0 ||
		    ends_with(e->d_name, ".tmp") || ends_with(e->d_name, "-journal") ||
		    ends_with(e->d_name, "-wal") || ends_with(e->d_name, "-shm"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
			continue;
		snprintf(v[n].name, sizeof(v[n].name), "%s", e->d_name);
		v[n++].mtime = sb.st_mtime;
	}
	closedir(dp);
	qsort(v, (size_t)n, sizeof(*v), newest_first);
	/* The one just written is the newest of the keep. */
	for (int i = keep - 1; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, v[i].name);
		if (unlink(path) != 0) {
			fail(o, "--keep: cannot remove %s: %s", path, strerror(errno));
			rc = -1;
		} else {
			printf("removed the older backup %s\n", path);
		}
	}
	free(v);
	return rc;
}

/* Copy src into dst a step at a time; a busy or locked step is retried. SQLITE_DONE on success. */
static int
backup_copy(sqlite3 *dst, sqlite3 *src)
{
	sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
	int rc, busy = 0;

	if (b == NULL)
		return sqlite3_errcode(dst);
	for (;;) {
		rc = sqlite3_backup_step(b, BACKUP_STEP_PAGES);
		if (rc == SQLITE_OK) {
			busy = 0;
			usleep(BACKUP_PAUSE_US);
		} else if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && ++busy < BACKUP_BUSY_TRIES) {
			usleep(BACKUP_BUSY_US);
		} else {
			break;
		}
	}
	if (sqlite3_backup_finish(b) != SQLITE_OK && rc == SQLITE_DONE)
		rc = sqlite3_errcode(dst);
	return rc;
}

static int
backup_cmd(const struct maint_opts *o)
{
	char to[PATH_MAX], tmp[PATH_MAX + 8], journal[PATH_MAX + 16], why[256] = "";
	sqlite3 *src = NULL, *dst = NULL;
	long long tickets = 0;
	struct stat sb;
	int version = 0, keep = 0, rc = 1, copied;
	char *end;

	if (o->to == NULL || o->from != NULL)
		return maint_usage();
	if (o->keep != NULL) {
		long v;

		errno = 0;
		v = strtol(o->keep, &end, 10);
		if (o->keep[0] < '1' || o->keep[0] > '9' || *end != '\0' || errno != 0 || v < 1 ||
		    v > BACKUP_KEEP_MAX) {
			fail(o, "--keep must be a number of backups 1..%d", BACKUP_KEEP_MAX);
			return 2;
		}
		if (strchr(o->to, '%') == NULL) {
			fail(o, "--keep needs a FILE with a date in it, such as branchq-%%Y%%m%%d.db");
			return 2;
		}
		keep = (int)v;
	}
	if (expand_path(o->to, time(NULL), to, sizeof(to)) != 0 || to[0] == '\0') {
		fail(o, "--to %s: not a usable file name", o->to);
		return 2;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", to);
	if (is_live(o->db, to) || is_live(o->db, tmp)) {
		fail(o, "%s is the live database (or a file beside it): refusing to overwrite it", to);
		return 1;
	}
	if (stat(o->db, &sb) != 0) {
		fail(o, "%s: %s", o->db, strerror(errno));
		return 1;
	}
	/* Whatever a crash left of an earlier attempt. */
	unlink(tmp);
	snprintf(journal, sizeof(journal), "%s-journal", tmp);
	unlink(journal);
	/*
	 * Read-write, though it only reads: a read-only connection that finds
	 * no daemon leaves the -wal and -shm it had to make (owned by whoever
	 * ran the backup, which may then keep the daemon from opening them); a
	 * read-write one removes them when it is the last to close.
	 */
	if (sqlite3_open_v2(o->db, &src, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		fail(o, "%s: %s", o->db, src ? sqlite3_errmsg(src) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(src, 5000);
	/* One read transaction over every step: the copy is one snapshot of the database. */
	if (sqlite3_exec(src, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    check_database(src, false, &version, &tickets, why, sizeof(why)) != 0) {
		fail(o, "%s: %s", o->db, why[0] ? why : sqlite3_errmsg(src));
		goto out;
	}
	if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		fail(o, "%s: %s", tmp, dst ? sqlite3_errmsg(dst) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(dst, 5000);
	copied = backup_copy(dst, src);
	sqlite3_exec(src, "COMMIT", NULL, NULL, NULL);
	if (copied != SQLITE_DONE) {
		fail(o, "copying %s: %s", o->db, sqlite3_errstr(copied));
		goto out;
	}
	/* A backup is one file: no -wal to forget when it is copied away. */
	if (sqlite3_exec(dst, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL) != SQLITE_OK ||
	    check_database(dst, true, &version, &tickets, why, sizeof(why)) != 0) {
		/* The copy is the database page by page: what is wrong with it is wrong there. */
		fail(o, "the copy of %s is refused: %s", o->db, why[0] ? why : sqlite3_errmsg(dst));
		goto out;
	}
	if (sqlite3_close(dst) != SQLITE_OK) {
		fail(o, "%s: %s", tmp, sqlite3_errmsg(dst));
		goto out;
	}
	dst = NULL;
	if (sync_file(tmp) != 0 || stat(tmp, &sb) != 0 || rename(tmp, to) != 0 ||
	    sync_dir(to) != 0) {
		fail(o, "%s: %s", to, strerror(errno));
		goto out;
	}
	printf("backup ok: %s, %lld tickets, %lld bytes, schema version %d, integrity_check ok\n",
	    to, tickets, (long long)sb.st_size, version);
	rc = keep > 0 && backup_keep(o, o->to, to, keep) != 0 ? 1 : 0;
out:
	sqlite3_close(src);
	if (dst != NULL)
		sqlite3_close(dst);
	if (rc != 0 && access(tmp, F_OK) == 0)
		unlink(tmp);
	return rc;
}

/* Take DB.lock as the daemon does; -1 (said why) when a daemon holds it. */
static int
lock_live(const struct maint_opts *o, int *fd)
{
	char path[PATH_MAX + 8];

	snprintf(path, sizeof(path), "%s.lock", o->db);
	if ((*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0) {
		fail(o, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK)
			fail(o, "%s is in use by a running branchqd: stop it first "
			    "(systemctl stop branchqd), then restore", o->db);
		else
			fail(o, "%s: %s", path, strerror(errno));
		close(*fd);
		*fd = -1;
		return -1;
	}
	return 0;
}

/* Copy the file from into to (created, fsynced), with mode. 0, or -1 with errno. */
static int
copy_file(const char *from, const char *to, mode_t mode)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC), out = -1, saved;
	ssize_t n = 0;

	if (in < 0)
		return -1;
	if ((out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)) < 0)
		goto fail;
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n; ) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0)
				goto fail;
			off += w;
		}
	}
	if (n < 0 || fsync(out) != 0)
		goto fail;
	close(in);
	return close(out);
fail:
	saved = errno;
	close(in);
	if (out >= 0)
		close(out);
	errno = saved;
	return -1;
}

static int
restore_cmd(const struct maint_opts *o)
{
	char tmp[PATH_MAX + 16], kept[PATH_MAX + 48], side[PATH_MAX + 64], why[256] = "";
	char stamp[32];
	struct stat old, src;
	bool had_old;
	sqlite3 *db = NULL;
	long long tickets = 0;
	int lockfd = -1, version = 0, rc = 1;
	time_t now = time(NULL);
	struct tm tm;

	if (o->from == NULL || o->to != NULL || o->keep != NULL)
		return maint_usage();
	if (stat(o->from, &src) != 0) {
		fail(o, "%s: %s", o->from, strerror(errno));
		return 1;
	}
	if (!S_ISREG(src.st_mode)) {
		fail(o, "%s: not a regular file", o->from);
		return 1;
	}
	if (is_live(o->db, o->from)) {
		fail(o, "%s is the live database itself", o->from);
		return 1;
	}
	if (lock_live(o, &lockfd) != 0)
		return 1;
	had_old = stat(o->db, &old) == 0;
	snprintf(tmp, sizeof(tmp), "%s.restore.tmp", o->db);
	/* Checked as the copy that goes into place, beside the database, not as FILE. */
	if (copy_file(o->from, tmp, had_old ? old.st_mode & 07777 : 0640) != 0) {
		fail(o, "copying %s to %s: %s", o->from, tmp, strerror(errno));
		goto out;
	}
	if (had_old && geteuid() == 0 && chown(tmp, old.st_uid, old.st_gid) != 0) {
		fail(o, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (sqlite3_open_v2(tmp, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		fail(o, "%s: %s", o->from, db ? sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	if (check_database(db, true, &version, &tickets, why, sizeof(why)) != 0) {
		fail(o, "%s is refused: %s; %s is untouched", o->from, why, o->db);
		goto out;
	}
	if (sqlite3_close(db) != SQLITE_OK) {
		fail(o, "%s: %s", tmp, sqlite3_errmsg(db));
		goto out;
	}
	db = NULL;
	if (localtime_r(&now, &tm) == NULL || strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S",
	    &tm) == 0)
		snprintf(stamp, sizeof(stamp), "%lld", (long long)now);
	snprintf(kept, sizeof(kept), "%s.before-restore-%s", o->db, stamp);
	if (had_old && rename(o->db, kept) != 0) {
		fail(o, "keeping %s as %s: %s", o->db, kept, strerror(errno));
		goto out;
	}
	/* The old -wal goes with the old file (it may hold its last commits); its -shm is stale. */
	snprintf(side, sizeof(side), "%s-wal", o->db);
	if (access(side, F_OK) == 0) {
		char to[sizeof(kept) + 8];

		snprintf(to, sizeof(to), "%s-wal", kept);
		if (rename(side, to) != 0) {
			fail(o, "keeping %s as %s: %s", side, to, strerror(errno));
			goto undo;
		}
	}
	snprintf(side, sizeof(side), "%s-shm", o->db);
	unlink(side);
	if (rename(tmp, o->db) != 0 || sync_dir(o->db) != 0) {
		fail(o, "%s: %s", o->db, strerror(errno));
		goto undo;
	}
	printf("restore ok: %s from %s, %lld tickets, schema version %d, integrity_check ok\n",
	    o->db, o->from, tickets, version);
	if (had_old)
		printf("the database it replaced is kept as %s\n", kept);
	rc = 0;
	goto out;
undo:
	if (had_old && rename(kept, o->db) != 0)
		fail(o, "the old database is now %s: %s", kept, strerror(errno));
out:
	if (db != NULL)
		sqlite3_close(db);
	if (rc != 0)
		unlink(tmp);
	close(lockfd);
	return rc;
}

/* d minus n days. */
static struct date
date_minus(struct date d, int n)
{
	struct tm tm = { .tm_year = d.y - 1900, .tm_mon = d.m - 1, .tm_mday = d.d - n,
	    .tm_hour = 12 };
	time_t t = timegm(&tm);
	struct tm out;

	gmtime_r(&t, &out);
	return (struct date){ out.tm_year + 1900, out.tm_mon + 1, out.tm_mday };
}

struct prune_counts {
	long long tickets, events, audit;
	int days;
};

struct trigger {
	char name[64];
	char *sql;
};

static int
exec_text(sqlite3 *db, const char *sql, const char *a, const char *b, int64_t n, int *changes)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (a != NULL)
		sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	if (b != NULL)
		sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
	if (n != 0)
		sqlite3_bind_int64(st, a == NULL ? 1 : b == NULL ? 2 : 3, n);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	sqlite3_finalize(st);
	if (changes != NULL)
		*changes = sqlite3_changes(db);
	return rc == SQLITE_DONE ? 0 : -1;
}

static void
prune_fail(sqlite3 *db, const char *what)
{
	fprintf(stderr, "branchqd prune: %s: %s\n", what, sqlite3_errmsg(db));
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

/* One transaction: keep day's summary, then remove the day's tickets and numbers. */
static int
prune_day(sqlite3 *db, const char *day, const char *summary, int64_t now, struct prune_counts *c)
{
	int n = 0;

	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
	    exec_text(db, "INSERT OR REPLACE INTO daily_summaries(bday, report, pruned_at) "
	    "VALUES (?1, ?2, ?3)", day, summary, now, NULL) != 0 ||
	    exec_text(db, "DELETE FROM tickets WHERE bday = ?1", day, NULL, 0, &n) != 0 ||
	    exec_text(db, "DELETE FROM sequences WHERE bday = ?1", day, NULL, 0, NULL) != 0 ||
	    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		prune_fail(db, day);
		return -1;
	}
	c->tickets += n;
	c->days++;
	return 0;
}

/*
 * Remove table's rows (events or audit) with at before end, PRUNE_CHUNK at
 * a time, each chunk one transaction that drops trg, the table's
 * append-only trigger, and creates it again. The oldest rows come first in
 * id order, so each chunk finds its rows at the start of the table.
 */
static int
prune_log(sqlite3 *db, const struct trigger *trg, const char *table, int64_t end, long long *count)
{
	char drop[96], del[160];
	int n;

	snprintf(drop, sizeof(drop), "DROP TRIGGER \"%s\"", trg->name);
	snprintf(del, sizeof(del), "DELETE FROM %s WHERE id IN (SELECT id FROM %s WHERE at < ?1 "
	    "ORDER BY id LIMIT %d)", table, table, PRUNE_CHUNK);
	do {
		if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(db, drop, NULL, NULL, NULL) != SQLITE_OK ||
		    exec_text(db, del, NULL, NULL, end, &n) != 0 ||
		    sqlite3_exec(db, trg->sql, NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
			prune_fail(db, table);
			return -1;
		}
		*count += n;
	} while (n == PRUNE_CHUNK);
	return 0;
}

/* The append-only triggers of events and audit, to drop and create again. */
static int
prune_triggers(sqlite3 *db, struct trigger *trg)
{
	static const char *const names[PRUNE_TRIGGERS] = { "events_no_delete", "audit_no_delete" };
	sqlite3_stmt *st;

	for (int i = 0; i < PRUNE_TRIGGERS; i++) {
		snprintf(trg[i].name, sizeof(trg[i].name), "%s", names[i]);
		if (sqlite3_prepare_v2(db, "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND "
		    "name = ?1", -1, &st, NULL) != SQLITE_OK)
			return -1;
		sqlite3_bind_text(st, 1, names[i], -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			trg[i].sql = strdup((const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
		if (trg[i].sql == NULL)
			return -1;
	}
	return 0;
}

static int
prune_cmd(const struct maint_opts *o)
{
	struct trigger trg[PRUNE_TRIGGERS] = { { "", NULL }, { "", NULL } };
	struct prune_counts c = { 0 };
	struct principal p = { .role = ROLE_ADMIN };
	struct passwd *pw = getpwuid(getuid());
	int64_t now = (int64_t)time(NULL), cutoff_start;
	struct date today, cutoff;
	char scut[11], err[256], who[64], action[96];
	char (*days)[11] = NULL;
	int keep = o->cfg->keep_days, ndays = 0, cap = 0, rc = 1;
	struct store *s;
	sqlite3 *db;
	sqlite3_stmt *st;

	if (o->to != NULL || o->from != NULL)
		return maint_usage();
	if (o->keep != NULL && (config_parse_days(o->keep, &keep) != 0 || keep < 1)) {
		fail(o, "--keep must be a number of days 1..%d, or years: 3y", CONFIG_KEEP_MAX_DAYS);
		return 2;
	}
	today = bday_of(now, o->cfg->day_reset_min);
	cutoff = date_minus(today, keep);
	cutoff_start = bday_start(cutoff, o->cfg->day_reset_min);
	date_format(cutoff, scut);
	/* store_open migrates the schema forward: daily_summaries is there. */
	if ((s = store_open(o->db, err, sizeof(err))) == NULL) {
		fail(o, "%s: %s", o->db, err);
		return 1;
	}
	db = store_db(s);
	sqlite3_busy_timeout(db, 5000);
	if (prune_triggers(db, trg) != 0) {
		fail(o, "%s: the append-only triggers are missing: %s", o->db, sqlite3_errmsg(db));
		goto out;
	}
	/* With an uplink, the head office must have every event that would go. */
	if (o->cfg->uplink.conninfo[0] != '\0') {
		char install[STORE_INSTALL_ID_MAX];
		int64_t sent = 0, last = 0;
		if (store_uplink_get(s, &sent, install) != BQ_OK ||
		    sqlite3_prepare_v2(db, "SELECT coalesce(max(id), 0) FROM events WHERE at < ?1", -1,
		    &st, NULL) != SQLITE_OK) {
			fail(o, "%s: cannot read the uplink's cursor: %s", o->db, sqlite3_errmsg(db));
			goto out;
		}
		sqlite3_bind_int64(st, 1, cutoff_start);
		if (sqlite3_step(st) == SQLITE_ROW)
			last = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		if (last > sent) {
			fail(o, "the head office has not received the events before %s yet (it has "
			    "them through event %lld, the days to remove go to %lld); nothing was "
			    "removed: prune once the uplink has caught up (/healthz \"uplink\")", scut,
			    (long long)sent, (long long)last);
			goto out;
		}
	}
	if (sqlite3_prepare_v2(db, "SELECT DISTINCT bday FROM tickets WHERE bday < ?1 ORDER BY bday",
	    -1, &st, NULL) != SQLITE_OK) {
		fail(o, "%s", sqlite3_errmsg(db));
		goto out;
	}
	sqlite3_bind_text(st, 1, scut, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (ndays == cap) {
			int ncap = cap ? cap * 2 : 64;
			char (*nv)[11] = realloc(days, (size_t)ncap * sizeof(*nv));
			if (nv == NULL)
				break;
			days = nv;
			cap = ncap;
		}
		snprintf(days[ndays++], sizeof(days[0]), "%s",
		    (const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	/* Each day's summary before anything of it goes; then the log before the kept days. */
	for (int i = 0; i < ndays; i++) {
		struct date d;
		char *summary = NULL, why[160] = "";
		json_t *rep = NULL;
		int step;

		if (date_parse(days[i], &d) != 0)
			continue;
		if (report_build(db, o->cfg, d, d, now, 1, &rep, why, sizeof(why)) != BQ_OK ||
		    (summary = report_dumps(rep)) == NULL) {
			fail(o, "%s: the daily report cannot be built (%s); nothing of that day "
			    "was removed", days[i], why[0] ? why : sqlite3_errmsg(db));
			json_decref(rep);
			goto out;
		}
		json_decref(rep);
		step = prune_day(db, days[i], summary, now, &c);
		free(summary);
		if (step != 0)
			goto out;
	}
	if (prune_log(db, &trg[0], "events", cutoff_start, &c.events) != 0 ||
	    prune_log(db, &trg[1], "audit", cutoff_start, &c.audit) != 0)
		goto out;
	snprintf(who, sizeof(who), "cli:%s", pw != NULL ? pw->pw_name : "?");
	snprintf(action, sizeof(action), "prune before %s", scut);
	if (auth_audit(db, now, &p, who, action, 0, 0, "ok", "local") != BQ_OK)
		fail(o, "the audit trail did not record the prune: %s", sqlite3_errmsg(db));
	printf("prune ok: kept the days from %s (%d days before today); removed %d days: %lld "
	    "tickets, %lld events, %lld audit rows; their daily reports remain\n", scut, keep,
	    c.days, c.tickets, c.events, c.audit);
	rc = 0;
out:
	if (rc != 0 && c.days > 0)
		fprintf(stderr, "branchqd prune: %d days were removed before the failure; run it again "
		    "to finish\n", c.days);
	free(days);
	for (int i = 0; i < PRUNE_TRIGGERS; i++)
		free(trg[i].sql);
	auth_audit_forget();
	store_close(s);
	return rc;
}

int
maint_main(int argc, char **argv, const char *default_config)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'D' },
		{ "to", required_argument, NULL, 't' },
		{ "from", required_argument, NULL, 'F' },
		{ "keep", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct config cfg;
	struct maint_opts o = { .cmd = argv[0], .cfg = &cfg };
	const char *config = default_config;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "f:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f': config = optarg; break;
		case 'D': o.db = optarg; break;
		case 't': o.to = optarg; break;
		case 'F': o.from = optarg; break;
		case 'k': o.keep = optarg; break;
		default: return maint_usage();
		}
	}
	if (optind != argc)
		return maint_usage();
	if (config_load(config, &cfg, stderr) > 0) {
		fail(&o, "%s has errors", config);
		return 1;
	}
	if (bday_set_timezone(cfg.timezone) != 0) {
		fail(&o, "unknown time zone %s", cfg.timezone);
		return 1;
	}
	if (o.db == NULL)
		o.db = cfg.database;
	if (strcmp(o.cmd, "backup") == 0)
		return backup_cmd(&o);
	if (strcmp(o.cmd, "restore") == 0)
		return restore_cmd(&o);
	return prune_cmd(&o);
}
