"""The ChatML chat template every exported tokenizer carries: OpenAI's user/assistant/developer roles become ours."""
from __future__ import annotations

# Roles as the model was trained on them (schemas/chatml.py: system, human, bot) and the OpenAI names mapped onto them.
ROLE_NAMES = {"system": "system", "developer": "system", "human": "human", "user": "human", "bot": "bot",
              "assistant": "bot"}

# transformers' apply_chat_template renders <|im_start|>role\ncontent<|im_end|>\n per turn, exactly as
# schemas/chatml.render_text does, and "<|im_start|>bot\n" as the generation prompt. A role outside ROLE_NAMES (tool,
# function) raises: the model never saw one, and rendering it silently would make a prompt it cannot read.
CHAT_TEMPLATE = (
    "{%- set names = " + repr(ROLE_NAMES) + " -%}"
    "{%- for m in messages %}"
    "{% if m['role'] not in names %}"
    "{{ raise_exception('role ' ~ m['role'] ~ ' is not one of system, user (human), assistant (bot)') }}"
    "{% endif %}"
    "<|im_start|>{{ names[m['role']] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>bot\n{% endif %}"
)
