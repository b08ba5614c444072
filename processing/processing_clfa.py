"""Processor of CLFA: inputs for the student encoders (e.g. BERT tokens and ViT pixels) and for the CLIP teacher.

The students and the teacher read the same post through their own tokenizer and image processor. Images of any mode
are converted to RGB as `MemeProcessor` does (alpha dropped); missing text is the empty string. Student texts are
truncated to `max_length` tokens (77, as the original, to match CLIP's context) and knowledge texts (OCR, captions) to
`knowledge_max_length` (66). The image processors apply their own normalisation (the original fed its ViT with
ImageNet statistics instead of the ViT checkpoint's own).
"""

import os
from typing import Any

from transformers import AutoImageProcessor, AutoTokenizer, CLIPImageProcessorPil, CLIPTokenizer, ProcessorMixin
from transformers.feature_extraction_utils import BatchFeature
from transformers.image_utils import to_numpy_array

from .processing_meme import to_rgb_image


class CLFAProcessor(ProcessorMixin):
    r"""
    Prepares posts for [`CLFAForClassification`].

    Args:
        image_processor: the student image encoder's image processor (e.g. `ViTImageProcessorPil`).
        tokenizer: the student text encoder's tokenizer (e.g. `BertTokenizer`).
        teacher_image_processor ([`CLIPImageProcessorPil`]): the teacher CLIP's image processor.
        teacher_tokenizer ([`CLIPTokenizer`]): the teacher CLIP's tokenizer.
        max_length (`int`, *optional*, defaults to 77): maximum student text length in tokens.
        knowledge_max_length (`int`, *optional*, defaults to 66): maximum knowledge text length in tokens.
    """

    def __init__(
        self,
        image_processor: Any = None,
        tokenizer: Any = None,
        teacher_image_processor: CLIPImageProcessorPil | None = None,
        teacher_tokenizer: CLIPTokenizer | None = None,
        max_length: int = 77,
        knowledge_max_length: int = 66,
        **kwargs: Any,
    ):
        for name, value in (("max_length", max_length), ("knowledge_max_length", knowledge_max_length)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 2:
                raise ValueError(f"`{name}` must be an integer >= 2, got {value!r}.")
        self.max_length = max_length
        self.knowledge_max_length = knowledge_max_length
        super().__init__(image_processor, tokenizer, teacher_image_processor, teacher_tokenizer, **kwargs)

    @classmethod
    def from_pretrained_backbones(
        cls,
        text: str | os.PathLike = "bert-base-uncased",
        vision: str | os.PathLike = "google/vit-base-patch32-224-in21k",
        teacher: str | os.PathLike = "openai/clip-vit-base-patch32",
        **kwargs: Any,
    ) -> "CLFAProcessor":
        """The processors of the three checkpoints `CLFAForClassification.from_pretrained_backbones` loads."""
        return cls(
            image_processor=AutoImageProcessor.from_pretrained(vision, backend="pil"),
            tokenizer=AutoTokenizer.from_pretrained(text),
            teacher_image_processor=CLIPImageProcessorPil.from_pretrained(teacher),
            teacher_tokenizer=CLIPTokenizer.from_pretrained(teacher),
            **kwargs,
        )

    @property
    def model_input_names(self) -> list[str]:
        return [
            "pixel_values", "input_ids", "attention_mask", "knowledge_input_ids", "knowledge_attention_mask",
            "teacher_pixel_values", "teacher_input_ids", "teacher_attention_mask",
        ]  # fmt: skip

    def __call__(
        self,
        images: Any = None,
        text: Any = None,
        knowledge: Any = None,
        return_tensors: str | None = "pt",
        **kwargs: Any,
    ) -> BatchFeature:
        """
        Args:
            images: PIL images, numpy arrays, paths, bytes or `datasets.Image(decode=False)` cells (one per post),
                opened as `MemeProcessor` opens them (`PIL.Image.open`, no EXIF orientation).
            text: the posts' texts (`None` for a missing text).
            knowledge (*optional*): a second text per post (OCR, caption), for models built with `use_knowledge`.
            return_tensors: tensor type of the outputs.

        Returns:
            [`BatchFeature`] with the student inputs (`pixel_values`, `input_ids`, `attention_mask`, and
            `knowledge_*` when given) and the teacher inputs (`teacher_pixel_values`, `teacher_input_ids`,
            `teacher_attention_mask`).
        """
        if kwargs:
            raise TypeError(f"Unexpected keyword arguments {sorted(kwargs)}; `CLFAProcessor` takes images and texts.")
        if images is None or text is None:
            raise ValueError("Pass `images` and `text`: CLFA reads both, through its students and its teacher.")
        images = list(images) if isinstance(images, (list, tuple)) else [images]
        text = list(text) if isinstance(text, (list, tuple)) else [text]
        if len(images) != len(text):
            raise ValueError(f"Got {len(images)} images but {len(text)} texts; pass one text per image.")
        texts = [_text(item) for item in text]
        arrays = [to_numpy_array(to_rgb_image(image, index, False)) for index, image in enumerate(images)]

        data = {"pixel_values": self.image_processor(arrays, return_tensors=None)["pixel_values"]}
        tokens = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length)
        data.update(input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"])
        if knowledge is not None:
            knowledge = list(knowledge) if isinstance(knowledge, (list, tuple)) else [knowledge]
            if len(knowledge) != len(texts):
                raise ValueError(f"Got {len(texts)} texts but {len(knowledge)} knowledge texts; pass one per post.")
            extra = self.tokenizer(
                [_text(item) for item in knowledge],
                padding=True,
                truncation=True,
                max_length=self.knowledge_max_length,
            )
            data.update(knowledge_input_ids=extra["input_ids"], knowledge_attention_mask=extra["attention_mask"])
        data["teacher_pixel_values"] = self.teacher_image_processor(arrays, return_tensors=None)["pixel_values"]
        teacher_tokens = self.teacher_tokenizer(texts, padding=True, truncation=True, max_length=77)
        data.update(
            teacher_input_ids=teacher_tokens["input_ids"], teacher_attention_mask=teacher_tokens["attention_mask"]
        )
        return BatchFeature(data=data, tensor_type=return_tensors)


def _text(value: Any) -> str:
    """The post's text as written; a missing text (None, NaN) is the empty string."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise TypeError(f"Post texts must be strings (or None for missing text), got {type(value).__name__}.")
    return str(value)


__all__ = ["CLFAProcessor"]
