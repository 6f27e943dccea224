/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the config parser: the same input goes to berth_spec_parse(),
 * berth_process_parse() and berth_hooks_from_json(), and everything parsed is freed again
 * (leaks are findings too). Seeds: tests/fuzz/corpus-spec/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "spec/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_hooks(const uint8_t *data, size_t size)
{
        struct berth_error *err = NULL;
        struct berth_hook_list l = {0};
        char *text = malloc(size + 1), *again;

        if (!text)
                return;
        memcpy(text, data, size);
        text[size] = '\0';
        if (berth_hooks_from_json(text, &l, &err) == 0) {
                again = berth_hooks_to_json(&l);
                free(again);
                berth_hook_list_clear(&l);
        }
        berth_error_free(err);
        free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct berth_error *err = NULL;
        struct berth_spec *spec = NULL;
        struct berth_process proc;

        if (berth_spec_parse((const char *) data, size, "config.json", &spec, &err) == 0)
                berth_spec_free(spec);
        berth_error_free(err);
        err = NULL;

        if (berth_process_parse((const char *) data, size, "process.json", &proc, &err) == 0)
                berth_process_clear(&proc);
        berth_error_free(err);

        fuzz_hooks(data, size);
        return 0;
}
