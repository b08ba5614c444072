from .configuration_cdglt import CDGLTConfig
from .modeling_cdglt import CDGLTForClassification, CDGLTOutput, CDGLTPreTrainedModel, slerp


__all__ = ["CDGLTConfig", "CDGLTForClassification", "CDGLTOutput", "CDGLTPreTrainedModel", "slerp"]
