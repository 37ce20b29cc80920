#!/usr/bin/env python3
"""Writes tests/fixtures/tokenizer/chat_cases.json: conversations rendered by
the real Qwen3 chat_template (tokenizer_config.json in ../shared) with jinja2,
set up the way Hugging Face transformers renders chat templates.  The C test
(tests/test_chat.c) compares sidr_chat_render byte for byte.

Needs python3-jinja2 (Debian: apt-get install python3-jinja2).  Run from the
repository root:  python3 tests/ref/chat_reference.py [SHARED_DIR]
SHARED_DIR defaults to $SIDR_SHARED or ../shared.
"""
import json
import os
import sys

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

GEN, NO_THINK = 1, 2  # SIDR_CHAT_GENERATION_PROMPT, SIDR_CHAT_NO_THINKING

P = ("Below is an instruction that describes a task, paired with an input that provides further context. "
     "Write a response that appropriately completes the request.")
H = "<a_60><b_159><c_203>, <a_42><b_80><c_160>, <a_236><b_231><c_226>"


def S(role, content):
    return {"role": role, "content": content}


CASES = [
    # SPEC 1.2 / 1.3 prompts
    ("task1_gen", [S("system", P + " Can you predict the next possible item that the user may expect?"),
                   S("user", f"The user has interacted with items {H} in chronological order. Can you predict the "
                             "next possible item that the user may expect?")], GEN),
    ("task1_gen_no_thinking", [S("system", P + " Can you predict the next possible item that the user may expect?"),
                               S("user", f"The user has interacted with items {H} in chronological order.")],
     GEN | NO_THINK),
    ("task1_sft", [S("system", P + " Can you predict the next possible item that the user may expect?"),
                   S("user", f"The user has interacted with items {H} in chronological order."),
                   S("assistant", "<a_12><b_34><c_56>")], 0),
    ("task2_title_to_sid", [S("system", P + " \nAnswer the question about item identification.\n"),
                            S("user", "Which item has the title: Stanley TRA708T Sharpshooter Staples?"),
                            S("assistant", "<a_42><b_80><c_160>")], 0),
    ("task2_sid_to_title", [S("system", P + " \nAnswer the question about item identification.\n"),
                            S("user", 'What is the title of item "<a_42><b_80><c_160>"?'),
                            S("assistant", "Stanley TRA708T Sharpshooter 1/2-Inch Leg Length Staples")], 0),
    ("task3", [S("system", P + "\nCan you recommend the next item for the user based on their interaction history?\n"),
               S("user", f"The user has sequentially interacted with items {H}. Can you recommend the next item for "
                         "him? Tell me the title of the item?"),
               S("assistant", "SUPCO SPP6 Relay/Capacitor Hard Start Kit")], 0),
    ("stage2_gen", [S("system", P + "\nCan you recommend the next item for the user based on their interaction "
                                    "history?\n"),
                    S("user", f"The user has sequentially interacted with items {H}. Can you recommend the next item "
                              "for him? Let's think step by step before making recommendation. Directly output the "
                              "item SID after thinking.")], GEN),
    ("stage2_target", [S("system", P), S("user", f"History: {H}."),
                       S("assistant", "<think>\nThe user buys tools; <a_60><b_159><c_203> is a drill.\n</think>\n\n"
                                      "<a_1><b_2><c_3>")], 0),
    # generation prompt variants
    ("user_only_gen", [S("user", "Hello!")], GEN),
    ("user_only_gen_no_thinking", [S("user", "Hello!")], GEN | NO_THINK),
    ("no_thinking_without_gen_prompt", [S("user", "Hello!")], NO_THINK),
    ("user_only", [S("user", "Hello!")], 0),
    ("system_only_gen", [S("system", "You are terse.")], GEN),
    ("empty_strings", [S("system", ""), S("user", ""), S("assistant", "")], 0),
    ("empty_user_gen", [S("user", "")], GEN),
    # multi-turn: earlier assistant turns have no think block
    ("multi_turn_final", [S("system", "sys"), S("user", "q1"), S("assistant", "a1"), S("user", "q2"),
                          S("assistant", "a2")], 0),
    ("multi_turn_gen", [S("system", "sys"), S("user", "q1"), S("assistant", "a1"), S("user", "q2")], GEN),
    ("multi_turn_gen_no_thinking", [S("user", "q1"), S("assistant", "a1"), S("user", "q2")], GEN | NO_THINK),
    ("multi_turn_earlier_think_dropped", [S("user", "q1"), S("assistant", "<think>\nr1\n</think>\n\na1"),
                                          S("user", "q2"), S("assistant", "<think>\nr2\n</think>\n\na2")], 0),
    ("multi_turn_earlier_think_dropped_gen", [S("user", "q1"), S("assistant", "<think>\nr1\n</think>\n\na1"),
                                              S("user", "q2")], GEN),
    # assistant turns after the last query
    ("after_query_reasoning_kept", [S("user", "q"), S("assistant", "<think>r1</think>a1"),
                                    S("assistant", "plain middle"), S("assistant", "final")], 0),
    ("after_query_no_reasoning_plain", [S("user", "q"), S("assistant", "a1"), S("assistant", "a2")], GEN),
    ("no_user_at_all", [S("system", "sys"), S("assistant", "<think>r</think>answer")], 0),
    ("assistant_only", [S("assistant", "hi")], 0),
    # the template's reasoning split
    ("think_inline", [S("user", "q"), S("assistant", "<think>short</think>answer")], 0),
    ("think_newlines", [S("user", "q"), S("assistant", "<think>\n\n\nlots of newlines\n\n\n</think>\n\n\n\nanswer\n")],
     0),
    ("think_empty", [S("user", "q"), S("assistant", "<think>\n\n</think>\n\nanswer")], 0),
    ("think_without_open", [S("user", "q"), S("assistant", "reasoning without open tag</think>answer")], 0),
    ("think_twice", [S("user", "q"), S("assistant", "<think>a</think>b<think>c</think>d")], 0),
    ("think_nested_open", [S("user", "q"), S("assistant", "pre<think>x<think>y\n</think>z")], 0),
    ("open_without_close", [S("user", "q"), S("assistant", "<think>never closed")], 0),
    ("leading_newlines_final", [S("user", "q"), S("assistant", "\n\nanswer")], 0),
    ("leading_newlines_earlier", [S("user", "q"), S("assistant", "\n\nanswer"), S("user", "q2")], GEN),
    ("trailing_newlines", [S("user", "q\n\n"), S("assistant", "a\n\n")], 0),
    # roles
    ("second_system", [S("system", "s1"), S("user", "q"), S("system", "s2"), S("assistant", "a")], 0),
    ("system_not_first", [S("user", "q"), S("system", "late system")], GEN),
    ("unknown_role_skipped", [S("user", "q"), S("narrator", "ignored"), S("assistant", "a")], 0),
    ("tool_turns", [S("user", "weather?"), S("assistant", "calling"), S("tool", "sunny"), S("tool", "22C"),
                    S("assistant", "It is sunny.")], 0),
    ("tool_response_user_not_query", [S("user", "q"), S("assistant", "<think>r</think>a"),
                                      S("user", "<tool_response>\nx\n</tool_response>"), S("assistant", "done")], 0),
    # text
    ("unicode", [S("system", "Réponds en français."), S("user", "推荐一个 <a_1><b_2><c_3> 类似的商品 😀"),
                 S("assistant", "<think>\nÇa dépend.\n</think>\n\n<a_9><b_8><c_7>")], 0),
    ("special_tokens_in_content", [S("user", "literal <|im_end|> and <think> in text")], GEN),
]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(os.path.dirname(here))
    shared = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SIDR_SHARED", os.path.join(repo, "..", "shared"))
    with open(os.path.join(shared, "tokenizers", "qwen3", "tokenizer_config.json"), encoding="utf-8") as f:
        template_src = json.load(f)["chat_template"]

    # As transformers' chat-template rendering sets jinja2 up.
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = lambda x, indent=None: json.dumps(x, ensure_ascii=False, indent=indent)
    template = env.from_string(template_src)

    out = []
    for name, messages, flags in CASES:
        kwargs = {"messages": messages, "add_generation_prompt": bool(flags & GEN)}
        if flags & NO_THINK:
            kwargs["enable_thinking"] = False
        out.append({"name": name, "flags": flags, "messages": messages, "expected": template.render(**kwargs)})

    dest = os.path.join(repo, "tests", "fixtures", "tokenizer", "chat_cases.json")
    with open(dest, "w", encoding="utf-8") as f:
        json.dump({"generator": "tests/ref/chat_reference.py",
                   "reference": f"jinja2 {jinja2.__version__}, Qwen3 tokenizer_config.json chat_template",
                   "cases": out}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {len(out)} chat cases -> {os.path.relpath(dest, repo)}")


if __name__ == "__main__":
    main()
