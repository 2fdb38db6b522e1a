/*
 * auth_cli.c: staff accounts and tokens from the command line, with the
 * daemon running or not (both write the database; SQLite serialises them).
 *
 *   branchqd user add NAME --role ROLE     (password from stdin, or asked for)
 *   branchqd user passwd NAME | disable NAME | enable NAME | list
 *   branchqd token add --role ROLE [--counter N] [--name LABEL]
 *   branchqd token revoke ID | list
 *   branchqd routes                         (the API's route table, as JSON lines)
 *
 * Each takes -f CONFIG and --db PATH as the daemon does. A change bumps
 * auth_gen in the same transaction, which tells a running daemon to read
 * accounts, tokens and sessions again, and appends a row to the audit trail.
 * Disabling an account or changing its password ends its sessions; a
 * revoked token (a paired device's cookie holds one) stops at once. A token
 * is printed once, as the last word of `token add`'s output, and never again.
 */
#include <getopt.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "api.h"
#include "auth.h"
#include "auth_cli.h"
#include "config.h"
#include "store.h"

/* The end of exec_args's parameters: a typed null, as a variadic call needs. */
#define ARGS_END ((const char *)NULL)

static int
usage(void)
{
	fprintf(stderr,
	    "usage: branchqd user add NAME --role lobby|teller|head|admin [-f CONFIG] [--db PATH]\n"
	    "       branchqd user passwd|disable|enable NAME [-f CONFIG] [--db PATH]\n"
	    "       branchqd user list [-f CONFIG] [--db PATH]\n"
	    "       branchqd token add --role ROLE [--counter N] [--name LABEL] [-f CONFIG] "
	    "[--db PATH]\n"
	    "       branchqd token revoke ID | list [-f CONFIG] [--db PATH]\n"
	    "       branchqd routes\n");
	return 2;
}

/* The password from stdin: asked for without echo on a terminal, the first line otherwise. */
static int
read_password(const char *prompt, char *out, size_t n)
{
	struct termios old, quiet;
	bool tty = isatty(STDIN_FILENO) != 0;
	size_t len;

	if (tty) {
		fprintf(stderr, "%s", prompt);
		tcgetattr(STDIN_FILENO, &old);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	if (fgets(out, (int)n, stdin) == NULL)
		out[0] = '\0';
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	len = strcspn(out, "\r\n");
	out[len] = '\0';
	if (len < 8) {
		fprintf(stderr, "branchqd: a password has at least 8 characters\n");
		return -1;
	}
	return 0;
}

/*
 * An account name or token label: it shows in the audit trail and its CSV,
 * so nothing a spreadsheet would run as a formula, and nothing to quote.
 */
static bool
name_ok(const char *s)
{
	return s != NULL && s[0] != '\0' && strlen(s) < AUTH_NAME_MAX &&
	    strchr("=+-@", s[0]) == NULL && strcspn(s, " \t\r\n,;\"") == strlen(s);
}

/* A token's label: a few words are fine, but no control character and no formula either. */
static bool
label_ok(const char *s)
{
	if (s == NULL || s[0] == '\0' || strlen(s) >= AUTH_NAME_MAX || strchr("=+-@", s[0]) != NULL)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static const char *
operator_name(void)
{
	static char who[AUTH_NAME_MAX];
	struct passwd *pw = getpwuid(getuid());

	snprintf(who, sizeof(who), "cli:%s", pw != NULL ? pw->pw_name : "?");
	return who;
}

/* Run sql with its text parameters (NULL ends them) in the open transaction. */
static int
exec_args(sqlite3 *db, const char *sql, int *changes, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	const char *arg;
	int i = 1, rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "branchqd: %s\n", sqlite3_errmsg(db));
		return -1;
	}
	va_start(ap, changes);
	while ((arg = va_arg(ap, const char *)) != NULL)
		sqlite3_bind_text(st, i++, arg, -1, SQLITE_TRANSIENT);
	va_end(ap);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		fprintf(stderr, "branchqd: %s\n", sqlite3_errmsg(db));
		return -1;
	}
	if (changes != NULL)
		*changes = sqlite3_changes(db);
	return 0;
}

/* Tell a running daemon, and record who did what. */
static int
finish(sqlite3 *db, const char *action, const char *what)
{
	struct principal p = { .role = ROLE_ADMIN };
	char act[96];

	snprintf(act, sizeof(act), "%s %s", action, what);
	if (exec_args(db, "UPDATE auth_gen SET n = n + 1", NULL, ARGS_END) != 0 ||
	    auth_audit(db, (int64_t)time(NULL), &p, operator_name(), act, 0, 0, "ok", "local") !=
	    BQ_OK || sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "branchqd: %s\n", sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

static int
user_cmd(sqlite3 *db, const char *sub, const char *name, const char *role_s)
{
	char pw[256], hash[crypto_pwhash_STRBYTES], now[24];
	int changes = 0, rc = 1;

	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	if (strcmp(sub, "list") == 0) {
		sqlite3_stmt *st;
		if (sqlite3_prepare_v2(db, "SELECT name, role, disabled FROM users ORDER BY name", -1,
		    &st, NULL) != SQLITE_OK)
			return 1;
		while (sqlite3_step(st) == SQLITE_ROW)
			printf("%-24s %-8s %s\n", sqlite3_column_text(st, 0), sqlite3_column_text(st, 1),
			    sqlite3_column_int(st, 2) ? "disabled" : "enabled");
		sqlite3_finalize(st);
		return 0;
	}
	if (!name_ok(name)) {
		fprintf(stderr, "branchqd: give an account name: under %d characters, no spaces, "
		    "commas or quotes, not starting with = + - @\n", AUTH_NAME_MAX);
		return 2;
	}
	if (strcmp(sub, "add") == 0 || strcmp(sub, "passwd") == 0) {
		enum role r = role_s != NULL ? role_parse(role_s) : ROLE_NONE;
		if (strcmp(sub, "add") == 0 && (r == ROLE_NONE || r == ROLE_KIOSK || r == ROLE_DISPLAY ||
		    r == ROLE_METRICS || r == ROLE_KEYPAD)) {
			fprintf(stderr, "branchqd: --role is lobby, teller, head or admin "
			    "(devices get tokens: branchqd token add)\n");
			return 2;
		}
		if (read_password("password: ", pw, sizeof(pw)) != 0)
			return 2;
		if (auth_password_hash(pw, hash, sizeof(hash)) != 0) {
			sodium_memzero(pw, sizeof(pw));
			fprintf(stderr, "branchqd: cannot hash the password (out of memory?)\n");
			return 1;
		}
		sodium_memzero(pw, sizeof(pw));
		if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
			return 1;
		if (strcmp(sub, "add") == 0) {
			if (exec_args(db, "INSERT INTO users(name, role, pwhash, created_at) "
			    "VALUES (?1, ?2, ?3, ?4)", &changes, name, role_name(r), hash, now, ARGS_END) != 0)
				goto out;
		} else if (exec_args(db, "UPDATE users SET pwhash = ?2 WHERE name = ?1", &changes, name,
		    hash, ARGS_END) != 0 || (changes > 0 && exec_args(db, "DELETE FROM sessions WHERE "
		    "user_id = (SELECT id FROM users WHERE name = ?1)", NULL, name, ARGS_END) != 0)) {
			goto out;
		}
	} else if (strcmp(sub, "disable") == 0 || strcmp(sub, "enable") == 0) {
		bool off = sub[0] == 'd';
		if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
			return 1;
		if (exec_args(db, off ? "UPDATE users SET disabled = 1 WHERE name = ?1" :
		    "UPDATE users SET disabled = 0 WHERE name = ?1", &changes, name, ARGS_END) != 0 ||
		    (off && exec_args(db, "DELETE FROM sessions WHERE user_id = (SELECT id FROM users "
		    "WHERE name = ?1)", NULL, name, ARGS_END) != 0))
			goto out;
	} else {
		return usage();
	}
	if (changes == 0) {
		fprintf(stderr, "branchqd: no account %s\n", name);
		goto out;
	}
	if (finish(db, sub, name) != 0)
		goto out;
	printf("%s: %s\n", name, strcmp(sub, "add") == 0 ? "added" : strcmp(sub, "passwd") == 0 ?
	    "password changed; its sessions ended" : strcmp(sub, "disable") == 0 ?
	    "disabled; its sessions ended" : "enabled");
	rc = 0;
out:
	if (rc != 0)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

static int
token_cmd(sqlite3 *db, const struct config *cfg, const char *sub, const char *arg,
    const char *role_s, const char *counter_s, const char *label)
{
	char now[24], what[96];
	int changes = 0;

	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	if (strcmp(sub, "list") == 0) {
		sqlite3_stmt *st;
		if (sqlite3_prepare_v2(db, "SELECT id, role, counter, label, revoked_at FROM tokens "
		    "ORDER BY id", -1, &st, NULL) != SQLITE_OK)
			return 1;
		while (sqlite3_step(st) == SQLITE_ROW)
			printf("%-4lld %-8s %-7s %-24s %s\n", (long long)sqlite3_column_int64(st, 0),
			    sqlite3_column_text(st, 1), sqlite3_column_type(st, 2) == SQLITE_NULL ? "-" :
			    (const char *)sqlite3_column_text(st, 2), sqlite3_column_text(st, 3),
			    sqlite3_column_type(st, 4) == SQLITE_NULL ? "active" : "revoked");
		sqlite3_finalize(st);
		return 0;
	}
	if (strcmp(sub, "revoke") == 0) {
		if (arg == NULL || strspn(arg, "0123456789") != strlen(arg) || arg[0] == '\0')
			return usage();
		if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
			return 1;
		if (exec_args(db, "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS "
		    "NULL", &changes, arg, now, ARGS_END) != 0) {
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return 1;
		}
		if (changes == 0) {
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			fprintf(stderr, "branchqd: no active token %s\n", arg);
			return 1;
		}
		snprintf(what, sizeof(what), "token %s", arg);
		if (finish(db, "revoke", what) != 0)
			return 1;
		printf("token %s revoked\n", arg);
		return 0;
	}
	if (strcmp(sub, "add") != 0)
		return usage();
	{
		char secret[AUTH_SECRET_HEX + 1], hash[AUTH_HASH_HEX + 1];
		enum role r = role_parse(role_s);
		long counter = 0;
		if (r == ROLE_NONE) {
			fprintf(stderr, "branchqd: --role is one of lobby, teller, head, admin, kiosk, "
			    "display, metrics\n");
			return 2;
		}
		if (label != NULL && !label_ok(label)) {
			fprintf(stderr, "branchqd: --name: under %d characters, no control characters, "
			    "not starting with = + - @\n", AUTH_NAME_MAX);
			return 2;
		}
		if (counter_s != NULL) {
			char *end;
			counter = strtol(counter_s, &end, 10);
			if (*end != '\0' || config_counter_index(cfg, (int)counter) < 0) {
				fprintf(stderr, "branchqd: --counter %s is not a counter of %s\n", counter_s,
				    cfg->path);
				return 2;
			}
		}
		if ((r == ROLE_TELLER || r == ROLE_KEYPAD) && counter == 0) {
			fprintf(stderr, "branchqd: a %s device is bound to a counter: --counter N\n",
			    role_name(r));
			return 2;
		}
		if (auth_secret(secret) != 0)
			return 1;
		auth_hash(secret, hash);
		snprintf(what, sizeof(what), "%ld", counter);
		if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
			return 1;
		if (exec_args(db, counter ? "INSERT INTO tokens(hash, role, label, created_at, counter) "
		    "VALUES (?1, ?2, ?3, ?4, ?5)" : "INSERT INTO tokens(hash, role, label, created_at) "
		    "VALUES (?1, ?2, ?3, ?4)", NULL, hash, role_name(r), label != NULL ? label :
		    role_name(r), now, counter ? what : NULL, ARGS_END) != 0) {
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return 1;
		}
		snprintf(what, sizeof(what), "token %lld (%s)", (long long)sqlite3_last_insert_rowid(db),
		    role_name(r));
		if (finish(db, "add", what) != 0)
			return 1;
		printf("%s: keep it now, it is not shown again: %s\n", what, secret);
		sodium_memzero(secret, sizeof(secret));
		return 0;
	}
}

static int
routes_cmd(void)
{
	size_t n;
	const struct route *rt = api_routes(&n);

	for (size_t i = 0; i < n; i++) {
		printf("{\"method\":\"%s\",\"path\":\"%s\",\"capability\":\"%s\",\"roles\":[",
		    rt[i].method, rt[i].pattern, cap_name(rt[i].cap));
		for (int r = ROLE_NONE, k = 0; r < ROLE_COUNT; r++)
			if (role_may((enum role)r, rt[i].cap))
				printf("%s\"%s\"", k++ ? "," : "", role_name((enum role)r));
		printf("]}\n");
	}
	return 0;
}

int
auth_main(int argc, char **argv, const char *default_config)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'D' },
		{ "role", required_argument, NULL, 'r' },
		{ "counter", required_argument, NULL, 'c' },
		{ "name", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct config cfg;
	const char *config = default_config, *db_path = NULL, *role = NULL, *counter = NULL,
	    *label = NULL, *what = argv[0], *sub, *arg;
	char err[256];
	struct store *s;
	int ch, rc;

	if (strcmp(what, "routes") == 0)
		return argc == 1 ? routes_cmd() : usage();
	if (sodium_init() < 0)
		return 1;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "f:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f': config = optarg; break;
		case 'D': db_path = optarg; break;
		case 'r': role = optarg; break;
		case 'c': counter = optarg; break;
		case 'n': label = optarg; break;
		default: return usage();
		}
	}
	if (optind >= argc)
		return usage();
	sub = argv[optind];
	arg = optind + 1 < argc ? argv[optind + 1] : NULL;
	if (optind + 2 < argc)
		return usage();
	if (config_load(config, &cfg, stderr) > 0) {
		fprintf(stderr, "branchqd: %s has errors\n", config);
		return 1;
	}
	if (db_path == NULL)
		db_path = cfg.database;
	/* store_open creates and migrates the database, so the first admin can come first. */
	if ((s = store_open(db_path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "branchqd: %s: %s\n", db_path, err);
		return 1;
	}
	if (strcmp(what, "user") == 0)
		rc = user_cmd(store_db(s), sub, arg, role);
	else
		rc = token_cmd(store_db(s), &cfg, sub, arg, role, counter, label);
	auth_audit_forget();
	store_close(s);
	return rc;
}
