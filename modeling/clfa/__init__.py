from .configuration_clfa import CLFAConfig
from .modeling_clfa import (
    CLFAEncoderOutput,
    CLFAForClassification,
    CLFAOutput,
    CLFAPreTrainedModel,
    pool_tokens,
    symmetric_info_nce,
)


__all__ = [
    "CLFAConfig",
    "CLFAEncoderOutput",
    "CLFAForClassification",
    "CLFAOutput",
    "CLFAPreTrainedModel",
    "pool_tokens",
    "symmetric_info_nce",
]
