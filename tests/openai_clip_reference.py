"""OpenAI CLIP's text encoding (`clip.tokenize`, `simple_tokenizer.py`), written from its documented algorithm as an
independent ground truth for the processor tests. No memekit or transformers code is involved.

1. Cleaning: `ftfy.fix_text`, `html.unescape` twice, strip, every run of Unicode whitespace (Python's `\\s` on str)
   becomes one space, strip, then Python's `str.lower()`.
2. Pre-tokenisation: the pattern `PATTERN` (the `regex` package, case-insensitive) cuts the text into words.
3. Each word's UTF-8 bytes are spelled with the byte-level alphabet (`byte_alphabet`), the last symbol gets the
   end-of-word marker `</w>`, and BPE merges the adjacent pair of lowest merge rank until no ranked pair is left.
4. `clip.tokenize(..., truncate=True)` lays out start token + pieces + end token, cut to the context length with the
   end token forced into the last slot.
"""

import html
import re

import ftfy
import regex


START, END = "<|startoftext|>", "<|endoftext|>"
PATTERN = regex.compile(
    r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
    regex.IGNORECASE,
)


def byte_alphabet() -> dict[int, str]:
    """Byte -> symbol. Bytes that are printable Latin-1 characters other than space and soft hyphen ("!".."~",
    "¡".."¬", "®".."ÿ") stand for themselves; the 68 others get the code points 256, 257, ... in byte order."""
    kept = {*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)}
    alphabet, shifted = {}, 0x100
    for byte in range(0x100):
        if byte in kept:
            alphabet[byte] = chr(byte)
        else:
            alphabet[byte] = chr(shifted)
            shifted += 1
    return alphabet


def spell(text: str) -> str:
    """`text`'s UTF-8 bytes in the byte-level alphabet."""
    alphabet = byte_alphabet()
    return "".join(alphabet[byte] for byte in text.encode("utf-8"))


def openai_clean(text: str) -> str:
    text = ftfy.fix_text(text)
    text = html.unescape(html.unescape(text)).strip()
    text = re.sub(r"\s+", " ", text).strip()
    return text.lower()


class OpenAIEncoder:
    """OpenAI's BPE encoder over a vocabulary (`token -> id`, with the start and end tokens) and ranked merges."""

    def __init__(self, vocab: dict[str, int], merges: list[tuple[str, str]]):
        self.vocab = vocab
        self.ranks = {tuple(pair): rank for rank, pair in enumerate(merges)}

    def bpe(self, word: str) -> list[str]:
        if word in (START, END):
            return [word]
        symbols = list(word[:-1]) + [word[-1] + "</w>"]
        while len(symbols) > 1:
            ranked = [
                (self.ranks[pair], pair) for pair in zip(symbols, symbols[1:], strict=False) if pair in self.ranks
            ]
            if not ranked:
                break
            first, second = min(ranked)[1]
            merged, position = [], 0
            while position < len(symbols):
                if position + 1 < len(symbols) and symbols[position] == first and symbols[position + 1] == second:
                    merged.append(first + second)
                    position += 2
                else:
                    merged.append(symbols[position])
                    position += 1
            symbols = merged
        return symbols

    def encode(self, text: str) -> list[int]:
        """The BPE ids of a text (cleaned here), without start and end tokens."""
        ids = []
        for word in PATTERN.findall(openai_clean(text)):
            word = word if word in (START, END) else spell(word)
            ids.extend(self.vocab[piece] for piece in self.bpe(word))
        return ids

    def tokenize(self, text: str, context_length: int = 77) -> list[int]:
        """`clip.tokenize([text], context_length, truncate=True)[0]` without its zero padding."""
        ids = [self.vocab[START], *self.encode(text), self.vocab[END]]
        if len(ids) > context_length:
            ids = ids[:context_length]
            ids[-1] = self.vocab[END]
        return ids
