import re

import pytest

from artforge.errors import ArtforgeError
from artforge.evaluate.report import write_report
from artforge.train import TrainConfig, train


def test_report_of_a_run_has_curves_grids_and_working_links(tmp_path):
    run = train(
        TrainConfig(
            source="builtin:shapes",
            n_builtin=24,
            model="dcgan",
            size=16,
            width=8,
            latent_dim=8,
            batch=8,
            steps=4,
            log_every=1,
            sample_every=2,
            ckpt_every=4,
            eval_every=2,
            eval_n=16,
            tensorboard=False,
            progress=False,
            precision="fp32",
            out=str(tmp_path / "run"),
        )
    )
    page = write_report(run, samples=16)
    text = page.read_text()
    assert "losses.png" in text and "metrics.png" in text and "step-00000004" in text
    assert "memorization-pairs.png" in text and "flagged as likely copies" in text
    assert "critic-scores.png" in text and "mean score" in text
    for link in re.findall(r'src="([^"]+)"', text):
        assert (page.parent / link).resolve().is_file(), link


def test_report_refuses_a_folder_that_is_not_a_run(tmp_path):
    with pytest.raises(ArtforgeError, match="not a run folder"):
        write_report(tmp_path)
