/* fwgate status [--json]: asks the gateway running on this
 * configuration's state directory through its control socket
 * (run_control.h) and prints the answer. Must not read the state
 * directory's files itself: what it shows is what the gateway says. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/run_control.h"
#include "cli/status_doc.h"

/* The gateway answers a status at once; a slow store may take seconds. */
#define STATUS_TIMEOUT_S 10

/* Connects to path; the words say whether no gateway runs or it is
 * something else. */
static int control_connect(const char *path, int *fd_out, struct fw_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = STATUS_TIMEOUT_S };
	int fd;

	*fd_out = -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fw_err_sys(err, errno, "cannot create a socket");
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0) {
		int e = errno;

		close(fd);
		return fw_err_sys(err, e, "cannot set the socket's time-outs");
	}
	if (connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;

		close(fd);
		if (e == ENOENT || e == ECONNREFUSED)
			return fw_err_setc(err, FW_E_NOTFOUND, "no gateway is running on this state directory (%s: %s); "
					   "start one with fwgate run", path, e == ENOENT ? "no control socket" :
					   "nothing answers on the control socket");
		return fw_err_sys(err, e, "cannot connect to the gateway's control socket %s", path);
	}
	*fd_out = fd;
	return 0;
}

/* Sends "status" and reads the whole answer (the gateway closes after
 * it) into a new buffer. */
static int control_ask(int fd, char **out, size_t *len, struct fw_err *err)
{
	static const char req[] = "status\n";
	size_t cap = 64 * 1024, n = 0;
	char *buf = malloc(cap);

	*out = NULL;
	if (buf == NULL)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof(req) - 1)) {
		free(buf);
		return fw_err_sys(err, errno, "cannot send the request to the gateway");
	}
	for (;;) {
		ssize_t got;

		if (n == cap) {
			char *bigger = cap < RUN_CONTROL_ANSWER_MAX ? realloc(buf, cap * 2) : NULL;

			if (bigger == NULL) {
				free(buf);
				return fw_err_set(err, "the gateway's answer is larger than %d bytes", RUN_CONTROL_ANSWER_MAX);
			}
			buf = bigger;
			cap *= 2;
		}
		got = recv(fd, buf + n, cap - n, 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			int e = errno;

			free(buf);
			if (e == EAGAIN || e == EWOULDBLOCK)
				return fw_err_set(err, "the gateway did not answer within %d s", STATUS_TIMEOUT_S);
			return fw_err_sys(err, e, "cannot read the gateway's answer");
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	*out = buf;
	*len = n;
	return 0;
}

static int status_fetch(const struct fw_config *cfg, json_t **doc, struct fw_err *err)
{
	char path[FW_PATH_MAX], *answer = NULL;
	json_error_t jerr;
	size_t len = 0;
	int fd = -1, rc = -1;

	*doc = NULL;
	if (run_control_path(cfg, path, sizeof(path), err) != 0 || control_connect(path, &fd, err) != 0 ||
	    control_ask(fd, &answer, &len, err) != 0)
		goto out;
	if (len == 0 || answer[len - 1] != '\n') {
		fw_err_set(err, "the gateway's answer ended early (%zu bytes, no end of line)", len);
		goto out;
	}
	*doc = json_loadb(answer, len, JSON_REJECT_DUPLICATES, &jerr);
	if (*doc == NULL || !json_is_object(*doc)) {
		fw_err_set(err, "the gateway's answer is not a JSON object: %s", *doc == NULL ? jerr.text : "another type");
		json_decref(*doc);
		*doc = NULL;
		goto out;
	}
	if (json_is_string(json_object_get(*doc, "error"))) {
		fw_err_set(err, "the gateway says: %s", json_string_value(json_object_get(*doc, "error")));
		json_decref(*doc);
		*doc = NULL;
		goto out;
	}
	rc = 0;
out:
	free(answer);
	if (fd >= 0)
		close(fd);
	return rc;
}

int cmd_status(struct cli_ctx *ctx, int argc, char **argv)
{
	struct fw_err err;
	bool json = false;
	json_t *doc = NULL;
	int rc;

	fw_err_clear(&err);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else
			return cli_is_option(argv[i]) ? cli_usage_error("status", "unknown option \"%s\"", argv[i])
						      : cli_usage_error("status", "takes no arguments");
	}
	rc = cli_load_config(ctx);
	if (rc != CLI_OK)
		return rc;
	if (status_fetch(ctx->cfg, &doc, &err) != 0) {
		fprintf(stderr, "fwgate status: %s\n", fw_err_msg(&err));
		return CLI_ERROR;
	}
	if (json) {
		if (json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII) != 0)
			rc = CLI_ERROR;
		fputc('\n', stdout);
	} else {
		status_doc_print(doc, stdout);
	}
	json_decref(doc);
	if (fflush(stdout) != 0)
		rc = CLI_ERROR;
	return rc;
}
