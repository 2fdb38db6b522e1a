/*
 * escpos.c: ESC/POS for the thermal printer. Every command used here is in
 * the common subset that Epson, Xprinter, Sunmi and the other printers sold
 * to Chinese banks accept:
 *
 *   ESC @        initialise (a half-printed job before us leaves no mode set)
 *   FS &         Chinese character mode: text bytes are GB18030
 *   ESC a n      alignment            ESC E n   bold
 *   ESC M n      font A or B (small)  GS ! n    character size, 1..8 times
 *   GS B n       white on black       LF        print the line
 *   GS v 0       raster bit image: the QR code, drawn dot by dot
 *   ESC d n      feed n lines         GS V 66 0 feed to the cutter and cut
 *
 * The QR code is a raster image rather than the printer's own QR command
 * (GS ( k), which older and cheaper printers lack. Its bytes are rows of
 * dots, most significant bit leftmost, 1 = black: the layout of a PBM (P4)
 * image, which is how the tests read it back.
 */
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>

#include "escpos.h"
#include "qr.h"

#define ESC 0x1b
#define FS 0x1c
#define GS 0x1d
#define LF 0x0a

#define ESCPOS_TEXT_MAX (LAYOUT_TEXT_MAX * 2 + 1)   /* GB18030 is at most 4 bytes per 3-byte UTF-8 character */

struct buf {
	unsigned char *data;
	size_t len, cap;
	bool failed;         /* out of memory: further appends are dropped */
};

static void
put(struct buf *b, const void *p, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		unsigned char *nd;
		while (cap < b->len + n)
			cap *= 2;
		if ((nd = realloc(b->data, cap)) == NULL) {
			b->failed = true;
			return;
		}
		b->data = nd;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

static void
put3(struct buf *b, int c0, int c1, int c2)
{
	unsigned char c[3] = { (unsigned char)c0, (unsigned char)c1, (unsigned char)c2 };

	put(b, c, 3);
}

long
escpos_gb18030(const char *utf8, char *out, size_t outlen)
{
	iconv_t cd = iconv_open("GB18030", "UTF-8");
	char *in = (char *)utf8, *o = out;
	size_t inleft = strlen(utf8), oleft;
	long n = -1;

	if (cd == (iconv_t)-1 || outlen == 0) {
		if (cd != (iconv_t)-1)
			iconv_close(cd);
		return -1;
	}
	oleft = outlen - 1;
	if (iconv(cd, &in, &inleft, &o, &oleft) != (size_t)-1 &&
	    iconv(cd, NULL, NULL, &o, &oleft) != (size_t)-1) {
		*o = '\0';
		n = (long)(o - out);
	}
	iconv_close(cd);
	return n;
}

int
escpos_huge_scale(int width_dots, size_t columns)
{
	int m;

	if (columns == 0)
		return 1;
	m = (int)((size_t)width_dots / (ESCPOS_FONT_A_DOTS * columns));
	return m < 1 ? 1 : m > ESCPOS_MAX_MAGNIFY ? ESCPOS_MAX_MAGNIFY : m;
}

/* The QR code of text as a GS v 0 raster image with its quiet zone, centred by ESC a. */
static int
put_qr(struct buf *b, const char *text, int width_dots)
{
	struct qr q;
	int total, scale, w, xb;
	unsigned char *row;

	if (qr_encode(text, &q) != 0)
		return -1;
	total = q.width + 2 * QR_QUIET;
	scale = qr_scale(width_dots, total);
	w = total * scale;
	xb = (w + 7) / 8;
	if ((row = calloc((size_t)xb, 1)) == NULL) {
		qr_free(&q);
		return -1;
	}
	put3(b, GS, 'v', '0');
	put3(b, 0, xb & 0xff, xb >> 8);
	put(b, (unsigned char[]){ (unsigned char)(w & 0xff), (unsigned char)(w >> 8) }, 2);
	for (int y = 0; y < w; y++) {
		int my = y / scale - QR_QUIET;
		memset(row, 0, (size_t)xb);
		for (int x = 0; x < w && my >= 0 && my < q.width; x++) {
			int mx = x / scale - QR_QUIET;
			if (mx >= 0 && mx < q.width && qr_dark(&q, mx, my))
				row[x / 8] |= (unsigned char)(0x80 >> (x % 8));
		}
		put(b, row, (size_t)xb);
	}
	put(b, (unsigned char[]){ LF }, 1);
	free(row);
	qr_free(&q);
	return 0;
}

static int
put_text(struct buf *b, const struct layout_line *ln, int width_dots)
{
	char gb[ESCPOS_TEXT_MAX];
	long n = escpos_gb18030(ln->text, gb, sizeof(gb));
	int size = 0;

	if (n < 0)
		return -1;
	if (ln->size == LS_LARGE)
		size = 0x11;
	else if (ln->size == LS_HUGE) {
		int m = escpos_huge_scale(width_dots, (size_t)n) - 1;
		size = m << 4 | m;
	}
	put3(b, ESC, 'M', ln->size == LS_SMALL ? 1 : 0);
	put3(b, GS, '!', size);
	put3(b, ESC, 'E', ln->bold ? 1 : 0);
	put3(b, GS, 'B', ln->inverse ? 1 : 0);
	put(b, gb, (size_t)n);
	put(b, (unsigned char[]){ LF }, 1);
	put3(b, GS, 'B', 0);
	put3(b, ESC, 'E', 0);
	put3(b, GS, '!', 0);
	return 0;
}

int
escpos_encode(const struct layout *l, unsigned char **out, size_t *len)
{
	struct buf b = { 0 };
	int rc = 0;

	put(&b, (unsigned char[]){ ESC, '@', FS, '&' }, 4);
	for (int i = 0; i < l->n && rc == 0; i++) {
		const struct layout_line *ln = &l->line[i];

		put3(&b, ESC, 'a', ln->align == LA_LEFT ? 0 : ln->align == LA_CENTER ? 1 : 2);
		switch (ln->kind) {
		case LK_TEXT:
			rc = put_text(&b, ln, l->width_dots);
			break;
		case LK_QR:
			rc = put_qr(&b, ln->text, l->width_dots);
			break;
		case LK_RULE:
			put3(&b, ESC, 'M', 0);
			for (int c = 0; c < l->width_dots / ESCPOS_FONT_A_DOTS; c++)
				put(&b, "-", 1);
			put(&b, (unsigned char[]){ LF }, 1);
			break;
		case LK_FEED:
			put(&b, (unsigned char[]){ LF }, 1);
			break;
		}
	}
	put3(&b, ESC, 'd', 4);
	put(&b, (unsigned char[]){ GS, 'V', 66, 0 }, 4);
	if (rc != 0 || b.failed) {
		free(b.data);
		return -1;
	}
	*out = b.data;
	*len = b.len;
	return 0;
}
