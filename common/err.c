/* Error records (include/fwgate/err.h): the first sentence wins, its code
 * travels with it, context goes in front. Owns only formatting and the
 * errno classes; never logs or exits. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fwgate/err.h"

static const char cut_mark[] = "...";

void fw_err_clear(struct fw_err *err)
{
	if (err != NULL) {
		err->code = FW_E_OK;
		err->msg[0] = '\0';
	}
}

/* A sentence cut by the buffer says so: its last bytes become "...". */
static void err_mark_cut(char *msg, size_t size)
{
	if (size > sizeof(cut_mark))
		memcpy(msg + size - sizeof(cut_mark), cut_mark, sizeof(cut_mark));
}

static void err_vset(struct fw_err *err, enum fw_errcode code, int errnum, const char *fmt, va_list ap)
	FW_PRINTF(4, 0);

static void err_vset(struct fw_err *err, enum fw_errcode code, int errnum, const char *fmt, va_list ap)
{
	int n, m = 0;

	if (err == NULL || err->msg[0] != '\0')
		return;
	err->code = code == FW_E_OK ? FW_E_FAIL : code;
	n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	if (n < 0) {
		snprintf(err->msg, sizeof(err->msg), "error message could not be formatted");
		return;
	}
	if (err->msg[0] == '\0') /* an empty sentence still records the failure */
		n = snprintf(err->msg, sizeof(err->msg), "unknown error");
	if (errnum != 0 && (size_t)n < sizeof(err->msg))
		m = snprintf(err->msg + n, sizeof(err->msg) - (size_t)n, ": %s", strerror(errnum));
	if ((size_t)n + (size_t)(m > 0 ? m : 0) >= sizeof(err->msg))
		err_mark_cut(err->msg, sizeof(err->msg));
}

int fw_err_set(struct fw_err *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(err, FW_E_FAIL, 0, fmt, ap);
	va_end(ap);
	return -1;
}

int fw_err_setc(struct fw_err *err, enum fw_errcode code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(err, code, 0, fmt, ap);
	va_end(ap);
	return -1;
}

int fw_err_sys(struct fw_err *err, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(err, fw_errcode_of_errno(errnum), errnum, fmt, ap);
	va_end(ap);
	return -1;
}

int fw_err_prefix(struct fw_err *err, const char *fmt, ...)
{
	char buf[FW_ERR_MSG_MAX];
	va_list ap;
	int n, m;

	if (err == NULL)
		return -1;
	if (!fw_err_isset(err)) {
		va_start(ap, fmt);
		err_vset(err, FW_E_FAIL, 0, fmt, ap);
		va_end(ap);
		return -1;
	}
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || buf[0] == '\0')
		return -1; /* no context to add: the root cause stays as it is */
	if ((size_t)n >= sizeof(buf)) {
		err_mark_cut(buf, sizeof(buf));
		n = (int)sizeof(buf) - 1;
	}
	/* buf and err->msg are distinct, so this is one bounded copy. */
	m = snprintf(buf + n, sizeof(buf) - (size_t)n, ": %s", err->msg);
	if ((size_t)n + (size_t)(m > 0 ? m : 0) >= sizeof(buf))
		err_mark_cut(buf, sizeof(buf));
	memcpy(err->msg, buf, sizeof(err->msg));
	return -1;
}

int fw_err_copy(struct fw_err *dst, const struct fw_err *src)
{
	if (dst == NULL || fw_err_isset(dst))
		return -1;
	if (!fw_err_isset(src))
		return fw_err_set(dst, "unknown error");
	memcpy(dst, src, sizeof(*dst));
	return -1;
}

enum fw_errcode fw_err_code(const struct fw_err *err)
{
	return fw_err_isset(err) ? err->code : FW_E_OK;
}

enum fw_errcode fw_errcode_of_errno(int errnum)
{
	switch (errnum) {
	case 0:
		return FW_E_FAIL;
	case ENOMEM:
		return FW_E_NOMEM;
	case ENOENT:
	case ESRCH:
		return FW_E_NOTFOUND;
	case EEXIST:
		return FW_E_EXISTS;
	case EACCES:
	case EPERM:
		return FW_E_DENIED;
	case EAGAIN:
#if EWOULDBLOCK != EAGAIN
	case EWOULDBLOCK:
#endif
	case EBUSY:
	case ETXTBSY:
		return FW_E_BUSY;
	case ETIMEDOUT:
		return FW_E_TIMEOUT;
	case EMFILE:
	case ENFILE:
	case EFBIG:
	case E2BIG:
	case ENAMETOOLONG:
	case EOVERFLOW:
		return FW_E_LIMIT;
	case EINVAL:
	case EISDIR:
	case ENOTDIR:
	case ELOOP:
		return FW_E_INVALID;
	default:
		return FW_E_IO;
	}
}

const char *fw_errcode_name(enum fw_errcode code)
{
	static const char *const names[] = {
		[FW_E_OK] = "ok",	    [FW_E_FAIL] = "fail",     [FW_E_IO] = "io",
		[FW_E_NOMEM] = "nomem",	    [FW_E_LIMIT] = "limit",   [FW_E_INVALID] = "invalid",
		[FW_E_CONFIG] = "config",   [FW_E_BUSY] = "busy",     [FW_E_NOTFOUND] = "notfound",
		[FW_E_EXISTS] = "exists",   [FW_E_DENIED] = "denied", [FW_E_TIMEOUT] = "timeout",
	};

	if ((size_t)code < FW_ARRAY_LEN(names) && names[code] != NULL)
		return names[code];
	return "unknown";
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

static void errlist_vadd(struct fw_errlist *list, enum fw_errcode code, const char *fmt, va_list ap)
	FW_PRINTF(3, 0);

static void errlist_vadd(struct fw_errlist *list, enum fw_errcode code, const char *fmt, va_list ap)
{
	if (list->n >= FW_ERRLIST_MAX) {
		list->dropped++;
		return;
	}
	fw_err_clear(&list->items[list->n]);
	err_vset(&list->items[list->n], code, 0, fmt, ap);
	list->n++;
}

void fw_errlist_add(struct fw_errlist *list, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	errlist_vadd(list, FW_E_FAIL, fmt, ap);
	va_end(ap);
}

void fw_errlist_addc(struct fw_errlist *list, enum fw_errcode code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	errlist_vadd(list, code, fmt, ap);
	va_end(ap);
}
