/*
 * cupsjob.h: hand bytes to a CUPS queue as one raw job and wait until the
 * printer has them. Blocking: it talks to the CUPS server over HTTP and
 * polls the job, so only printer.c's worker thread calls it, never the loop.
 */
#ifndef BRANCHQ_CUPSJOB_H
#define BRANCHQ_CUPSJOB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * Print len bytes of data as a raw job titled title on CUPS queue `queue`
 * of server ("HOST", "HOST:PORT" or a socket path; "" for CUPS's default).
 * Returns 0 once CUPS says the job completed. Returns -1 with a reason a
 * lobby manager can act on in err when the server cannot be reached, the
 * queue does not exist, is stopped or refuses jobs, the printer reports no
 * paper, the job is aborted, or it has not completed after timeout_s
 * seconds (the job is then cancelled, so it cannot print later beside a
 * retry), or when *stop becomes true.
 */
int cupsjob_print(const char *server, const char *queue, const char *title,
    const unsigned char *data, size_t len, int timeout_s, const atomic_bool *stop,
    char *err, size_t errlen);

/*
 * Ask the server how queue is: 0 when it can print now, else -1 and why in
 * err (the same words as cupsjob_print's). Blocking, worker thread only.
 */
int cupsjob_check(const char *server, const char *queue, char *err, size_t errlen);

#endif
