from .processing_meme import PRESETS, MemeProcessor


__all__ = ["PRESETS", "MemeProcessor"]
