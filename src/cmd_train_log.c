/* sidr train-log FILE|DIR: a training run's train_log.jsonl as terminal line
 * charts: training loss, validation loss, and whatever the stage measures at
 * its validations (alignment for align, format for reason, reward and HR@10
 * for rl), so a researcher sees when each forms. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chart.h"
#include "cli.h"
#include "commands.h"
#include "util.h"

/* The charts, in order: which lines ("train"/"eval"), the field (in an
 * object `sub` when set, element `index` of an array when >= 0). */
typedef struct {
    const char *type, *sub, *key;
    int index;
    const char *title;
} series_def;

static const series_def series[] = {
    { "train", NULL, "loss", -1, "training loss" },
    { "eval", NULL, "valid_loss", -1, "validation loss" },
    { "eval", "align", "title_to_sid_hit1", -1, "align: title -> SID hit@1" },
    { "eval", "align", "title_to_sid_hit10", -1, "align: title -> SID hit@10" },
    { "eval", "align", "level_acc", 0, "align: title -> SID, level a right" },
    { "eval", "align", "sid_to_title_f1", -1, "align: SID -> title word F1" },
    { "eval", NULL, "format_rate", -1, "reason: format rate" },
    { "eval", NULL, "valid_sid_rate", -1, "reason: valid SID rate" },
    { "train", NULL, "reward_mean", -1, "rl: mean reward" },
    { "eval", NULL, "HR@10", -1, "rl: valid HR@10" },
};
#define N_SERIES (int)(sizeof series / sizeof *series)

typedef struct {
    double *x, *y;
    int n, cap;
} points;

static void push(points *p, double x, double y)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 256;
        p->x = xrealloc(p->x, (size_t)p->cap * sizeof *p->x);
        p->y = xrealloc(p->y, (size_t)p->cap * sizeof *p->y);
    }
    p->x[p->n] = x;
    p->y[p->n++] = y;
}

static int value_of(const cJSON *o, const series_def *d, double *v)
{
    if (d->sub) o = cJSON_GetObjectItemCaseSensitive(o, d->sub);
    const cJSON *f = o ? cJSON_GetObjectItemCaseSensitive(o, d->key) : NULL;
    if (d->index >= 0) f = cJSON_IsArray(f) ? cJSON_GetArrayItem(f, d->index) : NULL;
    if (!cJSON_IsNumber(f)) return 0;
    *v = f->valuedouble;
    return 1;
}

/* Means over consecutive runs of `per` points: a readable curve of a noisy
 * per-step series. */
static points binned(const points *p, int per)
{
    points b = { 0 };
    for (int i = 0; i < p->n; i += per) {
        double sx = 0, sy = 0;
        int k = 0;
        for (int j = i; j < p->n && j < i + per; j++, k++) sx += p->x[j], sy += p->y[j];
        push(&b, sx / k, sy / k);
    }
    return b;
}

static void help(void)
{
    printf("usage: sidr train-log [--width W] [--height H] [--ascii] FILE|DIR\n"
           "Draws a training run's log (FILE, or DIR/train_log.jsonl) as terminal line charts:\n"
           "training loss (means of consecutive steps), validation loss, and the validations'\n"
           "measures when present: align's title->SID hit@1/@10, level a and SID->title F1;\n"
           "reason's format and valid-SID rates; rl's mean reward and valid HR@10.\n"
           "Braille dots in a UTF-8 locale, ASCII otherwise or with --ascii.\n");
}

int cmd_train_log(int argc, char **argv)
{
    static const struct option opts[] = {
        { "width", required_argument, NULL, 'w' }, { "height", required_argument, NULL, 'H' },
        { "ascii", no_argument, NULL, 'a' },       { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    long width = 60, height = 8;
    int ascii = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (c) {
        case 'w': if (parse_int(optarg, 8, 1000, &width)) return usage_error("train-log", "--width expects an integer in [8, 1000]"); break;
        case 'H': if (parse_int(optarg, 2, 200, &height)) return usage_error("train-log", "--height expects an integer in [2, 200]"); break;
        case 'a': ascii = 1; break;
        case 'h': help(); return EXIT_OK;
        default: return usage_error("train-log", "unknown option");
        }
    }
    if (argc - optind != 1) return usage_error("train-log", "expected one log file or training folder");
    const char *arg = argv[optind];
    struct stat sb;
    char *path = stat(arg, &sb) == 0 && S_ISDIR(sb.st_mode) ? path_join(arg, "train_log.jsonl") : xstrdup(arg);
    char *text;
    sidr_status s = read_file(path, &text, NULL);
    if (s) {
        free(path);
        return runtime_error("train-log", s);
    }
    points pts[N_SERIES];
    memset(pts, 0, sizeof pts);
    const char *stage = NULL;
    char stage_buf[32] = "";
    long lineno = 0, lines = 0, best_step = -1;
    double best = INFINITY;
    int rc = EXIT_OK;
    for (char *p = text, *e; *p && rc == EXIT_OK; p = e + (*e ? 1 : 0)) {
        e = strchr(p, '\n');
        if (!e) e = p + strlen(p);
        lineno++;
        size_t len = (size_t)(e - p);
        while (len && (p[len - 1] == '\r' || p[len - 1] == ' ')) len--;
        if (!len) continue;
        cJSON *o = cJSON_ParseWithLength(p, len);
        const cJSON *type = o ? cJSON_GetObjectItemCaseSensitive(o, "type") : NULL;
        const cJSON *step = o ? cJSON_GetObjectItemCaseSensitive(o, "step") : NULL;
        if (!cJSON_IsObject(o) || !cJSON_IsString(type) || !cJSON_IsNumber(step)) {
            sidr_fail(SIDR_ERR_FORMAT, "%s:%ld: expected a JSON object with string 'type' and numeric 'step' (a sidr training log line)",
                      path, lineno);
            rc = runtime_error("train-log", SIDR_ERR_FORMAT);
            cJSON_Delete(o);
            break;
        }
        lines++;
        if (!strcmp(type->valuestring, "start")) {
            const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "stage");
            if (cJSON_IsString(st)) snprintf(stage_buf, sizeof stage_buf, "%s", st->valuestring), stage = stage_buf;
        }
        for (int k = 0; k < N_SERIES; k++) {
            double v;
            if (strcmp(type->valuestring, series[k].type) || !value_of(o, &series[k], &v)) continue;
            /* a resumed run repeats steps: the later line wins */
            while (pts[k].n && pts[k].x[pts[k].n - 1] >= step->valuedouble) pts[k].n--;
            push(&pts[k], step->valuedouble, v);
        }
        double vl;
        if (!strcmp(type->valuestring, "eval") && value_of(o, &series[1], &vl) && vl < best) best = vl, best_step = (long)step->valuedouble;
        cJSON_Delete(o);
    }
    free(text);
    if (rc == EXIT_OK && lines == 0) {
        sidr_fail(SIDR_ERR_FORMAT, "%s: no log lines", path);
        rc = runtime_error("train-log", SIDR_ERR_FORMAT);
    }
    if (rc == EXIT_OK) {
        setlocale(LC_CTYPE, "");
        const char *cs = nl_langinfo(CODESET);
        chart_style st = { (int)width, (int)height, !ascii && cs && !strcmp(cs, "UTF-8"), "step" };
        printf("%s: %s, %ld log lines", path, stage ? stage : "stage unknown", lines);
        if (best_step >= 0) printf(", best validation loss %.4f at step %ld", best, best_step);
        printf("\n\n");
        int drawn = 0;
        for (int k = 0; k < N_SERIES; k++) {
            if (pts[k].n == 0) continue;
            char title[160];
            if (!strcmp(series[k].type, "train") && pts[k].n > 2 * st.width) {
                int per = (pts[k].n + 2 * st.width - 1) / (2 * st.width);
                points b = binned(&pts[k], per);
                snprintf(title, sizeof title, "%s (mean of %d steps per point; last %.4g)", series[k].title, per, pts[k].y[pts[k].n - 1]);
                chart_print(stdout, title, b.x, b.y, b.n, &st);
                free(b.x);
                free(b.y);
            } else {
                snprintf(title, sizeof title, "%s (%d points; last %.4g)", series[k].title, pts[k].n, pts[k].y[pts[k].n - 1]);
                chart_print(stdout, title, pts[k].x, pts[k].y, pts[k].n, &st);
            }
            putchar('\n');
            drawn++;
        }
        if (!drawn) printf("no training or validation measures in the log yet\n");
    }
    for (int k = 0; k < N_SERIES; k++) {
        free(pts[k].x);
        free(pts[k].y);
    }
    free(path);
    return rc;
}
