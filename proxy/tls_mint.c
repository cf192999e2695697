/* Leaf certificates for intercepted hosts: minted fresh for the CONNECT
 * host (SAN dNSName only, never copied from the upstream certificate),
 * signed by the CA, with one ECDSA key per run that is not the CA key.
 * A bounded LRU cache keeps handshakes cheap. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "proxy/tls.h"

/* A cached leaf is replaced this long before it expires. */
#define MINT_RENEW_MARGIN_SECONDS 3600

struct mint_entry {
	char *host;
	X509 *cert;
	time_t not_after;
	struct mint_entry *hnext;              /* hash chain */
	struct mint_entry *prev, *next;        /* LRU list, most recent first */
};

struct tls_mint {
	pthread_mutex_t lock; /* guards the table, the list and count */
	struct tls_ca *ca;
	EVP_PKEY *key;
	unsigned validity_days;
	unsigned capacity, count, nbuckets;
	struct mint_entry **buckets;
	struct mint_entry *head, *tail;
};

static unsigned hash_host(const char *s, unsigned nbuckets)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h % nbuckets;
}

int tls_mint_new(struct tls_mint **out, struct tls_ca *ca, unsigned cache_entries,
		unsigned validity_days, struct fw_err *err)
{
	struct tls_mint *m = calloc(1, sizeof(*m));

	*out = NULL;
	if (m == NULL)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	m->ca = ca;
	m->capacity = cache_entries ? cache_entries : 1;
	m->validity_days = validity_days;
	m->nbuckets = m->capacity < 16 ? 16 : m->capacity;
	m->buckets = calloc(m->nbuckets, sizeof(*m->buckets));
	m->key = EVP_EC_gen("P-256");
	if (m->buckets == NULL || m->key == NULL || pthread_mutex_init(&m->lock, NULL) != 0) {
		free(m->buckets);
		EVP_PKEY_free(m->key);
		free(m);
		return fw_err_set(err, "cannot create the leaf key and cache");
	}
	*out = m;
	return 0;
}

static void entry_free(struct mint_entry *e)
{
	X509_free(e->cert);
	free(e->host);
	free(e);
}

void tls_mint_free(struct tls_mint *m)
{
	struct mint_entry *e, *next;

	if (m == NULL)
		return;
	for (e = m->head; e != NULL; e = next) {
		next = e->next;
		entry_free(e);
	}
	pthread_mutex_destroy(&m->lock);
	free(m->buckets);
	EVP_PKEY_free(m->key);
	free(m);
}

EVP_PKEY *tls_mint_key(struct tls_mint *m)
{
	return m->key;
}

static X509 *mint_cert(struct tls_mint *m, const char *host, time_t *not_after)
{
	X509 *ca = tls_ca_cert(m->ca), *cert = X509_new();
	char san[300];
	time_t now = time(NULL);
	struct tm tm;

	if (cert == NULL || X509_set_version(cert, 2) != 1 || tls_x509_random_serial(cert) != 0 ||
	    X509_set_issuer_name(cert, X509_get_subject_name(ca)) != 1 ||
	    X509_set_pubkey(cert, m->key) != 1)
		goto fail;
	/* An hour of slack for clients whose clock is behind. */
	if (X509_time_adj_ex(X509_getm_notBefore(cert), 0, -3600, &now) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(cert), (int)m->validity_days, 0, &now) == NULL)
		goto fail;
	/* Never outlive the CA. */
	if (ASN1_TIME_compare(X509_get0_notAfter(cert), X509_get0_notAfter(ca)) > 0 &&
	    X509_set1_notAfter(cert, X509_get0_notAfter(ca)) != 1)
		goto fail;
	/* Empty subject, so the SAN is critical (RFC 5280 4.2.1.6) and the
	 * host name lives only there, whatever its length. */
	if ((size_t)snprintf(san, sizeof(san), "critical,DNS:%s", host) >= sizeof(san))
		goto fail;
	if (tls_x509_add_ext(cert, ca, NID_subject_alt_name, san) != 0 ||
	    tls_x509_add_ext(cert, ca, NID_basic_constraints, "critical,CA:FALSE") != 0 ||
	    tls_x509_add_ext(cert, ca, NID_key_usage, "critical,digitalSignature") != 0 ||
	    tls_x509_add_ext(cert, ca, NID_ext_key_usage, "serverAuth") != 0 ||
	    tls_x509_add_ext(cert, ca, NID_subject_key_identifier, "hash") != 0 ||
	    tls_x509_add_ext(cert, ca, NID_authority_key_identifier, "keyid:always") != 0)
		goto fail;
	if (X509_sign(cert, tls_ca_key(m->ca), EVP_sha256()) == 0)
		goto fail;
	if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1)
		goto fail;
	*not_after = timegm(&tm);
	return cert;
fail:
	X509_free(cert);
	return NULL;
}

static void lru_unlink(struct tls_mint *m, struct mint_entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		m->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		m->tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push_front(struct tls_mint *m, struct mint_entry *e)
{
	e->next = m->head;
	e->prev = NULL;
	if (m->head)
		m->head->prev = e;
	m->head = e;
	if (m->tail == NULL)
		m->tail = e;
}

static void table_remove(struct tls_mint *m, struct mint_entry *e)
{
	struct mint_entry **pp = &m->buckets[hash_host(e->host, m->nbuckets)];

	while (*pp != NULL && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp == e)
		*pp = e->hnext;
	lru_unlink(m, e);
	m->count--;
}

/* Cached, still comfortably valid certificate for host; NULL otherwise. */
static X509 *cache_get(struct tls_mint *m, const char *host)
{
	struct mint_entry *e = m->buckets[hash_host(host, m->nbuckets)];

	for (; e != NULL; e = e->hnext) {
		if (strcmp(e->host, host) != 0)
			continue;
		if (e->not_after - time(NULL) < MINT_RENEW_MARGIN_SECONDS) {
			table_remove(m, e);
			entry_free(e);
			return NULL;
		}
		lru_unlink(m, e);
		lru_push_front(m, e);
		X509_up_ref(e->cert);
		return e->cert;
	}
	return NULL;
}

static void cache_put(struct tls_mint *m, const char *host, X509 *cert, time_t not_after)
{
	struct mint_entry *e;
	unsigned b;
	X509 *existing = cache_get(m, host);

	if (existing != NULL) {
		/* Another thread minted it meanwhile; keep theirs. */
		X509_free(existing);
		return;
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL || (e->host = strdup(host)) == NULL) {
		free(e);
		return; /* not cached: minted again next time */
	}
	while (m->count >= m->capacity && m->tail != NULL) {
		struct mint_entry *old = m->tail;

		table_remove(m, old);
		entry_free(old);
	}
	X509_up_ref(cert);
	e->cert = cert;
	e->not_after = not_after;
	b = hash_host(host, m->nbuckets);
	e->hnext = m->buckets[b];
	m->buckets[b] = e;
	lru_push_front(m, e);
	m->count++;
}

X509 *tls_mint_leaf(struct tls_mint *m, const char *host, bool *minted, struct fw_err *err)
{
	time_t not_after = 0;
	X509 *cert;

	*minted = false;
	pthread_mutex_lock(&m->lock);
	cert = cache_get(m, host);
	pthread_mutex_unlock(&m->lock);
	if (cert != NULL)
		return cert;
	/* Signing happens outside the lock: handshakes for other hosts go on. */
	cert = mint_cert(m, host, &not_after);
	if (cert == NULL) {
		tls_err(err, "cannot mint a certificate");
		return NULL;
	}
	*minted = true;
	pthread_mutex_lock(&m->lock);
	cache_put(m, host, cert, not_after);
	pthread_mutex_unlock(&m->lock);
	return cert;
}
