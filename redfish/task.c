/* The push (fw_redfish_push_run): service root -> UpdateService ->
 * SimpleUpdate POST -> the Task, polled until it ends, honouring
 * Retry-After, within one deadline. Every URL the BMC gives is resolved on
 * the BMC's origin first (redfish/parse.c); must not send anything to
 * another host, nor judge the image (the caller did). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "redfish/redfish_int.h"

/* Bounds on one request and on the wait between polls. */
#define TASK_REQUEST_SECONDS 60u
#define TASK_POLL_DEFAULT_SECONDS 2u
#define TASK_POLL_MAX_SECONDS 60u

struct push_run {
	const struct fw_redfish_push *p;
	struct fw_redfish_result *r;
	struct rf_conn conn;
	struct timespec deadline;
};

static double task_left(const struct push_run *run)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(run->deadline.tv_sec - now.tv_sec) + (double)(run->deadline.tv_nsec - now.tv_nsec) / 1e9;
}

/* One request's bound: TASK_REQUEST_SECONDS, never past the deadline. */
static int task_request(struct push_run *run, const char *url, const char *json, struct rf_answer *a,
			struct fw_err *err)
{
	double left = task_left(run);

	if (left < 1.0)
		return fw_err_setc(err, FW_E_TIMEOUT, "no time left (--timeout %u s)", run->p->timeout_seconds);
	return rf_request(&run->conn, url, json, left > TASK_REQUEST_SECONDS ? TASK_REQUEST_SECONDS : (unsigned)left,
			  a, err);
}

/* An HTTP error answer as the BMC's refusal, with its own words. */
static int task_refused(const struct rf_answer *a, const char *what, struct fw_err *err)
{
	char words[FW_REDFISH_MESSAGE_MAX];

	fw_redfish_error_text(a->body, a->len, words, sizeof(words));
	if (a->status == 401)
		return fw_err_setc(err, FW_E_DENIED, "%s: the BMC refused the credentials (401 Unauthorized)%s%s", what,
				   words[0] ? ": " : "", words);
	return fw_err_setc(err, FW_E_DENIED, "%s: the BMC answered %ld%s%s", what, a->status, words[0] ? ": " : "",
			   words);
}

/* GET a resource of the BMC that must answer 200. */
static int task_get_resource(struct push_run *run, const char *url, const char *what, struct rf_answer *a,
			     struct fw_err *err)
{
	if (task_request(run, url, NULL, a, err) != 0)
		return fw_err_prefix(err, "%s", what);
	if (a->status != 200) {
		task_refused(a, what, err);
		rf_answer_free(a);
		return -1;
	}
	return 0;
}

/* Service root and UpdateService: the SimpleUpdate target, and whether
 * the BMC can fetch over the mirror's protocol. */
static int task_discover(struct push_run *run, struct fw_err *err)
{
	struct fw_redfish_update_service us;
	struct rf_answer a;
	char ref[FW_REDFISH_URL_MAX];
	bool https = strcmp(run->p->transfer_protocol, "HTTPS") == 0;
	int rc = -1;

	if (task_get_resource(run, run->conn.root, "the service root", &a, err) != 0)
		return -1;
	if (fw_redfish_parse_root(a.body, a.len, ref, sizeof(ref), err) != 0 ||
	    fw_redfish_resolve(&run->conn.origin, ref, strlen(ref), run->r->update_service,
			       sizeof(run->r->update_service), err) != 0) {
		fw_err_prefix(err, "the service root's UpdateService");
		goto out;
	}
	rf_answer_free(&a);
	if (task_get_resource(run, run->r->update_service, "the UpdateService", &a, err) != 0)
		return -1;
	if (fw_redfish_parse_update_service(a.body, a.len, &us, err) != 0 ||
	    fw_redfish_resolve(&run->conn.origin, us.target, strlen(us.target), run->r->target, sizeof(run->r->target),
			       err) != 0) {
		fw_err_prefix(err, "the UpdateService");
		goto out;
	}
	if (https ? !us.https_allowed : !us.http_allowed) {
		fw_err_setc(err, FW_E_DENIED, "the BMC's SimpleUpdate does not allow TransferProtocol %s",
			    run->p->transfer_protocol);
		goto out;
	}
	rc = 0;
out:
	rf_answer_free(&a);
	return rc;
}

/* The SimpleUpdate body; the mirror password is wiped by the caller. */
static char *task_body(const struct fw_redfish_push *p)
{
	json_t *doc = json_pack("{s:s, s:s}", "ImageURI", p->image_uri, "TransferProtocol", p->transfer_protocol);
	char *s;

	if (doc == NULL)
		return NULL;
	if (p->mirror_user != NULL &&
	    (json_object_set_new(doc, "Username", json_string(p->mirror_user)) != 0 ||
	     json_object_set_new(doc, "Password", json_string(p->mirror_password != NULL ? p->mirror_password : "")) !=
		     0)) {
		json_decref(doc);
		return NULL;
	}
	s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return s;
}

/* Where the task is: the Task in the body (its @odata.id), else the
 * Location field. "" with 0 when the BMC gave neither. */
static int task_where(struct push_run *run, const struct rf_answer *a, struct fw_err *err)
{
	struct fw_redfish_task t;
	struct fw_err ignored;

	fw_err_clear(&ignored);
	if (a->n_location > 1 || a->location_long)
		return fw_err_setc(err, FW_E_INVALID, "the BMC's answer to SimpleUpdate has a bad Location field");
	if (a->len > 0 && fw_redfish_is_task(a->body, a->len)) {
		if (fw_redfish_parse_task(a->body, a->len, &t, err) != 0)
			return fw_err_prefix(err, "the BMC's answer to SimpleUpdate");
		run->r->task = t;
		if (t.odata_id[0] != '\0')
			return fw_redfish_resolve(&run->conn.origin, t.odata_id, strlen(t.odata_id), run->r->task_url,
						  sizeof(run->r->task_url), err) == 0
				       ? 0
				       : fw_err_prefix(err, "the Task's @odata.id");
	}
	if (a->location_len > 0)
		return fw_redfish_resolve(&run->conn.origin, a->location, a->location_len, run->r->task_url,
					  sizeof(run->r->task_url), err) == 0
			       ? 0
			       : fw_err_prefix(err, "the Location of the task");
	return 0;
}

static int task_post(struct push_run *run, struct fw_err *err)
{
	struct rf_answer a;
	char *body = task_body(run->p);
	int rc = -1;

	memset(&a, 0, sizeof(a));
	if (body == NULL)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	if (task_request(run, run->r->target, body, &a, err) != 0) {
		fw_err_prefix(err, "SimpleUpdate");
		goto out;
	}
	run->r->post_status = (int)a.status;
	if (a.status < 200 || a.status > 299) {
		task_refused(&a, "SimpleUpdate", err);
		goto out;
	}
	if (task_where(run, &a, err) != 0)
		goto out;
	if (run->r->task_url[0] == '\0' && a.status == 202) {
		fw_err_setc(err, FW_E_INVALID, "the BMC accepted SimpleUpdate (202) without a Task or a Location to follow");
		goto out;
	}
	run->r->end = run->r->task_url[0] == '\0' ? FW_REDFISH_NO_TASK : FW_REDFISH_TASK_ENDED;
	rc = 0;
out:
	rf_answer_free(&a);
	OPENSSL_cleanse(body, strlen(body));
	free(body);
	return rc;
}

static bool task_changed(const struct fw_redfish_task *a, const struct fw_redfish_task *b)
{
	return a->state != b->state || a->percent != b->percent || a->total_messages != b->total_messages ||
	       strcmp(a->status, b->status) != 0;
}

static void task_sleep(double seconds)
{
	struct timespec ts = { (time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9) };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Polls the task until it ends or the deadline passes. */
static int task_follow(struct push_run *run, struct fw_err *err)
{
	struct fw_redfish_task t, last = run->r->task;
	struct rf_answer a;
	bool first = true;
	double wait, left;
	int rc;

	for (;;) {
		rc = task_request(run, run->r->task_url, NULL, &a, err);
		if (rc != 0)
			return fw_err_prefix(err, "the task");
		if (a.status != 200 && a.status != 202) {
			task_refused(&a, "the task", err);
			rf_answer_free(&a);
			return -1;
		}
		rc = fw_redfish_parse_task(a.body, a.len, &t, err);
		wait = a.retry_after > 0 ? (double)a.retry_after
					 : (double)(run->p->poll_seconds ? run->p->poll_seconds : TASK_POLL_DEFAULT_SECONDS);
		rf_answer_free(&a);
		if (rc != 0)
			return fw_err_prefix(err, "%s", run->r->task_url);
		run->r->task = t;
		if ((first || task_changed(&t, &last)) && run->p->progress != NULL)
			run->p->progress(run->p->progress_arg, &t);
		first = false;
		last = t;
		if (fw_redfish_task_state_final(t.state))
			return 0;
		if (wait > TASK_POLL_MAX_SECONDS)
			wait = TASK_POLL_MAX_SECONDS;
		/* The last poll comes 1.5 s before the deadline, sooner
		 * than Retry-After asks when that is later. */
		left = task_left(run);
		if (left < 2.0)
			return fw_err_setc(err, FW_E_TIMEOUT, "the task is still %s after --timeout %u s",
					   fw_redfish_task_state_name(t.state), run->p->timeout_seconds);
		task_sleep(wait < left - 1.5 ? wait : left - 1.5);
	}
}

int fw_redfish_push_run(const struct fw_redfish_push *p, struct fw_redfish_result *r, struct fw_err *err)
{
	struct push_run run = { .p = p, .r = r };
	int rc = -1;

	memset(r, 0, sizeof(*r));
	r->task.percent = -1;
	clock_gettime(CLOCK_MONOTONIC, &run.deadline);
	run.deadline.tv_sec += p->timeout_seconds;
	if (p->image_uri == NULL || p->transfer_protocol == NULL)
		return fw_err_setc(err, FW_E_INVALID, "no ImageURI or TransferProtocol");
	if (rf_conn_open(&run.conn, p, err) != 0)
		goto out;
	if (task_discover(&run, err) != 0 || task_post(&run, err) != 0)
		goto out;
	if (r->end == FW_REDFISH_TASK_ENDED && task_follow(&run, err) != 0)
		goto out;
	r->ok = r->end == FW_REDFISH_NO_TASK ||
		(r->task.state == FW_TASK_COMPLETED && strcmp(r->task.status, "OK") == 0);
	rc = 0;
out:
	rf_conn_close(&run.conn);
	return rc;
}
