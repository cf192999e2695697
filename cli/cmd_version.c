/* fwgate version: this build's version and the run-time versions of the
 * libraries it is linked with. Prints; decides nothing. */
#include <stdio.h>

#include <archive.h>
#include <clamav.h>
#include <curl/curl.h>
#include <jansson.h>
#include <magic.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <seccomp.h>
#include <sqlite3.h>

#include "cli/cli.h"
#include "fwgate_build.h"

int cmd_version(struct cli_ctx *ctx, int argc, char **argv)
{
	const curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);
	const struct scmp_version *sv = seccomp_version();
	int mv = magic_version();

	(void)ctx;
	if (argc > 1)
		return cli_is_option(argv[1]) ? cli_usage_error("version", "unknown option \"%s\"", argv[1])
					      : cli_usage_error("version", "takes no arguments");
	printf("fwgate %s\n", FWGATE_VERSION);
	printf("OpenSSL       %s\n", OpenSSL_version(OPENSSL_VERSION));
	printf("libcurl       %s (%s)\n", cv->version, cv->ssl_version ? cv->ssl_version : "no TLS");
	printf("libmicrohttpd %s\n", MHD_get_version());
	printf("libclamav     %s\n", cl_retver());
	printf("libarchive    %s\n", archive_version_details());
	printf("libmagic      %d.%02d\n", mv / 100, mv % 100);
	printf("SQLite        %s\n", sqlite3_libversion());
	printf("jansson       %s\n", jansson_version_str());
	printf("libseccomp    %u.%u.%u\n", sv->major, sv->minor, sv->micro);
	return CLI_OK;
}
