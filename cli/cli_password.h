/* Private to cli/: reading a new password for a credential (proxy users,
 * console accounts), in cli_password.c. */
#ifndef FWGATE_CLI_PASSWORD_H
#define FWGATE_CLI_PASSWORD_H

#include <stddef.h>

/* The new password into buf (len bytes; FW_PASSWD_MAX + 2 holds any
 * accepted one): the first line of file when not NULL, else a prompt on
 * the terminal (what, asked twice, not echoed), else the first line of
 * standard input. Never from the command line. Errors are printed after
 * "fwgate cmd: "; returns 0 or -1. The caller cleanses buf. */
int cli_password_read(const char *cmd, const char *what, const char *file, char *buf, size_t len);

#endif
