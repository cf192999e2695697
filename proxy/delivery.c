/* The delivery decision: what the client is answered, from where the
 * request is, the vendor's status, the scanner's verdict and the store's
 * state. Pure: no I/O, no allocation, no clock; exchange.c does what it
 * says. Fail closed: only a clean verdict whose object the store calls
 * servable (or a clean non-200 the store never keeps) is ever sent. */
#include "proxy/delivery.h"

static struct delivery refuse(enum delivery_send send, int status, enum fw_verdict v, enum delivery_why why)
{
	return (struct delivery){ .send = send, .status = status, .verdict = v, .why = why };
}

static struct delivery send_vetted(const char *label)
{
	return (struct delivery){ .send = DELIVERY_SEND_VETTED, .label = label };
}

static const char *servable_label(enum fw_object_state s)
{
	return s == FW_OBJ_RELEASED ? "released" : "clean";
}

static struct delivery at_lookup(const struct delivery_in *in)
{
	if (in->found && in->state == FW_OBJ_PENDING)
		return (struct delivery){ .send = DELIVERY_HOLD };
	if (in->found && !fw_object_state_servable(in->state))
		return refuse(DELIVERY_REFUSE_STORED, 403, FW_VERDICT_UNSCANNABLE, DELIVERY_WHY_STORE_HOLDS);
	if (in->found && (in->head || in->fresh))
		return (struct delivery){ .send = DELIVERY_SERVE_STORED, .reason = "served from the vetted store" };
	/* A HEAD of an unknown URL is passed through (no body to vet); after a
	 * flight landed with nothing usable, the request fetches itself. */
	if ((!in->found && in->head) || in->waited)
		return (struct delivery){ .send = DELIVERY_FETCH };
	return (struct delivery){ .send = DELIVERY_JOIN_FLIGHT };
}

static struct delivery at_hold(const struct delivery_in *in)
{
	if (in->state == FW_OBJ_PENDING)
		return refuse(DELIVERY_REFUSE_PENDING, 503, FW_VERDICT_PENDING, DELIVERY_WHY_SCAN);
	if (!in->spooled)
		return (struct delivery){ .send = DELIVERY_LOOKUP_AGAIN };
	if (fw_object_state_servable(in->state))
		return send_vetted(servable_label(in->state));
	/* Settled against it: the stored verdict says why. */
	return refuse(DELIVERY_REFUSE_VERDICT, 403, FW_VERDICT_UNSCANNABLE, DELIVERY_WHY_STORED_VERDICT);
}

static struct delivery at_fetch(const struct delivery_in *in)
{
	if (in->revalidating && in->upstream_status == 304)
		return (struct delivery){ .send = DELIVERY_SERVE_STORED,
					  .reason = "revalidated with the vendor: unchanged" };
	if (!in->has_body)
		return send_vetted("delivered");
	if (!in->scan_done)
		return (struct delivery){ .send = DELIVERY_SCAN };
	/* No verdict document at all: the scanner is unreachable. */
	if (!in->scanned)
		return refuse(DELIVERY_REFUSE_SCANNER, 503, FW_VERDICT_UNSCANNABLE, DELIVERY_WHY_SCAN);
	if (in->upstream_status == 200) {
		if (!in->committed)
			return (struct delivery){ .send = DELIVERY_COMMIT };
		/* Recorded: the store's state decides, never the scan alone
		 * (bytes it holds stay held whatever a new scan says). */
		if (in->state == FW_OBJ_PENDING)
			return (struct delivery){ .send = DELIVERY_HOLD };
		if (fw_object_state_servable(in->state))
			return send_vetted(servable_label(in->state));
		if (in->verdict == FW_VERDICT_CLEAN || in->verdict == FW_VERDICT_PENDING)
			return refuse(DELIVERY_REFUSE_STORED, 403, FW_VERDICT_UNSCANNABLE, DELIVERY_WHY_STORE_HOLDS);
		return refuse(DELIVERY_REFUSE_VERDICT, 403, in->verdict, DELIVERY_WHY_SCAN);
	}
	/* Not a 200: vetted, never recorded, so nothing is judged later. */
	if (in->verdict == FW_VERDICT_CLEAN)
		return send_vetted("clean");
	if (in->verdict == FW_VERDICT_PENDING)
		return refuse(DELIVERY_REFUSE_VERDICT, 403, FW_VERDICT_UNSCANNABLE, DELIVERY_WHY_PENDING_NOT_200);
	return refuse(DELIVERY_REFUSE_VERDICT, 403, in->verdict, DELIVERY_WHY_SCAN);
}

struct delivery delivery_decide(const struct delivery_in *in)
{
	switch (in->at) {
	case DELIVERY_AT_LOOKUP:
		return at_lookup(in);
	case DELIVERY_AT_FETCH:
		return at_fetch(in);
	case DELIVERY_AT_HOLD:
		return at_hold(in);
	}
	return refuse(DELIVERY_REFUSE_VERDICT, 403, FW_VERDICT_UNSCANNABLE, DELIVERY_WHY_SCAN);
}

const char *delivery_send_name(enum delivery_send s)
{
	static const char *const names[] = {
		[DELIVERY_SERVE_STORED] = "serve-stored",     [DELIVERY_SEND_VETTED] = "send-vetted",
		[DELIVERY_FETCH] = "fetch",                   [DELIVERY_JOIN_FLIGHT] = "join-flight",
		[DELIVERY_SCAN] = "scan",                     [DELIVERY_COMMIT] = "commit",
		[DELIVERY_HOLD] = "hold",                     [DELIVERY_LOOKUP_AGAIN] = "lookup-again",
		[DELIVERY_REFUSE_PENDING] = "refuse-pending", [DELIVERY_REFUSE_SCANNER] = "refuse-scanner",
		[DELIVERY_REFUSE_VERDICT] = "refuse-verdict", [DELIVERY_REFUSE_STORED] = "refuse-stored",
	};

	return (unsigned)s < sizeof(names) / sizeof(names[0]) && names[s] != NULL ? names[s] : "?";
}
