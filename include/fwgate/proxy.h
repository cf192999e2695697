/* proxy/: the listener, client connections, strict request heads,
 * CONNECT, TLS interception (CA, minted leaves), the upstream fetch
 * through libcurl into a spool file, and delivery. Must not parse
 * archives or scan anything itself.
 * Thread-safety: fw_proxy_start/stop from one thread; the proxy runs its
 * own accept thread and one thread per client connection. */
#ifndef FWGATE_PROXY_H
#define FWGATE_PROXY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "fwgate/allowlist.h"
#include "fwgate/config.h"
#include "fwgate/err.h"
#include "fwgate/event.h"
#include "fwgate/policy.h"
#include "fwgate/scanner.h"
#include "fwgate/store.h"

#define FW_CA_PATH_MAX 4096

/* Creates <state>/ca/ca.key (0600) and ca.crt; refuses to overwrite.
 * name goes into the subject so operators can tell deployments apart. */
int fw_ca_init(const char *state_dir, const char *name, struct fw_err *err) FW_WUR FW_NONNULL(1, 2);

/* fw_ca_init unless a CA exists; *created says which. */
int fw_ca_ensure(const char *state_dir, const char *name, bool *created, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 2, 3);

/* Prints the CA certificate (PEM) after checking the pair loads. */
int fw_ca_show(const char *state_dir, FILE *out, struct fw_err *err) FW_WUR FW_NONNULL(1, 2);

/* A server certificate for one of the gateway's own listeners (the
 * console), issued by the CA now: a fresh ECDSA P-256 key, SAN DNS:name
 * and IP: each of ips, serverAuth, valid days (never past the CA).
 * *cert_pem and *key_pem are new strings for the caller to free (the key
 * is never written to disk). */
int fw_ca_issue_server(const char *state_dir, const char *name, const char *const *ips, size_t n_ips,
		       unsigned days, char **cert_pem, char **key_pem, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 2, 6, 7);

/* The CA certificate as PEM (a new string to free) and its SHA-256
 * fingerprint as "AB:CD:..." (fp_len at least 96). */
int fw_ca_pem(const char *state_dir, char **pem, char *sha256_fp, size_t fp_len, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 2, 3);

/* ------------------------------------------------------------ proxy users */

/* The appliance's proxy credentials ([proxy] auth = basic), kept in
 * <state>/proxy-users as scrypt hashes; a running gateway reads the file
 * again when it changes. */
#define FW_PROXY_USER_NAME_MAX 64

enum fw_proxy_user_op {
	FW_PROXY_USER_ADD,       /* a new user; refused when the name exists */
	FW_PROXY_USER_PASSWD,    /* a new password for an existing user */
	FW_PROXY_USER_REMOVE,    /* password ignored */
};

/* A name of 1 to 64 of A-Z a-z 0-9 . _ - */
bool fw_proxy_user_name_valid(const char *name) FW_NONNULL(1);

/* Adds, changes or removes one user (the file rewritten whole, fsynced,
 * renamed into place, under a lock). A password has at least
 * FW_PASSWD_MIN characters. */
int fw_proxy_user_change(const char *state_dir, const char *name, const char *password, size_t len,
			 enum fw_proxy_user_op op, struct fw_err *err) FW_WUR FW_NONNULL(1, 2);

/* Calls each with every user's name, in file order; returns how many, or
 * -1 with err. */
int fw_proxy_user_list(const char *state_dir, void (*each)(void *arg, const char *name), void *arg,
		       struct fw_err *err) FW_WUR FW_NONNULL(1, 2);

/* The mirror's BMC groups ([mirror] auth = basic), kept the same way in
 * <state>/mirror-users: one name per group of BMCs, whose credentials
 * Redfish SimpleUpdate passes on. */
int fw_mirror_user_change(const char *state_dir, const char *name, const char *password, size_t len,
			  enum fw_proxy_user_op op, struct fw_err *err) FW_WUR FW_NONNULL(1, 2);
int fw_mirror_user_list(const char *state_dir, void (*each)(void *arg, const char *name), void *arg,
			struct fw_err *err) FW_WUR FW_NONNULL(1, 2);

/* The check of a mirror pull's Authorization: Basic value (NULL when
 * none was sent) from source_ip, as the proxy checks its users: the KDF
 * once then a keyed digest remembered for minutes, an unknown name costs
 * the KDF too, failures from one source lock it out. 0 and *user when
 * accepted; -1 with why (FW_E_DENIED) when not. Thread-safe; the file is
 * read again when it changes. */
struct fw_mirror_auth;
int fw_mirror_auth_new(struct fw_mirror_auth **out, const char *state_dir, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 2);
void fw_mirror_auth_free(struct fw_mirror_auth *m);
int fw_mirror_auth_check(struct fw_mirror_auth *m, const char *authorization, const char *source_ip, char *user,
			 size_t user_len, struct fw_err *why) FW_WUR FW_NONNULL(1, 3, 4);

/* What the proxy works with; everything must outlive the proxy. */
struct fw_proxy_deps {
	const struct fw_config *cfg;
	const struct fw_policy *pol;
	struct fw_allowlist *allow;
	struct fw_evlog *log;
	struct fw_scanner *scanner;  /* every body is vetted here before delivery */
	struct fw_store *store;      /* vetted objects, served again; quarantine */
	struct fw_sandbox *sandbox;  /* members the policy sandboxes; packages held while pending */
};

struct fw_proxy;

/* Loads the CA, binds every [proxy] listen address and starts serving.
 * Nothing is left running on failure. */
int fw_proxy_start(struct fw_proxy **out, const struct fw_proxy_deps *deps, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 2);

/* Stops accepting and wakes every connection (its socket shut, its wait
 * on another request's fetch ended, its fetch aborted); returns without
 * waiting. For a shutdown where other modules (the scanner, the sandbox)
 * must be told to stop before the connections can all end. Idempotent;
 * NULL is a no-op. */
void fw_proxy_quiesce(struct fw_proxy *p);

/* What the proxy does now, for fwgate status and the watchdog. */
struct fw_proxy_status {
	unsigned connections_open;     /* client connections being served */
	uint64_t connections_accepted; /* admitted since start (refused ones not counted) */
	uint64_t accept_idle_ms;       /* since the accept loop last turned: it turns every second */
	bool accepting;                /* not quiesced */
};

/* Lock-free; safe from any thread while the proxy runs. */
void fw_proxy_status(struct fw_proxy *p, struct fw_proxy_status *out) FW_NONNULL(1, 2);

/* fw_proxy_quiesce, then waits until every connection thread has ended
 * (each wait it can be in is woken or bounded), then frees. NULL is a
 * no-op. */
void fw_proxy_stop(struct fw_proxy *p);

#endif
