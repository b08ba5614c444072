from .processing_clfa import CLFAProcessor
from .processing_meme import PRESETS, MemeProcessor


__all__ = ["PRESETS", "CLFAProcessor", "MemeProcessor"]
