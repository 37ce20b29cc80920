/* placeholder */ typedef int sidr_placeholder_tokenizer;
