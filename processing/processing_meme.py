"""Processor shared by memekit's CLIP-based models: CLIP's tokenizer plus CLIP's PIL image processor.

Images may be PIL images, numpy arrays, paths, raw bytes, or cells of a `datasets.Image(decode=False)` column
(`{"bytes": ..., "path": ...}`; without bytes, `path` is opened). Paths, bytes and cells are opened with
`PIL.Image.open` and fully decoded, as the original MemeCLIP and CDGLT code does (`Image.open(path).convert("RGB")`),
then handled exactly as a PIL image: a prepared dataset read with `decode=False` gives the pixels of the original
files. Neither transformers' `load_image` nor `datasets`' decoded `Image` column is used: both apply the EXIF
orientation, which the original pipelines never do. Two image pipelines are offered:

- `image_mode="memeclip"` reproduces the official MemeCLIP preprocessing: `convert("RGB")` (alpha is dropped, not
  composited), a squash resize to the crop size (224x224) with bicubic resampling, then CLIP normalisation.
- `image_mode="clip"` is CLIP's default: `convert("RGB")`, resize of the shortest edge, centre crop, normalisation.

Text: missing text (`None`, NaN) and texts equal to one of `missing_markers` (by default the exact string "None", as
the official MemeCLIP code does) become `missing_text` ("null" for MemeCLIP); numbers are turned into strings. With
`text_cleaning="openai"` texts are cleaned and encoded as OpenAI's `clip.tokenize` does: `ftfy.fix_text`,
`html.unescape` twice, strip, every run of Unicode whitespace (Python's `str.isspace`) becomes one space, Python's
`str.lower()` (a word-final capital sigma becomes "ς"), then the BPE of the tokenizer's vocabulary and merges. The
tokenizer's own normaliser (NFC, whitespace, per-character lower-casing with the Unicode tables of the `tokenizers`
library) is not run on the cleaned text, as OpenAI's encoder has none: it would recompose accents that `html.unescape`
left decomposed and lower-case letters newer than Python's Unicode tables. With `"none"` the text goes to
transformers' CLIP tokenizer as it is, as models trained with `CLIPProcessor` (CDGLT) saw it. Texts are truncated to
`max_length` tokens keeping the final end-of-text token, so the model pools the same position the official code does.

Where memekit differs from the original pipelines, and why:

- `ftfy` is optional (this file may only rely on torch, transformers and the standard library). Without it
  (`FTFY_AVAILABLE` is False) its repairs (mojibake, fullwidth letters, ligatures, curly quotes, ...) are skipped and
  only its final NFC normalisation is applied, so a few texts tokenise differently from `clip.tokenize`; one warning
  is logged per process.
- For the same reason words are cut by the tokenizer's pre-tokeniser (the `tokenizers` regex engine), not by the
  `regex` package. The pattern is the same, but OpenAI matches it case-insensitively, so contrived texts differ (an
  apostrophe before the long s "ſ", an end-of-text marker written right after punctuation).
- Token ids follow transformers' conventions: padded with the tokenizer's pad token, with an attention mask (OpenAI
  pads with 0); the end token the model pools sits where OpenAI puts it.
- Unreadable images raise a `ValueError` (`FileNotFoundError` for a missing file) naming the image's index and file,
  where the original code crashes somewhere inside Pillow; images over Pillow's decompression-bomb limit
  (`PIL.Image.MAX_IMAGE_PIXELS`) are rejected before decoding, as memekit's data preparation does.
- `exif_transpose=True` makes images upright, an option the original code does not have (off by default).
"""

import html
import importlib
import io
import math
import os
import re
import unicodedata
import warnings
from typing import Any

from transformers import CLIPImageProcessorPil, CLIPTokenizer, ProcessorMixin
from transformers.feature_extraction_utils import BatchFeature
from transformers.image_transforms import to_pil_image
from transformers.image_utils import PILImageResampling, is_pil_image, to_numpy_array
from transformers.utils import logging


logger = logging.get_logger(__name__)

# Pillow is what `CLIPImageProcessorPil` runs on (it is installed wherever this processor can load) and `ftfy` is
# optional. Both are imported by name so that the static imports of this file, which ships as Hub remote code and
# whose top-level imports transformers requires to be installed, stay within torch, transformers and the standard
# library.
PILImage = importlib.import_module("PIL.Image")
try:
    _ftfy = importlib.import_module("ftfy")
except ImportError:
    _ftfy = None
# Whether `text_cleaning="openai"` runs `ftfy.fix_text`, as OpenAI's `clip.tokenize` does.
FTFY_AVAILABLE = _ftfy is not None

IMAGE_MODES = ("memeclip", "clip")
TEXT_CLEANINGS = ("openai", "none")
# The preprocessing each model was trained with. MemeCLIP: OpenAI's `clip` package on squashed images. CDGLT:
# transformers' `CLIPProcessor` (shortest-edge resize and centre crop, text as it is, missing text as "").
PRESETS = {
    "memeclip": {
        "image_mode": "memeclip",
        "text_cleaning": "openai",
        "missing_markers": ["None"],
        "missing_text": "null",
    },
    "cdglt": {"image_mode": "clip", "text_cleaning": "none", "missing_markers": [], "missing_text": ""},
}
# EXIF orientation tag -> PIL `Image.Transpose` values (FLIP_LEFT_RIGHT=0, FLIP_TOP_BOTTOM=1, ROTATE_90=2,
# ROTATE_180=3, ROTATE_270=4, TRANSPOSE=5, TRANSVERSE=6), the transposition that makes the image upright.
_EXIF_ORIENTATION_TAG = 0x0112
_EXIF_TRANSPOSE = {2: 0, 3: 3, 4: 1, 5: 5, 6: 4, 7: 6, 8: 2}
_WHITESPACE = re.compile(r"\s+")
_ENCODED_IMAGE_TYPES = (str, os.PathLike, bytes, bytearray, dict)


def open_image(source: Any, index: int) -> Any:
    """
    Open an image given as a path, raw bytes or a `datasets.Image(decode=False)` cell with `PIL.Image.open`, check
    its size against Pillow's decompression-bomb limit, and decode it fully (the file is closed on return). No EXIF
    orientation is applied. `index` names the image in errors.
    """
    data, path = None, None
    if isinstance(source, dict):
        data, path = source.get("bytes"), source.get("path")
        if data is None and path is None:
            raise ValueError(f"`images[{index}]` is a dict with neither `bytes` nor `path`.")
        if data is not None and not isinstance(data, (bytes, bytearray)):
            raise TypeError(f"`images[{index}]['bytes']` must be bytes, got {type(data).__name__}.")
    elif isinstance(source, (bytes, bytearray)):
        data = source
    else:
        path = source
    path = None if path is None else os.fsdecode(path)
    shown = f"`images[{index}]`" if path is None else f"`images[{index}]` ({path!r})"
    if data is None and not os.path.isfile(path):
        raise FileNotFoundError(f"{shown} is not an existing image file.")

    max_pixels = PILImage.MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            # Between the limit and twice it Pillow only warns: the size is checked below, with a clearer message.
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            image = PILImage.open(io.BytesIO(data) if data is not None else path)
    except PILImage.DecompressionBombError as error:
        raise ValueError(f"{shown} looks like a decompression bomb ({error})") from error
    except (OSError, SyntaxError, ValueError) as error:
        if isinstance(error, OSError) and error.errno is not None:
            raise  # the file system's error (permissions, ...), not the image's
        raise ValueError(f"{shown} cannot be decoded ({_decoding_problem(error)})") from error
    with image:
        width, height = image.size
        if max_pixels is not None and width * height > max_pixels:
            raise ValueError(
                f"{shown} is {width}x{height} pixels, over the decompression-bomb limit of {max_pixels} pixels"
            )
        try:
            image.load()  # decodes everything: truncated files fail here, not later
        except (OSError, SyntaxError, ValueError) as error:
            raise ValueError(f"{shown} cannot be decoded ({_decoding_problem(error)})") from error
    return image


def _decoding_problem(error: Exception) -> str:
    # Pillow's "cannot identify image file <path or stream>" repeats what the message already names.
    return "not an image format Pillow can read" if isinstance(error, PILImage.UnidentifiedImageError) else str(error)


def to_rgb_image(image: Any, index: int, exif_transpose: bool) -> Any:
    """
    A PIL RGB image from a PIL image (any mode), a numpy array, a path, raw bytes or a `datasets.Image(decode=False)`
    cell; the last three are opened with `open_image`. `index` names the image in errors.
    """
    if isinstance(image, _ENCODED_IMAGE_TYPES):
        image = open_image(image, index)
    elif not is_pil_image(image):
        if type(image).__module__ == "numpy" and hasattr(image, "ndim") and image.ndim in (2, 3):
            image = to_pil_image(image)
        else:
            raise TypeError(
                f"`images[{index}]` must be a PIL image, a numpy array (HxW or HxWxC), a path, bytes or a "
                f"`datasets.Image(decode=False)` cell, got {type(image).__name__}."
            )
    if exif_transpose:
        method = _EXIF_TRANSPOSE.get(image.getexif().get(_EXIF_ORIENTATION_TAG))
        if method is not None:
            image = image.transpose(method)
    # Like the official code, alpha is dropped rather than composited onto a background.
    return image.convert("RGB")


def openai_clean_text(text: str) -> str:
    """OpenAI CLIP's text cleaning (`clip.tokenize`); without `ftfy`, only its final NFC normalisation is applied."""
    text = _ftfy.fix_text(text) if _ftfy is not None else unicodedata.normalize("NFC", text)
    text = html.unescape(html.unescape(text)).strip()
    return _WHITESPACE.sub(" ", text).strip().lower()


class MemeProcessor(ProcessorMixin):
    r"""
    Prepares meme images and texts for memekit's CLIP-based models.

    Args:
        image_processor ([`CLIPImageProcessorPil`]):
            CLIP's image processor (PIL backend; torchvision is not needed).
        tokenizer ([`CLIPTokenizer`]):
            CLIP's tokenizer.
        image_mode (`str`, *optional*, defaults to `"memeclip"`):
            `"memeclip"` (squash resize to the crop size, as the official MemeCLIP) or `"clip"` (CLIP's shortest-edge
            resize and centre crop).
        exif_transpose (`bool`, *optional*, defaults to `False`):
            Rotate images upright according to their EXIF orientation, whatever form they are given in (PIL image,
            path, bytes, dataset cell). The original MemeCLIP and CDGLT pipelines ignore EXIF, so the default
            reproduces them.
        max_length (`int`, *optional*, defaults to 77):
            Maximum number of tokens, including start and end tokens (CLIP's context length).
        missing_text (`str`, *optional*, defaults to `"null"`):
            Text used for missing texts.
        missing_markers (`list[str]`, *optional*, defaults to `["None"]`):
            Texts that mean "no text" and are replaced by `missing_text` (exact match, before any cleaning).
        text_cleaning (`str`, *optional*, defaults to `"openai"`):
            `"openai"` (OpenAI's `clip.tokenize`: ftfy repair, HTML unescaping, whitespace collapsing, lower-casing,
            then the BPE without the tokenizer's normaliser; see the module docstring) or `"none"` (the text as it
            is, through the whole tokenizer, as `CLIPProcessor`).

    Example:

    ```python
    >>> processor = MemeProcessor.from_clip("openai/clip-vit-large-patch14")
    >>> inputs = processor(images=[image], text=["one does not simply"], return_tensors="pt")
    >>> sorted(inputs)
    ['attention_mask', 'input_ids', 'pixel_values']
    ```
    """

    def __init__(
        self,
        image_processor: CLIPImageProcessorPil | None = None,
        tokenizer: CLIPTokenizer | None = None,
        image_mode: str = "memeclip",
        exif_transpose: bool = False,
        max_length: int = 77,
        missing_text: str = "null",
        missing_markers: list[str] | tuple[str, ...] = ("None",),
        text_cleaning: str = "openai",
        **kwargs: Any,
    ):
        if image_mode not in IMAGE_MODES:
            raise ValueError(f"`image_mode` must be one of {IMAGE_MODES}, got {image_mode!r}.")
        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 2:
            raise ValueError(f"`max_length` must be an integer >= 2 (start and end tokens), got {max_length!r}.")
        if not isinstance(missing_text, str):
            raise TypeError(f"`missing_text` must be a string, got {type(missing_text).__name__}.")
        if isinstance(missing_markers, str) or not all(isinstance(marker, str) for marker in missing_markers):
            raise TypeError(f"`missing_markers` must be a list of strings, got {missing_markers!r}.")
        if text_cleaning not in TEXT_CLEANINGS:
            raise ValueError(f"`text_cleaning` must be one of {TEXT_CLEANINGS}, got {text_cleaning!r}.")
        self.image_mode = image_mode
        self.exif_transpose = bool(exif_transpose)
        self.max_length = max_length
        self.missing_text = missing_text
        self.missing_markers = list(missing_markers)
        self.text_cleaning = text_cleaning
        if text_cleaning == "openai" and _ftfy is None:
            logger.warning_once(
                "`ftfy` is not installed: MemeProcessor's OpenAI text cleaning skips its repairs, so a few texts "
                "tokenise differently from OpenAI's `clip.tokenize` (`pip install ftfy`)."
            )
        super().__init__(image_processor, tokenizer, **kwargs)

    @classmethod
    def from_clip(
        cls, clip_name_or_path: str | os.PathLike, preset: str = "memeclip", **kwargs: Any
    ) -> "MemeProcessor":
        """
        Build the processor from the tokenizer and image-processor files of a CLIP checkpoint (Hub id or folder).

        Args:
            clip_name_or_path: Hub id or folder of the CLIP, e.g. `"openai/clip-vit-large-patch14"`.
            preset: the preprocessing of the model to feed, `"memeclip"` or `"cdglt"` (see `PRESETS`).
            kwargs: settings that override the preset's.
        """
        if preset not in PRESETS:
            raise ValueError(f"`preset` must be one of {sorted(PRESETS)}, got {preset!r}.")
        image_processor = CLIPImageProcessorPil.from_pretrained(clip_name_or_path)
        tokenizer = CLIPTokenizer.from_pretrained(clip_name_or_path)
        return cls(image_processor=image_processor, tokenizer=tokenizer, **{**PRESETS[preset], **kwargs})

    @property
    def model_input_names(self) -> list[str]:
        return ["pixel_values", "input_ids", "attention_mask"]

    def __call__(
        self,
        images: Any = None,
        text: Any = None,
        return_tensors: str | None = "pt",
        **kwargs: Any,
    ) -> BatchFeature:
        """
        Args:
            images (PIL image, numpy array, path, bytes, dataset cell, or a list of them, *optional*):
                The meme images. Any PIL mode is accepted (RGBA, palette, greyscale, CMYK, 16-bit, ...). Paths, bytes
                and cells (`{"bytes": ..., "path": ...}`) are opened with `PIL.Image.open`, as the original code does.
            text (`str`, `None`, or a list of them, *optional*):
                The meme texts, one per image when both are given.
            return_tensors (`str`, *optional*, defaults to `"pt"`):
                Tensor type of the outputs.

        Returns:
            [`BatchFeature`] with `pixel_values` (when images are given) and `input_ids`/`attention_mask` (when texts
            are given).
        """
        if kwargs:
            raise TypeError(
                f"Unexpected keyword arguments {sorted(kwargs)}; `MemeProcessor` takes images and text only."
            )
        if images is None and text is None:
            raise ValueError("Pass `images`, `text` or both.")
        data = {}
        if images is not None:
            images = list(images) if isinstance(images, (list, tuple)) else [images]
            data.update(self.preprocess_images(images))
        if text is not None:
            text = list(text) if isinstance(text, (list, tuple)) else [text]
            if images is not None and len(images) != len(text):
                raise ValueError(f"Got {len(images)} images but {len(text)} texts; pass one text per image.")
            tokens = self._tokenize([self.clean_text(item) for item in text])
            data["input_ids"] = tokens["input_ids"]
            data["attention_mask"] = tokens["attention_mask"]
        return BatchFeature(data=data, tensor_type=return_tensors)

    def preprocess_images(self, images: list[Any]) -> dict[str, Any]:
        arrays = []
        for index, image in enumerate(images):
            image = self._to_rgb(image, index)
            if self.image_mode == "memeclip":
                crop = self.image_processor.crop_size
                image = image.resize((crop["width"], crop["height"]), resample=PILImageResampling.BICUBIC)
            arrays.append(to_numpy_array(image))
        # In "memeclip" mode the images already have the crop size: CLIP's resize and centre crop are no-ops there,
        # which is also what the official pipeline relies on.
        skip = self.image_mode == "memeclip"
        return self.image_processor(
            arrays, do_resize=not skip, do_center_crop=not skip, do_convert_rgb=False, return_tensors=None
        ).data

    def _to_rgb(self, image: Any, index: int) -> Any:
        return to_rgb_image(image, index, self.exif_transpose)

    def clean_text(self, text: Any) -> str:
        """Normalise one meme text (see the module docstring): what the BPE reads with `text_cleaning="openai"`."""
        if text is None or (isinstance(text, float) and math.isnan(text)):
            text = self.missing_text
        elif isinstance(text, bool) or not isinstance(text, (str, int, float)):
            raise TypeError(f"Meme texts must be strings (or None for missing text), got {type(text).__name__}.")
        else:
            text = str(text)
            # Markers are compared before any cleaning; the replacement is then cleaned as the official code does.
            if text in self.missing_markers:
                text = self.missing_text
        if self.text_cleaning == "none":
            return text
        return openai_clean_text(text)

    def _tokenize(self, texts: list[str]) -> Any:
        if self.text_cleaning == "openai":
            rows = self._openai_token_ids(texts)
            if rows is not None:
                return self.tokenizer.pad({"input_ids": rows}, padding=True, return_attention_mask=True)
        return self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length)

    def _openai_token_ids(self, texts: list[str]) -> list[list[int]] | None:
        """
        Cleaned texts encoded as OpenAI's `clip.tokenize(..., truncate=True)` lays them out: the start token, the
        first `max_length - 2` BPE pieces, the end token (unpadded). The tokenizer's pre-tokeniser and BPE model are
        run without its normaliser. None when the tokenizer has no `tokenizers` backend (it is then called as is).
        """
        tokenizer = self.tokenizer
        backend = getattr(tokenizer, "backend_tokenizer", None)
        bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
        if backend is None or backend.pre_tokenizer is None or bos is None or eos is None:
            return None
        # OpenAI's encoder reads these two markers in a text as the special tokens, as transformers' tokenizer does.
        specials = {tokenizer.bos_token: bos, tokenizer.eos_token: eos}
        splitter = re.compile("(" + "|".join(re.escape(token) for token in specials) + ")")
        rows = []
        for text in texts:
            ids = []
            for part in splitter.split(text):
                if part in specials:
                    ids.append(specials[part])
                    continue
                for word, _ in backend.pre_tokenizer.pre_tokenize_str(part):
                    ids.extend(token.id for token in backend.model.tokenize(word))
            rows.append([bos, *ids[: self.max_length - 2], eos])
        return rows


__all__ = ["FTFY_AVAILABLE", "PRESETS", "MemeProcessor", "open_image", "openai_clean_text", "to_rgb_image"]
