/* Unit tests for store/lifecycle.c: the object life-cycle table. Every
 * state x event x set of facts finds a row; every row is where its state's
 * blob lives; "never approve past the scanner or a job" holds over the
 * whole table; and one expected case per row, each row hit. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "store/store_int.h"

static bool servable(enum fw_object_state s)
{
	return s == FW_OBJ_APPROVED || s == FW_OBJ_RELEASED;
}

static bool in_table(const struct store_lc_row *r)
{
	size_t n;
	const struct store_lc_row *t = store_lc_table(&n);

	return r >= t && r < t + n;
}

/* Every (state, event, facts) finds a row of the table, never the
 * fallback; the last row of each (state, event) needs no fact. */
static void test_complete(void **state)
{
	(void)state;
	for (int from = 0; from < STORE_LC_STATES; from++)
		for (int ev = 0; ev < STORE_EV_COUNT; ev++)
			for (unsigned f = 0; f <= STORE_F_ALL; f++) {
				const struct store_lc_row *r = store_lc_step((enum fw_object_state)from,
									     (enum store_event)ev, f);

				if (!in_table(r))
					fail_msg("state %d, event %s, facts %#x: no row", from,
						 store_event_name((enum store_event)ev), f);
			}
	assert_string_equal(store_event_name(STORE_EV_REPAIR), "repair");
	assert_string_equal(store_event_name(STORE_EV_COUNT), "unknown");
}

/* Rows say where the blob lives: servable states in objects/, the rest in
 * quarantine/; a refusal changes nothing. */
static void test_rows_consistent(void **state)
{
	size_t n;
	const struct store_lc_row *t = store_lc_table(&n);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		const struct store_lc_row *r = &t[i];

		if (r->refused != NULL) {
			assert_int_equal(r->to, r->from);
			assert_null(r->action);
			assert_int_equal(r->held, STORE_HELD_KEEP);
			continue;
		}
		assert_true(r->to != STORE_OBJ_NEW);
		if ((int)r->to < STORE_LC_STATES - 1)
			assert_int_equal(r->area, store_area_of(r->to));
		assert_int_equal(r->area, servable(r->to) ? STORE_AREA_OBJECTS : STORE_AREA_QUARANTINE);
		/* A change of state is audited, except where the event's own
		 * record says it (a new object, a retry's one audit row). */
		if (r->to != r->from && r->from != STORE_OBJ_NEW && r->ev != STORE_EV_SANDBOX_RETRY &&
		    !(r->ev == STORE_EV_MEMBER_MALICIOUS && r->from == FW_OBJ_QUARANTINED))
			assert_non_null(r->action);
		assert_int_equal(r->need & r->refuse, 0);
	}
}

/* Never approve past the scanner or a job: over every state, event and
 * set of facts, an object becomes servable only on a clean scan (nothing
 * pending: the scanner's own clean, and no job that judged a member
 * malicious), a settle whose pure verdict said approve over the scanner's
 * pending scan, or a staff release (with the override past an infected
 * verdict or a malicious job); a scan that is not clean never leaves it
 * approved, nor does a member judged malicious; nothing leaves rejected. */
static void test_never_approve_past(void **state)
{
	(void)state;
	for (int from = 0; from < STORE_LC_STATES; from++)
		for (int ev = 0; ev < STORE_EV_COUNT; ev++)
			for (unsigned f = 0; f <= STORE_F_ALL; f++) {
				const struct store_lc_row *r = store_lc_step((enum fw_object_state)from,
									     (enum store_event)ev, f);
				bool becomes = r->refused == NULL && servable(r->to) &&
					       !servable((enum fw_object_state)from);

				/* Past a job that judged a member malicious: served
				 * from then on only by staff, with the override; a
				 * member judged malicious takes an approved object
				 * out of service. */
				if (becomes && (f & STORE_F_JOB_MALICIOUS) && from != STORE_OBJ_NEW /* no job yet */ &&
				    !(ev == STORE_EV_STAFF_RELEASE && (f & STORE_F_OVERRIDE)))
					fail_msg("state %d --%s (facts %#x)--> %s past a malicious job", from,
						 store_event_name((enum store_event)ev), f, fw_object_state_name(r->to));
				if (from == FW_OBJ_APPROVED && ev == STORE_EV_MEMBER_MALICIOUS)
					assert_false(servable(r->to));
				if (becomes && !(ev == STORE_EV_SCAN_CLEAN ||
						 (ev == STORE_EV_SANDBOX_APPROVE && from == FW_OBJ_PENDING &&
						  (f & STORE_F_SCAN_PENDING)) ||
						 (ev == STORE_EV_STAFF_RELEASE && from == FW_OBJ_QUARANTINED)))
					fail_msg("state %d --%s (facts %#x)--> %s", from,
						 store_event_name((enum store_event)ev), f, fw_object_state_name(r->to));
				/* An infected one is released only with the override. */
				if (becomes && ev == STORE_EV_STAFF_RELEASE &&
				    (f & (STORE_F_INFECTED | STORE_F_JOB_MALICIOUS)))
					assert_true(f & STORE_F_OVERRIDE);
				/* A scan that is not clean never leaves it approved. */
				if (from == FW_OBJ_APPROVED && (ev == STORE_EV_SCAN_PENDING ||
								ev == STORE_EV_SCAN_NOT_CLEAN ||
								ev == STORE_EV_SCAN_INFECTED))
					assert_false(servable(r->to));
				if (from == FW_OBJ_REJECTED)
					assert_int_equal(r->to, FW_OBJ_REJECTED);
			}
}

struct lc_case {
	enum fw_object_state from;
	enum store_event ev;
	unsigned facts;
	enum fw_object_state to;
	const char *action;     /* NULL: none; "!": refused */
	enum store_held held;
};

#define NEW STORE_OBJ_NEW
#define APR FW_OBJ_APPROVED
#define QUA FW_OBJ_QUARANTINED
#define REJ FW_OBJ_REJECTED
#define REL FW_OBJ_RELEASED
#define PEN FW_OBJ_PENDING
#define KEEP STORE_HELD_KEEP
#define CLEAR STORE_HELD_CLEAR
#define SET STORE_HELD_SET
#define RAISE STORE_HELD_RAISE
#define INF STORE_F_INFECTED
#define JOBM STORE_F_JOB_MALICIOUS
#define SCANP STORE_F_SCAN_PENDING
#define SBX STORE_F_HELD_BY_SANDBOX
#define REV STORE_F_REVIEWED
#define OVR STORE_F_OVERRIDE

static const struct lc_case lc_cases[] = {
	{ NEW, STORE_EV_SCAN_CLEAN, 0, APR, NULL, KEEP },
	{ NEW, STORE_EV_SCAN_PENDING, 0, PEN, NULL, KEEP },
	{ NEW, STORE_EV_SCAN_NOT_CLEAN, 0, QUA, NULL, KEEP },
	{ NEW, STORE_EV_SCAN_INFECTED, 0, QUA, NULL, KEEP },
	{ NEW, STORE_EV_SANDBOX_APPROVE, SCANP, NEW, "!", KEEP },
	{ NEW, STORE_EV_SANDBOX_QUARANTINE, 0, NEW, "!", KEEP },
	{ NEW, STORE_EV_MEMBER_MALICIOUS, 0, NEW, "!", KEEP },
	{ NEW, STORE_EV_SANDBOX_RETRY, 0, NEW, "!", KEEP },
	{ NEW, STORE_EV_STAFF_RELEASE, OVR, NEW, "!", KEEP },
	{ NEW, STORE_EV_STAFF_REJECT, 0, NEW, "!", KEEP },
	{ NEW, STORE_EV_REPAIR, 0, NEW, "!", KEEP },

	{ APR, STORE_EV_SCAN_CLEAN, 0, APR, NULL, KEEP },
	{ APR, STORE_EV_SCAN_PENDING, 0, PEN, "rescan-quarantine", KEEP },
	{ APR, STORE_EV_SCAN_NOT_CLEAN, 0, QUA, "rescan-quarantine", KEEP },
	{ APR, STORE_EV_SCAN_INFECTED, 0, QUA, "rescan-quarantine", KEEP },
	{ APR, STORE_EV_SANDBOX_APPROVE, SCANP, APR, NULL, KEEP },
	{ APR, STORE_EV_SANDBOX_QUARANTINE, SCANP, APR, NULL, KEEP },
	{ APR, STORE_EV_MEMBER_MALICIOUS, JOBM, QUA, "sandbox-quarantine", SET },
	{ APR, STORE_EV_SANDBOX_RETRY, SCANP, PEN, NULL, CLEAR },
	{ APR, STORE_EV_SANDBOX_RETRY, 0, APR, NULL, KEEP },
	{ APR, STORE_EV_STAFF_RELEASE, 0, APR, "!", KEEP },
	{ APR, STORE_EV_STAFF_REJECT, 0, REJ, "reject", KEEP },
	{ APR, STORE_EV_REPAIR, 0, APR, "store-repair", KEEP },

	{ PEN, STORE_EV_SCAN_CLEAN, SCANP, APR, "rescan-quarantine", KEEP },
	{ PEN, STORE_EV_SCAN_CLEAN, JOBM, PEN, NULL, KEEP },                  /* a job judged it malicious */
	{ PEN, STORE_EV_SCAN_PENDING, SCANP, PEN, NULL, KEEP },
	{ PEN, STORE_EV_SCAN_NOT_CLEAN, SCANP, QUA, "rescan-quarantine", KEEP },
	{ PEN, STORE_EV_SCAN_INFECTED, 0, QUA, "rescan-quarantine", KEEP },
	{ PEN, STORE_EV_SANDBOX_APPROVE, SCANP, APR, "sandbox-approve", SET },
	{ PEN, STORE_EV_SANDBOX_APPROVE, SCANP | JOBM, PEN, "!", KEEP },
	{ PEN, STORE_EV_SANDBOX_APPROVE, 0, PEN, "!", KEEP },
	{ PEN, STORE_EV_SANDBOX_APPROVE, INF | OVR | REV | SBX, PEN, "!", KEEP },
	{ PEN, STORE_EV_SANDBOX_QUARANTINE, SCANP, QUA, "sandbox-quarantine", SET },
	{ PEN, STORE_EV_MEMBER_MALICIOUS, JOBM, PEN, NULL, KEEP },
	{ PEN, STORE_EV_SANDBOX_RETRY, SCANP, PEN, NULL, KEEP },
	{ PEN, STORE_EV_STAFF_RELEASE, OVR, PEN, "!", KEEP },
	{ PEN, STORE_EV_STAFF_REJECT, 0, REJ, "reject", KEEP },
	{ PEN, STORE_EV_REPAIR, 0, PEN, "store-repair", KEEP },

	{ QUA, STORE_EV_SCAN_CLEAN, 0, QUA, NULL, KEEP },
	{ QUA, STORE_EV_SCAN_PENDING, 0, QUA, NULL, KEEP },
	{ QUA, STORE_EV_SCAN_NOT_CLEAN, 0, QUA, NULL, KEEP },
	{ QUA, STORE_EV_SCAN_INFECTED, 0, QUA, NULL, KEEP },
	{ QUA, STORE_EV_SANDBOX_APPROVE, SCANP, QUA, NULL, KEEP },
	{ QUA, STORE_EV_SANDBOX_QUARANTINE, 0, QUA, NULL, KEEP },
	{ QUA, STORE_EV_MEMBER_MALICIOUS, JOBM, QUA, NULL, RAISE },
	{ QUA, STORE_EV_MEMBER_MALICIOUS, JOBM | INF, QUA, NULL, KEEP },
	{ QUA, STORE_EV_SANDBOX_RETRY, SBX | SCANP, PEN, NULL, CLEAR },
	{ QUA, STORE_EV_SANDBOX_RETRY, SBX | SCANP | REV, QUA, NULL, KEEP }, /* staff reviewed it */
	{ QUA, STORE_EV_SANDBOX_RETRY, SCANP, QUA, NULL, KEEP },              /* the scanner's quarantine */
	{ QUA, STORE_EV_SANDBOX_RETRY, SBX, QUA, NULL, KEEP },                /* rescanned not clean since */
	{ QUA, STORE_EV_STAFF_RELEASE, 0, REL, "release", KEEP },
	{ QUA, STORE_EV_STAFF_RELEASE, OVR, REL, "release", KEEP },           /* nothing to override */
	{ QUA, STORE_EV_STAFF_RELEASE, INF | OVR, REL, "release-override", KEEP },
	{ QUA, STORE_EV_STAFF_RELEASE, JOBM | OVR, REL, "release-override", KEEP },
	{ QUA, STORE_EV_STAFF_RELEASE, INF, QUA, "!", KEEP },
	{ QUA, STORE_EV_STAFF_RELEASE, JOBM, QUA, "!", KEEP },
	{ QUA, STORE_EV_STAFF_REJECT, 0, REJ, "reject", KEEP },
	{ QUA, STORE_EV_REPAIR, 0, QUA, "store-repair", KEEP },

	{ REJ, STORE_EV_SCAN_CLEAN, 0, REJ, NULL, KEEP },
	{ REJ, STORE_EV_SCAN_PENDING, 0, REJ, NULL, KEEP },
	{ REJ, STORE_EV_SCAN_NOT_CLEAN, 0, REJ, NULL, KEEP },
	{ REJ, STORE_EV_SCAN_INFECTED, 0, REJ, NULL, KEEP },
	{ REJ, STORE_EV_SANDBOX_APPROVE, SCANP, REJ, NULL, KEEP },
	{ REJ, STORE_EV_SANDBOX_QUARANTINE, 0, REJ, NULL, KEEP },
	{ REJ, STORE_EV_MEMBER_MALICIOUS, JOBM, REJ, NULL, KEEP },
	{ REJ, STORE_EV_SANDBOX_RETRY, SBX | SCANP, REJ, NULL, KEEP },
	{ REJ, STORE_EV_STAFF_RELEASE, OVR, REJ, "!", KEEP },
	{ REJ, STORE_EV_STAFF_REJECT, 0, REJ, "!", KEEP },
	{ REJ, STORE_EV_REPAIR, 0, REJ, "store-repair", KEEP },

	{ REL, STORE_EV_SCAN_CLEAN, 0, REL, NULL, KEEP },
	{ REL, STORE_EV_SCAN_PENDING, 0, REL, NULL, KEEP },
	{ REL, STORE_EV_SCAN_NOT_CLEAN, 0, REL, NULL, KEEP },
	{ REL, STORE_EV_SCAN_INFECTED, 0, QUA, "rescan-quarantine", KEEP },   /* not what staff released */
	{ REL, STORE_EV_SCAN_INFECTED, INF, REL, NULL, KEEP },                /* released as infected */
	{ REL, STORE_EV_SANDBOX_APPROVE, SCANP, REL, NULL, KEEP },
	{ REL, STORE_EV_SANDBOX_QUARANTINE, 0, REL, NULL, KEEP },
	{ REL, STORE_EV_MEMBER_MALICIOUS, JOBM, QUA, "sandbox-quarantine", SET },
	{ REL, STORE_EV_MEMBER_MALICIOUS, JOBM | INF, REL, NULL, KEEP },
	{ REL, STORE_EV_SANDBOX_RETRY, SCANP, REL, NULL, KEEP },
	{ REL, STORE_EV_STAFF_RELEASE, 0, REL, "!", KEEP },
	{ REL, STORE_EV_STAFF_REJECT, 0, REJ, "reject", KEEP },
	{ REL, STORE_EV_REPAIR, 0, REL, "store-repair", KEEP },
};

/* One case per row, and every row of the table hit by a case. */
static void test_rows(void **state)
{
	size_t n;
	const struct store_lc_row *t = store_lc_table(&n);
	bool hit[256] = { false };

	(void)state;
	assert_true(n <= sizeof(hit));
	for (size_t i = 0; i < sizeof(lc_cases) / sizeof(lc_cases[0]); i++) {
		const struct lc_case *c = &lc_cases[i];
		const struct store_lc_row *r = store_lc_step(c->from, c->ev, c->facts);
		bool refused = c->action != NULL && strcmp(c->action, "!") == 0;

		assert_true(in_table(r));
		hit[r - t] = true;
		if (r->to != c->to || (r->refused != NULL) != refused || r->held != c->held ||
		    (!refused && (c->action == NULL) != (r->action == NULL)) ||
		    (!refused && c->action != NULL && strcmp(c->action, r->action) != 0))
			fail_msg("case %zu: state %d --%s (facts %#x)--> %d %s%s held %d", i, c->from,
				 store_event_name(c->ev), c->facts, r->to, r->refused ? "refused: " : "",
				 r->refused ? r->refused : r->action ? r->action : "(no audit)", r->held);
	}
	for (size_t i = 0; i < n; i++)
		if (!hit[i])
			fail_msg("row %zu (state %d, %s) has no case", i, t[i].from, store_event_name(t[i].ev));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_complete),
		cmocka_unit_test(test_rows_consistent),
		cmocka_unit_test(test_never_approve_past),
		cmocka_unit_test(test_rows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
