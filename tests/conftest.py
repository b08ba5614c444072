import os


# Before any HF library is imported: fail fast instead of retrying the (unreachable) Hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import pytest  # noqa: E402
from helpers import LABELS  # noqa: E402

from memekit.tiny import tiny_meme_processor, tiny_memeclip  # noqa: E402


@pytest.fixture(autouse=True)
def _isolated_hf_home(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path_factory.mktemp("hf_home")))


@pytest.fixture
def model_and_processor():
    return tiny_memeclip(LABELS, seed=0)


@pytest.fixture
def processor():
    return tiny_meme_processor()
