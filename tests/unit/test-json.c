/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The JSON shapes every layer writes (json.c) and the key/value pairs they come from (kv.c):
 * string arrays (empty, or null for docker's absent Cmd), objects of strings, the kind names
 * messages use.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/json.h"
#include "base/kv.h"

static char *dump(json_t *v)
{
        char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);

        json_decref(v);
        return s;
}

static void string_arrays(void **state)
{
        char *v[] = {"sh", "-c", "echo \"x\"", NULL};
        _autofree_ char *a = dump(berth_json_strv(v)), *empty = dump(berth_json_strv(NULL));
        _autofree_ char *null = dump(berth_json_strv_or_null(NULL));
        _autofree_ char *b = dump(berth_json_strv_or_null(v));
        _autofree_ char *none = dump(berth_json_strv((char *[]){NULL}));

        assert_string_equal(a, "[\"sh\",\"-c\",\"echo \\\"x\\\"\"]");
        assert_string_equal(b, a);
        assert_string_equal(empty, "[]");
        assert_string_equal(none, "[]");
        /* docker's absent Cmd or Entrypoint */
        assert_string_equal(null, "null");
}

static void objects_of_strings(void **state)
{
        struct berth_kv kv[] = {{"b", "2"}, {"a", NULL}, {"b", "3"}};
        _autofree_ char *o = dump(berth_json_kv(kv, 2)), *none = dump(berth_json_kv(NULL, 0));
        _autofree_ char *later = NULL;
        json_t *set = json_pack("{s:s}", "z", "0");

        /* in the given order; a NULL value is "" */
        assert_string_equal(o, "{\"b\":\"2\",\"a\":\"\"}");
        assert_string_equal(none, "{}");
        /* into an existing object; a later key replaces an earlier one */
        berth_json_set_kv(set, kv, 3);
        later = dump(set);
        assert_string_equal(later, "{\"z\":\"0\",\"b\":\"3\",\"a\":\"\"}");
}

static void kinds(void **state)
{
        static const struct {
                const char *json, *kind;
        } cases[] = {
            {"{}", "object"},  {"[]", "array"},     {"\"s\"", "string"},  {"1", "integer"},
            {"1.5", "number"}, {"true", "boolean"}, {"false", "boolean"}, {"null", "null"},
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                json_t *v = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);

                assert_non_null(v);
                assert_string_equal(berth_json_kind(v), cases[i].kind);
                json_decref(v);
        }
}

static void pairs_copied_and_freed(void **state)
{
        struct berth_kv src[] = {{"k1", "v1"}, {"k2", ""}};
        struct berth_kv *copy = berth_kv_copy(src, 2);

        assert_non_null(copy);
        assert_ptr_not_equal(copy[0].key, src[0].key);
        assert_string_equal(copy[0].key, "k1");
        assert_string_equal(copy[1].value, "");
        berth_kv_free(copy, 2);
        assert_null(berth_kv_copy(src, 0));
        berth_kv_free(NULL, 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(string_arrays),
            cmocka_unit_test(objects_of_strings),
            cmocka_unit_test(kinds),
            cmocka_unit_test(pairs_copied_and_freed),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
