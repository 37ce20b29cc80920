/* The safetensors reader: header length, JSON header, dtypes, shapes, offsets. */
#include "fuzz_util.h"
#include "safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const char *p = fuzz_file("model.safetensors", data, n);
    sidr_safetensors st;
    memset(&st, 0, sizeof st);
    if (sidr_st_open_file(&st, p) == SIDR_OK)
        for (int i = 0; i < st.n_tensors; i++) (void)sidr_tensor_numel(&st.tensors[i]);
    sidr_st_close(&st);   /* also after a failure: the reader keeps what it mapped */
    return 0;
}
