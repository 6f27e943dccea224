/* SPDX-License-Identifier: Apache-2.0 */
/*
 * docker's go-units sizes beyond output.c's HumanSize: HumanSizeWithPrecision (decimal units,
 * `docker stats` I/O and `docker cp`'s summary: "139kB", "2.05kB") and BytesSize (binary units,
 * `docker stats` memory: "464KiB", "23.54GiB").
 */
#include "berth.h"
#include "base/util.h"

/* go-units' getSizeAndUnit + "%.<prec>g%s". */
static char *custom_size(int prec, double size, double base, const char *const *units, size_t n)
{
        size_t i = 0;

        while (size >= base && i < n - 1) {
                size /= base;
                i++;
        }
        return xasprintf("%.*g%s", prec, size, units[i]);
}

char *berth_human_size_prec(uint64_t bytes, int precision)
{
        static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};

        return custom_size(precision, (double) bytes, 1000.0, units, ARRAY_SIZE(units));
}

char *berth_bytes_size(uint64_t bytes)
{
        static const char *const units[] = {"B",   "KiB", "MiB", "GiB", "TiB",
                                            "PiB", "EiB", "ZiB", "YiB"};

        return custom_size(4, (double) bytes, 1024.0, units, ARRAY_SIZE(units));
}
