/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * runc's log records, byte for byte: runc 1.1 logs through logrus (1.8) with its text formatter
 * (`--log-format text`, the default) or its JSON formatter (`--log-format json`). Clients parse
 * them: containerd's shim reads the last `"level":"error"` record of the --log file as the reason
 * a command failed, podman reads a --log file that holds one JSON record, scripts grep the text
 * for `level=debug`. Pure formatting, no I/O (unit-tested in tests/unit/test-oci-logrec.c).
 */

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/*
 * Formats one record, ending in '\n', into buf (NUL-terminated when size > 0):
 *   text: time="2026-12-08T00:26:33Z" level=debug msg="   37 µs  mount proc on /proc"
 *   json: {"level":"error","msg":"...","time":"2026-12-08T00:26:33Z"}
 * Text values are quoted only when logrus quotes them (a byte outside [A-Za-z0-9-._/@^+]), and
 * then as Go's %q does; JSON strings are escaped as Go's encoding/json does (HTML-safe, invalid
 * UTF-8 as \ufffd). Returns the record's length as snprintf does: a result >= size means buf
 * was too small and holds a cut record.
 */
size_t oci_logrec_format(bool json, const char *level, const char *msg, const char *stamp,
                         char *buf, size_t size);

/* t as Go's time.RFC3339 in local time ("2026-12-08T01:26:33+01:00", "...Z" at UTC offset 0),
 * as logrus stamps its records. buf holds at least 32 bytes; "" if t cannot be converted. */
void oci_logrec_time(time_t t, char *buf, size_t size);
