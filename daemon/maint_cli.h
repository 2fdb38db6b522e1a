/*
 * maint_cli.h: keeping the data from the command line (maint_cli.c):
 * `branchqd backup`, `branchqd restore` and `branchqd prune`.
 */
#ifndef BRANCHQ_MAINT_CLI_H
#define BRANCHQ_MAINT_CLI_H

/*
 * argv[0] is "backup", "restore" or "prune"; default_config is the config
 * read without -f. Returns the exit status: 0, 1 on failure, 2 on bad usage.
 */
int maint_main(int argc, char **argv, const char *default_config);

#endif
