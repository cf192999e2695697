/* The HTTPS transport to one BMC (redfish/redfish_int.h): libcurl with the
 * peer's certificate and name verified (the given CA file or the system
 * store), TLS 1.2 or later, https only, no redirect followed, no proxy
 * from the environment, HTTP Basic to the BMC only, every body bounded.
 * Must not decide where to go: its caller resolves every URL first. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "redfish/redfish_int.h"

/* Bound on connecting; the whole request has the caller's bound. */
#define CLIENT_CONNECT_SECONDS 15L

static size_t client_body(char *data, size_t size, size_t n, void *arg)
{
	struct rf_answer *a = arg;
	size_t len = size * n;
	uint8_t *nb;

	if (len > FW_REDFISH_BODY_MAX - a->len) {
		a->over = true;
		return 0;   /* aborts the transfer: CURLE_WRITE_ERROR */
	}
	nb = realloc(a->body, a->len + len + 1);
	if (nb == NULL)
		return 0;
	memcpy(nb + a->len, data, len);
	a->body = nb;
	a->len += len;
	a->body[a->len] = '\0';
	return len;
}

/* Keeps the Location field of the final answer (a 1xx head resets it). */
static size_t client_header(char *data, size_t size, size_t n, void *arg)
{
	struct rf_answer *a = arg;
	size_t len = size * n, v;

	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		a->location[0] = '\0';
		a->location_len = 0;
		a->n_location = 0;
		a->location_long = false;
		return len;
	}
	if (len < 9 || strncasecmp(data, "Location:", 9) != 0)
		return len;
	a->n_location++;
	v = 9;
	while (v < len && (data[v] == ' ' || data[v] == '\t'))
		v++;
	while (len > v && (data[len - 1] == '\r' || data[len - 1] == '\n' || data[len - 1] == ' ' ||
			   data[len - 1] == '\t'))
		len--;
	if (len - v >= sizeof(a->location)) {
		a->location_long = true;
		return size * n;
	}
	memcpy(a->location, data + v, len - v);
	a->location[len - v] = '\0';
	a->location_len = len - v;
	return size * n;
}

int rf_conn_open(struct rf_conn *c, const struct fw_redfish_push *p, struct fw_err *err)
{
	memset(c, 0, sizeof(*c));
	if (fw_redfish_origin_parse(p->bmc_url, &c->origin, err) != 0)
		return -1;
	if (snprintf(c->root, sizeof(c->root), "https://%s:%u/redfish/v1/", c->origin.host, c->origin.port) >=
	    (int)sizeof(c->root))
		return fw_err_setc(err, FW_E_INVALID, "the BMC URL is too long");
	c->user = p->user;
	c->password = p->password != NULL ? p->password : "";
	c->ca_file = p->ca_file;
	c->curl = curl_easy_init();
	if (c->curl == NULL)
		return fw_err_setc(err, FW_E_NOMEM, "libcurl: cannot make a handle");
	return 0;
}

void rf_conn_close(struct rf_conn *c)
{
	if (c->curl != NULL)
		curl_easy_cleanup(c->curl);
	c->curl = NULL;
}

void rf_answer_free(struct rf_answer *a)
{
	free(a->body);
	memset(a, 0, sizeof(*a));
	a->retry_after = -1;
}

/* The options of every request: TLS verified, https only, nothing followed. */
static int client_setopts(struct rf_conn *c, const char *url, unsigned timeout_s, struct rf_answer *a)
{
	CURL *h = c->curl;

	curl_easy_reset(h);
	c->errbuf[0] = '\0';
	if (curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_PROXY, "") != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) != CURLE_OK ||
	    (c->ca_file != NULL && curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file) != CURLE_OK) ||
	    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CLIENT_CONNECT_SECONDS) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)timeout_s) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, NULL) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, client_body) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, a) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, client_header) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HEADERDATA, a) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_USERAGENT, "fwgate-push") != CURLE_OK)
		return -1;
	if (c->user == NULL)
		return 0;
	if (curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_USERNAME, c->user) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_PASSWORD, c->password) != CURLE_OK)
		return -1;
	return 0;
}

int rf_request(struct rf_conn *c, const char *url, const char *json, unsigned timeout_s, struct rf_answer *a,
	       struct fw_err *err)
{
	struct curl_slist *hdrs = NULL, *t;
	curl_off_t retry = -1;
	CURLcode cc;
	int rc = -1;

	memset(a, 0, sizeof(*a));
	a->retry_after = -1;
	if (client_setopts(c, url, timeout_s == 0 ? 1 : timeout_s, a) != 0) {
		fw_err_setc(err, FW_E_FAIL, "libcurl: cannot set the request's options");
		goto out;
	}
	t = curl_slist_append(hdrs, "Accept: application/json");
	hdrs = t != NULL ? curl_slist_append(t, "OData-Version: 4.0") : NULL;
	if (hdrs != NULL && json != NULL)
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	if (hdrs == NULL) {
		curl_slist_free_all(t);
		fw_err_setc(err, FW_E_NOMEM, "out of memory");
		goto out;
	}
	if (curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK ||
	    (json != NULL && curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, json) != CURLE_OK)) {
		fw_err_setc(err, FW_E_FAIL, "libcurl: cannot set the request's fields");
		goto out;
	}
	cc = curl_easy_perform(c->curl);
	if (a->over) {
		fw_err_setc(err, FW_E_LIMIT, "the BMC's answer is over %u bytes; not read", FW_REDFISH_BODY_MAX);
		goto out;
	}
	if (cc != CURLE_OK) {
		fw_err_setc(err, cc == CURLE_OPERATION_TIMEDOUT ? FW_E_TIMEOUT : FW_E_IO, "%s",
			    c->errbuf[0] != '\0' ? c->errbuf : curl_easy_strerror(cc));
		goto out;
	}
	if (curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &a->status) != CURLE_OK ||
	    curl_easy_getinfo(c->curl, CURLINFO_RETRY_AFTER, &retry) != CURLE_OK) {
		fw_err_setc(err, FW_E_FAIL, "libcurl: no status");
		goto out;
	}
	a->retry_after = retry > 0 ? (long)(retry > 86400 ? 86400 : retry) : -1;
	rc = 0;
out:
	curl_slist_free_all(hdrs);
	if (rc != 0) {
		free(a->body);
		a->body = NULL;
		a->len = 0;
	}
	return rc;
}
