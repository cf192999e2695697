/* Unit tests for proxy/delivery.c, the pure delivery decision: a table of
 * cases (where the request is, the vendor's status, the scanner's verdict,
 * the store's state) with the answer each must get, then a sweep over
 * every combination of the inputs checking what must hold for all of them:
 * nothing unvetted or unservable is ever sent, and the steps end. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/delivery.h"

#define AT_L DELIVERY_AT_LOOKUP
#define AT_F DELIVERY_AT_FETCH
#define AT_H DELIVERY_AT_HOLD
#define V_CLEAN FW_VERDICT_CLEAN
#define V_PEND FW_VERDICT_PENDING
#define V_SUSP FW_VERDICT_SUSPICIOUS
#define V_UNSC FW_VERDICT_UNSCANNABLE
#define V_INF FW_VERDICT_INFECTED
#define S_APPR FW_OBJ_APPROVED
#define S_QUAR FW_OBJ_QUARANTINED
#define S_REJ FW_OBJ_REJECTED
#define S_REL FW_OBJ_RELEASED
#define S_PEND FW_OBJ_PENDING

struct row {
	const char *name;
	struct delivery_in in;
	enum delivery_send send;
	int status;
	const char *label;      /* NULL: none */
	enum fw_verdict verdict; /* checked for refusals of a verdict */
	enum delivery_why why;
};

/* A fetched, scanned and committed 200 (f200), or a scanned non-200. */
#define F200(v, s) { .at = AT_F, .upstream_status = 200, .has_body = true, .scan_done = true, .scanned = true, \
		     .verdict = (v), .committed = true, .state = (s) }
#define FNON(st, v) { .at = AT_F, .upstream_status = (st), .has_body = true, .scan_done = true, .scanned = true, \
		      .verdict = (v) }

static const struct row rows[] = {
	/* the store first */
	{ "unknown URL: one flight", { .at = AT_L }, DELIVERY_JOIN_FLIGHT, 0, NULL, 0, 0 },
	{ "unknown URL after a flight landed", { .at = AT_L, .waited = true }, DELIVERY_FETCH, 0, NULL, 0, 0 },
	{ "unknown URL, HEAD: passed through", { .at = AT_L, .head = true }, DELIVERY_FETCH, 0, NULL, 0, 0 },
	{ "approved and fresh: 200 from cache", { .at = AT_L, .found = true, .fresh = true, .state = S_APPR },
	  DELIVERY_SERVE_STORED, 0, NULL, 0, 0 },
	{ "released and fresh: 200 from cache", { .at = AT_L, .found = true, .fresh = true, .state = S_REL },
	  DELIVERY_SERVE_STORED, 0, NULL, 0, 0 },
	{ "approved, stale, HEAD: from cache", { .at = AT_L, .found = true, .head = true, .state = S_APPR },
	  DELIVERY_SERVE_STORED, 0, NULL, 0, 0 },
	{ "approved, stale: revalidate in a flight", { .at = AT_L, .found = true, .state = S_APPR },
	  DELIVERY_JOIN_FLIGHT, 0, NULL, 0, 0 },
	{ "approved, stale, after a flight: fetch", { .at = AT_L, .found = true, .waited = true, .state = S_APPR },
	  DELIVERY_FETCH, 0, NULL, 0, 0 },
	{ "quarantined: 403 without a fetch", { .at = AT_L, .found = true, .fresh = true, .state = S_QUAR },
	  DELIVERY_REFUSE_STORED, 403, NULL, V_UNSC, DELIVERY_WHY_STORE_HOLDS },
	{ "rejected, HEAD: 403 without a fetch", { .at = AT_L, .found = true, .head = true, .state = S_REJ },
	  DELIVERY_REFUSE_STORED, 403, NULL, V_UNSC, DELIVERY_WHY_STORE_HOLDS },
	{ "pending: hold", { .at = AT_L, .found = true, .state = S_PEND }, DELIVERY_HOLD, 0, NULL, 0, 0 },
	/* a hold from the store */
	{ "held, still pending: 503", { .at = AT_H, .state = S_PEND }, DELIVERY_REFUSE_PENDING, 503, NULL, V_PEND, 0 },
	{ "held, settled: look up again", { .at = AT_H, .state = S_APPR }, DELIVERY_LOOKUP_AGAIN, 0, NULL, 0, 0 },
	{ "held, rejected: look up again", { .at = AT_H, .state = S_REJ }, DELIVERY_LOOKUP_AGAIN, 0, NULL, 0, 0 },
	/* a hold with the bytes in the spool */
	{ "spooled, approved: 200 after vetting", { .at = AT_H, .spooled = true, .state = S_APPR },
	  DELIVERY_SEND_VETTED, 0, "clean", 0, 0 },
	{ "spooled, released", { .at = AT_H, .spooled = true, .state = S_REL }, DELIVERY_SEND_VETTED, 0, "released",
	  0, 0 },
	{ "spooled, still pending: 503", { .at = AT_H, .spooled = true, .state = S_PEND }, DELIVERY_REFUSE_PENDING,
	  503, NULL, V_PEND, 0 },
	{ "spooled, quarantined by the sandbox: 403", { .at = AT_H, .spooled = true, .state = S_QUAR },
	  DELIVERY_REFUSE_VERDICT, 403, NULL, V_UNSC, DELIVERY_WHY_STORED_VERDICT },
	{ "spooled, rejected: 403", { .at = AT_H, .spooled = true, .state = S_REJ }, DELIVERY_REFUSE_VERDICT, 403,
	  NULL, V_UNSC, DELIVERY_WHY_STORED_VERDICT },
	/* after the fetch: the steps */
	{ "304 of a revalidation: from cache", { .at = AT_F, .revalidating = true, .upstream_status = 304 },
	  DELIVERY_SERVE_STORED, 0, NULL, 0, 0 },
	{ "304 without revalidation: vetted like any body",
	  { .at = AT_F, .upstream_status = 304, .has_body = true }, DELIVERY_SCAN, 0, NULL, 0, 0 },
	{ "HEAD passed through", { .at = AT_F, .head = true, .upstream_status = 200 }, DELIVERY_SEND_VETTED, 0,
	  "delivered", 0, 0 },
	{ "a body: scan it", { .at = AT_F, .upstream_status = 200, .has_body = true }, DELIVERY_SCAN, 0, NULL, 0, 0 },
	{ "revalidation answered 200: scan it", { .at = AT_F, .revalidating = true, .upstream_status = 200,
	  .has_body = true }, DELIVERY_SCAN, 0, NULL, 0, 0 },
	{ "scanner unreachable: 503", { .at = AT_F, .upstream_status = 200, .has_body = true, .scan_done = true },
	  DELIVERY_REFUSE_SCANNER, 503, NULL, V_UNSC, 0 },
	{ "scanner unreachable on a 404: 503", { .at = AT_F, .upstream_status = 404, .has_body = true,
	  .scan_done = true }, DELIVERY_REFUSE_SCANNER, 503, NULL, V_UNSC, 0 },
	{ "a scanned 200: commit it", { .at = AT_F, .upstream_status = 200, .has_body = true, .scan_done = true,
	  .scanned = true, .verdict = V_INF }, DELIVERY_COMMIT, 0, NULL, 0, 0 },
	/* a committed 200: the store's state decides */
	{ "clean, approved: 200 after vetting", F200(V_CLEAN, S_APPR), DELIVERY_SEND_VETTED, 0, "clean", 0, 0 },
	{ "clean, released before: served as released", F200(V_CLEAN, S_REL), DELIVERY_SEND_VETTED, 0, "released",
	  0, 0 },
	{ "infected, but staff released these bytes", F200(V_INF, S_REL), DELIVERY_SEND_VETTED, 0, "released", 0, 0 },
	{ "pending: hold", F200(V_PEND, S_PEND), DELIVERY_HOLD, 0, NULL, 0, 0 },
	{ "clean, quarantined from before: 403 why held", F200(V_CLEAN, S_QUAR), DELIVERY_REFUSE_STORED, 403, NULL,
	  V_UNSC, DELIVERY_WHY_STORE_HOLDS },
	{ "clean, rejected from before: 403 why held", F200(V_CLEAN, S_REJ), DELIVERY_REFUSE_STORED, 403, NULL,
	  V_UNSC, DELIVERY_WHY_STORE_HOLDS },
	{ "pending, rejected from before: 403 why held", F200(V_PEND, S_REJ), DELIVERY_REFUSE_STORED, 403, NULL,
	  V_UNSC, DELIVERY_WHY_STORE_HOLDS },
	{ "infected: 403 block page", F200(V_INF, S_QUAR), DELIVERY_REFUSE_VERDICT, 403, NULL, V_INF,
	  DELIVERY_WHY_SCAN },
	{ "suspicious: 403 held for review", F200(V_SUSP, S_QUAR), DELIVERY_REFUSE_VERDICT, 403, NULL, V_SUSP,
	  DELIVERY_WHY_SCAN },
	{ "unscannable: 403 held for review", F200(V_UNSC, S_QUAR), DELIVERY_REFUSE_VERDICT, 403, NULL, V_UNSC,
	  DELIVERY_WHY_SCAN },
	{ "infected, rejected: 403", F200(V_INF, S_REJ), DELIVERY_REFUSE_VERDICT, 403, NULL, V_INF,
	  DELIVERY_WHY_SCAN },
	/* not a 200: vetted, never recorded */
	{ "clean 404: the vendor's status", FNON(404, V_CLEAN), DELIVERY_SEND_VETTED, 0, "clean", 0, 0 },
	{ "clean 206: the vendor's status", FNON(206, V_CLEAN), DELIVERY_SEND_VETTED, 0, "clean", 0, 0 },
	{ "clean 500: the vendor's status", FNON(500, V_CLEAN), DELIVERY_SEND_VETTED, 0, "clean", 0, 0 },
	{ "pending 404: never judged, 403", FNON(404, V_PEND), DELIVERY_REFUSE_VERDICT, 403, NULL, V_UNSC,
	  DELIVERY_WHY_PENDING_NOT_200 },
	{ "infected 404: 403", FNON(404, V_INF), DELIVERY_REFUSE_VERDICT, 403, NULL, V_INF, DELIVERY_WHY_SCAN },
	{ "suspicious 502: 403", FNON(502, V_SUSP), DELIVERY_REFUSE_VERDICT, 403, NULL, V_SUSP, DELIVERY_WHY_SCAN },
	{ "unscannable 206: 403", FNON(206, V_UNSC), DELIVERY_REFUSE_VERDICT, 403, NULL, V_UNSC, DELIVERY_WHY_SCAN },
};

static bool is_refusal(enum delivery_send s)
{
	return s == DELIVERY_REFUSE_PENDING || s == DELIVERY_REFUSE_SCANNER || s == DELIVERY_REFUSE_VERDICT ||
	       s == DELIVERY_REFUSE_STORED;
}

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct delivery d = delivery_decide(&r->in);

		print_message("%s -> %s\n", r->name, delivery_send_name(d.send));
		assert_string_equal(delivery_send_name(d.send), delivery_send_name(r->send));
		assert_int_equal(d.status, r->status);
		if (r->label != NULL)
			assert_string_equal(d.label, r->label);
		else
			assert_null(d.label);
		if (d.send == DELIVERY_SERVE_STORED)
			assert_non_null(d.reason);
		if (is_refusal(d.send)) {
			assert_int_equal(d.verdict, r->verdict);
			assert_int_equal(d.why, r->why);
		}
	}
}

/* What must hold for every input: only vetted, servable bytes leave. */
static void check_invariants(const struct delivery_in *in, const struct delivery *d)
{
	bool servable = in->state == S_APPR || in->state == S_REL;

	switch (d->send) {
	case DELIVERY_SEND_VETTED:
		assert_non_null(d->label);
		if (in->at == AT_H) {
			assert_true(in->spooled && servable);
		} else {
			assert_int_equal(in->at, AT_F);
			if (in->has_body && in->upstream_status == 200)
				assert_true(in->scanned && in->committed && servable);
			else if (in->has_body)
				assert_true(in->scanned && in->verdict == V_CLEAN);
			else
				assert_string_equal(d->label, "delivered"); /* HEAD: no body */
		}
		break;
	case DELIVERY_SERVE_STORED:
		if (in->at == AT_L)
			assert_true(in->found && servable && (in->fresh || in->head));
		else
			assert_true(in->at == AT_F && in->revalidating && in->upstream_status == 304);
		break;
	case DELIVERY_REFUSE_PENDING:
	case DELIVERY_REFUSE_SCANNER:
		assert_int_equal(d->status, 503);
		break;
	case DELIVERY_REFUSE_VERDICT:
	case DELIVERY_REFUSE_STORED:
		assert_int_equal(d->status, 403);
		assert_int_not_equal(d->verdict, V_CLEAN);
		assert_int_not_equal(d->verdict, V_PEND);
		break;
	case DELIVERY_SCAN:
		assert_true(in->at == AT_F && in->has_body && !in->scan_done);
		break;
	case DELIVERY_COMMIT:
		assert_true(in->at == AT_F && in->scanned && in->upstream_status == 200 && !in->committed);
		break;
	case DELIVERY_HOLD:
		assert_int_equal(in->state, S_PEND);
		assert_true(in->at == AT_L || in->committed);
		break;
	case DELIVERY_FETCH:
	case DELIVERY_JOIN_FLIGHT:
		assert_true(in->at == AT_L && !(in->found && !servable));
		break;
	case DELIVERY_LOOKUP_AGAIN:
		assert_true(in->at == AT_H && !in->spooled && in->state != S_PEND);
		break;
	}
	if (!is_refusal(d->send))
		assert_int_equal(d->status, 0);
}

/* Does a step as exchange.c does (the scanner and the store answering with
 * the given verdict and state); returns false when the answer is final. */
static bool step(struct delivery_in *in, const struct delivery *d, enum fw_verdict v, enum fw_object_state s)
{
	switch (d->send) {
	case DELIVERY_SCAN:
		in->scan_done = in->scanned = true;
		in->verdict = v;
		return true;
	case DELIVERY_COMMIT:
		in->committed = true;
		in->state = s;
		return true;
	case DELIVERY_HOLD:
		in->at = AT_H;
		in->spooled = in->committed;
		in->state = S_APPR;
		return true;
	default:
		return false;
	}
}

static void test_every_input(void **state)
{
	static const long statuses[] = { 200, 206, 304, 404, 500, 502 };
	unsigned n = 0;

	(void)state;
	for (unsigned at = AT_L; at <= AT_H; at++)
		for (unsigned bits = 0; bits < (1u << 10); bits++)
			for (size_t si = 0; si < sizeof(statuses) / sizeof(statuses[0]); si++)
				for (unsigned v = V_CLEAN; v <= V_INF; v++)
					for (unsigned s = S_APPR; s <= S_PEND; s++) {
						struct delivery_in in = {
							.at = (enum delivery_point)at, .head = bits & 1,
							.found = bits & 2, .fresh = bits & 4, .waited = bits & 8,
							.revalidating = bits & 16, .has_body = bits & 32,
							.scan_done = bits & 64, .scanned = (bits & 64) && (bits & 128),
							.committed = bits & 256, .spooled = bits & 512,
							.upstream_status = statuses[si], .verdict = (enum fw_verdict)v,
							.state = (enum fw_object_state)s,
						};
						struct delivery d = delivery_decide(&in);
						unsigned steps = 0;

						check_invariants(&in, &d);
						while (step(&in, &d, (enum fw_verdict)v, (enum fw_object_state)s)) {
							d = delivery_decide(&in);
							check_invariants(&in, &d);
							assert_true(++steps <= 3);
						}
						n++;
					}
	print_message("%u inputs checked\n", n);
}

static void test_same_input_same_answer(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct delivery a = delivery_decide(&rows[i].in), b = delivery_decide(&rows[i].in);

		assert_int_equal(a.send, b.send);
		assert_int_equal(a.status, b.status);
		assert_ptr_equal(a.label, b.label);
		assert_ptr_equal(a.reason, b.reason);
		assert_int_equal(a.verdict, b.verdict);
		assert_int_equal(a.why, b.why);
	}
	assert_string_equal(delivery_send_name((enum delivery_send)99), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_every_input),
		cmocka_unit_test(test_same_input_same_answer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
