/*
 * hq_cli.h: `branchqd hq report`, the head office's league table of
 * branches by overtime share against target (docs/hq.md), read from the
 * head office's PostgreSQL (hq/schema.sql's hq.league) with libpq.
 */
#ifndef BRANCHQ_HQ_CLI_H
#define BRANCHQ_HQ_CLI_H

int hq_main(int argc, char **argv);

#endif
