"""Processor shared by memekit's CLIP-based models: CLIP's tokenizer plus CLIP's PIL image processor.

Two image pipelines are offered:

- `image_mode="memeclip"` reproduces the official MemeCLIP preprocessing: `convert("RGB")` (alpha is dropped, not
  composited), a squash resize to the crop size (224x224) with bicubic resampling, then CLIP normalisation.
- `image_mode="clip"` is CLIP's default: `convert("RGB")`, resize of the shortest edge, centre crop, normalisation.

Text: missing text (`None`, NaN) and texts equal to one of `missing_markers` (by default the exact string "None", as
the official MemeCLIP code does) become `missing_text` ("null" for MemeCLIP); numbers are turned into strings. With
`text_cleaning="openai"` HTML entities are unescaped and whitespace collapsed, as OpenAI's `clip.tokenize` does (its
`ftfy` repair step is not applied); with `"none"` the text goes to transformers' CLIP tokenizer as it is, as models
trained with `CLIPProcessor` (CDGLT) saw it. Texts are truncated to `max_length` tokens keeping the final end-of-text
token, so the model pools the same position the official code does.
"""

import html
import math
import os
import re
from typing import Any

from transformers import CLIPImageProcessorPil, CLIPTokenizer, ProcessorMixin
from transformers.feature_extraction_utils import BatchFeature
from transformers.image_transforms import to_pil_image
from transformers.image_utils import PILImageResampling, is_pil_image, load_image, to_numpy_array


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


def to_rgb_image(image: Any, index: int, exif_transpose: bool) -> Any:
    """A PIL RGB image from a PIL image (any mode), a numpy array or a path; `index` names it in errors."""
    if isinstance(image, (str, os.PathLike)):
        path = os.fspath(image)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"`images[{index}]` is not an existing image file: {path!r}.")
        return load_image(path)
    if not is_pil_image(image):
        if type(image).__module__ == "numpy" and hasattr(image, "ndim") and image.ndim in (2, 3):
            image = to_pil_image(image)
        else:
            raise TypeError(
                f"`images[{index}]` must be a PIL image, a numpy array (HxW or HxWxC) or a path, got "
                f"{type(image).__name__}."
            )
    if exif_transpose:
        method = _EXIF_TRANSPOSE.get(image.getexif().get(_EXIF_ORIENTATION_TAG))
        if method is not None:
            image = image.transpose(method)
    # Like the official code, alpha is dropped rather than composited onto a background.
    return image.convert("RGB")


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
            Rotate PIL images upright according to their EXIF orientation. The official MemeCLIP ignores EXIF, so the
            default reproduces it. Images given as paths are opened by transformers' `load_image`, which always
            applies the EXIF orientation.
        max_length (`int`, *optional*, defaults to 77):
            Maximum number of tokens, including start and end tokens (CLIP's context length).
        missing_text (`str`, *optional*, defaults to `"null"`):
            Text used for missing texts.
        missing_markers (`list[str]`, *optional*, defaults to `["None"]`):
            Texts that mean "no text" and are replaced by `missing_text` (exact match, before any cleaning).
        text_cleaning (`str`, *optional*, defaults to `"openai"`):
            `"openai"` (unescape HTML entities and collapse whitespace, as `clip.tokenize`) or `"none"`.

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
            images (PIL image, numpy array, path, or a list of them, *optional*):
                The meme images. Any PIL mode is accepted (RGBA, palette, greyscale, CMYK, 16-bit, ...).
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
            tokens = self.tokenizer(
                [self.clean_text(item) for item in text],
                padding=True,
                truncation=True,
                max_length=self.max_length,
            )
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
        """Normalise one meme text (see the module docstring)."""
        if text is None or (isinstance(text, float) and math.isnan(text)):
            return self.missing_text
        if isinstance(text, bool) or not isinstance(text, (str, int, float)):
            raise TypeError(f"Meme texts must be strings (or None for missing text), got {type(text).__name__}.")
        text = str(text)
        if text in self.missing_markers:
            return self.missing_text
        if self.text_cleaning == "none":
            return text
        text = html.unescape(html.unescape(text))
        return _WHITESPACE.sub(" ", text).strip()


__all__ = ["PRESETS", "MemeProcessor", "to_rgb_image"]
