/* Forwarding of the event log to a remote syslog collector (the SIEM):
 * RFC 5424 messages over UDP (RFC 5426), TCP with octet counting
 * (RFC 6587) or TLS (RFC 5425), from a bounded queue drained by one
 * sender thread. Owns the message format, the target grammar, the queue
 * and the connection; must not block an emitter on the network and must
 * never fall back from TLS to plaintext.
 * Thread-safety: fw_syslog_fwd_push and fw_syslog_fwd_stats may be called
 * from many threads at once; new/free are not concurrent with them. The
 * format and parse functions are pure. */
#ifndef FWGATE_SYSLOG_FWD_H
#define FWGATE_SYSLOG_FWD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fwgate/attrib.h"
#include "fwgate/config.h"
#include "fwgate/err.h"
#include "fwgate/event.h"

/* The SD-ID of the event's parameters: 32473 is the private enterprise
 * number RFC 5612 reserves for documentation. */
#define FW_SYSLOG_SD_ID "fwgate@32473"
/* RFC 5424 6.3.3: a PARAM-NAME is 1 to 32 printable US-ASCII characters. */
#define FW_SYSLOG_NAME_MAX 32
/* Largest message sent: one UDP datagram (RFC 5426 3.2: receivers should
 * accept 2048 octets), one TCP/TLS frame (a collector must accept at least
 * this much: rsyslog's default maxMessageSize is 8 KiB). Longer messages
 * are cut and carry truncated="true". */
#define FW_SYSLOG_UDP_MAX 2048
#define FW_SYSLOG_STREAM_MAX (64 * 1024)
/* [log] syslog_queue bounds. The sender thread's own reports (an error,
 * a count of drops) may take 4 slots beyond it, so a full queue does not
 * swallow the report of its own drops. */
#define FW_SYSLOG_QUEUE_MIN 1
#define FW_SYSLOG_QUEUE_MAX 1000000
/* Reconnect back-off: doubles from MIN to MAX seconds. */
#define FW_SYSLOG_BACKOFF_MIN_MS 1000
#define FW_SYSLOG_BACKOFF_MAX_MS 30000
/* How long close keeps sending what is queued. */
#define FW_SYSLOG_FLUSH_MS 2000

enum fw_syslog_proto {
	FW_SYSLOG_UDP = 1,
	FW_SYSLOG_TCP,
	FW_SYSLOG_TLS,
};

struct fw_syslog_target {
	enum fw_syslog_proto proto;
	char host[FW_HOST_MAX]; /* a DNS name (lower case) or an IP literal without brackets */
	bool host_is_ip;
	uint16_t port;
};

/* Parses "udp://HOST:PORT", "tcp://HOST:PORT" or "tls://HOST:PORT" (HOST a
 * DNS name, an IPv4 address in dotted quad or "[IPv6]"; PORT 1-65535 in
 * decimal; nothing else: no user, path, query or zone id). out is cleared
 * on entry and set only on success. */
int fw_syslog_target_parse(const char *text, struct fw_syslog_target *out, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 2);

/* Maps a field name (an ECS dotted name) to a valid PARAM-NAME in out
 * (FW_SYSLOG_NAME_MAX + 1 bytes): every byte outside '!'..'~' and each of
 * '=', ']', '"' becomes '_'; "" becomes "_"; a result longer than 32 keeps
 * its first 23 characters, then '~' and the 8 hex digits of the FNV-1a
 * 32-bit hash of the whole original name. Returns the length. */
size_t fw_syslog_param_name(const char *key, char *out) FW_NONNULL(1, 2);

/* Severity (LOG_* of syslog.h) of an event: failure -> LOG_WARNING, else
 * LOG_INFO; with high (the policy's logging.profile is
 * "siem_high_priority") failure -> LOG_ERR, else LOG_NOTICE. */
int fw_syslog_severity(enum fw_outcome outcome, bool high);

/* What the header of one message says besides the event. */
struct fw_syslog_header {
	int facility;         /* LOG_DAEMON, LOG_LOCAL0.. (as syslog.h shifts them) */
	int severity;         /* LOG_ERR.. LOG_INFO */
	int64_t time_us;      /* unix time in microseconds */
	const char *hostname; /* NULL or "": "-" */
	long pid;
	const char *profile;  /* NULL or "": no profile parameter */
};

/* One RFC 5424 message: "<PRI>1 TIMESTAMP HOSTNAME fwgate PID MSGID
 * [fwgate@32473 NAME="VALUE"...] BOM MSG" where MSGID is event.action,
 * the parameters are the members of the JSON object in line (as
 * fw_event_format writes it; names mapped by fw_syslog_param_name, values
 * escaped per RFC 5424 6.3.3, control characters replaced by U+FFFD) plus
 * profile, and MSG is the line itself. At most max_bytes (at least 256):
 * a longer message keeps the header, carries truncated="true" and its MSG
 * is cut and ends in "...[cut]" (when the parameters alone do not fit,
 * only event.action, event.outcome and profile are kept). *out (not
 * NUL-terminated, *out_len bytes) is the caller's to free(); both are
 * cleared on entry. FW_E_INVALID when line is not a JSON object. */
int fw_syslog_format(const struct fw_syslog_header *h, const char *line, size_t len, size_t max_bytes,
		     char **out, size_t *out_len, struct fw_err *err) FW_WUR FW_NONNULL(1, 2, 5, 6);

struct fw_syslog_opts {
	struct fw_syslog_target target;
	const char *ca_file;   /* TLS: NULL or "": the system store */
	const char *cert_file; /* TLS client certificate: NULL or "": none */
	const char *key_file;
	unsigned queue_max;    /* FW_SYSLOG_QUEUE_MIN..MAX events */
	unsigned timeout_seconds; /* connect, handshake and each send */
	int facility;
	const char *profile;   /* the policy's logging.profile; NULL: none */
	FILE *info;            /* NULL or where connection changes are told, one line each */
	/* The forwarder's own events (fwgate-syslog-error, fwgate-syslog-dropped)
	 * are handed to report (called on the sender thread, which holds no lock
	 * then; it may call fw_syslog_fwd_push); NULL: they are queued directly. */
	void (*report)(void *arg, const struct fw_event *ev);
	void *report_arg;
};

struct fw_syslog_fwd;

/* Checks opts, sets up TLS (CA, client certificate) and starts the
 * sender thread; the first connection is made by that thread. */
int fw_syslog_fwd_new(struct fw_syslog_fwd **out, const struct fw_syslog_opts *opts, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 2);

/* Sends what is queued for at most FW_SYSLOG_FLUSH_MS, stops the thread
 * and frees everything; what is left is counted as dropped. NULL: no-op. */
void fw_syslog_fwd_free(struct fw_syslog_fwd *fwd);

/* Queues one event line (len bytes, no newline needed; a trailing '\n' is
 * dropped) with the current time. Never waits on the network: when the
 * queue is full the event is dropped and counted. Returns 0 when queued,
 * -1 when dropped. */
int fw_syslog_fwd_push(struct fw_syslog_fwd *fwd, enum fw_outcome outcome, const char *line, size_t len)
	FW_NONNULL(1, 3);

struct fw_syslog_stats {
	uint64_t queued;      /* in the queue now */
	uint64_t sent;        /* messages written whole to the transport */
	uint64_t dropped;     /* queue full, too long, or left at close */
	uint64_t connects;    /* successful connections (the first included) */
	bool connected;
};

void fw_syslog_fwd_stats(struct fw_syslog_fwd *fwd, struct fw_syslog_stats *st) FW_NONNULL(1, 2);

/* The options [log] gives (target, CA, client certificate, queue, timeout,
 * facility); profile, info and report are left for the caller. Returns 1
 * (o untouched) when [log] syslog_target is "" (off). */
int fw_syslog_opts_from_config(struct fw_syslog_opts *o, const struct fw_config *cfg, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 2);

#endif
