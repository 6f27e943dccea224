/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the linux.resources parser: the input is parsed as a resources object,
 * once as config.json's and once as an `update -r` file, and everything parsed is freed again
 * (leaks are findings too). Seeds: tests/fuzz/corpus-resources/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "spec/resources.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct berth_resources *r = NULL;
        struct berth_error *err = NULL;
        char *text = malloc(size + 1);

        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        if (berth_resources_parse(text, "config.json", "linux.resources", &r, &err) == 0)
                berth_resources_free(r);
        berth_error_free(err);
        err = NULL;
        r = NULL;
        if (berth_resources_parse(text, NULL, NULL, &r, &err) == 0)
                berth_resources_free(r);
        berth_error_free(err);
        free(text);
        return 0;
}
