/*
 * bench_ops: what each queue operation costs the loop with 10 and with
 * 10,000 tickets waiting, apart from HTTP and the disk.
 *
 *   build/release/bench_ops [DIR]
 *
 * The real queue over a real SQLite file (in DIR, default a fresh folder
 * under /tmp), with the clock passed in. Each operation runs inside a group
 * commit of 200 of its kind and is timed without the commit, so the figure
 * is the loop's own work: the hall in memory, the SQL statements, the event
 * JSON. A round adds the 200 tickets it works on, so "10 waiting" means 10
 * plus those. Prints microseconds per operation at each size and their ratio;
 * the issue's target is a ratio within 1.2 (one operation, one cost).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bday.h"
#include "config.h"
#include "queue.h"
#include "store.h"

#define REPS 200
#define ROUNDS 15                /* alternating the two sizes, so the machine's drift hits both */

struct bench {
	struct config cfg;
	struct bus bus;
	struct queue q;
	int64_t now;
};

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void
must(enum bq_err e, const char *what)
{
	if (e != BQ_OK) {
		fprintf(stderr, "bench_ops: %s: %s\n", what, bq_err_code(e));
		exit(1);
	}
}

static struct ticket
issue(struct bench *b, int service, int category)
{
	struct issue_req r = { .service = service, .category = category, .lang = -1 };
	struct ticket t;

	must(queue_issue(&b->q, &r, b->now, &t), "issue");
	return t;
}

/* Fill the hall to n waiting, in batches, spread over services and categories. */
static void
fill(struct bench *b, int n)
{
	for (int i = 0; i < n; i += 500) {
		queue_batch_begin(&b->q);
		for (int k = i; k < n && k < i + 500; k++)
			issue(b, k % 2, k % 7 == 0 ? CAT_ELDERLY : -1);
		must(queue_batch_end(&b->q), "fill commit");
	}
}

enum op { OP_ISSUE, OP_PLACE, OP_CALL, OP_RECALL, OP_GREEN, OP_CANCEL, OP_TRANSFER, OP_COUNT };

static const char *const op_names[OP_COUNT] = {
	"issue", "place in line", "call (and finish)", "recall", "green", "cancel", "transfer",
};

/*
 * Microseconds per operation op over one round of REPS. The round first
 * issues the REPS tickets it works on (outside the timing), and afterwards
 * cancels whatever it left waiting, so the hall is back to its size.
 */
static double
measure(struct bench *b, enum op op)
{
	int counter = b->cfg.counters[2].number;     /* demo counter 3: service A */
	static struct ticket t[REPS], made[2 * REPS];
	struct ticket out;
	int nmade = 0;
	bool has;
	double t0, t1;

	queue_batch_begin(&b->q);
	if (op != OP_ISSUE)
		for (int i = 0; i < REPS; i++)
			made[nmade++] = t[i] = issue(b, 0, -1);
	must(queue_batch_end(&b->q), "setup commit");
	b->now++;

	queue_batch_begin(&b->q);
	t0 = now_us();
	for (int i = 0; i < REPS; i++) {
		struct ticket_pos pos;

		switch (op) {
		case OP_ISSUE:
			made[nmade++] = issue(b, i % 2, -1);
			break;
		case OP_PLACE:
			must(queue_position(&b->q, &t[i], b->now, &pos), "place");
			break;
		case OP_CALL:
			must(queue_counter(&b->q, counter, CA_CALL, -1, QUEUE_EXPECT_ANY, b->now,
			    &out, &has), "call");
			break;
		case OP_RECALL:
			/* Recalls past the limit turn into a no-show: call again then. */
			if (queue_counter(&b->q, counter, CA_RECALL, -1, QUEUE_EXPECT_ANY, b->now,
			    &out, &has) != BQ_OK || out.status != TS_CALLED)
				must(queue_counter(&b->q, counter, CA_CALL, -1, QUEUE_EXPECT_ANY,
				    b->now, &out, &has), "call after recalls");
			break;
		case OP_GREEN:
			must(queue_green(&b->q, t[i].id, CAT_DISABLED, -1, b->now, &out), "green");
			break;
		case OP_CANCEL:
			must(queue_cancel(&b->q, t[i].id, b->now, &out), "cancel");
			break;
		case OP_TRANSFER:
			must(queue_counter(&b->q, counter, CA_CALL, -1, QUEUE_EXPECT_ANY, b->now,
			    &out, &has), "call before transfer");
			must(queue_counter(&b->q, counter, CA_TRANSFER, 1, QUEUE_EXPECT_ANY, b->now,
			    &out, &has), "transfer");
			made[nmade++] = out;
			break;
		default:
			break;
		}
	}
	t1 = now_us();
	must(queue_batch_end(&b->q), "commit");
	b->now++;

	queue_batch_begin(&b->q);
	for (int i = 0; i < nmade; i++)
		(void)queue_cancel(&b->q, made[i].id, b->now, &out);
	must(queue_batch_end(&b->q), "cleanup commit");
	b->now++;
	return (t1 - t0) / REPS;
}

static void
bench_open(struct bench *b, const char *dir, const char *name)
{
	char path[512], err[256];

	snprintf(path, sizeof(path), "%s/%s.db", dir, name);
	unlink(path);
	memset(&b->q, 0, sizeof(b->q));
	if ((b->q.store = store_open(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "bench_ops: %s\n", err);
		exit(1);
	}
	b->q.cfg = &b->cfg;
	b->q.bus = &b->bus;
	must(queue_sync_counters(&b->q), "counters");
}

int
main(int argc, char **argv)
{
	char tmpl[] = "/tmp/branchq-bench-ops-XXXXXX";
	const char *dir = argc > 1 ? argv[1] : mkdtemp(tmpl);
	static struct bench small, large;
	struct date d = { 2026, 11, 24 };
	double us[2][OP_COUNT];

	if (dir == NULL || config_load("config/branchq.conf", &small.cfg, stderr) != 0 ||
	    bday_set_timezone(small.cfg.timezone) != 0)
		return 1;
	large.cfg = small.cfg;
	small.now = large.now = bday_start(d, small.cfg.day_reset_min) + 5 * 3600;
	bench_open(&small, dir, "small");
	bench_open(&large, dir, "large");
	fill(&small, 10);
	fill(&large, 10000);
	for (int op = 0; op < OP_COUNT; op++) {
		us[0][op] = us[1][op] = 1e18;
		for (int round = 0; round < ROUNDS; round++) {
			double a = measure(&small, (enum op)op), c = measure(&large, (enum op)op);
			us[0][op] = a < us[0][op] ? a : us[0][op];
			us[1][op] = c < us[1][op] ? c : us[1][op];
		}
	}
	printf("\nqueue operations, the loop's own work (no HTTP, no fsync), best of %d x %d\n",
	    ROUNDS, REPS);
	printf("  %-20s %12s %14s %8s  %s\n", "operation", "10 waiting", "10,000 waiting", "ratio",
	    "target <= 1.20");
	for (int op = 0; op < OP_COUNT; op++) {
		double ratio = us[1][op] / us[0][op];
		printf("  %-20s %9.1f us %11.1f us %8.2f  %s\n", op_names[op], us[0][op], us[1][op],
		    ratio, ratio <= 1.2 ? "met" : "NOT MET");
	}
	queue_close(&small.q);
	queue_close(&large.q);
	store_close(small.q.store);
	store_close(large.q.store);
	if (argc <= 1) {
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			return 1;
	}
	return 0;
}
