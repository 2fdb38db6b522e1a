/*
 * unit.h: what more than one unit test needs: cmocka, and an assertion on
 * a calendar date that names the field that differs.
 */
#ifndef BRANCHQ_TEST_UNIT_H
#define BRANCHQ_TEST_UNIT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "domain.h"

static inline void
assert_date(struct date d, int y, int m, int day)
{
	assert_int_equal(d.y, y);
	assert_int_equal(d.m, m);
	assert_int_equal(d.d, day);
}

#endif
