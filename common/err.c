/* Error records (include/fwgate/err.h): the first sentence wins.
 * Owns only formatting; never logs or exits. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fwgate/err.h"

void fw_err_clear(struct fw_err *err)
{
	if (err != NULL)
		err->msg[0] = '\0';
}

static void err_vset(struct fw_err *err, int errnum, const char *fmt, va_list ap) FW_PRINTF(3, 0);

static void err_vset(struct fw_err *err, int errnum, const char *fmt, va_list ap)
{
	int n;

	if (err == NULL || err->msg[0] != '\0')
		return;
	n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	if (n < 0) {
		snprintf(err->msg, sizeof(err->msg), "error message could not be formatted");
		return;
	}
	if (errnum != 0 && (size_t)n < sizeof(err->msg))
		snprintf(err->msg + n, sizeof(err->msg) - (size_t)n, ": %s", strerror(errnum));
}

int fw_err_set(struct fw_err *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(err, 0, fmt, ap);
	va_end(ap);
	return -1;
}

int fw_err_sys(struct fw_err *err, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(err, errnum, fmt, ap);
	va_end(ap);
	return -1;
}

bool fw_err_isset(const struct fw_err *err)
{
	return err != NULL && err->msg[0] != '\0';
}

const char *fw_err_msg(const struct fw_err *err)
{
	return fw_err_isset(err) ? err->msg : "unknown error";
}

void fw_errlist_clear(struct fw_errlist *list)
{
	list->n = 0;
	list->dropped = 0;
}

void fw_errlist_add(struct fw_errlist *list, const char *fmt, ...)
{
	va_list ap;

	if (list->n >= FW_ERRLIST_MAX) {
		list->dropped++;
		return;
	}
	list->items[list->n].msg[0] = '\0';
	va_start(ap, fmt);
	err_vset(&list->items[list->n], 0, fmt, ap);
	va_end(ap);
	list->n++;
}
