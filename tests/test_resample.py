"Lesson 04 end to end: every registered sampler touches the training split only; the CLI knows the samplers; bad input."
import dataclasses
import numpy as np, pytest, torch
from imbalance_course.recipes import Recipe, RECIPES
from imbalance_course.store import load_data, run_recipe
from imbalance_course.resample import RESAMPLE_RECIPES, ImbSampler, smote_pixels, weighted_sampler
from imbalance_course.train import Callback
from imbalance_course.models import register_model
from test_cli import cli
import torch.nn as nn


@register_model('tiny_cnn')
def tiny_cnn(in_chans:int=1):
    "A small body (one conv with BatchNorm), so that each sampler's end-to-end run takes a second on a CPU."
    return nn.Sequential(nn.Conv2d(in_chans, 8, 3, stride=2), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())


class Record(Callback):
    "Keeps the splits the loop trained and validated on."
    def before_fit(self, tr): self.train, self.val = tr.train, tr.val


def rows(x: torch.Tensor) -> set:
    return {bytes(r) for r in x.reshape(len(x), -1).numpy()}


@pytest.mark.parametrize('name', [n for n in RESAMPLE_RECIPES if n != 'baseline'])
def test_sampler_touches_training_split_only(name, tmp_path):
    recipe = RECIPES[name].replace(dataset='synthetic', epochs=1, bs=32, model='tiny_cnn')
    data = load_data(recipe)  # what run_recipe loads: deterministic
    rec = Record()
    run_recipe(recipe, tmp_path/'run', progress=False, device='cpu', cbs=[rec])
    assert torch.equal(rec.val.x, data.val.x) and torch.equal(rec.val.y, data.val.y)  # validation as it comes
    trained, held_out = rows(rec.train.x), rows(data.val.x) | rows(data.test.x)
    assert not trained & held_out, f"{name}: a validation or test image is among the training images"
    real = rows(data.train.x)
    synthetic = trained - real
    if name.startswith(('smote', 'borderline', 'adasyn')) and name != 'smote_features':
        assert synthetic, f"{name} made no synthetic image"
        assert len(rec.train) > len(data.train) - 10
    else:
        assert rec.train is not None and not synthetic, f"{name} must train on the real training images only"


def test_synthetic_images_never_reach_val_or_test(tmp_path):
    recipe = RECIPES['smote'].replace(dataset='synthetic', epochs=1, bs=32)
    data = load_data(recipe)
    before = {k: s.x.clone() for k, s in data.splits().items()}
    sp, syn = smote_pixels(data.train, __import__('imblearn').over_sampling.SMOTE(random_state=0))
    for k in ('val', 'test'): assert torch.equal(getattr(data, k).x, before[k])
    assert not rows(sp.x[syn]) & (rows(data.val.x) | rows(data.test.x))


def test_bad_input_messages():
    from imblearn.over_sampling import SMOTE
    from imblearn.under_sampling import RandomUnderSampler
    from imbalance_course.data import Split
    y = torch.tensor([0] * 50 + [1] * 3)
    split = Split(torch.randint(0, 255, (53, 1, 28, 28), dtype=torch.uint8), y)
    with pytest.raises(ValueError, match=r'k_neighbors=5 .* class 1 has 3'): smote_pixels(split, SMOTE())
    with pytest.raises(ValueError, match=r'sampling_strategy=0.01.*counts \[50, 3\]'): ImbSampler(y, RandomUnderSampler(sampling_strategy=0.01))
    with pytest.raises(ValueError, match=r'num_samples=100 draws without replacement.*only 53'): weighted_sampler(y, num_samples=100, replacement=False)
    with pytest.raises(ValueError, match=r"space='latent' is unknown"):
        run_recipe(Recipe(dataset='synthetic', sampler='smote:space=latent', epochs=1), '/nonexistent/never-written')


def test_cli_names_the_samplers(tmp_path, capsys):
    r = cli('compare', '--list')
    assert r.returncode == 0, r.stderr
    assert all(f'{n}:' in r.stdout for n in RESAMPLE_RECIPES if n != 'baseline')
    from imbalance_course.cli import main
    assert main(['train', '--sampler', 'smote:method=smoteenn', '--dataset', 'synthetic', '--out', str(tmp_path/'x'), '--quiet']) == 2
    assert 'smote, borderline, adasyn, smotetomek' in capsys.readouterr().err
    assert not (tmp_path/'x').exists()
    out = tmp_path/'run'
    assert main(['train', '--sampler', 'weighted:power=0.5', '--dataset', 'synthetic', '--epochs', '1', '--out', str(out), '--quiet', '--device', 'cpu']) == 0
    assert '"power": 0.5' in (out/'config.json').read_text()


def test_feature_smote_best_pt_holds_the_new_head(tmp_path):
    "The model that metrics.json scores is the one best.pt holds: body and the head trained on SMOTEd features."
    import json
    from imbalance_course.models import create_model
    from imbalance_course.train import evaluate, load_checkpoint
    recipe = RECIPES['smote_features'].replace(dataset='synthetic', epochs=1, bs=32, model='tiny_cnn')
    res = run_recipe(recipe, tmp_path/'run', progress=False, device='cpu')
    model = create_model('tiny_cnn', 1, 2)
    model.load_state_dict(load_checkpoint(tmp_path/'run'/'best.pt')['model'])
    again = evaluate(model, load_data(recipe))
    assert again['test']['auc'] == pytest.approx(res['test']['auc'], abs=1e-6)
    assert json.loads((tmp_path/'run'/'metrics.json').read_text())['test']['auc'] == pytest.approx(res['test']['auc'])
