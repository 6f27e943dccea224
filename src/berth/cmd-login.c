/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth login and logout: credentials checked against the registry and kept in the auth file
 * (registry.h), with docker's prompts and messages.
 */
#include <termios.h>
#include <unistd.h>

#include "berth.h"
#include "image/registry-auth.h"
#include "image/registry.h"
#include "base/util.h"

#define DEFAULT_REGISTRY "docker.io"

/* docker accepts "https://host:port/" too: the registry is the host:port (the library's key; a
 * value it refuses is passed on as given, for berth_login to name in its error). */
static char *registry_host(const char *arg)
{
        char *key = NULL;

        return berth_registry_key(arg, &key, NULL) < 0 ? xstrdup(arg) : key;
}

/* A line of f without its line ending; NULL at EOF. */
static char *read_line(FILE *f)
{
        char *line = NULL;
        size_t size = 0;
        ssize_t n = getline(&line, &size, f);

        if (n < 0) {
                free(line);
                return NULL;
        }
        line[strcspn(line, "\r\n")] = '\0';
        return line;
}

/* Asks on the terminal; the password without echo. */
static char *prompt(const char *label, bool secret)
{
        struct termios old, quiet;
        bool restore = false;
        char *line;

        printf("%s: ", label);
        fflush(stdout);
        if (secret && tcgetattr(STDIN_FILENO, &old) == 0) {
                quiet = old;
                quiet.c_lflag &= ~(tcflag_t) ECHO;
                restore = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
        }
        line = read_line(stdin);
        if (restore) {
                tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
                printf("\n");
        }
        return line;
}

static int fail(const char *msg)
{
        fprintf(stderr, BERTH_PROG ": %s\n", msg);
        return BERTH_EXIT_ENGINE;
}

enum { LOGIN_USER, LOGIN_PASS, LOGIN_PASS_STDIN, LOGIN_TLS_VERIFY, LOGIN_CERT_DIR, LOGIN_AUTHFILE };
static const struct berth_flag login_flags[] = {
    [LOGIN_USER] = {"username", 'u', BERTH_FLAG_VALUE, "USER", "Username"},
    [LOGIN_PASS] = {"password", 'p', BERTH_FLAG_VALUE, "PASS", "Password"},
    [LOGIN_PASS_STDIN] = {"password-stdin", 0, BERTH_FLAG_BOOL, NULL,
                          "Take the password from stdin"},
    [LOGIN_TLS_VERIFY] = {"tls-verify", 0, BERTH_FLAG_BOOL, NULL,
                          "Require HTTPS and verify certificates (default true)"},
    [LOGIN_CERT_DIR] = {"cert-dir", 0, BERTH_FLAG_VALUE, "DIR",
                        "Certificates for the registry (default /etc/berth/certs.d/HOST:PORT)"},
    [LOGIN_AUTHFILE] = {"authfile", 0, BERTH_FLAG_VALUE, "FILE", "Credentials file"},
};
static const struct berth_cmd_spec login_spec = {"login",
                                                 "login [OPTIONS] [SERVER]",
                                                 "Log in to a registry",
                                                 login_flags,
                                                 ARRAY_SIZE(login_flags),
                                                 0,
                                                 1,
                                                 false};

/* The user and password from the flags, stdin or the terminal, as docker's login takes them. */
static int credentials(const struct berth_args *a, char **ret_user, char **ret_pass)
{
        _autofree_ char *user = NULL, *pass = NULL;
        bool pass_stdin = berth_args_bool(a, LOGIN_PASS_STDIN);

        if (a->values[LOGIN_PASS] && pass_stdin)
                return fail("--password and --password-stdin are mutually exclusive");
        if (pass_stdin && !a->values[LOGIN_USER])
                return fail("Must provide --username with --password-stdin");
        if (a->values[LOGIN_PASS])
                fprintf(stderr, "WARNING! Using --password via the CLI is insecure. Use "
                                "--password-stdin.\n");
        if (pass_stdin && !(pass = read_line(stdin)))
                return fail("--password-stdin: nothing on stdin");
        if (!pass && a->values[LOGIN_PASS])
                pass = xstrdup(a->values[LOGIN_PASS]);
        user = a->values[LOGIN_USER] ? xstrdup(a->values[LOGIN_USER]) : NULL;
        if ((!user || !pass) && !isatty(STDIN_FILENO))
                return fail("Cannot perform an interactive login from a non TTY device");
        if (!user && !(user = prompt("Username", false)))
                return fail("login: no username given");
        if (!pass && !(pass = prompt("Password", true)))
                return fail("login: no password given");
        if (!*user)
                return fail("login: the username is empty");
        *ret_user = steal_ptr(&user);
        *ret_pass = steal_ptr(&pass);
        return 0;
}

static int login(const struct berth_args *a)
{
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *host = registry_host(a->n_pos > 0 ? a->pos[0] : DEFAULT_REGISTRY);
        _autofree_ char *user = NULL, *pass = NULL;
        struct berth_registry_opts o = {
            .cert_dir = a->values[LOGIN_CERT_DIR],
            .tls_verify = a->values[LOGIN_TLS_VERIFY] ? berth_args_bool(a, LOGIN_TLS_VERIFY) : -1,
            .auth_file = a->values[LOGIN_AUTHFILE],
        };
        int rc;

        rc = credentials(a, &user, &pass);
        if (rc != 0)
                return rc;
        rc = berth_login(host, user, pass, &o, &err);
        explicit_bzero(pass, strlen(pass));
        if (rc < 0)
                return berth_print_error(err);
        printf("Login Succeeded\n");
        return 0;
}

static int login_run(struct berth_global *g, int argc, char **argv)
{
        struct berth_args a;
        int rc;

        if (!berth_cmd_args(&login_spec, argc, argv, &a, &rc))
                return rc;
        rc = login(&a);
        berth_args_clear(&a);
        return rc;
}

const struct berth_cmd berth_cmd_login = {"login", "Log in to a registry", login_run};

/* ---- berth logout ------------------------------------------------------------------------- */

enum { LOGOUT_AUTHFILE };
static const struct berth_flag logout_flags[] = {
    [LOGOUT_AUTHFILE] = {"authfile", 0, BERTH_FLAG_VALUE, "FILE", "Credentials file"},
};
static const struct berth_cmd_spec logout_spec = {"logout",
                                                  "logout [OPTIONS] [SERVER]",
                                                  "Log out from a registry",
                                                  logout_flags,
                                                  ARRAY_SIZE(logout_flags),
                                                  0,
                                                  1,
                                                  false};

static int logout(const struct berth_args *a)
{
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *host = registry_host(a->n_pos > 0 ? a->pos[0] : DEFAULT_REGISTRY);
        struct berth_registry_opts o = {.tls_verify = -1, .auth_file = a->values[LOGOUT_AUTHFILE]};
        int r;

        r = berth_logout(host, &o, &err);
        if (r == -ENOENT) {
                /* docker: not an error */
                printf("Not logged in to %s\n", host);
                return 0;
        }
        if (r < 0)
                return berth_print_error(err);
        printf("Removing login credentials for %s\n", host);
        return 0;
}

static int logout_run(struct berth_global *g, int argc, char **argv)
{
        struct berth_args a;
        int rc;

        if (!berth_cmd_args(&logout_spec, argc, argv, &a, &rc))
                return rc;
        rc = logout(&a);
        berth_args_clear(&a);
        return rc;
}

const struct berth_cmd berth_cmd_logout = {"logout", "Log out from a registry", logout_run};
