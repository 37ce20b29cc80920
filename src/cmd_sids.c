#define _POSIX_C_SOURCE 200809L
/* sidr sids build | stats: Semantic-ID construction (item text -> TF-IDF ->
 * randomized SVD -> residual k-means or an RQ-VAE, with a collision-resolved
 * last level) and SID statistics (SPEC §1.1, §3). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include "cli.h"
#include "session.h"
#include "commands.h"
#include "dataset.h"
#include "item_embed.h"
#include "rqkmeans.h"
#include "safetensors.h"
#include "layout_write.h"
#include "progress.h"
#include "rqvae.h"
#include "util.h"

/* ---- progress on stderr ----------------------------------------------------- */

/* The library names its stages as it goes (embedding, each k-means level...);
 * each stage gets its own progress line (src/progress.c), like every other
 * long job. */
typedef struct {
    int quiet, open;
    char stage[64], label[96];
    long done;
    progress bar;
} stage_progress;

static void progress_close(stage_progress *p)
{
    if (p->open && !p->quiet) progress_end(&p->bar, p->done, NULL);
    p->open = 0;
}

static int progress_fn(void *user, const char *stage, long done, long total)
{
    stage_progress *p = user;
    if (!p->open || strcmp(stage, p->stage) != 0) {
        progress_close(p);
        snprintf(p->stage, sizeof p->stage, "%s", stage);
        snprintf(p->label, sizeof p->label, "sidr sids: %s", stage);
        if (!p->quiet) progress_start(&p->bar, p->label, total, "it");
        p->open = 1;
    }
    p->done = done;
    if (!p->quiet) {
        p->bar.total = total > 0 ? total : 1;
        progress_update(&p->bar, done, NULL);
    }
    return interrupted;
}

/* RQ-VAE training: one progress line (src/progress.c) over epochs, with the loss. */
typedef struct {
    int quiet, started;     /* started: bar is running (the caller starts it) */
    progress bar;
    long done;
    char note[96];
} vae_progress;

static int vae_progress_fn(void *user, const sidr_rqvae_progress *p)
{
    vae_progress *v = user;
    if (!v->quiet) {
        v->done = p->epoch;
        int k = snprintf(v->note, sizeof v->note, "loss %.5f recon %.5f quant %.5f", p->loss, p->recon, p->quant);
        if (p->collision_rate >= 0 && k > 0 && (size_t)k < sizeof v->note)
            snprintf(v->note + k, sizeof v->note - (size_t)k, " collisions %.3f", p->collision_rate);
        progress_update(&v->bar, p->epoch, v->note);
    }
    return interrupted;
}

/* ---- files ------------------------------------------------------------------ */





/* The one file in dir/sub starting with "<name>_" or "<name>." and ending in
 * suffix, as a fresh basename; NULL when none. */
static char *find_named(const char *dir, const char *sub, const char *name, const char *suffix)
{
    char *d = path_join(dir, sub);
    DIR *dd = opendir(d);
    free(d);
    if (!dd) return NULL;
    char *best = NULL;
    size_t ln = strlen(name), ls = strlen(suffix);
    struct dirent *e;
    while ((e = readdir(dd))) {
        const char *nm = e->d_name;
        size_t l = strlen(nm);
        if (l <= ls || strcmp(nm + l - ls, suffix) || strncmp(nm, name, ln) || (nm[ln] != '_' && nm[ln] != '.'))
            continue;
        if (!best || strcmp(nm, best) < 0) {
            free(best);
            best = xstrdup(nm);
        }
    }
    closedir(dd);
    return best;
}


/* A Python str literal as repr() writes it. */

static int is_int_id(const char *s)
{
    if (!*s || strlen(s) > 18) return 0;
    if (s[0] == '0' && s[1]) return 0; /* "007" would not survive a round trip as an int */
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9') return 0;
    return 1;
}

/* Writes an in-memory string as one CSV field (quoted when it must be). */

/* Field text built in memory (so that CSV quoting sees all of it). */



/* A title for one line of info.txt: tabs and line breaks become spaces. */
static void info_text(FILE *f, const char *s)
{
    for (const char *p = s; *p; p++) fputc(*p == '\t' || *p == '\n' || *p == '\r' ? ' ' : *p, f);
}

/* ---- sids build --------------------------------------------------------------- */

static const struct option build_opts[] = {
    { "data", required_argument, NULL, 'd' },
    { "category", required_argument, NULL, 'C' },
    { "out", required_argument, NULL, 'o' },
    { "levels", required_argument, NULL, 'L' },
    { "codes", required_argument, NULL, 'K' },
    { "dim", required_argument, NULL, 'D' },
    { "seed", required_argument, NULL, 's' },
    { "iters", required_argument, NULL, 'i' },
    { "balance", required_argument, NULL, 'b' },
    { "sinkhorn-eps", required_argument, NULL, 'e' },
    { "no-resolve", no_argument, NULL, 'R' },
    { "dedup-level", no_argument, NULL, 'U' },
    { "cooc", required_argument, NULL, 'c' },
    { "cooc-window", required_argument, NULL, 'w' },
    { "title-weight", required_argument, NULL, 't' },
    { "method", required_argument, NULL, 'M' },
    { "epochs", required_argument, NULL, 'E' },
    { "batch", required_argument, NULL, 'B' },
    { "lr", required_argument, NULL, 'r' },
    { "latent", required_argument, NULL, 'Z' },
    { "hidden", required_argument, NULL, 'H' },
    { "beta", required_argument, NULL, 'A' },
    { "force", no_argument, NULL, 'f' },
    { "quiet", no_argument, NULL, 'q' },
    { "json", no_argument, NULL, 'j' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

static void build_help(void)
{
    printf("usage: sidr sids build --data DIR [--out DIR] [--levels L] [--codes K] [--dim D] [--seed S] [options]\n"
           "Builds Semantic IDs for the dataset's items: TF-IDF over title (x2), brand, categories and\n"
           "description -> randomized truncated SVD (D dims) -> residual k-means or an RQ-VAE (L levels\n"
           "x K codes); items that share a SID move to the nearest last-level code free in their prefix.\n"
           "Prints codes used per level, collisions before and after that step, the quantisation error\n"
           "and the reconstruction error of the embeddings (with the mean-vector baseline).\n"
           "Writes a MiniOneRec-layout dataset to OUT: index/<Cat>.index.json, index/<Cat>.item.json,\n"
           "info/<Cat>*.txt, index/<Cat>.codebooks.safetensors and the dataset's splits with the new SIDs.\n\n"
           "  --data DIR          dataset (MiniOneRec or RecBole layout; default: the embedded demo)\n"
           "  --category CAT      which category when DIR holds several\n"
           "  --out DIR           output dataset folder (default DIR; existing files need --force)\n"
           "  --levels L          code levels (default 3)\n"
           "  --codes K           codes per level (default 256; at most the number of items)\n"
           "  --dim D             embedding dimensions (default 64)\n"
           "  --seed S            seed of the SVD and k-means (default 42)\n"
           "  --method M          rqkmeans (default: residual k-means on the embeddings) or rqvae (an\n"
           "                      RQ-VAE as MiniOneRec trains it: MLP encoder to a latent, residual\n"
           "                      codebooks there, mirrored decoder; reconstruction + codebook +\n"
           "                      beta x commitment loss, straight-through, AdamW)\n"
           "  --iters N           Lloyd iterations per level (default 50; rqkmeans)\n"
           "  --epochs N          RQ-VAE training epochs (default 200)\n"
           "  --batch N           RQ-VAE batch size (default 256)\n"
           "  --lr X              RQ-VAE AdamW learning rate (default 0.001)\n"
           "  --latent N          RQ-VAE latent (codebook) dimensions (default 32)\n"
           "  --hidden N,N,...    RQ-VAE encoder hidden sizes, the decoder mirrors them (default: from\n"
           "                      8 x D halving to above the latent: 512,256,128,64 for D = 64)\n"
           "  --beta X            RQ-VAE commitment weight (default 0.25)\n"
           "  --balance MODE      last-level balancing before the re-assignment: none (default),\n"
           "                      sinkhorn (all items toward uniform code usage) or groups (Sinkhorn\n"
           "                      within each group of items sharing a SID, as MiniOneRec)\n"
           "  --sinkhorn-eps E    Sinkhorn temperature on distances scaled to [-1,1] (default 0.003)\n"
           "  --no-resolve        keep collisions (no re-assignment within prefixes)\n"
           "  --dedup-level       append a level <%c_N> numbering items that still share a SID\n"
           "  --cooc W            mix in co-occurrence (PPMI) embeddings of training histories with\n"
           "                      weight W in [0,1] (default 0: text only, as the paper)\n"
           "  --cooc-window N     co-occurrence window (default 5)\n"
           "  --title-weight X    tf weight of title tokens (default 2)\n"
           "  --quiet             no progress on stderr\n"
           "  --json              summary as JSON on stdout\n", 'd');
}

typedef struct {
    int L, depth;
    char **sid;        /* per item */
} new_sids;

static void sid_token(char *buf, size_t cap, int level, int code)
{
    snprintf(buf, cap, "<%c_%d>", 'a' + level, code);
}

static sidr_status write_index(const char *path, const sidr_dataset *ds, const sidr_rq_result *r)
{
    out_file o;
    sidr_status s = out_open(&o, path);
    if (s) return s;
    fputc('{', o.f);
    for (int i = 0; i < ds->n_items; i++) {
        if (i) fputs(", ", o.f);
        json_str(o.f, ds->items[i].id);
        fputs(": [", o.f);
        for (int l = 0; l < r->depth; l++) {
            char t[32];
            sid_token(t, sizeof t, l, r->code[(size_t)i * r->depth + l]);
            fprintf(o.f, "%s\"%s\"", l ? ", " : "", t);
        }
        fputc(']', o.f);
    }
    fputs("}\n", o.f);
    return out_close(&o);
}

static sidr_status write_item_json(const char *path, const sidr_dataset *ds)
{
    out_file o;
    sidr_status s = out_open(&o, path);
    if (s) return s;
    fputs("{\n", o.f);
    for (int i = 0; i < ds->n_items; i++) {
        const sidr_item *it = &ds->items[i];
        fputs("  ", o.f);
        json_str(o.f, it->id);
        fputs(": {\n    \"title\": ", o.f);
        json_str(o.f, it->title);
        fputs(",\n    \"description\": ", o.f);
        json_str(o.f, it->description);
        fputs(",\n    \"brand\": ", o.f);
        json_str(o.f, it->brand);
        fputs(",\n    \"categories\": ", o.f);
        json_str(o.f, it->categories);
        fprintf(o.f, "\n  }%s\n", i + 1 < ds->n_items ? "," : "");
    }
    fputs("}\n", o.f);
    return out_close(&o);
}

static sidr_status write_info(const char *path, const sidr_dataset *ds, char **sid)
{
    out_file o;
    sidr_status s = out_open(&o, path);
    if (s) return s;
    for (int i = 0; i < ds->n_items; i++) {
        fprintf(o.f, "%s\t", sid[i]);
        info_text(o.f, ds->items[i].title);
        fputc('\t', o.f);
        info_text(o.f, ds->items[i].id);
        fputc('\n', o.f);
    }
    return out_close(&o);
}

static void py_id(FILE *f, const char *id)
{
    if (is_int_id(id)) fputs(id, f);
    else py_str(f, id);
}

static sidr_status write_split(const char *path, const sidr_dataset *ds, const sidr_split *sp, char **sid)
{
    out_file o;
    sidr_status s = out_open(&o, path);
    if (s) return s;
    fputs("user_id,history_item_title,item_title,history_item_id,item_id,history_item_sid,item_sid\n", o.f);
    for (int r = 0; r < sp->n; r++) {
        const sidr_sample *x = &sp->rows[r];
        const char *uid = ds->users[x->user].id;
        mem_field m;
        csv_field(o.f, uid, strlen(uid));
        fputc(',', o.f);
        mf_open(&m);
        fputc('[', m.f);
        for (int h = 0; h < x->n_hist; h++) {
            if (h) fputs(", ", m.f);
            py_str(m.f, ds->items[x->hist[h]].title);
        }
        fputc(']', m.f);
        mf_emit(&m, o.f);
        fputc(',', o.f);
        csv_field(o.f, ds->items[x->target].title, strlen(ds->items[x->target].title));
        fputc(',', o.f);
        mf_open(&m);
        fputc('[', m.f);
        for (int h = 0; h < x->n_hist; h++) {
            if (h) fputs(", ", m.f);
            py_id(m.f, ds->items[x->hist[h]].id);
        }
        fputc(']', m.f);
        mf_emit(&m, o.f);
        fputc(',', o.f);
        csv_field(o.f, ds->items[x->target].id, strlen(ds->items[x->target].id));
        fputc(',', o.f);
        mf_open(&m);
        fputc('[', m.f);
        for (int h = 0; h < x->n_hist; h++) {
            if (h) fputs(", ", m.f);
            py_str(m.f, sid[x->hist[h]]);
        }
        fputc(']', m.f);
        mf_emit(&m, o.f);
        fputc(',', o.f);
        fputs(sid[x->target], o.f);
        fputc('\n', o.f);
    }
    return out_close(&o);
}

/* Codebooks, the item vectors they quantise and the codes; for the RQ-VAE
 * the item vectors are the latents (the codebooks' space), and the text
 * embeddings and the encoder / decoder weights (rqvae.<name>) come along. */
static sidr_status write_codebooks(const char *path, const sidr_dataset *ds, const sidr_rq_result *r,
                                   const sidr_embed_result *e, const sidr_rq_opts *ro, const char *method,
                                   const sidr_rqvae_result *vae)
{
    const sidr_params *vp = vae ? &vae->model.p : NULL;
    int n = r->levels + 2 + (vae ? 1 + vp->n_views - r->levels : 0);
    sidr_st_entry *en = xcalloc((size_t)n, sizeof *en);
    char (*names)[96] = xcalloc((size_t)n, sizeof *names);
    for (int l = 0; l < r->levels; l++) {
        snprintf(names[l], sizeof names[l], "codebook.%d", l);
        en[l] = (sidr_st_entry){ names[l], SIDR_F32, 2, { r->codes, r->dim }, r->codebooks + (size_t)l * r->codes * r->dim };
    }
    en[r->levels] = (sidr_st_entry){ "item_embeddings", SIDR_F32, 2, { r->n, r->dim }, vae ? vae->latent : e->emb };
    en[r->levels + 1] = (sidr_st_entry){ "codes", SIDR_I32, 2, { r->n, r->depth }, r->code };
    if (vae) {
        int k = r->levels + 2;
        en[k++] = (sidr_st_entry){ "text_embeddings", SIDR_F32, 2, { r->n, e->dim }, e->emb };
        for (int v = 0; v < vp->n_views; v++) {
            const sidr_param_view *pv = &vp->views[v];
            if (pv->kind == SIDR_PARAM_EMBED) continue; /* the codebooks, written above */
            snprintf(names[k], sizeof names[k], "rqvae.%s", pv->name);
            en[k] = (sidr_st_entry){ names[k], SIDR_F32, pv->ndim, { pv->shape[0], pv->shape[1] }, vp->data + pv->offset };
            k++;
        }
    }
    char *meta = NULL;
    size_t ml = 0;
    FILE *m = open_memstream(&meta, &ml);
    fprintf(m, "{\"format\":\"sidr-codebooks\",\"levels\":\"%d\",\"codes\":\"%d\",\"dim\":\"%d\",\"seed\":\"%llu\","
               "\"depth\":\"%d\",\"dedup_level\":\"%d\",\"dedup_codes\":\"%d\",\"method\":",
            r->levels, r->codes, r->dim, (unsigned long long)ro->seed, r->depth, ro->dedup_level ? 1 : 0,
            r->dedup_codes);
    json_str(m, method);
    if (vae) {
        const sidr_rqvae *vm = &vae->model;
        fprintf(m, ",\"rqvae_layers\":\"");
        for (int k = 0; k <= vm->n_layers; k++) fprintf(m, "%s%d", k ? "," : "", vm->dims[k]);
        fprintf(m, "\",\"rqvae_epochs\":\"%d\",\"rqvae_kept_epoch\":\"%d\"", vae->epochs, vae->best_epoch);
    }
    fprintf(m, ",\"embedding\":\"tfidf-rsvd%s\",\"dataset\":", e->dim_cooc ? "+cooc-ppmi-rsvd" : "");
    json_str(m, ds->name);
    /* the item order of item_embeddings and codes rows: a JSON array inside a string */
    char *ids = NULL;
    size_t il = 0;
    FILE *fi = open_memstream(&ids, &il);
    fputc('[', fi);
    for (int i = 0; i < ds->n_items; i++) {
        if (i) fputc(',', fi);
        json_str(fi, ds->items[i].id);
    }
    fputc(']', fi);
    fclose(fi);
    fputs(",\"item_ids\":", m);
    json_string(m, ids, il);
    fputc('}', m);
    fclose(m);
    free(ids);
    sidr_status s = sidr_st_write(path, en, n, meta);
    free(meta);
    free(en);
    free(names);
    return s;
}

static int cmd_sids_build(int argc, char **argv)
{
    const char *data = NULL, *out = NULL, *category = NULL;
    long levels = 3, codes = 256, dim = 64, seed = 42, iters = 50, window = 5;
    double eps = 0.003, cooc = 0, title_w = 2;
    int balance = SIDR_BALANCE_NONE, resolve = 1, dedup = 0, force = 0, quiet = 0, json = 0, use_vae = 0, c;
    sidr_rqvae_opts vo;
    sidr_rqvae_defaults(&vo);
    optind = 1;
    while ((c = getopt_long(argc, argv, "+", build_opts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'C': category = optarg; break;
        case 'o': out = optarg; break;
        case 'L': if (parse_int(optarg, 1, 7, &levels)) return usage_error("sids build", "--levels expects an integer in [1, 7]"); break;
        case 'K': if (parse_int(optarg, 2, 65536, &codes)) return usage_error("sids build", "--codes expects an integer in [2, 65536]"); break;
        case 'D': if (parse_int(optarg, 1, 4096, &dim)) return usage_error("sids build", "--dim expects an integer in [1, 4096]"); break;
        case 's': if (parse_int(optarg, 0, 0x7fffffffL, &seed)) return usage_error("sids build", "--seed expects a non-negative integer"); break;
        case 'i': if (parse_int(optarg, 1, 10000, &iters)) return usage_error("sids build", "--iters expects an integer in [1, 10000]"); break;
        case 'w': if (parse_int(optarg, 1, 1000, &window)) return usage_error("sids build", "--cooc-window expects an integer in [1, 1000]"); break;
        case 'e': if (parse_float(optarg, 1e-6, 100, &eps)) return usage_error("sids build", "--sinkhorn-eps expects a number in (0, 100]"); break;
        case 'c': if (parse_float(optarg, 0, 1, &cooc)) return usage_error("sids build", "--cooc expects a weight in [0, 1]"); break;
        case 't': if (parse_float(optarg, 0.01, 100, &title_w)) return usage_error("sids build", "--title-weight expects a number in [0.01, 100]"); break;
        case 'b':
            if (!strcmp(optarg, "sinkhorn")) balance = SIDR_BALANCE_SINKHORN;
            else if (!strcmp(optarg, "none")) balance = SIDR_BALANCE_NONE;
            else if (!strcmp(optarg, "groups")) balance = SIDR_BALANCE_GROUPS;
            else return usage_error("sids build", "--balance expects 'sinkhorn', 'groups' or 'none', got '%s'", optarg);
            break;
        case 'M':
            if (!strcmp(optarg, "rqvae")) use_vae = 1;
            else if (!strcmp(optarg, "rqkmeans")) use_vae = 0;
            else return usage_error("sids build", "--method expects 'rqkmeans' or 'rqvae', got '%s'", optarg);
            break;
        case 'E': {
            long v;
            if (parse_int(optarg, 1, 1000000, &v)) return usage_error("sids build", "--epochs expects an integer in [1, 1000000]");
            vo.epochs = (int)v;
            break;
        }
        case 'B': {
            long v;
            if (parse_int(optarg, 1, 1 << 20, &v)) return usage_error("sids build", "--batch expects an integer in [1, 1048576]");
            vo.batch = (int)v;
            break;
        }
        case 'Z': {
            long v;
            if (parse_int(optarg, 1, 4096, &v)) return usage_error("sids build", "--latent expects an integer in [1, 4096]");
            vo.latent = (int)v;
            break;
        }
        case 'H': {
            int nh = 0;
            for (const char *p = optarg; *p; nh++) {
                char *end;
                errno = 0;
                long v = strtol(p, &end, 10);
                if (end == p || errno || v < 1 || v > 65536 || (*end && *end != ',') || nh == SIDR_RQVAE_MAX_HIDDEN)
                    return usage_error("sids build", "--hidden expects 1 to %d comma-separated sizes in [1, 65536], "
                                       "got '%s'", SIDR_RQVAE_MAX_HIDDEN, optarg);
                vo.hidden[nh] = (int)v;
                p = *end ? end + 1 : end;
            }
            if (nh == 0) return usage_error("sids build", "--hidden expects at least one size");
            vo.n_hidden = nh;
            break;
        }
        case 'r': if (parse_float(optarg, 1e-7, 10, &vo.lr)) return usage_error("sids build", "--lr expects a number in (0, 10]"); break;
        case 'A': if (parse_float(optarg, 0, 100, &vo.beta)) return usage_error("sids build", "--beta expects a number in [0, 100]"); break;
        case 'R': resolve = 0; break;
        case 'U': dedup = 1; break;
        case 'f': force = 1; break;
        case 'q': quiet = 1; break;
        case 'j': json = 1; break;
        case 'h': build_help(); return EXIT_OK;
        default: return usage_error("sids build", "unknown option");
        }
    }
    if (optind != argc) return usage_error("sids build", "unexpected argument '%s'", argv[optind]);
    if (!(data = resolve_data_dir("sids build", data))) return EXIT_USAGE;
    if (!out) out = data;
    install_interrupt_handler();

    stage_progress ps;
    memset(&ps, 0, sizeof ps);
    ps.quiet = quiet;
    double t0 = now_seconds(), t_load, t_embed, t_rq, t_write;
    sidr_dataset ds;
    memset(&ds, 0, sizeof ds);
    sidr_dataset_opts dopt;
    sidr_dataset_opts_default(&dopt);
    dopt.category = category;
    if (cooc > 0) dopt.derive_train = SIDR_DERIVE_TRAIN_PERIOD;
    if (!quiet) fprintf(stderr, "sidr sids: loading %s\n", data);
    sidr_status s = sidr_dataset_load(&ds, data, &dopt);
    if (s) return runtime_error("sids build", s);
    session_print_warnings(&ds, "sids build");
    t_load = now_seconds();
    int rc = EXIT_OK;
    sidr_item_text *txt = NULL;
    sidr_item_seq *seqs = NULL;
    int n_seqs = 0;
    sidr_embed_result er;
    sidr_rq_result rr;
    memset(&er, 0, sizeof er);
    memset(&rr, 0, sizeof rr);
    sidr_rqvae_result vr;
    memset(&vr, 0, sizeof vr);
    char **sid = NULL;
    char *p_index = NULL, *p_items = NULL, *p_info = NULL, *p_cb = NULL, *p_split[SIDR_SPLIT_COUNT] = {0};
    char *info_name = NULL, *dir_index = NULL, *dir_info = NULL;
    const int n = ds.n_items;
    if (n < 2) {
        rc = runtime_error("sids build", sidr_fail(SIDR_ERR_MISSING, "%s: %d items (expected at least 2)", data, n));
        goto out;
    }
    if (codes > n) {
        rc = usage_error("sids build", "--codes %ld exceeds the %d items of %s (k-means needs at least K items)",
                         codes, n, data);
        goto out;
    }

    /* output paths; refuse to overwrite without --force */
    dir_index = path_join(out, "index");
    dir_info = path_join(out, "info");
    {
        size_t ln = strlen(ds.name) + 32;
        char *nm = xmalloc(ln);
        snprintf(nm, ln, "%s.index.json", ds.name);
        p_index = path_join(dir_index, nm);
        snprintf(nm, ln, "%s.item.json", ds.name);
        p_items = path_join(dir_index, nm);
        snprintf(nm, ln, "%s.codebooks.safetensors", ds.name);
        p_cb = path_join(dir_index, nm);
        info_name = find_named(data, "info", ds.name, ".txt");
        if (!info_name) {
            snprintf(nm, ln, "%s.txt", ds.name);
            info_name = xstrdup(nm);
        }
        p_info = path_join(dir_info, info_name);
        for (int sp = 0; sp < SIDR_SPLIT_COUNT; sp++) {
            const sidr_split *x = &ds.split[sp];
            /* rows derived from valid histories are rebuilt on load; the splits of a
             * plain <name>.inter are written when OUT is a new folder, so that it is
             * a complete dataset */
            if (!x->present || (x->derived && !(x->path && ds.layout == SIDR_LAYOUT_RECBOLE && strcmp(out, data))))
                continue;
            char *d = path_join(out, sidr_split_name(sp));
            const char *base = NULL;
            if (x->path && ds.layout == SIDR_LAYOUT_MINIONEREC) {
                base = strrchr(x->path, '/');
                base = base ? base + 1 : x->path;
            }
            if (base) {
                p_split[sp] = path_join(d, base);
            } else {
                snprintf(nm, ln, "%s.csv", ds.name);
                p_split[sp] = path_join(d, nm);
            }
            free(d);
        }
        free(nm);
        const char *targets[3 + SIDR_SPLIT_COUNT] = { p_index, p_info, p_items };
        for (int sp = 0; sp < SIDR_SPLIT_COUNT; sp++) targets[3 + sp] = p_split[sp];
        for (int k = 0; k < 3 + SIDR_SPLIT_COUNT && !force; k++)
            if (targets[k] && file_exists(targets[k])) {
                rc = usage_error("sids build", "%s exists; pass --out DIR to write the new dataset elsewhere, "
                                 "or --force to overwrite", targets[k]);
                goto out;
            }
    }

    /* embeddings */
    txt = xcalloc((size_t)n, sizeof *txt);
    int no_text = 0;
    for (int i = 0; i < n; i++) {
        const sidr_item *it = &ds.items[i];
        txt[i] = (sidr_item_text){ it->title, it->description, it->brand, it->categories };
        if (!it->title[0] && !it->description[0] && !it->brand[0] && !it->categories[0]) no_text++;
    }
    if (no_text == n) {
        /* name the files the text comes from, and whether they are there */
        char msg[1200];
        if (ds.layout == SIDR_LAYOUT_RECBOLE) {
            size_t ln = strlen(ds.name) + 16;
            char *nm = xmalloc(ln);
            snprintf(nm, ln, "%s.text", ds.name);
            char *pt = path_join(ds.dir, nm);
            snprintf(nm, ln, "%s.item", ds.name);
            char *pi = path_join(ds.dir, nm);
            int ht = file_exists(pt), hi = file_exists(pi);
            if (!ht && !hi)
                snprintf(msg, sizeof msg, "%s: none of the %d items has a title or text: neither %s.text "
                         "(item_id:token<TAB>text:token_seq) nor %s.item (item_id:token<TAB>title:token_seq...) "
                         "is there; expected one of them beside the .inter files", ds.dir, n, ds.name, ds.name);
            else
                snprintf(msg, sizeof msg, "%s: none of the %d items has a title or text: %s%s%s holds no text for "
                         "them (expected a non-empty text or title field per item id)", ds.dir, n,
                         ht ? pt : "", ht && hi ? " and " : "", hi ? pi : "");
            free(nm);
            free(pt);
            free(pi);
        } else {
            snprintf(msg, sizeof msg, "%s: none of the %d items has a title or text: expected titles in "
                     "index/%s.item.json or info/%s*.txt (field 'title')", ds.dir, n, ds.name, ds.name);
        }
        rc = runtime_error("sids build", sidr_fail(SIDR_ERR_MISSING, "%s", msg));
        goto out;
    }
    if (cooc > 0) {
        const sidr_split *tr = &ds.split[SIDR_SPLIT_TRAIN];
        if (!tr->present || tr->n == 0) {
            rc = runtime_error("sids build", sidr_fail(SIDR_ERR_MISSING, "%s: --cooc needs training histories, "
                                                       "but the dataset has no train split", data));
            goto out;
        }
        /* each train sample is a window (history..., target): count the pairs with its target */
        seqs = xmalloc((size_t)tr->n * sizeof *seqs);
        int *flat = xmalloc((size_t)tr->n * (SIDR_MAX_HISTORY + 1) * sizeof *flat);
        for (int r = 0; r < tr->n; r++) {
            int *f = flat + (size_t)r * (SIDR_MAX_HISTORY + 1);
            memcpy(f, tr->rows[r].hist, (size_t)tr->rows[r].n_hist * sizeof *f);
            f[tr->rows[r].n_hist] = tr->rows[r].target;
            seqs[n_seqs++] = (sidr_item_seq){ f, tr->rows[r].n_hist + 1 };
        }
    }
    sidr_embed_opts eo;
    sidr_embed_defaults(&eo);
    eo.dim = (int)dim;
    eo.seed = (uint64_t)seed;
    eo.title_weight = (float)title_w;
    eo.cooc_weight = (float)cooc;
    eo.cooc_window = (int)window;
    eo.cooc_anchor_last = 1;
    eo.progress = progress_fn;
    eo.user = &ps;
    if (!quiet)
        fprintf(stderr, "sidr sids: %s: %d items (%d without text); embedding in %ld dims%s\n", ds.name, n, no_text,
                dim, cooc > 0 ? " (text + co-occurrence)" : " (text)");
    s = sidr_item_embed(txt, n, seqs, n_seqs, &eo, &er);
    if (seqs) free((void *)seqs[0].items);
    progress_close(&ps);
    if (s) {
        rc = runtime_error("sids build", s);
        goto out;
    }
    t_embed = now_seconds();
    if (!quiet)
    {
        fprintf(stderr, "sidr sids: vocabulary %d terms (of %d seen), %lld non-zeros; %d dims%s\n", er.vocab,
                er.vocab_seen, (long long)er.nnz, er.dim, er.dim_clamped ? " (clamped to min(items, terms))" : "");
        if (er.dim_cooc)
            fprintf(stderr, "sidr sids: co-occurrence from %d training windows%s: %d of %d items, %lld PPMI non-zeros\n",
                    n_seqs, ds.split[SIDR_SPLIT_TRAIN].derived ? " (derived from the train-period histories)" : "", er.cooc_items,
                    n, (long long)er.cooc_nnz);
    }

    /* quantisation */
    sidr_rq_opts ro;
    sidr_rq_defaults(&ro);
    ro.levels = (int)levels;
    ro.codes = (int)codes;
    ro.iters = (int)iters;
    ro.seed = (uint64_t)seed;
    ro.balance = (sidr_balance)balance;
    ro.sinkhorn_eps = (float)eps;
    ro.resolve = resolve;
    ro.dedup_level = dedup;
    ro.progress = progress_fn;
    ro.user = &ps;
    if (use_vae) {
        vae_progress vp = { .quiet = quiet, .started = !quiet };
        if (!quiet) progress_start(&vp.bar, "sidr sids: rq-vae training", vo.epochs, "epochs");
        vo.rq = ro;
        vo.seed = (uint64_t)seed;
        vo.progress = vae_progress_fn;
        vo.user = &vp;
        if (!quiet) {
            int h[SIDR_RQVAE_MAX_HIDDEN], nh = vo.n_hidden;
            if (nh) memcpy(h, vo.hidden, sizeof h);
            else nh = sidr_rqvae_default_hidden(er.dim, vo.latent, h);
            fprintf(stderr, "sidr sids: RQ-VAE %d", er.dim);
            for (int k = 0; k < nh; k++) fprintf(stderr, "-%d", h[k]);
            fprintf(stderr, "-%d, %ld x %ld codes; %d epochs, batch %d, lr %g, beta %g\n", vo.latent, levels, codes,
                    vo.epochs, vo.batch, vo.lr, vo.beta);
        }
        s = sidr_rqvae_build(er.emb, n, er.dim, &vo, &vr);
        if (vp.started) progress_end(&vp.bar, vp.done, vp.note);
    } else {
        s = sidr_rq_build(er.emb, n, er.dim, &ro, &rr);
    }
    progress_close(&ps);
    if (s) {
        rc = runtime_error("sids build", s);
        goto out;
    }
    const sidr_rq_result *q = use_vae ? &vr.rq : &rr;
    t_rq = now_seconds();
    /* code statistics, for either quantiser */
    sidr_sid_stats qs;
    int kpl[SIDR_SID_MAX_LEVELS] = { 0 };
    for (int l = 0; l < q->levels; l++) kpl[l] = q->codes;
    sidr_sid_stats_compute(q->code, n, q->depth, kpl, &qs);
    /* reconstruction of the embeddings: the residual after the last level for
     * k-means, the decoder's output for the RQ-VAE */
    double recon = use_vae ? vr.recon_mse : rr.level_mse[rr.levels];
    double baseline = use_vae ? vr.baseline_mse : sidr_mean_baseline_mse(er.emb, n, er.dim);
    if (!quiet) {
        fprintf(stderr, "sidr sids: codes used per level:");
        for (int l = 0; l < q->levels; l++) fprintf(stderr, " %c %d/%d", 'a' + l, qs.used[l], q->codes);
        fprintf(stderr, "\nsidr sids: collisions (SIDs shared by >1 item): %d plain (%d items)", q->collisions_plain,
                q->items_colliding_plain);
        if (balance != SIDR_BALANCE_NONE) fprintf(stderr, ", %d balanced", q->collisions_balanced);
        if (resolve) fprintf(stderr, ", %d after re-assignment (%d items moved)", q->collisions_final, q->moved);
        fprintf(stderr, "\nsidr sids: quantisation error (mean squared residual%s): %.4f before, %.4f after %d levels\n",
                use_vae ? " in the latent" : "", q->level_mse[0], q->level_mse[q->levels], q->levels);
        fprintf(stderr, "sidr sids: reconstruction error of the embeddings (mean squared): %.4f; mean-vector "
                "baseline %.4f\n", recon, baseline);
        if (use_vae)
            fprintf(stderr, "sidr sids: RQ-VAE: %ld steps, loss %.5f -> %.5f, kept epoch %d (plain collision rate "
                    "%.4f), %d dead codes restarted\n", vr.steps, vr.epoch_loss[0], vr.epoch_loss[vr.epochs - 1],
                    vr.best_epoch, vr.best_collision_rate, vr.revived);
    }

    /* SID strings and files */
    sid = xcalloc((size_t)n, sizeof *sid);
    for (int i = 0; i < n; i++) {
        size_t cap = (size_t)q->depth * 16 + 1, k = 0;
        sid[i] = xmalloc(cap);
        for (int l = 0; l < q->depth; l++) {
            char t[32];
            sid_token(t, sizeof t, l, q->code[(size_t)i * q->depth + l]);
            memcpy(sid[i] + k, t, strlen(t));
            k += strlen(t);
        }
        sid[i][k] = 0;
    }
    char method[160];
    snprintf(method, sizeof method, "%s%s%s%s", use_vae ? "rq-vae" : "rq-kmeans", balance == SIDR_BALANCE_SINKHORN ? "+sinkhorn" : balance == SIDR_BALANCE_GROUPS ? "+sinkhorn-groups" : "",
             resolve ? "+prefix-reassign" : "", dedup ? "+dedup-level" : "");
    if ((s = make_dirs(dir_index)) || (s = make_dirs(dir_info)) || (s = write_index(p_index, &ds, q)) ||
        (s = write_item_json(p_items, &ds)) || (s = write_info(p_info, &ds, sid)) ||
        (s = write_codebooks(p_cb, &ds, q, &er, &ro, method, use_vae ? &vr : NULL))) {
        rc = runtime_error("sids build", s);
        goto out;
    }
    for (int sp = 0; sp < SIDR_SPLIT_COUNT; sp++) {
        if (!p_split[sp]) continue;
        char *d = path_join(out, sidr_split_name(sp));
        s = make_dirs(d);
        free(d);
        if (s || (s = write_split(p_split[sp], &ds, &ds.split[sp], sid))) {
            rc = runtime_error("sids build", s);
            goto out;
        }
    }
    t_write = now_seconds();
    if (!quiet) {
        fprintf(stderr, "sidr sids: wrote %s, %s, %s, %s", p_index, p_items, p_info, p_cb);
        for (int sp = 0; sp < SIDR_SPLIT_COUNT; sp++)
            if (p_split[sp]) fprintf(stderr, ", %s", p_split[sp]);
        fprintf(stderr, "\nsidr sids: %.2fs (load %.2fs, embed %.2fs, quantise %.2fs, write %.2fs)\n", t_write - t0,
                t_load - t0, t_embed - t_load, t_rq - t_embed, t_write - t_rq);
    }
    if (json) {
        printf("{\"dataset\":");
        json_str(stdout, ds.name);
        printf(",\"items\":%d,\"items_without_text\":%d,\"levels\":%d,\"codes\":%d,\"depth\":%d,\"dim\":%d,"
               "\"dim_text\":%d,\"dim_cooc\":%d,\"cooc_items\":%d,\"seed\":%ld,\"method\":",
               n, no_text, q->levels, q->codes, q->depth, q->dim, er.dim_text, er.dim_cooc, er.cooc_items, seed);
        json_str(stdout, method);
        printf(",\"vocab\":%d,\"tfidf_nnz\":%lld,\"level_mse\":[", er.vocab, (long long)er.nnz);
        for (int l = 0; l <= q->levels; l++) {
            if (l) putchar(',');
            json_float(stdout, (float)q->level_mse[l]);
        }
        printf("],\"collisions\":{\"plain\":%d,\"balanced\":%d,\"final\":%d,\"items_plain\":%d,\"items_final\":%d,"
               "\"moved\":%d},\"dedup_codes\":%d",
               q->collisions_plain, q->collisions_balanced, q->collisions_final, q->items_colliding_plain,
               q->items_colliding_final, q->moved, q->dedup_codes);
        printf(",\"codes_used\":[");
        for (int l = 0; l < q->levels; l++) printf("%s%d", l ? "," : "", qs.used[l]);
        printf("],\"entropy_bits\":[");
        for (int l = 0; l < q->levels; l++) printf("%s%.4f", l ? "," : "", qs.entropy[l]);
        printf("],\"quantisation_mse\":");
        json_float(stdout, (float)q->level_mse[q->levels]);
        printf(",\"reconstruction_mse\":");
        json_float(stdout, (float)recon);
        printf(",\"baseline_mse\":");
        json_float(stdout, (float)baseline);
        if (use_vae) {
            const sidr_rqvae *vm = &vr.model;
            printf(",\"rqvae\":{\"layers\":[");
            for (int k = 0; k <= vm->n_layers; k++) printf("%s%d", k ? "," : "", vm->dims[k]);
            printf("],\"epochs\":%d,\"batch\":%d,\"lr\":%g,\"beta\":%g,\"steps\":%ld,\"kept_epoch\":%d,"
                   "\"plain_collision_rate\":%.6f,\"dead_codes_restarted\":%d,\"loss\":[", vr.epochs, vo.batch, vo.lr,
                   vo.beta, vr.steps, vr.best_epoch, vr.best_collision_rate, vr.revived);
            for (int e = 0; e < vr.epochs; e++) {
                if (e) putchar(',');
                json_float(stdout, (float)vr.epoch_loss[e]);
            }
            printf("],\"recon_loss\":[");
            for (int e = 0; e < vr.epochs; e++) {
                if (e) putchar(',');
                json_float(stdout, (float)vr.epoch_recon[e]);
            }
            printf("]}");
        }
        printf(",\"files\":{\"index\":");
        json_str(stdout, p_index);
        printf(",\"items\":");
        json_str(stdout, p_items);
        printf(",\"info\":");
        json_str(stdout, p_info);
        printf(",\"codebooks\":");
        json_str(stdout, p_cb);
        for (int sp = 0; sp < SIDR_SPLIT_COUNT; sp++)
            if (p_split[sp]) {
                printf(",\"%s\":", sidr_split_name(sp));
                json_str(stdout, p_split[sp]);
            }
        printf("},\"seconds\":{\"load\":%.3f,\"embed\":%.3f,\"quantise\":%.3f,\"write\":%.3f,\"total\":%.3f}}\n",
               t_load - t0, t_embed - t_load, t_rq - t_embed, t_write - t_rq, t_write - t0);
    }
out:
    if (sid)
        for (int i = 0; i < n; i++) free(sid[i]);
    free(sid);
    free(txt);
    free(seqs);
    sidr_embed_free(&er);
    sidr_rq_free(&rr);
    sidr_rqvae_result_free(&vr);
    free(p_index);
    free(p_items);
    free(p_info);
    free(p_cb);
    for (int sp = 0; sp < SIDR_SPLIT_COUNT; sp++) free(p_split[sp]);
    free(info_name);
    free(dir_index);
    free(dir_info);
    sidr_dataset_free(&ds);
    return rc;
}

/* ---- sids stats ---------------------------------------------------------------- */

static const struct option stats_opts[] = {
    { "data", required_argument, NULL, 'd' },
    { "category", required_argument, NULL, 'C' },
    { "codes", required_argument, NULL, 'K' },
    { "json", no_argument, NULL, 'j' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

static int cmd_sids_stats(int argc, char **argv)
{
    const char *data = NULL, *category = NULL;
    long codes_flag = 0;
    int json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+", stats_opts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'C': category = optarg; break;
        case 'K': if (parse_int(optarg, 1, 65536, &codes_flag)) return usage_error("sids stats", "--codes expects an integer in [1, 65536]"); break;
        case 'j': json = 1; break;
        case 'h':
            printf("usage: sidr sids stats --data DIR [--category CAT] [--codes K] [--json]\n"
                   "Statistics of the dataset's SIDs (from index/*.index.json or sidr sids build): items,\n"
                   "distinct SIDs, codes used per level (of K), entropy per level (bits) and its maximum\n"
                   "log2 K, items per prefix (mean / max for a, ab, ...), collisions (SIDs shared by more\n"
                   "than one item, items involved, most items on one SID).  K comes from --codes, else the\n"
                   "codebooks written by sids build, else the smallest power of two above the largest code.\n");
            return EXIT_OK;
        default: return usage_error("sids stats", "unknown option");
        }
    }
    if (optind != argc) return usage_error("sids stats", "unexpected argument '%s'", argv[optind]);
    if (!(data = resolve_data_dir("sids stats", data))) return EXIT_USAGE;
    sidr_dataset ds;
    sidr_dataset_opts dopt;
    sidr_dataset_opts_default(&dopt);
    dopt.category = category;
    sidr_status s = sidr_dataset_load(&ds, data, &dopt);
    if (s) return runtime_error("sids stats", s);
    session_print_warnings(&ds, "sids stats");
    int rc = EXIT_OK;
    int32_t *code = NULL;
    if (!ds.sid_levels || !ds.n_items_with_sid) {
        rc = runtime_error("sids stats", sidr_fail(SIDR_ERR_MISSING, "%s: the dataset has no SIDs (expected "
                                                   "index/<Cat>.index.json or info/*.txt); run 'sidr sids build'", data));
        goto out;
    }
    const int L = ds.sid_levels;
    int K[SIDR_SID_MAX_LEVELS] = { 0 };
    const char *k_source = "inferred";
    if (codes_flag > 0) {
        for (int l = 0; l < L; l++) K[l] = (int)codes_flag;
        k_source = "--codes";
    } else {
        /* codebooks written by sids build next to the index */
        char nm[512];
        snprintf(nm, sizeof nm, "index/%s.codebooks.safetensors", ds.name);
        char *p = path_join(data, nm);
        if (file_exists(p)) {
            sidr_safetensors st;
            memset(&st, 0, sizeof st);
            if (sidr_st_open_file(&st, p) == SIDR_OK) {
                for (int l = 0; l < L; l++) {
                    char tn[32];
                    snprintf(tn, sizeof tn, "codebook.%d", l);
                    const sidr_tensor *t = sidr_st_find(&st, tn);
                    if (t && t->ndim == 2) K[l] = (int)t->shape[0];
                }
                sidr_st_close(&st);
                k_source = "codebooks";
            }
        }
        free(p);
    }
    int n = 0;
    code = xmalloc((size_t)ds.n_items * L * sizeof *code);
    for (int i = 0; i < ds.n_items; i++) {
        if (ds.items[i].n_levels != L) continue;
        for (int l = 0; l < L; l++) code[(size_t)n * L + l] = ds.items[i].code[l];
        n++;
    }
    sidr_sid_stats st;
    if ((s = sidr_sid_stats_compute(code, n, L, K, &st))) {
        rc = runtime_error("sids stats", s);
        goto out;
    }
    if (json) {
        printf("{\"dataset\":");
        json_str(stdout, ds.name);
        printf(",\"items\":%d,\"items_with_sid\":%d,\"levels\":%d,\"distinct_sids\":%d,\"codes_source\":\"%s\",\"levels_detail\":[",
               ds.n_items, n, L, st.distinct, k_source);
        for (int l = 0; l < L; l++) {
            printf("%s{\"level\":\"%c\",\"codes\":%d,\"used\":%d,\"entropy_bits\":%.4f,\"entropy_max_bits\":%.4f", l ? "," : "",
                   'a' + l, st.codes[l], st.used[l], st.entropy[l], st.entropy_max[l]);
            if (l < L - 1) printf(",\"prefixes\":%d,\"items_per_prefix_mean\":%.4f,\"items_per_prefix_max\":%d",
                                  st.prefixes[l], st.prefix_mean[l], st.prefix_max[l]);
            putchar('}');
        }
        printf("],\"collisions\":{\"sids_shared\":%d,\"items_involved\":%d,\"max_items_per_sid\":%d}}\n",
               st.collisions, st.items_colliding, st.max_per_sid);
    } else {
        printf("dataset      %s (%s, %s)\n", ds.name, sidr_layout_name(ds.layout), data);
        printf("items        %d with a %d-level SID", n, L);
        if (n != ds.n_items) printf(" (%d without)", ds.n_items - n);
        printf("\ndistinct     %d SIDs\n", st.distinct);
        printf("collisions   %d SIDs shared by >1 item, %d items involved, at most %d items on one SID\n",
               st.collisions, st.items_colliding, st.max_per_sid);
        printf("\nlevel  codes used  entropy bits (max)  prefix  prefixes  items/prefix mean  max\n");
        for (int l = 0; l < L; l++) {
            char pre[SIDR_SID_MAX_LEVELS + 1];
            for (int k = 0; k <= l; k++) pre[k] = (char)('a' + k);
            pre[l + 1] = 0;
            printf("%-5c  %4d / %-4d  %6.3f (%6.3f)     ", 'a' + l, st.used[l], st.codes[l], st.entropy[l],
                   st.entropy_max[l]);
            if (l < L - 1) printf("%-6s  %8d  %17.2f  %3d\n", pre, st.prefixes[l], st.prefix_mean[l], st.prefix_max[l]);
            else printf("%-6s  %8d  %17.2f  %3d\n", pre, st.distinct, n ? (double)n / st.distinct : 0.0, st.max_per_sid);
        }
        printf("\n(K per level: %s)\n", k_source);
    }
out:
    free(code);
    sidr_dataset_free(&ds);
    return rc;
}

/* ---- dispatch -------------------------------------------------------------------- */

int cmd_sids(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        FILE *f = argc < 2 ? stderr : stdout;
        fprintf(f, "usage: sidr sids build --data DIR [--levels L] [--codes K] [--dim D] [--seed S] [--out DIR] [--json]\n"
                   "       sidr sids stats --data DIR [--json]\n"
                   "'sidr sids build --help' and 'sidr sids stats --help' list the options.\n");
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    if (!strcmp(argv[1], "build")) return cmd_sids_build(argc - 1, argv + 1);
    if (!strcmp(argv[1], "stats")) return cmd_sids_stats(argc - 1, argv + 1);
    return usage_error("sids", "unknown subcommand '%s' (expected build or stats)", argv[1]);
}
