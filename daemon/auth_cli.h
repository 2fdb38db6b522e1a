/*
 * auth_cli.h: `branchqd user …`, `branchqd token …` and `branchqd routes`.
 */
#ifndef BRANCHQ_AUTH_CLI_H
#define BRANCHQ_AUTH_CLI_H

/* argv[0] is "user", "token" or "routes". Returns the process's exit status. */
int auth_main(int argc, char **argv, const char *default_config);

#endif
