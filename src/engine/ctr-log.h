/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * A container's log in the CRI ("k8s-file") format, as podman's conmon and Kubernetes' container
 * runtimes write it: one line per record,
 *
 *   2026-12-07T18:04:05.123456789Z stdout F hello
 *   2026-12-07T18:04:05.123457001Z stderr P the first 16 KiB of a longer line...
 *
 * time of the write (RFC 3339, UTC, nanoseconds), stream, tag (F: the record ends a line; P:
 * partial, the line goes on in the next record of that stream), a space, the content without
 * its newline. The monitor writes it (the writer below); `berth logs` reads it (the reader).
 *
 * Why this format and not docker's json-file: records are appended as they are, without JSON
 * escaping; times have nanoseconds natively; partial lines are explicit; podman and Kubernetes'
 * tools read it. json-file would only matter to tools reading docker's own directories.
 *
 * Rotation: with a max size, a record that would take the file past it goes to a new file
 * instead: NAME is renamed NAME.1 (NAME.1 to NAME.2 ..., the oldest beyond max_files dropped;
 * with max_files 1, NAME is unlinked), never copied, so that a reader holding the old file reads
 * it to its end. A record is never split across files, and is one write(2) on an O_APPEND fd.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

/* Streams, as in the monitor's pipes: the container's stdout and stderr. */
enum { BERTH_LOG_STDOUT = 1, BERTH_LOG_STDERR = 2 };

/* The longest content of one record: a longer line becomes P records of this size, then an F. */
#define BERTH_LOG_RECORD_MAX 16384

/* "2026-12-07T18:04:05.123456789Z" and a NUL. */
#define BERTH_LOG_TIME_SIZE 31

/* ---- the writer (the monitor) -------------------------------------------------------------- */

struct berth_log_writer;

/*
 * Opens (creating it, mode 0640) dirfd/name for appending; an existing file is continued (a
 * restarted container). max_size: rotate before a record would take the file past it (0: never);
 * max_files: the files kept, NAME included (>= 1). dirfd is duplicated: the caller keeps its own.
 * One allocation (the two streams' pending pieces, 2 x 16 KiB, touched only when a line is split
 * across reads). Errors: "open NAME: ...", -EINVAL for a bad name or max_files 0.
 */
int berth_log_writer_open(int dirfd, const char *name, uint64_t max_size, unsigned max_files,
                          struct berth_log_writer **ret, struct berth_error **err);

/*
 * One chunk read from stream (BERTH_LOG_STDOUT or BERTH_LOG_STDERR): each line it completes is
 * written as an F record (the pending piece of that stream, if any, and the chunk's part); the
 * piece after its last newline is kept pending, written as P records of BERTH_LOG_RECORD_MAX
 * bytes only when it grows past that. Errors: "write NAME: ..." (the record is lost, the next
 * ones are still tried by the next call), "rotate NAME: ..." (the record was written to the
 * current file); -EINVAL for a bad stream.
 */
int berth_log_write(struct berth_log_writer *w, int stream, const void *data, size_t len,
                    struct berth_error **err);

/*
 * End of stream (EOF on its pipe): its pending piece, a last line without newline, is written as
 * a P record, as conmon and containerd's CRI do: a reader prints it without a newline, as docker
 * prints such a line (`printf hello`).
 */
int berth_log_stream_end(struct berth_log_writer *w, int stream, struct berth_error **err);

/* Closes the file; pending pieces not ended with berth_log_stream_end() are lost. NULL: no-op. */
void berth_log_writer_free(struct berth_log_writer *w);
static inline void berth_log_writer_freep(struct berth_log_writer **w)
{
        berth_log_writer_free(*w);
        *w = NULL;
}

/* ---- the reader (berth logs) --------------------------------------------------------------- */

struct berth_log_record {
        int stream;          /* BERTH_LOG_STDOUT or BERTH_LOG_STDERR */
        int64_t ts_ns;       /* nanoseconds since the epoch */
        const char *content; /* without newline; not NUL-terminated */
        size_t len;
        bool partial; /* P: the line goes on in the next record of this stream */
};

/* Called for each record, in file order. Returns 0 to go on, > 0 to stop (berth_log_read then
 * returns 0), < 0 to stop with that error (set *err). */
typedef int (*berth_log_record_fn)(const struct berth_log_record *r, void *userdata,
                                   struct berth_error **err);

struct berth_log_read_opts {
        /* the last N lines (a P..F chain is one line; a trailing P chain too), across the
         * rotated files; -1: all; 0: none (with follow: only what comes) */
        int64_t tail;
        /* records with since_ns <= time <= until_ns (ns since the epoch; 0: no bound), applied
         * after tail (as docker does); the first record past until_ns ends the read */
        int64_t since_ns, until_ns;
        /* at the end, wait for more, following NAME across rotation (the old file is read to its
         * end, then the next one), until still_running(userdata) says false and the file has
         * nothing more (or until_ns has passed) */
        bool follow;
        bool (*still_running)(void *userdata); /* NULL: follow forever */
        /* follow wakes on inotify events of the directory, and at least every poll_ms (0: 250)
         * to ask still_running */
        unsigned poll_ms;
};

/*
 * Reads dirfd/name and its rotated files NAME.N ... NAME.1 (oldest first), calling fn for each
 * record that the options select. No file at all is an empty log. A line that is not a record
 * (bad time, stream or tag) is skipped; a last line without its newline is not yet a record (a
 * write in progress). Errors: "open NAME", "read NAME", or fn's.
 */
int berth_log_read(int dirfd, const char *name, const struct berth_log_read_opts *o,
                   berth_log_record_fn fn, void *userdata, struct berth_error **err);

/* ---- times -------------------------------------------------------------------------------- */

/* ns since the epoch as "2026-12-07T18:04:05.123456789Z" (docker's RFC3339NanoFixed in UTC) in
 * buf; returns its length (30). */
size_t berth_log_format_time(int64_t ns, char buf[BERTH_LOG_TIME_SIZE]);

/* RFC 3339 with nanoseconds ("...05.123456789Z", "...05.1+02:00", "...05Z") to ns since the
 * epoch. -EINVAL if s[0..len) is not one. */
int berth_log_parse_time(const char *s, size_t len, int64_t *ret_ns);

/*
 * docker's --since / --until values (its timetypes.GetTimestamp), to ns since the epoch (0
 * stays 0: no bound):
 *   - a Go duration ("10m", "1h30m", "1.5h", "-5s"): now_ns minus it, cut to whole seconds;
 *   - RFC 3339 with or without fraction and zone ("2026-12-07T18:04:05.5Z", "2026-12-07T18:04",
 *     "2026-12-07T18", "2026-12-07", "2026-12-07+01:00"), without a zone in the local time
 *     zone (its offset now, as docker does);
 *   - Unix seconds with an optional fraction ("1700000000", "1700000000.5").
 * -EINVAL: docker's messages, "failed to parse value as time or duration: \"x\"" or "parsing
 * time \"x\" as \"LAYOUT\": ...".
 */
int berth_log_parse_since(const char *s, int64_t now_ns, int64_t *ret_ns, struct berth_error **err);
