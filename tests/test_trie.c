/* The SID trie: children, walks, collisions, unknown prefixes, leaves. */
#include <string.h>

#include "sid_trie.h"
#include "tap.h"

int main(void)
{
    /* Five items, two of which (1 and 3) share the SID 10-21-30. */
    const int sids[] = {
        10, 20, 30,
        10, 21, 30,
        11, 20, 31,
        10, 21, 30,
        10, 21, 32,
    };
    sidr_trie t;
    tap_ok(sidr_trie_build(&t, sids, NULL, 5, 3) == SIDR_OK, "build over 5 items of depth 3");
    tap_ok(t.n_sids == 4, "4 distinct SIDs (one collision) (got %d)", t.n_sids);
    int n;
    const int *kids = sidr_trie_children(&t, 0, &n);
    tap_ok(n == 2 && kids[0] == 10 && kids[1] == 11, "root allows exactly level-a tokens 10 and 11");
    int a10 = sidr_trie_child(&t, 0, 10);
    kids = sidr_trie_children(&t, a10, &n);
    tap_ok(n == 2 && kids[0] == 20 && kids[1] == 21, "after 10: 20 and 21 (sorted)");
    int p = sidr_trie_child(&t, a10, 21);
    kids = sidr_trie_children(&t, p, &n);
    tap_ok(n == 2 && kids[0] == 30 && kids[1] == 32, "after 10,21: 30 and 32");
    tap_ok(sidr_trie_child(&t, 0, 20) == -1, "a level-b token is not allowed at the root");
    tap_ok(sidr_trie_child(&t, a10, 99) == -1, "an unknown token under a prefix gives -1");
    const int path[] = { 10, 21, 30 };
    int leaf = sidr_trie_walk(&t, path, 3);
    const int *items = sidr_trie_items(&t, leaf, &n);
    tap_ok(leaf >= 0 && n == 2 && items[0] == 1 && items[1] == 3, "the collided leaf holds items 1 and 3");
    const int bad[] = { 11, 21 };
    tap_ok(sidr_trie_walk(&t, bad, 2) == -1, "walking an unknown prefix leaves the trie");
    tap_ok(sidr_trie_count_leaves(&t, 0) == 4 && sidr_trie_count_leaves(&t, a10) == 3, "leaf counts under root and under 10");
    sidr_trie_free(&t);

    /* Item indices given explicitly; depth 4; a single SID. */
    const int one[] = { 1, 2, 3, 4 }, idx[] = { 42 };
    tap_ok(sidr_trie_build(&t, one, idx, 1, 4) == SIDR_OK && t.n_sids == 1, "a one-item catalogue of depth 4");
    leaf = sidr_trie_walk(&t, one, 4);
    items = sidr_trie_items(&t, leaf, &n);
    tap_ok(n == 1 && items[0] == 42, "explicit item indices are kept");
    sidr_trie_free(&t);

    tap_ok(sidr_trie_build(&t, one, NULL, 0, 3) != SIDR_OK && strstr(sidr_last_error(), "at least one"),
           "an empty catalogue is an error");

    /* A large catalogue: 256 x 256 x 4 SIDs, every lookup answered. */
    int N = 256 * 64 * 4;
    static int big[256 * 64 * 4 * 3];
    for (int i = 0; i < N; i++) {
        big[i * 3] = 1000 + i % 256;
        big[i * 3 + 1] = 2000 + (i / 256) % 64;
        big[i * 3 + 2] = 3000 + i / (256 * 64);
    }
    tap_ok(sidr_trie_build(&t, big, NULL, N, 3) == SIDR_OK && t.n_sids == N, "%d SIDs build", N);
    int all_found = 1;
    for (int i = 0; i < N; i += 7) all_found &= sidr_trie_walk(&t, big + i * 3, 3) >= 0;
    kids = sidr_trie_children(&t, 0, &n);
    tap_ok(all_found && n == 256, "every SID is found and the root has 256 children");
    sidr_trie_free(&t);
    return tap_done();
}
