/* sidr generate: stream a continuation of a token list or a text prompt. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "cli.h"
#include "commands.h"
#include "sampler.h"
#include "tokenizer.h"
#include "transformer.h"
#include "util.h"
#include "session.h"

static const struct option opts[] = {
    { "model", required_argument, NULL, 'm' },
    { "tokens", required_argument, NULL, 't' },
    { "prompt", required_argument, NULL, 'p' },
    { "system", required_argument, NULL, 'S' },
    { "chat", no_argument, NULL, 'c' },
    { "no-think", no_argument, NULL, 'n' },
    { "max-tokens", required_argument, NULL, 'M' },
    { "temperature", required_argument, NULL, 'T' },
    { "top-p", required_argument, NULL, 'P' },
    { "top-k", required_argument, NULL, 'K' },
    { "seed", required_argument, NULL, 's' },
    { "json", no_argument, NULL, 'j' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

static void help(void)
{
    printf("usage: sidr generate --model DIR (--tokens ID,... | --prompt TEXT [--chat]) [options]\n"
           "  --chat             wrap TEXT as a user turn in the model's chat format\n"
           "  --system TEXT      system turn (with --chat)\n"
           "  --no-think         with --chat: open the answer with an empty think block\n"
           "  --max-tokens N     stop after N new tokens (default 256)\n"
           "  --temperature T    0 = greedy (default); sampling defaults in\n"
           "                     generation_config.json are never applied implicitly\n"
           "  --top-p P, --top-k K, --seed S\n"
           "  --json             print {\"ids\":[...],\"text\":\"...\"} instead of streaming\n"
           "Generation stops at the end-of-sequence tokens (<|im_end|>, <|endoftext|>, and\n"
           "eos_token_id of config.json / generation_config.json). Ctrl-C stops early.\n");
}

typedef struct {
    int ids[16];
    int n;
} stop_set;

static void stop_add(stop_set *s, int id)
{
    if (id < 0 || s->n == 16) return;
    for (int i = 0; i < s->n; i++)
        if (s->ids[i] == id) return;
    s->ids[s->n++] = id;
}

static int stop_has(const stop_set *s, int id)
{
    for (int i = 0; i < s->n; i++)
        if (s->ids[i] == id) return 1;
    return 0;
}

/* End-of-sequence ids: config, generation_config (int or list), and the
 * chat end tokens when the tokenizer has them. */
static void collect_stops(stop_set *s, const sidr_model *m, const sidr_tokenizer *tok)
{
    stop_add(s, m->cfg.eos_id);
    char *path = path_join(m->dir, "generation_config.json"), *text;
    if (file_exists(path) && read_file(path, &text, NULL) == SIDR_OK) {
        cJSON *root = cJSON_Parse(text);
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "eos_token_id");
        if (cJSON_IsNumber(e)) stop_add(s, e->valueint);
        cJSON *it;
        if (cJSON_IsArray(e)) cJSON_ArrayForEach(it, e) if (cJSON_IsNumber(it)) stop_add(s, it->valueint);
        cJSON_Delete(root);
        free(text);
    }
    free(path);
    if (tok) {
        stop_add(s, sidr_tokenizer_find(tok, "<|im_end|>"));
        stop_add(s, sidr_tokenizer_find(tok, "<|endoftext|>"));
    }
}

int cmd_generate(int argc, char **argv)
{
    const char *model = NULL, *tokens = NULL, *prompt = NULL, *system = NULL;
    int chat = 0, no_think = 0, json = 0, c;
    long max_tokens = 256, top_k = 0, seed = 0;
    int max_tokens_given = 0;
    double temperature = 0, top_p = 1;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 't': tokens = optarg; break;
        case 'p': prompt = optarg; break;
        case 'S': system = optarg; break;
        case 'c': chat = 1; break;
        case 'n': no_think = 1; break;
        case 'j': json = 1; break;
        case 'M': if (parse_int(optarg, 1, 1 << 20, &max_tokens)) return usage_error("generate", "--max-tokens expects a positive integer"); max_tokens_given = 1; break;
        case 'K': if (parse_int(optarg, 0, 1 << 24, &top_k)) return usage_error("generate", "--top-k expects an integer >= 0"); break;
        case 's': if (parse_int(optarg, 0, __LONG_MAX__, &seed)) return usage_error("generate", "--seed expects an integer >= 0"); break;
        case 'T': if (parse_float(optarg, 0, 100, &temperature)) return usage_error("generate", "--temperature expects a number in [0, 100]"); break;
        case 'P': if (parse_float(optarg, 0, 1, &top_p) || top_p == 0) return usage_error("generate", "--top-p expects a number in (0, 1]"); break;
        case 'h': help(); return EXIT_OK;
        default: return usage_error("generate", "unknown option");
        }
    }
    if (optind != argc) return usage_error("generate", "unexpected argument '%s'", argv[optind]);
    if (!tokens == !prompt) return usage_error("generate", "give exactly one of --tokens and --prompt");
    if ((chat || system || no_think) && !prompt) return usage_error("generate", "--chat, --system and --no-think go with --prompt");
    if ((system || no_think) && !chat) return usage_error("generate", "--system and --no-think need --chat");
    if (!(model = resolve_model_dir("generate", model))) return EXIT_USAGE;

    int *ids = NULL, n = 0;
    if (tokens && parse_id_list(tokens, &ids, &n))
        return usage_error("generate", "'%s' is not a comma-separated list of token ids", tokens);
    sidr_model m;
    sidr_status s = session_load_model(&m, model);
    if (s) { free(ids); return runtime_error("generate", s); }
    sidr_tokenizer *tok = NULL;
    char *tok_path = path_join(model, "tokenizer.json");
    int have_tok = file_exists(tok_path);
    free(tok_path);
    /* Token-id prompts work without a tokenizer; the text is then unknown. */
    if ((have_tok || prompt) && ((s = load_tokenizer_dir(model, &tok)) ||
                                 (s = sidr_tokenizer_check_model(tok, "tokenizer.json", m.cfg.vocab_size, model)))) {
        sidr_tokenizer_free(tok);
        sidr_model_free(&m);
        free(ids);
        return runtime_error("generate", s);
    }
    if (prompt) {
        char *text = NULL;
        if (chat) {
            sidr_chat_msg msgs[2];
            int k = 0;
            if (system) msgs[k++] = (sidr_chat_msg){ "system", system };
            msgs[k++] = (sidr_chat_msg){ "user", prompt };
            text = sidr_chat_render(msgs, k, SIDR_CHAT_GENERATION_PROMPT | (no_think ? SIDR_CHAT_NO_THINKING : 0));
        }
        s = sidr_tokenizer_encode(tok, text ? text : prompt, strlen(text ? text : prompt), &ids, &n);
        free(text);
        if (s) {
            sidr_tokenizer_free(tok);
            sidr_model_free(&m);
            return runtime_error("generate", s);
        }
    }
    /* Positions past max_position_embeddings were never trained: refuse
     * them, or (the default budget) stop there. */
    int max_seq = m.cfg.max_seq;
    if (!s && n > max_seq)
        s = sidr_fail(SIDR_ERR_RANGE, "the prompt of %d tokens exceeds the model's max_position_embeddings %d "
                      "(%s/config.json)", n, max_seq, model);
    else if (!s && n + max_tokens > max_seq) {
        if (max_tokens_given)
            s = sidr_fail(SIDR_ERR_RANGE, "the prompt of %d tokens plus --max-tokens %ld exceeds the model's "
                          "max_position_embeddings %d (%s/config.json); give --max-tokens %d or fewer", n, max_tokens,
                          max_seq, model, max_seq - n);
        else
            max_tokens = max_seq - n;
    }
    if (s || max_tokens < 1) {
        if (!s) s = sidr_fail(SIDR_ERR_RANGE, "the prompt of %d tokens leaves no room under the model's "
                              "max_position_embeddings %d (%s/config.json)", n, max_seq, model);
        free(ids);
        sidr_tokenizer_free(tok);
        sidr_model_free(&m);
        return runtime_error("generate", s);
    }
    stop_set stops = { .n = 0 };
    collect_stops(&stops, &m, tok);

    int V = m.cfg.vocab_size, rc = EXIT_OK;
    float *logits = xmalloc((size_t)V * sizeof(float));
    int *out = xmalloc((size_t)max_tokens * sizeof(int));
    int n_out = 0;
    sidr_state *st = sidr_state_new(&m, n < 256 ? n : 256);
    sidr_kv kv;
    sidr_sampler sampler;
    sidr_sampling cfg = { (float)temperature, (int)top_k, (float)top_p, (uint64_t)seed };
    sidr_sampler_init(&sampler, &cfg, V);
    utf8_stream stream = { stdout, { 0 }, 0 };
    install_interrupt_handler();
    double t0 = now_seconds(), t_prefill = 0;
    if (!(s = sidr_kv_init(&kv, &m.cfg, n + (int)max_tokens)))
        s = sidr_forward(&m, st, &kv, ids, n, logits, SIDR_LOGITS_LAST);
    t_prefill = now_seconds() - t0;
    while (!s && n_out < max_tokens && !interrupted) {
        int next = sidr_sampler_sample(&sampler, logits);
        if (stop_has(&stops, next)) break;
        out[n_out++] = next;
        if (!json) {
            size_t len;
            const char *bytes = tok ? sidr_tokenizer_token_bytes(tok, next, &len) : NULL;
            if (bytes) utf8_stream_put(&stream, bytes, len);
            else printf("%s%d", n_out > 1 ? " " : "", next);
        }
        if (n_out < max_tokens) s = sidr_forward(&m, st, &kv, &next, 1, logits, SIDR_LOGITS_LAST);
    }
    double t_total = now_seconds() - t0;
    if (s) rc = runtime_error("generate", s);
    else if (json) {
        char *text = NULL;
        size_t len = 0;
        if (tok && (s = sidr_tokenizer_decode(tok, out, n_out, 0, &text, &len))) rc = runtime_error("generate", s);
        else {
            fputs("{\"ids\":[", stdout);
            for (int i = 0; i < n_out; i++) printf(i ? ",%d" : "%d", out[i]);
            fputs("],\"text\":", stdout);
            if (text) json_string(stdout, text, len);
            else fputs("null", stdout); /* no tokenizer.json in the model folder */
            printf(",\"numerics\":\"%s\"}\n", sidr_numerics_name(m.numerics));
            free(text);
        }
    } else {
        utf8_stream_flush(&stream);
        putchar('\n');
    }
    if (rc == EXIT_OK)
        fprintf(stderr, "sidr generate: %d prompt tokens in %.2f s (%.1f tok/s), %d new tokens in %.2f s (%.2f tok/s)%s\n",
                n, t_prefill, n / (t_prefill > 0 ? t_prefill : 1e-9), n_out, t_total - t_prefill,
                n_out > 1 ? (n_out - 1) / (t_total - t_prefill) : 0.0, interrupted ? ", interrupted" : "");
    sidr_sampler_free(&sampler);
    sidr_kv_free(&kv);
    sidr_state_free(st);
    free(out);
    free(logits);
    free(ids);
    sidr_tokenizer_free(tok);
    sidr_model_free(&m);
    return rc;
}
