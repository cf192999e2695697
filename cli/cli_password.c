/* Reading a new password (cli/cli_password.h): from --password-file's
 * first line, from a prompt on a terminal (twice, echo off), or from the
 * first line of standard input; never from the command line, where ps and
 * shell histories would show it. Holds no credential logic: the callers
 * hash and store. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli/cli_password.h"
#include "fwgate/passwd.h"

/* One line from f into buf (without its newline); -1 when none or too long. */
static int read_line(FILE *f, char *buf, size_t len)
{
	size_t n;

	if (fgets(buf, (int)len, f) == NULL)
		return -1;
	n = strlen(buf);
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	else if (!feof(f))
		return -1;
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
	return 0;
}

static int prompt(const char *what, char *buf, size_t len)
{
	struct termios old, quiet;
	int rc;

	fprintf(stderr, "%s: ", what);
	fflush(stderr);
	if (tcgetattr(STDIN_FILENO, &old) != 0)
		return -1;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) != 0)
		return -1;
	rc = read_line(stdin, buf, len);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	fputc('\n', stderr);
	return rc;
}

static int from_file(const char *cmd, const char *file, char *buf, size_t len)
{
	FILE *f = fopen(file, "re");
	int rc;

	if (f == NULL) {
		fprintf(stderr, "fwgate %s: cannot open %s: %s\n", cmd, file, strerror(errno));
		return -1;
	}
	rc = read_line(f, buf, len);
	fclose(f);
	if (rc != 0)
		fprintf(stderr, "fwgate %s: %s holds no password line (at most %d bytes)\n", cmd, file, FW_PASSWD_MAX);
	return rc;
}

static int from_terminal(const char *cmd, const char *what, char *buf, size_t len)
{
	char again[FW_PASSWD_MAX + 2];
	int same;

	if (prompt(what, buf, len) != 0 || prompt("again", again, sizeof(again)) != 0) {
		OPENSSL_cleanse(again, sizeof(again));
		fprintf(stderr, "fwgate %s: no password read\n", cmd);
		return -1;
	}
	same = strcmp(buf, again) == 0;
	OPENSSL_cleanse(again, sizeof(again));
	if (!same) {
		fprintf(stderr, "fwgate %s: the passwords differ\n", cmd);
		return -1;
	}
	return 0;
}

int cli_password_read(const char *cmd, const char *what, const char *file, char *buf, size_t len)
{
	if (file != NULL)
		return from_file(cmd, file, buf, len);
	if (isatty(STDIN_FILENO))
		return from_terminal(cmd, what, buf, len);
	if (read_line(stdin, buf, len) != 0) {
		fprintf(stderr, "fwgate %s: no password on standard input (one line, at most %d bytes)\n", cmd,
			FW_PASSWD_MAX);
		return -1;
	}
	return 0;
}
