/*
 * erlang.c: Erlang B and C (erlang.h). The recursion is the one the
 * staffing literature recommends for its stability: each step multiplies a
 * number in [0, 1] by a/(k + aB), so nothing overflows for hundreds of
 * counters, where a!/c! evaluated directly would.
 */
#include <math.h>

#include "erlang.h"

double
erlang_b(int c, double a)
{
	double b = 1.0;

	if (c < 0 || !(a >= 0))
		return 1.0;
	for (int k = 1; k <= c; k++)
		b = a * b / (k + a * b);
	return b;
}

double
erlang_c(int c, double a)
{
	if (c < 1 || !(a >= 0) || a >= c)
		return 1.0;
	double b = erlang_b(c, a);
	return c * b / (c - a * (1.0 - b));
}

double
erlang_mean_wait(int c, double a, double s)
{
	if (c < 1 || !(a >= 0) || a >= c)
		return INFINITY;
	return erlang_c(c, a) * s / (c - a);
}

double
erlang_p_wait_over(int c, double a, double s, double t)
{
	if (c < 1 || !(a >= 0) || a >= c || !(s > 0))
		return 1.0;
	return erlang_c(c, a) * exp(-(c - a) * t / s);
}

int
erlang_staff(double a, double s, double t, double target, int max_c)
{
	for (int c = 1; c <= max_c; c++)
		if (a < c && erlang_p_wait_over(c, a, s, t) <= target)
			return c;
	return max_c + 1;
}
