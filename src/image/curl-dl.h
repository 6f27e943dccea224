/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * libcurl, loaded when the first registry is contacted rather than at every start of berth:
 * linked, it brings gnutls, krb5, ldap, ssh2, ... and their constructors into every process
 * (bench/README.md: what that costs). registry.c includes this header instead of <curl/curl.h>;
 * its curl_* calls go through the table below (base/dlib.h), which berth_curl_load() fills.
 * To use a new libcurl function, add it to BERTH_CURL_FUNCS and below.
 */

#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

#include "base/dlib.h"
#include "base/error.h"

#define BERTH_CURL_FUNCS(X)                                                                        \
        X(curl_global_init)                                                                        \
        X(curl_easy_init)                                                                          \
        X(curl_easy_setopt)                                                                        \
        X(curl_easy_perform)                                                                       \
        X(curl_easy_reset)                                                                         \
        X(curl_easy_cleanup)                                                                       \
        X(curl_easy_strerror)                                                                      \
        X(curl_easy_escape)                                                                        \
        X(curl_slist_append)                                                                       \
        X(curl_slist_free_all)

BERTH_DLIB_TABLE(berth_curl_api, BERTH_CURL_FUNCS);
extern struct berth_curl_api berth_curl;

/* Loads libcurl and calls curl_global_init, once (thread-safe). -ELIBACC naming the library, the
 * symbol and the Debian package (base/dlib.h), or -EIO naming curl_global_init's error. */
int berth_curl_load(struct berth_error **err);

#undef curl_easy_setopt /* curl.h defines it as itself */
#define curl_global_init (*berth_curl.curl_global_init)
#define curl_easy_init (*berth_curl.curl_easy_init)
#define curl_easy_setopt (*berth_curl.curl_easy_setopt)
#define curl_easy_perform (*berth_curl.curl_easy_perform)
#define curl_easy_reset (*berth_curl.curl_easy_reset)
#define curl_easy_cleanup (*berth_curl.curl_easy_cleanup)
#define curl_easy_strerror (*berth_curl.curl_easy_strerror)
#define curl_easy_escape (*berth_curl.curl_easy_escape)
#define curl_slist_append (*berth_curl.curl_slist_append)
#define curl_slist_free_all (*berth_curl.curl_slist_free_all)
