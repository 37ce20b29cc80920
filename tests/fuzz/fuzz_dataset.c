/* A MiniOneRec dataset folder: the input is split at "\n=====\n" into the
 * test CSV, index.json, item.json and info.txt of one category. */
#include "dataset.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const uint8_t *part[4];
    size_t len[4];
    int k = fuzz_split(data, n, "\n=====\n", part, len, 4);
    static const char *names[4] = { "mr/test/Fz_5_2016.csv", "mr/index/Fz.index.json", "mr/index/Fz.item.json",
                                    "mr/info/Fz_5_2016.txt" };
    char dir[512];
    snprintf(dir, sizeof dir, "%s/mr", fuzz_scratch());
    mkdir(dir, 0777);
    for (int i = 0; i < 4; i++) {
        if (i < k) fuzz_file(names[i], part[i], len[i]);
        else {
            char p[600];
            snprintf(p, sizeof p, "%s/%s", fuzz_scratch(), names[i]);
            unlink(p);
        }
    }
    sidr_dataset ds;
    if (sidr_dataset_load(&ds, dir, NULL) == SIDR_OK) sidr_dataset_free(&ds);
    else sidr_dataset_free(&ds);
    return 0;
}
