/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth events [--since T] [--until T] [-f FILTER]... [--format json|TEMPLATE]: the engine's
 * events from its journal (engine/engine-events.h), as docker prints them:
 *
 *   2026-12-07T21:00:00.123456789Z container start ID (image=busybox, name=x)
 *
 * (the time in the local zone, attributes sorted). Without --since and --until only the events
 * that come next; with either, the journal's first. Follows the journal until interrupted, or
 * until --until has passed.
 */
#include <jansson.h>
#include <time.h>

#include "berth.h"
#include "base/util.h"
#include "engine/ctr-log.h"
#include "engine/engine-events.h"

enum { F_SINCE, F_UNTIL, F_FILTER, F_FORMAT };

static const struct berth_flag flags[] = {
    [F_SINCE] = {"since", 0, BERTH_FLAG_VALUE, "string", "Show all events created since timestamp"},
    [F_UNTIL] = {"until", 0, BERTH_FLAG_VALUE, "string", "Stream events until this timestamp"},
    [F_FILTER] = {"filter", 'f', BERTH_FLAG_LIST, "filter",
                  "Filter output based on conditions provided"},
    [F_FORMAT] = {"format", 0, BERTH_FLAG_VALUE, "string",
                  "Format output: \"json\" or a template ({{.Action}})"},
};

static const struct berth_cmd_spec spec = {
    .name = "events",
    .usage = "events [OPTIONS]",
    .summary = "Get real time events from the engine",
    .flags = flags,
    .n_flags = ARRAY_SIZE(flags),
    .min_args = 0,
    .max_args = 0,
};

/* docker's daemon/events/filter.go: these keys, each matched against the event's actor. */
static const char *const actor_keys[] = {"container", "daemon",  "network", "volume", "plugin",
                                         "node",      "service", "secret",  "config"};
static const char *const other_keys[] = {"event", "image", "label", "type", "scope"};

struct events_ctx {
        char **filters; /* "key=value", checked */
        const char *format;
};

static bool in_list(const char *s, size_t n, const char *const *v, size_t nv)
{
        for (size_t i = 0; i < nv; i++)
                if (strlen(v[i]) == n && !strncmp(s, v[i], n))
                        return true;
        return false;
}

static int filter_check(const char *f, int *ret_rc, struct berth_error **err)
{
        const char *eq = strchr(f, '=');

        if (!eq) {
                *ret_rc = BERTH_EXIT_ENGINE;
                return berth_error_setx(err, EINVAL,
                                        "invalid argument \"%s\" for \"-f, --filter\" flag: bad "
                                        "format of filter (expected name=value)",
                                        f);
        }
        if (!in_list(f, (size_t) (eq - f), actor_keys, ARRAY_SIZE(actor_keys)) &&
            !in_list(f, (size_t) (eq - f), other_keys, ARRAY_SIZE(other_keys))) {
                *ret_rc = BERTH_EXIT_FAILED;
                return berth_error_setx(err, EINVAL, "Invalid filter '%.*s'", (int) (eq - f), f);
        }
        return 0;
}

/* ---- matching ------------------------------------------------------------------------------ */

static const char *attr(json_t *ev, const char *key)
{
        return json_string_value(
            json_object_get(json_object_get(json_object_get(ev, "Actor"), "Attributes"), key));
}

/* docker's stripTag: a reference without its tag or digest ("busybox:latest" -> "busybox"). */
static char *strip_tag(const char *ref)
{
        const char *slash = strrchr(ref, '/'), *colon;
        size_t n = strcspn(ref, "@");

        colon = memchr(slash ? slash : ref, ':', n - (size_t) ((slash ? slash : ref) - ref));
        return xasprintf("%.*s", (int) (colon ? (size_t) (colon - ref) : n), ref);
}

/* filters.Args.FuzzyMatch: the value equal, or a prefix of s. */
static bool fuzzy(const char *val, const char *s)
{
        return s && startswith(s, val);
}

static bool is_fuzzy_event(char *const *filters)
{
        for (char *const *f = filters; f && *f; f++)
                if (streq(*f, "event=health_status") || streq(*f, "event=exec_create") ||
                    streq(*f, "event=exec_start"))
                        return true;
        return false;
}

/* label=K or label=K=V: among the attributes (docker's MatchKVList). */
static bool label_matches(json_t *ev, const char *val)
{
        const char *eq = strchr(val, '=');
        _autofree_ char *key =
            xasprintf("%.*s", (int) (eq ? (size_t) (eq - val) : strlen(val)), val);
        const char *v = attr(ev, key);

        return v && (!eq || streq(v, eq + 1));
}

static bool value_matches(json_t *ev, const char *key, const char *val, bool fuzzy_event)
{
        const char *id = json_string_value(json_object_get(json_object_get(ev, "Actor"), "ID"));

        if (streq(key, "event"))
                return fuzzy_event
                           ? fuzzy(val, json_string_value(json_object_get(ev, "Action")))
                           : streq_ptr(val, json_string_value(json_object_get(ev, "Action")));
        if (streq(key, "type"))
                return streq_ptr(val, json_string_value(json_object_get(ev, "Type")));
        if (streq(key, "scope"))
                return streq_ptr(val, json_string_value(json_object_get(ev, "scope")));
        if (streq(key, "image")) {
                const char *image = attr(ev, "image") ?: "";
                _autofree_ char *bare = strip_tag(image);

                return streq_ptr(val, json_string_value(json_object_get(ev, "id"))) ||
                       streq(val, image) || streq(val, bare);
        }
        return fuzzy(val, id) || fuzzy(val, attr(ev, "name"));
}

/* The values of one key are alternatives, the keys all apply; every label must match. */
static bool matches(json_t *ev, char *const *filters)
{
        bool fz = is_fuzzy_event(filters);

        for (char *const *f = filters; f && *f; f++) {
                size_t klen = strcspn(*f, "=");
                bool any = false;

                if (!strncmp(*f, "label=", 6)) {
                        if (!label_matches(ev, *f + 6))
                                return false;
                        continue;
                }
                for (char *const *g = filters; *g && !any; g++)
                        if (strcspn(*g, "=") == klen && !strncmp(*f, *g, klen)) {
                                _autofree_ char *key = xasprintf("%.*s", (int) klen, *g);

                                any = value_matches(ev, key, *g + klen + 1, fz);
                        }
                if (!any)
                        return false;
        }
        return true;
}

/* ---- output ------------------------------------------------------------------------------ */

/* Go's RFC3339NanoFixed in the local zone. */
static void format_time(int64_t ns, char *buf, size_t size)
{
        time_t t = (time_t) (ns / 1000000000);
        struct tm tm;
        size_t n;

        localtime_r(&t, &tm);
        n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
        n += (size_t) snprintf(buf + n, size - n, ".%09lld", (long long) (ns % 1000000000));
        if (tm.tm_gmtoff == 0)
                snprintf(buf + n, size - n, "Z");
        else
                snprintf(buf + n, size - n, "%c%02ld:%02ld", tm.tm_gmtoff < 0 ? '-' : '+',
                         labs(tm.tm_gmtoff) / 3600, labs(tm.tm_gmtoff) % 3600 / 60);
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static void print_text(json_t *ev)
{
        json_t *actor = json_object_get(ev, "Actor"), *attrs = json_object_get(actor, "Attributes");
        _autofree_ const char **keys = xcalloc(json_object_size(attrs) + 1, sizeof(char *));
        const char *k;
        json_t *v;
        size_t n = 0;
        char when[64];

        format_time(json_integer_value(json_object_get(ev, "timeNano")), when, sizeof(when));
        printf("%s %s %s %s", when, json_string_value(json_object_get(ev, "Type")),
               json_string_value(json_object_get(ev, "Action")),
               json_string_value(json_object_get(actor, "ID")));
        json_object_foreach(attrs, k, v) keys[n++] = k;
        qsort(keys, n, sizeof(*keys), cmp_str);
        for (size_t i = 0; i < n; i++)
                printf("%s%s=%s", i ? ", " : " (", keys[i],
                       json_string_value(json_object_get(attrs, keys[i])) ?: "");
        printf("%s\n", n ? ")" : "");
}

/* A template sees docker's events.Message fields by their Go names. */
static json_t *template_object(json_t *ev)
{
        return json_pack("{s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?}", "Status",
                         json_object_get(ev, "status"), "ID", json_object_get(ev, "id"), "From",
                         json_object_get(ev, "from"), "Type", json_object_get(ev, "Type"), "Action",
                         json_object_get(ev, "Action"), "Actor", json_object_get(ev, "Actor"),
                         "Scope", json_object_get(ev, "scope"), "Time", json_object_get(ev, "time"),
                         "TimeNano", json_object_get(ev, "timeNano"));
}

static int print_event(json_t *ev, void *userdata)
{
        const struct events_ctx *x = userdata;
        _autoerr_ struct berth_error *e = NULL;
        _autofree_ char *text = NULL;

        if (!matches(ev, x->filters))
                return 0;
        if (!x->format) {
                print_text(ev);
        } else if (streq(x->format, "json") || streq(x->format, "{{json .}}")) {
                text = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
                printf("%s\n", text);
        } else {
                json_auto_t *o = template_object(ev);

                if (berth_format_template(x->format, o, &text, &e) < 0) {
                        berth_print_error(e);
                        return -EINVAL;
                }
                printf("%s\n", text);
        }
        return fflush(stdout) == 0 ? 0 : -EPIPE;
}

/* ---- the command ------------------------------------------------------------------------- */

static int parse_times(const struct berth_args *a, struct berth_events_read_opts *o,
                       struct berth_error **err)
{
        struct timespec now;
        int64_t now_ns;

        clock_gettime(CLOCK_REALTIME, &now);
        now_ns = (int64_t) now.tv_sec * 1000000000 + now.tv_nsec;
        if (a->values[F_SINCE] &&
            berth_log_parse_since(a->values[F_SINCE], now_ns, &o->since_ns, err) < 0)
                return berth_error_prefix(err, "invalid value for \"since\"");
        if (a->values[F_UNTIL] &&
            berth_log_parse_since(a->values[F_UNTIL], now_ns, &o->until_ns, err) < 0)
                return berth_error_prefix(err, "invalid value for \"until\"");
        /* docker: with --until in the past, only the journal; else it follows until then */
        o->history = a->values[F_SINCE] || a->values[F_UNTIL];
        o->follow = true;
        return 0;
}

static int cmd_events(struct berth_global *g, int argc, char **argv)
{
        struct berth_args a = {0};
        _autoerr_ struct berth_error *e = NULL;
        struct berth_events_read_opts o = {0};
        struct berth_store *s;
        struct events_ctx x;
        int rc = 0, r;

        if (!berth_cmd_args(&spec, argc, argv, &a, &rc))
                return rc;
        x = (struct events_ctx){.filters = a.lists[F_FILTER], .format = a.values[F_FORMAT]};
        rc = BERTH_EXIT_ENGINE;
        r = parse_times(&a, &o, &e);
        for (char **f = x.filters; r >= 0 && f && *f; f++)
                r = filter_check(*f, &rc, &e);
        if (r >= 0) {
                rc = BERTH_EXIT_ENGINE;
                r = berth_global_store(g, &s, &e); /* the root exists */
        }
        if (r >= 0)
                r = berth_events_read(g->root, &o, print_event, &x, &e);
        if (r >= 0 || r == -EPIPE) /* the reader went away: nothing to say */
                rc = 0;
        else if (e)
                berth_print_error(e);
        berth_args_clear(&a);
        return rc;
}

const struct berth_cmd berth_cmd_events = {"events", "Get real time events from the engine",
                                           cmd_events};
