/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Healthchecks, their config and the record's fields (engine-health.h): the image's HEALTHCHECK
 * merged with run's flags, config "Healthcheck" and hostConfig "HealthOnFailure" in the record,
 * the health state at a start and at the end, the watcher's timer. No other engine file is
 * called from here: the record's code (engine-container.c) calls these.
 */
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>

#include "base/duration.h"
#include "base/json.h"
#include "base/util.h"
#include "engine/engine-health.h"
#include "engine/engine-watch.h"
#include "engine/engine.h"

static char **strv_dup(char *const *v)
{
        char **d = xcalloc(1, sizeof(char *));
        size_t n = 0;

        for (; v && *v; v++)
                strv_push(&d, &n, xstrdup(*v));
        return d;
}

static int duration_flag(const char *name, const char *v, int64_t *ret, struct berth_error **err)
{
        if (v && berth_duration_parse(v, ret, err) < 0)
                return berth_error_prefix(err, "invalid argument \"%s\" for \"--%s\" flag", v,
                                          name);
        return 0;
}

/* pflag's int: strconv.ParseInt(s, 0, 64) and its messages. */
static int retries_flag(const char *v, int64_t *ret, struct berth_error **err)
{
        char *end = NULL;
        long long n;

        if (!v)
                return 0;
        errno = 0;
        n = strtoll(v, &end, 0);
        if (!*v || *end || (errno && errno != ERANGE))
                return berth_error_setx(err, EINVAL,
                                        "invalid argument \"%s\" for \"--health-retries\" flag: "
                                        "strconv.ParseInt: parsing \"%s\": invalid syntax",
                                        v, v);
        if (errno == ERANGE || n > INT_MAX || n < INT_MIN)
                return berth_error_setx(err, EINVAL,
                                        "invalid argument \"%s\" for \"--health-retries\" flag: "
                                        "strconv.ParseInt: parsing \"%s\": value out of range",
                                        v, v);
        *ret = n;
        return 0;
}

/* The daemon's validateHealthCheck: set durations of at least 1ms. */
static int check_min(const char *what, int64_t v, struct berth_error **err)
{
        _autofree_ char *min = NULL;

        if (v == 0 || v >= BERTH_HEALTH_MIN_NS)
                return 0;
        min = berth_duration_format(BERTH_HEALTH_MIN_NS);
        return berth_error_setx(err, EINVAL, "%s in Healthcheck cannot be less than %s", what, min);
}

int berth_health_flags_parse(const struct berth_health_flags *f, struct berth_healthcheck **ret,
                             struct berth_error **err)
{
        int64_t iv = 0, to = 0, period = 0, start = 0, retries = 0;
        struct berth_healthcheck *h;
        bool have;

        if (duration_flag("health-interval", f->interval, &iv, err) < 0 ||
            duration_flag("health-timeout", f->timeout, &to, err) < 0 ||
            duration_flag("health-start-period", f->start_period, &period, err) < 0 ||
            duration_flag("health-start-interval", f->start_interval, &start, err) < 0 ||
            retries_flag(f->retries, &retries, err) < 0)
                return -EINVAL;
        have = (f->cmd && *f->cmd) || iv || to || period || start || retries;
        if (f->none && have)
                return berth_error_setx(err, EINVAL,
                                        "--no-healthcheck conflicts with --health-* options");
        if (iv < 0 || to < 0 || retries < 0 || period < 0 || start < 0)
                return berth_error_setx(err, EINVAL, "--health-%s cannot be negative",
                                        iv < 0        ? "interval"
                                        : to < 0      ? "timeout"
                                        : retries < 0 ? "retries"
                                        : period < 0  ? "start-period"
                                                      : "start-interval");
        if (check_min("Interval", iv, err) < 0 || check_min("Timeout", to, err) < 0 ||
            check_min("StartPeriod", period, err) < 0 ||
            check_min("StartInterval", start, err) < 0 ||
            berth_health_on_failure_check(f->on_failure, err) < 0)
                return -EINVAL;
        if (!f->none && !have) {
                *ret = NULL;
                return 0;
        }
        h = xcalloc(1, sizeof(*h));
        if (f->none || (f->cmd && *f->cmd)) {
                size_t n = 0;

                strv_push(&h->test, &n, xstrdup(f->none ? "NONE" : "CMD-SHELL"));
                if (!f->none)
                        strv_push(&h->test, &n, xstrdup(f->cmd));
        }
        h->interval = iv;
        h->timeout = to;
        h->start_period = period;
        h->start_interval = start;
        h->retries = (int) retries;
        *ret = h;
        return 0;
}

int berth_health_on_failure_check(const char *action, struct berth_error **err)
{
        static const char *const actions[] = {"none", "kill", "restart", "stop"};

        for (size_t i = 0; action && i < ARRAY_SIZE(actions); i++)
                if (streq(action, actions[i]))
                        return 0;
        if (!action)
                return 0;
        return berth_error_setx(err, EINVAL,
                                "invalid on-failure action \"%s\" for health check: supported "
                                "actions are none,kill,restart,stop",
                                action);
}

static struct berth_healthcheck *healthcheck_dup(const struct berth_healthcheck *h)
{
        struct berth_healthcheck *d = xcalloc(1, sizeof(*d));

        *d = *h;
        d->test = h->test ? strv_dup(h->test) : NULL;
        return d;
}

/* docker's merge (daemon/commit.go): what the flags leave empty is the image's. */
static struct berth_healthcheck *merge(const struct berth_healthcheck *user,
                                       const struct berth_healthcheck *image)
{
        struct berth_healthcheck *h;

        if (!user)
                return image ? healthcheck_dup(image) : NULL;
        h = healthcheck_dup(user);
        if (!image)
                return h;
        if (!h->test || !h->test[0]) {
                strv_free(h->test);
                h->test = image->test ? strv_dup(image->test) : NULL;
        }
        h->interval = h->interval ? h->interval : image->interval;
        h->timeout = h->timeout ? h->timeout : image->timeout;
        h->start_period = h->start_period ? h->start_period : image->start_period;
        h->start_interval = h->start_interval ? h->start_interval : image->start_interval;
        h->retries = h->retries ? h->retries : image->retries;
        return h;
}

int berth_ctr_health_apply(struct berth_ctr *c, const struct berth_image_config *img,
                           const struct berth_run_opts *o, struct berth_error **err)
{
        const char *action = o->health_on_failure;
        int r = berth_health_on_failure_check(action, err);

        if (r < 0)
                return r;
        berth_healthcheck_free(c->healthcheck);
        c->healthcheck = merge(o->healthcheck, img ? img->healthcheck : NULL);
        if (action && !streq(action, "none") && !berth_ctr_has_healthcheck(c))
                return berth_error_setx(err, EINVAL,
                                        "cannot set on-failure action to %s without a health check",
                                        action);
        free(c->health_on_failure);
        c->health_on_failure = action && !streq(action, "none") ? xstrdup(action) : NULL;
        return 0;
}

bool berth_ctr_has_healthcheck(const struct berth_ctr *c)
{
        const struct berth_healthcheck *h = c->healthcheck;

        return h && h->test && h->test[0] &&
               (streq(h->test[0], "CMD") || streq(h->test[0], "CMD-SHELL"));
}

/* ---- the record ---------------------------------------------------------------------------- */

json_t *berth_healthcheck_json(const struct berth_healthcheck *h)
{
        json_t *o = json_object();

        if (h->test)
                json_object_set_new(o, "Test", berth_json_strv(h->test));
        if (h->interval)
                json_object_set_new(o, "Interval", json_integer(h->interval));
        if (h->timeout)
                json_object_set_new(o, "Timeout", json_integer(h->timeout));
        if (h->start_period)
                json_object_set_new(o, "StartPeriod", json_integer(h->start_period));
        if (h->start_interval)
                json_object_set_new(o, "StartInterval", json_integer(h->start_interval));
        if (h->retries)
                json_object_set_new(o, "Retries", json_integer(h->retries));
        return o;
}

void berth_ctr_health_record_json(json_t *record, const struct berth_ctr *c)
{
        if (c->healthcheck)
                json_object_set_new(json_object_get(record, "config"), "Healthcheck",
                                    berth_healthcheck_json(c->healthcheck));
        if (c->health_on_failure)
                json_object_set_new(json_object_get(record, "hostConfig"), "HealthOnFailure",
                                    json_string(c->health_on_failure));
}

static int64_t int_get(json_t *o, const char *key)
{
        return json_integer_value(json_object_get(o, key));
}

void berth_ctr_health_record_parse(struct berth_ctr *c, json_t *record)
{
        json_t *h = json_object_get(json_object_get(record, "config"), "Healthcheck"), *t, *v;
        const char *action = json_string_value(
            json_object_get(json_object_get(record, "hostConfig"), "HealthOnFailure"));
        size_t i, n = 0;

        c->health_on_failure = action ? xstrdup(action) : NULL;
        if (!json_is_object(h))
                return;
        c->healthcheck = xcalloc(1, sizeof(*c->healthcheck));
        t = json_object_get(h, "Test");
        json_array_foreach(t, i, v) if (json_is_string(v))
            strv_push(&c->healthcheck->test, &n, xstrdup(json_string_value(v)));
        c->healthcheck->interval = int_get(h, "Interval");
        c->healthcheck->timeout = int_get(h, "Timeout");
        c->healthcheck->start_period = int_get(h, "StartPeriod");
        c->healthcheck->start_interval = int_get(h, "StartInterval");
        c->healthcheck->retries = (int) int_get(h, "Retries");
}

void berth_ctr_health_reset(struct berth_ctr *c)
{
        json_t *log = json_object_get(c->health, "log");

        if (!berth_ctr_has_healthcheck(c))
                return;
        log = json_is_array(log) ? json_incref(log) : json_array();
        json_decref(c->health);
        c->health =
            json_pack("{s:s, s:i, s:o}", "status", "starting", "failingStreak", 0, "log", log);
}

void berth_ctr_health_end(struct berth_ctr *c)
{
        if (json_is_object(c->health))
                json_object_set_new(c->health, "status", json_string("unhealthy"));
}

static uint64_t ms_of(int64_t ns, int64_t dflt)
{
        ns = ns > 0 ? ns : dflt;
        return ((uint64_t) ns + 999999) / 1000000;
}

void berth_ctr_health_timer(const struct berth_ctr *c, struct berth_watch_health *ret)
{
        const struct berth_healthcheck *h = c->healthcheck;

        *ret = (struct berth_watch_health){0};
        if (!berth_ctr_has_healthcheck(c))
                return;
        ret->interval_ms = ms_of(h->interval, BERTH_HEALTH_INTERVAL_NS);
        ret->start_period_ms = h->start_period > 0 ? ms_of(h->start_period, 0) : 0;
        ret->start_interval_ms = ms_of(h->start_interval, BERTH_HEALTH_START_INTERVAL_NS);
}
