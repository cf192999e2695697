/* bundle/: signed offline bundles of vetted firmware for air-gapped sites.
 * A bundle is a directory: blobs/<sha256> (the store's bytes, copied byte
 * for byte), manifest.json (what each object is and where it came from)
 * and manifest.sig (a detached Ed25519 signature over the manifest's
 * bytes). Owns the site's signing key (keygen, load), the trust of other
 * sites' keys ([mirror] trusted_keys, one PEM public key per site, named
 * <site_id>.pem; [mirror] revoked_keys), the manifest's strict schema and
 * bounds, export, verification and import (the local rescan before the
 * store's all-or-nothing commit). Must not decide an object's life cycle
 * (the store's table does) nor its verdict (the scanner's and the
 * sandbox's verdict functions do); never trusts a byte of a bundle before
 * its signature is checked, nor a blob before its hash is.
 * Thread-safety: none of it is shared; one caller at a time per bundle. */
#ifndef FWGATE_BUNDLE_H
#define FWGATE_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "fwgate/config.h"
#include "fwgate/err.h"
#include "fwgate/scanner.h"
#include "fwgate/store.h"

#define FW_BUNDLE_FORMAT "fwgate-bundle"
#define FW_BUNDLE_VERSION 1
/* Bounds on what is read from a bundle. */
#define FW_BUNDLE_MANIFEST_MAX (16u * 1024 * 1024)
#define FW_BUNDLE_OBJECTS_MAX 4096u
#define FW_BUNDLE_SIG_LEN 64
#define FW_BUNDLE_KEY_FILE_MAX (64u * 1024)
#define FW_BUNDLE_KEYS_MAX 256u
#define FW_BUNDLE_REVOKED_MAX 4096u
#define FW_BUNDLE_SITE_MAX 128
#define FW_BUNDLE_URL_MAX 8192
#define FW_BUNDLE_FPR_LEN 64

/* ------------------------------------------------------------ keys (keys.c) */

/* [mirror] key_file, or <state dir>/mirror/signing.key. */
int fw_bundle_key_path(const struct fw_config *cfg, char *out, size_t len, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 2);

/* Makes a new Ed25519 key at path (0600, PEM; its directory made 0700
 * when missing), never replacing a file there (FW_E_EXISTS). *pub_pem is
 * its public key (PEM, to free()), fpr its fingerprint. */
int fw_bundle_keygen(const char *path, char **pub_pem, char fpr[FW_BUNDLE_FPR_LEN + 1], struct fw_err *err)
	FW_WUR FW_NONNULL(1, 2, 3);

/* The SHA-256 (lower-case hex) of a key's public half, DER
 * SubjectPublicKeyInfo: the fingerprint revoked_keys lists. */
int fw_bundle_fingerprint(const void *pkey, char fpr[FW_BUNDLE_FPR_LEN + 1], struct fw_err *err)
	FW_WUR FW_NONNULL(1, 2);

/* Ed25519 signature of len bytes with the private key at path (a file
 * only its owner may read). fpr is the key's fingerprint. */
int fw_bundle_sign_file_key(const char *path, const uint8_t *msg, size_t len, uint8_t sig[FW_BUNDLE_SIG_LEN],
			    char fpr[FW_BUNDLE_FPR_LEN + 1], struct fw_err *err) FW_WUR FW_NONNULL(1, 4, 5);

/* The sites this gateway trusts: their public keys, names and whether
 * revoked. */
struct fw_bundle_trust;

/* Reads every *.pem in dir (at most FW_BUNDLE_KEYS_MAX, each an Ed25519
 * public key; anything else there is an error: an operator's mistake is
 * not skipped) and the revoked fingerprints (revoked may be "" or NULL:
 * none; a malformed line is an error). */
int fw_bundle_trust_load(const char *dir, const char *revoked, struct fw_bundle_trust **out, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 3);
void fw_bundle_trust_free(struct fw_bundle_trust *t);

/* Which trusted key signed msg: 0 with its site name and fingerprint; 1
 * refused (no trusted key made the signature, or the one that did is
 * revoked), err says which. */
int fw_bundle_trust_verify(const struct fw_bundle_trust *t, const uint8_t *msg, size_t len,
			   const uint8_t sig[FW_BUNDLE_SIG_LEN], char site[FW_BUNDLE_SITE_MAX + 1],
			   char fpr[FW_BUNDLE_FPR_LEN + 1], struct fw_err *err) FW_WUR FW_NONNULL(1, 4, 5, 6);

/* ------------------------------------------------------------ manifest (manifest.c) */

struct fw_bundle_object {
	char sha256[FW_SHA256_HEX_LEN + 1];
	uint64_t size;
	const char **urls;          /* into doc */
	size_t n_urls;
	const json_t *entry;        /* the whole entry, into doc (its provenance) */
};

struct fw_bundle_manifest {
	char site_id[FW_BUNDLE_SITE_MAX + 1];
	int64_t exported_at;
	int64_t sequence;
	char key_fingerprint[FW_BUNDLE_FPR_LEN + 1];
	struct fw_bundle_object *objects;
	size_t n;
	json_t *doc;
};

/* Parses a manifest under the schema (format, version, site_id,
 * exported_at, sequence, key_fingerprint, objects[]: sha256, size, urls,
 * state, verdict, reason, mime, file_type, engine, scanned_at, sandbox[],
 * approved_by, approved_at, approved_how, review_reason): every field
 * required and typed, an unknown one refused, every string and count
 * bounded, hashes unique. FW_E_INVALID or FW_E_LIMIT with the JSON path. */
int fw_bundle_manifest_parse(const uint8_t *p, size_t len, struct fw_bundle_manifest **out, struct fw_err *err)
	FW_WUR FW_NONNULL(3);
void fw_bundle_manifest_free(struct fw_bundle_manifest *m);

/* The manifest of an export (objects: fw_store_export_list's rows) as
 * the bytes to sign (*text, to free(), *len); checked with the parser
 * before it is returned, so that what one site writes another reads. */
int fw_bundle_manifest_build(const char *site_id, int64_t exported_at, int64_t sequence, const char *fpr,
			     const json_t *objects, char **text, size_t *len, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 4, 5, 6, 7);

/* ------------------------------------------------------------ export (export.c) */

struct fw_bundle_export_opts {
	const struct fw_config *cfg;
	struct fw_store *store;
	const char *dir;            /* empty or new */
	int64_t since;              /* 0: all */
	const int64_t *ids;         /* n_ids > 0: exactly these objects */
	size_t n_ids;
	const char *who;            /* for the audit */
};

/* Writes the bundle of the servable objects into dir (a new or empty
 * directory; the blobs and manifest are fsynced before the signature is
 * written), audited mirror-export. *n is the object count, sequence the
 * manifest's. On failure what it wrote is removed. */
int fw_bundle_export(const struct fw_bundle_export_opts *o, size_t *n, int64_t *sequence, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 2, 3);

/* ------------------------------------------------------------ verify (verify.c) */

/* A bundle that passed verification: its manifest, who signed it, and
 * its directory open (blobs are read relative to it, never by path). */
struct fw_bundle_verified {
	struct fw_bundle_manifest *m;
	char site[FW_BUNDLE_SITE_MAX + 1];
	char fpr[FW_BUNDLE_FPR_LEN + 1];
	int blobs_fd;
};

/* Verifies dir against [mirror] trusted_keys and revoked_keys: the
 * signature over manifest.json, the manifest's schema and bounds, its
 * site and key matching the signer's, exactly manifest.json, manifest.sig
 * and blobs/ with exactly the manifest's blobs (no symbolic link, no other
 * file), each blob's size and SHA-256. Returns 0 (*out, to free with
 * fw_bundle_verified_free; may be NULL to only check), 1 when the bundle
 * is refused (err says why), -1 on an operational error. */
int fw_bundle_verify(const struct fw_config *cfg, const char *dir, struct fw_bundle_verified **out,
		     struct fw_err *err) FW_WUR FW_NONNULL(1, 2);
void fw_bundle_verified_free(struct fw_bundle_verified *v);

/* ------------------------------------------------------------ import (import.c) */

struct fw_bundle_import_opts {
	const struct fw_config *cfg;
	struct fw_store *store;
	struct fw_scanner *scanner;   /* started on this configuration */
	const char *samples_dir;      /* the scanner's samples (members for the sandbox) */
	unsigned sandbox_types;       /* the policy's (bits 1u << enum fw_file_type); 0: no sandbox */
	const char *who;
};

/* What became of each object. */
struct fw_bundle_import_result {
	char sha256[FW_SHA256_HEX_LEN + 1];
	enum fw_object_state state;
	int64_t id;
	enum fw_verdict verdict;      /* the local scan's (with the local sandbox's) */
	char reason[FW_ERR_MSG_MAX];
};

/* Imports a verified bundle (v): refused (1) as a replay when not newer
 * than the last of its site, or when an image is larger than [upstream]
 * max_body_bytes (what the gateway would fetch); each blob copied into a spool file and its
 * hash checked again there (what is committed is what was verified), then
 * scanned with the local signatures through the scanner with the policy's
 * sandbox types, every member the policy sandboxes judged by the local
 * analyzer in a scanner worker (the `local` backend; another backend
 * cannot judge during an import: -1 with why, nothing committed); then
 * fw_store_import_commit, all or nothing. *res (n of them, to free()).
 * Returns 0, 1 refused, -1 error; on 1 and -1 nothing is committed. */
int fw_bundle_import(const struct fw_bundle_import_opts *o, const struct fw_bundle_verified *v,
		     struct fw_bundle_import_result **res, size_t *n, struct fw_err *err) FW_WUR FW_NONNULL(1, 2, 3, 4);

#endif
