/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The engine's events (`berth events`), daemonless: an append-only journal, <root>/events.log,
 * one JSON object a line in the form of docker's events API (what `docker events --format json`
 * prints):
 *
 *   {"status":"start","id":ID,"from":IMAGE,"Type":"container","Action":"start",
 *    "Actor":{"ID":ID,"Attributes":{"image":IMAGE,"name":NAME,...}},"scope":"local",
 *    "time":SECONDS,"timeNano":NANOSECONDS}
 *
 * Each event is one write(2) to the file opened with O_APPEND, so writers in several processes
 * never interleave. The journal is bounded: before a write would take events.log past
 * BERTH_EVENTS_MAX_SIZE it is renamed events.log.1 (the previous .1 is dropped), so between 1 and
 * 2 MiB of the newest events are kept (about 2500 to 5000 events; docker keeps 256 in memory).
 * A rename, never a copy: a reader that holds the old file reads it to its end.
 */

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"

struct berth_ctr;
struct json_t;

#define BERTH_EVENTS_FILE "events.log"
#define BERTH_EVENTS_MAX_SIZE (1 << 20)

/*
 * Appends a container event: action ("create", "start", "die", "kill", "stop", "pause",
 * "unpause", "rename", "destroy", "oom", "health_status: healthy"...) of c, with its image and
 * name and attrs: key, value, key, value, ..., NULL (attrs may be NULL). root: the engine's root
 * (NULL: found from c->dir, <root>/containers/<id>). Best effort: an event that cannot be written
 * is a debug trace, never a failure of the command.
 */
void berth_event_emit(const char *root, const char *action, const struct berth_ctr *c,
                      const char *const *attrs);

/* A container's end as docker tells it: "oom" when the kernel killed it for memory, then "die"
 * with its exitCode. */
void berth_ctr_emit_end(const struct berth_ctr *c);

/* One event of the journal (a borrowed object). A negative return stops the read (returned by
 * berth_events_read). */
typedef int (*berth_event_fn)(struct json_t *ev, void *userdata);

struct berth_events_read_opts {
        /* history: read the journal's events with since_ns <= timeNano (<= until_ns when
         * until_ns > 0) first; without, only events that come after the call */
        bool history;
        int64_t since_ns, until_ns;
        /* then wait for new events (inotify on the root), until until_ns has passed (0: until fn
         * stops it, or for ever) */
        bool follow;
};

/* Reads <root>/events.log.1 and events.log (oldest first) as o says, calling fn for each event.
 * Lines that are not JSON objects are skipped. Errors: "open ...", "read ...", inotify's, fn's. */
int berth_events_read(const char *root, const struct berth_events_read_opts *o, berth_event_fn fn,
                      void *userdata, struct berth_error **err);
