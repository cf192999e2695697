/* Unit tests for common/event_ring.c: only failures are kept, newest
 * first, the oldest overwritten, strings made printable and cut marked;
 * and fw_evlog_emit feeds it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fwgate/event.h"
#include "fwgate/event_ring.h"
#include "testutil.h"

static void test_only_failures_newest_first(void **state)
{
	struct fw_event_ring_entry e[FW_EVENT_RING_LEN + 4];
	char reason[32];

	(void)state;
	fw_event_ring_reset();
	fw_event_ring_note(&(struct fw_event){ .action = "ok", .outcome = FW_OUTCOME_SUCCESS });
	fw_event_ring_note(&(struct fw_event){ .action = "unknown", .outcome = FW_OUTCOME_UNKNOWN });
	assert_int_equal(fw_event_ring_read(e, FW_ARRAY_LEN(e)), 0);
	for (int i = 0; i < FW_EVENT_RING_LEN + 3; i++) {
		snprintf(reason, sizeof(reason), "failure %d", i);
		fw_event_ring_note(&(struct fw_event){ .action = "proxy-connect-refused", .outcome = FW_OUTCOME_FAILURE,
						       .domain = "bad.example", .reason = reason });
	}
	/* The ring holds the last FW_EVENT_RING_LEN, newest first. */
	assert_int_equal(fw_event_ring_read(e, FW_ARRAY_LEN(e)), FW_EVENT_RING_LEN);
	snprintf(reason, sizeof(reason), "failure %d", FW_EVENT_RING_LEN + 2);
	assert_string_equal(e[0].reason, reason);
	assert_string_equal(e[FW_EVENT_RING_LEN - 1].reason, "failure 3");
	assert_string_equal(e[0].domain, "bad.example");
	assert_string_equal(e[0].action, "proxy-connect-refused");
	assert_true(e[0].time_ms >= e[FW_EVENT_RING_LEN - 1].time_ms && e[0].time_ms > 1600000000000LL);
	/* A short read takes the newest. */
	assert_int_equal(fw_event_ring_read(e, 2), 2);
	assert_string_equal(e[0].reason, reason);
}

static void test_strings_printable_and_cut(void **state)
{
	struct fw_event_ring_entry e[1];
	char longer[600];

	(void)state;
	fw_event_ring_reset();
	memset(longer, 'r', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	fw_event_ring_note(&(struct fw_event){ .action = "x\n\x1b[31mforged", .outcome = FW_OUTCOME_FAILURE,
					       .reason = longer });
	assert_int_equal(fw_event_ring_read(e, 1), 1);
	assert_string_equal(e[0].action, "x??[31mforged");
	assert_string_equal(e[0].domain, "");
	assert_int_equal(strlen(e[0].reason), sizeof(e[0].reason) - 1);
	assert_string_equal(e[0].reason + sizeof(e[0].reason) - 4, "...");
	fw_event_ring_note(&(struct fw_event){ .action = "utf8", .outcome = FW_OUTCOME_FAILURE, .reason = "caf\xc3\xa9" });
	assert_int_equal(fw_event_ring_read(e, 1), 1);
	assert_string_equal(e[0].reason, "caf??");
}

/* The hook: an emitted failure lands in the ring, a success does not. */
static void test_emit_feeds_the_ring(void **state)
{
	struct fw_event_ring_entry e[2];
	struct fw_evlog *log = NULL;
	struct fw_err err;

	(void)state;
	fw_event_ring_reset();
	fw_err_clear(&err);
	assert_int_equal(fw_evlog_open(&log, NULL, false, 0, &err), 0);
	TU_NONNULL(log);
	assert_int_equal(fw_evlog_emit(log, &(struct fw_event){ .action = "a", .outcome = FW_OUTCOME_SUCCESS }), 0);
	assert_int_equal(fw_evlog_emit(log, &(struct fw_event){ .action = "b", .outcome = FW_OUTCOME_FAILURE,
								  .reason = "why" }), 0);
	assert_int_equal(fw_event_ring_read(e, 2), 1);
	assert_string_equal(e[0].action, "b");
	assert_string_equal(e[0].reason, "why");
	fw_evlog_close(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_only_failures_newest_first),
		cmocka_unit_test(test_strings_printable_and_cut),
		cmocka_unit_test(test_emit_feeds_the_ring),
	};

	return cmocka_run_group_tests_name("event_ring", tests, NULL, NULL);
}
