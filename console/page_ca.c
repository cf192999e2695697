/* The gateway CA for the appliance (and for the browsers of the staff):
 * the certificate to download, its SHA-256 fingerprint to compare out of
 * band; and the account page (the password change form). */
#include <stdio.h>
#include <string.h>

#include "console/console_int.h"
#include "fwgate/passwd.h"

enum MHD_Result page_ca(struct creq *r)
{
	struct cbuf b = { 0 };

	page_begin(&b, r, "CA certificate");
	cbuf_puts(&b, "<h1>Interception CA</h1><p>The appliance must trust this certificate: every vendor site it "
		      "reaches through the gateway is presented under it.</p><dl class=\"facts\"><dt>SHA-256 "
		      "fingerprint</dt><dd class=\"hash\" id=\"ca-fingerprint\">");
	cbuf_html(&b, r->c->ca_fp);
	cbuf_puts(&b, "</dd></dl><p><a href=\"/ca.crt\" id=\"ca-download\" download=\"fwgate-ca.crt\">Download "
		      "fwgate-ca.crt (PEM)</a></p><pre id=\"ca-pem\">");
	cbuf_html(&b, r->c->ca_pem);
	cbuf_puts(&b, "</pre><p>Compare the fingerprint with <code>openssl x509 -noout -fingerprint -sha256 -in "
		      "fwgate-ca.crt</code> on the appliance.</p>");
	page_end(&b);
	return console_send(r, 200, "text/html; charset=utf-8", &b);
}

enum MHD_Result page_ca_download(struct creq *r)
{
	struct cbuf b = { 0 };

	cbuf_puts(&b, r->c->ca_pem);
	return console_send(r, 200, "application/x-pem-file", &b);
}

enum MHD_Result page_account(struct creq *r)
{
	struct cbuf b = { 0 };

	page_begin(&b, r, "Account");
	cbuf_puts(&b, "<h1>Account ");
	cbuf_html(&b, r->who);
	cbuf_printf(&b, "</h1><p>Role: %s. Session started ", fw_role_name(r->role));
	cbuf_time(&b, r->sess.created_at);
	cbuf_puts(&b, " from ");
	cbuf_html(&b, r->sess.source);
	cbuf_printf(&b, ".</p><h2>Change the password</h2><p>Every session of the account ends with it, this one "
		    "too.</p><form method=\"post\" action=\"/account/password\">");
	page_csrf(&b, r);
	cbuf_printf(&b, "<label>Current password <input type=\"password\" name=\"current\" required "
		    "autocomplete=\"current-password\" maxlength=\"%d\"></label><label>New password <input "
		    "type=\"password\" name=\"new\" required minlength=\"%d\" maxlength=\"%d\" "
		    "autocomplete=\"new-password\"></label><label>Again <input type=\"password\" name=\"again\" "
		    "required minlength=\"%d\" maxlength=\"%d\" autocomplete=\"new-password\"></label>"
		    "<button type=\"submit\" id=\"change-password\">Change</button></form>",
		    FW_PASSWD_MAX, FW_PASSWD_MIN, FW_PASSWD_MAX, FW_PASSWD_MIN, FW_PASSWD_MAX);
	page_end(&b);
	return console_send(r, 200, "text/html; charset=utf-8", &b);
}
