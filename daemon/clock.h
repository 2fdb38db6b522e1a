/*
 * clock.h: the daemon's clock, the wall clock made safe for a queue.
 *
 * Tickets are ordered by issue time and waits are differences of times, so
 * the time branchqd gives out never goes back. When the wall clock jumps
 * forward (NTP setting a box that booted with a wrong clock) branchqd
 * follows it: the wall clock was wrong before. When it steps back (NTP
 * pulling back a clock that ran fast), branchqd does not: it goes on at
 * nine tenths of the monotonic clock's pace until the wall clock catches
 * up (a 10-minute step takes 100 minutes), so every time stays in order, a
 * wait measured meanwhile is at most a tenth short, and a business day once
 * left is never entered again. At start the clock begins no earlier than
 * the last time the database recorded, so a restart with the clock set
 * back does not reopen a closed day either.
 *
 * clock_advance is the rule alone, with both clocks given: the unit tests
 * drive it. clock_start/clock_now are the daemon's one clock, for its loop
 * thread only.
 */
#ifndef BRANCHQ_CLOCK_H
#define BRANCHQ_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

#define CLOCK_STEP_MS 2000          /* a difference past this is a jump, not jitter */

struct clock_state {
	int64_t now_ms;                 /* the last time given out, unix ms */
	int64_t mono_ms;                /* the monotonic clock then */
	bool behind;                    /* the wall clock is behind now_ms: catching up slowly */
};

/* Start st at wall_ms, but no earlier than floor_ms (the last time recorded). */
void clock_begin(struct clock_state *st, int64_t wall_ms, int64_t mono_ms, int64_t floor_ms);

/*
 * The time now, given the wall and monotonic clocks now: never less than
 * the last one. *jump_ms is how far the wall clock jumped from where it
 * should have been when this call first sees it jump (positive forward,
 * negative back), else 0.
 */
int64_t clock_advance(struct clock_state *st, int64_t wall_ms, int64_t mono_ms, int64_t *jump_ms);

/* The daemon's clock: start it at the last time the database recorded (unix s; 0: none). */
void clock_start(int64_t floor_s);

/* The daemon's time, unix s; logs a warning when the wall clock jumps. Loop thread only. */
int64_t clock_now(void);

#endif
