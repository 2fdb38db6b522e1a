/*
 * preview.h: a ticket layout drawn as a PNG image the size of the paper
 * (one pixel per printer dot), with cairo and the Noto Sans CJK font, for
 * GET /api/v1/tickets/{id}/ticket.png: the lobby sees what the customer
 * holds, and a branch without a printer can still show it.
 */
#ifndef BRANCHQ_PREVIEW_H
#define BRANCHQ_PREVIEW_H

#include <stddef.h>

#include "layout.h"

#define PREVIEW_FONT "Noto Sans CJK SC"

/*
 * Draw layout l. On success returns 0 and *png is a malloc'ed PNG file of
 * *len bytes that the caller frees; -1 on failure. Runs on one thread at a
 * time (cairo's font caches are shared).
 */
int preview_png(const struct layout *l, unsigned char **png, size_t *len);

/* Free cairo's font caches at exit, so that a leak checker sees only real leaks. */
void preview_cleanup(void);

#endif
