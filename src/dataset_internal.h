/* What the dataset readers share (src/dataset.c) and each layout's entry
 * point; not part of the dataset interface (dataset.h). */
#ifndef SIDR_DATASET_INTERNAL_H
#define SIDR_DATASET_INTERNAL_H

#include <stddef.h>

#include "dataset.h"

/* A warning kept on the dataset for the commands and the explorer to show. */
void ds_warn(sidr_dataset *ds, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A printable excerpt of a value for messages (at most ~60 bytes, cut on a
 * UTF-8 boundary, control characters as '?'), in buf. */
const char *ds_excerpt(const char *s, size_t n, char *buf, size_t cap);
/* *dst = a copy of s[0..n) (the old value freed). */
void ds_set_str(char **dst, const char *s, size_t n);
/* The 1-based line of buf that byte off is on. */
int ds_line_of(const char *buf, size_t off);
/* A whole file that must be UTF-8 without NUL bytes. */
sidr_status ds_read_utf8(const char *path, char **out, size_t *len);
/* A whole text file, Latin-1 accepted when it is not UTF-8 (*latin1 says so). */
sidr_status ds_read_text_any(const char *path, char **out, size_t *len, int *latin1);
/* Next line of a buffer (without "\n" / "\r\n"); 0 at the end. */
int ds_next_line(const char *buf, size_t len, size_t *pos, const char **line, size_t *n);
/* Names in dir ending in suffix (and starting with prefix + '_' or '.', when
 * prefix is given), sorted; free with ds_free_list. */
char **ds_list_files(const char *dir, const char *suffix, const char *prefix, int *n);
void ds_free_list(char **names, int n);
/* The index of item / user id (added when new). */
int ds_item_add(sidr_dataset *ds, const char *id, size_t len);
int ds_user_add(sidr_dataset *ds, const char *id, size_t len);
/* A new zeroed sample at the end of a split. */
sidr_sample *ds_sample_push(sidr_split *sp);
/* Fills a sample's history with the last max_history of hist[0..n). */
void ds_sample_set_history(sidr_dataset *ds, sidr_split *sp, sidr_sample *s, const int *hist, int n);
/* One SID token "<x_N>" at s for level x; returns its length or 0. */
size_t ds_sid_token(const char *s, size_t n, int level, int *code);
void ds_item_set_sid(sidr_item *it, const int *codes, int L);
int ds_sid_equal(const sidr_item *it, const int *codes, int L);

/* index/<cat>.index.json: the SIDs (both layouts can carry one). */
sidr_status ds_load_index_json(sidr_dataset *ds, const char *path);
/* The layouts' readers, called by sidr_dataset_load. */
sidr_status ds_load_minionerec(sidr_dataset *ds, const sidr_dataset_opts *o);
sidr_status ds_load_recbole(sidr_dataset *ds, const sidr_dataset_opts *o);

#endif
