/* The subcommands of sidr: each takes argc/argv with argv[0] = its name and
 * returns the exit status (0 ok, 1 runtime failure, 2 usage error). */
#ifndef SIDR_COMMANDS_H
#define SIDR_COMMANDS_H

int cmd_info(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_detokenize(int argc, char **argv);
int cmd_logits(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_beam(int argc, char **argv);
int cmd_model(int argc, char **argv);
int cmd_tokenizer(int argc, char **argv);
int cmd_recommend(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_eval_merge(int argc, char **argv);
int cmd_eval_diff(int argc, char **argv);
int cmd_train_log(int argc, char **argv);
int cmd_align_report(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_sids(int argc, char **argv);
int cmd_explore(int argc, char **argv);
/* 1 when the embedded demo (share/demo) is installed; prints nothing. */
int explore_demo_available(void);
int cmd_train(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_recipe(int argc, char **argv);

#endif
