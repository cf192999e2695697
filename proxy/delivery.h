/* Private to proxy/: the delivery decision, a pure function of where the
 * request is (store lookup, after the fetch and scan, after the sandbox
 * hold), the vendor's status, the scanner's verdict and the store's state.
 * It says what to send and why; it does no I/O (exchange.c acts on it). */
#ifndef FWGATE_PROXY_DELIVERY_H
#define FWGATE_PROXY_DELIVERY_H

#include <stdbool.h>

#include "fwgate/scanner.h"
#include "fwgate/store.h"

/* The point of the pipeline at which the decision is asked for. */
enum delivery_point {
	DELIVERY_AT_LOOKUP,  /* the URL was looked up in the store, nothing fetched */
	DELIVERY_AT_FETCH,   /* the vendor answered (a 200 is then committed) */
	DELIVERY_AT_HOLD,    /* the client was held while the sandbox judged */
};

struct delivery_in {
	enum delivery_point at;
	bool head;                  /* a HEAD request */
	/* DELIVERY_AT_LOOKUP */
	bool found;                 /* the store knows the URL */
	bool fresh;                 /* verified with the vendor within [cache] revalidate_after_seconds */
	bool waited;                /* a flight for this URL landed ahead of us */
	/* DELIVERY_AT_FETCH */
	bool revalidating;          /* a conditional fetch of a stored, servable object */
	long upstream_status;       /* the vendor's status */
	bool has_body;              /* false: a HEAD passed through, no body to vet */
	bool scan_done;             /* the body was handed to the scanner */
	bool scanned;               /* ... and it answered with a verdict document */
	enum fw_verdict verdict;    /* the scanner's verdict (when scanned; after the commit when committed) */
	bool committed;             /* the store recorded the 200 body */
	/* LOOKUP, FETCH of a 200 (after the commit) and HOLD */
	enum fw_object_state state; /* the store's state of the object */
	/* DELIVERY_AT_HOLD */
	bool spooled;               /* the held request has the vetted bytes in its spool */
};

enum delivery_send {
	DELIVERY_SERVE_STORED,   /* 200 (206, 304, 416) from the stored blob */
	DELIVERY_SEND_VETTED,    /* the vendor's status and fields with the vetted spooled bytes */
	DELIVERY_FETCH,          /* fetch (a HEAD of an unknown URL is passed through) */
	DELIVERY_JOIN_FLIGHT,    /* fetch, one flight per URL: join it */
	DELIVERY_SCAN,           /* hand the complete body to the scanner, then decide again */
	DELIVERY_COMMIT,         /* record the scanned 200 body in the store, then decide again */
	DELIVERY_HOLD,           /* hold the client for the sandbox, then decide DELIVERY_AT_HOLD */
	DELIVERY_LOOKUP_AGAIN,   /* the held object settled: look the URL up again */
	DELIVERY_REFUSE_PENDING, /* 503 + Retry-After: under sandbox analysis */
	DELIVERY_REFUSE_SCANNER, /* 503 + Retry-After: the scanner could not be reached */
	DELIVERY_REFUSE_VERDICT, /* 403 block page naming the verdict */
	DELIVERY_REFUSE_STORED,  /* 403: the store holds it back (rejected, quarantined) */
};

/* Why a refusal's verdict is not the scanner's own. */
enum delivery_why {
	DELIVERY_WHY_SCAN,             /* the scanner's verdict as it is */
	DELIVERY_WHY_STORED_VERDICT,   /* settled against by the sandbox: the store's verdict and reason */
	DELIVERY_WHY_PENDING_NOT_200,  /* members need the sandbox, but only a 200 is kept and judged */
	DELIVERY_WHY_STORE_HOLDS,      /* clean now, held from before: the store's record says why */
};

struct delivery {
	enum delivery_send send;
	int status;              /* the status sent; 0: the vendor's (SEND_VETTED) or the blob's (SERVE_STORED) */
	const char *label;       /* the event's verdict on success: "clean", "released", "delivered" */
	const char *reason;      /* SERVE_STORED: why the store answers */
	enum fw_verdict verdict; /* REFUSE_VERDICT: the verdict the page states */
	enum delivery_why why;
};

/* The next step of a request; pure: same input, same answer, no I/O, no
 * state. The caller does the step, updates the input (scan_done and
 * scanned, committed and state, at) and asks again until the answer is a
 * response: SCAN, COMMIT and HOLD each change the input so that they are
 * not answered twice. */
struct delivery delivery_decide(const struct delivery_in *in);

/* "serve-stored", "send-vetted", ... for tests and messages. */
const char *delivery_send_name(enum delivery_send s);

#endif
