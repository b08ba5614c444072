from .configuration_memeclip import MemeCLIPConfig
from .modeling_memeclip import MemeCLIPForClassification, MemeCLIPOutput, MemeCLIPPreTrainedModel


__all__ = ["MemeCLIPConfig", "MemeCLIPForClassification", "MemeCLIPOutput", "MemeCLIPPreTrainedModel"]
