/* The frame every console page shares: head (the same-origin stylesheet
 * and script, nothing inline), the navigation with the account and its
 * logout form, the CSRF field of forms, state and verdict badges, and the
 * error answer (HTML for pages, JSON for the API). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console/console_int.h"

const char *jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

long long jint(const json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

void page_csrf(struct cbuf *b, struct creq *r)
{
	cbuf_puts(b, "<input type=\"hidden\" name=\"csrf\" value=\"");
	cbuf_html(b, r->sess.csrf);
	cbuf_puts(b, "\">");
}

void page_begin(struct cbuf *b, struct creq *r, const char *title)
{
	static const struct {
		const char *href, *label;
	} nav[] = {
		{ "/", "Dashboard" }, { "/quarantine", "Quarantine" }, { "/requests", "Pending releases" },
		{ "/sandbox", "Sandbox" }, { "/audit", "Audit" }, { "/events", "Events" }, { "/ca", "CA certificate" },
	};

	cbuf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
		     "<link rel=\"stylesheet\" href=\"/static/console.css\">"
		     "<script src=\"/static/console.js\" defer></script><title>");
	cbuf_html(b, title);
	cbuf_puts(b, " · fwgate</title></head><body>");
	if (r->auth != AUTH_SESSION) {
		cbuf_puts(b, "<main>");
		return;
	}
	cbuf_puts(b, "<header><nav><span class=\"brand\">fwgate</span>");
	for (size_t i = 0; i < FW_ARRAY_LEN(nav); i++) {
		bool here = strcmp(r->path, nav[i].href) == 0;

		cbuf_printf(b, "<a href=\"%s\"%s>%s</a>", nav[i].href, here ? " aria-current=\"page\"" : "",
			    nav[i].label);
	}
	cbuf_puts(b, "</nav><div class=\"who\"><a href=\"/account\" id=\"account\">");
	cbuf_html(b, r->who);
	cbuf_printf(b, "</a> <span class=\"role\">%s</span>", fw_role_name(r->role));
	cbuf_puts(b, "<form method=\"post\" action=\"/logout\" class=\"inline\">");
	page_csrf(b, r);
	cbuf_puts(b, "<button type=\"submit\" id=\"logout\">Log out</button></form></div></header><main>");
}

void page_end(struct cbuf *b)
{
	cbuf_puts(b, "</main></body></html>\n");
}

static void badge(struct cbuf *b, const char *kind, const char *word)
{
	cbuf_printf(b, "<span class=\"badge %s-", kind);
	/* The class name: letters only, whatever the word. */
	for (const char *p = word; *p; p++)
		if ((*p >= 'a' && *p <= 'z') || *p == '-')
			cbuf_putn(b, p, 1);
	cbuf_puts(b, "\">");
	cbuf_html(b, word);
	cbuf_puts(b, "</span>");
}

void page_state_badge(struct cbuf *b, const char *state)
{
	badge(b, "state", state);
}

void page_verdict_badge(struct cbuf *b, const char *verdict)
{
	badge(b, "verdict", verdict);
}

enum MHD_Result page_error(struct creq *r, unsigned status, const char *fmt, ...)
{
	char msg[FW_ERR_MSG_MAX];
	struct cbuf b = { 0 };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (strncmp(r->path, "/api/", 5) == 0 || strcmp(r->path, "/metrics") == 0) {
		json_t *o = json_pack("{s:s, s:i}", "error", msg, "status", (int)status);
		char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

		json_decref(o);
		if (text != NULL) {
			cbuf_puts(&b, text);
			cbuf_puts(&b, "\n");
		}
		free(text);
		return console_send(r, status, "application/json", &b);
	}
	page_begin(&b, r, "Error");
	cbuf_printf(&b, "<h1>%u</h1><p class=\"error\" id=\"error\">", status);
	cbuf_html(&b, msg);
	cbuf_puts(&b, "</p><p><a href=\"/\" class=\"back\">Dashboard</a></p>");
	page_end(&b);
	return console_send(r, status, "text/html; charset=utf-8", &b);
}
