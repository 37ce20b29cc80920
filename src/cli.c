#include "build-config.h" /* PACKAGE, and the system extensions (realpath) */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "tokenizer.h"
#include "util.h"

volatile int interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    if (interrupted) _exit(130); /* a second Ctrl-C stops at once */
    interrupted = 1;
}

void install_interrupt_handler(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);
}

int usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "sidr %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'sidr %s --help'.\n", cmd);
    return EXIT_USAGE;
}

int runtime_error(const char *cmd, sidr_status s)
{
    fprintf(stderr, "sidr %s: %s (%s)\n", cmd, sidr_last_error(), sidr_status_name(s));
    return EXIT_RUNTIME;
}

int parse_int(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) return -1;
    *out = v;
    return 0;
}

int parse_float(const char *s, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < min || v > max) return -1;
    *out = v;
    return 0;
}

int parse_id_list(const char *s, int **ids, int *n)
{
    int cap = 16, count = 0;
    int *out = xmalloc(cap * sizeof *out);
    const char *p = s;
    for (;;) {
        while (*p == ' ') p++;
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 0 || v > INT_MAX) { free(out); return -1; }
        if (count == cap) out = xrealloc(out, (cap *= 2) * sizeof *out);
        out[count++] = (int)v;
        p = end;
        while (*p == ' ') p++;
        if (!*p) break;
        if (*p != ',') { free(out); return -1; }
        p++;
    }
    *ids = out;
    *n = count;
    return 0;
}

/* Where the embedded demo lives, first match wins:
 *   1. $SIDR_SHARE (only there, when set);
 *   2. share/ next to the binary (a build tree holding its own copy);
 *   3. the source tree's share/, when the binary is the one in its build tree;
 *   4. the installed data directory relative to the binary: the binary's
 *      path with the configured bindir cut off, plus the configured
 *      pkgdatadir (an install staged with DESTDIR, or a moved prefix), and
 *      BINDIR/../share/sidr;
 *   5. the configured pkgdatadir itself.
 * Returns a fresh string, or NULL. */
static char *try_path(const char *root, const char *mid, const char *leaf)
{
    char buf[8300];
    snprintf(buf, sizeof buf, "%s%s/%s", root, mid, leaf);
    return file_exists(buf) ? xstrdup(buf) : NULL;
}

static int same_dir(const char *a, const char *b)
{
    char ra[PATH_MAX], rb[PATH_MAX];
    if (!realpath(a, ra) || !realpath(b, rb)) return 0;
    return !strcmp(ra, rb);
}

char *demo_path(const char *leaf)
{
    const char *env = getenv("SIDR_SHARE");
    if (env) return try_path(env, "", leaf);
    char *found = NULL;
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash = n > 0 ? (exe[n] = 0, strrchr(exe, '/')) : NULL;
    if (slash) {
        *slash = 0; /* exe is now the binary's directory */
        if ((found = try_path(exe, "/share", leaf))) return found;
        if (same_dir(exe, SIDR_BUILDDIR) && (found = try_path(SIDR_SRCSHARE, "", leaf))) return found;
        size_t le = strlen(exe), lb = strlen(SIDR_BINDIR);
        if (le > lb && !strcmp(exe + le - lb, SIDR_BINDIR)) {
            char prefix[4096];
            snprintf(prefix, sizeof prefix, "%.*s", (int)(le - lb), exe);
            if ((found = try_path(prefix, SIDR_DATADIR, leaf))) return found;
        }
        if ((found = try_path(exe, "/../share/" PACKAGE, leaf))) return found;
    }
    if ((found = try_path(SIDR_DATADIR, "", leaf))) return found;
    /* without /proc, an uninstalled build still finds its source tree */
    if (!slash) found = try_path(SIDR_SRCSHARE, "", leaf);
    return found;
}

int demo_available(void)
{
    char *m = demo_path("demo/model/config.json"), *d = demo_path("demo/data");
    int ok = m && d;
    free(m);
    free(d);
    return ok;
}

/* The resolved paths live as long as the process (one per kind). */
static const char *resolve(const char *cmd, const char *flag, const char *leaf, const char *what, char **keep)
{
    if (flag) return flag;
    free(*keep);
    *keep = demo_path(leaf);
    if (!*keep) {
        const char *env = getenv("SIDR_SHARE");
        if (env)
            fprintf(stderr, "sidr %s: no --%s given and SIDR_SHARE=%s holds no %s; pass --%s DIR\n",
                    cmd, what, env, leaf, what);
        else
            fprintf(stderr, "sidr %s: no --%s given and the embedded demo is not installed "
                    "(no %s in %s); pass --%s DIR\n", cmd, what, leaf, SIDR_DATADIR, what);
    }
    return *keep;
}

static char *model_path, *data_path;

const char *resolve_model_dir(const char *cmd, const char *flag)
{
    return resolve(cmd, flag, "demo/model", "model", &model_path);
}

const char *resolve_data_dir(const char *cmd, const char *flag)
{
    return resolve(cmd, flag, "demo/data", "data", &data_path);
}

void json_string(FILE *f, const char *s, size_t len)
{
    fputc('"', f);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        case '\b': fputs("\\b", f); break;
        case '\f': fputs("\\f", f); break;
        default:
            if (c < 0x20) fprintf(f, "\\u%04x", c);
            else fputc(c, f);
        }
    }
    fputc('"', f);
}

void json_float(FILE *f, float x)
{
    if (isfinite(x)) fprintf(f, "%.9g", x);
    else fputs(x > 0 ? "1e999" : x < 0 ? "-1e999" : "null", f);
}

/* Length of the UTF-8 sequence a lead byte starts (1 for invalid bytes). */
static int utf8_len(unsigned char c)
{
    if (c < 0xC0) return 1;
    if (c < 0xE0) return 2;
    if (c < 0xF0) return 3;
    if (c < 0xF8) return 4;
    return 1;
}

void utf8_stream_put(utf8_stream *s, const char *bytes, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)bytes[i];
        if (s->n_pending && (c & 0xC0) != 0x80) utf8_stream_flush(s); /* broken sequence: emit as is */
        s->pending[s->n_pending++] = (char)c;
        if (s->n_pending >= utf8_len((unsigned char)s->pending[0]) || s->n_pending == (int)sizeof s->pending)
            utf8_stream_flush(s);
    }
    fflush(s->f);
}

void utf8_stream_flush(utf8_stream *s)
{
    if (s->n_pending) fwrite(s->pending, 1, s->n_pending, s->f);
    s->n_pending = 0;
}

/* Loads DIR/tokenizer.json (DIR may also be the file itself). */
sidr_status load_tokenizer_dir(const char *dir, sidr_tokenizer **tok)
{
    size_t n = strlen(dir);
    if (n >= 5 && !strcmp(dir + n - 5, ".json")) return sidr_tokenizer_load(tok, dir);
    char *path = path_join(dir, "tokenizer.json");
    sidr_status s = sidr_tokenizer_load(tok, path);
    free(path);
    return s;
}


sidr_status write_json_file(const char *path, const cJSON *root)
{
    char *text = cJSON_Print(root);
    size_t n = strlen(text);
    text = xrealloc(text, n + 2);
    text[n] = '\n';
    sidr_status s = write_file_atomic(path, text, n + 1);
    free(text);
    return s;
}

sidr_status copy_file(const char *from, const char *to)
{
    char *text;
    size_t len;
    sidr_status s = read_file(from, &text, &len);
    if (s) return s;
    s = write_file_atomic(to, text, len);
    free(text);
    return s;
}
