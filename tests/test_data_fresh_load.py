"""Every converter's output loads with plain `datasets.load_dataset(OUT)` in a fresh, offline process, with the
same rows and features as `load_benchmark` gives here. (PrideMM, MET-Meme and MMSD have their own such test.)"""

import test_data_harmeme
import test_data_hateful_memes
import test_data_mvsa
from helpers import run_fresh_python

from memekit.data import load_benchmark, prepare_benchmark


def test_converted_folders_load_offline_in_a_fresh_process(tmp_path):
    releases = {
        "harmeme-c": test_data_harmeme.write_momenta(tmp_path / "harmeme"),
        "harmeme-p": tmp_path / "harmeme",
        "hateful-memes": test_data_hateful_memes.write_release(tmp_path / "hateful"),
        "mvsa-single": test_data_mvsa.write_release(tmp_path / "MVSA_Single", test_data_mvsa.single_lines()[0]),
        "mvsa-multiple": test_data_mvsa.write_release(
            tmp_path / "MVSA_Multiple",
            test_data_mvsa.multiple_lines()[0],
            header="ID\ttext,image\ttext,image\ttext,image",
        ),
    }
    expected = {}
    for name, release in releases.items():
        output = prepare_benchmark(name, release, tmp_path / "out" / name)
        dataset = load_benchmark(name, output)
        expected[name] = {
            split: {"ids": list(rows["id"]), "features": sorted(rows.features)} for split, rows in dataset.items()
        }
    code = f"""
import json
from datasets import load_dataset
result = {{}}
for name in {sorted(releases)!r}:
    dataset = load_dataset({str(tmp_path / "out")!r} + "/" + name)
    result[name] = {{
        split: {{"ids": list(rows["id"]), "features": sorted(rows.features)}} for split, rows in dataset.items()
    }}
print(json.dumps(result))
"""
    assert run_fresh_python(code, cwd=tmp_path, hf_home=tmp_path / "fresh_hf_home") == expected
