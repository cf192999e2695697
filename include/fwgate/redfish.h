/* redfish/: a small Redfish client for one job, pushing a vetted image to a
 * BMC: UpdateService.SimpleUpdate with an ImageURI on the mirror, then the
 * Task it returns, followed to its end (DMTF DSP0266, the UpdateService and
 * Task schemas). Must not follow a URL of the BMC's to another origin (the
 * BMC would make fwgate send its credentials anywhere), read an unbounded
 * body, or decide what is pushed: the caller checked the store.
 * Thread-safety: no shared state; a struct fw_redfish belongs to one thread. */
#ifndef FWGATE_REDFISH_H
#define FWGATE_REDFISH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fwgate/err.h"

/* Bound on every body read from a BMC (a Redfish resource is a few KiB). */
#define FW_REDFISH_BODY_MAX (1024u * 1024u)
/* Bounds on what is kept of a Task: its messages, and each message. */
#define FW_REDFISH_MESSAGES_MAX 8
#define FW_REDFISH_MESSAGE_MAX 512
#define FW_REDFISH_URL_MAX 2048
#define FW_REDFISH_NAME_MAX 128

/* ------------------------------------------------------------ pure parsing (redfish/parse.c) */

/* The origin of the BMC: scheme https, host, port. Every URL the BMC hands
 * back is followed only when it has this origin. */
struct fw_redfish_origin {
	char host[256];   /* lower case; an IPv6 literal with its brackets */
	unsigned port;    /* 443 when the URL names none */
};

/* Parses BMC_URL: https only, no user, query or fragment; a path of "",
 * "/", "/redfish/v1" or "/redfish/v1/" only. */
int fw_redfish_origin_parse(const char *url, struct fw_redfish_origin *o, struct fw_err *err) FW_WUR FW_NONNULL(1, 2);

/* A reference the BMC gave (an @odata.id, a Location header, an action
 * target) as an absolute URL of the BMC's origin into out: an absolute
 * path ("/redfish/v1/...") or an absolute https URL of the same origin,
 * under /redfish/v1, without userinfo, fragment, "..", controls, spaces or
 * backslashes. Anything else is refused (FW_E_INVALID) and names what. */
int fw_redfish_resolve(const struct fw_redfish_origin *o, const char *ref, size_t ref_len, char *out, size_t out_len,
		       struct fw_err *err) FW_WUR FW_NONNULL(1, 2, 4);

/* The service root: UpdateService's @odata.id into out (unresolved). */
int fw_redfish_parse_root(const uint8_t *p, size_t len, char *out, size_t out_len, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 3);

struct fw_redfish_update_service {
	char target[FW_REDFISH_URL_MAX];   /* Actions["#UpdateService.SimpleUpdate"].target, unresolved */
	bool protocols_listed;             /* TransferProtocol@Redfish.AllowableValues was there */
	bool https_allowed;                /* ... and names HTTPS (or it was absent) */
	bool http_allowed;
};

/* The UpdateService resource: refused when ServiceEnabled is false, when
 * SimpleUpdate has no target, or when a field has the wrong type. */
int fw_redfish_parse_update_service(const uint8_t *p, size_t len, struct fw_redfish_update_service *us,
				    struct fw_err *err) FW_WUR FW_NONNULL(1, 3);

/* Task states of the Task schema (TaskState). */
enum fw_redfish_task_state {
	FW_TASK_NEW = 0, FW_TASK_STARTING, FW_TASK_RUNNING, FW_TASK_SUSPENDED, FW_TASK_INTERRUPTED,
	FW_TASK_PENDING, FW_TASK_STOPPING, FW_TASK_COMPLETED, FW_TASK_KILLED, FW_TASK_EXCEPTION,
	FW_TASK_SERVICE, FW_TASK_CANCELLING, FW_TASK_CANCELLED,
};

/* "Running", ... as the schema spells them; -1 when name is none of them. */
int fw_redfish_task_state_parse(const char *name, enum fw_redfish_task_state *s) FW_WUR FW_NONNULL(1, 2);
const char *fw_redfish_task_state_name(enum fw_redfish_task_state s);
/* True for Completed, Killed, Exception, Cancelled: the task has ended. */
bool fw_redfish_task_state_final(enum fw_redfish_task_state s);

struct fw_redfish_task {
	char id[FW_REDFISH_NAME_MAX];        /* Id, "" when absent */
	char odata_id[FW_REDFISH_URL_MAX];   /* @odata.id, "" when absent (unresolved) */
	enum fw_redfish_task_state state;
	char status[16];                     /* TaskStatus: OK, Warning, Critical; "" when absent */
	int percent;                         /* PercentComplete 0..100, -1 when absent or null */
	char messages[FW_REDFISH_MESSAGES_MAX][FW_REDFISH_MESSAGE_MAX]; /* the last ones, oldest first */
	size_t n_messages;
	size_t total_messages;               /* how many the Task listed */
};

/* A Task resource (TaskState required, a schema name; the rest typed or
 * refused). Message texts are kept printable (controls become '?') and cut
 * at FW_REDFISH_MESSAGE_MAX. */
int fw_redfish_parse_task(const uint8_t *p, size_t len, struct fw_redfish_task *t, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 3);

/* True when the body parses as a JSON object with a TaskState member. */
bool fw_redfish_is_task(const uint8_t *p, size_t len) FW_NONNULL(1);

/* The words of a Redfish error answer ({"error": {"message", "@Message.ExtendedInfo":
 * [{"Message"}]}}) into out, printable and cut; "" when there are none. */
void fw_redfish_error_text(const uint8_t *p, size_t len, char *out, size_t out_len) FW_NONNULL(3);

/* ------------------------------------------------------------ the push (redfish/task.c) */

struct fw_redfish_push {
	const char *bmc_url;           /* https://host[:port] */
	const char *user;              /* HTTP Basic to the BMC; NULL: none */
	const char *password;
	const char *ca_file;           /* the BMC's CA (PEM); NULL: the system store */
	const char *image_uri;         /* ImageURI */
	const char *transfer_protocol; /* "HTTPS" (or "HTTP" for a plain mirror) */
	const char *mirror_user;       /* Username/Password for the BMC to give the mirror; NULL: none */
	const char *mirror_password;
	unsigned timeout_seconds;      /* the whole push, task included */
	unsigned poll_seconds;         /* between polls without Retry-After; 0: 2 */
	/* Called after each poll that changed what is known of the task. */
	void (*progress)(void *arg, const struct fw_redfish_task *t);
	void *progress_arg;
};

enum fw_redfish_end {
	FW_REDFISH_TASK_ENDED = 0,  /* the task reached a final state (see task) */
	FW_REDFISH_NO_TASK,         /* the BMC answered 200/204 with nothing to follow */
};

struct fw_redfish_result {
	enum fw_redfish_end end;
	int post_status;                       /* the HTTP status of the SimpleUpdate */
	char update_service[FW_REDFISH_URL_MAX];
	char target[FW_REDFISH_URL_MAX];
	char task_url[FW_REDFISH_URL_MAX];     /* "" without a task */
	struct fw_redfish_task task;
	bool ok;                               /* Completed with TaskStatus OK */
};

/* Drives the push: service root, UpdateService, SimpleUpdate (POST), then
 * the Task until it ends or timeout_seconds pass. Returns 0 with *r filled
 * when the BMC took the update (its task ended, or there was none to
 * follow; r->ok says whether it succeeded); -1 with err otherwise: code
 * FW_E_DENIED when the BMC refused (401, 403, an error answer to
 * SimpleUpdate, no HTTPS among its transfer protocols), FW_E_INVALID
 * when it answered something a client must not follow (another origin, a
 * malformed resource), FW_E_LIMIT for a body over FW_REDFISH_BODY_MAX,
 * FW_E_TIMEOUT when
 * the task did not end in time (r->task holds its last state), others on
 * transport and format errors. Needs curl_global_init. */
int fw_redfish_push_run(const struct fw_redfish_push *p, struct fw_redfish_result *r, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 2);

#endif
