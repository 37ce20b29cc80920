/* config.json, generation_config.json and tokenizer_config.json (with its
 * chat template) of a model folder. */
#include "config.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const char *p = fuzz_file("model/config.json", data, n);
    sidr_config c;
    (void)sidr_config_load(&c, p);
    fuzz_file("model/generation_config.json", data, n);
    fuzz_file("model/tokenizer_config.json", data, n);
    char dir[512];
    snprintf(dir, sizeof dir, "%s/model", fuzz_scratch());
    (void)sidr_generation_config_check(dir, 1000);
    (void)sidr_tokenizer_config_check(dir);
    return 0;
}
