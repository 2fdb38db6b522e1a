/*
 * escpos.h: a ticket layout as ESC/POS bytes for 80 mm and 58 mm thermal
 * printers: text in GB18030 (the encoding Chinese thermal printers read in
 * their Chinese mode), the number double-size or larger (GS !), the QR code
 * as a raster bit image (GS v 0, which every ESC/POS printer prints, unlike
 * the printer-side QR command), then feed and cut (GS V). Pure: no I/O.
 */
#ifndef BRANCHQ_ESCPOS_H
#define BRANCHQ_ESCPOS_H

#include <stddef.h>

#include "layout.h"

/* ESC/POS font A is 12 dots wide; a GB18030 character takes two columns. */
#define ESCPOS_FONT_A_DOTS 12
#define ESCPOS_MAX_MAGNIFY 8

/*
 * Convert UTF-8 text to GB18030 into out (outlen bytes, NUL-terminated).
 * Returns the length written, or -1 when the text is not UTF-8 or does not
 * fit. Uses glibc's iconv; allocates nothing that outlives the call.
 */
long escpos_gb18030(const char *utf8, char *out, size_t outlen);

/*
 * Encode layout l. On success returns 0 and *out is a malloc'ed buffer of
 * *len bytes that the caller frees; -1 when out of memory or a QR code does
 * not fit.
 */
int escpos_encode(const struct layout *l, unsigned char **out, size_t *len);

/* The magnification (1..8) GS ! gets for text of n columns at LS_HUGE on width dots. */
int escpos_huge_scale(int width_dots, size_t columns);

#endif
