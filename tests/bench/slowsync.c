/*
 * slowsync.so: a slow disk for SQLite, for make bench only.
 *
 *   LD_PRELOAD=build/release/slowsync.so BRANCHQ_BENCH_SYNC_MS=20 branchqd ...
 *
 * A worn eMMC in a small branch box can take 20 ms per fsync. Loaded into a
 * process, this library wraps SQLite's default VFS in one that sleeps
 * BRANCHQ_BENCH_SYNC_MS milliseconds (default 20, at most 10000) before every
 * xSync, and makes it the default, from a constructor, before the program
 * opens any database. Everything else goes straight to the real VFS.
 *
 * The files are the real VFS's own (same size, same struct): only their
 * method table is swapped for a copy whose xSync sleeps first, so no other
 * call pays anything. The real VFS may hand out a few method tables (one per
 * locking style); each gets its own patched copy.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#define SLOW_MAX_METHODS 8
#define SLOW_DEFAULT_MS 20
#define SLOW_MAX_MS 10000

void slowsync_init(void) __attribute__((constructor));

static sqlite3_vfs slow_vfs;
static sqlite3_vfs *real_vfs;
static long delay_ms = SLOW_DEFAULT_MS;

static struct {
	const sqlite3_io_methods *real;
	sqlite3_io_methods patched;
} tables[SLOW_MAX_METHODS];
static int ntables;

static const sqlite3_io_methods *
real_methods(const sqlite3_io_methods *patched)
{
	for (int i = 0; i < ntables; i++)
		if (&tables[i].patched == patched)
			return tables[i].real;
	return NULL;
}

static int
slow_sync(sqlite3_file *f, int flags)
{
	struct timespec ts = { delay_ms / 1000, (delay_ms % 1000) * 1000000L };
	const sqlite3_io_methods *m = real_methods(f->pMethods);

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	return m != NULL ? m->xSync(f, flags) : SQLITE_IOERR_FSYNC;
}

static const sqlite3_io_methods *
patched_methods(const sqlite3_io_methods *real)
{
	for (int i = 0; i < ntables; i++)
		if (tables[i].real == real)
			return &tables[i].patched;
	if (ntables == SLOW_MAX_METHODS)
		return real;   /* not slowed; never seen with the unix VFS */
	tables[ntables].real = real;
	tables[ntables].patched = *real;
	tables[ntables].patched.xSync = slow_sync;
	return &tables[ntables++].patched;
}

static int
slow_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
	int rc = real_vfs->xOpen(real_vfs, name, f, flags, out_flags);

	(void)vfs;
	/* SQLite opens files from one thread in branchqd and the baselines; no lock is needed. */
	if (rc == SQLITE_OK && f->pMethods != NULL)
		f->pMethods = patched_methods(f->pMethods);
	return rc;
}

void
slowsync_init(void)
{
	const char *env = getenv("BRANCHQ_BENCH_SYNC_MS");
	char *end;

	if (env != NULL && *env != '\0') {
		long v = strtol(env, &end, 10);
		if (*end == '\0' && v >= 0 && v <= SLOW_MAX_MS)
			delay_ms = v;
	}
	if (sqlite3_initialize() != SQLITE_OK || (real_vfs = sqlite3_vfs_find(NULL)) == NULL)
		return;
	slow_vfs = *real_vfs;
	slow_vfs.pNext = NULL;
	slow_vfs.zName = "slowsync";
	slow_vfs.xOpen = slow_open;
	sqlite3_vfs_register(&slow_vfs, 1);
}
