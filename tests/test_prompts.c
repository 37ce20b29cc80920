/* The SIDReasoner prompts, byte for byte as SPEC §1.3 and §1.5 give them,
 * the reasoning cut, and the metrics of §1.6 on hand-computed cases. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "prompts.h"
#include "tap.h"

#define P "Below is an instruction that describes a task, paired with an input that provides further context. " \
          "Write a response that appropriately completes the request."

static void check_str(const char *got, const char *want, const char *name)
{
    int same = !strcmp(got, want);
    tap_ok(same, "%s", name);
    if (!same) {
        size_t i = 0;
        while (got[i] && got[i] == want[i]) i++;
        tap_diag("first difference at byte %zu: got \"%.40s\" want \"%.40s\"", i, got + i, want + i);
    }
}

int main(void)
{
    const char *sids[] = { "<a_1><b_2><c_3>", "<a_60><b_159><c_203>" };
    char *h = prompt_join_sids(sids, 2);
    check_str(h, "<a_1><b_2><c_3>, <a_60><b_159><c_203>", "history SIDs are joined by \", \"");

    char *think = prompt_reasoning(h);
    check_str(think,
              "<|im_start|>system\n" P "\nCan you recommend the next item for the user based on their interaction history?\n"
              "<|im_end|>\n<|im_start|>user\nThe user has sequentially interacted with items "
              "<a_1><b_2><c_3>, <a_60><b_159><c_203>. Can you recommend the next item for him? Let's think step by step "
              "before making recommendation. Directly output the item SID after thinking.<|im_end|>\n"
              "<|im_start|>assistant\n",
              "thinking-mode prompt (Stage 2, RL, inference)");
    char *direct = prompt_direct(h);
    check_str(direct,
              "<|im_start|>system\n" P " \nCan you predict the next possible item that the user may expect?\n"
              "<|im_end|>\n<|im_start|>user\nCan you predict the next possible item the user may expect, given the "
              "following chronological interaction history: <a_1><b_2><c_3>, <a_60><b_159><c_203><|im_end|>\n"
              "<|im_start|>assistant\n<think>\n</think>\n\n",
              "non-thinking prompt ends with the empty think block");

    const char *trace = "<think>\nThe user bought <a_1><b_2><c_3>.\n</think>\n\n<a_5>";
    size_t n = reasoning_cut(trace, strlen(trace));
    tap_ok(n == strlen("<think>\nThe user bought <a_1><b_2><c_3>."), "reasoning is cut at the first </think> and trailing space dropped");
    const char *open_ended = "<think>\nno end  \n";
    tap_ok(reasoning_cut(open_ended, strlen(open_ended)) == strlen("<think>\nno end"), "a trace without </think> keeps all but trailing space");
    const char *two = "a</think>b</think>";
    tap_ok(reasoning_cut(two, strlen(two)) == 1, "only the first </think> counts");

    /* Metrics: rank 0 hits everywhere with NDCG 1; rank 2 hits @3 with 1/log2(4) = 0.5. */
    tap_ok(metric_hr(0, 1) == 1 && metric_ndcg(0, 1) == 1, "rank 0: HR@1 = NDCG@1 = 1");
    tap_ok(metric_hr(2, 1) == 0 && metric_hr(2, 3) == 1 && fabs(metric_ndcg(2, 3) - 0.5) < 1e-12, "rank 2: miss @1, hit @3 with NDCG 0.5");
    tap_ok(metric_hr(9, 10) == 1 && fabs(metric_ndcg(9, 10) - 1 / log2(11.0)) < 1e-12 && metric_hr(10, 10) == 0, "rank 9 is the last hit @10");
    tap_ok(metric_hr(-1, 10) == 0 && metric_ndcg(-1, 10) == 0, "no match scores 0");
    metrics a = { 0 }, b = { 0 };
    metrics_add(&a, 0, 0, 100, 1.0, NULL);
    metrics_add(&a, 4, 0, 50, 1.0, NULL);
    metrics_add(&b, -1, 1, 30, 2.0, NULL);
    metrics_merge(&a, &b);
    tap_ok(a.rows == 3 && a.hr[0] == 1 && a.hr[2] == 2 && a.hr[3] == 2 && a.invalid == 1 && a.reasoning_tokens == 180,
           "accumulating and merging shards: rows 3, HR@1 1/3, HR@5 2/3, 1 invalid");
    tap_ok(fabs(a.ndcg[2] - (1 + 1 / log2(6.0))) < 1e-12, "NDCG@5 sum = 1 + 1/log2(6)");
    free(h);
    free(think);
    free(direct);
    return tap_done();
}
