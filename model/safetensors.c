#include "safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

static const struct { const char *name; size_t size; } dtypes[SIDR_DTYPE_COUNT] = {
    [SIDR_F32] = { "F32", 4 }, [SIDR_BF16] = { "BF16", 2 }, [SIDR_F16] = { "F16", 2 },
    [SIDR_I32] = { "I32", 4 }, [SIDR_I64] = { "I64", 8 },   [SIDR_U8] = { "U8", 1 },
};

const char *sidr_dtype_name(sidr_dtype d) { return d < SIDR_DTYPE_COUNT ? dtypes[d].name : "?"; }
size_t sidr_dtype_size(sidr_dtype d) { return d < SIDR_DTYPE_COUNT ? dtypes[d].size : 0; }

static int parse_dtype(const char *s, sidr_dtype *out)
{
    for (int i = 0; i < SIDR_DTYPE_COUNT; i++)
        if (!strcmp(s, dtypes[i].name)) { *out = (sidr_dtype)i; return 1; }
    return 0;
}

float sidr_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 31, man = h & 1023, u;
    if (exp == 0) {
        if (man == 0) u = sign;
        else { /* subnormal: renormalise */
            exp = 113;
            while (!(man & 1024)) { man <<= 1; exp--; }
            u = sign | exp << 23 | (man & 1023) << 13;
        }
    } else if (exp == 31) u = sign | 0x7f800000 | man << 13;
    else u = sign | (exp + 112) << 23 | man << 13;
    union { uint32_t u; float f; } v = { .u = u };
    return v.f;
}

uint16_t sidr_f32_to_f16(float f)
{
    union { uint32_t u; float f; } v = { .f = f };
    uint32_t u = v.u, sign = (u >> 16) & 0x8000;
    int32_t exp = (int32_t)((u >> 23) & 255) - 127 + 15;
    uint32_t man = u & 0x7fffff;
    if (((u >> 23) & 255) == 255) return (uint16_t)(sign | 0x7c00 | (man ? 0x200 : 0));
    if (exp >= 31) return (uint16_t)(sign | 0x7c00);
    if (exp <= 0) {
        if (exp < -10) return (uint16_t)sign;
        man |= 0x800000;
        uint32_t shift = (uint32_t)(14 - exp);
        uint32_t half = man >> shift, rem = man & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t out = sign | (uint32_t)exp << 10 | man >> 13, rem = man & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (out & 1))) out++;
    return (uint16_t)out;
}

int64_t sidr_tensor_numel(const sidr_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

void sidr_tensor_to_f32(const sidr_tensor *t, size_t first, size_t n, float *out)
{
    const uint16_t *h = (const uint16_t *)t->data + first;
    switch (t->dtype) {
    case SIDR_F32: memcpy(out, (const float *)t->data + first, n * sizeof(float)); break;
    case SIDR_BF16: for (size_t i = 0; i < n; i++) out[i] = sidr_bf16_to_f32(h[i]); break;
    case SIDR_F16: for (size_t i = 0; i < n; i++) out[i] = sidr_f16_to_f32(h[i]); break;
    case SIDR_I32: for (size_t i = 0; i < n; i++) out[i] = (float)((const int32_t *)t->data)[first + i]; break;
    case SIDR_I64: for (size_t i = 0; i < n; i++) out[i] = (float)((const int64_t *)t->data)[first + i]; break;
    default: memset(out, 0, n * sizeof(float)); break;
    }
}

static int by_offset(const void *a, const void *b)
{
    const sidr_tensor *x = a, *y = b;
    return x->data < y->data ? -1 : x->data > y->data;
}

/* The tensors of one file must tile its data area exactly, as the
 * safetensors format requires: no overlaps, no gaps, nothing left over. */
static sidr_status check_coverage(sidr_safetensors *st, int first, const char *path,
                                  const unsigned char *data, size_t data_len)
{
    int n = st->n_tensors - first;
    sidr_tensor *sorted = xmalloc((size_t)(n ? n : 1) * sizeof *sorted);
    memcpy(sorted, st->tensors + first, (size_t)n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, by_offset);
    size_t expect = 0;
    sidr_status s = SIDR_OK;
    for (int i = 0; i < n && !s; i++) {
        size_t begin = (size_t)((const unsigned char *)sorted[i].data - data);
        if (begin < expect)
            s = sidr_fail(SIDR_ERR_FORMAT, "%s: tensor '%s' (data_offsets [%zu, %zu]) overlaps tensor '%s' "
                          "(data_offsets [%zu, %zu]); data_offsets must tile the data area without overlaps",
                          path, sorted[i].name, begin, begin + sorted[i].nbytes, sorted[i - 1].name,
                          (size_t)((const unsigned char *)sorted[i - 1].data - data), expect);
        else if (begin > expect) {
            if (i)
                s = sidr_fail(SIDR_ERR_FORMAT, "%s: bytes [%zu, %zu) between tensor '%s' and tensor '%s' belong to no "
                              "tensor (is an entry missing from the header?); data_offsets must tile the data area "
                              "without gaps", path, expect, begin, sorted[i - 1].name, sorted[i].name);
            else
                s = sidr_fail(SIDR_ERR_FORMAT, "%s: bytes [0, %zu) before tensor '%s' belong to no tensor (is an entry "
                              "missing from the header?); data_offsets must tile the data area without gaps",
                              path, begin, sorted[i].name);
        }
        expect = begin + sorted[i].nbytes;
    }
    if (!s && expect != data_len) {
        if (n)
            s = sidr_fail(SIDR_ERR_FORMAT, "%s: the last %zu bytes of the %zu-byte data area, after tensor '%s', belong "
                          "to no tensor (is an entry missing from the header?)", path, data_len - expect, data_len,
                          sorted[n - 1].name);
        else
            s = sidr_fail(SIDR_ERR_FORMAT, "%s: the header lists no tensor but the data area holds %zu bytes", path,
                          data_len);
    }
    free(sorted);
    return s;
}

/* An exact non-negative integer (a JSON number without a fraction, within
 * what a double holds exactly). */
static int whole_number(const cJSON *v, double max)
{
    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= max &&
           v->valuedouble == (double)(uint64_t)v->valuedouble;
}

/* Parses the JSON header of a mapped file and appends its tensors. */
static sidr_status parse_header(sidr_safetensors *st, const sidr_st_file *f)
{
    const unsigned char *base = f->map;
    if (f->map_len < 8)
        return sidr_fail(SIDR_ERR_FORMAT, "%s: file is %zu bytes, too short for a safetensors header",
                         f->path, f->map_len);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | base[i];
    if (hlen > f->map_len - 8)
        return sidr_fail(SIDR_ERR_FORMAT, "%s: header length %llu runs past the end of the file (%zu bytes); "
                         "the file is truncated or not safetensors", f->path, (unsigned long long)hlen, f->map_len);
    if (hlen > 100u << 20)
        return sidr_fail(SIDR_ERR_FORMAT, "%s: header length %llu is implausibly large", f->path,
                         (unsigned long long)hlen);
    if (hlen == 0)
        return sidr_fail(SIDR_ERR_FORMAT, "%s: header length is 0 (expected the byte length of a JSON object "
                         "describing the tensors)", f->path);
    const char *hdr = (const char *)base + 8, *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(hdr, hlen, &end, 0);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return sidr_fail(SIDR_ERR_FORMAT, "%s: header is not a JSON object (parse error near byte %ld of the "
                         "%llu-byte header)", f->path, end ? (long)(end - hdr) : 0L, (unsigned long long)hlen);
    }
    /* As the reference implementation: only whitespace may pad the JSON. */
    for (const char *q = end; q < hdr + hlen; q++)
        if (*q != ' ' && *q != '\t' && *q != '\n' && *q != '\r') {
            cJSON_Delete(root);
            if (*q == 0)
                return sidr_fail(SIDR_ERR_FORMAT, "%s: header pads its JSON with NUL bytes (from byte %ld of the "
                                 "%llu-byte header); safetensors allows only spaces after the JSON", f->path,
                                 (long)(q - hdr), (unsigned long long)hlen);
            return sidr_fail(SIDR_ERR_FORMAT, "%s: header has bytes after its JSON object (from byte %ld of the "
                             "%llu-byte header); safetensors allows only spaces after the JSON", f->path,
                             (long)(q - hdr), (unsigned long long)hlen);
        }
    size_t data_len = f->map_len - 8 - hlen;
    int first = st->n_tensors;
    const unsigned char *data = base + 8 + hlen;
    sidr_status s = SIDR_OK;
    int n = cJSON_GetArraySize(root);
    st->tensors = xrealloc(st->tensors, (st->n_tensors + n) * sizeof *st->tensors);
    for (cJSON *e = root->child; e; e = e->next) {
        if (!strcmp(e->string, "__metadata__")) {
            if (!cJSON_IsObject(e)) {
                s = sidr_fail(SIDR_ERR_FORMAT, "%s: __metadata__ must be an object of strings", f->path);
                break;
            }
            for (const cJSON *m = e->child; m && !s; m = m->next)
                if (!cJSON_IsString(m))
                    s = sidr_fail(SIDR_ERR_FORMAT, "%s: __metadata__ value '%s' is not a string (safetensors "
                                  "metadata maps strings to strings)", f->path, m->string);
            if (s) break;
            continue;
        }
        for (int k = first; k < st->n_tensors && !s; k++)
            if (!strcmp(st->tensors[k].name, e->string))
                s = sidr_fail(SIDR_ERR_FORMAT, "%s: tensor '%s' is listed twice in the header", f->path, e->string);
        if (s) break;
        const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
        const cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
        const cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
        sidr_tensor t = { 0 };
        if (!cJSON_IsString(dt) || !cJSON_IsArray(shape) || !cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2) {
            s = sidr_fail(SIDR_ERR_FORMAT, "%s: tensor '%s': expected fields dtype (string), shape (list) "
                          "and data_offsets ([begin, end])", f->path, e->string);
            break;
        }
        if (!parse_dtype(dt->valuestring, &t.dtype)) {
            s = sidr_fail(SIDR_ERR_UNSUPPORTED, "%s: tensor '%s': unsupported dtype '%s' (expected F32, BF16, F16, "
                          "I32, I64 or U8)", f->path, e->string, dt->valuestring);
            break;
        }
        t.ndim = cJSON_GetArraySize(shape);
        if (t.ndim > SIDR_MAX_DIMS) {
            s = sidr_fail(SIDR_ERR_UNSUPPORTED, "%s: tensor '%s' has %d dimensions (at most %d supported)",
                          f->path, e->string, t.ndim, SIDR_MAX_DIMS);
            break;
        }
        int i = 0;
        uint64_t numel = 1;
        for (cJSON *d = shape->child; d && !s; d = d->next, i++) {
            if (!cJSON_IsNumber(d) || d->valuedouble != floor(d->valuedouble))
                s = sidr_fail(SIDR_ERR_FORMAT, "%s: tensor '%s': shape[%d] is not an integer (expected a list of "
                              "non-negative integers)", f->path, e->string, i);
            else if (d->valuedouble < 0)
                s = sidr_fail(SIDR_ERR_FORMAT, "%s: tensor '%s': shape[%d] = %.0f is negative (expected a list of "
                              "non-negative integers)", f->path, e->string, i, d->valuedouble);
            /* No dimension can exceed the data it describes; checking the
             * running product against it keeps the count from overflowing. */
            else if (d->valuedouble > (double)data_len + 1 ||
                     (d->valuedouble >= 1 && numel > data_len / (uint64_t)d->valuedouble + 1))
                s = sidr_fail(SIDR_ERR_FORMAT, "%s: tensor '%s': shape[%d] = %.0f makes more elements than the "
                              "%zu-byte data area holds", f->path, e->string, i, d->valuedouble, data_len);
            else {
                t.shape[i] = (int64_t)d->valuedouble;
                numel *= (uint64_t)t.shape[i];
            }
        }
        if (s) break;
        const cJSON *ob = cJSON_GetArrayItem(off, 0), *oe = cJSON_GetArrayItem(off, 1);
        if (!whole_number(ob, 9007199254740992.0) || !whole_number(oe, 9007199254740992.0)) {
            s = sidr_fail(SIDR_ERR_FORMAT, "%s: tensor '%s': data_offsets must be two non-negative integers "
                          "[begin, end]", f->path, e->string);
            break;
        }
        double b = ob->valuedouble, en = oe->valuedouble;
        if (en < b) {
            s = sidr_fail(SIDR_ERR_FORMAT, "%s: tensor '%s': data_offsets [%.0f, %.0f] end before they begin",
                          f->path, e->string, b, en);
            break;
        }
        if (en > (double)data_len) {
            s = sidr_fail(SIDR_ERR_FORMAT, "%s: tensor '%s': data_offsets [%.0f, %.0f] run past the end of the "
                          "data (%zu bytes); the file is truncated", f->path, e->string, b, en, data_len);
            break;
        }
        t.nbytes = (size_t)(en - b);
        if ((uint64_t)sidr_tensor_numel(&t) * sidr_dtype_size(t.dtype) != t.nbytes) {
            s = sidr_fail(SIDR_ERR_FORMAT, "%s: tensor '%s': %zu bytes of data for shape of %lld %s elements",
                          f->path, e->string, t.nbytes, (long long)sidr_tensor_numel(&t), dt->valuestring);
            break;
        }
        t.data = data + (size_t)b;
        if (((uintptr_t)t.data % sidr_dtype_size(t.dtype)) != 0) {
            s = sidr_fail(SIDR_ERR_FORMAT, "%s: tensor '%s' is not aligned to its element size", f->path, e->string);
            break;
        }
        t.name = xstrdup(e->string);
        t.file = f->path;
        st->tensors[st->n_tensors++] = t;
    }
    cJSON_Delete(root);
    if (!s) s = check_coverage(st, first, f->path, data, data_len);
    return s;
}

sidr_status sidr_st_open_file(sidr_safetensors *st, const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) return sidr_fail(SIDR_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        close(fd);
        return sidr_fail(SIDR_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    }
    void *map = NULL;
    if (sb.st_size > 0) {
        /* Shared read-only mapping: weights are paged in on demand, never copied. */
        map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
        if (map == MAP_FAILED) {
            close(fd);
            return sidr_fail(SIDR_ERR_IO, "%s: cannot map: %s", path, strerror(errno));
        }
    }
    close(fd);
    st->files = xrealloc(st->files, (st->n_files + 1) * sizeof *st->files);
    sidr_st_file *f = &st->files[st->n_files++];
    f->path = xstrdup(path);
    f->map = map;
    f->map_len = (size_t)sb.st_size;
    return parse_header(st, f);
}

sidr_status sidr_st_open_dir(sidr_safetensors *st, const char *dir)
{
    memset(st, 0, sizeof *st);
    char *index = path_join(dir, "model.safetensors.index.json");
    sidr_status s = SIDR_OK;
    if (!file_exists(index)) {
        char *single = path_join(dir, "model.safetensors");
        if (!file_exists(single))
            s = sidr_fail(SIDR_ERR_MISSING, "%s: no model.safetensors or model.safetensors.index.json", dir);
        else
            s = sidr_st_open_file(st, single);
        free(single);
        free(index);
        return s;
    }
    char *text;
    if ((s = read_file(index, &text, NULL))) { free(index); return s; }
    cJSON *root = cJSON_Parse(text);
    free(text);
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    if (!cJSON_IsObject(map)) {
        s = sidr_fail(SIDR_ERR_FORMAT, "%s: expected a JSON object with a 'weight_map' object", index);
        goto out;
    }
    /* Open each distinct shard once, in order of first mention. */
    for (const cJSON *e = map->child; e; e = e->next) {
        if (!cJSON_IsString(e)) {
            s = sidr_fail(SIDR_ERR_FORMAT, "%s: weight_map['%s'] must be a file name", index, e->string);
            goto out;
        }
        int seen = 0;
        for (int i = 0; i < st->n_files && !seen; i++) {
            const char *base = strrchr(st->files[i].path, '/');
            seen = !strcmp(base ? base + 1 : st->files[i].path, e->valuestring);
        }
        if (seen) continue;
        if (strchr(e->valuestring, '/')) {
            s = sidr_fail(SIDR_ERR_FORMAT, "%s: shard name '%s' must be a plain file name", index, e->valuestring);
            goto out;
        }
        char *shard = path_join(dir, e->valuestring);
        if (!file_exists(shard))
            s = sidr_fail(SIDR_ERR_MISSING, "%s: shard '%s' listed in weight_map does not exist", index, shard);
        else
            s = sidr_st_open_file(st, shard);
        free(shard);
        if (s) goto out;
    }
out:
    cJSON_Delete(root);
    free(index);
    if (s) sidr_st_close(st);
    return s;
}

void sidr_st_close(sidr_safetensors *st)
{
    for (int i = 0; i < st->n_tensors; i++) free(st->tensors[i].name);
    for (int i = 0; i < st->n_files; i++) {
        if (st->files[i].map) munmap(st->files[i].map, st->files[i].map_len);
        free(st->files[i].path);
    }
    free(st->tensors);
    free(st->files);
    memset(st, 0, sizeof *st);
}

sidr_status sidr_st_check_layers(const sidr_safetensors *st, int n_layers, const char *dir)
{
    int extra = 0, max_layer = -1;
    const char *first = NULL;
    for (int i = 0; i < st->n_tensors; i++) {
        const char *name = st->tensors[i].name, *p = name + 13;
        if (strncmp(name, "model.layers.", 13) || *p < '0' || *p > '9') continue;
        long k = strtol(p, NULL, 10);
        if (k < n_layers) continue;
        if (!first) first = name;
        extra++;
        if (k > max_layer) max_layer = k > 1000000 ? 1000000 : (int)k;
    }
    if (!extra) return SIDR_OK;
    return sidr_fail(SIDR_ERR_SHAPE, "%s: config.json says num_hidden_layers = %d but the weights hold %d tensor%s of "
                     "layers beyond it (such as '%s', up to layer %d); set num_hidden_layers to the layers present",
                     dir, n_layers, extra, extra == 1 ? "" : "s", first, max_layer);
}

const sidr_tensor *sidr_st_find(const sidr_safetensors *st, const char *name)
{
    for (int i = 0; i < st->n_tensors; i++)
        if (!strcmp(st->tensors[i].name, name)) return &st->tensors[i];
    return NULL;
}

static size_t entry_bytes(const sidr_st_entry *e)
{
    size_t numel = 1;
    for (int d = 0; d < e->ndim; d++) numel *= (size_t)e->shape[d];
    return numel * sidr_dtype_size(e->dtype);
}

#define ST_STREAM_CHUNK ((size_t)8 << 20)

sidr_status sidr_st_write_stream(const char *path, const sidr_st_entry *entries, int n,
                                 const char *metadata_json, sidr_st_fill_fn fill, void *user)
{
    cJSON *hdr = cJSON_CreateObject();
    if (metadata_json) {
        cJSON *meta = cJSON_Parse(metadata_json);
        if (!cJSON_IsObject(meta)) {
            cJSON_Delete(meta);
            cJSON_Delete(hdr);
            return sidr_fail(SIDR_ERR_ARG, "%s: metadata must be a JSON object of strings", path);
        }
        cJSON_AddItemToObject(hdr, "__metadata__", meta);
    }
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        const sidr_st_entry *e = &entries[i];
        cJSON *t = cJSON_CreateObject();
        cJSON_AddStringToObject(t, "dtype", sidr_dtype_name(e->dtype));
        cJSON *shape = cJSON_AddArrayToObject(t, "shape");
        for (int d = 0; d < e->ndim; d++) cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)e->shape[d]));
        size_t nb = entry_bytes(e);
        cJSON *offs = cJSON_AddArrayToObject(t, "data_offsets");
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off));
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)(off + nb)));
        off += nb;
        cJSON_AddItemToObject(hdr, e->name, t);
    }
    char *json = cJSON_PrintUnformatted(hdr);
    cJSON_Delete(hdr);
    size_t jlen = strlen(json), padded = (jlen + 7) & ~(size_t)7;

    char *tmp = xmalloc(strlen(path) + 24);
    sprintf(tmp, "%s.tmp%d", path, (int)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        free(json);
        sidr_status s = sidr_fail(SIDR_ERR_IO, "%s: cannot write: %s", tmp, strerror(errno));
        free(tmp);
        return s;
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)(padded >> (8 * i));
    int ok = sidr_fwrite(len8, 1, 8, f) == 8 && sidr_fwrite(json, 1, jlen, f) == jlen;
    for (size_t i = jlen; i < padded && ok; i++) ok = fputc(' ', f) != EOF;
    free(json);
    sidr_status s = SIDR_OK;
    unsigned char *chunk = xaligned(ST_STREAM_CHUNK);
    for (int i = 0; i < n && ok && !s; i++) {
        size_t nb = entry_bytes(&entries[i]);
        for (size_t o = 0; o < nb && ok && !s; o += ST_STREAM_CHUNK) {
            size_t len = nb - o < ST_STREAM_CHUNK ? nb - o : ST_STREAM_CHUNK;
            if ((s = fill(user, i, o, chunk, len))) break;
            ok = sidr_fwrite(chunk, 1, len, f) == len;
        }
    }
    free(chunk);
    int err = errno;
    ok = (fflush(f) == 0) & ok;
    ok = (fsync(fileno(f)) == 0) & ok;
    ok = (fclose(f) == 0) & ok;
    if (!ok && !s) err = errno ? errno : err;
    if (s || !ok || rename(tmp, path) != 0) {
        if (!s) s = sidr_fail(SIDR_ERR_IO, "%s: write failed: %s", path, strerror(ok ? errno : err));
        unlink(tmp);
    }
    free(tmp);
    return s;
}

/* In-memory entries: the stream's chunks are copies of their data. */
static sidr_status fill_from_memory(void *user, int index, size_t offset, void *buf, size_t nbytes)
{
    const sidr_st_entry *e = (const sidr_st_entry *)user + index;
    memcpy(buf, (const char *)e->data + offset, nbytes);
    return SIDR_OK;
}

sidr_status sidr_st_write(const char *path, const sidr_st_entry *entries, int n, const char *metadata_json)
{
    return sidr_st_write_stream(path, entries, n, metadata_json, fill_from_memory, (void *)entries);
}
