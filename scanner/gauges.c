/* What the gateway knows of its scanner for a metrics scrape: what the
 * serving supervisor loaded (its READY document), the figures it sends
 * when they change (STATUS), and the jobs in flight; atomics the watcher
 * writes and any thread reads. Must not talk to the supervisor itself:
 * client.c hands over what arrived. */
#include <string.h>

#include "scanner/scan_int.h"

void scan_gauges_init(struct scan_gauges *g)
{
	memset(g, 0, sizeof(*g));
	atomic_init(&g->up, false);
	atomic_init(&g->in_flight, 0);
	atomic_init(&g->workers, 0);
	atomic_init(&g->busy, 0);
	atomic_init(&g->queued, 0);
	atomic_init(&g->replaced, 0);
	atomic_init(&g->signatures, 0);
	for (unsigned i = 0; i < FW_METRICS_DB_COUNT; i++)
		atomic_init(&g->db_version[i], 0);
	atomic_init(&g->db_time, 0);
	atomic_init(&g->sig_time, 0);
}

static uint64_t count_of(const json_t *v)
{
	return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
}

void scan_gauges_ready(struct scan_gauges *g, const json_t *ready)
{
	const json_t *dbs = json_object_get(ready, "databases");
	int64_t newest = 0;

	atomic_store(&g->signatures, count_of(json_object_get(ready, "signatures")));
	/* All of them alive until the first STATUS says otherwise. */
	atomic_store(&g->workers, (unsigned)count_of(json_object_get(ready, "workers")));
	for (unsigned i = 0; i < FW_METRICS_DB_COUNT; i++) {
		const json_t *db = json_object_get(dbs, fw_metrics_db_name((enum fw_metrics_db)i));
		uint64_t version = count_of(json_object_get(db, "version")), t = count_of(json_object_get(db, "time"));

		atomic_store(&g->db_version[i], version <= UINT32_MAX ? (unsigned)version : 0);
		if (version != 0 && t <= INT64_MAX && (int64_t)t > newest)
			newest = (int64_t)t;
	}
	atomic_store(&g->db_time, newest);
	atomic_store(&g->up, true);
}

int scan_gauges_status(struct scan_gauges *g, const struct scan_msg *m)
{
	struct scan_status st;

	if (m->type != SCAN_MSG_STATUS || m->len != sizeof(st))
		return -1;
	memcpy(&st, m->payload, sizeof(st));
	atomic_store(&g->workers, st.workers);
	atomic_store(&g->busy, st.busy);
	atomic_store(&g->queued, st.queued);
	/* The supervisor counts from its own start: only what is new here is
	 * added, so the total never goes down across restarts. */
	if (st.replaced > g->replaced_seen)
		atomic_fetch_add(&g->replaced, st.replaced - g->replaced_seen);
	g->replaced_seen = st.replaced;
	return 0;
}

void scan_gauges_down(struct scan_gauges *g)
{
	atomic_store(&g->up, false);
	atomic_store(&g->workers, 0);
	atomic_store(&g->busy, 0);
	atomic_store(&g->queued, 0);
	g->replaced_seen = 0;
}

void scan_gauges_fill(const struct scan_gauges *g, struct fw_metrics_gauges *out)
{
	out->scanner_set = true;
	out->scanner_up = atomic_load(&g->up);
	out->scanner_workers = atomic_load(&g->workers);
	out->scanner_workers_busy = atomic_load(&g->busy);
	out->scanner_jobs_in_flight = atomic_load(&g->in_flight);
	out->scanner_jobs_queued = atomic_load(&g->queued);
	out->scanner_worker_replacements = atomic_load(&g->replaced);
	out->scanner_signatures = atomic_load(&g->signatures);
	for (unsigned i = 0; i < FW_METRICS_DB_COUNT; i++)
		out->scanner_db_version[i] = atomic_load(&g->db_version[i]);
	out->scanner_db_time = atomic_load(&g->db_time);
	out->scanner_signatures_time = atomic_load(&g->sig_time);
}
