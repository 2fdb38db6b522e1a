/*
 * qr.h: a QR code as a square of modules, from libqrencode, for the two
 * drivers to draw: dots on thermal paper, squares in the PNG.
 */
#ifndef BRANCHQ_QR_H
#define BRANCHQ_QR_H

#include <stdbool.h>

#define QR_QUIET 4       /* modules of white margin a reader needs around the code */

struct qr {
	int width;           /* modules per side, without the quiet zone */
	unsigned char *dark; /* width * width bytes, row by row, 1 = dark; malloc'ed */
};

/* Encode text (level M, 8-bit). 0, or -1 when it does not fit or memory ran out. Free with qr_free. */
int qr_encode(const char *text, struct qr *out);

void qr_free(struct qr *q);

/* Dots per module for a code of `modules` (quiet zone included) on paper width_dots wide. */
static inline int
qr_scale(int width_dots, int modules)
{
	/* Three fifths of the paper at most, and no smaller than a phone can read. */
	int s = width_dots * 3 / 5 / modules;

	return s < 2 ? 2 : s > 6 ? 6 : s;
}

static inline bool
qr_dark(const struct qr *q, int x, int y)
{
	return q->dark[y * q->width + x] != 0;
}

#endif
