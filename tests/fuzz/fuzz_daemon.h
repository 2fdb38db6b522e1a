/*
 * fuzz_daemon.h: the daemon's handlers as a fuzz target sees them: the demo
 * config, a real in-memory SQLite store, the queue and the API over them,
 * set up once by fuzz_daemon_setup (abort on failure: a target that cannot
 * start must not pass). Included by one target per program.
 */
#ifndef BRANCHQ_FUZZ_DAEMON_H
#define BRANCHQ_FUZZ_DAEMON_H

#include <stdio.h>
#include <stdlib.h>

#include "api.h"
#include "bday.h"
#include "config.h"
#include "store.h"

static struct config cfg;
static struct bus bus;
static struct queue queue;
static struct api api;

static void
fuzz_daemon_setup(void)
{
	char err[256];

	if (config_load("config/branchq.conf", &cfg, stderr) != 0 ||
	    bday_set_timezone(cfg.timezone) != 0)
		abort();
	queue.store = store_open(":memory:", err, sizeof(err));
	if (queue.store == NULL) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	queue.cfg = &cfg;
	queue.bus = &bus;
	api.queue = &queue;
	if (queue_sync_counters(&queue) != BQ_OK)
		abort();
}

#endif
