"""Model bundles. Each sub-folder is a flat Hub bundle: its files import only torch, transformers, the standard
library and their siblings, so `save_pretrained` can copy them next to the weights for `trust_remote_code` loading."""
