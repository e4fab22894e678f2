"""Chat templates: a conversation rendered with the GGUF's template, and the token head chats share."""
from __future__ import annotations

import ctypes
from typing import Callable, Sequence

import numpy as np

_SPLIT_MARK = "@@AGENTCORE-SPLIT@@"  # printable: the C template renderer stops at NUL
_MAX_HEADS = 1024


class ChatTemplate:
    """Renders chats with a model's template; ``tokenize`` turns text into that model's token ids."""

    def __init__(self, lib, template: bytes | None, tokenize: Callable[[str], list[int]]):
        self.lib = lib
        self.template = template
        self.tokenize = tokenize
        self._heads: dict[str, list[int]] = {}
        self._marker: list[int] | None = None

    def render(self, messages: Sequence[dict], add_generation_prompt: bool = True) -> str:
        """The prompt text for ``messages`` under the template (llama.cpp's renderer, else Jinja)."""
        ll = self.lib
        n = len(messages)
        arr = (ll.llama_chat_message * n)()
        keep = []
        for i, m in enumerate(messages):
            role = str(m["role"]).encode()
            content = str(m["content"]).encode()
            keep += [role, content]
            arr[i].role = role
            arr[i].content = content
        size = sum(len(x) for x in keep) * 2 + 256
        for _ in range(2):
            buf = ctypes.create_string_buffer(size)
            got = ll.llama_chat_apply_template(self.template, arr, n, add_generation_prompt, buf, size)
            if got < 0:
                return self._render_jinja(messages, add_generation_prompt)
            if got <= size:
                return buf.raw[:got].decode("utf-8", "replace")
            size = got + 1
        raise RuntimeError("chat template output kept growing")  # pragma: no cover

    def _render_jinja(self, messages, add_generation_prompt):
        # Templates llama.cpp's built-in matcher does not know: render the GGUF's Jinja text.
        if not self.template:
            return "".join(f"{m['role']}: {m['content']}\n" for m in messages) + (
                "assistant: " if add_generation_prompt else "")
        import jinja2

        env = jinja2.Environment(loader=jinja2.BaseLoader())
        return env.from_string(self.template.decode()).render(
            messages=list(messages), add_generation_prompt=add_generation_prompt,
            bos_token="", eos_token="")

    def turn_marker(self) -> list[int]:
        """Tokens that end every prompt of a chat: the assistant turn's head (``<|im_start|>assistant\n``).

        Where they occur inside a prompt, an earlier turn's prompt ended (see ``turn_cuts``).
        """
        if self._marker is None:
            msgs = [{"role": "user", "content": _SPLIT_MARK}]
            with_head, without = self.render(msgs, True), self.render(msgs, False)
            tail = with_head[len(without):] if with_head.startswith(without) else ""
            toks = self.tokenize(tail) if tail else []
            bos = self.tokenize("")
            self._marker = toks[len(bos):] if toks[:len(bos)] == bos else toks
        return self._marker

    def turn_cuts(self, tokens, start: int) -> tuple[int, ...]:
        """Positions after ``start`` where an earlier assistant turn of this prompt began (its prompt's end)."""
        m = self.turn_marker()
        if not m:
            return ()
        arr = np.asarray(tokens)
        n = len(m)
        hits = np.flatnonzero(arr[:len(arr) - n] == m[0])  # the final marker ends the prompt: no cut
        return tuple(int(i) + n for i in hits if i + n > start and list(arr[i:i + n]) == m)

    def prefix_head(self, messages: Sequence[dict]) -> list[int] | None:
        """Tokens every chat with this system message starts with (system turn + user-turn head).

        None when the chat has no system message followed by another turn.
        """
        if not messages or messages[0].get("role") != "system" or len(messages) < 2:
            return None
        system = str(messages[0]["content"])
        head = self._heads.get(system)
        if head is None:
            text = self.render([messages[0], {"role": "user", "content": _SPLIT_MARK}], False)
            cut = text.find(_SPLIT_MARK)
            head = self.tokenize(text[:cut]) if cut > 0 else []
            if len(self._heads) > _MAX_HEADS:
                self._heads.clear()
            self._heads[system] = head
        return head
