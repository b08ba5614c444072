from .processing_meme import MemeProcessor


__all__ = ["MemeProcessor"]
