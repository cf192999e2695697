/* fwgate.conf: the INI configuration (libinih) shared by the daemon and
 * every CLI subcommand. Owns parsing, defaults, range checks and the
 * effective-config dump; must not open sockets or start anything.
 * Thread-safety: a loaded struct fw_config is read-only and may be shared. */
#ifndef FWGATE_CONFIG_H
#define FWGATE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "fwgate/cidr.h"
#include "fwgate/err.h"
#include "fwgate/verdict.h"

#define FW_PATH_MAX 1024
#define FW_HOST_MAX 254 /* a DNS name of 253 octets plus NUL */
#define FW_URL_MAX 1024
#define FW_LISTEN_MAX 8
#define FW_RESOLVE_MAX 32
#define FW_SIGDIR_MAX 16
#define FW_YARA_PATHS_MAX 16
#define FW_RULE_ID_MAX 128
#define FW_CLIENTS_MAX 64

/* Largest config file fwgate reads; a config is a few kilobytes. */
#define FW_CONFIG_MAX_BYTES (256 * 1024)

/* An IP literal and port, as written in a listen key. */
struct fw_listen_addr {
	char ip[64];  /* numeric, without brackets */
	uint16_t port;
	bool ipv6;
};

/* One [upstream] resolve entry, like curl --resolve host:port:address. */
struct fw_resolve {
	char host[FW_HOST_MAX];
	uint16_t port;
	char ip[64];
	bool ipv6;
};

/* How the appliance proves itself to the proxy, besides its address. */
enum fw_proxy_auth {
	FW_PROXY_AUTH_NONE = 0,
	FW_PROXY_AUTH_BASIC,        /* Proxy-Authorization: Basic, users of fwgate proxyuser */
};

struct fw_config {
	/* Absolute path of the file loaded, or "" for the embedded default. */
	char path[FW_PATH_MAX];

	struct {
		struct fw_listen_addr listen[FW_LISTEN_MAX];
		unsigned n_listen;
		/* Who may use the proxy: the appliance's addresses. */
		struct fw_cidr clients[FW_CLIENTS_MAX];
		unsigned n_clients;
		enum fw_proxy_auth auth;
		unsigned max_clients;
		unsigned max_clients_per_source;
		unsigned head_timeout_seconds;
		unsigned idle_timeout_seconds;
		unsigned exchange_timeout_seconds;
		uint64_t max_head_bytes;
		unsigned max_headers;
		unsigned leaf_cache_entries;
		unsigned leaf_validity_days;
	} proxy;

	struct {
		struct fw_listen_addr listen;   /* port 0: "off", no console */
		char name[FW_HOST_MAX];         /* the DNS name in the minted certificate */
		char cert_file[FW_PATH_MAX];    /* "" (with key_file ""): minted by the gateway CA */
		char key_file[FW_PATH_MAX];
		unsigned max_connections;
		unsigned max_connections_per_source;
		unsigned request_timeout_seconds;
		unsigned session_idle_seconds;
		unsigned session_max_seconds;
		bool four_eyes;                 /* a release needs a second reviewer */
		unsigned lockout_failures;
		unsigned lockout_seconds;
		unsigned lockout_max_seconds;
	} console;

	/* Vetted images for BMCs and air-gapped sites. */
	struct {
		struct fw_listen_addr listen;      /* port 0: "off", served on the console's listener */
		struct fw_listen_addr http_listen; /* port 0: "off"; plain HTTP, hash-named URLs only */
		struct fw_cidr allow[FW_CLIENTS_MAX];
		unsigned n_allow;
		enum fw_proxy_auth auth;           /* basic: users of fwgate mirror user (one per BMC group) */
		char url[FW_URL_MAX];              /* "": https://[console] name:port */
		char site_id[FW_RULE_ID_MAX];      /* "": the host name */
		char key_file[FW_PATH_MAX];        /* "": <state dir>/mirror/signing.key */
		char trusted_keys[FW_PATH_MAX];    /* "": no site is trusted for import */
		char revoked_keys[FW_PATH_MAX];    /* "": none revoked */
	} mirror;

	struct {
		char dir[FW_PATH_MAX];
	} state;

	struct {
		char file[FW_PATH_MAX];      /* "" = the embedded default rule card */
		char rule[FW_RULE_ID_MAX];
		char allowlist[FW_PATH_MAX]; /* "" = no allow-listed domains */
	} policy;

	struct {
		char ca_file[FW_PATH_MAX];   /* "" = the system trust store */
		struct fw_resolve resolve[FW_RESOLVE_MAX];
		unsigned n_resolve;
		bool allow_private;
		char proxy[FW_URL_MAX];      /* "" = connect directly */
		unsigned connect_timeout_seconds;
		uint64_t low_speed_bytes;
		unsigned low_speed_seconds;
		uint64_t max_body_bytes;
	} upstream;

	struct {
		/* n_signatures == 0: the bundled signatures plus /var/lib/clamav. */
		char signatures[FW_SIGDIR_MAX][FW_PATH_MAX];
		unsigned n_signatures;
		/* n_yara_rules == 0: the shipped rules (scanner/rules/fwgate.yar).
		 * Each a YARA file or a directory of *.yar / *.yara files. */
		char yara_rules[FW_YARA_PATHS_MAX][FW_PATH_MAX];
		unsigned n_yara_rules;
		unsigned workers;            /* 0 = one per online CPU */
		unsigned timeout_seconds;
		unsigned max_depth;
		uint64_t max_members;
		uint64_t max_member_bytes;
		uint64_t max_total_bytes;
		unsigned max_ratio;
		unsigned max_seconds;
		bool overlap_fetch;          /* scan a download with a Content-Length while it arrives */
		bool watch_signatures;       /* reload when a signature directory changes */
		unsigned reload_debounce_seconds; /* quiet time before such a reload */
		unsigned max_signature_age_hours; /* 0 = no age warning */
	} scanner;

	struct {
		enum fw_sandbox_backend backend;
		unsigned hold_seconds;
		unsigned runners;
		char url[FW_URL_MAX];
		char token_file[FW_PATH_MAX];
		unsigned verdict_ttl_seconds;
		unsigned suspicious_score;
		unsigned malicious_score;
		unsigned timeout_seconds;
		unsigned retries;
	} sandbox;

	struct {
		unsigned revalidate_after_seconds;
	} cache;

	struct {
		char file[FW_PATH_MAX];      /* "" = <state dir>/events.log, "-" = stdout */
		bool syslog;
		int syslog_facility;         /* LOG_DAEMON, LOG_LOCAL0.. (local and remote) */
		char syslog_target[FW_URL_MAX]; /* "" = off, udp:// tcp:// tls://HOST:PORT */
		unsigned syslog_queue;       /* events waiting for the collector */
		unsigned syslog_timeout_seconds; /* connect, TLS handshake, each send */
		char syslog_ca_file[FW_PATH_MAX];   /* tls://: "" = the system trust store */
		char syslog_cert_file[FW_PATH_MAX]; /* tls://: client certificate, "" = none */
		char syslog_key_file[FW_PATH_MAX];
	} log;

	struct {
		/* "": keep the user fwgate run starts as; else, started as root,
		 * it becomes this user (and its groups) before touching state. */
		char user[33];
	} run;
};

/* Fills cfg with the embedded default (no file). Cannot fail. */
void fw_config_default(struct fw_config *cfg) FW_NONNULL(1);

/* Loads path over the embedded default. On failure err reads
 * "FILE:LINE: [section] key: what is wrong" (or "FILE: ..." when no line
 * applies) and cfg is left in an unspecified state. Relative paths in the
 * file are taken relative to the file's directory. Files it names (policy,
 * allow-list, CA bundle, token, signature directories) must exist. */
int fw_config_load(struct fw_config *cfg, const char *path, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 2);

/* Writes the effective configuration as INI that fw_config_load accepts. */
void fw_config_dump(const struct fw_config *cfg, FILE *out) FW_NONNULL(1, 2);

/* "ip:port" or "[ip]:port" into buf. */
const char *fw_listen_addr_str(const struct fw_listen_addr *a, char *buf, size_t len);

const char *fw_proxy_auth_name(enum fw_proxy_auth a);

#endif
