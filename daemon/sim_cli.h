/*
 * sim_cli.h: `branchqd simulate` and `branchqd advise` (sim_cli.c,
 * docs/advisor.md), and the scenario file they read.
 */
#ifndef BRANCHQ_SIM_CLI_H
#define BRANCHQ_SIM_CLI_H

#include "sim.h"

/* What a scenario file says beyond struct sim_scenario: names, targets, and list lengths. */
struct sim_cli_day {
	int open_min;                            /* opening, minutes after midnight */
	int nservices;
	char service_id[MAX_SERVICES][2];
	double target[MAX_SERVICES];
	char transfer_id[MAX_SERVICES][8];
	int transfer_line[MAX_SERVICES];
	int rate_len[MAX_SERVICES][CAT_COUNT];   /* entries given; 0: none */
	int counter_number[MAX_COUNTERS];
	int open_len[MAX_COUNTERS];
};

/*
 * Read a scenario file (INI, docs/advisor.md) into sc and day. Every error
 * is printed to stderr as file:line: message. 0, or -1.
 */
int sim_cli_load_scenario(const char *path, struct sim_scenario *sc, struct sim_cli_day *day);

/* argv[0] is "simulate" / "advise". Print on stdout; return the exit status (2: bad usage). */
int sim_cli_simulate(int argc, char **argv, const char *default_config);
int sim_cli_advise(int argc, char **argv, const char *default_config);

#endif
