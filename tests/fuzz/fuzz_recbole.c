/* RecBole atomic files: the input is split at "\n=====\n" into .inter,
 * .item and .text files of one dataset. */
#include "dataset.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const uint8_t *part[3];
    size_t len[3];
    int k = fuzz_split(data, n, "\n=====\n", part, len, 3);
    static const char *names[3] = { "rb/Fz.inter", "rb/Fz.item", "rb/Fz.text" };
    char dir[512];
    snprintf(dir, sizeof dir, "%s/rb", fuzz_scratch());
    mkdir(dir, 0777);
    for (int i = 0; i < 3; i++) {
        if (i < k) fuzz_file(names[i], part[i], len[i]);
        else {
            char p[600];
            snprintf(p, sizeof p, "%s/%s", fuzz_scratch(), names[i]);
            unlink(p);
        }
    }
    sidr_dataset ds;
    sidr_dataset_load(&ds, dir, NULL);
    sidr_dataset_free(&ds);
    return 0;
}
