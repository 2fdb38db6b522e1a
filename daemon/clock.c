/*
 * clock.c: the daemon's clock (see clock.h).
 */
#include <time.h>

#include "clock.h"
#include "log.h"

static struct clock_state daemon_clock;
static bool daemon_clock_started;

void
clock_begin(struct clock_state *st, int64_t wall_ms, int64_t mono_ms, int64_t floor_ms)
{
	st->now_ms = wall_ms > floor_ms ? wall_ms : floor_ms;
	st->mono_ms = mono_ms;
	st->behind = wall_ms < st->now_ms;
}

int64_t
clock_advance(struct clock_state *st, int64_t wall_ms, int64_t mono_ms, int64_t *jump_ms)
{
	int64_t d = mono_ms > st->mono_ms ? mono_ms - st->mono_ms : 0;
	int64_t expect = st->now_ms + d, next;

	*jump_ms = 0;
	st->mono_ms = mono_ms;
	if (wall_ms > expect + CLOCK_STEP_MS) {
		/* Forward: the wall clock was behind (or we were catching up and it ran past). */
		if (!st->behind)
			*jump_ms = wall_ms - expect;
		next = wall_ms;
		st->behind = false;
	} else if (wall_ms < expect - CLOCK_STEP_MS) {
		if (!st->behind)
			*jump_ms = wall_ms - expect;
		st->behind = true;
		next = st->now_ms + d * 9 / 10;
		if (next < wall_ms)
			next = wall_ms;
	} else {
		/* Jitter, or the end of catching up: the wall clock, unless it would go back. */
		next = wall_ms;
		if (st->behind && wall_ms >= st->now_ms)
			st->behind = false;
	}
	if (next < st->now_ms)
		next = st->now_ms;
	st->now_ms = next;
	return next;
}

static void
read_clocks(int64_t *wall_ms, int64_t *mono_ms)
{
	struct timespec w, m;

	clock_gettime(CLOCK_REALTIME, &w);
	clock_gettime(CLOCK_MONOTONIC, &m);
	*wall_ms = (int64_t)w.tv_sec * 1000 + w.tv_nsec / 1000000;
	*mono_ms = (int64_t)m.tv_sec * 1000 + m.tv_nsec / 1000000;
}

void
clock_start(int64_t floor_s)
{
	int64_t wall, mono;

	read_clocks(&wall, &mono);
	clock_begin(&daemon_clock, wall, mono, floor_s * 1000);
	daemon_clock_started = true;
	if (daemon_clock.behind)
		log_warnx("clock: the wall clock is %lld s behind the last time the database "
		    "recorded; branchqd's clock starts there and runs slower until the wall clock "
		    "catches up, so no ticket is ordered before an earlier one and no closed business "
		    "day opens again", (long long)((daemon_clock.now_ms - wall) / 1000));
}

int64_t
clock_now(void)
{
	int64_t wall, mono, jump, now;

	read_clocks(&wall, &mono);
	if (!daemon_clock_started) {
		clock_begin(&daemon_clock, wall, mono, 0);
		daemon_clock_started = true;
	}
	now = clock_advance(&daemon_clock, wall, mono, &jump);
	/* Whole seconds, rounded: the step NTP made, not the milliseconds around it. */
	jump = jump >= 0 ? (jump + 500) / 1000 * 1000 : -((-jump + 500) / 1000 * 1000);
	if (jump > 0)
		log_warnx("clock: the wall clock jumped %lld s forward; branchqd follows it (waits "
		    "of customers waiting now grow by as much)", (long long)(jump / 1000));
	else if (jump < 0)
		log_warnx("clock: the wall clock stepped %lld s back; branchqd's clock does not go "
		    "back: it runs at nine tenths of its pace until the wall clock catches up (about "
		    "%lld min), so no ticket is ordered before an earlier one and no closed business day "
		    "opens again", (long long)(-jump / 1000), (long long)(-jump / 1000 * 10 / 60));
	return now / 1000;
}
