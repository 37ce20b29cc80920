/* placeholder */ typedef int sidr_placeholder_cmd_generate;
