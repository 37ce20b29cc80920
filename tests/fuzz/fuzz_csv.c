/* The CSV reader and the Python list literals inside its fields. */
#include "csv.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    char *buf = malloc(n + 1);
    memcpy(buf, data, n);
    buf[n] = 0;
    sidr_csv c;
    sidr_csv_init(&c, "fuzz.csv", buf, n);
    if (sidr_csv_read_header(&c) == SIDR_OK) {
        int got = 1;
        while (got && sidr_csv_next(&c, &got) == SIDR_OK && got)
            for (int i = 0; i < c.n_fields; i++) {
                size_t len;
                const char *f = sidr_csv_field(&c, i, &len);
                sidr_pylist l;
                char why[128];
                sidr_pylist_init(&l);
                (void)sidr_pylist_parse(&l, f, len, why, sizeof why);
                sidr_pylist_free(&l);
            }
    }
    sidr_csv_free(&c);
    size_t ol;
    free(sidr_latin1_to_utf8(buf, n, &ol));
    free(buf);
    return 0;
}
