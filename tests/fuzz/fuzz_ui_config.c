/* The explorer's config file (sidr-config(5)): keys, colours, settings. */
#include "fuzz_util.h"
#include "ui_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const char *p = fuzz_file("sidr.conf", data, n);
    ui_config c;
    ui_config_defaults(&c);
    (void)ui_config_load(&c, p, 0);
    ui_config_free(&c);
    return 0;
}
