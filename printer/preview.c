/*
 * preview.c: the layout drawn with cairo. Text goes through cairo's
 * FreeType and fontconfig backend with the Noto Sans CJK font (Debian's
 * fonts-noto-cjk), which has both the Chinese and the Latin glyphs, so
 * one face serves every line. Sizes follow the printer's: font A is 24
 * dots high, LS_LARGE doubles it, the number is scaled as large as the
 * paper allows, as escpos.c does. A line wider than the paper is shrunk a
 * little, then wrapped at a blank or, in Chinese, at any character.
 *
 * Drawing runs twice: once to measure the height, once on an image of
 * that height.
 */
#include <stdlib.h>
#include <string.h>

#include <cairo.h>
#include <fontconfig/fontconfig.h>

#include "preview.h"
#include "qr.h"

#define PREVIEW_MARGIN 16
#define PREVIEW_GAP 6
#define PREVIEW_HUGE_MAX 192     /* 8 times font A, as GS ! allows */

struct pngbuf {
	unsigned char *data;
	size_t len, cap;
};

static cairo_status_t
png_write(void *arg, const unsigned char *data, unsigned int n)
{
	struct pngbuf *b = arg;

	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 16384;
		unsigned char *nd;
		while (cap < b->len + n)
			cap *= 2;
		if ((nd = realloc(b->data, cap)) == NULL)
			return CAIRO_STATUS_NO_MEMORY;
		b->data = nd;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, n);
	b->len += n;
	return CAIRO_STATUS_SUCCESS;
}

static double
font_px(const struct layout_line *ln)
{
	switch (ln->size) {
	case LS_SMALL: return 19;
	case LS_LARGE: return 44;
	case LS_HUGE: return PREVIEW_HUGE_MAX;
	default: return 25;
	}
}

static double
text_width(cairo_t *cr, const char *s)
{
	cairo_text_extents_t e;

	cairo_text_extents(cr, s, &e);
	return e.x_advance;
}

/* Draw (when paint) one row of text at y; returns the row's height. */
static double
draw_row(cairo_t *cr, const struct layout_line *ln, const char *s, int width, double y, bool paint)
{
	cairo_font_extents_t fe;
	double w = text_width(cr, s), x;

	cairo_font_extents(cr, &fe);
	x = ln->align == LA_LEFT ? PREVIEW_MARGIN : ln->align == LA_RIGHT ?
	    width - PREVIEW_MARGIN - w : (width - w) / 2;
	if (paint) {
		if (ln->inverse) {
			cairo_set_source_rgb(cr, 0, 0, 0);
			cairo_rectangle(cr, x - 10, y, w + 20, fe.ascent + fe.descent);
			cairo_fill(cr);
			cairo_set_source_rgb(cr, 1, 1, 1);
		} else {
			cairo_set_source_rgb(cr, 0, 0, 0);
		}
		cairo_move_to(cr, x, y + fe.ascent);
		cairo_show_text(cr, s);
	}
	return fe.ascent + fe.descent;
}

/* Length in bytes of the longest prefix of s that fits in room, broken at a blank when one fits. */
static size_t
fit_prefix(cairo_t *cr, const char *s, double room)
{
	char tmp[LAYOUT_TEXT_MAX];
	size_t n = 0, best = 0, blank = 0;

	while (s[n] != '\0') {
		size_t next = n + 1;
		while (((unsigned char)s[next] & 0xc0) == 0x80)
			next++;
		memcpy(tmp, s, next);
		tmp[next] = '\0';
		if (text_width(cr, tmp) > room)
			break;
		n = best = next;
		if (s[n] == ' ')
			blank = n;
	}
	if (s[n] != '\0' && blank > 0)
		best = blank;
	return best > 0 ? best : 1;
}

static double
draw_text(cairo_t *cr, const struct layout_line *ln, int width, double y, bool paint)
{
	double room = width - 2 * PREVIEW_MARGIN, px = font_px(ln), w, h = 0;
	char row[LAYOUT_TEXT_MAX];
	const char *s = ln->text;

	cairo_select_font_face(cr, PREVIEW_FONT, CAIRO_FONT_SLANT_NORMAL,
	    ln->bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_font_size(cr, px);
	w = text_width(cr, s);
	if (ln->size == LS_HUGE && w > room) {
		cairo_set_font_size(cr, px * room / w);
	} else if (w > room && w * 0.8 <= room) {
		cairo_set_font_size(cr, px * room / w);
	} else if (w > room) {
		cairo_set_font_size(cr, px * 0.8);
	}
	while (*s != '\0') {
		size_t n = fit_prefix(cr, s, room);
		memcpy(row, s, n);
		row[n] = '\0';
		h += draw_row(cr, ln, row, width, y + h, paint);
		s += n;
		while (*s == ' ')
			s++;
	}
	return h;
}

static double
draw_qr(cairo_t *cr, const char *text, int width, double y, bool paint)
{
	struct qr q;
	int total, scale;
	double x0;

	if (qr_encode(text, &q) != 0)
		return 0;
	total = q.width + 2 * QR_QUIET;
	scale = qr_scale(width, total);
	x0 = (width - total * scale) / 2.0 + QR_QUIET * scale;
	if (paint) {
		cairo_set_source_rgb(cr, 0, 0, 0);
		for (int my = 0; my < q.width; my++)
			for (int mx = 0; mx < q.width; mx++)
				if (qr_dark(&q, mx, my))
					cairo_rectangle(cr, x0 + mx * scale, y + (my + QR_QUIET) * scale,
					    scale, scale);
		cairo_fill(cr);
	}
	qr_free(&q);
	return (double)total * scale;
}

/* Draw the whole layout (or only measure it); returns the height used. */
static double
draw(cairo_t *cr, const struct layout *l, bool paint)
{
	double y = PREVIEW_MARGIN;

	cairo_set_antialias(cr, CAIRO_ANTIALIAS_GRAY);
	for (int i = 0; i < l->n; i++) {
		const struct layout_line *ln = &l->line[i];

		switch (ln->kind) {
		case LK_TEXT:
			y += draw_text(cr, ln, l->width_dots, y, paint);
			break;
		case LK_QR:
			y += draw_qr(cr, ln->text, l->width_dots, y, paint);
			break;
		case LK_RULE:
			if (paint) {
				cairo_set_source_rgb(cr, 0, 0, 0);
				cairo_set_line_width(cr, 2);
				cairo_move_to(cr, PREVIEW_MARGIN, y + 6);
				cairo_line_to(cr, l->width_dots - PREVIEW_MARGIN, y + 6);
				cairo_stroke(cr);
			}
			y += 12;
			break;
		case LK_FEED:
			y += 24;
			break;
		}
		y += PREVIEW_GAP;
	}
	return y + PREVIEW_MARGIN;
}

int
preview_png(const struct layout *l, unsigned char **png, size_t *len)
{
	cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, l->width_dots, 1);
	cairo_t *cr = cairo_create(s);
	struct pngbuf b = { 0 };
	double h = draw(cr, l, false);
	int rc = -1;

	cairo_destroy(cr);
	cairo_surface_destroy(s);
	s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, l->width_dots, (int)(h + 0.5));
	cr = cairo_create(s);
	cairo_set_source_rgb(cr, 1, 1, 1);
	cairo_paint(cr);
	draw(cr, l, true);
	if (cairo_status(cr) == CAIRO_STATUS_SUCCESS &&
	    cairo_surface_write_to_png_stream(s, png_write, &b) == CAIRO_STATUS_SUCCESS) {
		*png = b.data;
		*len = b.len;
		rc = 0;
	} else {
		free(b.data);
	}
	cairo_destroy(cr);
	cairo_surface_destroy(s);
	return rc;
}

void
preview_cleanup(void)
{
	cairo_debug_reset_static_data();
	FcFini();
}
