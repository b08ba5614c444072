"""memekit: HuggingFace-native classifiers of memes and social-media posts from their image and text together."""

from transformers import AutoConfig, AutoModel, AutoProcessor

from memekit.modeling.cdglt import CDGLTConfig, CDGLTForClassification, CDGLTOutput
from memekit.modeling.clfa import CLFAConfig, CLFAForClassification, CLFAOutput
from memekit.modeling.memeclip import MemeCLIPConfig, MemeCLIPForClassification, MemeCLIPOutput
from memekit.processing import CLFAProcessor, MemeProcessor


__version__ = "0.1.0.dev0"

# Installed-package path: the Auto classes know memekit's model types without `trust_remote_code`.
# Hub path: `register_for_auto_class` makes `save_pretrained` copy the bundle files and write `auto_map`, so a saved
# folder loads anywhere with `trust_remote_code=True`; `AutoModel` returns the classification model.
for _config, _model in [(MemeCLIPConfig, MemeCLIPForClassification), (CDGLTConfig, CDGLTForClassification)]:
    AutoConfig.register(_config.model_type, _config, exist_ok=True)
    AutoModel.register(_config, _model, exist_ok=True)
    AutoProcessor.register(_config, MemeProcessor, exist_ok=True)
    _config.register_for_auto_class()
    _model.register_for_auto_class("AutoModel")
# CLFA's students may read other inputs than CLIP's (BERT tokens, ViT pixels): its processor is CLFAProcessor (a CLFA
# with CLIP's towers as students can use MemeProcessor).
AutoConfig.register(CLFAConfig.model_type, CLFAConfig, exist_ok=True)
AutoModel.register(CLFAConfig, CLFAForClassification, exist_ok=True)
AutoProcessor.register(CLFAConfig, CLFAProcessor, exist_ok=True)
CLFAConfig.register_for_auto_class()
CLFAForClassification.register_for_auto_class("AutoModel")
MemeProcessor.register_for_auto_class("AutoProcessor")
CLFAProcessor.register_for_auto_class("AutoProcessor")

__all__ = [
    "CDGLTConfig",
    "CDGLTForClassification",
    "CDGLTOutput",
    "CLFAConfig",
    "CLFAForClassification",
    "CLFAProcessor",
    "CLFAOutput",
    "MemeCLIPConfig",
    "MemeCLIPForClassification",
    "MemeCLIPOutput",
    "MemeProcessor",
    "__version__",
]
