/*
 * branch.h: a branch for the unit tests that need the real queue: the demo
 * config, its time zone, and a queue over a fresh SQLite file in a
 * temporary folder of its own. branch_open makes it; branch_close closes
 * the queue and the store and removes the folder.
 */
#ifndef BRANCHQ_TEST_BRANCH_H
#define BRANCHQ_TEST_BRANCH_H

#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bday.h"
#include "config.h"
#include "queue.h"
#include "store.h"

struct branch {
	char dir[64];
	char db[96];
	struct config cfg;
	struct bus bus;
	struct queue q;
};

/* Subscribe to the bus before branch_open when a test counts what is published. */
static inline void
branch_open(struct branch *b)
{
	char err[256];

	snprintf(b->dir, sizeof(b->dir), "/tmp/branchq-test-XXXXXX");
	assert_non_null(mkdtemp(b->dir));
	snprintf(b->db, sizeof(b->db), "%s/q.db", b->dir);
	assert_int_equal(config_load("config/branchq.conf", &b->cfg, stderr), 0);
	assert_int_equal(bday_set_timezone(b->cfg.timezone), 0);
	if ((b->q.store = store_open(b->db, err, sizeof(err))) == NULL)
		fail_msg("store_open: %s", err);
	b->q.cfg = &b->cfg;
	b->q.bus = &b->bus;
	assert_int_equal(queue_sync_counters(&b->q), BQ_OK);
}

static inline int
branch_close(struct branch *b)
{
	char cmd[128];

	queue_close(&b->q);
	store_close(b->q.store);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", b->dir);
	return system(cmd) == 0 ? 0 : -1;
}

#endif
