/* safetensors files, memory-mapped: tensors are views into the mapping and
 * are never copied whole.  A model folder holds one model.safetensors or
 * several shards listed by model.safetensors.index.json. */
#ifndef SIDR_SAFETENSORS_H
#define SIDR_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

typedef enum { SIDR_F32, SIDR_BF16, SIDR_F16, SIDR_I32, SIDR_I64, SIDR_U8, SIDR_DTYPE_COUNT } sidr_dtype;

const char *sidr_dtype_name(sidr_dtype d);
size_t sidr_dtype_size(sidr_dtype d);

#define SIDR_MAX_DIMS 4

typedef struct {
    char *name;
    sidr_dtype dtype;
    int ndim;
    int64_t shape[SIDR_MAX_DIMS];
    const void *data;
    size_t nbytes;
    const char *file;        /* the file it lives in, for messages */
} sidr_tensor;

typedef struct {
    char *path;
    void *map;
    size_t map_len;
} sidr_st_file;

typedef struct {
    sidr_st_file *files;
    int n_files;
    sidr_tensor *tensors;
    int n_tensors;
} sidr_safetensors;

/* Maps one .safetensors file (appending to st, which starts zeroed); after
 * a failure too, sidr_st_close releases what was mapped. */
sidr_status sidr_st_open_file(sidr_safetensors *st, const char *path);
/* Maps model.safetensors or the shards of model.safetensors.index.json in dir. */
sidr_status sidr_st_open_dir(sidr_safetensors *st, const char *dir);
void sidr_st_close(sidr_safetensors *st);

const sidr_tensor *sidr_st_find(const sidr_safetensors *st, const char *name);
int64_t sidr_tensor_numel(const sidr_tensor *t);

/* Fails naming the first tensor "model.layers.K...." with K >= n_layers:
 * weights for layers the config does not count. */
sidr_status sidr_st_check_layers(const sidr_safetensors *st, int n_layers, const char *dir);

/* Converts element i..i+n of a tensor of any float dtype to f32. */
void sidr_tensor_to_f32(const sidr_tensor *t, size_t first, size_t n, float *out);

/* Writing: a list of named tensors in memory to one .safetensors file, written
 * to a temporary name and renamed so a kill never leaves a broken file. */
typedef struct {
    const char *name;
    sidr_dtype dtype;
    int ndim;
    int64_t shape[SIDR_MAX_DIMS];
    const void *data;
} sidr_st_entry;

sidr_status sidr_st_write(const char *path, const sidr_st_entry *entries, int n,
                          const char *metadata_json /* may be NULL */);

/* Streaming variant for files larger than memory: entries[i].data is ignored
 * and fill(user, i, offset, buf, nbytes) produces bytes [offset, offset +
 * nbytes) of tensor i into buf.  The writer calls it in order, in chunks of at
 * most a few MB (multiples of 64 bytes except a tensor's last), so only one
 * chunk is in memory at a time.  fill returns SIDR_OK or an error that aborts
 * the write (the temporary file is removed).  Atomic like sidr_st_write. */
typedef sidr_status (*sidr_st_fill_fn)(void *user, int index, size_t offset, void *buf, size_t nbytes);
sidr_status sidr_st_write_stream(const char *path, const sidr_st_entry *entries, int n,
                                 const char *metadata_json, sidr_st_fill_fn fill, void *user);

/* bf16 / f16 <-> f32 conversions. */
static inline float sidr_bf16_to_f32(uint16_t h)
{
    union { uint32_t u; float f; } v = { .u = (uint32_t)h << 16 };
    return v.f;
}
static inline uint16_t sidr_f32_to_bf16(float f)
{
    union { uint32_t u; float f; } v = { .f = f };
    if ((v.u & 0x7fffffff) > 0x7f800000) return (uint16_t)((v.u >> 16) | 64); /* quiet NaN */
    return (uint16_t)((v.u + 0x7fff + ((v.u >> 16) & 1)) >> 16);             /* round to nearest even */
}
float sidr_f16_to_f32(uint16_t h);
uint16_t sidr_f32_to_f16(float f);

#endif
