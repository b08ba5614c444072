"""memekit: HuggingFace-native classifiers of memes and social-media posts from their image and text together."""

from transformers import AutoConfig, AutoModel, AutoProcessor

from memekit.modeling.memeclip import MemeCLIPConfig, MemeCLIPForClassification, MemeCLIPOutput
from memekit.processing import MemeProcessor


__version__ = "0.1.0.dev0"

# Installed-package path: the Auto classes know memekit's model types without `trust_remote_code`.
AutoConfig.register(MemeCLIPConfig.model_type, MemeCLIPConfig, exist_ok=True)
AutoModel.register(MemeCLIPConfig, MemeCLIPForClassification, exist_ok=True)
AutoProcessor.register(MemeCLIPConfig, MemeProcessor, exist_ok=True)

# Hub path: `save_pretrained` copies the bundle files and writes `auto_map`, so a saved folder loads anywhere with
# `trust_remote_code=True`. A classification checkpoint is what `AutoModel` returns.
MemeCLIPConfig.register_for_auto_class()
MemeCLIPForClassification.register_for_auto_class("AutoModel")
MemeProcessor.register_for_auto_class("AutoProcessor")

__all__ = ["MemeCLIPConfig", "MemeCLIPForClassification", "MemeCLIPOutput", "MemeProcessor", "__version__"]
