/*
 * erlang.h: the Erlang C model of a queue with c counters, Poisson arrivals
 * at rate lambda and exponential service of mean s (offered load a =
 * lambda s, in erlangs): the chance a customer waits at all, the mean wait,
 * and the chance the wait is longer than t. Pure arithmetic.
 *
 * Computed from the Erlang B recursion B(0) = 1, B(k) = a B(k-1) / (k +
 * a B(k-1)), which needs no factorial or power and stays in [0, 1] for any
 * c, then C = c B / (c - a (1 - B)). Every function wants a < c (a stable
 * queue) and answers 1 (or INFINITY for the mean) when it is not.
 */
#ifndef BRANCHQ_ERLANG_H
#define BRANCHQ_ERLANG_H

/* Erlang B: the blocking chance with c servers and load a. */
double erlang_b(int c, double a);

/* Erlang C: the chance an arriving customer waits (P(W > 0)). */
double erlang_c(int c, double a);

/* Mean wait in the units of s: C s / (c - a). */
double erlang_mean_wait(int c, double a, double s);

/* P(W > t) = C exp(-(c - a) t / s), t and s in the same units. */
double erlang_p_wait_over(int c, double a, double s, double t);

/*
 * The fewest counters (at least 1, at most max_c) for which P(W > t) is at
 * most target; max_c + 1 when none is enough.
 */
int erlang_staff(double a, double s, double t, double target, int max_c);

#endif
