/* When the signature watch reloads: a table of state x input -> new state
 * and whether a reload is due, applied by one function. Pure: the time is
 * an argument, so that every row is tested without waiting. Must not
 * touch inotify or the scanner. */
#include "scanner/sigdb.h"

/* What a row does besides the new state. */
enum debounce_effect {
	EFFECT_NONE = 0,
	EFFECT_START,    /* a burst begins: first = last = now */
	EFFECT_EXTEND,   /* another change in the burst: last = now */
	EFFECT_DECIDE,   /* time passed: due when quiet long enough, or waited the most */
};

/* next: the state after the row; when_due: after an EFFECT_DECIDE that
 * finds the burst due, which also reloads. */
static const struct {
	enum sigwatch_state next;
	enum sigwatch_state when_due;
	enum debounce_effect effect;
} table[2][2] = {
	[SIGWATCH_IDLE][SIGWATCH_CHANGE] = { SIGWATCH_SETTLING, SIGWATCH_SETTLING, EFFECT_START },
	[SIGWATCH_IDLE][SIGWATCH_TICK] = { SIGWATCH_IDLE, SIGWATCH_IDLE, EFFECT_NONE },
	[SIGWATCH_SETTLING][SIGWATCH_CHANGE] = { SIGWATCH_SETTLING, SIGWATCH_SETTLING, EFFECT_EXTEND },
	[SIGWATCH_SETTLING][SIGWATCH_TICK] = { SIGWATCH_SETTLING, SIGWATCH_IDLE, EFFECT_DECIDE },
};

void sigwatch_debounce_init(struct sigwatch_debounce *d, int64_t quiet_ms, int64_t max_ms)
{
	*d = (struct sigwatch_debounce){ .state = SIGWATCH_IDLE, .quiet_ms = quiet_ms,
					 .max_ms = max_ms > quiet_ms ? max_ms : quiet_ms };
}

/* The moment the burst is decided: quiet_ms after its last change, but no
 * later than max_ms after its first (freshclam rewriting a directory every
 * second must not hold a reload back for ever). */
static int64_t due_ms(const struct sigwatch_debounce *d)
{
	int64_t quiet = d->last_ms + d->quiet_ms, most = d->first_ms + d->max_ms;

	return quiet < most ? quiet : most;
}

bool sigwatch_debounce_step(struct sigwatch_debounce *d, enum sigwatch_input in, int64_t now_ms)
{
	bool due = false;

	if ((unsigned)d->state >= 2 || (unsigned)in >= 2)
		return false;
	switch (table[d->state][in].effect) {
	case EFFECT_START:
		d->first_ms = d->last_ms = now_ms;
		break;
	case EFFECT_EXTEND:
		/* A clock that went back (it is monotonic, but the caller's
		 * input is trusted no further) never moves a burst earlier. */
		if (now_ms > d->last_ms)
			d->last_ms = now_ms;
		break;
	case EFFECT_DECIDE:
		due = now_ms >= due_ms(d);
		break;
	case EFFECT_NONE:
		break;
	}
	d->state = due ? table[d->state][in].when_due : table[d->state][in].next;
	return due;
}

int64_t sigwatch_debounce_wait_ms(const struct sigwatch_debounce *d, int64_t now_ms)
{
	int64_t due;

	if (d->state != SIGWATCH_SETTLING)
		return -1;
	due = due_ms(d);
	return due > now_ms ? due - now_ms : 0;
}
