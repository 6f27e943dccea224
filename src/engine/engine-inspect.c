/* SPDX-License-Identifier: Apache-2.0 */
/*
 * docker inspect's object for an engine container (engine-inspect.h), its fields in docker's
 * order: Id, Created, Path, Args, State, Image, ResolvConfPath, HostnamePath, HostsPath, LogPath,
 * Name, RestartCount, Driver, Platform, MountLabel, ProcessLabel, AppArmorProfile, ExecIDs,
 * HostConfig, GraphDriver, [SizeRw, SizeRootFs], Mounts, Config.
 */
#include <fcntl.h>
#include <jansson.h>

#include "base/json.h"
#include "base/util.h"
#include "engine/engine-health.h"
#include "engine/engine-inspect.h"
#include "engine/engine.h"
#include "image/imagestore.h"

#define ZERO_TIME "0001-01-01T00:00:00Z"

bool berth_ctr_is_up(const struct berth_ctr *c)
{
        return streq_ptr(c->status, "running") || streq_ptr(c->status, "restarting");
}

const char *berth_ctr_state_name(const struct berth_ctr *c)
{
        if (berth_ctr_is_up(c))
                return c->paused ? "paused" : c->status;
        if (streq_ptr(c->status, "dead"))
                return "dead";
        /* docker: never started (a start that failed too, with its exit code) */
        if (streq_ptr(c->status, "created") || !c->status || !c->started_at)
                return "created";
        return "exited";
}

const char *berth_ctr_health_status(const struct berth_ctr *c)
{
        json_t *h = c->health;
        const char *v = json_string_value(json_object_get(h, "status"));

        return v ? v : json_string_value(json_object_get(h, "Status"));
}

int berth_ctr_size(struct berth_store *s, const struct berth_ctr *c, int64_t *ret_rw,
                   int64_t *ret_rootfs, struct berth_error **err)
{
        _cleanup_(berth_image_freep) struct berth_image *img = NULL;
        _autofree_ char *upper = berth_ctr_upper(c);
        int64_t rw = 0;
        int r;

        r = berth_disk_usage(AT_FDCWD, upper, &rw, err);
        if (r < 0)
                return r;
        *ret_rw = rw;
        *ret_rootfs = rw;
        if (c->image && berth_store_image_lookup(s, c->image, &img, NULL) >= 0)
                *ret_rootfs += img->size;
        return 0;
}

/* The record's "health" as docker's State.Health: {Status, FailingStreak, Log}. */
static json_t *health_json(const struct berth_ctr *c)
{
        json_t *h = c->health, *streak = json_object_get(h, "failingStreak"),
               *log = json_object_get(h, "log");

        if (!streak)
                streak = json_object_get(h, "FailingStreak");
        if (!log)
                log = json_object_get(h, "Log");
        return json_pack("{s:s, s:I, s:O}", "Status", berth_ctr_health_status(c) ?: "starting",
                         "FailingStreak", (json_int_t) json_integer_value(streak), "Log",
                         json_is_array(log) ? log : json_array());
}

static json_t *state_json(const struct berth_ctr *c)
{
        bool up = berth_ctr_is_up(c), restarting = streq_ptr(c->status, "restarting");
        json_t *o = json_pack("{s:s, s:b, s:b, s:b, s:b, s:b, s:i, s:i, s:s, s:s, s:s}", "Status",
                              berth_ctr_state_name(c), "Running", up, "Paused", up && c->paused,
                              "Restarting", restarting, "OOMKilled", c->oom_killed, "Dead",
                              streq_ptr(c->status, "dead"), "Pid", up && !restarting ? c->pid : 0,
                              "ExitCode", c->exit_code, "Error", "", "StartedAt",
                              c->started_at ? c->started_at : ZERO_TIME, "FinishedAt",
                              c->finished_at ? c->finished_at : ZERO_TIME);

        if (c->health)
                json_object_set_new(o, "Health", health_json(c));
        return o;
}

static json_t *graph_driver(struct berth_store *s, const struct berth_ctr *c)
{
        _autostrv_ char **lowers = berth_ctr_lowers(s, c);
        _autofree_ char *lower = NULL;
        size_t len = 0;

        for (char **l = lowers; *l; l++)
                len += strlen(*l) + 1;
        lower = xcalloc(len + 1, 1);
        for (char **l = lowers; *l; l++) {
                if (l != lowers)
                        strcat(lower, ":");
                strcat(lower, *l);
        }
        return json_pack("{s:{s:s, s:s+, s:s+, s:s+}, s:s}", "Data", "LowerDir", lower, "MergedDir",
                         c->dir, "/rootfs", "UpperDir", c->dir, "/upper", "WorkDir", c->dir,
                         "/work", "Name", "overlay");
}

static json_t *log_config(const struct berth_ctr *c)
{
        json_t *cfg = json_object();

        if (c->log_max_size > 0) {
                json_object_set_new(cfg, "max-size",
                                    json_sprintf("%lld", (long long) c->log_max_size));
                json_object_set_new(cfg, "max-file", json_sprintf("%d", c->log_max_file));
        }
        return json_pack("{s:s, s:o}", "Type", c->log_driver ? c->log_driver : "k8s-file", "Config",
                         cfg);
}

static json_t *host_config(const struct berth_ctr *c)
{
        return json_pack("{s:o, s:{s:s, s:i}, s:b, s:I, s:I, s:I}", "LogConfig", log_config(c),
                         "RestartPolicy", "Name", c->restart_policy ? c->restart_policy : "no",
                         "MaximumRetryCount", c->restart_max, "AutoRemove", c->auto_remove,
                         "Memory", (json_int_t) c->memory, "NanoCpus", (json_int_t) c->nano_cpus,
                         "PidsLimit", (json_int_t) c->pids_limit);
}

static json_t *config_json(const struct berth_ctr *c)
{
        json_t *o =
            json_pack("{s:s, s:s, s:s, s:b, s:o, s:o}", "Hostname", c->hostname ? c->hostname : "",
                      "Domainname", "", "User", c->user ? c->user : "", "Tty", c->tty, "Env",
                      berth_json_strv_or_null(c->env), "Cmd", berth_json_strv_or_null(c->cmd));

        if (c->healthcheck) /* docker's place: after Cmd */
                json_object_set_new(o, "Healthcheck", berth_healthcheck_json(c->healthcheck));
        json_object_set_new(o, "Image",
                            json_string(c->image_name ? c->image_name
                                        : c->image    ? c->image
                                                      : ""));
        json_object_set_new(o, "WorkingDir", json_string(c->working_dir ? c->working_dir : ""));
        json_object_set_new(o, "Entrypoint", berth_json_strv_or_null(c->entrypoint));
        if (c->stop_signal)
                json_object_set_new(o, "StopSignal", json_string(c->stop_signal));
        if (c->has_stop_timeout)
                json_object_set_new(o, "StopTimeout", json_integer(c->stop_timeout));
        return o;
}

/* docker's Path and Args: the first word of entrypoint + cmd, and the rest. */
static json_t *path_args(const struct berth_ctr *c, const char **ret_path)
{
        json_t *args = json_array();
        const char *path = NULL;

        for (char **v = c->entrypoint; v && *v; v++)
                if (!path)
                        path = *v;
                else
                        json_array_append_new(args, json_string(*v));
        for (char **v = c->cmd; v && *v; v++)
                if (!path)
                        path = *v;
                else
                        json_array_append_new(args, json_string(*v));
        *ret_path = path ? path : "";
        return args;
}

/* Id ... HostConfig: up to where the sizes go. */
static json_t *head_json(const struct berth_ctr *c)
{
        _autofree_ char *name = xasprintf("/%s", c->name),
                        *log = streq_ptr(c->log_driver, "none")
                                   ? xstrdup("")
                                   : xasprintf("%s/" BERTH_CTR_LOG, c->dir);
        const char *path;
        json_t *args = path_args(c, &path);

        return json_pack(
            "{s:s, s:s, s:s, s:o, s:o, s:s, s:s+, s:s+, s:s+, s:s, s:s, s:i, s:s, s:s, s:s, "
            "s:s, s:s, s:n, s:o}",
            "Id", c->id, "Created", c->created ? c->created : ZERO_TIME, "Path", path, "Args", args,
            "State", state_json(c), "Image", c->image ? c->image : "", "ResolvConfPath", c->dir,
            "/resolv.conf", "HostnamePath", c->dir, "/hostname", "HostsPath", c->dir, "/hosts",
            "LogPath", log, "Name", name, "RestartCount", c->restart_count, "Driver", "overlay",
            "Platform", "linux", "MountLabel", "", "ProcessLabel", "", "AppArmorProfile", "",
            "ExecIDs", "HostConfig", host_config(c));
}

json_t *berth_ctr_inspect_json_sized(struct berth_store *s, const struct berth_ctr *c, bool size)
{
        json_t *o = head_json(c);
        int64_t rw, rootfs;

        json_object_set_new(o, "GraphDriver", graph_driver(s, c));
        if (size && berth_ctr_size(s, c, &rw, &rootfs, NULL) >= 0) {
                json_object_set_new(o, "SizeRw", json_integer(rw));
                json_object_set_new(o, "SizeRootFs", json_integer(rootfs));
        }
        json_object_set_new(o, "Mounts", json_array());
        json_object_set_new(o, "Config", config_json(c));
        return o;
}

json_t *berth_ctr_inspect_json(struct berth_store *s, const struct berth_ctr *c)
{
        return berth_ctr_inspect_json_sized(s, c, false);
}
