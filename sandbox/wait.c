/* Hold and wait: a pending package's submission (wakes the runners,
 * settles at once what is known already), a client's bounded wait for it
 * to leave `pending`, and the ids of the jobs it waits on. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sandbox/sandbox_int.h"

#define WAIT_POLL_MS 1000

static void append_id(char *out, size_t len, int64_t id)
{
	size_t used = strlen(out);

	if (used + 24 < len)
		snprintf(out + used, len - used, "%s%" PRId64, used ? ", " : "", id);
}

int fw_sandbox_submit(struct fw_sandbox *sb, int64_t object_id, char *jobs, size_t jobs_len)
{
	if (jobs != NULL && jobs_len > 0)
		fw_sandbox_jobs_of(sb, object_id, jobs, jobs_len);
	sandbox_broadcast(sb, &sb->work);
	sandbox_settle_object(sb, object_id); /* every verdict known already: decided now */
	return 0;
}

int fw_sandbox_wait(struct fw_sandbox *sb, int64_t object_id, unsigned ms, enum fw_object_state *state,
		    struct fw_err *err)
{
	struct timespec deadline, now;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += ms / 1000;
	deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	for (;;) {
		struct timespec until;
		int64_t left_ms;
		int r = fw_store_object_state(sb->d.store, object_id, state, err);

		if (r < 0)
			return -1;
		if (r == 0)
			return fw_err_set(err, "the store has no object %lld", (long long)object_id);
		if (*state != FW_OBJ_PENDING)
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &now);
		left_ms = (deadline.tv_sec - now.tv_sec) * 1000 + (deadline.tv_nsec - now.tv_nsec) / 1000000;
		if (left_ms <= 0)
			return 0;
		if (left_ms > WAIT_POLL_MS)
			left_ms = WAIT_POLL_MS; /* also settled by another process (the CLI): look again */
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += left_ms / 1000;
		until.tv_nsec += (left_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&sb->lock);
		if (sandbox_stopping(sb)) {
			/* Stopping: the client is told it is pending; the job
			 * runs on at the next start. */
			pthread_mutex_unlock(&sb->lock);
			return 0;
		}
		pthread_cond_timedwait(&sb->settled, &sb->lock, &until);
		pthread_mutex_unlock(&sb->lock);
	}
}

void fw_sandbox_jobs_of(struct fw_sandbox *sb, int64_t object_id, char *out, size_t len)
{
	struct fw_sandbox_link *links = NULL;
	struct fw_err err;
	size_t n = 0;

	out[0] = '\0';
	fw_err_clear(&err);
	if (fw_store_sandbox_links(sb->d.store, object_id, &links, &n, &err) != 0)
		return;
	for (size_t i = 0; i < n; i++)
		/* One record per member: a job linked for two members shows once. */
		if (i == 0 || links[i - 1].job.id != links[i].job.id)
			append_id(out, len, links[i].job.id);
	free(links);
}
