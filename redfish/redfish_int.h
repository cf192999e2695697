/* Private to redfish/: the HTTPS transport to one BMC (client.c), used by
 * the push (task.c). Every request goes to the BMC's own origin, verifies
 * its certificate and reads a bounded body. */
#ifndef FWGATE_REDFISH_INT_H
#define FWGATE_REDFISH_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "fwgate/redfish.h"

struct rf_conn {
	CURL *curl;
	struct fw_redfish_origin origin;
	char root[FW_REDFISH_URL_MAX];   /* https://host:port/redfish/v1/ */
	const char *user;                /* NULL: no Authorization */
	const char *password;
	const char *ca_file;             /* NULL: the system store */
	char errbuf[CURL_ERROR_SIZE];
};

/* One answer of the BMC. */
struct rf_answer {
	long status;
	uint8_t *body;                      /* NUL-terminated, len bytes before it */
	size_t len;
	bool over;                          /* the body passed FW_REDFISH_BODY_MAX */
	char location[FW_REDFISH_URL_MAX];  /* "" when none */
	size_t location_len;
	unsigned n_location;                /* Location fields seen */
	bool location_long;
	long retry_after;                   /* seconds; -1 when none */
};

/* Checks bmc_url and prepares the handle (TLS 1.2+, peer and host verified,
 * https only, no redirects, no proxy, HTTP Basic when user is set). */
int rf_conn_open(struct rf_conn *c, const struct fw_redfish_push *p, struct fw_err *err) FW_WUR FW_NONNULL(1, 2);
void rf_conn_close(struct rf_conn *c);

/* GET url (or POST json to it when json is not NULL), at most timeout_s
 * seconds. Returns 0 with *a filled for any HTTP status; -1 when no
 * answer came (transport, TLS, a body over the bound: FW_E_LIMIT). url
 * must be of the BMC's origin (fw_redfish_resolve). */
int rf_request(struct rf_conn *c, const char *url, const char *json, unsigned timeout_s, struct rf_answer *a,
	       struct fw_err *err) FW_WUR FW_NONNULL(1, 2, 5);
void rf_answer_free(struct rf_answer *a);

#endif
