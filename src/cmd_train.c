/* sidr train align | reason | rl: the three SIDReasoner training stages
 * (SPEC §1.2–§1.4).  Options are parsed here; the loops are in trainer.c
 * (align, reason) and grpo.c (rl). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "trainer.h"

enum {
    O_MODEL = 256, O_DATA, O_OUT, O_EPOCHS, O_MAX_STEPS, O_STOP_AFTER, O_BATCH, O_ACCUM, O_LR, O_WARMUP, O_SCHEDULE,
    O_WD, O_CLIP, O_SEED, O_MAX_LEN, O_EVAL_EVERY, O_NO_EVAL, O_SAVE_EVERY, O_SAVE_LIMIT, O_PATIENCE, O_EVAL_ROWS,
    O_EVAL_GEN, O_RESUME, O_LOG, O_THREADS, O_DERIVE, O_DTYPE, O_LOAD_BEST, O_CATEGORY, O_QUIET, O_MAX_NEW,
    O_GENERAL, O_TASKS, O_MIX_TASKS, O_ANSWER_WEIGHT, O_TRACE_ANSWER, O_TRACE_WORDS, O_TASK_WEIGHTS, O_PROMPTS, O_GROUP, O_KL, O_CLIP_EPS, O_PPO_EPOCHS, O_REF, O_TEMP, O_HELP,
};

static const struct option opts[] = {
    { "model", required_argument, NULL, O_MODEL },
    { "data", required_argument, NULL, O_DATA },
    { "out", required_argument, NULL, O_OUT },
    { "epochs", required_argument, NULL, O_EPOCHS },
    { "max-steps", required_argument, NULL, O_MAX_STEPS },
    { "stop-after", required_argument, NULL, O_STOP_AFTER },
    { "batch", required_argument, NULL, O_BATCH },
    { "grad-accum", required_argument, NULL, O_ACCUM },
    { "lr", required_argument, NULL, O_LR },
    { "warmup", required_argument, NULL, O_WARMUP },
    { "schedule", required_argument, NULL, O_SCHEDULE },
    { "weight-decay", required_argument, NULL, O_WD },
    { "clip", required_argument, NULL, O_CLIP },
    { "seed", required_argument, NULL, O_SEED },
    { "max-len", required_argument, NULL, O_MAX_LEN },
    { "eval-every", required_argument, NULL, O_EVAL_EVERY },
    { "no-eval", no_argument, NULL, O_NO_EVAL },
    { "save-every", required_argument, NULL, O_SAVE_EVERY },
    { "save-total-limit", required_argument, NULL, O_SAVE_LIMIT },
    { "patience", required_argument, NULL, O_PATIENCE },
    { "eval-rows", required_argument, NULL, O_EVAL_ROWS },
    { "eval-gen", required_argument, NULL, O_EVAL_GEN },
    { "resume", no_argument, NULL, O_RESUME },
    { "log", required_argument, NULL, O_LOG },
    { "threads", required_argument, NULL, O_THREADS },
    { "derive-train", optional_argument, NULL, O_DERIVE },
    { "dtype", required_argument, NULL, O_DTYPE },
    { "load-best", no_argument, NULL, O_LOAD_BEST },
    { "category", required_argument, NULL, O_CATEGORY },
    { "quiet", no_argument, NULL, O_QUIET },
    { "max-new", required_argument, NULL, O_MAX_NEW },
    { "general", required_argument, NULL, O_GENERAL },
    { "tasks", required_argument, NULL, O_TASKS },
    { "mix-tasks", required_argument, NULL, O_MIX_TASKS },
    { "answer-weight", required_argument, NULL, O_ANSWER_WEIGHT },
    { "trace-answer", required_argument, NULL, O_TRACE_ANSWER },
    { "trace-answer-words", no_argument, NULL, O_TRACE_WORDS },
    { "task-weights", required_argument, NULL, O_TASK_WEIGHTS },
    { "prompts", required_argument, NULL, O_PROMPTS },
    { "group", required_argument, NULL, O_GROUP },
    { "kl", required_argument, NULL, O_KL },
    { "clip-eps", required_argument, NULL, O_CLIP_EPS },
    { "ppo-epochs", required_argument, NULL, O_PPO_EPOCHS },
    { "ref", required_argument, NULL, O_REF },
    { "temperature", required_argument, NULL, O_TEMP },
    { "help", no_argument, NULL, O_HELP },
    { NULL, 0, NULL, 0 },
};

static void help(void)
{
    printf(
        "usage: sidr train align|reason|rl --model DIR --data DIR --out DIR [options]\n"
        "The three SIDReasoner stages: align (the eight-task SID-language SFT pool), reason (the\n"
        "<think> reasoning format, loss from <think> on) and rl (GRPO with the rule reward).\n"
        "Checkpoints go to OUT/checkpoint-STEP/, the best validation model to OUT/best/, the final\n"
        "model to OUT/ (Hugging Face folders); a JSON line per step to OUT/train_log.jsonl.\n"
        "\n"
        "common:\n"
        "  --epochs N            passes over the data (default 1)\n"
        "  --max-steps N         total steps instead (rl: rollout steps)\n"
        "  --batch N             sequences per micro-batch (align/reason 8, rl 16)\n"
        "  --grad-accum N        micro-batches per step (align/reason; default 1)\n"
        "  --lr X                peak learning rate (align 1e-4, reason 5e-5, rl 1e-6)\n"
        "  --warmup N|R          warmup steps, or a fraction of the steps when it has a '.' (default 0.03; rl 0)\n"
        "  --schedule S          constant, linear or cosine (default cosine; rl constant)\n"
        "  --weight-decay X      AdamW weight decay (default 0; norms and biases never decay)\n"
        "  --clip X              gradient-norm clipping (default 1.0; 0 disables)\n"
        "  --seed N              data order and rollouts (default 42)\n"
        "  --max-len N           drop longer training sequences, counted (default 1024)\n"
        "  --eval-every N        validate every N steps (default: each epoch end) and at the end\n"
        "  --no-eval             no validation\n"
        "  --eval-rows N         valid rows for the validation loss (default 256)\n"
        "  --eval-gen N          decoded at each validation: align, items of a small align-report\n"
        "                        (title->SID, SID->title); reason, valid rows for the format rate;\n"
        "                        rl, valid rows for HR@10 (default 32; 0: none)\n"
        "  --patience N          stop after N validations without improvement (default off)\n"
        "  --load-best           write the best validation model as the final one\n"
        "  --save-every N        checkpoint every N steps (default 200; 0: only at the end)\n"
        "  --save-total-limit N  checkpoints kept (default 2)\n"
        "  --resume              continue from the newest checkpoint in OUT, exactly\n"
        "  --stop-after N        stop after N steps of this run with a checkpoint (continue with --resume)\n"
        "  --log FILE            the JSONL log (default OUT/train_log.jsonl)\n"
        "  --threads N           worker threads (default: all cores)\n"
        "  --derive-train[=period|longest]  build train rows from the train-period histories\n"
        "                        when the dataset has no train split (default period: the valid histories and,\n"
        "                        for users with no valid row, the test histories; no valid or test target is used)\n"
        "  --category C          the dataset category when there are several\n"
        "  --dtype bf16|f32      dtype of the final and best folders (default bf16; checkpoints are f32)\n"
        "  --max-new N           generated tokens for reason's format check and rl's rollouts (default 1024)\n"
        "  --quiet               no progress output\n"
        "align:\n"
        "  --tasks LIST          tasks of the pool, e.g. 1,2,3,4,5,6,7 (default; 8 with --general)\n"
        "  --task-weights K=W,...  copies of task K's sequences per epoch (default 1 each; fractions\n"
        "                        draw a new subset every epoch), e.g. 2=6,3=0.25 for more item tasks\n"
        "  --general FILE.jsonl  task 8: {\"messages\": [{\"role\": ..., \"content\": ...}, ...]} per line\n"
        "reason:\n"
        "  --mix-tasks LIST      Stage-1 item tasks mixed into the reasoning pool so the model keeps\n"
        "                        its SID alignment: 2 (title<->SID), 6 (item narratives), e.g. 2,6\n"
        "  --answer-weight W     loss weight of each answer token after </think> (the SID) against 1\n"
        "                        for each reasoning token (default 1; the loss is the weighted mean)\n"
        "  --trace-answer F      also train a fraction F of the rows (0..1) with the history hidden from\n"
        "                        the prompt and the loss on the answer only: the SID must be read from\n"
        "                        the reasoning (default 0)\n"
        "  --trace-answer-words  in those samples the reasoning's SID mentions read \"an item\" too, so\n"
        "                        only its words (types, brands, tiers) lead to the answer\n"
        "rl:\n"
        "  --prompts N           prompts per step (default 16)\n"
        "  --group G             rollouts per prompt (default 16)\n"
        "  --kl X                coefficient of the k3 KL to the reference (default 0.001; 0: no reference)\n"
        "  --clip-eps X          PPO clip range (default 0.2)\n"
        "  --ppo-epochs N        updates per batch of rollouts (default 1)\n"
        "  --temperature T       rollout temperature (default 1.0, the paper's)\n"
        "  --ref DIR             the frozen reference model (default: --model)\n"
        "Ctrl-C writes a checkpoint and exits; a second Ctrl-C exits at once.\n");
}

/* "K=W,K=W": per-task epoch weights; unnamed tasks keep theirs. */
static int parse_task_weights(const char *s, double *w)
{
    const char *p = s;
    while (*p) {
        char *end;
        long k = strtol(p, &end, 10);
        if (end == p || k < 1 || k > 8 || *end != '=') return -1;
        p = end + 1;
        double x = strtod(p, &end);
        if (end == p || !(x >= 0) || x > 1000) return -1;
        w[k] = x;
        p = end;
        if (*p == ',' && p[1]) p++;
        else if (*p) return -1;
    }
    return p == s ? -1 : 0;
}

static int parse_tasks(const char *s, unsigned *mask)
{
    *mask = 0;
    const char *p = s;
    while (*p) {
        char *end;
        long k = strtol(p, &end, 10);
        if (end == p || k < 1 || k > 8) return -1;
        *mask |= 1u << k;
        p = end;
        if (*p == ',') p++;
        else if (*p) return -1;
    }
    return *mask ? 0 : -1;
}

int cmd_train(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        help();
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    train_stage stage;
    if (!strcmp(argv[1], "align")) stage = STAGE_ALIGN;
    else if (!strcmp(argv[1], "reason")) stage = STAGE_REASON;
    else if (!strcmp(argv[1], "rl")) stage = STAGE_RL;
    else return usage_error("train", "unknown stage '%s' (expected align, reason or rl)", argv[1]);
    const char *cmd = stage == STAGE_ALIGN ? "train align" : stage == STAGE_REASON ? "train reason" : "train rl";
    train_opts o;
    train_opts_default(&o, stage);
    const char *model = NULL, *data = NULL;
    int grad_accum_set = 0, tasks_set = 0, weights_set = 0, mix_set = 0, answer_set = 0, trace_set = 0, words_set = 0;
    long v;
    double x;
    int c;
    argc--;
    argv++;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (c) {
        case O_MODEL: model = optarg; break;
        case O_DATA: data = optarg; break;
        case O_OUT: o.out_dir = optarg; break;
        case O_LOG: o.log_path = optarg; break;
        case O_GENERAL: o.general_path = optarg; break;
        case O_REF: o.ref_dir = optarg; break;
        case O_CATEGORY: o.category = optarg; break;
        case O_RESUME: o.resume = 1; break;
        case O_LOAD_BEST: o.load_best = 1; break;
        case O_QUIET: o.quiet = 1; break;
        case O_NO_EVAL: o.eval_rows = 0; o.eval_gen = 0; break;
        case O_EPOCHS: if (parse_int(optarg, 1, 1 << 20, &v)) return usage_error(cmd, "--epochs expects an integer >= 1"); o.epochs = (int)v; break;
        case O_MAX_STEPS: if (parse_int(optarg, 1, 1L << 40, &v)) return usage_error(cmd, "--max-steps expects an integer >= 1"); o.max_steps = v; break;
        case O_STOP_AFTER: if (parse_int(optarg, 1, 1L << 40, &v)) return usage_error(cmd, "--stop-after expects an integer >= 1"); o.stop_after = v; break;
        case O_BATCH: if (parse_int(optarg, 1, 4096, &v)) return usage_error(cmd, "--batch expects an integer in [1, 4096]"); o.batch = (int)v; break;
        case O_ACCUM: if (parse_int(optarg, 1, 1 << 16, &v)) return usage_error(cmd, "--grad-accum expects an integer >= 1"); o.grad_accum = (int)v; grad_accum_set = 1; break;
        case O_LR: if (parse_float(optarg, 0, 10, &o.lr)) return usage_error(cmd, "--lr expects a number in [0, 10]"); break;
        case O_WARMUP:
            if (strchr(optarg, '.') || strchr(optarg, 'e')) {
                if (parse_float(optarg, 0, 1, &x) || x >= 1) return usage_error(cmd, "--warmup expects steps (an integer) or a fraction in [0, 1)");
                o.warmup = -1;
                o.warmup_ratio = x;
            } else {
                if (parse_int(optarg, 0, 1L << 40, &v)) return usage_error(cmd, "--warmup expects steps (an integer) or a fraction in [0, 1)");
                o.warmup = v;
            }
            break;
        case O_SCHEDULE:
            if (!strcmp(optarg, "constant")) o.schedule = SIDR_LR_CONSTANT;
            else if (!strcmp(optarg, "linear")) o.schedule = SIDR_LR_LINEAR;
            else if (!strcmp(optarg, "cosine")) o.schedule = SIDR_LR_COSINE;
            else return usage_error(cmd, "--schedule expects constant, linear or cosine");
            break;
        case O_WD: if (parse_float(optarg, 0, 10, &o.weight_decay)) return usage_error(cmd, "--weight-decay expects a number in [0, 10]"); break;
        case O_CLIP: if (parse_float(optarg, 0, 1e9, &o.clip)) return usage_error(cmd, "--clip expects a number >= 0"); break;
        case O_SEED: if (parse_int(optarg, 0, __LONG_MAX__, &v)) return usage_error(cmd, "--seed expects an integer >= 0"); o.seed = (uint64_t)v; break;
        case O_MAX_LEN: if (parse_int(optarg, 8, 1 << 20, &v)) return usage_error(cmd, "--max-len expects an integer in [8, 1048576]"); o.max_len = (int)v; break;
        case O_EVAL_EVERY: if (parse_int(optarg, 1, 1L << 40, &v)) return usage_error(cmd, "--eval-every expects an integer >= 1"); o.eval_every = v; break;
        case O_SAVE_EVERY: if (parse_int(optarg, 0, 1L << 40, &v)) return usage_error(cmd, "--save-every expects an integer >= 0"); o.save_every = v; break;
        case O_SAVE_LIMIT: if (parse_int(optarg, 1, 1 << 20, &v)) return usage_error(cmd, "--save-total-limit expects an integer >= 1"); o.save_total_limit = (int)v; break;
        case O_PATIENCE: if (parse_int(optarg, 0, 1 << 20, &v)) return usage_error(cmd, "--patience expects an integer >= 0"); o.patience = (int)v; break;
        case O_EVAL_ROWS: if (parse_int(optarg, 0, 1 << 30, &v)) return usage_error(cmd, "--eval-rows expects an integer >= 0"); o.eval_rows = (int)v; break;
        case O_EVAL_GEN: if (parse_int(optarg, 0, 1 << 30, &v)) return usage_error(cmd, "--eval-gen expects an integer >= 0"); o.eval_gen = (int)v; break;
        case O_THREADS: if (parse_int(optarg, 1, 1024, &v)) return usage_error(cmd, "--threads expects an integer in [1, 1024]"); o.threads = (int)v; break;
        case O_MAX_NEW: if (parse_int(optarg, 1, 1 << 20, &v)) return usage_error(cmd, "--max-new expects an integer >= 1"); o.max_new = (int)v; break;
        case O_PROMPTS: if (parse_int(optarg, 1, 1 << 20, &v)) return usage_error(cmd, "--prompts expects an integer >= 1"); o.prompts = (int)v; break;
        case O_GROUP: if (parse_int(optarg, 1, 4096, &v)) return usage_error(cmd, "--group expects an integer in [1, 4096]"); o.group = (int)v; break;
        case O_KL: if (parse_float(optarg, 0, 1e6, &o.kl_coef)) return usage_error(cmd, "--kl expects a number >= 0"); break;
        case O_CLIP_EPS: if (parse_float(optarg, 0, 10, &o.clip_eps)) return usage_error(cmd, "--clip-eps expects a number in [0, 10]"); break;
        case O_PPO_EPOCHS: if (parse_int(optarg, 1, 1000, &v)) return usage_error(cmd, "--ppo-epochs expects an integer in [1, 1000]"); o.ppo_epochs = (int)v; break;
        case O_TEMP: if (parse_float(optarg, 1e-3, 100, &o.temperature)) return usage_error(cmd, "--temperature expects a number in [0.001, 100]"); break;
        case O_DTYPE:
            if (!strcmp(optarg, "bf16")) o.dtype = SIDR_BF16;
            else if (!strcmp(optarg, "f32")) o.dtype = SIDR_F32;
            else return usage_error(cmd, "--dtype expects bf16 or f32");
            break;
        case O_DERIVE:
            if (!optarg || !strcmp(optarg, "period")) o.derive = SIDR_DERIVE_TRAIN_PERIOD;
            else if (!strcmp(optarg, "longest")) o.derive = SIDR_DERIVE_LONGEST;
            else return usage_error(cmd, "--derive-train expects period or longest");
            break;
        case O_TASK_WEIGHTS:
            if (parse_task_weights(optarg, o.task_weight))
                return usage_error(cmd, "--task-weights expects K=W pairs with task K in 1..8 and W in [0, 1000], e.g. 2=6,3=0.25");
            weights_set = 1;
            break;
        case O_TASKS:
            if (parse_tasks(optarg, &o.task_mask)) return usage_error(cmd, "--tasks expects task numbers 1..8, e.g. 1,2,5");
            tasks_set = 1;
            break;
        case O_MIX_TASKS:
            if (parse_tasks(optarg, &o.mix_mask) || (o.mix_mask & ~((1u << 2) | (1u << 6))))
                return usage_error(cmd, "--mix-tasks expects the item tasks 2 and/or 6, e.g. 2,6");
            mix_set = 1;
            break;
        case O_ANSWER_WEIGHT:
            if (parse_float(optarg, 0, 1000, &o.answer_weight))
                return usage_error(cmd, "--answer-weight expects a number in [0, 1000]");
            answer_set = 1;
            break;
        case O_TRACE_ANSWER:
            if (parse_float(optarg, 0, 1, &o.trace_answer))
                return usage_error(cmd, "--trace-answer expects a fraction in [0, 1]");
            trace_set = 1;
            break;
        case O_TRACE_WORDS:
            o.trace_answer_words = 1;
            words_set = 1;
            break;
        case O_HELP: help(); return EXIT_OK;
        default: return usage_error(cmd, "unknown option");
        }
    }
    if (optind != argc) return usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!o.out_dir) return usage_error(cmd, "--out DIR is required");
    if (stage != STAGE_ALIGN && (o.general_path || tasks_set))
        return usage_error(cmd, "--general and --tasks are options of 'train align'");
    if (stage == STAGE_RL && grad_accum_set)
        return usage_error(cmd, "rl takes --prompts (prompts per step) and --group, not --grad-accum");
    if (mix_set && stage != STAGE_REASON) return usage_error(cmd, "--mix-tasks is an option of 'train reason'");
    if (answer_set && stage != STAGE_REASON) return usage_error(cmd, "--answer-weight is an option of 'train reason'");
    if (trace_set && stage != STAGE_REASON) return usage_error(cmd, "--trace-answer is an option of 'train reason'");
    if (words_set && !(o.trace_answer > 0))
        return usage_error(cmd, "--trace-answer-words needs --trace-answer F with F > 0");
    if (weights_set && o.stage != STAGE_ALIGN) return usage_error(cmd, "--task-weights is an option of 'train align'");
    if ((o.task_mask & (1u << 8)) && !o.general_path) return usage_error(cmd, "task 8 needs --general FILE.jsonl");
    if (!(model = resolve_model_dir(cmd, model)) || !(data = resolve_data_dir(cmd, data))) return EXIT_USAGE;
    if (!strcmp(model, o.out_dir)) return usage_error(cmd, "--out must differ from --model");
    o.model_dir = model;
    o.data_dir = data;
    install_interrupt_handler();
    o.stop = &interrupted;
    sidr_status s = train_run(&o);
    if (s) return runtime_error(cmd, s);
    return EXIT_OK;
}
