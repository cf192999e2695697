/* The host of a URL as the store indexes it (urls.host): the review list's
 * host filter reads that column, filled at commit and, for rows older than
 * the column, by the migration through the SQL function fwgate_url_host.
 * Must not judge the name: the proxy checked it before the fetch; this only
 * takes it out of the URL, in lower case, the way the filter compares. */
#include <string.h>

#include "store/store_int.h"

int store_url_host(const char *url, char *out, size_t len)
{
	const char *p = strstr(url, "://"), *end, *at, *colon;
	size_t n;

	out[0] = '\0';
	if (p == NULL || len == 0)
		return -1;
	p += 3;
	end = p + strcspn(p, "/?#");
	/* userinfo (never sent by the proxy, but a URL may carry it) */
	for (at = end; at > p && at[-1] != '@'; at--)
		;
	if (at > p)
		p = at;
	if (*p == '[') {
		/* an IP literal keeps its brackets and its colons */
		colon = memchr(p, ']', (size_t)(end - p));
		if (colon != NULL)
			end = colon + 1;
	} else {
		colon = memchr(p, ':', (size_t)(end - p));
		if (colon != NULL)
			end = colon;
	}
	if (end > p && end[-1] == '.')
		end--; /* "vendor.example." is "vendor.example" */
	n = (size_t)(end - p);
	if (n == 0 || n >= len)
		return -1;
	for (size_t i = 0; i < n; i++)
		out[i] = p[i] >= 'A' && p[i] <= 'Z' ? (char)(p[i] - 'A' + 'a') : p[i];
	out[n] = '\0';
	return 0;
}

/* fwgate_url_host(url): the host, or '' when the URL has none. */
static void url_host_sql(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const unsigned char *url = argc == 1 ? sqlite3_value_text(argv[0]) : NULL;
	char host[STORE_URL_HOST_MAX];

	if (url == NULL || store_url_host((const char *)url, host, sizeof(host)) != 0)
		host[0] = '\0';
	sqlite3_result_text(ctx, host, -1, SQLITE_TRANSIENT);
}

int store_url_host_register(sqlite3 *db)
{
	return sqlite3_create_function_v2(db, "fwgate_url_host", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
					  url_host_sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}
