/* fwgate push BMC_URL --image SHA256: a vetted image to a BMC through
 * Redfish SimpleUpdate, its ImageURI on the mirror, the task followed to
 * its end (redfish/). Checks the image's state in the store first (only
 * approved and released images leave), reads the passwords from files,
 * prints progress, audits the outcome. Holds no Redfish or store logic. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "cli/cli.h"
#include "cli/cli_store.h"
#include "fwgate/event.h"
#include "fwgate/fileio.h"
#include "fwgate/redfish.h"
#include "fwgate/store.h"

#define PUSH_TIMEOUT_DEFAULT 1800u
#define PUSH_TIMEOUT_MAX 86400u
#define PUSH_NAME_MAX 128
#define PUSH_SECRET_MAX 1024

struct push_opts {
	const char *bmc_url;
	const char *image;
	const char *name;
	const char *user;
	const char *password_file;
	const char *bmc_ca;
	const char *mirror_user;
	const char *mirror_password_file;
	const char *timeout;
	bool json;
	unsigned timeout_seconds;
	char sha256[FW_SHA256_HEX_LEN + 1];
};

static const struct {
	const char *name;
	size_t field; /* offsetof the value in struct push_opts; 0: --json */
} push_optv[] = {
	{ "--json", 0 },
	{ "--image", offsetof(struct push_opts, image) },
	{ "--name", offsetof(struct push_opts, name) },
	{ "--user", offsetof(struct push_opts, user) },
	{ "--password-file", offsetof(struct push_opts, password_file) },
	{ "--bmc-ca", offsetof(struct push_opts, bmc_ca) },
	{ "--mirror-user", offsetof(struct push_opts, mirror_user) },
	{ "--mirror-password-file", offsetof(struct push_opts, mirror_password_file) },
	{ "--timeout", offsetof(struct push_opts, timeout) },
};

static int push_opt_one(int argc, char **argv, int *i, struct push_opts *o)
{
	for (size_t k = 0; k < FW_ARRAY_LEN(push_optv); k++) {
		const char **v = (const char **)(void *)((char *)o + push_optv[k].field);

		if (strcmp(argv[*i], push_optv[k].name) != 0)
			continue;
		if (push_optv[k].field == 0) {
			if (o->json)
				return cli_usage_error("push", "--json is given twice");
			o->json = true;
			return CLI_OK;
		}
		if (*v != NULL)
			return cli_usage_error("push", "%s is given twice", argv[*i]);
		if (*i + 1 >= argc || argv[*i + 1][0] == '\0')
			return cli_usage_error("push", "%s needs a value", argv[*i]);
		*v = argv[++*i];
		return CLI_OK;
	}
	return cli_usage_error("push", "unknown option \"%s\"", argv[*i]);
}

/* A file name as the mirror URL's last segment: [A-Za-z0-9._-], not "."
 * or "..", at most PUSH_NAME_MAX bytes. */
static bool push_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > PUSH_NAME_MAX || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static int push_check(struct push_opts *o)
{
	struct fw_redfish_origin origin;
	struct fw_err err;
	size_t n;
	char *end;
	unsigned long t;

	fw_err_clear(&err);
	if (o->bmc_url == NULL)
		return cli_usage_error("push", "needs BMC_URL (https://HOST[:PORT])");
	if (fw_redfish_origin_parse(o->bmc_url, &origin, &err) != 0)
		return cli_usage_error("push", "%s", fw_err_msg(&err));
	if (o->image == NULL)
		return cli_usage_error("push", "needs --image SHA256");
	n = strlen(o->image);
	if (n != FW_SHA256_HEX_LEN || strspn(o->image, "0123456789abcdefABCDEF") != n)
		return cli_usage_error("push", "--image needs a SHA-256 (64 hex digits)");
	for (size_t i = 0; i <= n; i++)
		o->sha256[i] = (char)((o->image[i] >= 'A' && o->image[i] <= 'F') ? o->image[i] + 32 : o->image[i]);
	if (o->name != NULL && !push_name_valid(o->name))
		return cli_usage_error("push", "--name needs 1 to %d of A-Z a-z 0-9 . _ - (not . or ..)", PUSH_NAME_MAX);
	if ((o->user == NULL) != (o->password_file == NULL))
		return cli_usage_error("push", "--user and --password-file go together");
	if ((o->mirror_user == NULL) != (o->mirror_password_file == NULL))
		return cli_usage_error("push", "--mirror-user and --mirror-password-file go together");
	o->timeout_seconds = PUSH_TIMEOUT_DEFAULT;
	if (o->timeout != NULL) {
		t = strtoul(o->timeout, &end, 10);
		if (o->timeout[0] < '0' || o->timeout[0] > '9' || *end != '\0' || t < 1 || t > PUSH_TIMEOUT_MAX)
			return cli_usage_error("push", "--timeout needs seconds from 1 to %u", PUSH_TIMEOUT_MAX);
		o->timeout_seconds = (unsigned)t;
	}
	return CLI_OK;
}

/* The first line of path into buf (without its end of line); never empty. */
static int push_read_secret(const char *path, const char *what, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	buf[0] = '\0';
	if (f == NULL) {
		fprintf(stderr, "fwgate push: cannot read the %s in %s: %s\n", what, path, strerror(errno));
		return -1;
	}
	if (fgets(buf, (int)len, f) == NULL)
		buf[0] = '\0';
	fclose(f);
	n = strcspn(buf, "\r\n");
	if (n == len - 1) {
		OPENSSL_cleanse(buf, len);
		fprintf(stderr, "fwgate push: the %s in %s is longer than %zu bytes\n", what, path, len - 2);
		return -1;
	}
	buf[n] = '\0';
	if (n == 0) {
		fprintf(stderr, "fwgate push: %s: no %s on its first line\n", path, what);
		return -1;
	}
	return 0;
}

/* The last path segment of object id's newest URL, sanitized, into name
 * (or "" when nothing is left). */
static int push_object_name(struct fw_store *st, int64_t id, char *name, size_t len, struct fw_err *err)
{
	json_t *doc = NULL, *url;
	size_t k = 0;
	const char *u, *seg;

	name[0] = '\0';
	if (fw_store_object_show(st, id, &doc, err) != 0)
		return -1;
	url = json_array_get(json_object_get(doc, "urls"), 0);
	u = json_is_object(url) ? cli_json_str(url, "url") : "";
	seg = u + strcspn(u, "?#");
	while (seg > u && seg[-1] != '/')
		seg--;
	for (; *seg != '\0' && *seg != '?' && *seg != '#' && k + 1 < len && k < PUSH_NAME_MAX; seg++)
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-", *seg) != NULL)
			name[k++] = *seg;
	name[k] = '\0';
	if (!push_name_valid(name))
		name[0] = '\0';
	json_decref(doc);
	return 0;
}

/* <mirror base>/firmware/<sha256>/<name>: [mirror] url, else the listener
 * that serves the mirror under [console] name. */
static int push_image_uri(const struct fw_config *cfg, const char *sha256, const char *name, char *out, size_t len,
			  const char **protocol, struct fw_err *err)
{
	const struct fw_listen_addr *l = cfg->mirror.listen.port != 0 ? &cfg->mirror.listen : &cfg->console.listen;
	char base[FW_URL_MAX + 16];
	size_t n;

	if (cfg->mirror.url[0] != '\0')
		snprintf(base, sizeof(base), "%s", cfg->mirror.url);
	else if (l->port != 0)
		snprintf(base, sizeof(base), "https://%s:%u", cfg->console.name, (unsigned)l->port);
	else
		return fw_err_setc(err, FW_E_CONFIG, "no mirror: the console is off and [mirror] url is empty");
	n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		base[--n] = '\0';
	*protocol = strncmp(base, "https://", 8) == 0 ? "HTTPS" : "HTTP";
	if (snprintf(out, len, "%s/firmware/%s/%s", base, sha256, name) >= (int)len)
		return fw_err_setc(err, FW_E_LIMIT, "the ImageURI is too long");
	return 0;
}

static void push_progress(void *arg FW_UNUSED, const struct fw_redfish_task *t)
{
	printf("task %s: %s", t->id[0] ? t->id : "-", fw_redfish_task_state_name(t->state));
	if (t->percent >= 0)
		printf(" %d%%", t->percent);
	if (t->status[0] != '\0')
		printf(" (%s)", t->status);
	if (t->n_messages > 0)
		printf(": %s", t->messages[t->n_messages - 1]);
	printf("\n");
	fflush(stdout);
}

/* What one push came to, for the output and the audit. */
struct push_done {
	const char *outcome;   /* completed, failed, accepted, refused, error, timeout */
	int exit_code;
	char error[FW_ERR_MSG_MAX];
};

static void push_judge(int rc, const struct fw_redfish_result *r, const struct fw_err *err, struct push_done *d)
{
	d->error[0] = '\0';
	if (rc != 0) {
		snprintf(d->error, sizeof(d->error), "%s", fw_err_msg(err));
		d->outcome = fw_err_code(err) == FW_E_DENIED ? "refused" : fw_err_code(err) == FW_E_TIMEOUT ? "timeout"
											      : "error";
		d->exit_code = fw_err_code(err) == FW_E_DENIED ? CLI_BLOCKED : CLI_ERROR;
	} else if (r->end == FW_REDFISH_NO_TASK) {
		d->outcome = "accepted";
		d->exit_code = CLI_OK;
	} else {
		d->outcome = r->ok ? "completed" : "failed";
		d->exit_code = r->ok ? CLI_OK : CLI_BLOCKED;
	}
}

static json_t *push_task_json(const struct fw_redfish_result *r)
{
	const struct fw_redfish_task *t = &r->task;
	json_t *msgs = json_array();

	for (size_t i = 0; msgs != NULL && i < t->n_messages; i++)
		json_array_append_new(msgs, json_string(t->messages[i]));
	return json_pack("{s:s, s:s, s:s, s:s*, s:o, s:o}", "url", r->task_url, "id", t->id, "state",
			 fw_redfish_task_state_name(t->state), "status", t->status[0] ? t->status : NULL, "percent",
			 t->percent >= 0 ? json_integer(t->percent) : json_null(), "messages",
			 msgs != NULL ? msgs : json_array());
}

static int push_print(const struct push_opts *o, const char *name, const char *uri, const char *state,
		      const struct fw_redfish_result *r, const struct push_done *d)
{
	json_t *doc;
	int rc;

	if (!o->json) {
		if (d->error[0] != '\0')
			fprintf(stderr, "fwgate push: %s\n", d->error);
		else if (r == NULL)
			return d->exit_code;
		else if (r->end == FW_REDFISH_NO_TASK)
			printf("the BMC accepted the update (%d) without a task to follow: check its firmware inventory\n",
			       r->post_status);
		else
			printf("task %s: %s%s%s\n", r->task.id[0] ? r->task.id : r->task_url,
			       fw_redfish_task_state_name(r->task.state), r->task.status[0] ? ", TaskStatus " : "",
			       r->task.status);
		if (r != NULL && d->error[0] == '\0' && d->exit_code != CLI_OK)
			fprintf(stderr, "fwgate push: the update failed on the BMC: %s\n",
				r->task.n_messages > 0 ? r->task.messages[r->task.n_messages - 1]
						       : "the task ended without TaskStatus OK");
		return d->exit_code;
	}
	doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s*}", "bmc", o->bmc_url, "image", o->sha256, "name",
			name, "image_uri", uri, "state", state, "result", d->outcome, "exit", d->exit_code, "error",
			d->error[0] ? d->error : NULL);
	if (doc == NULL)
		return CLI_ERROR;
	if (r != NULL && r->update_service[0] != '\0') {
		json_object_set_new(doc, "update_service", json_string(r->update_service));
		json_object_set_new(doc, "target", json_string(r->target));
		json_object_set_new(doc, "post_status", json_integer(r->post_status));
		json_object_set_new(doc, "task", r->task_url[0] ? push_task_json(r) : json_null());
	}
	rc = cli_print_json(doc);
	json_decref(doc);
	return rc == CLI_OK ? d->exit_code : rc;
}

/* The audit row of the attempt: who, where, what, and how it ended. */
static int push_audit(struct fw_store *st, int64_t id, const struct push_opts *o, const char *name,
		      const struct fw_redfish_result *r, const struct push_done *d)
{
	char detail[2 * FW_ERR_MSG_MAX];
	struct fw_err err;

	fw_err_clear(&err);
	snprintf(detail, sizeof(detail), "bmc %.300s image %s name %s: %s%s%s%s%s", o->bmc_url, o->sha256, name,
		 d->outcome, r != NULL && r->task_url[0] ? ", task " : "",
		 r != NULL && r->task_url[0] ? fw_redfish_task_state_name(r->task.state) : "",
		 d->error[0] ? ": " : "", d->error);
	if (fw_store_audit_append(st, "bmc-push", cli_login_name(), id, detail, &err) != 0) {
		fprintf(stderr, "fwgate push: cannot audit the push: %s\n", fw_err_msg(&err));
		return -1;
	}
	return 0;
}

/* The push's event for the SIEM, in the gateway's event log ([log]); a
 * log that cannot be written is said, the audit row stays the record. */
static void push_event(const struct fw_config *cfg, const struct push_opts *o, const char *uri,
		       const struct fw_redfish_result *r, const struct push_done *d)
{
	const struct fw_event_field extra[] = {
		{ "fwgate.bmc", o->bmc_url, 0 },
		{ "fwgate.task_state", r != NULL && r->task_url[0] ? fw_redfish_task_state_name(r->task.state) : NULL, 0 },
		{ "fwgate.push_result", d->outcome, 0 },
		{ "user.name", cli_login_name(), 0 },
	};
	struct fw_event ev = { .action = "bmc-push", .url = uri[0] ? uri : NULL, .sha256 = o->sha256,
			       .reason = d->error[0] ? d->error : NULL, .extra = extra, .n_extra = FW_ARRAY_LEN(extra) };
	char path[FW_PATH_MAX];
	struct fw_evlog *log = NULL;
	struct fw_err err;

	fw_err_clear(&err);
	ev.outcome = d->exit_code == CLI_OK ? FW_OUTCOME_SUCCESS : FW_OUTCOME_FAILURE;
	if (cfg->log.file[0] == '\0' ? fw_path_join(path, sizeof(path), cfg->state.dir, "events.log", &err) != 0
				     : snprintf(path, sizeof(path), "%s", cfg->log.file) >= (int)sizeof(path))
		fw_err_set(&err, "the event log path is too long");
	else if (fw_evlog_open(&log, path, cfg->log.syslog, cfg->log.syslog_facility, &err) == 0 &&
		 fw_evlog_emit(log, &ev) != 0)
		fw_err_set(&err, "cannot write to %s", path);
	fw_evlog_close(log);
	if (fw_err_isset(&err))
		fprintf(stderr, "fwgate push: warning: no event: %s\n", fw_err_msg(&err));
}

/* The BMC's part: passwords, the push, its output and audit. */
static int push_send(struct cli_ctx *ctx, struct fw_store *st, const struct push_opts *o, int64_t id,
		     const char *name, const char *state)
{
	struct fw_redfish_result r;
	char pw[PUSH_SECRET_MAX + 2] = "", mpw[PUSH_SECRET_MAX + 2] = "", uri[FW_URL_MAX + 256];
	struct fw_redfish_push p = { 0 };
	struct push_done d = { "error", CLI_ERROR, "" };
	struct fw_err err;
	int rc;

	fw_err_clear(&err);
	if (push_image_uri(ctx->cfg, o->sha256, name, uri, sizeof(uri), &p.transfer_protocol, &err) != 0) {
		fprintf(stderr, "fwgate push: %s\n", fw_err_msg(&err));
		return CLI_ERROR;
	}
	/* The mirror's password would cross the BMC network in the clear. */
	if (o->mirror_user != NULL && strcmp(p.transfer_protocol, "HTTPS") != 0) {
		fprintf(stderr, "fwgate push: --mirror-user needs an https:// mirror ([mirror] url is %s)\n",
			ctx->cfg->mirror.url);
		return CLI_ERROR;
	}
	if ((o->password_file != NULL && push_read_secret(o->password_file, "BMC password", pw, sizeof(pw)) != 0) ||
	    (o->mirror_password_file != NULL &&
	     push_read_secret(o->mirror_password_file, "mirror password", mpw, sizeof(mpw)) != 0)) {
		rc = CLI_ERROR;
		goto out;
	}
	p.bmc_url = o->bmc_url;
	p.user = o->user;
	p.password = o->user != NULL ? pw : NULL;
	p.ca_file = o->bmc_ca;
	p.image_uri = uri;
	p.mirror_user = o->mirror_user;
	p.mirror_password = o->mirror_user != NULL ? mpw : NULL;
	p.timeout_seconds = o->timeout_seconds;
	p.progress = o->json ? NULL : push_progress;
	if (!o->json)
		printf("pushing %s to %s\nImageURI %s\n", o->sha256, o->bmc_url, uri);
	rc = fw_redfish_push_run(&p, &r, &err);
	push_judge(rc, &r, &err, &d);
	rc = push_print(o, name, uri, state, &r, &d);
	push_event(ctx->cfg, o, uri, &r, &d);
	if (push_audit(st, id, o, name, &r, &d) != 0)
		rc = CLI_ERROR;
out:
	OPENSSL_cleanse(pw, sizeof(pw));
	OPENSSL_cleanse(mpw, sizeof(mpw));
	return rc;
}

int cmd_push(struct cli_ctx *ctx, int argc, char **argv)
{
	struct push_opts o = { 0 };
	struct fw_store *st = NULL;
	enum fw_object_state state = FW_OBJ_QUARANTINED;
	char name[PUSH_NAME_MAX + 1] = "";
	struct fw_err err;
	int64_t id = 0;
	int rc, known;

	fw_err_clear(&err);
	for (int i = 1; i < argc; i++) {
		if (cli_is_option(argv[i]))
			rc = push_opt_one(argc, argv, &i, &o);
		else
			rc = o.bmc_url == NULL ? (o.bmc_url = argv[i], CLI_OK) : cli_usage_error("push", "one BMC_URL only");
		if (rc != CLI_OK)
			return rc;
	}
	rc = push_check(&o);
	if (rc == CLI_OK)
		rc = cli_store_open(ctx, "push", &st);
	if (rc != CLI_OK)
		return rc;
	known = fw_store_lookup_hash(st, o.sha256, &state, &id, &err);
	if (known < 0) {
		fprintf(stderr, "fwgate push: %s\n", fw_err_msg(&err));
		rc = CLI_ERROR;
	} else if (known == 0 || !fw_object_state_servable(state)) {
		/* Nothing but vetted bytes leaves for a BMC. */
		struct push_done d = { "refused", CLI_BLOCKED, "" };

		snprintf(d.error, sizeof(d.error), "%s is %s%s; only approved or released images are pushed", o.sha256,
			 known == 0 ? "not in the store" : "", known == 0 ? "" : fw_object_state_name(state));
		rc = push_print(&o, o.name != NULL ? o.name : "", "", known == 0 ? "unknown" : fw_object_state_name(state),
				NULL, &d);
		push_event(ctx->cfg, &o, "", NULL, &d);
		if (push_audit(st, 0, &o, o.name != NULL ? o.name : "-", NULL, &d) != 0)
			rc = CLI_ERROR;
	} else if (push_object_name(st, id, name, sizeof(name), &err) != 0) {
		fprintf(stderr, "fwgate push: %s\n", fw_err_msg(&err));
		rc = CLI_ERROR;
	} else if (o.name == NULL && name[0] == '\0') {
		rc = cli_usage_error("push", "the image's URL gives no file name: give --name FILE_NAME");
	} else {
		rc = push_send(ctx, st, &o, id, o.name != NULL ? o.name : name, fw_object_state_name(state));
	}
	fw_store_close(st);
	return rc;
}
