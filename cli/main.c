/* The fwgate entry point: takes -c FILE from anywhere among the arguments,
 * then dispatches through the command table (name, summary, usage text).
 * Calls every cmd_*.c; none calls back. Holds no module logic. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cli/cli.h"
#include "fwgate/scanner.h"

static const char usage_help[] =
	"usage: fwgate help [COMMAND]\n"
	"\n"
	"Lists every command with one line each, or details one command.\n";

static const char usage_version[] =
	"usage: fwgate version\n"
	"\n"
	"Prints fwgate's version and the run-time versions of the libraries it\n"
	"is linked with (OpenSSL, libcurl, libmicrohttpd, libclamav, libarchive,\n"
	"libmagic, SQLite, jansson, libseccomp).\n";

static const char usage_run[] =
	"usage: fwgate run [-c FILE]\n"
	"\n"
	"Starts the gateway in the foreground with the configuration FILE, or with\n"
	"the embedded default when -c is not given (proxy on 127.0.0.1:3128, state\n"
	"in ./fwgate-state, the shipped default policy, rule firmware_update).\n"
	"The configuration, the policy and the allow-list are checked first; any\n"
	"error stops the start with exit 2. On first start the interception CA is\n"
	"created in <state dir>/ca (see fwgate ca). One gateway runs per state\n"
	"directory; what a killed run left in its spool, tmp and samples directories\n"
	"is removed at start (counted in the fwgate-start event). Only [proxy]\n"
	"clients may connect ([proxy] auth = basic: with fwgate proxyuser\n"
	"credentials). A scanner supervisor that dies is started again by itself.\n"
	"Events go to the [log] file (default <state dir>/events.log).\n"
	"SIGHUP reopens the event log and reloads the signatures; SIGINT and SIGTERM\n"
	"stop the gateway (every connection is woken and joined first).\n"
	"Started as root with [run] user set, it becomes that user first (the state\n"
	"directory must be the user's); under systemd (Type=notify) it sends READY,\n"
	"RELOADING, STOPPING and STATUS, and pings the watchdog while healthy.\n"
	"fwgate status reads its control socket <state dir>/control.sock.\n";

static const char usage_status[] =
	"usage: fwgate status [--json] [-c FILE]\n"
	"\n"
	"Asks the gateway running on this configuration's state directory, through\n"
	"its control socket <state dir>/control.sock, how it is: version, pid, up\n"
	"since and uptime, listeners, connections open and accepted, the scanner\n"
	"(up, workers configured and alive, supervisor restarts), the signatures\n"
	"(count, database versions, newest build and its age), the sandbox queue\n"
	"(runners, jobs by state), the store (objects and bytes by state) and the\n"
	"last failure events. --json prints the gateway's document (fields in the\n"
	"README). Exit 0; 2 when no gateway answers (none running) or on error.\n";

static const char usage_policy[] =
	"usage: fwgate policy check [FILE] [--rule APP_ID] [--json]\n"
	"\n"
	"Checks a rule card (the configured [policy] file, or the embedded default\n"
	"when FILE is not given and the configuration names none) and prints the\n"
	"effective policy of the rule APP_ID (default: the configured [policy]\n"
	"rule). On errors, prints each one with its JSON path, for example\n"
	"  rules[5].security_profiles.sandboxing.file_types[1]: unknown file type \"foo\"\n"
	"and exits 2. Unknown fields are errors.\n"
	"  --rule APP_ID  the rule to select by application.app_id\n"
	"  --json         print the effective policy as JSON\n";

static const char usage_config[] =
	"usage: fwgate config check [-c FILE]\n"
	"\n"
	"Checks the configuration FILE (or the embedded default) and its policy,\n"
	"then prints the effective configuration, every key with its value.\n"
	"Errors are printed as FILE:LINE: what is wrong, with exit 2.\n";

static const char usage_ca[] =
	"usage: fwgate ca init [--name TEXT] | fwgate ca show\n"
	"\n"
	"init creates the interception CA in <state dir>/ca: an ECDSA P-256 key\n"
	"(ca.key, mode 0600) and a certificate (ca.crt) with basicConstraints CA,\n"
	"pathlen 0, keyUsage keyCertSign and cRLSign, valid 5 years. The subject\n"
	"names the deployment (--name, default the host name). An existing CA is\n"
	"never overwritten. `fwgate run` creates one on first start if none exists.\n"
	"show prints the CA certificate (PEM) for the appliance's trust store.\n";

static const char usage_allowlist[] =
	"usage: fwgate allowlist check URL|HOST[:PORT] [--json]\n"
	"\n"
	"Prints what the policy decides for URL (https://host[:port]/path) or for a\n"
	"CONNECT to HOST[:PORT] (port 443 by default), the step of the decision\n"
	"order that decided, and why: a blocked category wins over the allow-list,\n"
	"anything not allow-listed is uncategorized and gets the rule's\n"
	"uncategorized_action. Uses [policy] allowlist and the category database in\n"
	"<state dir>/fwgate.db. Exit 0 when allowed, 1 when blocked, 2 on error.\n";

static const char usage_categories[] =
	"usage: fwgate categories import --format ut1|hosts|list DIR|FILE [--category NAME]\n"
	"\n"
	"Imports a URL category list into <state dir>/fwgate.db (created if\n"
	"missing). ut1: DIR/<category>/domains and DIR/<category>/urls, the layout\n"
	"of the UT1 blacklists; hosts: a hosts file (\"0.0.0.0 name\" lines) and\n"
	"list: one name per line, both into --category NAME (required). Names are\n"
	"checked and lower-cased; malformed lines are reported and skipped; one\n"
	"import is one transaction. A running gateway reads the database at start.\n";

static const char usage_scan[] =
	"usage: fwgate scan FILE... [--json]\n"
	"\n"
	"Inspects each FILE with the gateway's pipeline, offline: typing\n"
	"(libmagic), recursive unpacking (libarchive) under the [scanner] limits,\n"
	"payloads at any offset (after scripts, in PE/ELF overlays, makeself and\n"
	"Dell Update Package layouts), UEFI images down to each module, the\n"
	"coverage check (compressed or encrypted bytes nothing opened), and\n"
	"ClamAV over every node, in the same sandboxed worker processes.\n"
	"Prints one line per file (VERDICT and the first reason, then the\n"
	"signatures and other reasons), or with --json one document per line:\n"
	"path, sha256, size, mime, file_type, verdict, reasons[], signatures[]\n"
	"{name, member}, members[] {path, depth, size, sha256, mime, file_type,\n"
	"verdict, and offset for a payload found inside its parent, guid, ui and\n"
	"section for a UEFI module}, sandbox[] {path, depth, size, sha256,\n"
	"file_type}: the nodes of the types the policy sandboxes, which the\n"
	"gateway has judged by its sandbox before approving (scan lists them; it\n"
	"does not run the sandbox). Member paths are chains (outer.zip!inner.tar!\n"
	"fw.bin, pkg.BIN!@0x1a3f!payload/tool, bios.cap!CAPSULE!FV:GUID!FILE-GUID/\n"
	"Name!PE32) with hostile names escaped. Verdicts: clean, infected,\n"
	"suspicious (unsafe member names or links, heuristics, a makeself digest\n"
	"that does not match), unscannable (a limit, encryption, a corrupt archive\n"
	"or volume, compressed bytes nothing opens, an installer no library reads,\n"
	"a worker crash or timeout). Progress is shown on a terminal. Exit 0 all\n"
	"clean, 1 any not clean, 2 error.\n";

static const char usage_reload[] =
	"usage: fwgate reload [-c FILE]\n"
	"\n"
	"Asks the gateway running on this configuration's state directory (its pid\n"
	"is in <state dir>/fwgate.pid) to reload its signatures: SIGHUP. The\n"
	"gateway compiles a new ClamAV engine and rolls its scanner workers onto\n"
	"it without dropping jobs; on failure the old signatures keep serving and\n"
	"the event log says why. SIGHUP also reopens the event log.\n";

static const char usage_quarantine[] =
	"usage: fwgate quarantine list [--state S] [--verdict V] [--host H] [--limit N] [--before ID] [--json]\n"
	"       | show ID [--json] | requests [--json]\n"
	"       | release ID --reason TEXT [--override-infected] [--as NAME] [--json]\n"
	"       | reject ID --reason TEXT [--as NAME] [--json] | cancel ID [--as NAME] [--json]\n"
	"\n"
	"Review of what the gateway holds back. list: newest first, quarantined,\n"
	"rejected and pending (under sandbox analysis) objects, or those of --state\n"
	"(approved, quarantined, rejected, released, pending), --verdict (clean,\n"
	"pending, suspicious, unscannable, infected) and --host (a URL's host, lower\n"
	"case): id, state, verdict, size, first seen, URL, reason and an open release\n"
	"request. Every page without --limit; with --limit N (1 to 1000) one page,\n"
	"the next one with --before the last id shown. show: one object for people\n"
	"(state, verdict, reason, size, SHA-256, URLs, the member tree of its latest\n"
	"scan with types, sizes, hashes and signatures, sandbox jobs, the open\n"
	"request, audit rows); the whole record as JSON with --json.\n"
	"release: with [console] four_eyes = true (the default) the first reviewer's\n"
	"release records a request, and a second reviewer (another --as) confirms it\n"
	"with the same command: only then is the object released (served from then\n"
	"on); the requester cannot confirm their own request. With four_eyes = false\n"
	"the release is at once. An object whose verdict is infected needs\n"
	"--override-infected on the request and on the confirmation; a rejected one\n"
	"cannot be released. reject: the object's hash and URLs are refused from then\n"
	"on without a fetch; an open request is closed. cancel: withdraws the open\n"
	"release request. requests: the open release requests. Every decision is in\n"
	"the audit chain with the reviewer (--as, default the login name), \"via cli\"\n"
	"and the reason. Exit 0 done (a request recorded too), 2 refused or error.\n";

static const char usage_user[] =
	"usage: fwgate user add NAME --role viewer|reviewer|admin [--password-file FILE]\n"
	"       | list [--json] | passwd NAME [--password-file FILE] | disable NAME\n"
	"       | enable NAME | role NAME --role viewer|reviewer|admin\n"
	"\n"
	"The review console's accounts, kept in <state dir>/fwgate.db with an scrypt\n"
	"hash of the password. Roles: viewer reads, reviewer also releases (four\n"
	"eyes), rejects and retries sandbox jobs, admin also confirms the override\n"
	"of an infected verdict. The password (at least 12 characters) is read from\n"
	"FILE's first line, from a prompt on a terminal (twice, not echoed), or from\n"
	"the first line of standard input; never from the command line, and never\n"
	"printed. A new password and disable end the account's sessions. Every\n"
	"change is audited with the login name, via cli. Names: 1 to 64 of A-Z a-z\n"
	"0-9 . _ -. list shows no hash.\n";

static const char usage_token[] =
	"usage: fwgate token add NAME --role viewer|reviewer|admin | list [--json] | revoke NAME\n"
	"\n"
	"API tokens for the console's JSON API. add prints the new secret once on\n"
	"standard output (fwg_ and 43 characters); only its SHA-256 is kept, so it\n"
	"cannot be shown again: a lost one is revoked and a new one added. The API\n"
	"takes it as \"Authorization: Bearer SECRET\". list shows names, roles, when\n"
	"created and last used, never a secret or a hash. revoke: the token is\n"
	"refused from then on (it stays listed). Changes are audited with the login\n"
	"name, via cli.\n";

static const char usage_sandbox[] =
	"usage: fwgate sandbox list [--json] | show JOB | retry JOB [--as NAME]\n"
	"       | analyze FILE... [--json]\n"
	"\n"
	"The sandbox queue: one job per member bytes of a type the policy sandboxes\n"
	"(sandboxing.file_types), judged by [sandbox] backend. list: every job (id,\n"
	"state queued/running/done/failed, backend, file type, verdict, score,\n"
	"attempts, when, SHA-256, last error). show: one job with its findings and\n"
	"the packages that wait on it, as JSON. retry: a done or failed job is\n"
	"queued again, and the packages linked to it that the sandbox quarantined\n"
	"(never ones the scanner quarantined or staff reviewed) or approved are\n"
	"pending again (not served) and settled from all their jobs. Refused when\n"
	"the policy does not sandbox or the job's bytes are no longer kept.\n"
	"Audited with --as (default the login name). The running gateway picks\n"
	"the job up within a second. analyze: the local backend offline, nothing\n"
	"stored: each FILE is scanned, and every member of the policy's sandbox\n"
	"types (all of them when the policy does not sandbox) is analyzed in a\n"
	"scanner worker and judged by [sandbox] suspicious_score and\n"
	"malicious_score; prints each member's verdict, score and findings (exit 0\n"
	"all benign and clean, 1 otherwise, 2 error).\n";

static const char usage_audit[] =
	"usage: fwgate audit list [--json] | fwgate audit verify\n"
	"\n"
	"The append-only audit log: every release, reject, override and store\n"
	"repair, each row's hash chained to the previous one. verify recomputes\n"
	"the chain: exit 0 intact, 1 broken (the first row that does not match is\n"
	"named), 2 error.\n";

static const char usage_store[] =
	"usage: fwgate store verify | fwgate store gc\n"
	"\n"
	"verify re-hashes every blob in <state dir>/objects and quarantine against\n"
	"its name and record; a mismatch is moved aside to <state dir>/damaged,\n"
	"audited, and never served (exit 1 on any problem). gc removes blobs no URL\n"
	"refers to any more and what was moved aside.\n";

static const char usage_proxyuser[] =
	"usage: fwgate proxyuser add NAME [--password-file FILE] | passwd NAME [--password-file FILE]\n"
	"       | remove NAME | list [--json]\n"
	"\n"
	"The appliance's proxy credentials, for [proxy] auth = basic: a CONNECT must\n"
	"then carry Proxy-Authorization: Basic with one of these users (curl\n"
	"--proxy-user NAME:PASSWORD), else it gets 407. Kept in <state dir>/proxy-users\n"
	"as scrypt hashes (0600); a running gateway reads the file again when it\n"
	"changes. The password (at least 12 characters) is read from FILE's first\n"
	"line, from a prompt on a terminal (twice, not echoed), or from the first\n"
	"line of standard input; never from the command line. Names: 1 to 64 of\n"
	"A-Z a-z 0-9 . _ -. Five failed logins from one address within a minute\n"
	"lock that address out for a minute.\n";

static const char usage_push[] =
	"usage: fwgate push BMC_URL --image SHA256 [--name FILE_NAME] [--user U --password-file F]\n"
	"       [--bmc-ca FILE] [--mirror-user U --mirror-password-file F] [--json] [--timeout SECONDS]\n"
	"\n"
	"Has a BMC pull a vetted image from the mirror through Redfish: the image\n"
	"(by SHA-256) must be approved or released in the store, else nothing is\n"
	"sent and its state is said (exit 1). ImageURI is <mirror>/firmware/<sha256>/\n"
	"<name>: [mirror] url, else https://[console] name:port of the listener that\n"
	"serves the mirror; the name is --name, else the last path segment of the\n"
	"image's newest URL, kept to A-Z a-z 0-9 . _ -. Over HTTPS (TLS 1.2 or\n"
	"later) with the BMC's certificate verified against --bmc-ca (PEM), else the\n"
	"system store, and HTTP Basic with --user and the first line of\n"
	"--password-file: GET /redfish/v1/, its UpdateService, then POST\n"
	"{ImageURI, TransferProtocol HTTPS} to the SimpleUpdate action's target\n"
	"(refused when its TransferProtocol@Redfish.AllowableValues lacks HTTPS), with\n"
	"Username and Password for the mirror when --mirror-user is given. The Task\n"
	"the BMC returns (in the body, or its Location) is polled, honouring\n"
	"Retry-After, until it ends or --timeout (default 1800 s) passes; its\n"
	"progress is printed (state, percent, last message), or one JSON document\n"
	"with --json. A URL the BMC hands back is followed only on BMC_URL's own\n"
	"origin and under /redfish/v1; every answer is bounded to 1 MiB. Audited as\n"
	"bmc-push with the login name, and a bmc-push event in the [log] event log.\n"
	"Exit 0: Completed with TaskStatus OK (or accepted without a task, said so);\n"
	"1: refused by the store or the BMC, or the task failed; 2: usage or\n"
	"operational error (TLS, network, a malformed or hostile answer, timeout).\n";

static const char usage_mirror[] =
	"usage: fwgate mirror keygen | export DIR [--since YYYY-MM-DD | --object ID...]\n"
	"       | verify DIR | import DIR\n"
	"       | user add GROUP [--password-file FILE] | user passwd GROUP | user remove GROUP | user list [--json]\n"
	"\n"
	"Signed offline bundles of vetted firmware for air-gapped sites.\n"
	"keygen makes this site's Ed25519 signing key ([mirror] key_file, default\n"
	"<state dir>/mirror/signing.key, mode 0600; an existing key is never\n"
	"replaced) and prints its public key (PEM) and SHA-256 fingerprint: the\n"
	"importing sites put it in their [mirror] trusted_keys as <site_id>.pem.\n"
	"export writes into DIR (new or empty) blobs/<sha256> (the store's bytes,\n"
	"byte for byte), manifest.json (the site id, the export time, a sequence\n"
	"that only grows, the key's fingerprint, and per object its URLs, SHA-256,\n"
	"size, verdict, engine and signature versions, sandbox verdicts, who\n"
	"approved or released it and when) and manifest.sig (Ed25519 over the\n"
	"manifest's bytes): every approved or released object, those first seen or\n"
	"released since the date (UTC), or exactly the objects named (any other\n"
	"state is refused by id). Audited as mirror-export.\n"
	"verify checks DIR: the signature against [mirror] trusted_keys (a key\n"
	"listed in [mirror] revoked_keys is refused), the manifest's strict schema\n"
	"and bounds, its site and key against the signer's, no file missing or\n"
	"extra, every blob's size and SHA-256.\n"
	"import verifies DIR, refuses a bundle not newer than the last imported\n"
	"from its site (a replay), rescans every image with this gateway's\n"
	"signatures and, for the members the policy sandboxes, the local analyzer\n"
	"([sandbox] backend local; another backend cannot judge during an import:\n"
	"refused), then commits all or nothing: an image clean here is approved\n"
	"(served), one the local scan holds is quarantined with its reason. Each\n"
	"object's provenance (site, key, original verdicts and approvers) is in\n"
	"the audit chain (mirror-import). user: the mirror's BMC groups for\n"
	"[mirror] auth = basic (the credentials Redfish SimpleUpdate passes to a\n"
	"BMC), scrypt hashes in <state dir>/mirror-users; passwords are read as\n"
	"fwgate proxyuser reads them.\n"
	"Exit 0 done, 1 refused (tampered, untrusted, revoked, replayed), 2 usage\n"
	"or operational error.\n";

static const struct cli_cmd cli_cmds[] = {
	{ "help", "list the commands, or explain one", usage_help, cmd_help },
	{ "version", "print the versions of fwgate and its libraries", usage_version, cmd_version },
	{ "run", "run the gateway (embedded default config without -c)", usage_run, cmd_run },
	{ "policy", "check a rule card and print the effective policy", usage_policy, cmd_policy },
	{ "config", "check the configuration and print the effective values", usage_config, cmd_config },
	{ "ca", "create or print the interception CA", usage_ca, cmd_ca },
	{ "allowlist", "show what the policy decides for a URL or host, and why", usage_allowlist, cmd_allowlist },
	{ "categories", "import URL category lists (UT1, hosts files, plain lists)", usage_categories, cmd_categories },
	{ "reload", "make the running gateway reload its signatures", usage_reload, cmd_reload },
	{ "status", "how the running gateway is: listeners, workers, signatures, queues, store, errors", usage_status,
	  cmd_status },
	{ "quarantine", "review held-back downloads: list, show, release (four eyes), reject", usage_quarantine,
	  cmd_quarantine },
	{ "audit", "list or verify the audit chain", usage_audit, cmd_audit },
	{ "sandbox", "the sandbox queue: list, show, retry jobs", usage_sandbox, cmd_sandbox },
	{ "store", "verify the vetted store's blobs, or collect garbage", usage_store, cmd_store },
	{ "scan", "inspect files offline with the gateway's pipeline", usage_scan, cmd_scan },
	{ "proxyuser", "the appliance's proxy credentials: add, passwd, remove, list", usage_proxyuser, cmd_proxyuser },
	{ "user", "the review console's accounts: add, list, passwd, disable, enable, role", usage_user, cmd_user },
	{ "token", "API tokens of the console: add (secret shown once), list, revoke", usage_token, cmd_token },
	{ "push", "have a BMC pull a vetted image from the mirror (Redfish SimpleUpdate)", usage_push, cmd_push },
	{ "mirror", "offline bundles: keygen, export, verify, import (signed, rescanned)", usage_mirror, cmd_mirror },
	{ NULL, NULL, NULL, NULL },
};

/* Removes "-c FILE", "--config FILE" and "--config=FILE" from argv,
 * wherever they are before a "--". */
static int take_config(struct cli_ctx *ctx, int *argc, char **argv)
{
	int out = 1;

	for (int i = 1; i < *argc; i++) {
		const char *a = argv[i], *val = NULL;

		if (strcmp(a, "--") == 0) {
			while (i < *argc)
				argv[out++] = argv[i++];
			break;
		}
		if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
			if (i + 1 >= *argc)
				return cli_usage_error(NULL, "%s needs a FILE", a);
			val = argv[++i];
		} else if (strncmp(a, "--config=", 9) == 0) {
			val = a + 9;
		} else {
			argv[out++] = argv[i];
			continue;
		}
		if (ctx->config_path != NULL)
			return cli_usage_error(NULL, "the configuration is given twice (-c)");
		if (val[0] == '\0')
			return cli_usage_error(NULL, "-c needs a FILE");
		ctx->config_path = val;
	}
	argv[out] = NULL;
	*argc = out;
	return CLI_OK;
}

int main(int argc, char **argv)
{
	struct cli_ctx ctx = { 0 };
	const struct cli_cmd *cmd;
	int rc;

	/* A write to a peer that has gone (a client that vanished in the
	 * middle of a TLS handshake, a scanner worker that died) must be an
	 * error return (EPIPE), never the end of the process. Set before any
	 * thread or child exists, so every one of them inherits it. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		fprintf(stderr, "fwgate: cannot ignore SIGPIPE\n");
		return CLI_ERROR;
	}
	/* The gateway's scanner supervisor: this binary executed anew, so
	 * that it holds nothing of the gateway's memory (the CA key). */
	if (argc == 2 && strcmp(argv[1], FW_SCANNER_EXEC_ARG) == 0)
		return fw_scanner_exec_main();
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "fwgate: libcurl failed to initialise\n");
		return CLI_ERROR;
	}
	ctx.cmds = cli_cmds;
	rc = take_config(&ctx, &argc, argv);
	if (rc != CLI_OK)
		goto out;
	if (argc < 2) {
		rc = cmd_help(&ctx, 1, argv);
		rc = rc == CLI_OK ? CLI_ERROR : rc;
		goto out;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		rc = cmd_help(&ctx, 1, argv);
		goto out;
	}
	if (strcmp(argv[1], "--version") == 0) {
		rc = cmd_version(&ctx, 1, argv);
		goto out;
	}
	cmd = cli_find(cli_cmds, argv[1]);
	if (cmd == NULL) {
		rc = cli_is_option(argv[1]) ? cli_usage_error(NULL, "unknown option \"%s\"", argv[1])
					    : cli_usage_error(NULL, "unknown command \"%s\"", argv[1]);
		goto out;
	}
	rc = cmd->run(&ctx, argc - 1, argv + 1);
out:
	free(ctx.cfg);
	curl_global_cleanup();
	return rc;
}
