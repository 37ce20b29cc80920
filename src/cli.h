/* Shared pieces of the subcommands: exit codes, option helpers, JSON output,
 * locating the embedded demo, streaming UTF-8. */
#ifndef SIDR_CLI_H
#define SIDR_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "status.h"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

/* Prints "sidr CMD: message" plus a hint and returns EXIT_USAGE. */
int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "sidr CMD: <engine message>" and returns EXIT_RUNTIME. */
int runtime_error(const char *cmd, sidr_status s);

/* Parses "1,2,3" (spaces allowed) into a malloc'd array; 0 on success. */
int parse_id_list(const char *s, int **ids, int *n);
/* Strict number parsing: the whole string must be a number in range. */
int parse_int(const char *s, long min, long max, long *out);
int parse_float(const char *s, double min, double max, double *out);

/* The model folder to use: the flag's value, else the embedded demo. NULL
 * (with a message printed) when neither exists. */
const char *resolve_model_dir(const char *cmd, const char *flag);
const char *resolve_data_dir(const char *cmd, const char *flag);
/* A path under the embedded demo's share/ (fresh string), or NULL. */
char *demo_path(const char *leaf);
/* 1 when the demo's model and data are both installed. */
int demo_available(void);

/* Loads DIR/tokenizer.json (DIR may also name the file itself). */
struct sidr_tokenizer;
sidr_status load_tokenizer_dir(const char *dir, struct sidr_tokenizer **tok);

/* Writes a JSON document (pretty-printed, newline-terminated) atomically. */
struct cJSON;
sidr_status write_json_file(const char *path, const struct cJSON *root);
/* Copies a file atomically. */
sidr_status copy_file(const char *from, const char *to);

/* JSON output helpers. */
void json_string(FILE *f, const char *s, size_t len);
void json_float(FILE *f, float x);

/* Streams token bytes to f, holding back an incomplete UTF-8 tail until the
 * next token completes it. */
typedef struct {
    FILE *f;
    char pending[8];
    int n_pending;
} utf8_stream;
void utf8_stream_put(utf8_stream *s, const char *bytes, size_t len);
void utf8_stream_flush(utf8_stream *s);

/* SIGINT sets this flag so long work can stop cleanly. */
extern volatile int interrupted;
void install_interrupt_handler(void);

#endif
